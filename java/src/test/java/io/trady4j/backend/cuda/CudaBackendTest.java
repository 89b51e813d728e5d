package io.trady4j.backend.cuda;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every CudaBackend operation against the CPU reference backend on fresh random shapes and values
 * (odd sizes, |S| = 1 and |S| = C, grouped, depthwise, stride 2, dilation 2, padding), with GPU
 * outputs poisoned with NaN before each call; relative error ‖gpu − cpu‖/‖cpu‖ ≤ 1e-5. Parameterized
 * tests run with the tiled kernels (version 0) and the simple reference kernels (version 1).
 * Skipped, with the reason, where no CUDA device is usable. The seed of each run is printed in
 * every failure message.
 */
class CudaBackendTest {
    private static final double TOL = 1e-5;
    private static CpuBackend cpu;
    private CudaBackend gpu;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private long seed;
    private SplittableRandom rnd;

    /** One convolution geometry. */
    record Geo(int b, int c, int h, int w, int cout, int k, int s, int p, int dil, int g) {
        Conv2dSpec spec() {
            return new Conv2dSpec(c, cout, k, s, p, dil, g);
        }

        Shape x() {
            return Shape.of(b, c, h, w);
        }
    }

    private static final Geo[] FIXED = {
        new Geo(2, 5, 9, 9, 7, 3, 1, 1, 1, 1),       // dense 3x3, odd sizes
        new Geo(2, 6, 7, 7, 40, 3, 1, 1, 1, 1),      // M > 16: the 64x64 tile
        new Geo(3, 9, 6, 5, 20, 1, 1, 0, 1, 1),      // pointwise
        new Geo(2, 4, 11, 9, 6, 3, 2, 1, 1, 1),      // stride 2
        new Geo(1, 3, 10, 10, 5, 3, 1, 2, 2, 1),     // dilation 2, padding 2
        new Geo(1, 3, 13, 13, 8, 7, 2, 3, 1, 1),     // 7x7 stride 2
        new Geo(2, 6, 7, 7, 4, 3, 1, 1, 1, 2),       // grouped
        new Geo(1, 9, 6, 6, 51, 3, 2, 1, 1, 3),      // grouped, wide
        new Geo(2, 12, 17, 17, 12, 3, 1, 1, 1, 12),  // depthwise (tiled forward)
        new Geo(2, 8, 33, 31, 8, 3, 2, 1, 1, 8),     // depthwise stride 2
        new Geo(1, 4, 12, 12, 4, 5, 1, 4, 2, 4),     // depthwise 5x5 dilation 2
        new Geo(2, 4, 4, 5, 4, 3, 1, 1, 1, 4),       // depthwise, tiny plane
        new Geo(2, 3, 6, 6, 6, 3, 1, 1, 1, 3),       // depthwise with multiplier 2
        new Geo(8, 16, 32, 32, 24, 1, 1, 0, 1, 1),   // long K: split-K weight gradient
        new Geo(8, 24, 24, 24, 24, 3, 1, 1, 1, 24),  // depthwise, long K
    };

    @BeforeAll
    static void cpuBackend() {
        cpu = new CpuBackend();
    }

    @AfterAll
    static void closeCpu() {
        cpu.close();
        try {
            CudaBackend.setKernelVersion(0);
        } catch (RuntimeException ignored) {
            // no library here
        }
    }

