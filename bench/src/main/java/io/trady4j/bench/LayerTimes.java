package io.trady4j.bench;

import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.Backends;
import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.io.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Per-layer times of our conv kernels, the "ours" half of the GPU benchmark (issue 5, items 1, 2
 * and 4): for every conv shape of {@link Layers#all()} and each batch size, the plain forward, the
 * gather-fused forward and the sparse weight gradient at each density (1 = dense), and the input
 * gradient, with their analytic FLOPs and bytes (see {@link LayerMeasurement}). The selections are
 * written into the JSON so that bench/gpu/torch_layers.py times PyTorch on the same channels.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp JARS io.trady4j.bench.LayerTimes --backend cuda \
 *     --batch 32,128 --out ours.json --max-seconds 240</pre>
 *
 * Progress goes to stderr, one line per layer and batch; the JSON is rewritten after every layer
 * ({@code "finished": false} until the end), so a run cut short still leaves its results. Layers
 * are started only while less than --max-seconds have passed; the rest are listed as not measured.
 */
public final class LayerTimes {
    private final Backend backend;
    private final CallTimer timer;
    private final LayerTimesOptions options;

    LayerTimes(Backend backend, CallTimer timer, LayerTimesOptions options) {
        this.backend = backend;
        this.timer = timer;
        this.options = options;
    }

    public static void main(String[] args) {
        LayerTimesOptions options;
        try {
            options = LayerTimesOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        boolean clean;
        try (Backend backend = Backends.open(options.backend());
             CallTimer timer = timerFor(backend, options)) {
            clean = new LayerTimes(backend, timer, options).run(String.join(" ", args));
        } catch (BackendUnavailableException e) {
            System.err.println("LayerTimes: the " + options.backend() + " backend is not available here: " + e.getMessage());
            System.exit(3);
            return;
        } catch (IllegalArgumentException e) {
            System.err.println("LayerTimes: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(clean ? 0 : 1);
    }

    static CallTimer timerFor(Backend backend, LayerTimesOptions options) {
        return backend instanceof CudaBackend cuda
                ? new CudaEventCallTimer(cuda, (long) options.flushMiB() << 20)
                : new WallClockCallTimer(backend);
    }

    /** Measures the selected layers and writes the JSON; false if a layer failed. */
    boolean run(String commandLine) {
        long started = System.nanoTime();
        List<Layers.Layer> layers = Layers.all().stream().filter(options::wants).toList();
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("no layer starts with any of " + options.layerPrefixes());
        }
        Map<String, Object> result = header(commandLine);
        List<Object> measured = new ArrayList<>();
        List<String> notMeasured = new ArrayList<>();
        result.put("layers", measured);
        result.put("layers_not_measured", notMeasured);
        LayerMeasurement measurement = new LayerMeasurement(backend, timer, options.repetitions());
        if (options.hostWarmupCalls() > 0) {
            Layers.Layer first = layers.get(0);
            int[] smallest = ChannelSelections.forLayer(first.name(), first.in(), options.densities(), options.seed())
                    .get(options.densities().get(0));
            measurement.warmUpHost(first, smallest, options.hostWarmupCalls());
        }
        boolean clean = true;
        for (int i = 0; i < layers.size(); i++) {
            Layers.Layer layer = layers.get(i);
            double elapsed = seconds(started);
            if (elapsed > options.maxSeconds()) {
                notMeasured.add(layer.name());
                continue;
            }
            Map<String, Object> row = layerRow(layer);
            Map<Double, int[]> selections = ChannelSelections.forLayer(layer.name(), layer.in(), options.densities(),
                    options.seed());
            Map<String, Object> selectionJson = new LinkedHashMap<>();
            selections.forEach((d, s) -> selectionJson.put(LayerMeasurement.densityKey(d), s));
            row.put("selections", selectionJson);
            List<Object> runs = new ArrayList<>();
            row.put("runs", runs);
            measured.add(row);
            try {
                for (int batch : options.batches()) {
                    Map<String, Object> run = measurement.measure(layer, batch, selections, options.seed());
                    runs.add(run);
                    System.err.println(progress(i + 1, layers.size(), layer, run, seconds(started)));
                }
            } catch (RuntimeException e) {
                clean = false;
                row.put("error", e.toString());
                System.err.printf(Locale.ROOT, "[%2d/%d] %s FAILED: %s%n", i + 1, layers.size(), layer.name(), e);
            }
            result.put("wall_seconds", seconds(started));
            write(result);
        }
        if (!notMeasured.isEmpty()) {
            System.err.printf(Locale.ROOT, "time budget of %.0f s used up: %d layer(s) not measured: %s%n",
                    options.maxSeconds(), notMeasured.size(), String.join(", ", notMeasured));
        }
        result.put("stopped_early", !notMeasured.isEmpty());
        result.put("wall_seconds", seconds(started));
        result.put("finished", true);
        write(result);
        return clean;
    }

    private Map<String, Object> header(String commandLine) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("tool", LayerTimes.class.getName());
        h.put("command", commandLine);
        h.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        h.put("backend", backend.name());
        h.put("device", backend.deviceDescription());
        if (backend instanceof CudaBackend cuda) {
            h.put("versions", described(cuda::versions));
            h.put("kernel_version", described(() -> String.valueOf(CudaBackend.kernelVersion())));
        }
        h.put("java", System.getProperty("java.vm.name") + " " + Runtime.version());
        h.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        h.put("host_cpus", Runtime.getRuntime().availableProcessors());
        Map<String, Object> shapes = new LinkedHashMap<>();
        shapes.put("mbv2", Layers.mbv2().size());
        shapes.put("resnet18", Layers.resnet18().size());
        h.put("network_layer_shapes", shapes);
        h.put("batches", options.batches());
        h.put("densities", options.densities());
        h.put("seed", options.seed());
        h.put("selection", "|S| = max(1, round(d*C)) input channels, uniformly at random with a fixed seed (one random "
                + "permutation per layer, so lower densities select subsets of higher ones), sorted; the same channels "
                + "at every batch size; listed per layer under 'selections'");
        h.put("forward", "conv2d without bias or activation");
        h.put("gather", "conv2dGather: the same forward, also writing x[:, S] (cache_bytes) in the same pass");
        h.put("dense_dw", "density 1.0: conv2dDwSparse with S = all C channels (the same kernel; the backends have "
                + "no separate dense weight-gradient path)");
        h.put("sparse_dw_input", "conv2dDwSparse on the x[:, S] written by the gather-fused forward at that density");
        h.put("flops", "2 per multiply-add. forward, dense dW and dx: 2*B*C'*(C/g)*D^2*H'*W'; sparse dW: "
                + "2*B*(C'/g)*|S|*D^2*H'*W'. tflops = flops / median time");
        h.put("bytes", "fewest bytes through device memory: each float32 input read once, each output written once");
        Repetitions r = options.repetitions();
        Map<String, Object> timing = new LinkedHashMap<>();
        timing.put("method", timer.method());
        timing.put("warmup_calls", r.warmup());
        timing.put("min_reps", r.minReps());
        timing.put("max_reps", r.maxReps());
        timing.put("target_ms", r.targetMillis());
        timing.put("reps_rule", "timed calls = target_ms / (time of the last warm-up call), within [min_reps, max_reps]");
        timing.put("statistic", "median (ms) and minimum (min_ms) of the timed calls");
        timing.put("host_warmup_calls", options.hostWarmupCalls());
        h.put("timing", timing);
        h.put("max_seconds", options.maxSeconds());
        h.put("finished", false);
        return h;
    }

    /** A description for the header; a failure to read it must not cost the measurements. */
    private static String described(Supplier<String> what) {
        try {
            return what.get();
        } catch (RuntimeException e) {
            return "unavailable: " + e;
        }
    }

    private static Map<String, Object> layerRow(Layers.Layer l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", l.name());
        m.put("net", l.net());
        m.put("in", l.in());
        m.put("out", l.out());
        m.put("kernel", l.kernel());
        m.put("stride", l.stride());
        m.put("padding", l.padding());
        m.put("groups", l.groups());
        m.put("size", l.size());
        m.put("out_size", l.outSize());
        m.put("count", l.count());
        m.put("macs_per_sample", l.macsPerSample());
        m.put("members", l.members());
        return m;
    }

    @SuppressWarnings("unchecked")
    private static String progress(int index, int total, Layers.Layer layer, Map<String, Object> run, double elapsed) {
        Map<String, Object> dw = (Map<String, Object>) run.get("dw");
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "[%2d/%d] %-28s B=%-4s fwd %8.4f ms  dW", index,
                total, layer.name(), run.get("batch"), ms(run.get("forward"))));
        dw.forEach((d, v) -> sb.append(String.format(Locale.ROOT, " %s:%.4f", d, ms(v))));
        sb.append(String.format(Locale.ROOT, "  dx %8.4f ms  (%.1f s)", ms(run.get("dx")), elapsed));
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    private static double ms(Object entry) {
        return (Double) ((Map<String, Object>) entry).get("ms");
    }

    private static double seconds(long startedNanos) {
        return (System.nanoTime() - startedNanos) / 1e9;
    }

    private void write(Map<String, Object> result) {
        result.put("implementations", TuningRecord.of(backend));
        try {
            Path parent = options.out().toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            // Written aside and renamed, so that a run killed mid-write still leaves the previous layers' JSON.
            Path partial = options.out().resolveSibling(options.out().getFileName() + ".partial");
            Files.writeString(partial, Json.writePretty(result));
            Files.move(partial, options.out(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + options.out(), e);
        }
    }
}
