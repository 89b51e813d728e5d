package io.trady4j.bench;

import io.trady4j.backend.Activation;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.backend.cuda.CudaOp;
import io.trady4j.backend.cuda.Implementation;
import io.trady4j.backend.cuda.OpShape;
import io.trady4j.backend.cuda.TuningChoice;
import io.trady4j.cli.UsageException;
import io.trady4j.io.AtomicFiles;
import io.trady4j.io.Json;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The GPU kernel sweep (issue 11 §3, stage 3): every implementation of conv2d_forward, conv2d_gather,
 * conv2d_dx and conv2d_dw_sparse that is eligible for a shape, pinned one at a time
 * ({@link CudaBackend#pin}), on each layer shape of {@code bench/model/shapes.json} and, for the
 * selective ops, at each density (|S| = max(1, round(d·C)) input channels). One row per
 * (layer, op, implementation, density) with the median time (CUDA events, L2 flushed before each
 * call), the analytic FLOPs and fewest bytes, and the relative difference of its output to the
 * first implementation's (v1_naive), so a fast but wrong kernel shows. Then, with nothing pinned,
 * one call per (layer, op, density) lets the autotuner choose; its table is written under
 * {@code tuning} and each row names the tuner's choice and the sweep's fastest.
 *
 * <pre>TRADY4J_MATH=tf32 java --enable-native-access=ALL-UNNAMED -Dtrady4j.tune=force -cp JARS \
 *     io.trady4j.bench.KernelSweep --out sweep-ours.json</pre>
 *
 * The JSON is rewritten after every shape ({@code "finished": false} until the end), so a run
 * cut short keeps what it measured; no shape is started after --max-seconds (those are listed under
 * {@code shapes_not_measured}). Exit status 0 when every row that ran agreed with its reference, 1
 * otherwise, 2 for bad arguments, 3 without CUDA.
 */
public final class KernelSweep {
    /** Largest relative difference to the reference output an fp32 implementation may show. */
    static final double FP32_TOLERANCE = 1e-4;
    /** The same for TF32 implementations (10-bit mantissa inputs, fp32 accumulation). */
    static final double TF32_TOLERANCE = 5e-3;

    private final CudaBackend cuda;
    private final CallTimer timer;
    private final KernelSweepOptions options;

    KernelSweep(CudaBackend cuda, CallTimer timer, KernelSweepOptions options) {
        this.cuda = cuda;
        this.timer = timer;
        this.options = options;
    }

    public static void main(String[] args) {
        KernelSweepOptions options;
        List<SweepShape> shapes;
        try {
            options = KernelSweepOptions.parse(args);
            shapes = SweepShape.read(options.shapes()).stream().filter(options::wants).toList();
            if (shapes.isEmpty()) {
                throw new IllegalArgumentException("no layer of " + options.shapes() + " starts with any of "
                        + options.layerPrefixes());
            }
        } catch (IllegalArgumentException | UsageException e) {
            System.err.println("KernelSweep: " + e.getMessage());
            System.exit(2);
            return;
        }
        boolean clean;
        try (CudaBackend cuda = CudaBackend.open();
             CallTimer timer = new CudaEventCallTimer(cuda, (long) options.flushMiB() << 20)) {
            clean = new KernelSweep(cuda, timer, options).run(shapes, String.join(" ", args));
        } catch (BackendUnavailableException e) {
            System.err.println("KernelSweep: the CUDA backend is not available here: " + e.getMessage());
            System.exit(3);
            return;
        }
        System.exit(clean ? 0 : 1);
    }

    /** Sweeps the shapes (each shrunk as the options say) and writes the JSON; false if a row failed or disagreed. */
    boolean run(List<SweepShape> shapes, String commandLine) {
        long started = System.nanoTime();
        Map<String, Object> result = header(commandLine, shapes.size());
        List<Object> rows = new ArrayList<>();
        List<Object> notEligible = new ArrayList<>();
        List<String> notMeasured = new ArrayList<>();
        result.put("rows", rows);
        result.put("not_eligible", notEligible);
        result.put("shapes_not_measured", notMeasured);
        boolean clean = true;
        for (int i = 0; i < shapes.size(); i++) {
            SweepShape shape = shapes.get(i).shrunk(options.batch(), options.maxSize());
            if (seconds(started) > options.maxSeconds()) {
                notMeasured.add(shape.layer());
                continue;
            }
            int before = rows.size();
            try {
                clean &= measure(shape, rows, notEligible);
            } catch (RuntimeException e) {
                clean = false;
                Map<String, Object> row = new LinkedHashMap<>(shape.toJson());
                row.put("error", e.toString());
                rows.add(row);
            }
            System.err.println(progress(i + 1, shapes.size(), shape, rows.subList(before, rows.size()), seconds(started)));
            result.put("wall_seconds", seconds(started));
            write(result);
        }
        if (!notMeasured.isEmpty()) {
            System.err.printf(Locale.ROOT, "time budget of %.0f s used up: %d shape(s) not measured: %s%n",
                    options.maxSeconds(), notMeasured.size(), String.join(", ", notMeasured));
        }
        result.put("wall_seconds", seconds(started));
        result.put("finished", true);
        write(result);
        return clean;
    }

    /** Every (op, density, implementation) row of one shape; false if one failed or disagreed. */
    private boolean measure(SweepShape shape, List<Object> rows, List<Object> notEligible) {
        Conv2dSpec spec = shape.spec();
        ConvCost cost = new ConvCost(shape.asLayer(), shape.batch());
        int b = shape.batch();
        int c = shape.inChannels();
        int ho = shape.outHeight();
        int wo = shape.outWidth();
        Map<Double, int[]> selections = ChannelSelections.forLayer(shape.layer(), c, options.densities(), options.seed());
        SplittableRandom rnd = new SplittableRandom(options.seed() * 31 + shape.layer().hashCode());
        boolean clean = true;
        try (Tensor x = uniform(rnd, b, c, shape.height(), shape.width());
             Tensor w = uniform(rnd, spec.weightShape().dims());
             Tensor dy = uniform(rnd, b, shape.outChannels(), ho, wo);
             Tensor y = cuda.allocate(Shape.of(b, shape.outChannels(), ho, wo), MemoryCategory.WORKSPACE);
             Tensor dx = cuda.allocate(Shape.of(b, c, shape.height(), shape.width()), MemoryCategory.GRADIENT_PATH)) {
            for (SweepOp op : options.ops()) {
                if (!op.selective()) {
                    Runnable call = op == SweepOp.CONV2D_FORWARD
                            ? () -> cuda.conv2d(x, w, null, spec, Activation.NONE, y)
                            : () -> cuda.conv2dDx(dy, w, spec, dx);
                    long flops = op == SweepOp.CONV2D_FORWARD ? cost.forwardFlops() : cost.inputGradFlops();
                    long bytes = op == SweepOp.CONV2D_FORWARD ? cost.forwardBytes() : cost.inputGradBytes();
                    clean &= measureOp(new Case(shape, op, 1.0, c, 0), call, op == SweepOp.CONV2D_FORWARD ? y : dx,
                            flops, bytes, rows, notEligible);
                    continue;
                }
                for (Map.Entry<Double, int[]> e : selections.entrySet()) {
                    int n = e.getValue().length;
                    try (ChannelIndex sel = cuda.channelIndex(e.getValue(), c);
                         Tensor xSel = cuda.allocate(Shape.of(b, n, shape.height(), shape.width()),
                                 MemoryCategory.ACTIVATION_CACHE);
                         Tensor dwSel = cuda.allocate(spec.sparseWeightGradShape(n), MemoryCategory.WEIGHT_GRADIENT)) {
                        Case k = new Case(shape, op, e.getKey(), n, n);
                        if (op == SweepOp.CONV2D_GATHER) {
                            clean &= measureOp(k, () -> cuda.conv2dGather(x, w, null, spec, Activation.NONE, sel, y, xSel),
                                    y, cost.forwardFlops(), cost.gatherForwardBytes(n), rows, notEligible);
                        } else {
                            cuda.gatherChannels(x, sel, xSel);  // the cache the forward would have written, untimed
                            clean &= measureOp(k, () -> cuda.conv2dDwSparse(xSel, dy, sel, spec, dwSel), dwSel,
                                    cost.sparseWeightGradFlops(n), cost.sparseWeightGradBytes(n), rows, notEligible);
                        }
                    }
                }
            }
        }
        return clean;
    }

    /** One (shape, op, density): {@code selected} channels, {@code nsel} the selection size the tables see (0: none). */
    private record Case(SweepShape shape, SweepOp op, double density, int selected, int nsel) {
        OpShape opShape() {
            return new OpShape(shape.batch(), shape.inChannels(), shape.height(), shape.width(), shape.outChannels(),
                    shape.outHeight(), shape.outWidth(), shape.kernel(), shape.stride(), shape.padding(), 1,
                    shape.groups());
        }
    }

    private boolean measureOp(Case k, Runnable call, Tensor output, long flops, long bytes, List<Object> rows,
                              List<Object> notEligible) {
        CudaOp table = k.op().table();
        OpShape opShape = k.opShape();
        boolean clean = true;
        float[] reference = null;
        String referenceName = null;
        List<Map<String, Object>> group = new ArrayList<>();
        for (Implementation impl : cuda.implementations(table)) {
            if (!cuda.eligible(impl, opShape, k.nsel())) {
                notEligible.add(k.shape().layer() + " " + k.op().abiName() + " " + impl.name() + " @"
                        + LayerMeasurement.densityKey(k.density()));
                continue;
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("layer", k.shape().layer());
            row.put("network", k.shape().network());
            row.put("op", k.op().abiName());
            row.put("implementation", impl.name());
            row.put("implementation_id", impl.id());
            row.put("density", k.density());
            row.put("selected", k.selected());
            row.put("batch", k.shape().batch());
            row.put("height", k.shape().height());
            row.put("width", k.shape().width());
            row.put("math", isTf32(impl) ? "tf32" : "fp32");
            cuda.pin(table, impl.name());
            try {
                Repetitions.Timing t = options.repetitions().time(timer, call);
                float[] got = cuda.toFloatArray(output);
                row.put("median_ms", t.medianMillis());
                row.put("min_ms", t.minMillis());
                row.put("reps", t.reps());
                row.put("flops", flops);
                row.put("bytes", bytes);
                row.put("tflops", flops / (t.medianMillis() * 1e9));
                row.put("gbps", bytes / (t.medianMillis() * 1e6));
                double diff;
                if (reference == null) {
                    reference = got;
                    referenceName = impl.name();
                    diff = allFinite(got) ? 0 : Double.NaN;
                } else {
                    diff = relativeDifference(got, reference);
                }
                boolean agrees = diff <= (isTf32(impl) ? TF32_TOLERANCE : FP32_TOLERANCE);
                row.put("reference", referenceName);
                row.put("rel_diff", Double.isFinite(diff) ? diff : null);
                row.put("agrees", agrees);
                clean &= agrees;
            } catch (RuntimeException e) {
                row.put("error", e.toString());
                clean = false;
            } finally {
                cuda.unpin(table);
            }
            rows.add(row);
            group.add(row);
        }
        recordTunerChoice(k, call, opShape, group);
        return clean;
    }

    /** With nothing pinned, one call: the autotuner chooses (or takes its cache / heuristic) for this key. */
    private void recordTunerChoice(Case k, Runnable call, OpShape opShape, List<Map<String, Object>> group) {
        String fastest = group.stream().filter(r -> r.get("median_ms") instanceof Double)
                .min((p, q) -> Double.compare((Double) p.get("median_ms"), (Double) q.get("median_ms")))
                .map(r -> (String) r.get("implementation")).orElse(null);
        String chosen;
        String source;
        try {
            call.run();
            cuda.synchronize();
            Optional<TuningChoice> choice = cuda.chosenImplementation(k.op().table(), opShape, k.nsel());
            chosen = choice.map(ch -> ch.implementation().name()).orElse(null);
            source = choice.map(TuningChoice::source).orElse("none");
        } catch (RuntimeException e) {
            chosen = null;
            source = "error: " + e;
        }
        for (Map<String, Object> r : group) {
            r.put("fastest", fastest);
            r.put("autotuner_choice", chosen);
            r.put("autotuner_source", source);
        }
    }

    private static boolean isTf32(Implementation impl) {
        return impl.name().contains("tf32");
    }

    private static boolean allFinite(float[] a) {
        for (float v : a) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    /** ‖a − ref‖ / ‖ref‖ (‖a − ref‖ when ref is zero); NaN if a holds a non-finite value. */
    static double relativeDifference(float[] a, float[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) {
                return Double.NaN;
            }
            double d = (double) a[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    private Map<String, Object> header(String commandLine, int shapeCount) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("tool", KernelSweep.class.getName());
        h.put("command", commandLine);
        h.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        h.put("device", cuda.deviceDescription());
        h.put("versions", cuda.versions());
        h.put("java", System.getProperty("java.vm.name") + " " + Runtime.version());
        h.put("shapes_file", options.shapes().toString());
        h.put("shapes", shapeCount);
        h.put("batch_override", options.batch());
        h.put("max_size", options.maxSize());
        h.put("ops", options.ops().stream().map(SweepOp::abiName).toList());
        h.put("densities", options.densities());
        Map<String, Object> tables = new LinkedHashMap<>();
        for (SweepOp op : options.ops()) {
            tables.put(op.abiName(), cuda.implementations(op.table()).stream().map(Implementation::name).toList());
        }
        h.put("implementations", tables);
        String math = System.getenv("TRADY4J_MATH");
        h.put("trady4j_math", math == null ? "" : math);
        h.put("tuning_mode", cuda.tuningMode().name().toLowerCase(Locale.ROOT));
        h.put("tuning_cache", String.valueOf(cuda.tuningCacheFile()));
        h.put("selection", "|S| = max(1, round(d*C)) input channels from one random permutation per layer (fixed "
                + "seed), sorted; forward and dx rows use every channel and carry density 1.0");
        h.put("flops", "2 per multiply-add (bench ConvCost); tflops = flops / median time");
        h.put("bytes", "fewest bytes through device memory: each float32 input read once, each output written once; "
                + "gbps = bytes / median time");
        h.put("check", "rel_diff = |out - ref| / |ref| against the first eligible implementation (v1_naive) on the same "
                + "inputs; agrees when <= " + FP32_TOLERANCE + " (fp32) or " + TF32_TOLERANCE + " (tf32)");
        Repetitions r = options.repetitions();
        Map<String, Object> timing = new LinkedHashMap<>();
        timing.put("method", timer.method());
        timing.put("warmup_calls", r.warmup());
        timing.put("min_reps", r.minReps());
        timing.put("max_reps", r.maxReps());
        timing.put("target_ms", r.targetMillis());
        timing.put("statistic", "median (median_ms) and minimum (min_ms) of the timed calls");
        h.put("timing", timing);
        h.put("max_seconds", options.maxSeconds());
        h.put("finished", false);
        return h;
    }

    @SuppressWarnings("unchecked")
    private static String progress(int index, int total, SweepShape shape, List<Object> rows, double elapsed) {
        Map<String, Double> best = new LinkedHashMap<>();
        Map<String, String> bestName = new LinkedHashMap<>();
        int failed = 0;
        for (Object o : rows) {
            Map<String, Object> r = (Map<String, Object>) o;
            if (!(r.get("median_ms") instanceof Double ms) || Boolean.FALSE.equals(r.get("agrees"))) {
                failed++;
                continue;
            }
            String key = r.get("op") + "@" + r.get("density");
            if (!best.containsKey(key) || ms < best.get(key)) {
                best.put(key, ms);
                bestName.put(key, (String) r.get("implementation"));
            }
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "[%2d/%d] %-28s B=%-4d %dx%d: %d rows%s;",
                index, total, shape.layer(), shape.batch(), shape.height(), shape.width(), rows.size(),
                failed > 0 ? ", " + failed + " FAILED or disagreeing" : ""));
        best.forEach((key, ms) -> sb.append(String.format(Locale.ROOT, " %s %s %.4f ms", key, bestName.get(key), ms)));
        return sb.append(String.format(Locale.ROOT, " (%.1f s)", elapsed)).toString();
    }

    private static double seconds(long startedNanos) {
        return (System.nanoTime() - startedNanos) / 1e9;
    }

    private void write(Map<String, Object> result) {
        result.put("tuning", TuningRecord.of(cuda));
        try {
            AtomicFiles.writeString(options.out(), Json.writePretty(result));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + options.out(), e);
        }
    }

    private Tensor uniform(SplittableRandom rnd, int... dims) {
        Shape shape = Shape.of(dims);
        float[] a = new float[shape.numel()];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() * 2f - 1f;
        }
        return cuda.upload(a, shape, MemoryCategory.DATA);
    }
}
