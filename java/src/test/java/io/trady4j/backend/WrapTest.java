package io.trady4j.backend;

import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backend.wrap on the CPU backend: a tensor over the caller's array is computed on in place (writes
 * through the segment reach the op, results land in the array), closing it leaves the array alone,
 * and every unfit segment gets one IllegalArgumentException naming the problem.
 */
class WrapTest {
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    @Test
    void masked_forward_and_sparse_gradient_compute_in_the_callers_arrays() {
        Conv2dSpec spec = new Conv2dSpec(6, 4, 3, 1, 1, 1, 1);
        Shape xs = Shape.of(2, 6, 5, 5);
        Shape ws = Shape.of(4, 6, 3, 3);
        Shape ys = spec.outputShape(xs);
        int[] sel = {1, 4};
        float[] x = new float[xs.numel()], w = random(ws.numel(), 2), y = new float[ys.numel()];
        float[] xSel = new float[2 * 2 * 25], dy = random(ys.numel(), 3);
        float[] dwSel = new float[spec.sparseWeightGradShape(sel.length).numel()];
        MemorySegment xSeg = MemorySegment.ofArray(x);
        try (Tensor xt = cpu.wrap(xSeg, xs, DType.F32);
             Tensor wt = cpu.wrap(MemorySegment.ofArray(w), ws, DType.F32);
             Tensor yt = cpu.wrap(MemorySegment.ofArray(y), ys, DType.F32);
             Tensor xSelT = cpu.wrap(MemorySegment.ofArray(xSel), Shape.of(2, 2, 5, 5), DType.F32);
             Tensor dyt = cpu.wrap(MemorySegment.ofArray(dy), ys, DType.F32);
             Tensor dwt = cpu.wrap(MemorySegment.ofArray(dwSel), spec.sparseWeightGradShape(sel.length), DType.F32);
             ChannelIndex s = cpu.channelIndex(sel, 6);
             Tensor xRef = cpu.upload(random(xs.numel(), 1), xs, MemoryCategory.DATA);
             Tensor wRef = cpu.upload(w, ws, MemoryCategory.PARAMETER);
             Tensor yRef = cpu.allocate(ys, MemoryCategory.WORKSPACE);
             Tensor xSelRef = cpu.allocate(Shape.of(2, 2, 5, 5), MemoryCategory.ACTIVATION_CACHE);
             Tensor dyRef = cpu.upload(dy, ys, MemoryCategory.GRADIENT_PATH);
             Tensor dwRef = cpu.allocate(spec.sparseWeightGradShape(sel.length), MemoryCategory.WEIGHT_GRADIENT)) {
            assertTrue(xt.isWrapped());
            assertFalse(xRef.isWrapped());
            // The input is written through the segment after wrapping: the op must see it.
            float[] input = random(xs.numel(), 1);
            MemorySegment.copy(input, 0, xSeg, ValueLayout.JAVA_FLOAT, 0, input.length);
            long meteredBefore = cpu.memory().liveBytes();
            cpu.conv2dGather(xt, wt, null, spec, Activation.RELU, s, yt, xSelT);
            cpu.conv2dDwSparse(xSelT, dyt, s, spec, dwt);
            cpu.conv2dGather(xRef, wRef, null, spec, Activation.RELU, s, yRef, xSelRef);
            cpu.conv2dDwSparse(xSelRef, dyRef, s, spec, dwRef);
            assertArrayEquals(cpu.toFloatArray(yRef), y, "forward output in the caller's array");
            assertArrayEquals(cpu.toFloatArray(xSelRef), xSel, "gathered channels in the caller's array");
            assertArrayEquals(cpu.toFloatArray(dwRef), dwSel, "sparse weight gradient in the caller's array");
            assertEquals(meteredBefore, cpu.memory().liveBytes(), "wrapped memory is the caller's, not metered");
            assertEquals(input[25], xSel[0], "xSel[0, 0] is channel 1 of sample 0");
        }
        // Closing the views left the caller's arrays as they were.
        assertTrue(dwSel[0] != 0 || dwSel[1] != 0);
    }

    @Test
    void int_tensors_wrap_int_arrays() {
        int[] labels = {3, 1, 2};
        try (Tensor t = cpu.wrap(MemorySegment.ofArray(labels), Shape.of(3), DType.I32)) {
            labels[1] = 7;
            assertArrayEquals(new int[] {3, 7, 2}, cpu.toIntArray(t));
        }
        assertArrayEquals(new int[] {3, 7, 2}, labels);
    }

    @Test
    void close_runs_the_close_actions_once() {
        int[] runs = {0};
        Tensor t = cpu.wrap(MemorySegment.ofArray(new float[4]), Shape.of(4), DType.F32);
        t.onClose(() -> runs[0]++);
        t.close();
        t.close();
        assertEquals(1, runs[0]);
        assertThrows(IllegalArgumentException.class, () -> cpu.fill(t, 1f));
    }

    @Test
    void unfit_segments_are_refused_with_one_clear_sentence() {
        Shape four = Shape.of(4);
        assertMessage("does not hold F32[4] (16 bytes)",
                () -> cpu.wrap(MemorySegment.ofArray(new float[5]), four, DType.F32));
        assertMessage("wraps whole arrays only",
                () -> cpu.wrap(MemorySegment.ofArray(new float[8]).asSlice(4, 16), four, DType.F32));
        assertMessage("wraps a F32 tensor over a float[]",
                () -> cpu.wrap(MemorySegment.ofArray(new int[4]), four, DType.F32));
        assertMessage("wraps a I32 tensor over a int[]",
                () -> cpu.wrap(MemorySegment.ofArray(new float[4]), four, DType.I32));
        assertMessage("a segment over a byte[]",
                () -> cpu.wrap(MemorySegment.ofArray(new byte[16]), four, DType.F32));
        assertMessage("read-only",
                () -> cpu.wrap(MemorySegment.ofArray(new float[4]).asReadOnly(), four, DType.F32));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nativeSeg = arena.allocate(16, 16);
            assertMessage("cannot wrap native memory", () -> cpu.wrap(nativeSeg, four, DType.F32));
            assertMessage("not aligned to the 4 bytes",
                    () -> cpu.wrap(arena.allocate(20, 16).asSlice(2, 16), four, DType.F32));
        }
        Arena closed = Arena.ofConfined();
        MemorySegment gone = closed.allocate(16);
        closed.close();
        assertMessage("arena is already closed", () -> cpu.wrap(gone, four, DType.F32));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), () -> "expected '" + part + "' in: " + e.getMessage());
    }
}
