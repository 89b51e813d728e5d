package io.trady4j.backend.cuda;

import io.trady4j.backend.BackendUnavailableException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Checks every FFM downcall against the C signatures in trady4j.h without a GPU: each call passes
 * one bad argument whose value or name must come back in the native error text. A descriptor with
 * arguments in the wrong order, of the wrong type or width, or missing one would make another
 * value (or garbage) appear instead. The native checks run before any CUDA call, so no device is
 * touched; 4096 stands for a non-null device pointer that is never dereferenced.
 */
class CudaAbiSignatureTest {
    private static final long P = 4096;
    private static String missing;

    @BeforeAll
    static void load() {
        try {
            NativeLibrary.load();
        } catch (BackendUnavailableException e) {
            missing = e.getMessage();
        }
    }

    private static void expect(String fragment, Executable call) {
        assumeTrue(missing == null, () -> "libtrady4j_cuda.so is not built: " + missing);
        CudaException e = assertThrows(CudaException.class, call);
        assertEquals(Abi.ERR_INVALID_ARGUMENT, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    private static MemorySegment shape(Arena arena) {
        assumeTrue(missing == null, () -> "libtrady4j_cuda.so is not built: " + missing);
        // batch 2, in 3x5x5, out 4x5x5, kernel 3, stride 1, padding 1, dilation 1, groups 1
        int[] v = {2, 3, 5, 5, 4, 5, 5, 3, 1, 1, 1, 1};
        MemorySegment s = arena.allocate(OpShape.LAYOUT);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(ValueLayout.JAVA_INT, i, v[i]);
        }
        return s;
    }

    @Test
    void deviceRuntime() {
        MemorySegment nul = MemorySegment.NULL;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment name = arena.allocate(8);
            expect("count is null", () -> NativeCalls.DEVICE_COUNT.call(nul));
            expect("name is null", () -> NativeCalls.DEVICE_PROPERTIES.call(0, nul, 8, out, out, out, out));
            expect("name_len must be >= 1, got 0", () -> NativeCalls.DEVICE_PROPERTIES.call(0, name, 0, out, out, out, out));
            expect("major is null", () -> NativeCalls.DEVICE_PROPERTIES.call(0, name, 8, nul, out, out, out));
            expect("total_memory is null", () -> NativeCalls.DEVICE_PROPERTIES.call(0, name, 8, out, out, out, nul));
            expect("free_bytes is null", () -> NativeCalls.MEMORY_INFO.call(nul, out));
            expect("total_bytes is null", () -> NativeCalls.MEMORY_INFO.call(out, nul));
            expect("ptr is null", () -> NativeCalls.MALLOC.call(nul, 16));
            expect("stream is null", () -> NativeCalls.STREAM_CREATE.call(nul));
            expect("stream is null", () -> NativeCalls.STREAM_DESTROY.call(0));
            expect("event is null", () -> NativeCalls.EVENT_CREATE.call(nul));
            expect("event is null", () -> NativeCalls.EVENT_DESTROY.call(0));
            expect("event is null", () -> NativeCalls.EVENT_RECORD.call(0, 0));
            expect("start is null", () -> NativeCalls.EVENT_ELAPSED.call(0, P, out));
            expect("end is null", () -> NativeCalls.EVENT_ELAPSED.call(P, 0, out));
            expect("ms is null", () -> NativeCalls.EVENT_ELAPSED.call(P, P, nul));
        }
    }

    @Test
    void convolution() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = shape(arena);
            expect("x is null", () -> NativeCalls.CONV2D_FORWARD.call(s, 0, P, 0, 0, 0, 0, 0, P, 0, 0));
            expect("w is null", () -> NativeCalls.CONV2D_FORWARD.call(s, P, 0, 0, 0, 0, 0, 0, P, 0, 0));
            expect("y is null", () -> NativeCalls.CONV2D_FORWARD.call(s, P, P, P, 0, 0, 0, 0, 0, 0, 0));
            expect("unknown activation code 9", () -> NativeCalls.CONV2D_FORWARD.call(s, P, P, P, 9, 0, 0, 0, P, 0, 0));
            expect("nsel must be in [0, 3], got 99", () -> NativeCalls.CONV2D_FORWARD.call(s, P, P, P, 1, P, 99, P, P, 0, 0));
            expect("sel is null", () -> NativeCalls.CONV2D_FORWARD.call(s, P, P, P, 1, 0, 2, P, P, 0, 0));
            expect("x_sel is null", () -> NativeCalls.CONV2D_FORWARD.call(s, P, P, P, 1, P, 2, 0, P, 0, 0));

