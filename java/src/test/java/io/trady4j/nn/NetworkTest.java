package io.trady4j.nn;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

public class NetworkTest {
    private final Backend backend = new CpuBackend(2);

    @AfterEach
    void close() {
        backend.close();
    }

    /** Stem (ReLU6) + max-pool, an inverted-residual block, a ResNet-style block with a 1×1 shortcut and ReLU after the add. */
    public static Architecture tinyArchitecture() {
        ConvLayerSpec stem = new ConvLayerSpec("stem", new Conv2dSpec(3, 6, 3, 1, 1, 1, 1), Activation.RELU6, null, 0, true);
        BlockSpec b0 = new BlockSpec("b0", List.of(stem), null, false, Activation.NONE, new MaxPoolSpec(3, 2, 1));
        BlockSpec b1 = new BlockSpec("b1", List.of(
                new ConvLayerSpec("b1.expand", Conv2dSpec.of(6, 12, 1, 1, 0), Activation.RELU6, null, 0, true),
                new ConvLayerSpec("b1.dw", new Conv2dSpec(12, 12, 3, 1, 2, 2, 12), Activation.RELU6, null, 0, true),
                new ConvLayerSpec("b1.project", Conv2dSpec.of(12, 6, 1, 1, 0), Activation.NONE, null, 0, true)),
                null, true, Activation.NONE, null);
        BlockSpec b2 = new BlockSpec("b2", List.of(
                new ConvLayerSpec("b2.conv1", Conv2dSpec.of(6, 8, 3, 2, 1), Activation.RELU, null, 0, true),
                new ConvLayerSpec("b2.conv2", new Conv2dSpec(8, 8, 3, 1, 1, 1, 2), Activation.NONE, null, 0, true)),
                new ConvLayerSpec("b2.down", Conv2dSpec.of(6, 8, 1, 2, 0), Activation.NONE, null, 0, true),
                true, Activation.RELU, null);
        return new Architecture("tiny", 3, List.of(b0, b1, b2), new LinearLayerSpec("fc", 8, 4, true));
    }

    public static Map<String, float[]> randomParameters(Architecture arch, long seed) {
        Random r = new Random(seed);
        Map<String, float[]> p = new LinkedHashMap<>();
        for (ConvLayerSpec c : arch.convLayers()) {
            Conv2dSpec s = c.conv();
            float scale = (float) Math.sqrt(2.0 / (s.inPerGroup() * s.kernel() * s.kernel()));
            p.put(c.name() + ".weight", gaussian(r, s.weightShape().numel(), scale));
            p.put(c.name() + ".bias", gaussian(r, s.outChannels(), 0.1f));
        }
        LinearLayerSpec cls = arch.classifier();
        p.put(cls.name() + ".weight", gaussian(r, cls.in() * cls.out(), 0.5f));
        p.put(cls.name() + ".bias", gaussian(r, cls.out(), 0.1f));
        return p;
    }

