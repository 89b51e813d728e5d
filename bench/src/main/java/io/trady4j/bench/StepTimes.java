package io.trady4j.bench;

import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.Backends;
import io.trady4j.backend.SgdStep;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.cli.Args;
import io.trady4j.cli.UsageException;
import io.trady4j.io.AtomicFiles;
import io.trady4j.io.Json;
import io.trady4j.models.ModelZoo;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.Gradients;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.nn.Selection;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import io.trady4j.trady.ChannelSignals;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.LayerRanking;
import io.trady4j.trady.SelectionMetrics;
import io.trady4j.trady.SelectionProblem;
import io.trady4j.trady.Strategies;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Issue 5, item 3: one training step end to end on a trady4j backend at the paper's MobileNetV2 budgets
 * and at full fine-tuning. Per (budget, batch): for each of {@code --epochs} TraDy selections (one per
 * epoch, as the schedule redraws them), warm-up steps then timed steps (forward, backward under the
 * selection, loss read back, SGD on the selected slices and the classifier), and the peak of the memory
 * the backend held during the timed steps. The weights are a seeded initialisation that keeps activations
 * at unit scale ({@link HostWeights#randomWithoutBatchNorm}), so losses and gradients are not trivial. Also writes what bench/step/torch_step.py needs to run the
 * same steps in PyTorch: the architecture, the selections, and the initial weights.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.trady4j.bench.StepTimes --ranking FILE --out DIR
 * [--backend cpu|cuda] [--threads 1] [--model mbv2-w0.35] [--classes 10] [--resolution 128]
 * [--batches 32,128] [--budgets 27946,66592,93696,full] [--epochs 3] [--warmup 2] [--steps 5]
 * [--learning-rate 0.01] [--seed 0]}
 */
public final class StepTimes {
    /** The paper's MobileNetV2 budgets (TRADY.md §6), in units of 4 bytes. */
    static final String PAPER_BUDGETS = "27946,66592,93696,full";

    private StepTimes() {
    }

    public static void main(String[] argv) throws IOException {
        try {
            run(Args.parse(List.of(argv)));
        } catch (UsageException | IllegalArgumentException e) {
            System.err.println("StepTimes: " + e.getMessage());
            System.exit(2);
        } catch (BackendUnavailableException e) {
            System.err.println("StepTimes: backend not available: " + e.getMessage());
            System.exit(3);
        }
    }

    static void run(Args a) throws IOException {
        String backendName = a.string("backend", "cpu");
        int threads = a.integer("threads", 1);
        String model = a.string("model", "mbv2-w0.35");
        int classes = a.integer("classes", 10);
        int resolution = a.integer("resolution", 128);
        int[] batches = ints(a.string("batches", "32,128"), "batches");
        List<String> budgets = List.of(a.string("budgets", PAPER_BUDGETS).split(","));
        int epochs = a.integer("epochs", 3);
        int warmup = a.integer("warmup", 2);
        int steps = a.integer("steps", 5);
        double lr = a.real("learning-rate", 0.01);
        long seed = a.longValue("seed", 0);
        Path rankingFile = Path.of(a.required("ranking"));
        Path out = Path.of(a.required("out"));
        a.finish();
        if (epochs < 1 || steps < 1 || warmup < 0 || threads < 1) {
            throw new IllegalArgumentException("--epochs, --steps and --threads must be >= 1 and --warmup >= 0");
        }

        Architecture arch = ModelZoo.build(model, classes);
        CostModel cost = CostModel.of(arch, resolution);
        LayerRanking ranking = LayerRanking.load(rankingFile);
        List<Integer> top = io.trady4j.train.Experiment.topLayers(arch, ranking);
        HostWeights weights = HostWeights.randomWithoutBatchNorm(arch, seed);
        Files.createDirectories(out);
        weights.save(out.resolve("weights.safetensors"));

        List<Map<String, Object>> plans = new ArrayList<>();
        for (String budget : budgets) {
            plans.add(plan(arch, cost, top, budget.trim(), epochs, seed));
        }
        Map<String, Object> planJson = new LinkedHashMap<>();
        planJson.put("model", model);
        planJson.put("classes", classes);
        planJson.put("resolution", resolution);
        planJson.put("batches", Arrays.stream(batches).boxed().toList());
        planJson.put("epochs", epochs);
        planJson.put("warmup_steps", warmup);
        planJson.put("timed_steps", steps);
        planJson.put("learning_rate", lr);
        planJson.put("input", "x[i] = 2*frac(i*0.6180339887498949) - 1 over the flat [B,C,H,W] index (float64, then float32);"
                + " label[b] = (7*b) % classes");
        planJson.put("ranking", Map.of("file", rankingFile.toString(), "architecture", ranking.architecture(),
                "task", ranking.task(), "resolution", ranking.resolution(), "top_k_97", top));
        planJson.put("forward_flops_per_sample", 2 * cost.totalDwMacs());
        planJson.put("architecture", ArchitectureJson.of(arch));
        planJson.put("budgets", plans);
        AtomicFiles.writeString(out.resolve("plan.json"), Json.writePretty(planJson));

        try (Backend backend = open(backendName, threads)) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("backend", backend.name());
            result.put("device", backend instanceof CudaBackend c ? c.deviceDescription() : cpuDescription(backend));
            result.put("threads", backend instanceof CudaBackend ? null : threads);
            result.put("jdk", System.getProperty("java.vm.name") + " " + Runtime.version());
            result.put("timer", timerNote(backend, threads));
            List<Object> rows = new ArrayList<>();
            for (int batch : batches) {
                for (Map<String, Object> plan : plans) {
                    rows.add(measure(backend, arch, weights, plan, batch, resolution, classes, warmup, steps, lr, threads));
                }
            }
            result.put("runs", rows);
            result.put("implementations", TuningRecord.of(backend));
            AtomicFiles.writeString(out.resolve("trady4j.json"), Json.writePretty(result));
        }
        System.err.println("StepTimes: wrote " + out.resolve("plan.json") + " and " + out.resolve("trady4j.json"));
    }

    private static Map<String, Object> plan(Architecture arch, CostModel cost, List<Integer> top, String budget, int epochs,
                                            long seed) {
        boolean full = budget.equals("full");
        long units;
        try {
            units = full ? cost.totalUnits() : Long.parseLong(budget);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a budget is a number of units or 'full', got '" + budget + "'");
        }
        var strategy = Strategies.byName(full ? "full" : "trady");
        int[] channels = arch.convLayers().stream().mapToInt(l -> l.conv().inChannels()).toArray();
        long[] perChannel = cost.layers().stream().mapToLong(CostModel.LayerCost::spaceUnitsPerChannel).toArray();
        SelectionProblem problem = new SelectionProblem(channels, perChannel, full ? 0 : units, top, seed);
        List<Object> selections = new ArrayList<>();
        for (int e = 0; e < epochs; e++) {
            Map<Integer, int[]> chosen = strategy.select(problem, e, ChannelSignals.NONE);
            SelectionMetrics m = SelectionMetrics.of(cost, chosen, units);
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("epoch", e);
            s.put("units", m.selectedUnits());
            s.put("trained_layers", m.trainedLayers());
            s.put("selected_channels", m.selectedChannels());
            s.put("deepest_trained_layer", chosen.keySet().stream().mapToInt(Integer::intValue).min().orElse(-1));
            s.put("dw_flops_per_sample", m.dwFlops());
            s.put("full_dw_flops_per_sample", m.fullDwFlops());
            s.put("gradient_path_flops_per_sample", m.gradientPathFlops());
            s.put("full_gradient_path_flops_per_sample", m.fullGradientPathFlops());
            Map<String, Object> layers = new LinkedHashMap<>();
            chosen.forEach((layer, ch) -> layers.put(Integer.toString(layer),
                    Arrays.stream(ch).boxed().toList()));
            s.put("channels", layers);
            selections.add(s);
        }
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("budget", full ? "full" : units);
        p.put("strategy", strategy.name());
        p.put("selections", selections);
        return p;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> measure(Backend backend, Architecture arch, HostWeights weights, Map<String, Object> plan,
                                               int batch, int resolution, int classes, int warmup, int steps, double lr,
                                               int threads) {
        Shape xShape = Shape.of(batch, arch.inChannels(), resolution, resolution);
        int[] labels = new int[batch];
        for (int b = 0; b < batch; b++) {
            labels[b] = (7 * b) % classes;
        }
        SgdStep sgd = new SgdStep((float) lr, 0f, 0f);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("budget", plan.get("budget"));
        row.put("batch", batch);
        List<Object> perEpoch = new ArrayList<>();
        List<Double> allMs = new ArrayList<>();
        long peak = 0;
        Map<MemoryCategory, Long> peakByCategory = new LinkedHashMap<>();
        long reservedPeak = 0;
        for (Object o : (List<Object>) plan.get("selections")) {
            Map<String, Object> sel = (Map<String, Object>) o;
            Map<Integer, int[]> chosen = new LinkedHashMap<>();
            ((Map<String, Object>) sel.get("channels")).forEach((k, v) -> chosen.put(Integer.parseInt(k),
                    ((List<?>) v).stream().mapToInt(x -> ((Number) x).intValue()).toArray()));
            long t0 = System.nanoTime();
            try (Network net = Network.create(backend, arch, weights.parameters());
                 Tensor x = backend.upload(input(xShape), xShape, MemoryCategory.DATA);
                 Tensor y = backend.uploadInts(labels, Shape.of(batch), MemoryCategory.DATA);
                 Selection selection = Selection.of(backend, arch, chosen)) {
                List<Float> losses = new ArrayList<>();
                for (int i = 0; i < warmup; i++) {
                    losses.add(step(backend, net, x, y, selection, sgd));
                }
                backend.synchronize();
                backend.memory().resetPeaks();
                if (backend instanceof CudaBackend c) {
                    c.resetReservedPeak();
                }
                long live = backend.memory().liveBytes();
                double[] ms = new double[steps];
                for (int i = 0; i < steps; i++) {
                    float[] loss = new float[1];
                    ms[i] = timed(backend, threads, () -> loss[0] = step(backend, net, x, y, selection, sgd));
                    losses.add(loss[0]);
                    allMs.add(ms[i]);
                }
                peak = Math.max(peak, backend.memory().peakBytes());
                backend.memory().peakByCategory().forEach((k, v) -> peakByCategory.merge(k, v, Math::max));
                if (backend instanceof CudaBackend c) {
                    reservedPeak = Math.max(reservedPeak, c.peakReservedBytes());
                }
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("epoch", sel.get("epoch"));
                e.put("losses", losses);
                e.put("step_ms", Arrays.stream(ms).boxed().toList());
                e.put("median_ms", median(ms));
                e.put("live_bytes_before_steps", live);
                perEpoch.add(e);
            }
            System.err.printf(Locale.ROOT, "StepTimes: budget %s batch %d epoch %s: median %.1f ms (%.1f s with set-up)%n",
                    plan.get("budget"), batch, sel.get("epoch"), median(allMs.subList(allMs.size() - steps, allMs.size())
                            .stream().mapToDouble(Double::doubleValue).toArray()), (System.nanoTime() - t0) / 1e9);
        }
        row.put("epochs", perEpoch);
        row.put("median_ms", median(allMs.stream().mapToDouble(Double::doubleValue).toArray()));
        row.put("peak_bytes", peak);
        Map<String, Object> cats = new LinkedHashMap<>();
        peakByCategory.forEach((k, v) -> cats.put(k.name().toLowerCase(Locale.ROOT), v));
        row.put("peak_bytes_by_category", cats);
        if (backend instanceof CudaBackend) {
            row.put("peak_reserved_bytes", reservedPeak);
        }
        return row;
    }

    private static float step(Backend backend, Network net, Tensor x, Tensor y, Selection selection, SgdStep sgd) {
        float[] stats = new float[2];
        try (Gradients g = net.forwardBackward(x, y, selection)) {
            backend.download(g.stats(), stats);
            if (!Float.isFinite(stats[0])) {
                throw new IllegalStateException("the benchmark's loss became " + stats[0]);
            }
            net.applySgd(g, selection, sgd, sgd, null);
        }
        return stats[0];
    }

    /** Milliseconds of one step: thread CPU time on a 1-thread CPU backend (it runs on this thread), else wall time. */
    private static double timed(Backend backend, int threads, Runnable work) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        boolean cpuTime = backend instanceof CpuBackend && threads == 1 && mx.isCurrentThreadCpuTimeSupported();
        long c0 = cpuTime ? mx.getCurrentThreadCpuTime() : 0, t0 = System.nanoTime();
        work.run();
        backend.synchronize();
        return ((cpuTime ? mx.getCurrentThreadCpuTime() - c0 : System.nanoTime() - t0)) / 1e6;
    }

    private static String timerNote(Backend backend, int threads) {
        if (backend instanceof CpuBackend && threads == 1) {
            return "thread CPU time of the calling thread (the 1-thread CPU backend runs on it)";
        }
        return "wall time, the backend synchronized after each step";
    }

    /** The deterministic input both sides generate: 2·frac(i·φ⁻¹) − 1 over the flat index, computed in float64. */
    static float[] input(Shape shape) {
        float[] x = new float[shape.numel()];
        for (int i = 0; i < x.length; i++) {
            double v = i * 0.6180339887498949;
            x[i] = (float) (2 * (v - Math.floor(v)) - 1);
        }
        return x;
    }

    private static Backend open(String name, int threads) {
        return name.equals("cpu") ? new CpuBackend(threads) : Backends.open(name);
    }

    /** Logical CPUs, backend threads and the CPU backend's GEMM (oneDNN's version and ISA, or pure Java). */
    private static String cpuDescription(Backend backend) {
        return Runtime.getRuntime().availableProcessors() + " logical CPUs; " + backend.deviceDescription();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static int[] ints(String csv, String what) {
        try {
            return Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + what + " takes comma-separated integers, got '" + csv + "'");
        }
    }
}