            MemorySegment bytes = arena.allocate(ValueLayout.JAVA_LONG);
            expect("nsel must be in [1, 3], got 0", () -> NativeCalls.CONV2D_DW_SPARSE_WORKSPACE_SIZE.call(s, 0, 0, bytes));
            expect("x_sel is null", () -> NativeCalls.CONV2D_DW_SPARSE.call(s, 0, P, P, 1, P, 0, 0, 0, 0));
            expect("dy is null", () -> NativeCalls.CONV2D_DW_SPARSE.call(s, P, 0, P, 1, P, 0, 0, 0, 0));
            expect("sel is null", () -> NativeCalls.CONV2D_DW_SPARSE.call(s, P, P, 0, 1, P, 0, 0, 0, 0));
            expect("nsel must be in [1, 3], got 7", () -> NativeCalls.CONV2D_DW_SPARSE.call(s, P, P, P, 7, P, 0, 0, 0, 0));
            expect("dw_sel is null", () -> NativeCalls.CONV2D_DW_SPARSE.call(s, P, P, P, 1, 0, 0, 0, 0, 0));

            expect("dy is null", () -> NativeCalls.CONV2D_DX.call(s, 0, P, P, 0, 0));
            expect("w is null", () -> NativeCalls.CONV2D_DX.call(s, P, 0, P, 0, 0));
            expect("dx is null", () -> NativeCalls.CONV2D_DX.call(s, P, P, 0, 0, 0));

