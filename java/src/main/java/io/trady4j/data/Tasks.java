package io.trady4j.data;

import io.trady4j.io.FormatException;

import java.io.IOException;
import java.lang.ref.SoftReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Transfer tasks written as data: {@code NAME[:DIR][:CLASSES]}.
 *
 * <table>
 * <caption>Task names</caption>
 * <tr><td>{@code fmnist[:DIR][:CLASSES]}</td><td>Fashion-MNIST (10 classes); DIR defaults to
 * {@code $TRADY4J_DATA/fashion-mnist}, then {@code /usr/share/datasets/fashion-mnist}
 * (Debian/Ubuntu: {@code apt-get install dataset-fashion-mnist})</td></tr>
 * <tr><td>{@code mnist[:DIR][:CLASSES]}</td><td>MNIST IDX files; DIR defaults to
 * {@code $TRADY4J_DATA/mnist}</td></tr>
 * <tr><td>{@code cifar10[:DIR][:CLASSES]}</td><td>CIFAR-10 binary batches; DIR defaults to
 * {@code $TRADY4J_DATA}</td></tr>
 * <tr><td>{@code cifar100[:DIR][:CLASSES]}, {@code cifar100-coarse[:DIR][:CLASSES]}</td><td>CIFAR-100
 * binary, fine (100) or coarse (20) labels</td></tr>
 * <tr><td>{@code folder:DIR[:CLASSES]}</td><td>an image folder: {@code DIR/train/CLASS/*} and
 * {@code DIR/test/CLASS/*}, or {@code DIR/CLASS/*} split by a seeded hash of each file's path
 * (20% test by default)</td></tr>
 * <tr><td>{@code letters[:CLASSES]}</td><td>glyphs A–J rendered from the installed fonts, split by
 * font family (see {@link Letters}); CLASSES may be written with letters, e.g. {@code A-E}</td></tr>
 * </table>
 *
 * <p>CLASSES is a list of original class numbers and ranges, e.g. {@code 0-4}, {@code 5,7,9} or
 * {@code 0-2,8}; without it every class is used. The selected classes become labels 0..k−1 in
 * ascending order. An argument that is not a class list is the data directory (write {@code ./0-4}
 * for a directory with such a name). The data root ({@code $TRADY4J_DATA}, or
 * {@link Options#dataRoot()}) replaces default directories.
 *
 * <p>A missing data set is a {@link DatasetMissingException} whose message says how to get it.
 * Loaded base data sets are kept (softly) so that {@code fmnist:0-4} and {@code fmnist:5-9} read
 * the files once.
 */
public final class Tasks {
    /** Where Debian's dataset-fashion-mnist package puts the files. */
    public static final Path FASHION_MNIST_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final String FASHION_MNIST_PACKAGE = "dataset-fashion-mnist";
    public static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress",
            "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    public static final List<String> DIGITS = List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
    /** The task names understood by {@link #parse}. */
    public static final List<String> NAMES = List.of("fmnist", "mnist", "cifar10", "cifar100", "cifar100-coarse",
            "folder", "letters");

    private static final Pattern CLASS_LIST = Pattern.compile("\\d+(-\\d+)?(,\\d+(-\\d+)?)*");
    private static final Pattern LETTER_LIST = Pattern.compile("[A-Za-z](-[A-Za-z])?(,[A-Za-z](-[A-Za-z])?)*");
    private static final Map<String, SoftReference<Object>> CACHE = new HashMap<>();

    private Tasks() {
    }

    /**
     * Options for building tasks.
     *
     * @param dataRoot       root for default data directories, or null ({@code TRADY4J_DATA} by default)
     * @param imageSize      side at which image folders are decoded and kept (default 128; use the
     *                       model resolution)
     * @param splitSeed      seed of the hash split of folders without train/ and test/ and of the
     *                       letters rendering (default 0: the same split for every run seed)
     * @param testFraction   share of a folder (or of the letter font families) put in the test split (default 0.2)
     * @param fontDirs       where the letters task looks for fonts (default /usr/share/fonts, /usr/local/share/fonts)
     * @param lettersPerFont renders of each letter per font file (default 30)
     * @param skipBadImages  leave out, with a warning each, the images of a folder that cannot be decoded (default
     *                       false: the first one is a {@link FormatException} naming it); every image is decoded when the
     *                       task is built, before any training
     * @param warnings       where the warnings go (default standard error)
     */
    public record Options(Path dataRoot, int imageSize, long splitSeed, double testFraction, List<Path> fontDirs,
                          int lettersPerFont, boolean skipBadImages, java.util.function.Consumer<String> warnings) {
        public Options {
            if (imageSize < 1 || imageSize > 4096) {
                throw new IllegalArgumentException("image size " + imageSize + " is not in [1, 4096]");
            }
            if (!(testFraction > 0 && testFraction < 1)) {
                throw new IllegalArgumentException("test fraction " + testFraction + " is not in (0, 1)");
            }
            if (lettersPerFont < 1) {
                throw new IllegalArgumentException("letters per font must be >= 1, got " + lettersPerFont);
            }
            fontDirs = List.copyOf(fontDirs);
            java.util.Objects.requireNonNull(warnings, "warnings");
        }

        /** Defaults, with the data root taken from the environment variable {@code TRADY4J_DATA} when set. */
        public static Options defaults() {
            String env = System.getenv("TRADY4J_DATA");
            return new Options(env == null || env.isBlank() ? null : Path.of(env), 128, 0, 0.2,
                    Letters.DEFAULT_FONT_DIRS, 30, false, System.err::println);
        }

        public Options withDataRoot(Path root) {
            return new Options(root, imageSize, splitSeed, testFraction, fontDirs, lettersPerFont, skipBadImages, warnings);
        }

        public Options withImageSize(int size) {
            return new Options(dataRoot, size, splitSeed, testFraction, fontDirs, lettersPerFont, skipBadImages, warnings);
        }

        public Options withSplitSeed(long seed) {
            return new Options(dataRoot, imageSize, seed, testFraction, fontDirs, lettersPerFont, skipBadImages, warnings);
        }

        public Options withTestFraction(double f) {
            return new Options(dataRoot, imageSize, splitSeed, f, fontDirs, lettersPerFont, skipBadImages, warnings);
        }

        public Options withFontDirs(List<Path> dirs) {
            return new Options(dataRoot, imageSize, splitSeed, testFraction, dirs, lettersPerFont, skipBadImages, warnings);
        }

        /** Skip undecodable folder images (true, warning each to {@code sink}) or fail on the first (false). */
        public Options withBadImages(boolean skip, java.util.function.Consumer<String> sink) {
            return new Options(dataRoot, imageSize, splitSeed, testFraction, fontDirs, lettersPerFont, skip, sink);
        }

        public Options withLettersPerFont(int n) {
            return new Options(dataRoot, imageSize, splitSeed, testFraction, fontDirs, n, skipBadImages, warnings);
        }
    }

    /** Parses and loads a task with {@link Options#defaults()}. */
    public static Task parse(String spec) throws IOException {
        return parse(spec, Options.defaults());
    }

    /**
     * Parses and loads a task.
     *
     * @throws IllegalArgumentException  for a malformed spec (unknown name, bad class list)
     * @throws DatasetMissingException   when the data is not there (the message says how to get it)
     * @throws FormatException           when the data files are malformed
     */
    public static Task parse(String spec, Options options) throws IOException {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty task; expected NAME[:DIR][:CLASSES], NAME one of " + NAMES);
        }
        String[] parts = spec.trim().split(":", -1);
        String name = parts[0].toLowerCase(Locale.ROOT);
        name = switch (name) {
            case "fashion-mnist", "fashion_mnist", "fashionmnist" -> "fmnist";
            case "cifar-10" -> "cifar10";
            case "cifar-100" -> "cifar100";
            default -> name;
        };
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown task '" + parts[0] + "' in '" + spec + "'; known: " + NAMES);
        }
        String dir = null;
        String classes = null;
        for (int i = 1; i < parts.length; i++) {
            String a = parts[i];
            boolean isClasses = CLASS_LIST.matcher(a).matches()
                    || (name.equals("letters") && LETTER_LIST.matcher(a).matches());
            if (a.isEmpty()) {
                throw new IllegalArgumentException("empty field in task '" + spec + "'");
            } else if (isClasses && classes == null && i == parts.length - 1) {
                classes = a;
            } else if (dir == null && !isClasses && i == 1 && !name.equals("letters")) {
                dir = a;
            } else {
                throw new IllegalArgumentException("cannot read '" + a + "' in task '" + spec
                        + "'; expected " + name + (name.equals("letters") ? "" : "[:DIR]") + "[:CLASSES], e.g. "
                        + example(name));
            }
        }
        Dataset[] split = load(name, dir, options);
        Dataset train = split[0];
        Dataset test = split[1];
        int k = train.numClasses();
        int[] sel = classes == null ? range(k) : parseClasses(classes, k, name.equals("letters"));
        String canon = name + (dir == null ? "" : ":" + dir) + (classes == null ? "" : ":" + formatClasses(sel));
        Normalization norm = train.normalization();
        if (classes != null) {
            train = Datasets.selectClasses(train, sel, canon + "/train");
            test = Datasets.selectClasses(test, sel, canon + "/test");
        }
        if (train.size() == 0) {
            throw new FormatException(canon + ": the training split has no sample of the selected classes");
        }
        return new Task(canon, train, test, sel, norm, Augment.defaultFor(name));
    }

    private static String example(String name) {
        return switch (name) {
            case "fmnist" -> "fmnist:0-4";
            case "mnist" -> "mnist:/data/mnist:5,7,9";
            case "cifar10" -> "cifar10:/data/cifar-10-batches-bin:0-4";
            case "cifar100", "cifar100-coarse" -> name + ":/data/cifar-100-binary:0-9";
            case "folder" -> "folder:/data/flowers";
            default -> "letters:A-E";
        };
    }

    private static int[] range(int k) {
        int[] r = new int[k];
        for (int i = 0; i < k; i++) {
            r[i] = i;
        }
        return r;
    }

    /**
     * Parses a class list ({@code 0-4}, {@code 5,7,9}, {@code 0-2,8}; with {@code letters} also
     * {@code A-E}) into distinct ascending class numbers below {@code k}.
     */
    public static int[] parseClasses(String text, int k, boolean letters) {
        TreeSet<Integer> set = new TreeSet<>();
        for (String item : text.split(",", -1)) {
            String[] ab = item.split("-", -1);
            if (ab.length > 2 || item.isEmpty()) {
                throw new IllegalArgumentException("bad class range '" + item + "' in '" + text + "'");
            }
            int a = classNumber(ab[0], letters, text);
            int b = ab.length == 2 ? classNumber(ab[1], letters, text) : a;
            if (a > b) {
                throw new IllegalArgumentException("class range '" + item + "' is decreasing");
            }
            if (b >= k) {
                throw new IllegalArgumentException("class " + b + " in '" + text + "' is out of range: the data set has "
                        + k + " classes (0-" + (k - 1) + ")");
            }
            for (int c = a; c <= b; c++) {
                if (!set.add(c)) {
                    throw new IllegalArgumentException("class " + c + " appears twice in '" + text + "'");
                }
            }
        }
        return set.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int classNumber(String s, boolean letters, String text) {
        if (letters && s.length() == 1 && Character.isLetter(s.charAt(0))) {
            return Character.toUpperCase(s.charAt(0)) - 'A';
        }
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad class '" + s + "' in '" + text + "'");
        }
    }

    /** The shortest list-and-range form of ascending classes, e.g. {@code 0-2,5,7-9}. */
    public static String formatClasses(int[] sel) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < sel.length; ) {
            int j = i;
            while (j + 1 < sel.length && sel[j + 1] == sel[j] + 1) {
                j++;
            }
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(sel[i]);
            if (j > i) {
                sb.append('-').append(sel[j]);
            }
            i = j + 1;
        }
        return sb.toString();
    }

    private static Dataset[] load(String name, String dir, Options o) throws IOException {
        Path root = o.dataRoot();
        switch (name) {
            case "fmnist": {
                Path d = dir != null ? Path.of(dir) : firstIdxDir(FASHION_MNIST_DIR,
                        root == null ? null : root.resolve("fashion-mnist"), root);
                return idx("fmnist", d, FASHION_MNIST_CLASSES, Normalization.FASHION_MNIST, "Fashion-MNIST",
                        "install it with `apt-get install " + FASHION_MNIST_PACKAGE + "` (Debian/Ubuntu; it goes to "
                                + FASHION_MNIST_DIR + "), or put the four IDX files (train-images-idx3-ubyte.gz, ...) "
                                + "there, or point to them with fmnist:DIR or TRADY4J_DATA=DIR (looked in DIR/fashion-mnist)",
                        dir == null ? FASHION_MNIST_PACKAGE : null);
            }
            case "mnist": {
                Path d = dir != null ? Path.of(dir) : firstIdxDir(null, root == null ? null : root.resolve("mnist"), root);
                if (d == null) {
                    throw new DatasetMissingException("MNIST has no default directory: download the four IDX files "
                            + "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                            + "t10k-labels-idx1-ubyte.gz) and use mnist:DIR, or set TRADY4J_DATA so that they are in "
                            + "$TRADY4J_DATA/mnist", null);
                }
                return idx("mnist", d, DIGITS, Normalization.MNIST, "MNIST",
                        "download the four IDX files (train-images-idx3-ubyte.gz, ...) there", null);
            }
            case "cifar10":
            case "cifar100":
            case "cifar100-coarse": {
                Path d = dir != null ? Path.of(dir) : root;
                if (d == null) {
                    throw new DatasetMissingException(name + " needs its directory: " + example(name)
                            + " (the extracted binary version), or set TRADY4J_DATA to the folder holding it", null);
                }
                String key = "cifar|" + name + "|" + d.toAbsolutePath().normalize();
                Object cached = cached(key);
                if (cached instanceof Dataset[] pair) {
                    return pair;
                }
                Dataset[] pair = name.equals("cifar10")
                        ? new Dataset[]{Cifar.cifar10(d, true), Cifar.cifar10(d, false)}
                        : new Dataset[]{
                        Cifar.cifar100(d, true, name.equals("cifar100") ? Cifar.Labels.FINE : Cifar.Labels.COARSE),
                        Cifar.cifar100(d, false, name.equals("cifar100") ? Cifar.Labels.FINE : Cifar.Labels.COARSE)};
                remember(key, pair);
                return pair;
            }
            case "folder": {
                if (dir == null) {
                    throw new IllegalArgumentException("the folder task needs its directory: folder:DIR");
                }
                return folder(Path.of(dir), o);
            }
            case "letters": {
                String key = "letters|" + o.fontDirs() + "|" + o.lettersPerFont() + "|" + o.splitSeed() + "|"
                        + o.testFraction();
                Object cached = cached(key);
                if (cached instanceof Dataset[] pair) {
                    return pair;
                }
                Letters.Split s = Letters.render(o.fontDirs(), o.lettersPerFont(), o.splitSeed(), o.testFraction());
                Dataset[] pair = {s.train(), s.test()};
                remember(key, pair);
                return pair;
            }
            default:
                throw new IllegalArgumentException("unknown task " + name);
        }
    }

    /** The first candidate directory that holds IDX training images, else the first non-null candidate. */
    private static Path firstIdxDir(Path fallback, Path... candidates) {
        Path first = null;
        for (Path c : candidates) {
            if (c == null) {
                continue;
            }
            if (first == null) {
                first = c;
            }
            if (findIdx(c, "train", "images") != null) {
                return c;
            }
        }
        if (fallback != null && (first == null || findIdx(fallback, "train", "images") != null)) {
            return fallback;
        }
        return first;
    }

    /** train-images-idx3-ubyte[.gz] or train-images.idx3-ubyte[.gz] (and t10k-...). */
    static Path findIdx(Path dir, String split, String kind) {
        String rank = kind.equals("images") ? "idx3" : "idx1";
        for (String n : List.of(split + "-" + kind + "-" + rank + "-ubyte", split + "-" + kind + "." + rank + "-ubyte")) {
            for (String ext : List.of(".gz", "")) {
                Path p = dir.resolve(n + ext);
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    private static Dataset[] idx(String name, Path dir, List<String> classNames, Normalization norm, String what,
                                 String how, String aptPackage) throws IOException {
        Path[] files = new Path[4];
        String[][] want = {{"train", "images"}, {"train", "labels"}, {"t10k", "images"}, {"t10k", "labels"}};
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            files[i] = findIdx(dir, want[i][0], want[i][1]);
            if (files[i] == null) {
                missing.add(want[i][0] + "-" + want[i][1] + "-" + (i % 2 == 0 ? "idx3" : "idx1") + "-ubyte[.gz]");
            }
        }
        if (!missing.isEmpty()) {
            throw new DatasetMissingException(what + " not found in " + dir + " (missing " + String.join(", ", missing)
                    + "): " + how, aptPackage);
        }
        String key = "idx|" + name + "|" + stamp(files);
        Object cached = cached(key);
        if (cached instanceof Dataset[] pair) {
            return pair;
        }
        Dataset[] pair = {Idx.read(name + "/train", files[0], files[1], classNames, norm),
                Idx.read(name + "/test", files[2], files[3], classNames, norm)};
        remember(key, pair);
        return pair;
    }

    private static String stamp(Path... files) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Path p : files) {
            sb.append(p.toAbsolutePath().normalize()).append('@').append(Files.size(p)).append('@')
                    .append(Files.getLastModifiedTime(p).toMillis()).append(';');
        }
        return sb.toString();
    }

    private static synchronized Object cached(String key) {
        SoftReference<Object> r = CACHE.get(key);
        return r == null ? null : r.get();
    }

    private static synchronized void remember(String key, Object value) {
        CACHE.values().removeIf(r -> r.get() == null);
        CACHE.put(key, new SoftReference<>(value));
    }

    /** Forgets loaded data sets (for tests). */
    static synchronized void clearCache() {
        CACHE.clear();
    }

    private static Dataset[] folder(Path dir, Options o) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new DatasetMissingException("image folder " + dir + " not found (expected DIR/train/CLASS/*.png|jpg "
                    + "and DIR/test/CLASS/*, or DIR/CLASS/*)", null);
        }
        String name = dir.getFileName() == null ? dir.toString() : dir.getFileName().toString();
        Path tr = dir.resolve("train");
        Path te = dir.resolve("test");
        if (Files.isDirectory(tr) && Files.isDirectory(te)) {
            ImageFolder.Listing a = ImageFolder.scan(tr);
            ImageFolder.Listing b = ImageFolder.scan(te);
            if (!a.classNames().equals(b.classNames())) {
                throw new FormatException(dir + ": train/ and test/ have different class folders (" + a.classNames()
                        + " and " + b.classNames() + ")");
            }
            ImageFolder train = ImageFolder.of(name + "/train", a.files(), a.labels(), a.classNames(), o.imageSize(), 0,
                    true).checked(o.skipBadImages(), o.warnings());
            ImageFolder test = ImageFolder.of(name + "/test", b.files(), b.labels(), b.classNames(), o.imageSize(),
                    train.channels(), true).checked(o.skipBadImages(), o.warnings());
            return new Dataset[]{train, test};
        }
        ImageFolder.Listing all = ImageFolder.scan(dir);
        int n = all.files().size();
        boolean[] isTest = new boolean[n];
        int k = all.classNames().size();
        int[] trainCount = new int[k];
        int[] firstOf = new int[k];
        Arrays.fill(firstOf, -1);
        for (int i = 0; i < n; i++) {
            String rel = dir.relativize(all.files().get(i)).toString().replace('\\', '/');
            long h = Seeds.derive(o.splitSeed(), Seeds.SPLIT, Seeds.hash(rel));
            double u = (h >>> 11) * 0x1.0p-53;
            isTest[i] = u < o.testFraction();
            int l = all.labels()[i];
            if (firstOf[l] < 0) {
                firstOf[l] = i;
            }
            if (!isTest[i]) {
                trainCount[l]++;
            }
        }
        for (int c = 0; c < k; c++) {
            if (trainCount[c] == 0) {
                isTest[firstOf[c]] = false; // every class keeps at least one training image
            }
        }
        List<Path> trf = new ArrayList<>();
        List<Path> tef = new ArrayList<>();
        int[] trl = new int[n];
        int[] tel = new int[n];
        for (int i = 0; i < n; i++) {
            if (isTest[i]) {
                tel[tef.size()] = all.labels()[i];
                tef.add(all.files().get(i));
            } else {
                trl[trf.size()] = all.labels()[i];
                trf.add(all.files().get(i));
            }
        }
        ImageFolder train = ImageFolder.of(name + "/train", trf, Arrays.copyOf(trl, trf.size()), all.classNames(),
                o.imageSize(), 0, true).checked(o.skipBadImages(), o.warnings());
        ImageFolder test = ImageFolder.of(name + "/test", tef, Arrays.copyOf(tel, tef.size()), all.classNames(),
                o.imageSize(), train.channels(), true).checked(o.skipBadImages(), o.warnings());
        return new Dataset[]{train, test};
    }
}
