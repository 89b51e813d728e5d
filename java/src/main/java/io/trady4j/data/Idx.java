package io.trady4j.data;

import io.trady4j.io.FormatException;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian
 * magic {@code 0x00 0x00 TYPE RANK}, RANK big-endian 32-bit dimensions, then the data. Files
 * may be gzip-compressed (detected from the content, not the name). Only unsigned-byte data
 * (type 0x08) is read.
 *
 * <p>Everything is validated before use: magic, element type, rank, dimensions (no zero, no
 * product over {@link #MAX_BYTES}), file length against the declared size (truncated or with
 * trailing bytes), label/image count agreement, label range. Memory is never allocated from a
 * declared size alone: raw files are checked against their length first, gzip streams are read
 * into a buffer that grows only as data actually arrives. Every problem is a
 * {@link FormatException} naming the file.
 */
public final class Idx {
    /** Largest data part read (bytes): one Java array. */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 64;

    private Idx() {
    }

    /** The dimensions and bytes of one IDX file. */
    public record Array(int[] dims, byte[] data) {
        public int dim(int i) {
            return dims[i];
        }
    }

    /**
     * Reads an unsigned-byte IDX file of the given rank (3 for images N×rows×cols, 1 for
     * labels).
     */
    public static Array read(Path path, int expectedRank) throws IOException {
        long fileSize;
        try {
            fileSize = Files.size(path);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "IDX file not found");
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(path), 1 << 16)) {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            boolean gzip = b0 == 0x1f && b1 == 0x8b;
            InputStream in = gzip ? new GZIPInputStream(raw, 1 << 16) : raw;
            try {
                return parse(path, in, gzip ? -1 : fileSize, expectedRank);
            } catch (ZipException | EOFException e) {
                throw new FormatException(path + ": corrupt gzip data (" + e.getMessage() + ")");
            }
        } catch (ZipException e) {
            throw new FormatException(path + ": corrupt gzip header (" + e.getMessage() + ")");
        } catch (EOFException e) {
            throw new FormatException(path + ": truncated gzip data (" + e.getMessage() + ")");
        }
    }

    private static Array parse(Path path, InputStream in, long rawSize, int expectedRank) throws IOException {
        byte[] magic = new byte[4];
        int got = in.readNBytes(magic, 0, 4);
        if (got < 4) {
            throw new FormatException(path + ": not an IDX file (" + got + " bytes; the magic number alone takes 4)");
        }
        if (magic[0] != 0 || magic[1] != 0) {
            throw new FormatException(path + ": not an IDX file (magic number " + hex(magic)
                    + "; an IDX file starts with two zero bytes)");
        }
        int type = magic[2] & 0xFF;
        int rank = magic[3] & 0xFF;
        if (type != 0x08) {
            throw new FormatException(path + ": IDX element type 0x" + Integer.toHexString(type) + " ("
                    + typeName(type) + ") is not supported; only unsigned bytes (0x08) are read");
        }
        if (rank != expectedRank) {
            throw new FormatException(path + ": IDX file of rank " + rank + " where rank " + expectedRank
                    + " was expected (" + (expectedRank == 1 ? "labels: N" : "images: N x rows x cols") + ")");
        }
        byte[] head = new byte[4 * rank];
        got = in.readNBytes(head, 0, head.length);
        if (got < head.length) {
            throw new FormatException(path + ": truncated IDX header (" + rank + " dimensions declared, "
                    + got / 4 + " present)");
        }
        int[] dims = new int[rank];
        long total = 1;
        for (int d = 0; d < rank; d++) {
            long v = ((head[4 * d] & 0xFFL) << 24) | ((head[4 * d + 1] & 0xFFL) << 16)
                    | ((head[4 * d + 2] & 0xFFL) << 8) | (head[4 * d + 3] & 0xFFL);
            if (v == 0) {
                throw new FormatException(path + ": IDX dimension " + d + " is 0");
            }
            if (v > MAX_BYTES) {
                throw new FormatException(path + ": IDX dimension " + d + " is " + v + ", more than supported ("
                        + MAX_BYTES + ")");
            }
            dims[d] = (int) v;
            total *= v;
            if (total > MAX_BYTES) {
                throw new FormatException(path + ": IDX dimensions " + dimText(head, rank) + " declare more than "
                        + MAX_BYTES + " bytes of data; not read");
            }
        }
        long headerBytes = 4 + 4L * rank;
        if (rawSize >= 0) {
            long have = rawSize - headerBytes;
            if (have < total) {
                throw new FormatException(path + ": truncated IDX file: dimensions " + Arrays.toString(dims)
                        + " declare " + total + " data bytes, the file holds " + have);
            }
            if (have > total) {
                throw new FormatException(path + ": IDX file has " + (have - total) + " bytes after the "
                        + total + " declared by dimensions " + Arrays.toString(dims));
            }
        }
        byte[] data = readBounded(in, (int) total);
        if (data.length < total) {
            throw new FormatException(path + ": truncated IDX data: dimensions " + Arrays.toString(dims)
                    + " declare " + total + " bytes, only " + data.length + " present");
        }
        if (rawSize < 0 && in.read() >= 0) {
            throw new FormatException(path + ": IDX file has bytes after the " + total
                    + " declared by dimensions " + Arrays.toString(dims));
        }
        return new Array(dims, data);
    }

    /** Reads up to n bytes, growing the buffer only as data arrives; shorter result at end of stream. */
    static byte[] readBounded(InputStream in, int n) throws IOException {
        int cap = Math.min(n, 1 << 22);
        byte[] buf = new byte[cap];
        int len = 0;
        while (len < n) {
            if (len == buf.length) {
                buf = Arrays.copyOf(buf, (int) Math.min(n, 2L * buf.length));
            }
            int r = in.read(buf, len, buf.length - len);
            if (r < 0) {
                return Arrays.copyOf(buf, len);
            }
            len += r;
        }
        return buf.length == len ? buf : Arrays.copyOf(buf, len);
    }

    /**
     * Reads an image file (rank 3, N×rows×cols) and a label file (rank 1, N), checks that the
     * counts agree and every label is below {@code classNames.size()}.
     */
    public static InMemoryDataset read(String name, Path images, Path labels, List<String> classNames,
                                       Normalization normalization) throws IOException {
        Array img = read(images, 3);
        Array lab = read(labels, 1);
        if (img.dim(0) != lab.dim(0)) {
            throw new FormatException(images + " holds " + img.dim(0) + " images but " + labels + " holds "
                    + lab.dim(0) + " labels");
        }
        int k = classNames.size();
        int[] l = new int[lab.dim(0)];
        byte[] ld = lab.data();
        for (int i = 0; i < l.length; i++) {
            l[i] = ld[i] & 0xFF;
            if (l[i] >= k) {
                throw new FormatException(labels + ": label " + l[i] + " of sample " + i + " is out of range for "
                        + k + " classes");
            }
        }
        return new InMemoryDataset(name, img.data(), l, 1, img.dim(1), img.dim(2), classNames, normalization);
    }

    private static String typeName(int t) {
        return switch (t) {
            case 0x09 -> "signed byte";
            case 0x0B -> "short";
            case 0x0C -> "int";
            case 0x0D -> "float";
            case 0x0E -> "double";
            default -> "unknown";
        };
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder("0x");
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xFF));
        }
        return sb.toString();
    }

    private static String dimText(byte[] head, int rank) {
        StringBuilder sb = new StringBuilder("[");
        for (int d = 0; d < rank; d++) {
            long v = ((head[4 * d] & 0xFFL) << 24) | ((head[4 * d + 1] & 0xFFL) << 16)
                    | ((head[4 * d + 2] & 0xFFL) << 8) | (head[4 * d + 3] & 0xFFL);
            sb.append(d > 0 ? ", " : "").append(v);
        }
        return sb.append(']').toString();
    }
}
