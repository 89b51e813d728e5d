package io.trady4j.bench;

import io.trady4j.backend.Activation;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * CPU backend conv kernels on real layer shapes ({@link Layers}): plain forward, forward with
 * channel-gathered caching (x[:, S] at {@code gatherDensity}), and the sparse weight gradient at
 * {@code density} (1.0 = the dense weight gradient, same code path). Inputs are uniform in [-1, 1);
 * the selection is |S| = max(1, round(d·C)) channels drawn at random with a fixed seed.
 *
 * <p>Run through {@code bench/cpu/run.py}, which also runs PyTorch on the same shapes; by hand:
 * {@code java -jar bench/target/benchmarks.jar ConvBenchmark -p layer=mbv2.b04.expand -p density=0.1}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 300, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 300, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "--enable-native-access=ALL-UNNAMED"})
public class ConvBenchmark {

    /** Shared by every benchmark: the layer's tensors on a CPU backend with {@code threads} threads. */
    @State(Scope.Benchmark)
    public static class LayerState {
        @Param({"mbv2.b04.expand"})
        public String layer;
        @Param({"32"})
        public int batch;
        @Param({"2"})
        public int threads;

        CpuBackend be;
        Conv2dSpec spec;
        Layers.Layer l;
        Tensor x, w, y, dy;
        Random rnd;

        @Setup(Level.Trial)
        public void setUp() {
            l = Layers.byName(layer);
            spec = l.spec();
            be = new CpuBackend(threads);
            rnd = new Random(42);
            int h = l.size(), o = l.outSize();
            x = random(be, rnd, batch, l.in(), h, h);
            w = random(be, rnd, spec.weightShape().dims());
            y = be.allocate(Shape.of(batch, l.out(), o, o), MemoryCategory.WORKSPACE);
            dy = random(be, rnd, batch, l.out(), o, o);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            be.close();
        }
    }

    /** Forward with gathering at a fixed density. */
    @State(Scope.Benchmark)
    public static class GatherState {
        @Param({"0.1"})
        public double gatherDensity;
        ChannelIndex sel;
        Tensor xSel;

        @Setup(Level.Trial)
        public void setUp(LayerState s) {
            sel = selection(s.be, new Random(7), gatherDensity, s.l.in());
            xSel = s.be.allocate(Shape.of(s.batch, sel.size(), s.l.size(), s.l.size()), MemoryCategory.ACTIVATION_CACHE);
        }
    }

    /** Sparse weight gradient at a density. */
    @State(Scope.Benchmark)
    public static class SparseState {
        @Param({"0.1"})
        public double density;
        ChannelIndex sel;
        Tensor xSel, dw;

        @Setup(Level.Trial)
        public void setUp(LayerState s) {
            sel = selection(s.be, new Random(11), density, s.l.in());
            xSel = random(s.be, new Random(13), s.batch, sel.size(), s.l.size(), s.l.size());
            dw = s.be.allocate(s.spec.sparseWeightGradShape(sel.size()), MemoryCategory.WEIGHT_GRADIENT);
        }
    }

    /**
     * CPU time of the benchmark thread, a secondary metric per iteration (cpuNanos / calls). It is the
     * whole cost only with threads = 1, where the backend computes on the calling thread; unlike wall
     * time it does not grow when other processes take the core.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class CpuTime {
        private static final java.lang.management.ThreadMXBean MX =
                java.lang.management.ManagementFactory.getThreadMXBean();
        public long cpuNanos;
        public long calls;

        @Setup(Level.Iteration)
        public void reset() {
            cpuNanos = 0;
            calls = 0;
        }

        long now() {
            return MX.getCurrentThreadCpuTime();
        }

        void add(long since) {
            cpuNanos += MX.getCurrentThreadCpuTime() - since;
            calls++;
        }
    }

    @Benchmark
    public Tensor forward(LayerState s, CpuTime ct) {
        long t0 = ct.now();
        s.be.conv2d(s.x, s.w, null, s.spec, Activation.RELU6, s.y);
        ct.add(t0);
        return s.y;
    }

    @Benchmark
    public Tensor forwardGather(LayerState s, GatherState g, CpuTime ct) {
        long t0 = ct.now();
        s.be.conv2dGather(s.x, s.w, null, s.spec, Activation.RELU6, g.sel, s.y, g.xSel);
        ct.add(t0);
        return g.xSel;
    }

    @Benchmark
    public Tensor weightGradSparse(LayerState s, SparseState sp, CpuTime ct) {
        long t0 = ct.now();
        s.be.conv2dDwSparse(sp.xSel, s.dy, sp.sel, s.spec, sp.dw);
        ct.add(t0);
        return sp.dw;
    }

    static Tensor random(CpuBackend be, Random rnd, int... dims) {
        float[] a = new float[Shape.of(dims).numel()];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() * 2f - 1f;
        }
        return be.upload(a, Shape.of(dims), MemoryCategory.WORKSPACE);
    }

    /** |S| = max(1, round(d·C)) channels drawn uniformly without replacement, sorted. */
    static ChannelIndex selection(CpuBackend be, Random rnd, double density, int channels) {
        int n = Layers.selected(density, channels);
        int[] perm = new int[channels];
        for (int i = 0; i < channels; i++) {
            perm[i] = i;
        }
        for (int i = channels - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] s = Arrays.copyOf(perm, n);
        Arrays.sort(s);
        return be.channelIndex(s, channels);
    }
}
