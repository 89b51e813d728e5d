package io.trady4j.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Small generated data files for the tests. */
final class TestFiles {
    private TestFiles() {
    }

    static byte[] idx(int type, int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.put((byte) 0).put((byte) 0).put((byte) type).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(data);
        return b.array();
    }

    /** n images rows×cols, pixel (i, y, x) = (i*7 + y*cols + x) mod 256; labels i mod k. */
    static byte[][] idxPair(int n, int rows, int cols, int k) {
        byte[] px = new byte[n * rows * cols];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < rows * cols; j++) {
                px[i * rows * cols + j] = (byte) (i * 7 + j);
            }
        }
        byte[] lab = new byte[n];
        for (int i = 0; i < n; i++) {
            lab[i] = (byte) (i % k);
        }
        return new byte[][]{idx(8, new int[]{n, rows, cols}, px), idx(8, new int[]{n}, lab)};
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(bo)) {
            g.write(data);
        }
        return bo.toByteArray();
    }

    /** Writes the four IDX files of a tiny MNIST-like data set into dir (gzip). */
    static void writeMnistLike(Path dir, int nTrain, int nTest, int side, int k) throws IOException {
        Files.createDirectories(dir);
        byte[][] tr = idxPair(nTrain, side, side, k);
        byte[][] te = idxPair(nTest, side, side, k);
        Files.write(dir.resolve("train-images-idx3-ubyte.gz"), gzip(tr[0]));
        Files.write(dir.resolve("train-labels-idx1-ubyte.gz"), gzip(tr[1]));
        Files.write(dir.resolve("t10k-images-idx3-ubyte.gz"), gzip(te[0]));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), gzip(te[1]));
    }

    /** A CIFAR binary batch: record r has label(s) and pixels (r + j) mod 256. */
    static byte[] cifarBatch(int n, boolean hundred, int k) {
        int rec = (hundred ? 2 : 1) + 3072;
        byte[] b = new byte[n * rec];
        for (int r = 0; r < n; r++) {
            int base = r * rec;
            if (hundred) {
                b[base] = (byte) ((r % k) % 20);
                b[base + 1] = (byte) (r % k);
            } else {
                b[base] = (byte) (r % k);
            }
            int off = base + (hundred ? 2 : 1);
            for (int j = 0; j < 3072; j++) {
                b[off + j] = (byte) (r + j);
            }
        }
        return b;
    }
}
