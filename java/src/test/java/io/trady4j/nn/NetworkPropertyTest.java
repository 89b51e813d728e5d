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

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Properties of the training engine on random small architectures (plain, grouped, depthwise, dilated
 * and strided convs, inverted-residual and shortcut blocks, max pooling) and random selections:
 * <ul>
 *   <li>the forward pass (loss, accuracy) does not depend on the selection;</li>
 *   <li>the sparse weight gradients of a selection, computed with the backward pass truncated at the
 *       deepest selected layer, equal the matching slices of the full gradient (full backward);</li>
 *   <li>frozen layers get no gradient and the classifier's gradient does not depend on the selection;</li>
 *   <li>only the selected input channels are cached: the activation-cache peak is exactly
 *       Σ_selected B·|S|·H·W plus the classifier input;</li>
 *   <li>SGD changes exactly the selected slices (by −lr·g) and nothing else;</li>
 *   <li>everything a pass allocates is freed.</li>
 * </ul>
 * (The per-op float64 property tests of the CPU backend live with the backend.)
 */
class NetworkPropertyTest {
    private static final int CASES = 400;
    private final Backend backend = new CpuBackend(2);

    @AfterEach
    void close() {
        backend.close();
    }

    private record Case(Architecture arch, int resolution, int batch) {
    }

    private static ConvLayerSpec conv(Random r, String name, int in, int out, int groups, int kernel, int stride, int dilation,
                                      Activation act) {
        int pad = dilation * (kernel - 1) / 2;
        return new ConvLayerSpec(name, new Conv2dSpec(in, out, kernel, stride, pad, dilation, groups), act, null, 0, true);
    }

    private static Activation activation(Random r) {
        return Activation.values()[r.nextInt(Activation.values().length)];
    }

    /** A random architecture whose spatial size stays >= 1 (every conv pads to "same" before striding). */
    private static Case randomCase(Random r) {
        int res = 6 + r.nextInt(7);
        int channels = 3;
        int size = res;
        List<BlockSpec> blocks = new ArrayList<>();
        int nBlocks = 1 + r.nextInt(4);
        for (int b = 0; b < nBlocks; b++) {
            String n = "b" + b;
            int kind = r.nextInt(4);
            MaxPoolSpec pool = r.nextInt(5) == 0 && size >= 3 ? new MaxPoolSpec(3, 2, 1) : null;
            if (kind == 0 || b == 0) {
                // plain: 1-2 convs, maybe grouped, maybe strided or dilated
                List<ConvLayerSpec> convs = new ArrayList<>();
                int n1 = 1 + r.nextInt(2);
                for (int j = 0; j < n1; j++) {
                    int out = 2 + r.nextInt(7);
                    int groups = (channels % 2 == 0 && out % 2 == 0 && r.nextBoolean()) ? 2 : 1;
                    int k = r.nextBoolean() ? 3 : 1;
                    int stride = size >= 4 && r.nextInt(3) == 0 ? 2 : 1;
                    int dil = k == 3 && r.nextInt(4) == 0 ? 2 : 1;
                    convs.add(conv(r, n + ".c" + j, channels, out, groups, k, stride, dil, activation(r)));
                    channels = out;
                    size = (size - 1) / stride + 1;
                }
                blocks.add(new BlockSpec(n, convs, null, false, Activation.NONE, pool));
            } else if (kind == 1 || kind == 2) {
                // inverted residual: expand 1x1, depthwise 3x3, project 1x1 (linear), identity shortcut
                int hidden = channels * (1 + r.nextInt(3));
                List<ConvLayerSpec> convs = List.of(
                        conv(r, n + ".expand", channels, hidden, 1, 1, 1, 1, Activation.RELU6),
                        conv(r, n + ".dw", hidden, hidden, hidden, 3, 1, r.nextInt(3) == 0 ? 2 : 1, Activation.RELU6),
                        conv(r, n + ".project", hidden, channels, 1, 1, 1, 1, Activation.NONE));
                blocks.add(new BlockSpec(n, convs, null, true, kind == 2 ? Activation.RELU : Activation.NONE, pool));
            } else {
                // basic block with a strided 1x1 shortcut conv
                int out = 2 + r.nextInt(7);
                int stride = size >= 4 && r.nextBoolean() ? 2 : 1;
                List<ConvLayerSpec> convs = List.of(
                        conv(r, n + ".conv1", channels, out, 1, 3, stride, 1, Activation.RELU),
                        conv(r, n + ".conv2", out, out, 1, 3, 1, 1, Activation.NONE));
                ConvLayerSpec down = conv(r, n + ".down", channels, out, 1, 1, stride, 1, Activation.NONE);
                blocks.add(new BlockSpec(n, convs, down, true, Activation.RELU, pool));
                channels = out;
                size = (size - 1) / stride + 1;
            }
            if (pool != null) {
                size = (size + 2 - 3) / 2 + 1;
            }
        }
        int classes = 2 + r.nextInt(4);
        Architecture arch = new Architecture("random", 3, blocks, new LinearLayerSpec("fc", channels, classes, true));
        return new Case(arch, res, 1 + r.nextInt(3));
    }

