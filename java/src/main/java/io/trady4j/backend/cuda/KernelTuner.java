package io.trady4j.backend.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Chooses an implementation per (op, shape, selection-size bucket) by measurement. On the first
 * call of a key (mode ON, not in the disk cache; or FORCE) it runs every eligible implementation on
 * that call's own arguments through the {@link Timer} (the backend's: one warm-up, the median of
 * five CUDA-event timings), keeps the fastest, and writes the choice to the disk cache. Every
 * implementation overwrites the op's outputs, so the caller then runs the winner and the step's
 * result is the winner's: tuning makes the first call of a shape slower, never different. Later
 * calls of the key cost a map lookup. A pin overrides all of it.
 *
 * <p>The disk cache is one file per (device name, driver version, library fingerprint) under the
 * cache directory; a file that cannot be read, is corrupt, or was made for another device, driver
 * or library is ignored with one warning and rewritten atomically (temporary file, then rename).
 */
final class KernelTuner {
    /** Device milliseconds of one implementation's run of {@code launch} (a fake one in tests). */
    interface Timer {
        double millis(Implementation impl, Runnable launch);
    }

    /** What the disk cache is valid for. */
    record Context(String device, int driverVersion, String library) {
    }

    record Key(CudaOp op, OpShape shape, int nselBucket) {
    }

    private static final String MAGIC = "# trady4j tuning cache v1";

    private final ImplementationTable table;
    private final TuningMode mode;
    private final Timer timer;
    private final Path cacheFile;
    private final Context context;
    private final Consumer<String> warn;
    private final Map<CudaOp, Implementation> pins = new EnumMap<>(CudaOp.class);
    private final Map<Key, TuningChoice> choices = new LinkedHashMap<>();
    private Map<Key, String> disk;
    private boolean warned;

    /** {@code cacheDir} null: no disk cache. */
    KernelTuner(ImplementationTable table, TuningMode mode, Timer timer, Path cacheDir, Context context,
                Consumer<String> warn) {
        this.table = table;
        this.mode = mode;
        this.timer = timer;
        this.context = context;
        this.warn = warn;
        this.cacheFile = cacheDir == null ? null : cacheDir.resolve("tuning-" + fingerprint(context) + ".txt");
    }

    TuningMode mode() {
        return mode;
    }

    Path cacheFile() {
        return cacheFile;
    }

    /** Selection sizes share a choice within a power-of-two bucket (1, 2, 3-4, 5-8, ...); 0 is no selection. */
    static int bucket(int nsel) {
        if (nsel <= 1) {
            return Math.max(nsel, 0);
        }
        return Integer.highestOneBit(nsel - 1) << 1;
    }

    synchronized void pin(Implementation impl) {
        pins.put(impl.op(), impl);
    }

    synchronized void unpin(CudaOp op) {
        pins.remove(op);
    }

    synchronized Optional<Implementation> pinned(CudaOp op) {
        return Optional.ofNullable(pins.get(op));
    }

    /** The choice made for this call's key, if the op was called with it. */
    synchronized Optional<TuningChoice> choice(CudaOp op, OpShape shape, int nsel) {
        return Optional.ofNullable(choices.get(new Key(op, shape, bucket(nsel))));
    }

    synchronized List<TuningChoice> choices() {
        return List.copyOf(choices.values());
    }

    /**
     * The implementation id for this call; {@code launch} runs the op's call with a given id (used
     * only while tuning). The caller runs the op with the id returned.
     */
    synchronized int choose(CudaOp op, OpShape shape, int nsel, IntConsumer launch) {
        Key key = new Key(op, shape, bucket(nsel));
        Implementation pin = pins.get(op);
        if (pin != null) {
            record(key, pin, "pinned", Map.of());
            return pin.id();
        }
        TuningChoice known = choices.get(key);
        // a bucket holds several selection sizes: a choice made at one may not serve another (decide again)
        if (known != null && !known.source().equals("pinned") && table.eligible(known.implementation(), shape, nsel)) {
            return known.implementation().id();
        }
        if (mode == TuningMode.OFF) {
            return record(key, byId(op, table.heuristic(op, shape, nsel)), "heuristic", Map.of()).id();
        }
        if (mode == TuningMode.ON) {
            Implementation cached = cached(key, shape, nsel);
            if (cached != null) {
                return record(key, cached, "cached", Map.of()).id();
            }
        }
        List<Implementation> candidates = new ArrayList<>();
        for (Implementation impl : table.implementations(op)) {
            if (table.eligible(impl, shape, nsel)) {
                candidates.add(impl);
            }
        }
        if (candidates.size() <= 1) {
            Implementation only = candidates.isEmpty() ? byId(op, table.heuristic(op, shape, nsel)) : candidates.getFirst();
            return record(key, only, "only", Map.of()).id();
        }
        Map<String, Double> millis = new LinkedHashMap<>();
        Implementation best = null;
        double bestMillis = Double.POSITIVE_INFINITY;
        for (Implementation impl : candidates) {
            double ms = timer.millis(impl, () -> launch.accept(impl.id()));
            millis.put(impl.name(), ms);
            if (ms < bestMillis) {
                bestMillis = ms;
                best = impl;
            }
        }
        if (best == null) {
            best = candidates.getFirst();  // every timing NaN: keep the table's first
        }
        record(key, best, "tuned", millis);
        disk().put(key, best.name());
        save();
        return best.id();
    }