    private static float[] gaussian(Random r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian() * scale;
        }
        return v;
    }

    private static Map<Integer, int[]> allChannels(Architecture arch) {
        Map<Integer, int[]> m = new HashMap<>();
        List<ConvLayerSpec> layers = arch.convLayers();
        for (int i = 0; i < layers.size(); i++) {
            int[] all = new int[layers.get(i).conv().inChannels()];
            for (int c = 0; c < all.length; c++) {
                all[c] = c;
            }
            m.put(i, all);
        }
        return m;
    }

    private Tensor input(int batch, long seed) {
        return backend.upload(gaussian(new Random(seed), batch * 3 * 11 * 11, 1f), Shape.of(batch, 3, 11, 11), MemoryCategory.DATA);
    }

    private float loss(Network net, Tensor x, Tensor labels) {
        try (Tensor stats = net.evaluate(x, labels)) {
            return backend.toFloatArray(stats)[0];
        }
    }

    @Test
    void fullGradientsMatchFiniteDifferences() {
        Architecture arch = tinyArchitecture();
        Map<String, float[]> params = randomParameters(arch, 1);
        Random pick = new Random(7);
        try (Tensor x = input(3, 2);
             Tensor labels = backend.uploadInts(new int[]{0, 3, 1}, Shape.of(3), MemoryCategory.DATA);
             Network net = Network.create(backend, arch, params);
             Selection all = Selection.of(backend, arch, allChannels(arch));
             Gradients g = net.forwardBackward(x, labels, all)) {
            assertEquals(loss(net, x, labels), backend.toFloatArray(g.stats())[0], 1e-6);
            List<ConvLayerSpec> layers = arch.convLayers();
            for (int li = 0; li < layers.size(); li++) {
                float[] analytic = backend.toFloatArray(g.layer(li));
                String key = layers.get(li).name() + ".weight";
                for (int trial = 0; trial < 4; trial++) {
                    int e = pick.nextInt(analytic.length);
                    double numeric = finiteDifference(arch, params, key, e, x, labels);
                    float got = analytic[sparseOffset(layers.get(li).conv(), e)];
                    assertEquals(numeric, got, 2e-3 + 2e-2 * Math.abs(numeric), () -> key + "[" + e + "]");
                }
            }
        }
    }

    /** Offset in the sparse-gradient layout [C'/g, C, D, D] (all channels selected) of weight element e of [C', C/g, D, D]. */
    private static int sparseOffset(Conv2dSpec s, int e) {
        int d2 = s.kernel() * s.kernel(), cg = s.inPerGroup(), mg = s.outPerGroup();
        int k = e % d2, cl = (e / d2) % cg, og = e / (d2 * cg);
        int g = og / mg, o = og % mg;
        return (o * s.inChannels() + g * cg + cl) * d2 + k;
    }

    private double finiteDifference(Architecture arch, Map<String, float[]> params, String key, int e, Tensor x,
                                    Tensor labels) {
        float h = 2e-4f;
        double[] l = new double[2];
        for (int side = 0; side < 2; side++) {
            Map<String, float[]> p = new HashMap<>(params);
            float[] w = p.get(key).clone();
            w[e] += side == 0 ? h : -h;
            p.put(key, w);
            try (Network n = Network.create(backend, arch, p)) {
                l[side] = loss(n, x, labels);
            }
        }
        return (l[0] - l[1]) / (2 * h);
    }

    @Test
    void sparseGradientsAreSlicesOfTheFullGradient() {
        Architecture arch = tinyArchitecture();
        Map<String, float[]> params = randomParameters(arch, 3);
        Map<Integer, int[]> sparse = Map.of(1, new int[]{2, 5}, 2, new int[]{0, 7, 11}, 5, new int[]{4}, 4, new int[]{1, 3, 5});
        try (Tensor x = input(2, 4);
             Tensor labels = backend.uploadInts(new int[]{2, 1}, Shape.of(2), MemoryCategory.DATA);
             Network net = Network.create(backend, arch, params);
             Selection all = Selection.of(backend, arch, allChannels(arch));
             Selection some = Selection.of(backend, arch, sparse);
             Gradients full = net.forwardBackward(x, labels, all);
             Gradients part = net.forwardBackward(x, labels, some)) {
            List<ConvLayerSpec> layers = arch.convLayers();
            for (int li = 0; li < layers.size(); li++) {
                if (!sparse.containsKey(li)) {
                    assertNull(part.layer(li), "frozen layer " + li + " got a gradient");
                    continue;
                }
                Conv2dSpec s = layers.get(li).conv();
                float[] f = backend.toFloatArray(full.layer(li));
                float[] p = backend.toFloatArray(part.layer(li));
                int[] sel = sparse.get(li);
                int d2 = s.kernel() * s.kernel(), cg = s.inPerGroup(), mg = s.outPerGroup();
                float[] expected = new float[mg * sel.length * d2];
                for (int j = 0; j < sel.length; j++) {
                    for (int o = 0; o < mg; o++) {
                        System.arraycopy(f, (o * s.inChannels() + sel[j]) * d2, expected, (o * sel.length + j) * d2, d2);
                    }
                }
                assertArrayEquals(expected, p, 1e-5f, "layer " + layers.get(li).name());
                assertEquals(cg * s.groups(), s.inChannels());
            }
            assertArrayEquals(backend.toFloatArray(full.classifierWeight()), backend.toFloatArray(part.classifierWeight()), 1e-6f);
        }
    }

    @Test
    void backwardStopsAtTheDeepestSelectedLayerAndCachesOnlySelectedChannels() {
        Architecture arch = tinyArchitecture();
        try (Tensor x = input(4, 5);
             Tensor labels = backend.uploadInts(new int[]{0, 1, 2, 3}, Shape.of(4), MemoryCategory.DATA);
             Network net = Network.create(backend, arch, randomParameters(arch, 5));
             Selection last = Selection.of(backend, arch, Map.of(6, new int[]{0, 1}))) {
            long before = backend.memory().liveBytes();
            backend.memory().resetPeaks();
            try (Gradients g = net.forwardBackward(x, labels, last)) {
                assertNotNull(g.layer(6));
                // b2.down (layer 6) reads the 6×6 block input: only 2 of its 6 channels are cached, plus the classifier input.
                long expectedCache = 4L * (4 * 2 * 6 * 6) + 4L * (4 * 8);
                assertEquals(expectedCache, backend.memory().peakBytes(MemoryCategory.ACTIVATION_CACHE));
            }
            assertEquals(before, backend.memory().liveBytes(), "a pass leaked memory");
        }
    }

    @Test
    void sgdChangesOnlySelectedSlices() {
        Architecture arch = tinyArchitecture();
        Map<String, float[]> params = randomParameters(arch, 9);
        try (Tensor x = input(2, 6);
             Tensor labels = backend.uploadInts(new int[]{1, 2}, Shape.of(2), MemoryCategory.DATA);
             Network net = Network.create(backend, arch, params);
             Selection sel = Selection.of(backend, arch, Map.of(2, new int[]{3, 8}))) {
            try (Gradients g = net.forwardBackward(x, labels, sel)) {
                SgdStep step = new SgdStep(0.5f, 0f, 0f);
                net.applySgd(g, sel, step, step, null);
            }
            Map<String, float[]> after = net.parameters();
            float[] w0 = params.get("b1.dw.weight"), w1 = after.get("b1.dw.weight");
            for (int c = 0; c < 12; c++) {
                boolean selected = c == 3 || c == 8;
                boolean changed = false;
                for (int k = 0; k < 9; k++) {
                    changed |= w0[c * 9 + k] != w1[c * 9 + k];
                }
                assertEquals(selected, changed, "depthwise channel " + c);
            }
            assertArrayEquals(params.get("b1.expand.weight"), after.get("b1.expand.weight"));
            assertTrue(!java.util.Arrays.equals(params.get("fc.weight"), after.get("fc.weight")), "classifier must train");
        }
    }
}
