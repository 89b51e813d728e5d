package io.trady4j.io;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A seeded mutation fuzzer for the file readers: hostile variants of valid files (truncation, bit flips,
 * header-length edits, offset and shape edits, wrong dtypes, non-UTF-8 bytes, JSON type confusion) and a
 * check that reading one either succeeds or throws the reader's documented exception, without allocating
 * more than a bound proportional to the file (so a huge declared shape is never allocated).
 */
public final class Fuzz {
    private Fuzz() {
    }

    /** Reads a file the way a caller would; may throw only what the reader documents. */
    public interface Reader {
        void read(Path file) throws Exception;
    }

    /** One mutated file and how it was made (for the failure message). */
    public record Case(byte[] bytes, String how) {
    }

    private static final long[] INTERESTING = {0, 1, 2, 3, 4, 7, 8, 255, 256, 65535, 1L << 24, 100L << 20, Integer.MAX_VALUE,
            Integer.MAX_VALUE + 1L, 1L << 32, 1L << 40, Long.MAX_VALUE, -1, -8, Integer.MIN_VALUE, Long.MIN_VALUE};
    private static final byte[][] BAD_UTF8 = {{(byte) 0xff}, {(byte) 0xc3, 0x28}, {(byte) 0x80}, {(byte) 0xc0, (byte) 0xaf},
            {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}, {0}};

    /**
     * Runs {@code count} mutations of the seeds through {@code reader}; every exception must be an
     * instance of one of {@code allowed}, and no read may allocate more than 64 × the file size + 8 MiB.
     */
    @SafeVarargs
    public static int run(Path dir, List<byte[]> seeds, long seed, int count, Reader reader,
                          Class<? extends Throwable>... allowed) throws Exception {
        return run(dir, seeds, seed, count, Fuzz::mutate, reader, allowed);
    }

    /** Makes one mutated file from a valid one. */
    public interface Mutator {
        Case mutate(byte[] valid, Random r);
    }

