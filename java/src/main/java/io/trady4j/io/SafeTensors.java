package io.trady4j.io;

import io.trady4j.tensor.Shape;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a UTF-8 JSON header naming each tensor's dtype, shape and byte range, then the
 * data. Reading validates the whole header against the file before any tensor is touched, and
 * never allocates more than the file holds; every problem is a {@link FormatException}.
 */
public final class SafeTensors {
    /** Element types read (F32, F16 and BF16 as float; I32 and I64 as int) and written (F32, I32). */
    public enum Dtype {
        F32(4), F16(2), BF16(2), I32(4), I64(8);

        final int bytes;

        Dtype(int bytes) {
            this.bytes = bytes;
        }

        public boolean isFloat() {
            return this == F32 || this == F16 || this == BF16;
        }
    }

    /** One tensor's header entry; dims may be empty for a scalar. */
    public record Entry(String name, Dtype dtype, long[] dims, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }

        public String shapeText() {
            return Arrays.toString(dims);
        }
    }

    private static final long MAX_HEADER = 100L << 20;

    private final Path path;
    private final ByteBuffer data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path path, ByteBuffer data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafeTensors read(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            throw new FormatException(path + " is a directory, not a safetensors file");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new FormatException(path + ": not a safetensors file (" + size + " bytes, the header length alone takes 8)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > size - 8) {
                throw new FormatException(path + ": header length " + Long.toUnsignedString(headerLen)
                        + " does not fit the file of " + size + " bytes");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8);
            String header;
            try {
                header = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(headerBuf.flip()).toString();
            } catch (CharacterCodingException e) {
                throw new FormatException(path + ": header is not valid UTF-8");
            }
            long dataLen = size - 8 - headerLen;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parseHeader(path, header, dataLen, metadata);
            if (dataLen > Integer.MAX_VALUE) {
                throw new FormatException(path + ": data section of " + dataLen + " bytes is larger than 2 GiB");
            }
            ByteBuffer data = ch.map(FileChannel.MapMode.READ_ONLY, 8 + headerLen, dataLen).order(ByteOrder.LITTLE_ENDIAN);
            return new SafeTensors(path, data, entries, metadata);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "no such file");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, at + b.position());
            if (n < 0) {
                throw new FormatException("unexpected end of file");
            }
        }
    }

    private static Map<String, Entry> parseHeader(Path path, String header, long dataLen, Map<String, String> metadata)
            throws FormatException {
        Object root;
        try {
            root = Json.parse(header);
        } catch (FormatException e) {
            throw new FormatException(path + ": header " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new FormatException(path + ": header is not a JSON object");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        List<Entry> byOffset = new ArrayList<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("__metadata__")) {
                if (!(e.getValue() instanceof Map<?, ?> md)) {
                    throw new FormatException(path + ": __metadata__ is not an object");
                }
                for (Map.Entry<?, ?> m : md.entrySet()) {
                    if (!(m.getValue() instanceof String v)) {
                        throw new FormatException(path + ": metadata value of '" + m.getKey() + "' is not a string");
                    }
                    metadata.put((String) m.getKey(), v);
                }
                continue;
            }
            Entry entry = parseEntry(path, name, e.getValue(), dataLen);
            entries.put(name, entry);
            byOffset.add(entry);
        }
        byOffset.sort((a, b) -> Long.compare(a.begin(), b.begin()));
        for (int i = 1; i < byOffset.size(); i++) {
            Entry prev = byOffset.get(i - 1), cur = byOffset.get(i);
            if (cur.begin() < prev.end()) {
                throw new FormatException(path + ": tensors '" + prev.name() + "' and '" + cur.name() + "' overlap");
            }
        }
        return Collections.unmodifiableMap(entries);
    }

    private static Entry parseEntry(Path path, String name, Object value, long dataLen) throws FormatException {
        String where = path + ": tensor '" + name + "'";
        if (!(value instanceof Map<?, ?> m)) {
            throw new FormatException(where + " is not described by an object");
        }
        if (!(m.get("dtype") instanceof String dt)) {
            throw new FormatException(where + " has no dtype");
        }
        Dtype dtype;
        try {
            dtype = Dtype.valueOf(dt);
        } catch (IllegalArgumentException ex) {
            throw new FormatException(where + " has unsupported dtype " + dt + " (supported: F32, F16, BF16, I32, I64)");
        }
        if (!(m.get("shape") instanceof List<?> shapeList)) {
            throw new FormatException(where + " has no shape");
        }
        long[] dims = new long[shapeList.size()];
        long numel = 1;
        for (int i = 0; i < dims.length; i++) {
            if (!(shapeList.get(i) instanceof Long d) || d < 0) {
                throw new FormatException(where + " has an invalid dimension " + shapeList.get(i));
            }
            dims[i] = d;
            numel = d != 0 && numel > Long.MAX_VALUE / d ? Long.MAX_VALUE : numel * d;
        }
        if (!(m.get("data_offsets") instanceof List<?> off) || off.size() != 2
                || !(off.get(0) instanceof Long begin) || !(off.get(1) instanceof Long end)) {
            throw new FormatException(where + " has no valid data_offsets [begin, end]");
        }
        if (begin < 0 || end < begin || end > dataLen) {
            throw new FormatException(where + " has data_offsets [" + begin + ", " + end + "] outside the data section of "
                    + dataLen + " bytes");
        }
        if (numel > dataLen || numel * dtype.bytes != end - begin) {
            throw new FormatException(where + " declares shape " + Arrays.toString(dims) + " of " + dt
                    + " but holds " + (end - begin) + " bytes");
        }
        return new Entry(name, dtype, dims, begin, end);
    }

    public Path path() {
        return path;
    }

    public Set<String> names() {
        return entries.keySet();
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Entry entry(String name) throws FormatException {
        Entry e = entries.get(name);
        if (e == null) {
            throw new FormatException(path + ": no tensor named '" + name + "' (it has: " + String.join(", ", entries.keySet()) + ")");
        }
        return e;
    }

    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /** The tensor's shape; a scalar is reported as [1]. */
    public Shape shape(String name) throws FormatException {
        Entry e = entry(name);
        if (e.numel() == 0) {
            throw new FormatException(path + ": tensor '" + name + "' is empty (shape " + e.shapeText() + ")");
        }
        if (e.dims().length == 0) {
            return Shape.of(1);
        }
        int[] d = new int[e.dims().length];
        for (int i = 0; i < d.length; i++) {
            d[i] = (int) e.dims()[i];
        }
        return Shape.of(d);
    }

    /** Values of a float tensor (F32, F16 or BF16) as float32. */
    public float[] floats(String name) throws FormatException {
        Entry e = entry(name);
        if (!e.dtype().isFloat()) {
            throw new FormatException(path + ": tensor '" + name + "' is " + e.dtype() + ", expected a float type (F32, F16, BF16)");
        }
        int n = shape(name).numel();
        float[] out = new float[n];
        int at = (int) e.begin();
        for (int i = 0; i < n; i++) {
            out[i] = switch (e.dtype()) {
                case F32 -> data.getFloat(at + 4 * i);
                case F16 -> Float.float16ToFloat(data.getShort(at + 2 * i));
                case BF16 -> Float.intBitsToFloat((data.getShort(at + 2 * i) & 0xffff) << 16);
                default -> throw new IllegalStateException();
            };
        }
        return out;
    }

    /** Values of an integer tensor (I32, or I64 whose values fit an int). */
    public int[] ints(String name) throws FormatException {
        Entry e = entry(name);
        if (e.dtype() != Dtype.I32 && e.dtype() != Dtype.I64) {
            throw new FormatException(path + ": tensor '" + name + "' is " + e.dtype() + ", expected I32 or I64");
        }
        int n = shape(name).numel();
        int[] out = new int[n];
        int at = (int) e.begin();
        for (int i = 0; i < n; i++) {
            if (e.dtype() == Dtype.I32) {
                out[i] = data.getInt(at + 4 * i);
            } else {
                long v = data.getLong(at + 8 * i);
                if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                    throw new FormatException(path + ": tensor '" + name + "' holds " + v + ", outside the int32 range");
                }
                out[i] = (int) v;
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- writing

    /** Collects named tensors and writes them atomically as one safetensors file (F32 and I32). */
    public static final class Writer {
        private record Pending(String name, Dtype dtype, int[] dims, float[] floats, int[] ints) {
        }

        private final Map<String, Pending> tensors = new LinkedHashMap<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();

        public Writer put(String name, Shape shape, float[] values) {
            check(name, shape, values.length);
            tensors.put(name, new Pending(name, Dtype.F32, shape.dims(), values.clone(), null));
            return this;
        }

        public Writer putInts(String name, Shape shape, int[] values) {
            check(name, shape, values.length);
            tensors.put(name, new Pending(name, Dtype.I32, shape.dims(), null, values.clone()));
            return this;
        }

        public Writer metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        private void check(String name, Shape shape, int length) {
            if (name.isEmpty() || name.equals("__metadata__")) {
                throw new IllegalArgumentException("invalid tensor name '" + name + "'");
            }
            if (tensors.containsKey(name)) {
                throw new IllegalArgumentException("tensor '" + name + "' is written twice");
            }
            if (shape.numel() != length) {
                throw new IllegalArgumentException("tensor '" + name + "': " + length + " values do not fit shape " + shape);
            }
        }

        public void write(Path path) throws IOException {
            Map<String, Object> header = new LinkedHashMap<>();
            if (!metadata.isEmpty()) {
                header.put("__metadata__", new LinkedHashMap<>(metadata));
            }
            long offset = 0;
            for (Pending p : tensors.values()) {
                long bytes = 4L * (p.floats != null ? p.floats.length : p.ints.length);
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("dtype", p.dtype.name());
                List<Object> dims = new ArrayList<>();
                for (int d : p.dims) {
                    dims.add((long) d);
                }
                e.put("shape", dims);
                e.put("data_offsets", List.of(offset, offset + bytes));
                header.put(p.name, e);
                offset += bytes;
            }
            byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
            int pad = (8 - json.length % 8) % 8;
            byte[] headerBytes = Arrays.copyOf(json, json.length + pad);
            Arrays.fill(headerBytes, json.length, headerBytes.length, (byte) ' ');
            final long total = offset;
            AtomicFiles.write(path, ch -> {
                ByteBuffer head = ByteBuffer.allocate(8 + headerBytes.length).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(headerBytes.length).put(headerBytes).flip();
                writeAll(ch, head);
                ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                for (Pending p : tensors.values()) {
                    int n = p.floats != null ? p.floats.length : p.ints.length;
                    for (int i = 0; i < n; i++) {
                        if (buf.remaining() < 4) {
                            writeAll(ch, buf.flip());
                            buf.clear();
                        }
                        if (p.floats != null) {
                            buf.putFloat(p.floats[i]);
                        } else {
                            buf.putInt(p.ints[i]);
                        }
                    }
                }
                writeAll(ch, buf.flip());
                if (ch.size() != 8 + headerBytes.length + total) {
                    throw new IOException("safetensors writer produced " + ch.size() + " bytes, expected "
                            + (8 + headerBytes.length + total));
                }
            });
        }

        private static void writeAll(FileChannel ch, ByteBuffer b) throws IOException {
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
    }
}
