package io.trady4j.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ConvCostTest {

    @Test
    void pointwiseLayer() {
        Layers.Layer l = Layers.byName("mbv2.mix");  // 112 -> 448, 1x1, 4x4 plane
        ConvCost c = new ConvCost(l, 32);
        long macs = 448L * 112 * 16;
        assertEquals(macs, l.macsPerSample());
        assertEquals(2 * 32 * macs, c.forwardFlops());
        assertEquals(c.forwardFlops(), c.denseWeightGradFlops());
        assertEquals(c.forwardFlops(), c.inputGradFlops());
        assertEquals(c.denseWeightGradFlops(), c.sparseWeightGradFlops(112), "all channels = the dense count");
        assertEquals(2L * 32 * 448 * 11 * 16, c.sparseWeightGradFlops(11));
        assertEquals(4L * 32 * 11 * 16, c.cacheBytes(11));
        assertEquals(4L * (32 * 112 * 16 + 448 * 112 + 32 * 448 * 16), c.forwardBytes());
        assertEquals(c.forwardBytes() + c.cacheBytes(11), c.gatherForwardBytes(11));
        assertEquals(4L * (32 * 11 * 16 + 32 * 448 * 16 + 448 * 11), c.sparseWeightGradBytes(11));
    }

    @Test
    void depthwiseLayerCountsOneOutputChannelPerSelectedChannel() {
        Layers.Layer l = Layers.byName("mbv2.b07.dw");  // 144 channels, 3x3, 8x8 plane, stride 1
        ConvCost c = new ConvCost(l, 128);
        assertEquals(2L * 128 * 144 * 9 * 64, c.forwardFlops());
        assertEquals(2L * 128 * 14 * 9 * 64, c.sparseWeightGradFlops(14));
        assertEquals(c.forwardFlops(), c.sparseWeightGradFlops(144));
        assertEquals(4L * (128 * 14 * 64 + 128 * 14 * 64 + 14 * 9), c.sparseWeightGradBytes(14),
                "reads x[:, S] and dy[:, S] only");
    }

    @Test
    void stridedLayerUsesTheOutputPlane() {
        Layers.Layer l = Layers.byName("resnet18.conv1");  // 3 -> 64, 7x7, stride 2, 128 -> 64
        ConvCost c = new ConvCost(l, 2);
        assertEquals(2L * 2 * 64 * 3 * 49 * 64 * 64, c.forwardFlops());
        assertEquals(2L * 2 * 64 * 1 * 49 * 64 * 64, c.sparseWeightGradFlops(1));
    }
}