    private static Map<Integer, int[]> randomSelection(Random r, Architecture arch) {
        List<ConvLayerSpec> layers = arch.convLayers();
        Map<Integer, int[]> m = new TreeMap<>();
        int wanted = r.nextInt(layers.size() + 1);
        for (int i = 0; i < wanted; i++) {
            int l = r.nextInt(layers.size());
            int c = layers.get(l).conv().inChannels();
            m.put(l, r.ints(0, c).distinct().limit(1 + r.nextInt(c)).sorted().toArray());
        }
        return m;
    }

    private static Map<Integer, int[]> all(Architecture arch) {
        Map<Integer, int[]> m = new TreeMap<>();
        List<ConvLayerSpec> layers = arch.convLayers();
        for (int l = 0; l < layers.size(); l++) {
            m.put(l, java.util.stream.IntStream.range(0, layers.get(l).conv().inChannels()).toArray());
        }
        return m;
    }

    private Tensor randomInput(Random r, int batch, int res) {
        float[] v = new float[batch * 3 * res * res];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return backend.upload(v, Shape.of(batch, 3, res, res), MemoryCategory.DATA);
    }

    @Test
    void sparseTruncatedGradientsAreSlicesOfTheFullGradientOnRandomArchitectures() {
        Random rng = new Random(20260601L);
        for (int n = 0; n < CASES; n++) {
            long seed = rng.nextLong();
            try {
                check(new Random(seed));
            } catch (AssertionError | RuntimeException e) {
                Case c = randomCase(new Random(seed));
                fail("case " + n + " (seed " + seed + ", " + describe(c) + "): " + e, e);
            }
        }
    }

