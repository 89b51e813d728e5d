package io.trady4j.backend.cpu;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The 1-bit activation masks of the backward pass give exactly the gradients of the float-output backward. */
class ActivationMaskTest {
    private static CpuBackend be;

    @BeforeAll
    static void open() {
        be = new CpuBackend(3); // 3 threads: sizes from 4096·32·2 elements are split unevenly across them
    }

    @AfterAll
    static void close() {
        be.close();
    }

    /** Outputs of an activation, with the edge values that decide the mask: ±0, 6, just below 6, NaN, ±∞. */
    private static float[] outputs(int n, SplittableRandom rnd) {
        float[] edges = {0f, -0f, 6f, Math.nextDown(6f), Float.MIN_VALUE, Float.NaN, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, 7f, -1f};
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            y[i] = rnd.nextInt(4) == 0 ? edges[rnd.nextInt(edges.length)] : (float) rnd.nextDouble(-2, 8);
        }
        return y;
    }

    private static int[] poison(int words) {
        int[] w = new int[words];
        java.util.Arrays.fill(w, -1);
        return w;
    }

    @Test
    void maskedBackwardEqualsTheBackwardThroughTheOutputs() {
        SplittableRandom rnd = new SplittableRandom(42);
        for (int n : new int[] {1, 5, 31, 32, 33, 64, 1000, 4099, 2 * 4096 * 32 + 5, 3 * 4096 * 32 + 17}) {
            Shape s = Shape.of(n);
            for (Activation act : Activation.values()) {
                float[] yv = outputs(n, rnd), dyv = new float[n];
                for (int i = 0; i < n; i++) {
                    dyv[i] = (float) rnd.nextDouble(-1, 1);
                }
                try (Tensor y = be.upload(yv, s, MemoryCategory.WORKSPACE);
                     Tensor dy = be.upload(dyv, s, MemoryCategory.WORKSPACE);
                     Tensor dx = be.allocate(s, MemoryCategory.WORKSPACE);
                     Tensor dxm = be.allocate(s, MemoryCategory.WORKSPACE);
                     Tensor mask = be.uploadInts(poison(Backend.maskWords(n)), Shape.of(Backend.maskWords(n)),
                             MemoryCategory.WORKSPACE)) {
                    be.activationMask(act, y, mask);
                    int[] bits = be.toIntArray(mask);
                    for (int i = 0; i < n; i++) {
                        boolean bit = (bits[i / 32] >>> (i % 32) & 1) == 1;
                        assertEquals(act.passesGradient(yv[i]), bit, act + " n=" + n + " y[" + i + "]=" + yv[i]);
                    }
                    if (n % 32 != 0) {
                        assertEquals(0, bits[bits.length - 1] >>> (n % 32), "unused bits of the last word are 0");
                    }
                    be.activationBackward(act, y, dy, dx);
                    be.activationBackwardMasked(mask, dy, dxm);
                    assertArrayEquals(be.toFloatArray(dx), be.toFloatArray(dxm), act + " n=" + n);
                    be.activationBackwardMasked(mask, dy, dy);
                    assertArrayEquals(be.toFloatArray(dx), be.toFloatArray(dy), "in place, " + act + " n=" + n);
                }
            }
        }
    }

    /** The mask's integer test of a float's bits agrees with the float compares over the whole bit space. */
    @Test
    void theMaskMatchesTheFloatComparesAcrossEveryRangeOfBitPatterns() {
        int[] edges = {0, Float.floatToRawIntBits(6f), Float.floatToRawIntBits(Float.POSITIVE_INFINITY),
            Float.floatToRawIntBits(Float.NaN), Integer.MIN_VALUE, Integer.MAX_VALUE, -1, 1};
        int n = (1 << 16) + edges.length * 5;
        float[] yv = new float[n];
        for (int i = 0; i < 1 << 16; i++) {
            yv[i] = Float.intBitsToFloat(i * 65537 + 12345); // a stride through all 2^32 patterns, both signs
        }
        for (int e = 0; e < edges.length; e++) {
            for (int d = -2; d <= 2; d++) {
                yv[(1 << 16) + e * 5 + d + 2] = Float.intBitsToFloat(edges[e] + d);
            }
        }
        for (Activation act : Activation.values()) {
            try (Tensor y = be.upload(yv, Shape.of(n), MemoryCategory.WORKSPACE);
                 Tensor mask = be.allocate(Shape.of(Backend.maskWords(n)), DType.I32, MemoryCategory.WORKSPACE)) {
                be.activationMask(act, y, mask);
                int[] bits = be.toIntArray(mask);
                for (int i = 0; i < n; i++) {
                    assertEquals(act.passesGradient(yv[i]), (bits[i / 32] >>> (i % 32) & 1) == 1,
                            act + " at bits 0x" + Integer.toHexString(Float.floatToRawIntBits(yv[i])));
                }
            }
        }
    }

    @Test
    void aMaskOfTheWrongShapeOrTypeIsRejected() {
        try (Tensor y = be.allocate(Shape.of(2, 40), MemoryCategory.WORKSPACE);
             Tensor shortMask = be.allocate(Shape.of(2), DType.I32, MemoryCategory.WORKSPACE);
             Tensor floatMask = be.allocate(Shape.of(3), MemoryCategory.WORKSPACE);
             Tensor dx = be.allocate(Shape.of(80), MemoryCategory.WORKSPACE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> be.activationMask(Activation.RELU, y, shortMask));
            assertTrue(e.getMessage().contains("I32 mask of shape [3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> be.activationBackwardMasked(floatMask, y, y));
            assertTrue(e.getMessage().contains("got F32"), e.getMessage());
            try (Tensor mask = be.allocate(Shape.of(3), DType.I32, MemoryCategory.WORKSPACE)) {
                e = assertThrows(IllegalArgumentException.class, () -> be.activationBackwardMasked(mask, y, dx));
                assertTrue(e.getMessage().contains("equal shapes"), e.getMessage());
            }
        }
    }
}
