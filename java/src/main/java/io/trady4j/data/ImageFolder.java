package io.trady4j.data;

import io.trady4j.io.FormatException;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Images in a folder, one sub-folder per class ({@code root/CLASS/*.png|jpg|jpeg|bmp|gif}),
 * classes in sorted name order (label = position), files sorted by name within a class. Hidden
 * entries (starting with '.') and other files are ignored.
 *
 * <p>Images are decoded with javax.imageio on first use, resized to {@code size × size}
 * (bilinear, aspect not kept) and converted to the data set's channel count (gray repeated to
 * RGB, RGB to gray by ITU-R 601 luma; alpha dropped), then kept in memory as bytes (unless
 * caching is off). A file that cannot be decoded, or declares more than {@link #MAX_PIXELS}
 * pixels (checked from its header before decoding), is a {@link FormatException} naming it.
 */
public final class ImageFolder implements Dataset {
    /** Largest image accepted (width × height), checked before decoding. */
    public static final long MAX_PIXELS = 1L << 26;
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

    private final String name;
    private final List<Path> files;
    private final int[] labels;
    private final List<String> classNames;
    private final int size;
    private final int channels;
    private final AtomicReferenceArray<byte[]> cache;

    /** Image files and their labels under a class-per-folder root. */
    public record Listing(Path root, List<String> classNames, List<Path> files, int[] labels) {
    }

    private ImageFolder(String name, List<Path> files, int[] labels, List<String> classNames, int size, int channels,
                        boolean cache) {
        this.name = name;
        this.files = List.copyOf(files);
        this.labels = labels;
        this.classNames = List.copyOf(classNames);
        this.size = size;
        this.channels = channels;
        this.cache = cache ? new AtomicReferenceArray<>(files.size()) : null;
    }

    /**
     * Opens {@code root} as a class-per-folder data set of {@code channels × size × size} images
     * ({@code channels} 1 or 3, or 0 to choose from the first image of each class: 1 if all are
     * gray, else 3), decoded images cached in memory.
     */
    public static ImageFolder open(Path root, int size, int channels) throws IOException {
        Listing l = scan(root);
        return of(root.getFileName() == null ? root.toString() : root.getFileName().toString(), l.files(), l.labels(),
                l.classNames(), size, channels, true);
    }

    /** A data set over the given files; {@code channels} 0 means choose as in {@link #open}. */
    public static ImageFolder of(String name, List<Path> files, int[] labels, List<String> classNames, int size,
                                 int channels, boolean cache) throws IOException {
        if (size < 1 || size > 4096) {
            throw new IllegalArgumentException("image size " + size + " is not in [1, 4096]");
        }
        if (channels != 0 && channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1, 3 or 0 (auto), got " + channels);
        }
        if (files.size() != labels.length) {
            throw new IllegalArgumentException(files.size() + " files, " + labels.length + " labels");
        }
        for (int i = 0; i < labels.length; i++) {
            Objects.checkIndex(labels[i], classNames.size());
        }
        if (channels == 0) {
            channels = 1;
            boolean[] seen = new boolean[classNames.size()];
            for (int i = 0; i < files.size() && channels == 1; i++) {
                if (!seen[labels[i]]) {
                    try {
                        if (!isGray(files.get(i))) {
                            channels = 3;
                        }
                        seen[labels[i]] = true;
                    } catch (FormatException unreadable) {
                        // the class's next file decides; checked() reports (or skips) this one
                    }
                }
            }
        }
        return new ImageFolder(name, files, labels.clone(), classNames, size, channels, cache);
    }

    /** Lists a class-per-folder root; fails if it has no class folder or a class folder has no image. */
    public static Listing scan(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new NoSuchFileException(root.toString(), null, "image folder not found (expected one sub-folder per class)");
        }
        List<Path> classDirs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                if (!p.getFileName().toString().startsWith(".") && Files.isDirectory(p)) {
                    classDirs.add(p);
                }
            }
        }
        if (classDirs.isEmpty()) {
            throw new FormatException(root + ": no class sub-folders (an image folder holds one sub-folder of images per class)");
        }
        classDirs.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
        List<String> names = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < classDirs.size(); c++) {
            Path d = classDirs.get(c);
            names.add(d.getFileName().toString());
            List<Path> imgs = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
                for (Path p : ds) {
                    String n = p.getFileName().toString();
                    if (!n.startsWith(".") && isImageName(n) && Files.isRegularFile(p)) {
                        imgs.add(p);
                    }
                }
            }
            if (imgs.isEmpty()) {
                throw new FormatException(d + ": class folder has no image (" + String.join(", ", EXTENSIONS) + ")");
            }
            imgs.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
            for (Path p : imgs) {
                files.add(p);
                labels.add(c);
            }
        }
        int[] l = new int[labels.size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = labels.get(i);
        }
        return new Listing(root, Collections.unmodifiableList(names), Collections.unmodifiableList(files), l);
    }

    static boolean isImageName(String n) {
        String s = n.toLowerCase(Locale.ROOT);
        for (String e : EXTENSIONS) {
            if (s.endsWith(e)) {
                return true;
            }
        }
        return false;
    }

    /** A decoded image: {@code channels} (1 or 3) × h × w floats in [0, 1]. */
    public record Decoded(int channels, int height, int width, float[] pixels) {
    }

    /** Decodes one image file (gray stays 1 channel, everything else becomes RGB). */
    public static Decoded decode(Path file) throws IOException {
        return decode(file, 0);
    }

    /**
     * Decodes one image file; when {@code targetSize > 0} and the image is more than 4 times larger
     * on both sides, the decoder skips pixels (javax.imageio source subsampling) so that the result
     * is still at least {@code 4·targetSize} on its shorter side: large photos cost less time and
     * memory, and the antialiased resize does the rest.
     */
    public static Decoded decode(Path file, int targetSize) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new NoSuchFileException(file.toString(), null, "cannot open image");
            }
            Iterator<ImageReader> it = ImageIO.getImageReaders(in);
            if (!it.hasNext()) {
                throw new FormatException(file + ": not an image javax.imageio can decode (PNG, JPEG, BMP or GIF expected)");
            }
            ImageReader reader = it.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w < 1 || h < 1 || w * h > MAX_PIXELS) {
                    throw new FormatException(file + ": image declares " + w + "x" + h + " pixels; at most "
                            + MAX_PIXELS + " pixels are accepted");
                }
                ImageReadParam param = reader.getDefaultReadParam();
                if (targetSize > 0) {
                    int step = (int) Math.max(1, Math.min(w, h) / (4L * targetSize));
                    if (step > 1) {
                        param.setSourceSubsampling(step, step, 0, 0);
                    }
                }
                BufferedImage img = reader.read(0, param);
                return toFloats(img);
            } finally {
                reader.dispose();
            }
        } catch (FormatException | NoSuchFileException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new FormatException(file + ": cannot decode image ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")");
        }
    }

    private static boolean isGray(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new NoSuchFileException(file.toString());
            }
            Iterator<ImageReader> it = ImageIO.getImageReaders(in);
            if (!it.hasNext()) {
                throw new FormatException(file + ": not an image javax.imageio can decode (PNG, JPEG, BMP or GIF expected)");
            }
            ImageReader reader = it.next();
            try {
                reader.setInput(in, true, true);
                Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
                if (!types.hasNext()) {
                    return false;
                }
                ImageTypeSpecifier t = types.next();
                return t.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
            } finally {
                reader.dispose();
            }
        } catch (FormatException | NoSuchFileException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new FormatException(file + ": cannot read image header ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")");
        }
    }

    /** Converts a decoded image to CHW floats in [0, 1]: 1 channel for gray colour spaces, else 3 (alpha dropped). */
    public static Decoded toFloats(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        Raster r = img.getRaster();
        boolean gray = img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && !(img.getColorModel() instanceof java.awt.image.IndexColorModel);
        if (gray) {
            // read the gray samples directly: getRGB would apply a gamma conversion to gray images
            int bits = img.getColorModel().getComponentSize(0);
            float scale = 1f / ((1L << bits) - 1);
            float[] out = new float[w * h];
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    out[y * w + x] = row[x] * scale;
                }
            }
            return new Decoded(1, h, w, out);
        }
        float[] out = new float[3 * w * h];
        int plane = w * h;
        int[] row = new int[w];
        final float s = 1f / 255f;
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                int k = y * w + x;
                out[k] = ((p >> 16) & 0xFF) * s;
                out[plane + k] = ((p >> 8) & 0xFF) * s;
                out[2 * plane + k] = (p & 0xFF) * s;
            }
        }
        return new Decoded(3, h, w, out);
    }

    /** Resizes and converts a decoded image to {@code channels × size × size} bytes. */
    static byte[] toBytes(Decoded d, int size, int channels) {
        float[] px = d.pixels();
        if (d.height() != size || d.width() != size) {
            px = Resize.bilinear(px, d.channels(), d.height(), d.width(), size, size);
        }
        int plane = size * size;
        byte[] out = new byte[channels * plane];
        for (int c = 0; c < channels; c++) {
            for (int k = 0; k < plane; k++) {
                float v;
                if (d.channels() == channels) {
                    v = px[c * plane + k];
                } else if (d.channels() == 1) {
                    v = px[k];
                } else {
                    v = 0.299f * px[k] + 0.587f * px[plane + k] + 0.114f * px[2 * plane + k];
                }
                int q = Math.round(v * 255f);
                out[c * plane + k] = (byte) Math.max(0, Math.min(255, q));
            }
        }
        return out;
    }

    private byte[] bytes(int i) throws IOException {
        byte[] b = cache == null ? null : cache.get(i);
        if (b == null) {
            b = toBytes(decode(files.get(i), size), size, channels);
            if (cache != null) {
                cache.compareAndSet(i, null, b);
            }
        }
        return b;
    }

    /**
     * Decodes every image now (header, size limit, pixels; the cache keeps the result), so that a bad file is found
     * before any work rather than mid-epoch. Without {@code skipBad} the first bad file is a {@link FormatException}
     * naming it (and how many are bad); with it, each bad file is named to {@code warn} and left out of the returned
     * data set (a class left with no image is still an error).
     */
    public ImageFolder checked(boolean skipBad, java.util.function.Consumer<String> warn) throws IOException {
        List<Integer> bad = new ArrayList<>();
        FormatException first = null;
        for (int i = 0; i < files.size(); i++) {
            try {
                bytes(i);
            } catch (FormatException | NoSuchFileException e) {
                bad.add(i);
                if (first == null) {
                    first = e instanceof FormatException f ? f : new FormatException(files.get(i) + ": cannot be read");
                }
                if (skipBad) {
                    warn.accept("WARNING: skipping " + (e instanceof FormatException ? e.getMessage() : files.get(i)
                            + ": cannot be read"));
                }
            }
        }
        if (bad.isEmpty()) {
            return this;
        }
        if (!skipBad) {
            throw new FormatException(first.getMessage() + (bad.size() > 1 ? " (and " + (bad.size() - 1) + " more bad images"
                    + " in " + name + ")" : "") + "; remove it or pass --skip-bad-images");
        }
        List<Path> keep = new ArrayList<>();
        int[] keptLabels = new int[files.size() - bad.size()];
        List<byte[]> keptBytes = new ArrayList<>();
        for (int i = 0, b = 0; i < files.size(); i++) {
            if (b < bad.size() && bad.get(b) == i) {
                b++;
                continue;
            }
            keptLabels[keep.size()] = labels[i];
            keep.add(files.get(i));
            keptBytes.add(cache == null ? null : cache.get(i));
        }
        boolean[] present = new boolean[classNames.size()];
        for (int l : keptLabels) {
            present[l] = true;
        }
        for (int c = 0; c < present.length; c++) {
            if (!present[c]) {
                throw new FormatException(name + ": class " + classNames.get(c) + " has no readable image left after "
                        + "skipping the bad ones");
            }
        }
        ImageFolder out = new ImageFolder(name, keep, keptLabels, classNames, size, channels, cache != null);
        for (int i = 0; i < keptBytes.size(); i++) {
            if (out.cache != null) {
                out.cache.set(i, keptBytes.get(i));
            }
        }
        return out;
    }

    /** The file of sample i. */
    public Path file(int i) {
        return files.get(i);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return files.size();
    }

    @Override
    public int channels() {
        return channels;
    }

    @Override
    public int height() {
        return size;
    }

    @Override
    public int width() {
        return size;
    }

    @Override
    public int numClasses() {
        return classNames.size();
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    @Override
    public int label(int i) {
        return labels[i];
    }

    @Override
    public void image(int i, float[] dst, int offset) throws IOException {
        byte[] b = bytes(i);
        Objects.checkFromIndexSize(offset, b.length, dst.length);
        final float s = 1f / 255f;
        for (int j = 0; j < b.length; j++) {
            dst[offset + j] = (b[j] & 0xFF) * s;
        }
    }

    @Override
    public String toString() {
        return name + " (" + files.size() + " images, " + classNames.size() + " classes, " + channels + "x" + size
                + "x" + size + ")";
    }
}
