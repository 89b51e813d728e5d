package io.trady4j.bench;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times one conv layer's operations at one batch size on a backend, on inputs uniform in [-1, 1):
 * the plain forward ({@code conv2d}, no activation, so that it compares with a bare convolution),
 * at each density the gather-fused forward ({@code conv2dGather}, which also writes x[:, S]) and
 * the sparse weight gradient ({@code conv2dDwSparse}) on the x[:, S] that forward wrote, and the
 * input gradient ({@code conv2dDx}). Density 1 selects every channel: the dense weight gradient
 * through the same kernel (the backends have no separate dense path).
 */
final class LayerMeasurement {
    private final Backend backend;
    private final CallTimer timer;
    private final Repetitions repetitions;

    LayerMeasurement(Backend backend, CallTimer timer, Repetitions repetitions) {
        this.backend = backend;
        this.timer = timer;
        this.repetitions = repetitions;
    }

    /** The results for JSON: batch, forward, gather and dw (keyed by density), dx. */
    Map<String, Object> measure(Layers.Layer layer, int batch, Map<Double, int[]> selections, long seed) {
        Conv2dSpec spec = layer.spec();
        ConvCost cost = new ConvCost(layer, batch);
        int h = layer.size();
        int o = layer.outSize();
        SplittableRandom rnd = new SplittableRandom(seed + 7919L * batch);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("batch", batch);
        try (Tensor x = uniform(rnd, batch, layer.in(), h, h);
             Tensor w = uniform(rnd, spec.weightShape().dims());
             Tensor dy = uniform(rnd, batch, layer.out(), o, o);
             Tensor y = backend.allocate(Shape.of(batch, layer.out(), o, o), MemoryCategory.WORKSPACE);
             Tensor dx = backend.allocate(Shape.of(batch, layer.in(), h, h), MemoryCategory.GRADIENT_PATH)) {
            result.put("forward", entry(repetitions.time(timer, () -> backend.conv2d(x, w, null, spec, Activation.NONE, y)),
                    cost.forwardFlops(), cost.forwardBytes()));
            Map<String, Object> gather = new LinkedHashMap<>();
            Map<String, Object> dw = new LinkedHashMap<>();
            for (Map.Entry<Double, int[]> e : selections.entrySet()) {
                int n = e.getValue().length;
                try (ChannelIndex sel = backend.channelIndex(e.getValue(), layer.in());
                     Tensor xSel = backend.allocate(Shape.of(batch, n, h, h), MemoryCategory.ACTIVATION_CACHE);
                     Tensor dwSel = backend.allocate(spec.sparseWeightGradShape(n), MemoryCategory.WEIGHT_GRADIENT)) {
                    Map<String, Object> g = entry(repetitions.time(timer,
                                    () -> backend.conv2dGather(x, w, null, spec, Activation.NONE, sel, y, xSel)),
                            cost.forwardFlops(), cost.gatherForwardBytes(n));
                    g.put("selected", n);
                    g.put("cache_bytes", cost.cacheBytes(n));
                    gather.put(densityKey(e.getKey()), g);
                    Map<String, Object> s = entry(repetitions.time(timer, () -> backend.conv2dDwSparse(xSel, dy, sel, spec, dwSel)),
                            cost.sparseWeightGradFlops(n), cost.sparseWeightGradBytes(n));
                    s.put("selected", n);
                    dw.put(densityKey(e.getKey()), s);
                }
            }
            result.put("gather", gather);
            result.put("dw", dw);
            result.put("dx", entry(repetitions.time(timer, () -> backend.conv2dDx(dy, w, spec, dx)),
                    cost.inputGradFlops(), cost.inputGradBytes()));
        }
        return result;
    }

    /**
     * Runs every operation {@code calls} times, untimed, at batch 1 with the smallest selection, so that
     * the JIT has compiled the host side of the launches before the first measurement.
     */
    void warmUpHost(Layers.Layer layer, int[] selection, int calls) {
        Conv2dSpec spec = layer.spec();
        int h = layer.size();
        int o = layer.outSize();
        SplittableRandom rnd = new SplittableRandom(1);
        try (Tensor x = uniform(rnd, 1, layer.in(), h, h);
             Tensor w = uniform(rnd, spec.weightShape().dims());
             Tensor dy = uniform(rnd, 1, layer.out(), o, o);
             Tensor y = backend.allocate(Shape.of(1, layer.out(), o, o), MemoryCategory.WORKSPACE);
             Tensor dx = backend.allocate(Shape.of(1, layer.in(), h, h), MemoryCategory.GRADIENT_PATH);
             ChannelIndex sel = backend.channelIndex(selection, layer.in());
             Tensor xSel = backend.allocate(Shape.of(1, selection.length, h, h), MemoryCategory.ACTIVATION_CACHE);
             Tensor dwSel = backend.allocate(spec.sparseWeightGradShape(selection.length), MemoryCategory.WEIGHT_GRADIENT)) {
            for (int i = 0; i < calls; i++) {
                backend.conv2d(x, w, null, spec, Activation.NONE, y);
                backend.conv2dGather(x, w, null, spec, Activation.NONE, sel, y, xSel);
                backend.conv2dDwSparse(xSel, dy, sel, spec, dwSel);
                backend.conv2dDx(dy, w, spec, dx);
            }
            backend.synchronize();
        }
    }

    /** The JSON key of a density, as Java prints the double (0.01, 0.1, 1.0). */
    static String densityKey(double density) {
        return Double.toString(density);
    }

    private static Map<String, Object> entry(Repetitions.Timing t, long flops, long bytes) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ms", t.medianMillis());
        m.put("min_ms", t.minMillis());
        m.put("reps", t.reps());
        m.put("flops", flops);
        m.put("bytes", bytes);
        m.put("tflops", flops / (t.medianMillis() * 1e9));
        return m;
    }

    private Tensor uniform(SplittableRandom rnd, int... dims) {
        Shape shape = Shape.of(dims);
        float[] a = new float[shape.numel()];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() * 2f - 1f;
        }
        return backend.upload(a, shape, MemoryCategory.DATA);
    }
}
