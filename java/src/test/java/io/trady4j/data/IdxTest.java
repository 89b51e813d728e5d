package io.trady4j.data;

import io.trady4j.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class IdxTest {
    @TempDir
    Path dir;

    private Path write(String name, byte[] b) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, b);
        return p;
    }

    @Test
    void readsRealFashionMnist() throws IOException {
        Path d = Tasks.FASHION_MNIST_DIR;
        assumeTrue(Files.isRegularFile(d.resolve("train-images-idx3-ubyte.gz")),
                "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        long t0 = System.nanoTime();
        InMemoryDataset train = Idx.read("fmnist/train", d.resolve("train-images-idx3-ubyte.gz"),
                d.resolve("train-labels-idx1-ubyte.gz"), Tasks.FASHION_MNIST_CLASSES, Normalization.FASHION_MNIST);
        double secs = (System.nanoTime() - t0) / 1e9;
        assertTrue(secs < 5, "loading 60k images took " + secs + " s");
        assertEquals(60000, train.size());
        assertEquals(1, train.channels());
        assertEquals(28, train.height());
        assertEquals(28, train.width());
        assertEquals(9, train.label(0)); // the first training image is an ankle boot
        int[] counts = Datasets.classCounts(train);
        for (int c : counts) {
            assertEquals(6000, c);
        }
        Normalization s = Datasets.statistics(train);
        assertEquals(0.2860, s.mean()[0], 5e-4);
        assertEquals(0.3530, s.std()[0], 5e-4);
        InMemoryDataset test = Idx.read("fmnist/test", d.resolve("t10k-images-idx3-ubyte.gz"),
                d.resolve("t10k-labels-idx1-ubyte.gz"), Tasks.FASHION_MNIST_CLASSES, null);
        assertEquals(10000, test.size());
    }

    @Test
    void readsRawAndGzipAlike() throws IOException {
        byte[][] f = TestFiles.idxPair(5, 3, 4, 3);
        InMemoryDataset raw = Idx.read("raw", write("i", f[0]), write("l", f[1]), Tasks.DIGITS.subList(0, 3), null);
        InMemoryDataset gz = Idx.read("gz", write("i.gz", TestFiles.gzip(f[0])), write("l.gz", TestFiles.gzip(f[1])),
                Tasks.DIGITS.subList(0, 3), null);
        assertEquals(5, raw.size());
        assertEquals(3, raw.height());
        assertEquals(4, raw.width());
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(raw.imageBytes(i), gz.imageBytes(i));
            assertEquals(i % 3, raw.label(i));
        }
        float[] x = new float[12];
        raw.image(2, x, 0);
        assertEquals(((2 * 7 + 5) & 0xFF) / 255f, x[5], 0);
    }

    private void expectFormat(byte[] images, byte[] labels, String fragment) throws IOException {
        Path i = write("img-" + System.nanoTime(), images);
        Path l = write("lab-" + System.nanoTime(), labels);
        FormatException e = assertThrows(FormatException.class,
                () -> Idx.read("t", i, l, Tasks.DIGITS, null));
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    @Test
    void rejectsMalformedFiles() throws IOException {
        byte[][] f = TestFiles.idxPair(6, 4, 4, 10);
        // truncated raw and gzip
        expectFormat(Arrays.copyOf(f[0], f[0].length - 3), f[1], "truncated");
        byte[] gz = TestFiles.gzip(f[0]);
        expectFormat(Arrays.copyOf(gz, gz.length / 2), f[1], "gzip");
        expectFormat(Arrays.copyOf(f[0], 10), f[1], "truncated IDX header");
        expectFormat(new byte[2], f[1], "not an IDX file");
        expectFormat(new byte[0], f[1], "not an IDX file");
        // garbage and wrong magic
        expectFormat("hello, this is not an idx file".getBytes(), f[1], "not an IDX file");
        expectFormat(TestFiles.idx(0x0D, new int[]{1, 1, 1}, new byte[4]), f[1], "float");
        expectFormat(f[1], f[1], "rank 1 where rank 3");
        // trailing bytes
        byte[] longer = Arrays.copyOf(f[0], f[0].length + 5);
        expectFormat(longer, f[1], "after");
        expectFormat(TestFiles.gzip(longer), f[1], "after");
        // zero dimension
        expectFormat(TestFiles.idx(8, new int[]{0, 4, 4}, new byte[0]), f[1], "is 0");
        // count mismatch and label out of range
        byte[][] g = TestFiles.idxPair(7, 4, 4, 10);
        expectFormat(f[0], g[1], "holds 6 images but");
        byte[] badLabels = f[1].clone();
        badLabels[badLabels.length - 1] = 12;
        expectFormat(f[0], badLabels, "label 12 of sample 5 is out of range for 10 classes");
    }

    @Test
    void hugeDeclaredDimensionsAreRejectedWithoutAllocating() throws IOException {
        // 2^32-1 × 2^32-1 × 2^32-1: over the limit from the header alone
        byte[] huge = TestFiles.idx(8, new int[]{-1, -1, -1}, new byte[16]);
        expectFormat(huge, TestFiles.idx(8, new int[]{1}, new byte[1]), "more than");
        // 1e9 declared bytes (allowed size) in a tiny file: raw is checked against the file length,
        // gzip data is read into a buffer that only grows as data arrives
        byte[] big = TestFiles.idx(8, new int[]{100_000, 100, 100}, new byte[64]);
        expectFormat(big, TestFiles.idx(8, new int[]{1}, new byte[1]), "truncated");
        long before = usedMemory();
        expectFormat(TestFiles.gzip(big), TestFiles.idx(8, new int[]{1}, new byte[1]), "truncated");
        assertTrue(usedMemory() - before < 200L << 20, "reading a tiny gzip file allocated too much");
    }

    private static long usedMemory() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }

    /** Seeded mutation fuzzing: no exception other than FormatException, and no crash. */
    @Test
    void fuzzedFilesOnlyRaiseFormatException() throws IOException {
        byte[][] f = TestFiles.idxPair(8, 5, 5, 10);
        byte[] gz = TestFiles.gzip(f[0]);
        SplittableRandom r = new SplittableRandom(42);
        Path lab = write("labels", f[1]);
        int ok = 0;
        int rejected = 0;
        for (int trial = 0; trial < 400; trial++) {
            byte[] base = trial % 2 == 0 ? f[0] : gz;
            byte[] m = mutate(base, r);
            Path p = write("fuzz", m);
            try {
                Idx.read("fuzz", p, lab, Tasks.DIGITS, null);
                ok++;
            } catch (FormatException e) {
                rejected++;
                assertTrue(e.getMessage() != null && e.getMessage().contains("fuzz"), e.getMessage());
            } catch (Exception e) {
                fail("trial " + trial + ": " + e, e);
            }
        }
        assertTrue(rejected > 100, "only " + rejected + " mutated files rejected");
        assertTrue(ok + rejected == 400);
    }

    static byte[] mutate(byte[] base, SplittableRandom r) {
        byte[] m = base.clone();
        switch (r.nextInt(4)) {
            case 0 -> { // flip some bytes, mostly in the header
                for (int k = 0, n = 1 + r.nextInt(4); k < n; k++) {
                    int at = r.nextInt(100) < 70 ? r.nextInt(Math.min(20, m.length)) : r.nextInt(m.length);
                    m[at] = (byte) r.nextInt(256);
                }
            }
            case 1 -> m = Arrays.copyOf(m, r.nextInt(m.length)); // truncate
            case 2 -> { // append garbage
                int extra = 1 + r.nextInt(50);
                m = Arrays.copyOf(m, m.length + extra);
                for (int k = base.length; k < m.length; k++) {
                    m[k] = (byte) r.nextInt(256);
                }
            }
            default -> { // a random header dimension
                if (m.length >= 16) {
                    int d = 4 + 4 * r.nextInt(3);
                    int v = r.nextInt();
                    m[d] = (byte) (v >>> 24);
                    m[d + 1] = (byte) (v >>> 16);
                    m[d + 2] = (byte) (v >>> 8);
                    m[d + 3] = (byte) v;
                }
            }
        }
        return m;
    }
}