    @BeforeEach
    void setUp() {
        gpu = CudaTestSupport.gpu();
        seed = System.nanoTime();
        rnd = new SplittableRandom(seed);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = owned.size() - 1; i >= 0; i--) {
            owned.get(i).close();
        }
        owned.clear();
        if (gpu != null) {
            CudaBackend.setKernelVersion(0);
        }
    }

    // ---------------------------------------------------------------- helpers

    private <T extends AutoCloseable> T own(T t) {
        owned.add(t);
        return t;
    }

    private float[] rand(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextDouble(-1, 1) * scale);
        }
        return v;
    }

    /** The same data on both backends: {cpu, gpu}. */
    private Tensor[] both(float[] data, Shape s) {
        return new Tensor[] {own(cpu.upload(data, s, MemoryCategory.WORKSPACE)),
            own(gpu.upload(data, s, MemoryCategory.WORKSPACE))};
    }

    private Tensor[] rand(Shape s) {
        return both(rand(s.numel(), 1f), s);
    }

    /** Outputs on both backends, poisoned with NaN. */
    private Tensor[] out(Shape s) {
        Tensor c = own(cpu.allocate(s, MemoryCategory.WORKSPACE));
        Tensor g = own(gpu.allocate(s, MemoryCategory.WORKSPACE));
        cpu.fill(c, Float.NaN);
        gpu.fill(g, Float.NaN);
        return new Tensor[] {c, g};
    }

    private ChannelIndex[] selection(int c, int k) {
        int[] all = new int[c];
        for (int i = 0; i < c; i++) {
            all[i] = i;
        }
        for (int i = 0; i < k; i++) {
            int j = i + rnd.nextInt(c - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] sel = Arrays.copyOf(all, k);
        Arrays.sort(sel);
        return new ChannelIndex[] {own(cpu.channelIndex(sel, c)), own(gpu.channelIndex(sel, c))};
    }

    private void close(String what, Tensor[] t) {
        double e = CudaTestSupport.relError(cpu, t[0], gpu, t[1], what + " (seed " + seed + ")");
        assertTrue(e <= TOL, what + ": relative error " + e + " > " + TOL + " (seed " + seed + ")");
    }

    private Geo randomGeo() {
        boolean depthwise = rnd.nextInt(4) == 0;
        int g = rnd.nextInt(4) == 0 ? 2 + rnd.nextInt(3) : 1;
        int k = 1 + 2 * rnd.nextInt(4);
        int dil = 1 + rnd.nextInt(2);
        int ek = dil * (k - 1) + 1;
        int c = depthwise ? 1 + rnd.nextInt(24) : g * (1 + rnd.nextInt(8));
        int cout = depthwise ? c : g * (1 + rnd.nextInt(24));
        return new Geo(1 + rnd.nextInt(4), c, ek + rnd.nextInt(30), ek + rnd.nextInt(30), cout, k, 1 + rnd.nextInt(2),
                rnd.nextInt(k / 2 + 2), dil, depthwise ? c : g);
    }

    private List<Geo> geometries(int randoms) {
        List<Geo> all = new ArrayList<>(Arrays.asList(FIXED));
        for (int i = 0; i < randoms; i++) {
            all.add(randomGeo());
        }
        return all;
    }

    private int[] selectionSizes(int c) {
        return c == 1 ? new int[] {1} : new int[] {1, 1 + rnd.nextInt(c), c};
    }

    // ---------------------------------------------------------------- convolution

    @ParameterizedTest(name = "kernel version {0}")
    @ValueSource(ints = {0, 1, 2})
    void conv2dForwardWithFusedGather(int version) {
        CudaBackend.setKernelVersion(version);
        for (Geo geo : geometries(12)) {
            Conv2dSpec spec = geo.spec();
            Tensor[] x = rand(geo.x());
            Tensor[] w = rand(spec.weightShape());
            Tensor[] b = rand(Shape.of(geo.cout()));
            Activation act = Activation.values()[rnd.nextInt(3)];
            boolean bias = rnd.nextBoolean();
            Tensor[] y = out(spec.outputShape(geo.x()));
            cpu.conv2d(x[0], w[0], bias ? b[0] : null, spec, act, y[0]);
            gpu.conv2d(x[1], w[1], bias ? b[1] : null, spec, act, y[1]);
            close("conv2d " + geo + " " + act + " bias " + bias, y);
            for (int ns : selectionSizes(geo.c())) {
                ChannelIndex[] sel = selection(geo.c(), ns);
                Tensor[] y2 = out(spec.outputShape(geo.x()));
                Tensor[] xs = out(Shape.of(geo.b(), ns, geo.h(), geo.w()));
                cpu.conv2dGather(x[0], w[0], b[0], spec, act, sel[0], y2[0], xs[0]);
                gpu.conv2dGather(x[1], w[1], b[1], spec, act, sel[1], y2[1], xs[1]);
                close("conv2dGather y " + geo + " |S|=" + ns, y2);
                assertArrayEquals(cpu.toFloatArray(xs[0]), gpu.toFloatArray(xs[1]),
                        "gathered input " + geo + " |S|=" + ns + " (seed " + seed + ")");
            }
        }
    }

    @ParameterizedTest(name = "kernel version {0}")
    @ValueSource(ints = {0, 1, 2})
    void conv2dSparseWeightGradient(int version) {
        CudaBackend.setKernelVersion(version);
        for (Geo geo : geometries(12)) {
            Conv2dSpec spec = geo.spec();
            Shape ys = spec.outputShape(geo.x());
            Tensor[] dy = rand(ys);
            for (int ns : selectionSizes(geo.c())) {
                ChannelIndex[] sel = selection(geo.c(), ns);
                Tensor[] xs = rand(Shape.of(geo.b(), ns, geo.h(), geo.w()));
                Tensor[] dw = out(spec.sparseWeightGradShape(ns));
                cpu.conv2dDwSparse(xs[0], dy[0], sel[0], spec, dw[0]);
                gpu.conv2dDwSparse(xs[1], dy[1], sel[1], spec, dw[1]);
                close("conv2dDwSparse " + geo + " |S|=" + ns, dw);
            }
        }
    }

    @ParameterizedTest(name = "kernel version {0}")
    @ValueSource(ints = {0, 1, 2})
    void conv2dInputGradient(int version) {
        CudaBackend.setKernelVersion(version);
        List<Geo> all = geometries(12);
        all.add(new Geo(2, 4, 11, 10, 5, 3, 3, 1, 1, 1));  // stride 3: the generic-stride loader
        all.add(new Geo(1, 33, 9, 10, 5, 3, 2, 1, 1, 1));  // stride 2, M > 16
        for (Geo geo : all) {
            Conv2dSpec spec = geo.spec();
            Tensor[] dy = rand(spec.outputShape(geo.x()));
            Tensor[] w = rand(spec.weightShape());
            Tensor[] dx = out(geo.x());
            cpu.conv2dDx(dy[0], w[0], spec, dx[0]);
            gpu.conv2dDx(dy[1], w[1], spec, dx[1]);
            close("conv2dDx " + geo, dx);
        }
    }

    @Test
    void sparseWeightGradientIsDeterministic() {
        Geo geo = new Geo(8, 16, 32, 32, 40, 3, 1, 1, 1, 1);  // long K: split into partial sums
        Conv2dSpec spec = geo.spec();
        Tensor[] dy = rand(spec.outputShape(geo.x()));
        ChannelIndex[] sel = selection(geo.c(), 5);
        Tensor[] xs = rand(Shape.of(geo.b(), 5, geo.h(), geo.w()));
        Tensor a = own(gpu.allocate(spec.sparseWeightGradShape(5), MemoryCategory.WEIGHT_GRADIENT));
        Tensor b = own(gpu.allocate(spec.sparseWeightGradShape(5), MemoryCategory.WEIGHT_GRADIENT));
        gpu.conv2dDwSparse(xs[1], dy[1], sel[1], spec, a);
        gpu.conv2dDwSparse(xs[1], dy[1], sel[1], spec, b);
        assertArrayEquals(gpu.toFloatArray(a), gpu.toFloatArray(b), "two runs must agree bit for bit");
    }

    // ---------------------------------------------------------------- linear

    @ParameterizedTest(name = "kernel version {0}")
    @ValueSource(ints = {0, 1})
    void linearLayers(int version) {
        CudaBackend.setKernelVersion(version);
        int[][] sizes = {{1, 1, 1}, {3, 17, 10}, {32, 45, 10}, {20, 130, 70}, {5, 64, 200},
            {1 + rnd.nextInt(64), 1 + rnd.nextInt(500), 1 + rnd.nextInt(300)}};
        for (int[] sz : sizes) {
            int batch = sz[0];
            int fin = sz[1];
            int o = sz[2];
            boolean fourD = rnd.nextBoolean();
            Shape xs = fourD ? Shape.of(batch, fin, 1, 1) : Shape.of(batch, fin);
            Tensor[] x = rand(xs);
            Tensor[] w = rand(Shape.of(o, fin));
            Tensor[] bias = rand(Shape.of(o));
            Tensor[] y = out(Shape.of(batch, o));
            boolean withBias = rnd.nextBoolean();
            cpu.linear(x[0], w[0], withBias ? bias[0] : null, y[0]);
            gpu.linear(x[1], w[1], withBias ? bias[1] : null, y[1]);
            close("linear " + Arrays.toString(sz), y);
            Tensor[] dy = rand(Shape.of(batch, o));
            Tensor[] dx = out(xs);
            cpu.linearDx(dy[0], w[0], dx[0]);
            gpu.linearDx(dy[1], w[1], dx[1]);
            close("linearDx " + Arrays.toString(sz), dx);
            for (int ns : selectionSizes(fin)) {
                ChannelIndex[] sel = selection(fin, ns);
                Tensor[] xsel = rand(Shape.of(batch, ns));
                Tensor[] dw = out(Shape.of(o, ns));
                cpu.linearDwSparse(xsel[0], dy[0], sel[0], dw[0]);
                gpu.linearDwSparse(xsel[1], dy[1], sel[1], dw[1]);
                close("linearDwSparse " + Arrays.toString(sz) + " |S|=" + ns, dw);
            }
        }
    }

    // ---------------------------------------------------------------- element-wise, pooling, loss

    @Test
    void elementwiseOps() {
        for (Shape s : new Shape[] {Shape.of(1), Shape.of(3, 5), Shape.of(2, 3, 7, 9), Shape.of(4, 16, 8, 8)}) {
            Tensor[] x = both(rand(s.numel(), 8f), s);
            for (Activation act : Activation.values()) {
                Tensor[] y = out(s);
                cpu.activation(act, x[0], y[0]);
                gpu.activation(act, x[1], y[1]);
                assertArrayEquals(cpu.toFloatArray(y[0]), gpu.toFloatArray(y[1]), "activation " + act + " " + s);
                Tensor[] dy = rand(s);
                Tensor[] dx = out(s);
                cpu.activationBackward(act, y[0], dy[0], dx[0]);
                gpu.activationBackward(act, y[1], dy[1], dx[1]);
                assertArrayEquals(cpu.toFloatArray(dx[0]), gpu.toFloatArray(dx[1]), "activation backward " + act + " " + s);
                Tensor[] mask = {own(cpu.allocate(Shape.of(Backend.maskWords(s.numel())), DType.I32, MemoryCategory.WORKSPACE)),
                    own(gpu.allocate(Shape.of(Backend.maskWords(s.numel())), DType.I32, MemoryCategory.WORKSPACE))};
                cpu.activationMask(act, y[0], mask[0]);
                gpu.activationMask(act, y[1], mask[1]);
                assertArrayEquals(cpu.toIntArray(mask[0]), gpu.toIntArray(mask[1]), "activation mask " + act + " " + s);
                Tensor[] dxm = out(s);
                cpu.activationBackwardMasked(mask[0], dy[0], dxm[0]);
                gpu.activationBackwardMasked(mask[1], dy[1], dxm[1]);
                assertArrayEquals(cpu.toFloatArray(dx[0]), gpu.toFloatArray(dxm[1]), "masked activation backward " + act + " " + s);
                gpu.activation(act, x[1], x[1]);  // in place is allowed
                cpu.activation(act, x[0], x[0]);
                assertArrayEquals(cpu.toFloatArray(x[0]), gpu.toFloatArray(x[1]), "in-place activation " + act);
            }
            Tensor[] a = rand(s);
            Tensor[] b = rand(s);
            Tensor[] sum = out(s);
            cpu.add(a[0], b[0], sum[0]);
            gpu.add(a[1], b[1], sum[1]);
            assertArrayEquals(cpu.toFloatArray(sum[0]), gpu.toFloatArray(sum[1]), "add " + s);
            if (s.rank() >= 2) {
                Tensor[] db = out(Shape.of(s.dim(1)));
                cpu.biasGrad(a[0], db[0]);
                gpu.biasGrad(a[1], db[1]);
                close("biasGrad " + s, db);
                for (int ns : selectionSizes(s.dim(1))) {
                    ChannelIndex[] sel = selection(s.dim(1), ns);
                    int[] dims = s.dims();
                    dims[1] = ns;
                    Tensor[] xs = out(Shape.of(dims));
                    cpu.gatherChannels(a[0], sel[0], xs[0]);
                    gpu.gatherChannels(a[1], sel[1], xs[1]);
                    assertArrayEquals(cpu.toFloatArray(xs[0]), gpu.toFloatArray(xs[1]), "gather " + s + " |S|=" + ns);
                }
            }
        }
    }

    @Test
    void poolingOps() {
        Shape s = Shape.of(3, 5, 9, 7);
        Tensor[] x = rand(s);
        Tensor[] y = out(Shape.of(3, 5));
        cpu.globalAvgPool(x[0], y[0]);
        gpu.globalAvgPool(x[1], y[1]);
        close("globalAvgPool", y);
        Tensor[] dx = out(s);
        cpu.globalAvgPoolBackward(y[0], dx[0]);
        gpu.globalAvgPoolBackward(y[1], dx[1]);
        close("globalAvgPoolBackward", dx);
        int[][] windows = {{3, 2, 1}, {2, 2, 0}, {3, 1, 1}};
        for (int[] kw : windows) {
            int k = kw[0];
            int st = kw[1];
            int p = kw[2];
            int ho = (9 + 2 * p - k) / st + 1;
            int wo = (7 + 2 * p - k) / st + 1;
            Shape ys = Shape.of(3, 5, ho, wo);
            Tensor[] py = out(ys);
            Tensor ac = own(cpu.allocate(ys, DType.I32, MemoryCategory.WORKSPACE));
            Tensor ag = own(gpu.allocate(ys, DType.I32, MemoryCategory.WORKSPACE));
            gpu.fillInts(ag, -7);
            cpu.maxPool2d(x[0], k, st, p, py[0], ac);
            gpu.maxPool2d(x[1], k, st, p, py[1], ag);
            assertArrayEquals(cpu.toFloatArray(py[0]), gpu.toFloatArray(py[1]), "max pool k" + k + " s" + st + " p" + p);
            assertArrayEquals(cpu.toIntArray(ac), gpu.toIntArray(ag), "max pool arg-max k" + k + " s" + st + " p" + p);
            Tensor[] dy = rand(ys);
            Tensor[] g = out(s);
            cpu.maxPool2dBackward(dy[0], ac, g[0]);
            gpu.maxPool2dBackward(dy[1], ag, g[1]);
            close("max pool backward k" + k + " s" + st + " p" + p, g);
        }
    }

    @Test
    void softmaxCrossEntropy() {
        for (int[] bk : new int[][] {{1, 1}, {5, 10}, {37, 100}, {64, 1000}}) {
            int batch = bk[0];
            int k = bk[1];
            Tensor[] z = both(rand(batch * k, 6f), Shape.of(batch, k));
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = rnd.nextInt(k);
            }
            Tensor lc = own(cpu.uploadInts(labels, Shape.of(batch), MemoryCategory.DATA));
            Tensor lg = own(gpu.uploadInts(labels, Shape.of(batch), MemoryCategory.DATA));
            Tensor[] stats = out(Shape.of(2));
            Tensor[] dz = out(Shape.of(batch, k));
            cpu.softmaxCrossEntropy(z[0], lc, stats[0], dz[0]);
            gpu.softmaxCrossEntropy(z[1], lg, stats[1], dz[1]);
            close("softmax cross-entropy stats B=" + batch + " K=" + k, stats);
            close("softmax cross-entropy gradient B=" + batch + " K=" + k, dz);
            assertEquals(cpu.toFloatArray(stats[0])[1], gpu.toFloatArray(stats[1])[1], "correct count");
            Tensor[] stats2 = out(Shape.of(2));
            gpu.softmaxCrossEntropy(z[1], lg, stats2[1], null);  // no gradient wanted
            assertArrayEquals(gpu.toFloatArray(stats[1]), gpu.toFloatArray(stats2[1]));
        }
    }

    @Test
    void aLabelOutsideTheClassesIsTheCpuErrorWhenTheLossIsRead() {
        Shape logits = Shape.of(6, 3);
        Tensor[] z = rand(logits);
        int[] bad = {0, 1, 2, 3, -1, 7};  // sample 3 is the first outside [0, 3)
        Tensor badCpu = own(cpu.uploadInts(bad, Shape.of(6), MemoryCategory.DATA));
        Tensor badGpu = own(gpu.uploadInts(bad, Shape.of(6), MemoryCategory.DATA));
        Tensor good = own(gpu.uploadInts(new int[] {0, 1, 2, 0, 1, 2}, Shape.of(6), MemoryCategory.DATA));
        Tensor[] dz = out(logits);
        long workspace = gpu.memory().liveBytes(MemoryCategory.WORKSPACE);
        Tensor cpuStats = own(cpu.allocate(Shape.of(2), MemoryCategory.WORKSPACE));
        Tensor stats = gpu.allocate(Shape.of(2), MemoryCategory.WORKSPACE);

        IllegalArgumentException onCpu = assertThrows(IllegalArgumentException.class,
                () -> cpu.softmaxCrossEntropy(z[0], badCpu, cpuStats, dz[0]));
        gpu.softmaxCrossEntropy(z[1], badGpu, stats, dz[1]);  // queued: a kernel cannot throw
        IllegalArgumentException onGpu = assertThrows(IllegalArgumentException.class, () -> gpu.toFloatArray(stats));
        assertEquals("label 3 of sample 3 is outside [0, 3)", onCpu.getMessage());
        assertEquals(onCpu.getMessage(), onGpu.getMessage());

        gpu.softmaxCrossEntropy(z[1], good, stats, null);  // the record describes the last loss only
        assertTrue(Float.isFinite(gpu.toFloatArray(stats)[0]), "valid labels after bad ones");
        gpu.fill(z[1], Float.NaN);
        gpu.softmaxCrossEntropy(z[1], good, stats, null);
        assertTrue(Float.isNaN(gpu.toFloatArray(stats)[0]), "a diverged loss is a NaN loss, not a label error");
        stats.close();
        assertEquals(workspace, gpu.memory().liveBytes(MemoryCategory.WORKSPACE), "the record is freed with the tensor");
    }

    // ---------------------------------------------------------------- optimizer

    @Test
    void sgdDenseAndSparse() {
        SgdStep[] steps = {new SgdStep(0.125f, 0f, 0f), new SgdStep(0.05f, 0.9f, 1e-4f)};
        for (SgdStep step : steps) {
            Shape ps = Shape.of(7, 13);
            Tensor[] p = rand(ps);
            Tensor[] g = rand(ps);
            Tensor[] m = rand(ps);
            cpu.sgdUpdate(p[0], g[0], m[0], step);
            gpu.sgdUpdate(p[1], g[1], m[1], step);
            assertArrayEquals(cpu.toFloatArray(p[0]), gpu.toFloatArray(p[1]), "dense sgd " + step);
            assertArrayEquals(cpu.toFloatArray(m[0]), gpu.toFloatArray(m[1]), "dense sgd momentum " + step);
            for (Geo geo : new Geo[] {FIXED[0], FIXED[6], FIXED[8], FIXED[12]}) {
                Conv2dSpec spec = geo.spec();
                Tensor[] w = rand(spec.weightShape());
                for (int ns : selectionSizes(geo.c())) {
                    ChannelIndex[] sel = selection(geo.c(), ns);
                    Shape gs = spec.sparseWeightGradShape(ns);
                    Tensor[] dw = rand(gs);
                    Tensor[] mom = rand(gs);
                    cpu.sgdUpdateSparse(w[0], dw[0], sel[0], geo.g(), mom[0], step);
                    gpu.sgdUpdateSparse(w[1], dw[1], sel[1], geo.g(), mom[1], step);
                    assertArrayEquals(cpu.toFloatArray(w[0]), gpu.toFloatArray(w[1]), "sparse sgd " + geo + " " + step);
                    assertArrayEquals(cpu.toFloatArray(mom[0]), gpu.toFloatArray(mom[1]), "sparse momentum " + geo);
                }
            }
            Tensor[] lw = rand(Shape.of(10, 40));
            ChannelIndex[] sel = selection(40, 7);
            Tensor[] dw = rand(Shape.of(10, 7));
            cpu.sgdUpdateSparse(lw[0], dw[0], sel[0], 1, null, new SgdStep(0.1f, 0f, 0f));
            gpu.sgdUpdateSparse(lw[1], dw[1], sel[1], 1, null, new SgdStep(0.1f, 0f, 0f));
            assertArrayEquals(cpu.toFloatArray(lw[0]), gpu.toFloatArray(lw[1]), "sparse sgd on a linear weight");
        }
    }

    // ---------------------------------------------------------------- BatchNorm

    /**
     * Training forward (output, saved statistics, running averages), backward and inference against the CPU
     * reference, out of place and in place; shapes with 2 to 4,100 values per channel, one far from zero mean.
     */
    @Test
    void batchNormMatchesTheCpu() {
        Shape[] shapes = {Shape.of(2, 3, 1, 1), Shape.of(3, 5, 4, 7), Shape.of(4, 6, 15, 17), Shape.of(1, 2, 41, 100)};
        for (Shape s : shapes) {
            for (boolean inPlace : new boolean[] {false, true}) {
                String what = "batch norm " + s + (inPlace ? " in place" : "");
                int c = s.dim(1);
                float offset = s.dim(2) == 15 ? 50f : 0f;
                float[] xv = rand(s.numel(), 3f);
                for (int i = 0; i < xv.length; i++) {
                    xv[i] += offset;
                }
                Tensor[] x = both(xv, s);
                Tensor[] gamma = both(rand(c, 1f), Shape.of(c));
                Tensor[] beta = rand(Shape.of(c));
                Tensor[] mean = rand(Shape.of(c));
                float[] var = rand(c, 0.5f);
                for (int i = 0; i < c; i++) {
                    var[i] += 1f;
                }
                Tensor[] runningVar = both(var, Shape.of(c));
                Tensor[] saveMean = out(Shape.of(c));
                Tensor[] saveInvStd = out(Shape.of(c));
                Tensor[] y = inPlace ? x : out(s);
                Tensor[] input = inPlace ? both(xv, s) : x;
                cpu.batchNormTraining(x[0], gamma[0], beta[0], mean[0], runningVar[0], 0.1, 1e-5, y[0], saveMean[0],
                        saveInvStd[0]);
                gpu.batchNormTraining(x[1], gamma[1], beta[1], mean[1], runningVar[1], 0.1, 1e-5, y[1], saveMean[1],
                        saveInvStd[1]);
                close(what + " output", y);
                close(what + " saved mean", saveMean);
                close(what + " saved inverse std", saveInvStd);
                close(what + " running mean", mean);
                close(what + " running var", runningVar);
                Tensor[] dy = rand(s);
                Tensor[] dx = inPlace ? dy : out(s);
                Tensor[] dGamma = out(Shape.of(c));
                Tensor[] dBeta = out(Shape.of(c));
                cpu.batchNormBackward(dy[0], input[0], gamma[0], saveMean[0], saveInvStd[0], dx[0], dGamma[0], dBeta[0]);
                gpu.batchNormBackward(dy[1], input[1], gamma[1], saveMean[1], saveInvStd[1], dx[1], dGamma[1], dBeta[1]);
                if (s.dim(0) * s.dim(2) * s.dim(3) > 2) {  // at 2 values per channel dx is 0 up to rounding
                    close(what + " dx", dx);
                }
                close(what + " gamma gradient", dGamma);
                close(what + " beta gradient", dBeta);
                Tensor[] inferred = inPlace ? input : out(s);
                cpu.batchNormInference(input[0], gamma[0], beta[0], mean[0], runningVar[0], 1e-3, inferred[0]);
                gpu.batchNormInference(input[1], gamma[1], beta[1], mean[1], runningVar[1], 1e-3, inferred[1]);
                close(what + " inference", inferred);
            }
        }
    }

    /** Bad BatchNorm arguments are refused before any work, with the CPU backend's message. */
    @Test
    void batchNormArgumentsAreCheckedAsOnTheCpu() {
        Tensor[] x = rand(Shape.of(2, 3, 4, 4));
        Tensor[] c = rand(Shape.of(3));
        Tensor[] wrong = rand(Shape.of(4));
        List<java.util.function.IntFunction<Executable>> calls = List.of(
            i -> () -> backend(i).batchNormTraining(x[i], wrong[i], c[i], c[i], c[i], 0.1, 1e-5, x[i], c[i], c[i]),
            i -> () -> backend(i).batchNormTraining(x[i], c[i], c[i], c[i], c[i], 1.5, 1e-5, x[i], c[i], c[i]),
            i -> () -> backend(i).batchNormBackward(x[i], x[i], c[i], c[i], wrong[i], x[i], c[i], c[i]),
            i -> () -> backend(i).batchNormInference(x[i], c[i], c[i], c[i], c[i], 0, x[i]));
        for (java.util.function.IntFunction<Executable> call : calls) {
            String onCpu = assertThrows(IllegalArgumentException.class, call.apply(0)).getMessage();
            String onGpu = assertThrows(IllegalArgumentException.class, call.apply(1)).getMessage();
            assertEquals(onCpu, onGpu);
        }
    }

    private Backend backend(int i) {
        return i == 0 ? cpu : gpu;
    }

    // ---------------------------------------------------------------- memory and errors

    @Test
    void heldMemoryCoversEveryMeteredByte() {
        gpu.memory().resetPeaks();
        gpu.resetReservedPeak();
        Conv2dSpec spec = Conv2dSpec.of(16, 24, 1, 1, 0);
        Tensor[] x = rand(Shape.of(8, 16, 32, 32));  // long K = B·H'·W': the split-K weight gradient uses the workspace
        Tensor[] dy = rand(Shape.of(8, 24, 32, 32));
        ChannelIndex[] sel = selection(16, 16);
        Tensor[] dw = out(spec.sparseWeightGradShape(16));
        gpu.conv2dDwSparse(x[1], dy[1], sel[1], spec, dw[1]);
        gpu.synchronize();
        assertTrue(gpu.reservedBytes() >= gpu.memory().liveBytes(),
                gpu.reservedBytes() + " bytes held, " + gpu.memory().liveBytes() + " metered as live");
        assertTrue(gpu.peakReservedBytes() >= gpu.memory().peakBytes(),
                gpu.peakReservedBytes() + " bytes held at the peak, " + gpu.memory().peakBytes() + " metered");
    }

    @Test
    void memoryRoundTripsAndIsMetered() {
        long before = gpu.memory().liveBytes(MemoryCategory.ACTIVATION_CACHE);
        float[] data = rand(1000, 3f);
        Tensor t = gpu.upload(data, Shape.of(10, 100), MemoryCategory.ACTIVATION_CACHE);
        assertEquals(before + 4000, gpu.memory().liveBytes(MemoryCategory.ACTIVATION_CACHE));
        assertArrayEquals(data, gpu.toFloatArray(t));
        Tensor u = gpu.allocate(Shape.of(1000), MemoryCategory.ACTIVATION_CACHE);
        gpu.copy(t, u);
        assertArrayEquals(data, gpu.toFloatArray(u));
        gpu.fill(u, 2.5f);
        float[] twos = new float[1000];
        Arrays.fill(twos, 2.5f);
        assertArrayEquals(twos, gpu.toFloatArray(u));
        int[] ints = {3, -1, 7, Integer.MAX_VALUE};
        Tensor it = gpu.uploadInts(ints, Shape.of(4), MemoryCategory.DATA);
        assertArrayEquals(ints, gpu.toIntArray(it));
        t.close();
        u.close();
        it.close();
        assertEquals(before, gpu.memory().liveBytes(MemoryCategory.ACTIVATION_CACHE));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpu.toFloatArray(t));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void outOfMemoryNamesTheRequestAndTheFreeMemory() {
        org.junit.jupiter.api.Assumptions.assumeFalse(CudaTestSupport.emulated(), "running out of device memory needs a real GPU");
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                () -> JCudaBridge.malloc(1L << 50, "a test tensor", gpu.deviceDescription()));
        assertEquals(1L << 50, e.requestedBytes());
        assertTrue(e.getMessage().contains("1125899906842624 bytes") && e.getMessage().contains("free"), e.getMessage());
        assertTrue(e.freeBytes() > 0, e.getMessage());
        // The device is still usable afterwards.
        Tensor t = own(gpu.upload(new float[] {1, 2}, Shape.of(2), MemoryCategory.WORKSPACE));
        assertArrayEquals(new float[] {1, 2}, gpu.toFloatArray(t));
    }

    @Test
    void badArgumentsAreRejectedBeforeAnyWork() {
        Tensor x = own(gpu.allocate(Shape.of(1, 3, 5, 5), MemoryCategory.WORKSPACE));
        Tensor w = own(gpu.allocate(Shape.of(4, 3, 3, 3), MemoryCategory.WORKSPACE));
        Tensor y = own(gpu.allocate(Shape.of(1, 4, 4, 4), MemoryCategory.WORKSPACE));
        Tensor cx = own(cpu.allocate(Shape.of(1, 3, 5, 5), MemoryCategory.WORKSPACE));
        Conv2dSpec spec = Conv2dSpec.of(3, 4, 3, 1, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gpu.conv2d(x, w, null, spec, Activation.NONE, y));
        assertTrue(e.getMessage().contains("output must be [1x4x5x5]"), e.getMessage());
        Tensor y5 = own(gpu.allocate(Shape.of(1, 4, 5, 5), MemoryCategory.WORKSPACE));
        e = assertThrows(IllegalArgumentException.class, () -> gpu.conv2d(cx, w, null, spec, Activation.NONE, y5));
        assertTrue(e.getMessage().contains("not a tensor of this CUDA backend"), e.getMessage());
        ChannelIndex cpuSel = own(cpu.channelIndex(new int[] {0}, 3));
        Tensor xs = own(gpu.allocate(Shape.of(1, 1, 5, 5), MemoryCategory.WORKSPACE));
        e = assertThrows(IllegalArgumentException.class,
                () -> gpu.conv2dGather(x, w, null, spec, Activation.NONE, cpuSel, y5, xs));
        assertTrue(e.getMessage().contains("another backend"), e.getMessage());
    }

    @Test
    void badInputGetsTheSameErrorsAsOnTheCpu() {
        assertEquals(errorsOfBadCalls(cpu), errorsOfBadCalls(gpu));
    }

    /** "Type: message" of each of a set of bad calls on {@code b}, which all must throw. */
    private List<String> errorsOfBadCalls(Backend b) {
        Conv2dSpec spec = new Conv2dSpec(4, 6, 3, 1, 1, 1, 2);
        Tensor x = own(b.allocate(Shape.of(2, 4, 5, 5), MemoryCategory.WORKSPACE));
        Tensor w = own(b.allocate(Shape.of(6, 2, 3, 3), MemoryCategory.WORKSPACE));
        Tensor y = own(b.allocate(Shape.of(2, 6, 5, 5), MemoryCategory.WORKSPACE));
        Tensor ints = own(b.allocate(Shape.of(2, 4, 5, 5), DType.I32, MemoryCategory.WORKSPACE));
        Tensor closed = b.allocate(Shape.of(2, 3), MemoryCategory.WORKSPACE);
        closed.close();
        ChannelIndex sel = own(b.channelIndex(new int[] {1, 3}, 4));
        ChannelIndex wrongBound = own(b.channelIndex(new int[] {1, 3}, 5));
        ChannelIndex closedSel = b.channelIndex(new int[] {0}, 4);
        closedSel.close();
        List<Executable> calls = List.of(
                () -> b.upload(new float[5], Shape.of(2, 3), MemoryCategory.DATA),
                () -> b.download(ints, new float[200]),
                () -> b.download(closed, new float[6]),
                () -> b.copy(x, y),
                () -> b.fill(closed, 1f),
                () -> b.conv2d(ints, w, null, spec, Activation.NONE, y),
                () -> b.conv2d(x, w, null, spec, Activation.NONE, x),
                () -> b.conv2d(x, closed, null, spec, Activation.NONE, y),
                () -> b.conv2dGather(x, w, null, spec, Activation.NONE, wrongBound, y, x),
                () -> b.conv2dGather(x, w, null, spec, Activation.NONE, closedSel, y, x),
                () -> b.conv2dDwSparse(x, y, sel, spec, w),
                () -> b.conv2dDx(x, w, spec, x),
                () -> b.linear(closed, w, null, y),
                () -> b.linearDwSparse(x, y, closedSel, w),
                () -> b.gatherChannels(x, null, x),
                () -> b.add(x, y, x),
                () -> b.activationBackward(Activation.RELU, x, x, closed),
                () -> b.maxPool2d(x, 3, 2, 1, y, y),
                () -> b.maxPool2dBackward(y, y, x),
                () -> b.softmaxCrossEntropy(closed, ints, y, null),
                () -> b.sgdUpdate(x, x, null, new SgdStep(0.1f, 0.9f, 0f)),
                () -> b.sgdUpdateSparse(w, w, sel, 2, null, new SgdStep(0.1f, 0f, 0f)));
        List<String> errors = new ArrayList<>();
        for (Executable call : calls) {
            Throwable t = assertThrows(Throwable.class, call, b.name());
            errors.add(t.getClass().getSimpleName() + ": " + t.getMessage());
        }
        return errors;
    }

    // ---------------------------------------------------------------- a whole training step

    /**
     * A small network trained for three steps on both backends, TraDy style: a masked conv forward
     * that keeps only x[:, S], ReLU6, a depthwise conv, global pooling, a classifier, the loss, the
     * backward pass (sparse weight gradients, the input-gradient path) and sparse SGD updates.
     */
    @ParameterizedTest(name = "kernel version {0}")
    @ValueSource(ints = {0, 1, 2})
    void trainingStepsMatchTheCpu(int version) {
        CudaBackend.setKernelVersion(version);
        int batch = 6;
        int classes = 5;
        Conv2dSpec c1 = new Conv2dSpec(3, 8, 3, 2, 1, 1, 1);
        Conv2dSpec c2 = Conv2dSpec.depthwise(8, 3, 1, 1);
        Shape xs = Shape.of(batch, 3, 15, 15);
        Shape h1 = c1.outputShape(xs);
        Shape h2 = c2.outputShape(h1);
        Tensor[] x = rand(xs);
        Tensor[] w1 = rand(c1.weightShape());
        Tensor[] b1 = rand(Shape.of(8));
        Tensor[] w2 = rand(c2.weightShape());
        Tensor[] w3 = rand(Shape.of(classes, 8));
        int[] labels = new int[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = rnd.nextInt(classes);
        }
        Tensor[] lab = {own(cpu.uploadInts(labels, Shape.of(batch), MemoryCategory.DATA)),
            own(gpu.uploadInts(labels, Shape.of(batch), MemoryCategory.DATA))};
        ChannelIndex[] s1 = selection(3, 2);
        ChannelIndex[] s2 = selection(8, 3);
        ChannelIndex[] s3 = selection(8, 8);
        SgdStep step = new SgdStep(0.1f, 0f, 0f);
        Backend[] be = {cpu, gpu};
        Tensor[] stats = out(Shape.of(2));
        for (int it = 0; it < 3; it++) {
            Tensor[] y1 = out(h1);
            Tensor[] x1 = out(Shape.of(batch, 2, 15, 15));
            Tensor[] y2 = out(h2);
            Tensor[] x2 = out(Shape.of(batch, 3, h1.dim(2), h1.dim(3)));
            Tensor[] pooled = out(Shape.of(batch, 8));
            Tensor[] logits = out(Shape.of(batch, classes));
            Tensor[] dz = out(Shape.of(batch, classes));
            Tensor[] dw3 = out(Shape.of(classes, 8));
            Tensor[] dp = out(Shape.of(batch, 8));
            Tensor[] dy2 = out(h2);
            Tensor[] dw2 = out(c2.sparseWeightGradShape(3));
            Tensor[] dh1 = out(h1);
            Tensor[] dw1 = out(c1.sparseWeightGradShape(2));
            for (int i = 0; i < 2; i++) {
                Backend b = be[i];
                b.conv2dGather(x[i], w1[i], b1[i], c1, Activation.RELU6, s1[i], y1[i], x1[i]);
                b.conv2dGather(y1[i], w2[i], null, c2, Activation.RELU, s2[i], y2[i], x2[i]);
                b.globalAvgPool(y2[i], pooled[i]);
                b.linear(pooled[i], w3[i], null, logits[i]);
                b.softmaxCrossEntropy(logits[i], lab[i], stats[i], dz[i]);
                b.linearDwSparse(pooled[i], dz[i], s3[i], dw3[i]);
                b.linearDx(dz[i], w3[i], dp[i]);
                b.globalAvgPoolBackward(dp[i], dy2[i]);
                b.activationBackward(Activation.RELU, y2[i], dy2[i], dy2[i]);
                b.conv2dDwSparse(x2[i], dy2[i], s2[i], c2, dw2[i]);
                b.conv2dDx(dy2[i], w2[i], c2, dh1[i]);
                b.activationBackward(Activation.RELU6, y1[i], dh1[i], dh1[i]);
                b.conv2dDwSparse(x1[i], dh1[i], s1[i], c1, dw1[i]);
                b.sgdUpdateSparse(w3[i], dw3[i], s3[i], 1, null, step);
                b.sgdUpdateSparse(w2[i], dw2[i], s2[i], 8, null, step);
                b.sgdUpdateSparse(w1[i], dw1[i], s1[i], 1, null, step);
            }
            close("loss statistics at step " + it, stats);
            close("classifier weights after step " + it, w3);
            close("depthwise weights after step " + it, w2);
            close("first conv weights after step " + it, w1);
        }
    }
}