            // Every field of the shape struct is read where the C code expects it.
            s.setAtIndex(ValueLayout.JAVA_INT, 0, 0);
            expect("batch 0, in 3x5x5, out 4x5x5", () -> NativeCalls.CONV2D_DX.call(s, P, P, P, 0, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 0, 2);
            s.setAtIndex(ValueLayout.JAVA_INT, 7, 2);  // kernel 2: output would be 6x6
            expect("output must be 6x6 for this geometry, got 5x5", () -> NativeCalls.CONV2D_DX.call(s, P, P, P, 0, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 7, 3);
            s.setAtIndex(ValueLayout.JAVA_INT, 8, 2);  // stride 2: 3x3
            expect("output must be 3x3", () -> NativeCalls.CONV2D_DX.call(s, P, P, P, 0, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 8, 1);
            s.setAtIndex(ValueLayout.JAVA_INT, 9, 0);  // padding 0: 3x3
            expect("output must be 3x3", () -> NativeCalls.CONV2D_DX.call(s, P, P, P, 0, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 9, 1);
            s.setAtIndex(ValueLayout.JAVA_INT, 10, 2);  // dilation 2: 3x3
            expect("output must be 3x3", () -> NativeCalls.CONV2D_DX.call(s, P, P, P, 0, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 10, 1);
            s.setAtIndex(ValueLayout.JAVA_INT, 11, 2);  // groups 2
            expect("groups 2 must divide in_channels 3 and out_channels 4", () -> NativeCalls.CONV2D_DX.call(s, P, P, P, 0, 0));
        }
    }

    @Test
    void linear() {
        expect("(batch -3, in 5, out 7)", () -> NativeCalls.LINEAR_FORWARD.call(-3, 5, 7, P, P, 0, P, 0, 0));
        expect("x is null", () -> NativeCalls.LINEAR_FORWARD.call(2, 5, 7, 0, P, 0, P, 0, 0));
        expect("w is null", () -> NativeCalls.LINEAR_FORWARD.call(2, 5, 7, P, 0, 0, P, 0, 0));
        expect("y is null", () -> NativeCalls.LINEAR_FORWARD.call(2, 5, 7, P, P, P, 0, 0, 0));
        expect("(batch 2, in -5, out 7)", () -> NativeCalls.LINEAR_DX.call(2, -5, 7, P, P, P, 0, 0));
        expect("dy is null", () -> NativeCalls.LINEAR_DX.call(2, 5, 7, 0, P, P, 0, 0));
        expect("w is null", () -> NativeCalls.LINEAR_DX.call(2, 5, 7, P, 0, P, 0, 0));
        expect("dx is null", () -> NativeCalls.LINEAR_DX.call(2, 5, 7, P, P, 0, 0, 0));
        expect("(batch 2, nsel -4, out 7)", () -> NativeCalls.LINEAR_DW_SPARSE.call(2, -4, 7, P, P, P, 0, 0));
        expect("x_sel is null", () -> NativeCalls.LINEAR_DW_SPARSE.call(2, 4, 7, 0, P, P, 0, 0));
        expect("dy is null", () -> NativeCalls.LINEAR_DW_SPARSE.call(2, 4, 7, P, 0, P, 0, 0));
        expect("dw_sel is null", () -> NativeCalls.LINEAR_DW_SPARSE.call(2, 4, 7, P, P, 0, 0, 0));
    }

    @Test
    void elementwise() {
        expect("(batch 2, channels -3, plane 5)", () -> NativeCalls.BIAS_GRAD.call(2, -3, 5, P, P, 0));
        expect("dy is null", () -> NativeCalls.BIAS_GRAD.call(2, 3, 5, 0, P, 0));
        expect("db is null", () -> NativeCalls.BIAS_GRAD.call(2, 3, 5, P, 0, 0));
        expect("nsel must be in [1, 3], got 4", () -> NativeCalls.GATHER_CHANNELS.call(2, 3, 5, P, P, 4, P, 0));
        expect("(batch 2, channels 3, plane -5)", () -> NativeCalls.GATHER_CHANNELS.call(2, 3, -5, P, P, 1, P, 0));
        expect("x is null", () -> NativeCalls.GATHER_CHANNELS.call(2, 3, 5, 0, P, 1, P, 0));
        expect("sel is null", () -> NativeCalls.GATHER_CHANNELS.call(2, 3, 5, P, 0, 1, P, 0));
        expect("x_sel is null", () -> NativeCalls.GATHER_CHANNELS.call(2, 3, 5, P, P, 1, 0, 0));
        expect("unknown activation code 5", () -> NativeCalls.ACTIVATION.call(5, 4, P, P, 0));
        expect("n must be >= 0, got -2", () -> NativeCalls.ACTIVATION.call(1, -2, P, P, 0));
        expect("x is null", () -> NativeCalls.ACTIVATION.call(1, 4, 0, P, 0));
        expect("y is null", () -> NativeCalls.ACTIVATION.call(1, 4, P, 0, 0));
        expect("unknown activation code -1", () -> NativeCalls.ACTIVATION_BACKWARD.call(-1, 4, P, P, P, 0));
        expect("n must be >= 0, got -9000000000", () -> NativeCalls.ACTIVATION_BACKWARD.call(1, -9_000_000_000L, P, P, P, 0));
        expect("y is null", () -> NativeCalls.ACTIVATION_BACKWARD.call(1, 4, 0, P, P, 0));
        expect("dy is null", () -> NativeCalls.ACTIVATION_BACKWARD.call(1, 4, P, 0, P, 0));
        expect("dx is null", () -> NativeCalls.ACTIVATION_BACKWARD.call(1, 4, P, P, 0, 0));
        expect("unknown activation code 3", () -> NativeCalls.ACTIVATION_MASK.call(3, 4, P, P, 0));
        expect("n must be >= 0, got -4", () -> NativeCalls.ACTIVATION_MASK.call(1, -4, P, P, 0));
        expect("y is null", () -> NativeCalls.ACTIVATION_MASK.call(1, 4, 0, P, 0));
        expect("mask is null", () -> NativeCalls.ACTIVATION_MASK.call(1, 4, P, 0, 0));
        expect("n must be >= 0, got -3", () -> NativeCalls.ACTIVATION_BACKWARD_MASKED.call(-3, P, P, P, 0));
        expect("mask is null", () -> NativeCalls.ACTIVATION_BACKWARD_MASKED.call(4, 0, P, P, 0));
        expect("dy is null", () -> NativeCalls.ACTIVATION_BACKWARD_MASKED.call(4, P, 0, P, 0));
        expect("dx is null", () -> NativeCalls.ACTIVATION_BACKWARD_MASKED.call(4, P, P, 0, 0));
        expect("n must be >= 0, got -1", () -> NativeCalls.ADD.call(-1, P, P, P, 0));
        expect("a is null", () -> NativeCalls.ADD.call(4, 0, P, P, 0));
        expect("b is null", () -> NativeCalls.ADD.call(4, P, 0, P, 0));
        expect("out is null", () -> NativeCalls.ADD.call(4, P, P, 0, 0));
        expect("dst is null", () -> NativeCalls.FILL_F32.call(0, 1.5f, 4, 0));
        expect("n must be >= 0, got -7", () -> NativeCalls.FILL_F32.call(P, 1.5f, -7, 0));
        expect("dst is null", () -> NativeCalls.FILL_I32.call(0, 3, 4, 0));
        expect("n must be >= 0, got -8", () -> NativeCalls.FILL_I32.call(P, 3, -8, 0));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(16);
            expect("dst is null", () -> NativeCalls.COPY_TO_DEVICE.call(0, host, 16, 0));
            expect("src is null", () -> NativeCalls.COPY_TO_DEVICE.call(P, MemorySegment.NULL, 16, 0));
            expect("src is null", () -> NativeCalls.COPY_TO_HOST.call(host, 0, 16, 0));
            expect("dst is null", () -> NativeCalls.COPY_TO_HOST.call(MemorySegment.NULL, P, 16, 0));
            expect("dst is null", () -> NativeCalls.COPY_DEVICE.call(0, P, 16, 0));
            expect("src is null", () -> NativeCalls.COPY_DEVICE.call(P, 0, 16, 0));
        }
    }

    @Test
    void poolingAndLoss() {
        expect("planes 0 and plane 5", () -> NativeCalls.GLOBAL_AVG_POOL.call(0, 5, P, P, 0));
        expect("x is null", () -> NativeCalls.GLOBAL_AVG_POOL.call(2, 5, 0, P, 0));
        expect("y is null", () -> NativeCalls.GLOBAL_AVG_POOL.call(2, 5, P, 0, 0));
        expect("planes 3 and plane -5", () -> NativeCalls.GLOBAL_AVG_POOL_BACKWARD.call(3, -5, P, P, 0));
        expect("dy is null", () -> NativeCalls.GLOBAL_AVG_POOL_BACKWARD.call(3, 5, 0, P, 0));
        expect("dx is null", () -> NativeCalls.GLOBAL_AVG_POOL_BACKWARD.call(3, 5, P, 0, 0));
        expect("output must be 2x2, got 3x2", () -> NativeCalls.MAX_POOL2D.call(1, 4, 4, 2, 2, 0, 3, 2, P, P, P, 0));
        expect("output must be 3x2, got 3x3", () -> NativeCalls.MAX_POOL2D.call(1, 6, 4, 2, 2, 0, 3, 3, P, P, P, 0));
        expect("got 3, 1, 2", () -> NativeCalls.MAX_POOL2D.call(1, 4, 4, 3, 1, 2, 3, 3, P, P, P, 0));
        expect("x is null", () -> NativeCalls.MAX_POOL2D.call(1, 4, 4, 2, 2, 0, 2, 2, 0, P, P, 0));
        expect("y is null", () -> NativeCalls.MAX_POOL2D.call(1, 4, 4, 2, 2, 0, 2, 2, P, 0, P, 0));
        expect("argmax is null", () -> NativeCalls.MAX_POOL2D.call(1, 4, 4, 2, 2, 0, 2, 2, P, P, 0, 0));
        expect("planes 2, in_plane -9, out_plane 4", () -> NativeCalls.MAX_POOL2D_BACKWARD.call(2, -9, 4, P, P, P, 0));
        expect("dy is null", () -> NativeCalls.MAX_POOL2D_BACKWARD.call(2, 9, 4, 0, P, P, 0));
        expect("argmax is null", () -> NativeCalls.MAX_POOL2D_BACKWARD.call(2, 9, 4, P, 0, P, 0));
        expect("dx is null", () -> NativeCalls.MAX_POOL2D_BACKWARD.call(2, 9, 4, P, P, 0, 0));
        expect("batch 0 and classes 10", () -> NativeCalls.SOFTMAX_CROSS_ENTROPY.call(0, 10, P, P, P, 0, P, 0));
        expect("logits is null", () -> NativeCalls.SOFTMAX_CROSS_ENTROPY.call(4, 10, 0, P, P, 0, P, 0));
        expect("labels is null", () -> NativeCalls.SOFTMAX_CROSS_ENTROPY.call(4, 10, P, 0, P, 0, P, 0));
        expect("stats is null", () -> NativeCalls.SOFTMAX_CROSS_ENTROPY.call(4, 10, P, P, 0, P, P, 0));
        expect("label_error is null", () -> NativeCalls.SOFTMAX_CROSS_ENTROPY.call(4, 10, P, P, P, P, 0, 0));
    }

    @Test
    void sgd() {
        expect("n must be >= 0, got -3", () -> NativeCalls.SGD_UPDATE.call(-3, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("learning rate must be finite and >= 0, got -1.5", () -> NativeCalls.SGD_UPDATE.call(4, P, P, 0, -1.5f, 0f, 0f, 0));
        expect("momentum must be in [0, 1), got 1.5", () -> NativeCalls.SGD_UPDATE.call(4, P, P, P, 0.1f, 1.5f, 0f, 0));
        expect("weight decay must be finite and >= 0, got -0.25",
                () -> NativeCalls.SGD_UPDATE.call(4, P, P, 0, 0.1f, 0f, -0.25f, 0));
        expect("momentum buffer", () -> NativeCalls.SGD_UPDATE.call(4, P, P, 0, 0.1f, 0.5f, 0f, 0));
        expect("param is null", () -> NativeCalls.SGD_UPDATE.call(4, 0, P, 0, 0.1f, 0f, 0f, 0));
        expect("grad is null", () -> NativeCalls.SGD_UPDATE.call(4, P, 0, 0, 0.1f, 0f, 0f, 0));
        expect("groups 4 does not divide the 6 output channels",
                () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 4, P, 1, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("(out 6, in/group -3, k2 9, groups 2)",
                () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, -3, 9, 2, P, 1, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("nsel must be in [1, 6], got 99",
                () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 2, P, 99, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("learning rate must be finite and >= 0, got -2",
                () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 2, P, 1, P, P, 0, -2f, 0f, 0f, 0));
        expect("momentum must be in [0, 1), got 2",
                () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 2, P, 1, P, P, P, 0.1f, 2f, 0f, 0));
        expect("weight decay must be finite and >= 0, got -3",
                () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 2, P, 1, P, P, 0, 0.1f, 0f, -3f, 0));
        expect("sel is null", () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 2, 0, 1, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("w is null", () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 2, P, 1, 0, P, 0, 0.1f, 0f, 0f, 0));
        expect("dw_sel is null", () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 2, P, 1, P, 0, 0, 0.1f, 0f, 0f, 0));
        expect("sgd with momentum needs a momentum buffer",
                () -> NativeCalls.SGD_UPDATE_SPARSE.call(6, 3, 9, 2, P, 1, P, P, 0, 0.1f, 0.9f, 0f, 0));
    }

    @Test
    void batchNorm() {
        expect("(batch -2, channels 3, plane 5)",
                () -> NativeCalls.BATCH_NORM_TRAINING.call(-2, 3, 5, P, P, P, P, P, 0.1f, 1e-5f, P, P, P, 0));
        expect("(batch 2, channels -3, plane 5)",
                () -> NativeCalls.BATCH_NORM_TRAINING.call(2, -3, 5, P, P, P, P, P, 0.1f, 1e-5f, P, P, P, 0));
        expect("(batch 2, channels 3, plane -5)",
                () -> NativeCalls.BATCH_NORM_TRAINING.call(2, 3, -5, P, P, P, P, P, 0.1f, 1e-5f, P, P, P, 0));
        expect("at least 2 values per channel (batch 1, plane 1)",
                () -> NativeCalls.BATCH_NORM_TRAINING.call(1, 3, 1, P, P, P, P, P, 0.1f, 1e-5f, P, P, P, 0));
        expect("momentum must be in [0, 1], got 1.5",
                () -> NativeCalls.BATCH_NORM_TRAINING.call(2, 3, 5, P, P, P, P, P, 1.5f, 1e-5f, P, P, P, 0));
        expect("eps must be a finite number > 0, got -0.25",
                () -> NativeCalls.BATCH_NORM_TRAINING.call(2, 3, 5, P, P, P, P, P, 0.1f, -0.25f, P, P, P, 0));
        String[] trainingPointers = {"x", "gamma", "beta", "running_mean", "running_var", "y", "save_mean", "save_inv_std"};
        for (int k = 0; k < trainingPointers.length; k++) {
            long[] p = {P, P, P, P, P, P, P, P};
            p[k] = 0;
            expect(trainingPointers[k] + " is null", () -> NativeCalls.BATCH_NORM_TRAINING.call(2, 3, 5, p[0], p[1], p[2],
                    p[3], p[4], 0.1f, 1e-5f, p[5], p[6], p[7], 0));
        }
        expect("(batch 2, channels 3, plane -7)",
                () -> NativeCalls.BATCH_NORM_BACKWARD.call(2, 3, -7, P, P, P, P, P, P, P, P, 0));
        String[] backwardPointers = {"dy", "x", "gamma", "save_mean", "save_inv_std", "dx", "d_gamma", "d_beta"};
        for (int k = 0; k < backwardPointers.length; k++) {
            long[] p = {P, P, P, P, P, P, P, P};
            p[k] = 0;
            expect(backwardPointers[k] + " is null", () -> NativeCalls.BATCH_NORM_BACKWARD.call(2, 3, 5, p[0], p[1], p[2],
                    p[3], p[4], p[5], p[6], p[7], 0));
        }
        expect("(batch 2, channels -1, plane 5)",
                () -> NativeCalls.BATCH_NORM_INFERENCE.call(2, -1, 5, P, P, P, P, P, 1e-3f, P, 0));
        expect("eps must be a finite number > 0, got 0",
                () -> NativeCalls.BATCH_NORM_INFERENCE.call(2, 3, 5, P, P, P, P, P, 0f, P, 0));
        String[] inferencePointers = {"x", "gamma", "beta", "running_mean", "running_var", "y"};
        for (int k = 0; k < inferencePointers.length; k++) {
            long[] p = {P, P, P, P, P, P};
            p[k] = 0;
            expect(inferencePointers[k] + " is null", () -> NativeCalls.BATCH_NORM_INFERENCE.call(2, 3, 5, p[0], p[1], p[2],
                    p[3], p[4], 1e-3f, p[5], 0));
        }
    }

    @Test
    void implementations() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = shape(arena);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            expect("unknown op 77", () -> NativeCalls.IMPL_COUNT.call(77, out));
            expect("count is null", () -> NativeCalls.IMPL_COUNT.call(CudaOp.CONV2D_DX.code(), MemorySegment.NULL));
            expect("unknown implementation 99 (op 3", () -> NativeCalls.IMPL_NAME.call(3, 99, out));
            expect("nsel must be in [0, 3], got 8", () -> NativeCalls.IMPL_ELIGIBLE.call(1, 1, s, 8, out));
            expect("unknown implementation 9 (this op has 1..",
                    () -> NativeCalls.CONV2D_DX.call(s, P, P, P, 9, 0));
            expect("unknown implementation -1", () -> NativeCalls.LINEAR_DX.call(2, 5, 7, P, P, P, -1, 0));
        }
    }

    @Test
    void libraryFunctions() {
        expect("device must be >= 0, got -1", () -> NativeCalls.SET_DEVICE.call(-1));
        expect("unknown option 99", () -> NativeCalls.SET_OPTION.call(99, 1));
        expect("unknown option 1", () -> NativeCalls.SET_OPTION.call(1, 0));
        try (Arena arena = Arena.ofConfined()) {
            expect("unknown option 42", () -> NativeCalls.GET_OPTION.call(42, arena.allocate(ValueLayout.JAVA_INT)));
            MemorySegment rt = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment drv = arena.allocate(ValueLayout.JAVA_INT);
            NativeCalls.VERSIONS.call(rt, drv);
            assertTrue(rt.get(ValueLayout.JAVA_INT, 0) >= 12000, "runtime version " + rt.get(ValueLayout.JAVA_INT, 0));
        }
    }
}
