package io.trady4j.nn;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.io.FormatException;
import io.trady4j.io.SafeTensors;
import io.trady4j.models.ModelZoo;
import io.trady4j.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostWeightsTest {
    @TempDir
    Path dir;

    /** conv a: 2 -> 3, 1x1, BN; conv b: 3 -> 2, 1x1, conv bias, no BN; classifier 2 -> 2. */
    private static Architecture tiny(int classes) {
        ConvLayerSpec a = new ConvLayerSpec("a", Conv2dSpec.of(2, 3, 1, 1, 0), Activation.NONE, "a_bn", 0.5, false);
        ConvLayerSpec b = new ConvLayerSpec("b", Conv2dSpec.of(3, 2, 1, 1, 0), Activation.NONE, null, 0, true);
        return new Architecture("tiny", 2, List.of(BlockSpec.plain("blk", List.of(a, b))),
                new LinearLayerSpec("fc", 2, classes, true));
    }

    private Path tinyStateDict(String prefix, int classes, boolean withExtra) throws IOException {
        SafeTensors.Writer w = new SafeTensors.Writer()
                .put(prefix + "a.weight", Shape.of(3, 2, 1, 1), new float[]{1, 2, 3, 4, 5, 6})
                .put(prefix + "a_bn.weight", Shape.of(3), new float[]{2, 1, 0.5f})
                .put(prefix + "a_bn.bias", Shape.of(3), new float[]{0.1f, 0.2f, 0.3f})
                .put(prefix + "a_bn.running_mean", Shape.of(3), new float[]{1, -1, 0})
                .put(prefix + "a_bn.running_var", Shape.of(3), new float[]{3.5f, 1.5f, 0.5f})
                .putInts(prefix + "a_bn.num_batches_tracked", Shape.of(1), new int[]{3})
                .put(prefix + "b.weight", Shape.of(2, 3, 1, 1), new float[]{1, 1, 1, 2, 2, 2})
                .put(prefix + "b.bias", Shape.of(2), new float[]{7, 8})
                .put(prefix + "fc.weight", Shape.of(classes, 2), new float[2 * classes])
                .put(prefix + "fc.bias", Shape.of(classes), new float[classes]);
        if (withExtra) {
            w.put(prefix + "stray.weight", Shape.of(1), new float[]{1});
        }
        Path p = dir.resolve("sd.safetensors");
        w.write(p);
        return p;
    }

    @Test
    void aFreshClassifierIsRandomsHeadOnTheSameFeaturesInTheSameOrAnotherHeadSize() {
        Architecture five = ModelZoo.build("mbv2-w0.35", 5, 1.0), ten = ModelZoo.build("mbv2-w0.35", 10, 1.0);
        HostWeights base = HostWeights.random(five, 1);
        for (Architecture arch : List.of(five, ten)) {
            HostWeights fresh = base.withFreshClassifier(arch, 7);
            HostWeights head = HostWeights.random(arch, 7);
            assertArrayEquals(head.classifierWeight(), fresh.classifierWeight());
            assertArrayEquals(head.classifierBias(), fresh.classifierBias());
            for (ConvLayerSpec c : five.convLayers()) {
                assertArrayEquals(base.parameters().get(c.name() + ".weight"), fresh.parameters().get(c.name() + ".weight"), c.name());
            }
        }
        assertNotEquals(java.util.Arrays.toString(base.classifierWeight()),
                java.util.Arrays.toString(base.withFreshClassifier(five, 7).classifierWeight()));
    }

    @Test
    void foldsBatchNormIntoWeightAndBias() throws IOException {
        for (String prefix : new String[]{"", "module."}) {
            HostWeights h = HostWeights.fromStateDict(tiny(2), SafeTensors.read(tinyStateDict(prefix, 2, false)));
            // scale = gamma / sqrt(var + 0.5) = {2/2, 1/sqrt(2), 0.5/1}
            double s1 = 1 / Math.sqrt(2);
            assertArrayEquals(new float[]{1, 2, (float) (3 * s1), (float) (4 * s1), 2.5f, 3}, h.convWeight("a"), 1e-6f);
            // bias = beta - mean * scale
            assertArrayEquals(new float[]{0.1f - 1, (float) (0.2 + s1), 0.3f}, h.convBias("a"), 1e-6f);
            assertArrayEquals(new float[]{1, 1, 1, 2, 2, 2}, h.convWeight("b"));
            assertArrayEquals(new float[]{7, 8}, h.convBias("b"));
            assertEquals(List.of(), h.notes());
        }
    }

    @Test
    void namesEveryMissingMismatchedAndUnexpectedKey() throws IOException {
        Path p = dir.resolve("bad.safetensors");
        new SafeTensors.Writer()
                .put("a.weight", Shape.of(3, 2, 3, 3), new float[54])
                .put("a_bn.weight", Shape.of(3), new float[3])
                .put("b.weight", Shape.of(2, 3, 1, 1), new float[6])
                .put("extra", Shape.of(2), new float[2])
                .write(p);
        FormatException e = assertThrows(FormatException.class,
                () -> HostWeights.fromStateDict(tiny(2), SafeTensors.read(p)));
        String m = e.getMessage();
        for (String s : new String[]{"a.weight has shape [3x2x3x3], expected [3x2x1x1]",
                "missing key a_bn.bias", "missing key a_bn.running_mean", "missing key a_bn.running_var",
                "missing key b.bias", "unexpected key extra"}) {
            assertTrue(m.contains(s), "message lacks '" + s + "': " + m);
        }
        assertThrows(FormatException.class,
                () -> HostWeights.fromStateDict(tiny(2), SafeTensors.read(tinyStateDict("", 2, true))));
    }

    @Test
    void reinitialisesAClassifierOfAnotherShapeWithANote() throws IOException {
        HostWeights h = HostWeights.fromStateDict(tiny(5), SafeTensors.read(tinyStateDict("", 2, false)), 42);
        assertEquals(1, h.notes().size());
        assertTrue(h.notes().getFirst().contains("fc re-initialised"), h.notes().getFirst());
        assertTrue(h.notes().getFirst().contains("5x2") && h.notes().getFirst().contains("[2x2]"), h.notes().getFirst());
        assertEquals(10, h.classifierWeight().length);
        assertArrayEquals(new float[5], h.classifierBias());
        // The re-initialised classifier is the one random(seed) draws.
        assertArrayEquals(HostWeights.random(tiny(5), 42).classifierWeight(), h.classifierWeight());
    }

    @Test
    void randomInitIsSeededAndScaledLikeTorchvision() {
        Architecture arch = ModelZoo.build("resnet18", 10);
        HostWeights a = HostWeights.random(arch, 7), b = HostWeights.random(arch, 7), c = HostWeights.random(arch, 8);
        assertArrayEquals(a.convWeight("layer3.1.conv2"), b.convWeight("layer3.1.conv2"));
        assertArrayEquals(a.classifierWeight(), b.classifierWeight());
        assertNotEquals(a.convWeight("conv1")[0], c.convWeight("conv1")[0]);
        // layer3.1.conv2: [256, 256, 3, 3], fan_out = 256 * 9, std = sqrt(2 / 2304)
        assertEquals(Math.sqrt(2.0 / 2304), std(a.convWeight("layer3.1.conv2")), 0.01 * Math.sqrt(2.0 / 2304));
        assertEquals(0.01, std(a.classifierWeight()), 0.001);
        assertArrayEquals(new float[256], a.convBias("layer3.1.conv2"));
        assertArrayEquals(new float[10], a.classifierBias());
        // Depthwise: fan_out = C' * D^2 (as PyTorch computes it for a [C, 1, D, D] weight).
        HostWeights m = HostWeights.random(ModelZoo.build("mobilenet_v2"), 1);
        assertEquals(Math.sqrt(2.0 / (960 * 9)), std(m.convWeight("features.17.conv.1.0")), 0.02 * Math.sqrt(2.0 / (960 * 9)));
    }

    private static double std(float[] a) {
        double s = 0, s2 = 0;
        for (float v : a) {
            s += v;
            s2 += (double) v * v;
        }
        double mean = s / a.length;
        return Math.sqrt(s2 / a.length - mean * mean);
    }

    @Test
    void savesAndLoadsFoldedCheckpoints() throws IOException {
        Architecture arch = ModelZoo.build("mcunet-in1", 10);
        HostWeights h = HostWeights.random(arch, 3);
        h.convBias("blocks.3.mobile_inverted_conv.depth_conv.conv")[5] = 1.25f;
        Path p = dir.resolve("ck.safetensors");
        h.save(p, Map.of("epoch", "4"));
        SafeTensors st = SafeTensors.read(p);
        assertEquals(HostWeights.FORMAT_FOLDED, st.metadata().get(HostWeights.FORMAT_KEY));
        assertEquals("4", st.metadata().get("epoch"));
        assertTrue(st.contains("first_conv.conv.weight") && st.contains("first_conv.conv.bias"));
        assertTrue(st.contains("classifier.linear.weight") && st.contains("classifier.linear.bias"));
        assertEquals(2 * arch.convLayers().size() + 2, st.names().size());

        for (HostWeights r : new HostWeights[]{HostWeights.load(arch, p, 0), HostWeights.read(arch, p, 0)}) {
            assertEquals(List.of(), r.notes());
            for (ConvLayerSpec c : arch.convLayers()) {
                assertArrayEquals(h.convWeight(c.name()), r.convWeight(c.name()));
                assertArrayEquals(h.convBias(c.name()), r.convBias(c.name()));
            }
            assertArrayEquals(h.classifierWeight(), r.classifierWeight());
            assertArrayEquals(h.classifierBias(), r.classifierBias());
            assertEquals(arch, r.architecture());
        }
        // Into a model with another class count: the backbone loads, the classifier is re-initialised.
        HostWeights other = HostWeights.load(arch.withClasses(3), p, 9);
        assertEquals(1, other.notes().size());
        assertArrayEquals(h.convWeight("first_conv.conv"), other.convWeight("first_conv.conv"));
        assertEquals(3 * 160, other.classifierWeight().length);
        // A folded checkpoint is not a state dict, and the other way round.
        assertThrows(FormatException.class, () -> HostWeights.load(tiny(2), tinyStateDict("", 2, false), 0));
        assertThrows(FormatException.class, () -> HostWeights.fromStateDict(arch, SafeTensors.read(p)));
    }

    @Test
    void readDispatchesOnTheFormat() throws IOException {
        HostWeights h = HostWeights.read(tiny(2), tinyStateDict("", 2, false), 0);
        assertEquals(1f, h.convWeight("a")[0]);
        assertNull(HostWeights.random(new Architecture("nb", 2, tiny(2).blocks(),
                new LinearLayerSpec("fc", 2, 2, false)), 0).classifierBias());
    }

    @Test
    void copyIsDeep() {
        HostWeights h = HostWeights.random(tiny(2), 0);
        HostWeights c = h.copy();
        c.convWeight("a")[0] += 1;
        c.classifierWeight()[0] += 1;
        assertNotEquals(h.convWeight("a")[0], c.convWeight("a")[0]);
        assertNotEquals(h.classifierWeight()[0], c.classifierWeight()[0]);
    }

    @Test
    void inferenceRunsOnRandomWeights() {
        Architecture arch = ModelZoo.build("mbv2-w0.35", 4);
        try (CpuBackend be = new CpuBackend(2); Network r = Network.create(be, arch, HostWeights.random(arch, 5).parameters())) {
            float[] x = new float[2 * 3 * 32 * 32];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.sin(i * 0.37);
            }
            float[] y;
            try (io.trady4j.tensor.Tensor in = be.upload(x, io.trady4j.tensor.Shape.of(2, 3, 32, 32), io.trady4j.tensor.MemoryCategory.DATA);
                 io.trady4j.tensor.Tensor out = r.logits(in)) {
                y = be.toFloatArray(out);
            }
            assertEquals(8, y.length);
            for (float v : y) {
                assertTrue(Float.isFinite(v));
            }
        }
    }
}
