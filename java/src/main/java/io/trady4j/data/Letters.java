package io.trady4j.data;

import io.trady4j.io.FormatException;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontFormatException;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.font.FontRenderContext;
import java.awt.font.GlyphVector;
import java.awt.geom.AffineTransform;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The letters task (the notMNIST idea): glyphs A–J rendered headless with Java2D from the font
 * files installed on the machine, 28×28 gray, white on black like MNIST, each glyph scaled to fit
 * a 20×20 box then jittered by a small seeded affine map (rotation ±10°, scale 0.85–1.05, x-stretch
 * 0.9–1.1, shear ±0.15, shift ±2 px).
 *
 * <p>Font files ({@code .ttf}, {@code .otf}, {@code .ttc}) are found under the font directories,
 * sorted by path. A face is used when it has all ten letters, renders them non-blank and
 * distinct, and its plain (unjittered) renders differ from every face already taken (many Noto
 * script fonts carry the same Latin glyphs: they count once). Faces are grouped into families
 * (the family name without width/weight words, so "DejaVu Sans Condensed" is "DejaVu Sans"), and
 * whole families go to the test split by a seeded hash ({@code testFraction} of them, at least
 * one, never all): no font is in both splits.
 *
 * <p>Debian packages with fonts for this: fonts-dejavu-core (usually present), fonts-dejavu,
 * fonts-liberation2, fonts-freefont-ttf, fonts-noto-core. The rendering depends only on the font
 * files and the seed, so a machine with the same packages gets the same data.
 */
public final class Letters {
    public static final List<String> CLASSES = List.of("A", "B", "C", "D", "E", "F", "G", "H", "I", "J");
    public static final int SIDE = 28;
    public static final List<Path> DEFAULT_FONT_DIRS = List.of(Path.of("/usr/share/fonts"), Path.of("/usr/local/share/fonts"));
    public static final String FONT_PACKAGES = "fonts-dejavu-core fonts-dejavu fonts-liberation2 fonts-freefont-ttf fonts-noto-core";
    private static final long LETTERS = 0x4c45_5454L;
    private static final Set<String> STYLE_WORDS = Set.of("condensed", "semicondensed", "extracondensed",
            "ultracondensed", "narrow", "light", "extralight", "ultralight", "thin", "medium", "semibold", "demibold",
            "bold", "extrabold", "ultrabold", "black", "heavy", "book", "regular", "italic", "oblique", "display", "ui",
            "text", "semilight", "demi");
    private static final int MAX_FONT_FILES = 5000;
    private static final long MAX_FONT_BYTES = 64L << 20;

    private Letters() {
    }

    /** One usable font face. */
    public record Face(Path file, String fontName, String family) {
    }

    /**
     * The two splits and the faces that made them.
     */
    public record Split(InMemoryDataset train, InMemoryDataset test, List<Face> trainFaces, List<Face> testFaces,
                       int skippedFiles) {
        /** Family names of the training faces. */
        public List<String> trainFamilies() {
            return trainFaces.stream().map(Face::family).distinct().toList();
        }

        /** Family names of the test faces. */
        public List<String> testFamilies() {
            return testFaces.stream().map(Face::family).distinct().toList();
        }
    }

