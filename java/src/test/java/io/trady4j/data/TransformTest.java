package io.trady4j.data;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TransformTest {
    private static final float EPS = 1e-6f;

    @Test
    void upsamplesLikeBilinearWithHalfPixelCentres() {
        // 1×2×2 [[0, 1], [2, 3]] → 4×4; per axis the samples sit at -0.25, 0.25, 0.75, 1.25 → clamped
        float[] out = Resize.bilinear(new float[]{0, 1, 2, 3}, 1, 2, 2, 4, 4);
        float[] w = {0, 0.25f, 0.75f, 1};
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                assertEquals(2 * w[y] + w[x], out[y * 4 + x], EPS, "at " + y + "," + x);
            }
        }
    }

    @Test
    void downsamplesWithAntialiasLikePillow() {
        // 1×1×4 ramp [0, 1, 2, 3] → 1×1×2. Pillow's bilinear filter at scale 2 has support 2:
        // output 0 (centre 1.0) reads pixels 0,1,2 with weights 0.75, 0.75, 0.25 (normalised)
        float[] out = Resize.bilinear(new float[]{0, 1, 2, 3}, 1, 1, 4, 1, 2);
        assertEquals((0 * 0.75f + 1 * 0.75f + 2 * 0.25f) / 1.75f, out[0], EPS);
        assertEquals((1 * 0.25f + 2 * 0.75f + 3 * 0.75f) / 1.75f, out[1], EPS);
        // constants stay constant at any scale; identity at equal size
        float[] c = new float[3 * 7 * 5];
        java.util.Arrays.fill(c, 0.3f);
        for (float v : Resize.bilinear(c, 3, 7, 5, 13, 3)) {
            assertEquals(0.3f, v, EPS);
        }
        float[] img = {0.1f, 0.5f, 0.9f, 0.2f, 0.4f, 0.6f};
        assertArrayEquals(img, Resize.bilinear(img, 1, 2, 3, 2, 3), EPS);
    }

    static InMemoryDataset tiny(int n, int c, int side) {
        byte[] px = new byte[n * c * side * side];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 31 + 7);
        }
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
        }
        return new InMemoryDataset("tiny", px, labels, c, side, side, List.of("a", "b", "c"), null);
    }

    @Test
    void normalisesAndExpandsGrayToThreeChannels() throws IOException {
        InMemoryDataset ds = tiny(2, 1, 4);
        Transform t = Transform.builder(4, 3).normalization(Normalization.gray(0.5f, 0.25f)).build();
        float[] out = new float[t.floatsPerImage()];
        t.worker().apply(ds, 1, 0, 0, out, 0);
        float[] raw = new float[16];
        ds.image(1, raw, 0);
        for (int c = 0; c < 3; c++) {
            for (int j = 0; j < 16; j++) {
                assertEquals((raw[j] - 0.5f) / 0.25f, out[c * 16 + j], 1e-5f);
            }
        }
        // RGB → gray uses luma
        InMemoryDataset rgb = tiny(1, 3, 2);
        Transform g = Transform.builder(2, 1).normalization(Normalization.NONE).build();
        float[] o = new float[4];
        g.worker().apply(rgb, 0, 0, 0, o, 0);
        float[] r = new float[12];
        rgb.image(0, r, 0);
        assertEquals(0.299f * r[1] + 0.587f * r[5] + 0.114f * r[9], o[1], 1e-6f);
    }

    @Test
    void augmentationIsAFunctionOfSeedEpochAndIndex() throws IOException {
        InMemoryDataset ds = tiny(4, 3, 8);
        Transform t = Transform.builder(8, 3).randomCrop(2).horizontalFlip(true).build();
        float[] a = new float[t.floatsPerImage()];
        float[] b = new float[t.floatsPerImage()];
        Transform.Worker w1 = t.worker();
        Transform.Worker w2 = t.worker();
        w1.apply(ds, 2, 11, 3, a, 0);
        w2.apply(ds, 0, 11, 3, b, 0); // other work in between must not matter
        w2.apply(ds, 2, 11, 3, b, 0);
        assertArrayEquals(a, b);
        boolean differs = false;
        for (int e = 0; e < 10 && !differs; e++) {
            w2.apply(ds, 2, 11, 4 + e, b, 0);
            differs = !java.util.Arrays.equals(a, b);
        }
        assertTrue(differs, "other epochs should draw other crops/flips");
    }

    @Test
    void flipMirrorsAndCropShiftsWithZeroPadding() throws IOException {
        InMemoryDataset ds = tiny(1, 1, 6);
        float[] raw = new float[36];
        ds.image(0, raw, 0);
        Transform flipOnly = Transform.builder(6, 1).normalization(Normalization.NONE).horizontalFlip(true).build();
        float[] out = new float[36];
        int flipped = 0;
        for (int epoch = 0; epoch < 20; epoch++) {
            flipOnly.worker().apply(ds, 0, 5, epoch, out, 0);
            boolean mirror = out[0] != raw[0];
            for (int y = 0; y < 6; y++) {
                for (int x = 0; x < 6; x++) {
                    assertEquals(raw[y * 6 + (mirror ? 5 - x : x)], out[y * 6 + x], 0);
                }
            }
            flipped += mirror ? 1 : 0;
        }
        assertTrue(flipped > 2 && flipped < 18, "flipped " + flipped + " of 20");
        Transform crop = Transform.builder(6, 1).normalization(Normalization.NONE).randomCrop(2).build();
        boolean shifted = false;
        for (int epoch = 0; epoch < 20; epoch++) {
            crop.worker().apply(ds, 0, 5, epoch, out, 0);
            // find the shift: every output pixel is either 0 (padding) or raw at (y+dy, x+dx)
            boolean found = false;
            for (int dy = -2; dy <= 2 && !found; dy++) {
                for (int dx = -2; dx <= 2 && !found; dx++) {
                    boolean match = true;
                    for (int y = 0; y < 6 && match; y++) {
                        for (int x = 0; x < 6 && match; x++) {
                            int sy = y + dy;
                            int sx = x + dx;
                            float want = sy < 0 || sy >= 6 || sx < 0 || sx >= 6 ? 0 : raw[sy * 6 + sx];
                            match = want == out[y * 6 + x];
                        }
                    }
                    if (match) {
                        found = true;
                        shifted |= dy != 0 || dx != 0;
                    }
                }
            }
            assertTrue(found, "epoch " + epoch + ": output is not a padded shift of the input");
        }
        assertTrue(shifted);
    }

    @Test
    void resizesInThePipeline() throws IOException {
        InMemoryDataset ds = tiny(1, 1, 3);
        Transform t = Transform.builder(7, 1).normalization(Normalization.NONE).build();
        float[] out = new float[49];
        t.worker().apply(ds, 0, 0, 0, out, 0);
        float[] raw = new float[9];
        ds.image(0, raw, 0);
        assertArrayEquals(Resize.bilinear(raw, 1, 3, 3, 7, 7), out, 1e-6f);
        assertFalse(t.augments());
        assertThrows(IllegalArgumentException.class, () -> Transform.builder(7, 2));
        assertNotEquals(0, out[24]);
    }

    @Test
    void transformsABatchQuickly() throws IOException {
        InMemoryDataset ds = tiny(128, 1, 28);
        Transform t = Transform.builder(64, 3).randomCrop(8).horizontalFlip(true).build();
        float[] out = new float[128 * t.floatsPerImage()];
        Transform.Worker w = t.worker();
        long best = Long.MAX_VALUE;
        for (int rep = 0; rep < 10; rep++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 128; i++) {
                w.apply(ds, i, 1, rep, out, i * t.floatsPerImage());
            }
            best = Math.min(best, System.nanoTime() - t0);
        }
        assertTrue(best < 200_000_000L, "a batch of 128 at 64 px took " + best / 1e6 + " ms");
    }
}