    private void check(Random r) {
        Case c = randomCase(r);
        Architecture arch = c.arch();
        Map<String, float[]> params = NetworkTest.randomParameters(arch, r.nextLong());
        Map<Integer, int[]> chosen = randomSelection(r, arch);
        List<ConvLayerSpec> layers = arch.convLayers();
        int classes = arch.classifier().out();
        try (Network net = Network.create(backend, arch, params);
             Tensor x = randomInput(r, c.batch(), c.resolution());
             Tensor labels = backend.uploadInts(r.ints(c.batch(), 0, classes).toArray(), Shape.of(c.batch()), MemoryCategory.DATA);
             Selection full = Selection.of(backend, arch, all(arch));
             Selection part = Selection.of(backend, arch, chosen)) {
            long baseline = backend.memory().liveBytes();
            float[] fullStats;
            Map<Integer, float[]> fullGrads = new HashMap<>();
            float[] fullCls;
            try (Gradients g = net.forwardBackward(x, labels, full)) {
                fullStats = backend.toFloatArray(g.stats());
                for (int l = 0; l < layers.size(); l++) {
                    fullGrads.put(l, backend.toFloatArray(g.layer(l)));
                }
                fullCls = backend.toFloatArray(g.classifierWeight());
            }
            assertEquals(baseline, backend.memory().liveBytes(), "the full pass leaked");

            backend.memory().resetPeaks();
            Map<String, float[]> before = net.parameters();
            try (Gradients g = net.forwardBackward(x, labels, part)) {
                assertArrayEquals(fullStats, backend.toFloatArray(g.stats()), "the forward pass depends on the selection");
                assertArrayEquals(fullCls, backend.toFloatArray(g.classifierWeight()), 1e-6f, "classifier gradient");
                long expectedCache = 4L * c.batch() * arch.classifier().in();
                List<LayerGeometry> geo = arch.geometry(c.resolution());
                for (int l = 0; l < layers.size(); l++) {
                    if (!chosen.containsKey(l)) {
                        assertNull(g.layer(l), "frozen layer " + l + " got a gradient");
                        continue;
                    }
                    int[] sel = chosen.get(l);
                    Conv2dSpec s = layers.get(l).conv();
                    int d2 = s.kernel() * s.kernel(), mg = s.outPerGroup();
                    float[] f = fullGrads.get(l);
                    float[] expected = new float[mg * sel.length * d2];
                    for (int j = 0; j < sel.length; j++) {
                        for (int o = 0; o < mg; o++) {
                            System.arraycopy(f, (o * s.inChannels() + sel[j]) * d2, expected, (o * sel.length + j) * d2, d2);
                        }
                    }
                    float[] got = backend.toFloatArray(g.layer(l));
                    for (int i = 0; i < got.length; i++) {
                        float tol = 1e-5f + 1e-4f * Math.abs(expected[i]);
                        if (Math.abs(got[i] - expected[i]) > tol) {
                            fail("layer " + layers.get(l).name() + " " + s + " element " + i + ": " + got[i] + " vs full "
                                    + expected[i]);
                        }
                    }
                    expectedCache += 4L * c.batch() * sel.length * geo.get(l).inHeight() * geo.get(l).inWidth();
                }
                assertEquals(expectedCache, backend.memory().peakBytes(MemoryCategory.ACTIVATION_CACHE),
                        "activation cache holds more than the selected channels");

                float lr = 0.25f;
                SgdStep step = new SgdStep(lr, 0f, 0f);
                net.applySgd(g, part, step, step, null);
                Map<String, float[]> after = net.parameters();
                for (int l = 0; l < layers.size(); l++) {
                    String key = layers.get(l).name() + ".weight";
                    checkUpdate(layers.get(l).conv(), chosen.get(l), chosen.containsKey(l) ? backend.toFloatArray(g.layer(l)) : null,
                            before.get(key), after.get(key), lr, key);
                    String bias = layers.get(l).name() + ".bias";
                    assertArrayEquals(before.get(bias), after.get(bias), bias + " must stay frozen");
                }
            }
            assertEquals(baseline, backend.memory().liveBytes(), "the sparse pass leaked");
        }
        assertEquals(0, backend.memory().liveBytes());
    }

    @Test
    void convBiasGradientsMatchFiniteDifferencesDoNotDependOnTheSelectionAndMoveOnlyTheBiasesReached() {
        Random rng = new Random(20261203L);
        for (int n = 0; n < 40; n++) {
            long seed = rng.nextLong();
            try {
                checkBiases(new Random(seed));
            } catch (AssertionError | RuntimeException e) {
                fail("case " + n + " (seed " + seed + ", " + describe(randomCase(new Random(seed))) + "): " + e, e);
            }
        }
    }

