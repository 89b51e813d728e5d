package io.trady4j.models;

import io.trady4j.backend.Activation;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.BlockSpec;
import io.trady4j.nn.ConvLayerSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelZooTest {
    /** Parameters of the PyTorch model: conv weights (+ bias), BN weight and bias, classifier. */
    private static long torchParameters(Architecture a) {
        long n = 0;
        for (ConvLayerSpec c : a.convLayers()) {
            n += c.conv().weightShape().numel();
            n += c.bias() ? c.conv().outChannels() : 0;
            n += c.batchNorm() != null ? 2L * c.conv().outChannels() : 0;
        }
        return n + (long) a.classifier().in() * a.classifier().out() + (a.classifier().bias() ? a.classifier().out() : 0);
    }

    @Test
    void everyNameBuildsAndHasConsistentGeometry() {
        for (String name : ModelZoo.NAMES) {
            Architecture a = ModelZoo.build(name, 7);
            assertEquals(7, a.classifier().out());
            assertEquals(a.convLayers().size(), a.geometry(128).size(), name);
            assertEquals(3, a.inChannels());
        }
        assertEquals(1000, ModelZoo.build("resnet18").classifier().out());
    }

    @Test
    void parameterCountsMatchTorchvision() {
        // torchvision's documented parameter counts (1000 classes).
        assertEquals(3_504_872, torchParameters(ModelZoo.build("mobilenet_v2")));
        assertEquals(11_689_512, torchParameters(ModelZoo.build("resnet18")));
        assertEquals(21_797_672, torchParameters(ModelZoo.build("resnet34")));
        assertEquals(25_557_032, torchParameters(ModelZoo.build("resnet50")));
    }

    @Test
    void torchvisionMobileNetV2KeepsTheLastConvAt1280UpToWidth1() {
        Architecture a = ModelZoo.build("mobilenet_v2", 10, 0.35);
        assertEquals("mobilenet_v2-w0.35", a.name());
        assertEquals(1280, a.classifier().in());
        assertEquals(16, a.convLayers().getFirst().conv().outChannels());
        assertEquals("features.18.0", a.convLayers().getLast().name());
        assertEquals("features.18.1", a.convLayers().getLast().batchNorm());
        assertEquals("classifier.1", a.classifier().name());
        assertEquals(1792, ModelZoo.build("mobilenet_v2", 10, 1.4).classifier().in());
        // Names of an expanding block and of the first (non-expanding) one.
        List<String> names = a.convLayers().stream().map(ConvLayerSpec::name).toList();
        assertTrue(names.containsAll(List.of("features.1.conv.0.0", "features.1.conv.1", "features.2.conv.0.0",
                "features.2.conv.1.0", "features.2.conv.2")), names.toString());
        for (ConvLayerSpec c : a.convLayers()) {
            assertEquals(1e-5, c.bnEps());
            assertEquals(c.name().endsWith(".conv.1") && c.name().startsWith("features.1.") || c.name().endsWith(".conv.2")
                    ? Activation.NONE : Activation.RELU6, c.activation(), c.name());
        }
    }

    @Test
    void bundledMbv2AgreesWithTheGeneratedTinyTrainingFamily() {
        Architecture json = ModelZoo.build("mbv2-w0.35", 10);
        Architecture gen = CompactModels.build("mbv2-w0.35", ModelZoo.tinyMobileNetV2Description(0.35), 10, true);
        assertEquals(json.blocks(), gen.blocks());
        assertEquals(json.classifier(), gen.classifier());
        assertEquals(448, json.classifier().in());
        assertEquals(448, ModelZoo.makeDivisible(1280 * 0.35, 8));
        // Another width of the same family.
        Architecture w5 = ModelZoo.build("mbv2-w0.5", 10);
        assertEquals(640, w5.classifier().in());
        assertEquals(w5.blocks().size(), json.blocks().size());
    }

    @Test
    void mitNamesAndZeroBlockIndices() {
        Architecture p = ModelZoo.build("proxyless-w0.3", 10);
        List<String> blocks = p.blocks().stream().map(BlockSpec::name).toList();
        assertEquals("first_conv", blocks.getFirst());
        assertEquals("feature_mix_layer", blocks.getLast());
        assertFalse(blocks.contains("blocks.3") || blocks.contains("blocks.4"), blocks.toString());
        assertTrue(blocks.contains("blocks.5") && blocks.contains("blocks.21"), blocks.toString());
        ConvLayerSpec dw5 = p.convLayers().stream()
                .filter(c -> c.name().equals("blocks.5.mobile_inverted_conv.depth_conv.conv")).findFirst().orElseThrow();
        assertEquals(7, dw5.conv().kernel());
        assertEquals(2, dw5.conv().stride());
        assertEquals(3, dw5.conv().padding());
        assertEquals("blocks.5.mobile_inverted_conv.depth_conv.bn", dw5.batchNorm());
        assertEquals(1e-3, dw5.bnEps());
        assertEquals("classifier.linear", p.classifier().name());
        assertEquals(384, p.classifier().in());

        Architecture m = ModelZoo.build("mcunet-in1", 10);
        assertEquals("first_conv.conv", m.convLayers().getFirst().name());
        assertEquals("blocks.0.mobile_inverted_conv.depth_conv.conv", m.convLayers().get(1).name());
        assertEquals("blocks.13.mobile_inverted_conv.point_linear.conv", m.convLayers().getLast().name());
        assertEquals(160, m.classifier().in());
        assertEquals(1e-5, m.convLayers().getFirst().bnEps());
        long residuals = m.blocks().stream().filter(BlockSpec::residual).count();
        assertEquals(7, residuals);
    }

    @Test
    void tinyTrainingVariantWithoutFeatureMix() {
        Architecture a = ModelZoo.paperModel("mbv2-w0.35", 10, false);
        assertEquals(112, a.classifier().in());
        assertEquals("mbv2-w0.35-nofm", a.name());
        assertEquals(ModelZoo.build("mbv2-w0.35").convLayers().size() - 1, a.convLayers().size());
    }

    @Test
    void resnetLayout() {
        Architecture r = ModelZoo.build("resnet50", 10);
        BlockSpec stem = r.blocks().getFirst();
        assertEquals("conv1", stem.convs().getFirst().name());
        assertEquals("bn1", stem.convs().getFirst().batchNorm());
        assertEquals(3, stem.maxPoolAfter().kernel());
        BlockSpec l2 = r.blocks().stream().filter(b -> b.name().equals("layer2.0")).findFirst().orElseThrow();
        assertEquals("layer2.0.downsample.0", l2.shortcut().name());
        assertEquals("layer2.0.downsample.1", l2.shortcut().batchNorm());
        assertEquals(2, l2.convs().get(1).conv().stride());
        assertEquals(Activation.RELU, l2.afterAdd());
        assertEquals(Activation.NONE, l2.convs().getLast().activation());
        BlockSpec l21 = r.blocks().stream().filter(b -> b.name().equals("layer2.1")).findFirst().orElseThrow();
        assertNull(l21.shortcut());
        assertTrue(l21.residual());
        assertEquals("fc", r.classifier().name());
        assertEquals(2048, r.classifier().in());
        assertNull(ModelZoo.build("resnet18").blocks().get(1).shortcut());
    }

    @Test
    void rejectsUnknownNamesAndMisplacedWidths() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelZoo.build("vgg16"));
        for (String n : ModelZoo.NAMES) {
            assertTrue(e.getMessage().contains(n), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ModelZoo.build("resnet18", 10, 0.5));
        assertThrows(IllegalArgumentException.class, () -> ModelZoo.build("mbv2-w0.35", 10, 2));
        assertThrows(IllegalArgumentException.class, () -> ModelZoo.build("mbv2-wx"));
        assertThrows(IllegalArgumentException.class, () -> ModelZoo.build("resnet18", 0));
    }
}
