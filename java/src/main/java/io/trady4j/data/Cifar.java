package io.trady4j.data;

import io.trady4j.io.FormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The CIFAR-10 and CIFAR-100 binary versions (https://www.cs.toronto.edu/~kriz/cifar.html).
 * A CIFAR-10 record is 1 label byte then 3072 pixel bytes (1024 red, 1024 green, 1024 blue,
 * row-major 32×32): exactly CHW. A CIFAR-100 record has 2 label bytes (coarse, then fine) then
 * the same 3072 bytes.
 *
 * <p>Layouts: CIFAR-10 {@code cifar-10-batches-bin/data_batch_1..5.bin} (train) and
 * {@code test_batch.bin} (test), class names in {@code batches.meta.txt}; CIFAR-100
 * {@code cifar-100-binary/train.bin} and {@code test.bin}, names in {@code fine_label_names.txt}
 * and {@code coarse_label_names.txt}. The directory given may be the batches directory itself or
 * its parent. Files must hold a whole, non-zero number of records; labels are range-checked;
 * problems are {@link FormatException}s naming the file.
 */
public final class Cifar {
    public static final int SIDE = 32;
    public static final int PIXELS = 3 * SIDE * SIDE;
    public static final List<String> CIFAR10_CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer",
            "dog", "frog", "horse", "ship", "truck");

    /** Which CIFAR-100 label to use. */
    public enum Labels {
        /** CIFAR-10's only label. */
        CIFAR10(1, 0, 10),
        /** CIFAR-100's 100 fine classes. */
        FINE(2, 1, 100),
        /** CIFAR-100's 20 superclasses. */
        COARSE(2, 0, 20);

        final int labelBytes;
        final int labelOffset;
        final int classes;

        Labels(int labelBytes, int labelOffset, int classes) {
            this.labelBytes = labelBytes;
            this.labelOffset = labelOffset;
            this.classes = classes;
        }

        public int classes() {
            return classes;
        }
    }

    private Cifar() {
    }

    /** CIFAR-10 train (5 batches) or test split from {@code dir} (the batches directory or its parent). */
    public static InMemoryDataset cifar10(Path dir, boolean train) throws IOException {
        Path d = locate(dir, "cifar-10-batches-bin", "test_batch.bin", "CIFAR-10",
                "download the binary version (cifar-10-binary.tar.gz) and extract it there");
        List<Path> files = new ArrayList<>();
        if (train) {
            for (int b = 1; b <= 5; b++) {
                files.add(d.resolve("data_batch_" + b + ".bin"));
            }
        } else {
            files.add(d.resolve("test_batch.bin"));
        }
        List<String> names = readNames(d.resolve("batches.meta.txt"), 10, CIFAR10_CLASSES);
        return read("cifar10/" + (train ? "train" : "test"), files, Labels.CIFAR10, names);
    }

    /** CIFAR-100 train or test split with fine (100) or coarse (20) labels. */
    public static InMemoryDataset cifar100(Path dir, boolean train, Labels labels) throws IOException {
        if (labels == Labels.CIFAR10) {
            throw new IllegalArgumentException("CIFAR-100 labels are FINE or COARSE");
        }
        Path d = locate(dir, "cifar-100-binary", "test.bin", "CIFAR-100",
                "download the binary version (cifar-100-binary.tar.gz) and extract it there");
        List<String> names = readNames(d.resolve(labels == Labels.FINE ? "fine_label_names.txt" : "coarse_label_names.txt"),
                labels.classes, null);
        String split = train ? "train" : "test";
        return read("cifar100" + (labels == Labels.COARSE ? "-coarse/" : "/") + split,
                List.of(d.resolve(split + ".bin")), labels, names);
    }

    /** Reads binary batch files into one data set. */
    public static InMemoryDataset read(String name, List<Path> files, Labels labels, List<String> classNames)
            throws IOException {
        int record = labels.labelBytes + PIXELS;
        long total = 0;
        long[] counts = new long[files.size()];
        for (int f = 0; f < files.size(); f++) {
            Path p = files.get(f);
            long size;
            try {
                size = Files.size(p);
            } catch (NoSuchFileException e) {
                throw new NoSuchFileException(p.toString(), null, "CIFAR batch file not found");
            }
            if (size == 0 || size % record != 0) {
                throw new FormatException(p + ": not a CIFAR" + (labels == Labels.CIFAR10 ? "-10" : "-100")
                        + " binary batch: " + size + " bytes is not a whole, non-zero number of " + record
                        + "-byte records" + (size % (labels == Labels.CIFAR10 ? 3074 : 3073) == 0 && size > 0
                        ? " (it looks like a CIFAR-" + (labels == Labels.CIFAR10 ? "100" : "10") + " file)" : ""));
            }
            counts[f] = size / record;
            total += counts[f];
        }
        if (total * PIXELS > Idx.MAX_BYTES) {
            throw new FormatException(name + ": " + total + " images are more than one data set can hold in memory");
        }
        byte[] pixels = new byte[(int) total * PIXELS];
        int[] lab = new int[(int) total];
        int n = 0;
        ByteBuffer buf = ByteBuffer.allocate(record * 256);
        for (int f = 0; f < files.size(); f++) {
            Path p = files.get(f);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                long left = counts[f];
                long at = 0;
                while (left > 0) {
                    int take = (int) Math.min(left, 256);
                    buf.clear().limit(take * record);
                    while (buf.hasRemaining()) {
                        if (ch.read(buf) < 0) {
                            throw new FormatException(p + ": file shrank while being read");
                        }
                    }
                    byte[] a = buf.array();
                    for (int r = 0; r < take; r++) {
                        int base = r * record;
                        int l = a[base + labels.labelOffset] & 0xFF;
                        if (l >= labels.classes) {
                            throw new FormatException(p + ": record " + (at + r) + " has label " + l
                                    + ", out of range for " + labels.classes + " classes");
                        }
                        lab[n] = l;
                        System.arraycopy(a, base + labels.labelBytes, pixels, n * PIXELS, PIXELS);
                        n++;
                    }
                    at += take;
                    left -= take;
                }
            }
        }
        return new InMemoryDataset(name, pixels, lab, 3, SIDE, SIDE, classNames, Normalization.IMAGENET);
    }

    private static Path locate(Path dir, String sub, String marker, String what, String how) throws IOException {
        if (Files.isRegularFile(dir.resolve(marker))) {
            return dir;
        }
        if (Files.isRegularFile(dir.resolve(sub).resolve(marker))) {
            return dir.resolve(sub);
        }
        throw new DatasetMissingException(what + " not found in " + dir + " (looked for " + marker + " there and in "
                + sub + "/): " + how, null);
    }

    /** One class name per non-empty line; falls back to {@code fallback} (or the numbers) when the file is absent or wrong. */
    private static List<String> readNames(Path p, int k, List<String> fallback) throws IOException {
        if (Files.isRegularFile(p) && Files.size(p) < 1 << 20) {
            List<String> names = new ArrayList<>();
            for (String line : new String(Files.readAllBytes(p), StandardCharsets.UTF_8).split("\\R")) {
                if (!line.isBlank()) {
                    names.add(line.strip());
                }
            }
            if (names.size() == k) {
                return names;
            }
        }
        if (fallback != null) {
            return fallback;
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            names.add(Integer.toString(i));
        }
        return names;
    }
}
