package io.trady4j.data;

import java.util.List;
import java.util.Objects;

/**
 * Images held in memory as unsigned bytes (one byte per pixel value, 0..255 → [0, 1]), CHW per
 * image, images back to back. Fashion-MNIST's 60,000 training images take 47 MB.
 */
public final class InMemoryDataset implements Dataset {
    private final String name;
    private final byte[] pixels;
    private final int[] labels;
    private final int size;
    private final int channels;
    private final int height;
    private final int width;
    private final List<String> classNames;
    private final Normalization normalization;

    /**
     * @param pixels        {@code size·channels·height·width} bytes, kept (not copied)
     * @param labels        {@code size} labels in {@code [0, classNames.size())}, kept
     * @param normalization the statistics to feed this data with, or null for the default
     *                      ({@link Normalization#defaultFor})
     */
    public InMemoryDataset(String name, byte[] pixels, int[] labels, int channels, int height, int width,
                           List<String> classNames, Normalization normalization) {
        this.name = Objects.requireNonNull(name);
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException(name + ": image shape " + channels + "x" + height + "x" + width);
        }
        long per = (long) channels * height * width;
        if (labels.length * per != pixels.length) {
            throw new IllegalArgumentException(name + ": " + pixels.length + " pixel bytes for " + labels.length
                    + " images of " + per + " bytes");
        }
        int k = classNames.size();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= k) {
                throw new IllegalArgumentException(name + ": label " + labels[i] + " of sample " + i
                        + " is not in [0, " + k + ")");
            }
        }
        if (normalization != null && normalization.channels() != channels) {
            normalization = normalization.expandTo(channels);
        }
        this.pixels = pixels;
        this.labels = labels;
        this.size = labels.length;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.classNames = List.copyOf(classNames);
        this.normalization = normalization;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int channels() {
        return channels;
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public int width() {
        return width;
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
        return labels[Objects.checkIndex(i, size)];
    }

    @Override
    public void image(int i, float[] dst, int offset) {
        Objects.checkIndex(i, size);
        int n = channels * height * width;
        Objects.checkFromIndexSize(offset, n, dst.length);
        int base = i * n;
        final float s = 1f / 255f;
        for (int j = 0; j < n; j++) {
            dst[offset + j] = (pixels[base + j] & 0xFF) * s;
        }
    }

    /** The raw bytes of sample {@code i} (a copy). */
    public byte[] imageBytes(int i) {
        Objects.checkIndex(i, size);
        int n = channels * height * width;
        byte[] b = new byte[n];
        System.arraycopy(pixels, i * n, b, 0, n);
        return b;
    }

    @Override
    public Normalization normalization() {
        return normalization != null ? normalization : Dataset.super.normalization();
    }

    @Override
    public int[] labels() {
        return labels.clone();
    }

    @Override
    public String toString() {
        return name + " (" + size + " images " + channels + "x" + height + "x" + width + ", "
                + classNames.size() + " classes)";
    }
}