    private Implementation record(Key key, Implementation impl, String source, Map<String, Double> millis) {
        choices.put(key, new TuningChoice(key.op(), key.shape(), key.nselBucket(), impl, source, Map.copyOf(millis)));
        return impl;
    }

    private Implementation byId(CudaOp op, int id) {
        for (Implementation impl : table.implementations(op)) {
            if (impl.id() == id) {
                return impl;
            }
        }
        throw new IllegalStateException("the library's heuristic chose implementation " + id + " of " + op
                + ", which its table does not list");
    }

    /** The disk cache's implementation for this key, if it names one that is still eligible. */
    private Implementation cached(Key key, OpShape shape, int nsel) {
        String name = disk().get(key);
        if (name == null) {
            return null;
        }
        for (Implementation impl : table.implementations(key.op())) {
            if (impl.name().equals(name) && table.eligible(impl, shape, nsel)) {
                return impl;
            }
        }
        return null;
    }

    private Map<Key, String> disk() {
        if (disk == null) {
            disk = load();
        }
        return disk;
    }

    private Map<Key, String> load() {
        Map<Key, String> entries = new LinkedHashMap<>();
        if (cacheFile == null) {
            return entries;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(cacheFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return entries;
        } catch (IOException | RuntimeException e) {
            warnOnce("ignoring the tuning cache " + cacheFile + ": cannot read it (" + e + ")");
            return entries;
        }
        List<String> header = List.of(MAGIC, "device=" + context.device(), "driver=" + context.driverVersion(),
                "library=" + context.library());
        if (lines.size() < header.size() || !lines.subList(0, header.size()).equals(header)) {
            warnOnce("ignoring the tuning cache " + cacheFile + ": it was not written for this device, driver and"
                    + " library (" + context.device() + ", driver " + context.driverVersion() + ", "
                    + context.library() + ")");
            return entries;
        }
        for (int i = header.size(); i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty()) {
                continue;
            }
            try {
                String[] f = line.split(" ");
                if (f.length != 4) {
                    throw new IllegalArgumentException("expected 'op shape bucket implementation'");
                }
                entries.put(new Key(CudaOp.valueOf(f[0]), OpShape.parse(f[1]), Integer.parseInt(f[2])), f[3]);
            } catch (RuntimeException e) {
                warnOnce("ignoring the tuning cache " + cacheFile + ": line " + (i + 1) + " is corrupt ('" + line
                        + "': " + e.getMessage() + ")");
                return new LinkedHashMap<>();
            }
        }
        return entries;
    }

    private void save() {
        if (cacheFile == null) {
            return;
        }
        StringBuilder sb = new StringBuilder();
        sb.append(MAGIC).append('\n').append("device=").append(context.device()).append('\n')
                .append("driver=").append(context.driverVersion()).append('\n')
                .append("library=").append(context.library()).append('\n');
        for (Map.Entry<Key, String> e : disk.entrySet()) {
            Key k = e.getKey();
            sb.append(k.op().name()).append(' ').append(k.shape().key()).append(' ').append(k.nselBucket())
                    .append(' ').append(e.getValue()).append('\n');
        }
        try {
            Files.createDirectories(cacheFile.getParent());
            Path tmp = Files.createTempFile(cacheFile.getParent(), cacheFile.getFileName().toString(), ".tmp");
            try {
                Files.writeString(tmp, sb, StandardCharsets.UTF_8);
                try {
                    Files.move(tmp, cacheFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, cacheFile, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException | RuntimeException e) {
            warnOnce("cannot write the tuning cache " + cacheFile + " (" + e + "); choices stay in memory");
        }
    }

    private void warnOnce(String message) {
        if (!warned) {
            warned = true;
            warn.accept("trady4j: warning: " + message);
        }
    }

    private static String fingerprint(Context c) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(
                    (c.device() + "\n" + c.driverVersion() + "\n" + c.library()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