    /** As above with a custom mutator. */
    @SafeVarargs
    public static int run(Path dir, List<byte[]> seeds, long seed, int count, Mutator mutator, Reader reader,
                          Class<? extends Throwable>... allowed) throws Exception {
        Random r = new Random(seed);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        // a memory file system when there is one: thousands of small writes are slow on some disks
        Path shm = Path.of("/dev/shm");
        Path work = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "trady4j-fuzz") : dir;
        Path file = work.resolve("fuzzed.bin");
        try {
            return runCases(file, seeds, r, count, mutator, reader, mx, allowed);
        } finally {
            Files.deleteIfExists(file);
            if (!work.equals(dir)) {
                Files.deleteIfExists(work);
            }
        }
    }

    private static int runCases(Path file, List<byte[]> seeds, Random r, int count, Mutator mutator, Reader reader,
                                com.sun.management.ThreadMXBean mx, Class<? extends Throwable>[] allowed) throws Exception {
        int failures = 0;
        for (int i = 0; i < count; i++) {
            byte[] original = seeds.get(r.nextInt(seeds.size()));
            Case c = mutator.mutate(original, r);
            Files.write(file, c.bytes());
            long before = mx.getCurrentThreadAllocatedBytes();
            try {
                reader.read(file);
            } catch (Throwable t) {
                if (Arrays.stream(allowed).noneMatch(a -> a.isInstance(t))) {
                    AssertionError e = new AssertionError("case " + i + " (" + c.how() + "): unexpected " + t, t);
                    throw e;
                }
                if (t.getMessage() == null || t.getMessage().isBlank()) {
                    fail("case " + i + " (" + c.how() + "): " + t.getClass().getSimpleName() + " without a message");
                }
                failures++;
            }
            long allocated = mx.getCurrentThreadAllocatedBytes() - before;
            long bound = 64L * c.bytes().length + (8 << 20);
            if (allocated > bound) {
                fail("case " + i + " (" + c.how() + "): reading a " + c.bytes().length + "-byte file allocated " + allocated
                        + " bytes");
            }
        }
        return failures;
    }

    /** One random mutation of a file: byte-level ones for any file, header-level ones for safetensors-looking files. */
    public static Case mutate(byte[] b, Random r) {
        boolean safetensors = looksLikeSafetensors(b);
        int kind = r.nextInt(safetensors ? 14 : 7);
        switch (kind) {
            case 0: {
                int n = r.nextInt(b.length + 1);
                return new Case(Arrays.copyOf(b, n), "truncated to " + n + " bytes");
            }
            case 1: {
                byte[] c = b.clone();
                int flips = 1 + r.nextInt(4);
                for (int i = 0; i < flips && c.length > 0; i++) {
                    c[r.nextInt(c.length)] ^= (byte) (1 << r.nextInt(8));
                }
                return new Case(c, flips + " bit flips");
            }
            case 2: {
                byte[] c = b.clone();
                if (c.length > 0) {
                    int at = r.nextInt(c.length);
                    c[at] = (byte) r.nextInt(256);
                }
                return new Case(c, "random byte");
            }
            case 3: {
                byte[] bad = BAD_UTF8[r.nextInt(BAD_UTF8.length)];
                int at = r.nextInt(b.length + 1);
                if (safetensors) {
                    at = 8 + r.nextInt(Math.max(1, headerLength(b)));
                    byte[] c = b.clone();
                    for (int i = 0; i < bad.length && at + i < c.length; i++) {
                        c[at + i] = bad[i];
                    }
                    return new Case(c, "non-UTF-8 bytes in the header at " + at);
                }
                return new Case(insert(b, at, bad), "non-UTF-8 bytes inserted at " + at);
            }
            case 4: {
                byte[] junk = new byte[1 + r.nextInt(64)];
                r.nextBytes(junk);
                return new Case(insert(b, b.length, junk), "garbage appended");
            }
            case 5: {
                int from = r.nextInt(b.length + 1), to = from + r.nextInt(b.length - from + 1);
                byte[] c = new byte[b.length - (to - from)];
                System.arraycopy(b, 0, c, 0, from);
                System.arraycopy(b, to, c, from, b.length - to);
                return new Case(c, "bytes " + from + ".." + to + " removed");
            }
            case 6: {
                byte[] c = b.clone();
                int from = r.nextInt(c.length + 1), n = Math.min(c.length - from, 1 + r.nextInt(32));
                byte[] junk = new byte[n];
                r.nextBytes(junk);
                System.arraycopy(junk, 0, c, from, n);
                return new Case(c, n + " random bytes at " + from);
            }
            case 7: {
                long v = r.nextBoolean() ? INTERESTING[r.nextInt(INTERESTING.length)]
                        : headerLength(b) + r.nextInt(33) - 16;
                byte[] c = b.clone();
                ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v);
                return new Case(c, "header length set to " + v);
            }
            default:
                return mutateHeader(b, r);
        }
    }

    static boolean looksLikeSafetensors(byte[] b) {
        if (b.length < 10) {
            return false;
        }
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return n > 1 && n <= b.length - 8 && b[8] == '{';
    }

    static int headerLength(byte[] b) {
        return (int) ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    static byte[] insert(byte[] b, int at, byte[] what) {
        byte[] c = new byte[b.length + what.length];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(what, 0, c, at, what.length);
        System.arraycopy(b, at, c, at + what.length, b.length - at);
        return c;
    }

    /** A safetensors file with {@code header} as its JSON header and {@code data} after it. */
    public static byte[] safetensors(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).put(data)
                .array();
    }

    /**
     * A copy of a parsed JSON value with one random node changed: replaced by a value of another type or an
     * extreme number, removed from its object or list, or given a sibling. Returns the new root.
     */
    public static Object mutateJson(Object root, Random r, StringBuilder how) {
        Object copy;
        try {
            copy = Json.parse(Json.write(root));
        } catch (FormatException e) {
            throw new IllegalStateException(e);
        }
        List<Object[]> slots = new ArrayList<>();
        collect(copy, "$", slots);
        if (slots.isEmpty()) {
            how.append("root replaced");
            return interesting(r);
        }
        Object[] slot = slots.get(r.nextInt(slots.size()));
        Object parent = slot[0];
        Object key = slot[1];
        Object value = switch (r.nextInt(6)) {
            case 0 -> null;
            case 1 -> "x\u0000y";
            case 2 -> -1L - r.nextInt(3);
            case 3 -> 1e300 * (r.nextBoolean() ? 1 : -1);
            default -> interesting(r);
        };
        boolean remove = r.nextInt(5) == 0;
        if (parent instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<String, Object> mm = (Map<String, Object>) m;
            if (remove) {
                mm.remove((String) key);
            } else {
                mm.put((String) key, value);
            }
        } else {
            @SuppressWarnings("unchecked")
            List<Object> l = (List<Object>) parent;
            if (remove) {
                l.remove((int) (Integer) key);
            } else if (r.nextBoolean()) {
                l.add(value);
            } else {
                l.set((Integer) key, value);
            }
        }
        how.append(slot[2]).append(remove ? " removed" : " = " + value);
        return copy;
    }

    private static void collect(Object node, String path, List<Object[]> slots) {
        if (node instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                slots.add(new Object[]{m, e.getKey(), path + "." + e.getKey()});
                collect(e.getValue(), path + "." + e.getKey(), slots);
            }
        } else if (node instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                slots.add(new Object[]{l, i, path + "[" + i + "]"});
                collect(l.get(i), path + "[" + i + "]", slots);
            }
        }
    }

    private static Object interesting(Random r) {
        return switch (r.nextInt(10)) {
            case 0 -> INTERESTING[r.nextInt(INTERESTING.length)];
            case 1 -> -1L - r.nextInt(100);
            case 2 -> 1.5;
            case 3 -> "7";
            case 4 -> null;
            case 5 -> List.of(1L, 2L);
            case 6 -> Map.of("x", 1L);
            case 7 -> Boolean.TRUE;
            default -> (long) r.nextInt(1 << 16);
        };
    }

    @SuppressWarnings("unchecked")
    private static Case mutateHeader(byte[] b, Random r) {
        int len = headerLength(b);
        String json = new String(b, 8, len, StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(b, 8 + len, b.length);
        Map<String, Object> header;
        try {
            header = (Map<String, Object>) Json.parse(json.strip());
        } catch (FormatException e) {
            throw new IllegalStateException("seed file has an unreadable header", e);
        }
        List<String> names = new ArrayList<>(header.keySet());
        names.remove("__metadata__");
        if (names.isEmpty()) {
            return new Case(b, "unchanged (no tensors)");
        }
        String name = names.get(r.nextInt(names.size()));
        Map<String, Object> entry = header.get(name) instanceof Map<?, ?> m ? new LinkedHashMap<>((Map<String, Object>) m)
                : new LinkedHashMap<>();
        String how;
        switch (r.nextInt(10)) {
            case 0 -> {
                List<Object> off = new ArrayList<>(Arrays.asList(interesting(r), interesting(r)));
                if (r.nextBoolean() && entry.get("data_offsets") instanceof List<?> l && l.size() == 2) {
                    off = new ArrayList<>(List.of(l.get(0), data.length + (long) r.nextInt(9) - 4));
                }
                entry.put("data_offsets", off);
                how = name + ".data_offsets = " + off;
            }
            case 1 -> {
                List<Object> shape = switch (r.nextInt(8)) {
                    case 0 -> List.of(1L << 40);
                    case 1 -> List.of(1L << 31, 1L << 31);
                    case 2 -> List.of(1L << 32, 1L << 32, 1L << 32);
                    case 3 -> List.of(0L, 1L << 62);
                    case 4 -> List.of(-1L);
                    case 5 -> new ArrayList<>(java.util.Collections.nCopies(200, 1L));
                    case 6 -> List.of(Integer.MAX_VALUE + 1L, 0L);
                    default -> Arrays.asList(interesting(r));
                };
                entry.put("shape", shape);
                how = name + ".shape = " + (shape.size() > 5 ? shape.size() + " dims" : shape);
            }
            case 2 -> {
                Object dt = List.of("F32", "F16", "BF16", "I32", "I64", "U8", "F64", "", "f32").get(r.nextInt(9));
                entry.put("dtype", r.nextInt(5) == 0 ? interesting(r) : dt);
                how = name + ".dtype = " + entry.get("dtype");
            }
            case 3 -> {
                String k = List.of("dtype", "shape", "data_offsets").get(r.nextInt(3));
                entry.remove(k);
                how = name + " without " + k;
            }
            case 4 -> {
                header.put(name, interesting(r));
                how = name + " is not an object";
            }
            case 5 -> {
                header.put(name + "#copy", new LinkedHashMap<>(entry));
                how = name + " duplicated (overlapping)";
            }
            case 6 -> {
                Object md = switch (r.nextInt(4)) {
                    case 0 -> interesting(r);
                    case 1 -> {
                        Map<String, Object> m = new LinkedHashMap<>();
                        m.put("k", interesting(r));
                        yield m;
                    }
                    case 2 -> Map.of("trady4j.run_state", "{\"epochs_done\": " + interesting(r) + "}");
                    default -> Map.of("format", "trady4j-folded", "trady4j.run_state", "[");
                };
                header.put("__metadata__", md);
                how = "__metadata__ = " + md;
            }
            case 7 -> {
                header.put(name, Map.of("dtype", "F32", "shape", List.of(2L), "data_offsets", List.of(0L, 8L)));
                how = name + " overlaps the first bytes";
            }
            case 8 -> {
                StringBuilder deep = new StringBuilder();
                int depth = 100 + r.nextInt(1000);
                deep.append("[".repeat(depth)).append("]".repeat(depth));
                String nested = json.strip();
                nested = nested.substring(0, nested.length() - 1) + ",\"deep\":" + deep + "}";
                return new Case(safetensors(nested, data), "nesting depth " + depth);
            }
            default -> {
                entry.put("extra", interesting(r));
                how = name + " with an extra field";
            }
        }
        if (header.get(name) instanceof Map<?, ?> && !how.endsWith("is not an object")) {
            header.put(name, entry);
        }
        return new Case(safetensors(Json.write(header), data), how);
    }
}