    /**
     * Renders the letters data set.
     *
     * @param fontDirs       directories searched (recursively) for font files
     * @param perFont        renders of each letter per face
     * @param seed           seed of the jitter and of the family split
     * @param testFraction   share of families in the test split
     * @throws DatasetMissingException when fewer than two usable font families are found
     */
    public static Split render(List<Path> fontDirs, int perFont, long seed, double testFraction) throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        if (perFont < 1) {
            throw new IllegalArgumentException("renders per font must be >= 1, got " + perFont);
        }
        List<Path> files = fontFiles(fontDirs);
        FontRenderContext frc = new FontRenderContext(null, true, true);
        List<Face> faces = new ArrayList<>();
        List<Shape[]> outlines = new ArrayList<>();
        List<byte[]> plains = new ArrayList<>();
        Map<String, String> parent = new TreeMap<>();
        int skipped = 0;
        BufferedImage canvas = new BufferedImage(SIDE, SIDE, BufferedImage.TYPE_BYTE_GRAY);
        byte[] plain = new byte[SIDE * SIDE * CLASSES.size()];
        for (Path file : files) {
            Font[] fonts;
            try {
                if (Files.size(file) > MAX_FONT_BYTES) {
                    skipped++;
                    continue;
                }
                fonts = Font.createFonts(file.toFile());
            } catch (FontFormatException | IOException | RuntimeException e) {
                skipped++;
                continue;
            }
            for (Font f0 : fonts) {
                if (f0.canDisplayUpTo("ABCDEFGHIJ") != -1) {
                    continue;
                }
                Font f = f0.deriveFont(100f);
                Shape[] o = new Shape[CLASSES.size()];
                boolean ok = true;
                for (int l = 0; l < o.length && ok; l++) {
                    GlyphVector gv = f.createGlyphVector(frc, CLASSES.get(l));
                    o[l] = gv.getOutline();
                    Rectangle2D b = o[l].getBounds2D();
                    ok = b.getWidth() > 1 && b.getHeight() > 1 && Double.isFinite(b.getWidth() + b.getHeight());
                }
                if (!ok) {
                    continue;
                }
                for (int l = 0; l < o.length; l++) {
                    draw(o[l], canvas, 0, 1, 1, 0, 0, 0, plain, l * SIDE * SIDE);
                }
                if (!distinctNonBlank(plain)) {
                    continue;
                }
                String family = familyKey(f0.getFamily(Locale.ROOT));
                int near = nearest(plain, plains);
                if (near >= 0) {
                    // a near-copy of a face already taken (e.g. DejaVu Math TeX Gyre's Latin is DejaVu
                    // Serif's): not taken again, and its family is tied to that face's family so that
                    // the two land in the same split
                    union(parent, family, faces.get(near).family());
                    continue;
                }
                union(parent, family, family);
                plains.add(plain.clone());
                faces.add(new Face(file, f0.getFontName(Locale.ROOT), family));
                outlines.add(o);
            }
        }
        // split unit: a family, or families tied together by near-copies
        TreeMap<String, List<Integer>> families = new TreeMap<>();
        for (int i = 0; i < faces.size(); i++) {
            families.computeIfAbsent(find(parent, faces.get(i).family()), k -> new ArrayList<>()).add(i);
        }
        if (families.size() < 2) {
            throw new DatasetMissingException("the letters task needs at least two font families with the letters A-J "
                    + "to split train/test by font; found " + families.keySet() + " in " + fontDirs
                    + ": install fonts, e.g. `apt-get install " + FONT_PACKAGES + "`", "fonts-dejavu-core");
        }
        // split whole families by a seeded hash; at least one family on each side
        Map<String, Double> u = new LinkedHashMap<>();
        for (String fam : families.keySet()) {
            u.put(fam, (Seeds.derive(seed, Seeds.SPLIT, Seeds.hash(fam)) >>> 11) * 0x1.0p-53);
        }
        List<String> byU = new ArrayList<>(families.keySet());
        byU.sort((a, b) -> Double.compare(u.get(a), u.get(b)));
        int nTest = (int) Math.round(testFraction * families.size());
        nTest = Math.max(1, Math.min(families.size() - 1, nTest));
        Set<String> testFamilies = new HashSet<>(byU.subList(0, nTest));
        List<Integer> trainIdx = new ArrayList<>();
        List<Integer> testIdx = new ArrayList<>();
        for (var e : families.entrySet()) {
            (testFamilies.contains(e.getKey()) ? testIdx : trainIdx).addAll(e.getValue());
        }
        trainIdx.sort(null);
        testIdx.sort(null);
        InMemoryDataset train = build("letters/train", trainIdx, faces, outlines, perFont, seed, canvas, null);
        InMemoryDataset test = build("letters/test", testIdx, faces, outlines, perFont, seed, canvas,
                train.normalization());
        return new Split(train, test, trainIdx.stream().map(faces::get).toList(), testIdx.stream().map(faces::get).toList(),
                skipped);
    }

    private static InMemoryDataset build(String name, List<Integer> idx, List<Face> faces, List<Shape[]> outlines,
                                         int perFont, long seed, BufferedImage canvas, Normalization norm)
            throws IOException {
        int k = CLASSES.size();
        long n = (long) idx.size() * k * perFont;
        if (n * SIDE * SIDE > Idx.MAX_BYTES) {
            throw new IllegalArgumentException("too many letter renders (" + n + "); lower the renders per font");
        }
        byte[] px = new byte[(int) n * SIDE * SIDE];
        int[] labels = new int[(int) n];
        int s = 0;
        for (int fi : idx) {
            Face face = faces.get(fi);
            long fontKey = Seeds.hash(face.file().getFileName() + "|" + face.fontName());
            Shape[] o = outlines.get(fi);
            for (int r = 0; r < perFont; r++) {
                for (int l = 0; l < k; l++) {
                    SplittableRandom rnd = new SplittableRandom(Seeds.derive(seed, LETTERS, fontKey, l, r));
                    double rot = Math.toRadians(rnd.nextDouble(-10, 10));
                    double scale = rnd.nextDouble(0.85, 1.05);
                    double stretch = rnd.nextDouble(0.9, 1.1);
                    double shear = rnd.nextDouble(-0.15, 0.15);
                    double dx = rnd.nextDouble(-2, 2);
                    double dy = rnd.nextDouble(-2, 2);
                    draw(o[l], canvas, rot, scale, stretch, shear, dx, dy, px, s * SIDE * SIDE);
                    labels[s++] = l;
                }
            }
        }
        if (norm == null) {
            InMemoryDataset tmp = new InMemoryDataset(name, px, labels, 1, SIDE, SIDE, CLASSES, null);
            norm = Datasets.statistics(tmp);
        }
        return new InMemoryDataset(name, px, labels, 1, SIDE, SIDE, CLASSES, norm);
    }

    /** Renders a glyph outline fitted to a 20×20 box at the centre, with the given jitter, into {@code out[off..]}. */
    private static void draw(Shape outline, BufferedImage canvas, double rot, double scale, double stretch,
                             double shear, double dx, double dy, byte[] out, int off) {
        Rectangle2D b = outline.getBounds2D();
        double fit = 20.0 / Math.max(b.getWidth(), b.getHeight());
        AffineTransform at = new AffineTransform();
        at.translate(SIDE / 2.0 + dx, SIDE / 2.0 + dy);
        at.rotate(rot);
        at.shear(shear, 0);
        at.scale(fit * scale * stretch, fit * scale);
        at.translate(-b.getCenterX(), -b.getCenterY());
        Graphics2D g = canvas.createGraphics();
        try {
            g.setColor(Color.BLACK);
            g.fillRect(0, 0, SIDE, SIDE);
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.setColor(Color.WHITE);
            g.fill(at.createTransformedShape(outline));
        } finally {
            g.dispose();
        }
        byte[] data = ((DataBufferByte) canvas.getRaster().getDataBuffer()).getData();
        System.arraycopy(data, 0, out, off, SIDE * SIDE);
    }

    /** Largest mean absolute pixel difference (0..255 scale) between two faces' plain renders that counts as a copy. */
    static final double NEAR_COPY = 2.0;

    /** Index of a taken face whose plain renders are within {@link #NEAR_COPY} of these, or -1. */
    private static int nearest(byte[] plain, List<byte[]> taken) {
        long limit = (long) (NEAR_COPY * plain.length);
        for (int q = 0; q < taken.size(); q++) {
            byte[] o = taken.get(q);
            long d = 0;
            for (int j = 0; j < plain.length && d <= limit; j++) {
                d += Math.abs((plain[j] & 0xFF) - (o[j] & 0xFF));
            }
            if (d <= limit) {
                return q;
            }
        }
        return -1;
    }

    private static String find(Map<String, String> parent, String x) {
        String p = parent.getOrDefault(x, x);
        while (!p.equals(x)) {
            x = p;
            p = parent.getOrDefault(x, x);
        }
        return x;
    }

    /** Joins two families; the root is the alphabetically first name, so the result is order-independent. */
    private static void union(Map<String, String> parent, String a, String b) {
        String ra = find(parent, a);
        String rb = find(parent, b);
        parent.putIfAbsent(ra, ra);
        parent.putIfAbsent(rb, rb);
        if (ra.compareTo(rb) < 0) {
            parent.put(rb, ra);
        } else if (rb.compareTo(ra) < 0) {
            parent.put(ra, rb);
        }
    }

    private static boolean distinctNonBlank(byte[] plain) {
        int p = SIDE * SIDE;
        Set<String> distinct = new HashSet<>();
        for (int l = 0; l < CLASSES.size(); l++) {
            int sum = 0;
            for (int j = 0; j < p; j++) {
                sum += plain[l * p + j] & 0xFF;
            }
            if (sum < 255 * 10) {
                return false;
            }
            distinct.add(Arrays.toString(Arrays.copyOfRange(plain, l * p, (l + 1) * p)));
        }
        return distinct.size() == CLASSES.size();
    }

    /** The family name without width/weight/style words: "DejaVu Sans Condensed" → "DejaVu Sans". */
    static String familyKey(String family) {
        List<String> words = new ArrayList<>(Arrays.asList(family.trim().split("\\s+")));
        while (words.size() > 1 && STYLE_WORDS.contains(words.getLast().toLowerCase(Locale.ROOT))) {
            words.removeLast();
        }
        return String.join(" ", words);
    }

    private static List<Path> fontFiles(List<Path> dirs) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(d, 12, EnumSet.noneOf(FileVisitOption.class).toArray(new FileVisitOption[0]))) {
                s.filter(p -> {
                    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                    return (n.endsWith(".ttf") || n.endsWith(".otf") || n.endsWith(".ttc")) && Files.isRegularFile(p);
                }).forEach(out::add);
            } catch (UncheckedIOException e) {
                throw new IOException("cannot list fonts under " + d + ": " + e.getCause().getMessage(), e.getCause());
            }
        }
        out.sort(null);
        if (out.size() > MAX_FONT_FILES) {
            throw new FormatException("more than " + MAX_FONT_FILES + " font files under " + dirs);
        }
        return out;
    }
}
