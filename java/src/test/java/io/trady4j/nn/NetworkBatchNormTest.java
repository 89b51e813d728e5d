package io.trady4j.nn;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A network that trains its BatchNorm: its gradients (conv weights through BN, γ, β, a residual shortcut's BN)
 * against central finite differences of the training-mode loss, its folded parameters against its own
 * inference-mode logits, and its running averages moving with every training pass.
 */
public class NetworkBatchNormTest {
    static Backend backend;
    static final Architecture ARCH = withBatchNorm(NetworkTest.tinyArchitecture());
    static final int BATCH = 4;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(1);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    public static Architecture withBatchNorm(Architecture a) {
        List<BlockSpec> blocks = new ArrayList<>();
        for (BlockSpec b : a.blocks()) {
            List<ConvLayerSpec> convs = b.convs().stream().map(NetworkBatchNormTest::bn).toList();
            blocks.add(new BlockSpec(b.name(), convs, b.shortcut() == null ? null : bn(b.shortcut()), b.residual(),
                    b.afterAdd(), b.maxPoolAfter()));
        }
        return new Architecture(a.name() + "-bn", a.inChannels(), blocks, a.classifier());
    }

    private static ConvLayerSpec bn(ConvLayerSpec c) {
        return new ConvLayerSpec(c.name(), c.conv(), c.activation(), c.name() + ".bn", 1e-5, false);
    }

    static Map<String, float[]> randomBatchNorm(long seed) {
        Random r = new Random(seed);
        Map<String, float[]> m = Network.identityBatchNorm(ARCH);
        for (Map.Entry<String, float[]> e : m.entrySet()) {
            float[] v = e.getValue();
            for (int i = 0; i < v.length; i++) {
                v[i] = e.getKey().endsWith(".weight") ? 1 + 0.3f * (float) r.nextGaussian()
                        : e.getKey().endsWith(".bias") ? 0.2f * (float) r.nextGaussian()
                        : e.getKey().endsWith(".running_var") ? 0.5f + r.nextFloat() : 0.3f * (float) r.nextGaussian();
            }
        }
        return m;
    }

    private static float[] input(long seed) {
        Random r = new Random(seed);
        float[] x = new float[BATCH * 3 * 12 * 12];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private static Map<Integer, int[]> all() {
        Map<Integer, int[]> m = new TreeMap<>();
        for (int l = 0; l < ARCH.convLayers().size(); l++) {
            m.put(l, IntStream.range(0, ARCH.convLayers().get(l).conv().inChannels()).toArray());
        }
        return m;
    }

    /** Training-mode loss of the network with the given parameters and BN state; optionally the gradients as host arrays. */
    private static double loss(Map<String, float[]> params, Map<String, float[]> bn, Map<String, float[]> gradsOut) {
        try (Network net = Network.createWithBatchNorm(backend, ARCH, params, bn);
             Selection sel = Selection.of(backend, ARCH, all());
             Tensor x = backend.upload(input(7), Shape.of(BATCH, 3, 12, 12), MemoryCategory.DATA);
             Tensor y = backend.uploadInts(new int[]{0, 1, 2, 3}, Shape.of(BATCH), MemoryCategory.DATA);
             Gradients g = net.forwardBackward(x, y, sel)) {
            if (gradsOut != null) {
                List<ConvLayerSpec> layers = ARCH.convLayers();
                for (int l = 0; l < layers.size(); l++) {
                    gradsOut.put(layers.get(l).name() + ".weight", backend.toFloatArray(g.layer(l)));
                    gradsOut.put(layers.get(l).batchNorm() + ".weight", backend.toFloatArray(g.batchNormGamma(l)));
                    gradsOut.put(layers.get(l).batchNorm() + ".bias", backend.toFloatArray(g.batchNormBeta(l)));
                }
            }
            return backend.toFloatArray(g.stats())[0];
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Map<String, float[]> params = NetworkTest.randomParameters(ARCH, 3);
        Map<String, float[]> bn = randomBatchNorm(4);
        Map<String, float[]> grads = new LinkedHashMap<>();
        loss(params, bn, grads);
        // the stem (gradient through every BN above it), the shortcut conv, a depthwise conv, and γ/β of several BNs
        String[] keys = {"stem.weight", "b2.down.weight", "b1.dw.weight", "b1.project.weight", "stem.bn.weight",
                "b1.expand.bn.bias", "b1.project.bn.weight", "b2.down.bn.weight", "b2.down.bn.bias", "b2.conv2.bn.bias"};
        double h = 1e-3;
        List<String> bad = new ArrayList<>();
        for (String key : keys) {
            boolean isBn = key.contains(".bn.");
            float[] analytic = grads.get(key);
            double num = 0, den = 0;
            for (int i = 0; i < Math.min(analytic.length, 12); i++) {
                Map<String, float[]> target = isBn ? bn : params;
                float[] v = target.get(key);
                float keep = v[i];
                v[i] = (float) (keep + h);
                double up = loss(params, bn, null);
                v[i] = (float) (keep - h);
                double down = loss(params, bn, null);
                v[i] = keep;
                double fd = (up - down) / (2 * h);
                num += (fd - analytic[i]) * (fd - analytic[i]);
                den += fd * fd;
            }
            double rel = Math.sqrt(num / Math.max(den, 1e-12));
            assertTrue(den > 1e-10, key + ": finite differences are all zero, the check would prove nothing");
            if (!(rel < 2e-2)) {
                bad.add(key + " " + rel);
            }
        }
        assertTrue(bad.isEmpty(), "gradients differ from finite differences (relative): " + bad);
    }

    @Test
    void foldedParametersGiveTheInferenceLogitsAndTrainingMovesTheRunningAverages() {
        Map<String, float[]> params = NetworkTest.randomParameters(ARCH, 5);
        Map<String, float[]> bn = randomBatchNorm(6);
        long baseline = backend.memory().liveBytes();
        try (Network net = Network.createWithBatchNorm(backend, ARCH, params, bn);
             Tensor x = backend.upload(input(8), Shape.of(BATCH, 3, 12, 12), MemoryCategory.DATA)) {
            float[] unfolded;
            try (Tensor l = net.logits(x)) {
                unfolded = backend.toFloatArray(l);
            }
            try (Network folded = Network.create(backend, ARCH, net.foldedParameters()); Tensor l = folded.logits(x)) {
                float[] f = backend.toFloatArray(l);
                for (int i = 0; i < f.length; i++) {
                    assertTrue(Math.abs(f[i] - unfolded[i]) <= 1e-4 * (1 + Math.abs(unfolded[i])),
                            "folded logit " + i + " " + f[i] + " vs " + unfolded[i]);
                }
            }
            float[] before = net.batchNormState().get("stem.bn.running_mean");
            try (Selection sel = Selection.of(backend, ARCH, all());
                 Tensor y = backend.uploadInts(new int[]{0, 1, 2, 3}, Shape.of(BATCH), MemoryCategory.DATA);
                 Gradients g = net.forwardBackward(x, y, sel)) {
                assertTrue(g.batchNormGamma(0) != null);
            }
            float[] after = net.batchNormState().get("stem.bn.running_mean");
            assertFalse(java.util.Arrays.equals(before, after), "a training pass must move the running mean");
        }
        assertEquals(baseline, backend.memory().liveBytes(), "every tensor of the passes is freed");
    }

    @Test
    void aFoldedNetworkHasNoBatchNormGradientsAndMissingStateIsRefused() {
        Map<String, float[]> params = NetworkTest.randomParameters(ARCH, 5);
        Map<String, float[]> bn = randomBatchNorm(6);
        bn.remove("b1.dw.bn.running_var");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Network.createWithBatchNorm(backend, ARCH, params, bn));
        assertTrue(e.getMessage().contains("b1.dw.bn.running_var"), e.getMessage());
        try (Network net = Network.create(backend, ARCH, params)) {
            assertFalse(net.trainsBatchNorm());
            assertTrue(net.batchNormState().isEmpty());
        }
    }
}