    private void checkBiases(Random r) {
        Case c = randomCase(r);
        Architecture arch = c.arch();
        Map<String, float[]> params = NetworkTest.randomParameters(arch, r.nextLong());
        Map<Integer, int[]> chosen = randomSelection(r, arch);
        List<ConvLayerSpec> layers = arch.convLayers();
        int classes = arch.classifier().out();
        int[] labelValues = r.ints(c.batch(), 0, classes).toArray();
        try (Tensor x = randomInput(r, c.batch(), c.resolution());
             Tensor labels = backend.uploadInts(labelValues, Shape.of(c.batch()), MemoryCategory.DATA);
             Network net = Network.create(backend, arch, params);
             Selection full = Selection.of(backend, arch, all(arch), true);
             Selection part = Selection.of(backend, arch, chosen, true)) {
            Map<Integer, float[]> fullBias = new HashMap<>();
            try (Gradients g = net.forwardBackward(x, labels, full)) {
                for (int l = 0; l < layers.size(); l++) {
                    fullBias.put(l, backend.toFloatArray(g.convBias(l)));
                }
            }
            // central differences of the mean loss for two biases of two layers
            float eps = 2e-3f;
            for (int k = 0; k < 2; k++) {
                int l = r.nextInt(layers.size());
                int o = r.nextInt(layers.get(l).conv().outChannels());
                String name = layers.get(l).name() + ".bias";
                double[] loss = new double[2];
                for (int side = 0; side < 2; side++) {
                    Map<String, float[]> p = new LinkedHashMap<>(params);
                    float[] b = params.get(name).clone();
                    b[o] += side == 0 ? eps : -eps;
                    p.put(name, b);
                    try (Network shifted = Network.create(backend, arch, p); Tensor stats = shifted.evaluate(x, labels)) {
                        loss[side] = backend.toFloatArray(stats)[0];
                    }
                }
                double fd = (loss[0] - loss[1]) / (2 * eps);
                float got = fullBias.get(l)[o];
                assertEquals(fd, got, 2e-3 + 5e-2 * Math.abs(fd), name + "[" + o + "] vs finite differences");
            }
            long baseline = backend.memory().liveBytes();
            Map<String, float[]> before = net.parameters();
            try (Gradients g = net.forwardBackward(x, labels, part)) {
                // the backward pass reaches exactly the layers from the earliest trained one to the output
                int earliest = chosen.keySet().stream().mapToInt(i -> i).min().orElse(layers.size());
                for (int l = 0; l < layers.size(); l++) {
                    assertEquals(l >= earliest, g.convBias(l) != null, "bias gradient of layer " + l + " (earliest trained "
                            + earliest + ")");
                    if (g.convBias(l) != null) {
                        assertArrayEquals(fullBias.get(l), backend.toFloatArray(g.convBias(l)), 1e-5f,
                                "the bias gradient of layer " + l + " depends on the selection");
                    }
                }
                SgdStep step = new SgdStep(0.5f, 0f, 0f);
                net.applySgd(g, part, step, step, null);
                Map<String, float[]> after = net.parameters();
                for (int l = 0; l < layers.size(); l++) {
                    String name = layers.get(l).name() + ".bias";
                    if (g.convBias(l) == null) {
                        assertArrayEquals(before.get(name), after.get(name), name + " was not reached and must stay");
                        continue;
                    }
                    float[] db = backend.toFloatArray(g.convBias(l));
                    for (int o = 0; o < db.length; o++) {
                        assertEquals(before.get(name)[o] - 0.5f * db[o], after.get(name)[o], 1e-6f, name + "[" + o + "]");
                    }
                }
            }
            assertEquals(baseline, backend.memory().liveBytes(), "the pass with bias gradients leaked");
        }
        assertEquals(0, backend.memory().liveBytes());
    }

    /** Unselected weights are untouched bit for bit; selected ones moved by −lr·g. */
    private static void checkUpdate(Conv2dSpec s, int[] sel, float[] g, float[] w0, float[] w1, float lr, String what) {
        int d2 = s.kernel() * s.kernel(), cg = s.inPerGroup(), mg = s.outPerGroup();
        Map<Integer, Integer> position = new LinkedHashMap<>();
        if (sel != null) {
            for (int j = 0; j < sel.length; j++) {
                position.put(sel[j], j);
            }
        }
        for (int oc = 0; oc < s.outChannels(); oc++) {
            for (int cl = 0; cl < cg; cl++) {
                int c = (oc / mg) * cg + cl;
                for (int k = 0; k < d2; k++) {
                    int e = (oc * cg + cl) * d2 + k;
                    Integer j = position.get(c);
                    if (j == null) {
                        if (Float.floatToRawIntBits(w0[e]) != Float.floatToRawIntBits(w1[e])) {
                            fail(what + "[" + e + "] of unselected channel " + c + " changed");
                        }
                    } else {
                        float grad = g[((oc % mg) * sel.length + j) * d2 + k];
                        float expected = w0[e] - lr * grad;
                        assertEquals(expected, w1[e], 1e-6f * Math.max(1, Math.abs(expected)), what + "[" + e + "]");
                    }
                }
            }
        }
    }

    static String describe(Case c) {
        StringBuilder sb = new StringBuilder("input " + c.batch() + "x3x" + c.resolution() + "x" + c.resolution() + ":");
        for (BlockSpec b : c.arch().blocks()) {
            sb.append(" [").append(b.name()).append(b.residual() ? " residual" : "");
            for (ConvLayerSpec l : b.convs()) {
                sb.append(" ").append(l.conv()).append(" ").append(l.activation());
            }
            if (b.shortcut() != null) {
                sb.append(" shortcut ").append(b.shortcut().conv());
            }
            if (b.maxPoolAfter() != null) {
                sb.append(" maxpool");
            }
            sb.append("]");
        }
        return sb.toString();
    }

    @Test
    void randomArchitecturesAreValid() {
        Random r = new Random(5);
        for (int i = 0; i < 200; i++) {
            Case c = randomCase(r);
            assertTrue(c.arch().geometry(c.resolution()).size() == c.arch().convLayers().size());
        }
    }
}
