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
        assertEquals(NativeCalls.ERR_INVALID_ARGUMENT, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    private static MemorySegment shape(Arena arena) {
        assumeTrue(missing == null, () -> "libtrady4j_cuda.so is not built: " + missing);
        // batch 2, in 3x5x5, out 4x5x5, kernel 3, stride 1, padding 1, dilation 1, groups 1
        int[] v = {2, 3, 5, 5, 4, 5, 5, 3, 1, 1, 1, 1};
        MemorySegment s = arena.allocate(NativeCalls.CONV_SHAPE);
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
            expect("count is null", () -> NativeCalls.check(NativeCalls.deviceCount(nul)));
            expect("name is null", () -> NativeCalls.deviceProperties(0, nul, 8, out, out, out, out));
            expect("name_len must be >= 1, got 0", () -> NativeCalls.deviceProperties(0, name, 0, out, out, out, out));
            expect("major is null", () -> NativeCalls.deviceProperties(0, name, 8, nul, out, out, out));
            expect("total_memory is null", () -> NativeCalls.deviceProperties(0, name, 8, out, out, out, nul));
            expect("free_bytes is null", () -> NativeCalls.memoryInfo(nul, out));
            expect("total_bytes is null", () -> NativeCalls.memoryInfo(out, nul));
            expect("ptr is null", () -> NativeCalls.malloc(nul, 16));
            expect("stream is null", () -> NativeCalls.streamCreate(nul));
            expect("stream is null", () -> NativeCalls.streamDestroy(0));
            expect("event is null", () -> NativeCalls.eventCreate(nul));
            expect("event is null", () -> NativeCalls.eventDestroy(0));
            expect("event is null", () -> NativeCalls.eventRecord(0, 0));
            expect("start is null", () -> NativeCalls.eventElapsed(0, P, out));
            expect("end is null", () -> NativeCalls.eventElapsed(P, 0, out));
            expect("ms is null", () -> NativeCalls.eventElapsed(P, P, nul));
        }
    }

    @Test
    void convolution() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = shape(arena);
            expect("x is null", () -> NativeCalls.conv2dForward(s, 0, P, 0, 0, 0, 0, 0, P, 0));
            expect("w is null", () -> NativeCalls.conv2dForward(s, P, 0, 0, 0, 0, 0, 0, P, 0));
            expect("y is null", () -> NativeCalls.conv2dForward(s, P, P, P, 0, 0, 0, 0, 0, 0));
            expect("unknown activation code 9", () -> NativeCalls.conv2dForward(s, P, P, P, 9, 0, 0, 0, P, 0));
            expect("nsel must be in [0, 3], got 99", () -> NativeCalls.conv2dForward(s, P, P, P, 1, P, 99, P, P, 0));
            expect("sel is null", () -> NativeCalls.conv2dForward(s, P, P, P, 1, 0, 2, P, P, 0));
            expect("x_sel is null", () -> NativeCalls.conv2dForward(s, P, P, P, 1, P, 2, 0, P, 0));

            MemorySegment bytes = arena.allocate(ValueLayout.JAVA_LONG);
            expect("nsel must be in [1, 3], got 0", () -> NativeCalls.conv2dDwSparseWorkspace(s, 0, bytes));
            expect("x_sel is null", () -> NativeCalls.conv2dDwSparse(s, 0, P, P, 1, P, 0, 0, 0));
            expect("dy is null", () -> NativeCalls.conv2dDwSparse(s, P, 0, P, 1, P, 0, 0, 0));
            expect("sel is null", () -> NativeCalls.conv2dDwSparse(s, P, P, 0, 1, P, 0, 0, 0));
            expect("nsel must be in [1, 3], got 7", () -> NativeCalls.conv2dDwSparse(s, P, P, P, 7, P, 0, 0, 0));
            expect("dw_sel is null", () -> NativeCalls.conv2dDwSparse(s, P, P, P, 1, 0, 0, 0, 0));

            expect("dy is null", () -> NativeCalls.conv2dDx(s, 0, P, P, 0));
            expect("w is null", () -> NativeCalls.conv2dDx(s, P, 0, P, 0));
            expect("dx is null", () -> NativeCalls.conv2dDx(s, P, P, 0, 0));

            // Every field of the shape struct is read where the C code expects it.
            s.setAtIndex(ValueLayout.JAVA_INT, 0, 0);
            expect("batch 0, in 3x5x5, out 4x5x5", () -> NativeCalls.conv2dDx(s, P, P, P, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 0, 2);
            s.setAtIndex(ValueLayout.JAVA_INT, 7, 2);  // kernel 2: output would be 6x6
            expect("output must be 6x6 for this geometry, got 5x5", () -> NativeCalls.conv2dDx(s, P, P, P, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 7, 3);
            s.setAtIndex(ValueLayout.JAVA_INT, 8, 2);  // stride 2: 3x3
            expect("output must be 3x3", () -> NativeCalls.conv2dDx(s, P, P, P, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 8, 1);
            s.setAtIndex(ValueLayout.JAVA_INT, 9, 0);  // padding 0: 3x3
            expect("output must be 3x3", () -> NativeCalls.conv2dDx(s, P, P, P, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 9, 1);
            s.setAtIndex(ValueLayout.JAVA_INT, 10, 2);  // dilation 2: 3x3
            expect("output must be 3x3", () -> NativeCalls.conv2dDx(s, P, P, P, 0));
            s.setAtIndex(ValueLayout.JAVA_INT, 10, 1);
            s.setAtIndex(ValueLayout.JAVA_INT, 11, 2);  // groups 2
            expect("groups 2 must divide in_channels 3 and out_channels 4", () -> NativeCalls.conv2dDx(s, P, P, P, 0));
        }
    }

    @Test
    void linear() {
        expect("(batch -3, in 5, out 7)", () -> NativeCalls.linearForward(-3, 5, 7, P, P, 0, P, 0));
        expect("x is null", () -> NativeCalls.linearForward(2, 5, 7, 0, P, 0, P, 0));
        expect("w is null", () -> NativeCalls.linearForward(2, 5, 7, P, 0, 0, P, 0));
        expect("y is null", () -> NativeCalls.linearForward(2, 5, 7, P, P, P, 0, 0));
        expect("(batch 2, in -5, out 7)", () -> NativeCalls.linearDx(2, -5, 7, P, P, P, 0));
        expect("dy is null", () -> NativeCalls.linearDx(2, 5, 7, 0, P, P, 0));
        expect("w is null", () -> NativeCalls.linearDx(2, 5, 7, P, 0, P, 0));
        expect("dx is null", () -> NativeCalls.linearDx(2, 5, 7, P, P, 0, 0));
        expect("(batch 2, nsel -4, out 7)", () -> NativeCalls.linearDwSparse(2, -4, 7, P, P, P, 0));
        expect("x_sel is null", () -> NativeCalls.linearDwSparse(2, 4, 7, 0, P, P, 0));
        expect("dy is null", () -> NativeCalls.linearDwSparse(2, 4, 7, P, 0, P, 0));
        expect("dw_sel is null", () -> NativeCalls.linearDwSparse(2, 4, 7, P, P, 0, 0));
    }

    @Test
    void elementwise() {
        expect("(batch 2, channels -3, plane 5)", () -> NativeCalls.biasGrad(2, -3, 5, P, P, 0));
        expect("dy is null", () -> NativeCalls.biasGrad(2, 3, 5, 0, P, 0));
        expect("db is null", () -> NativeCalls.biasGrad(2, 3, 5, P, 0, 0));
        expect("nsel must be in [1, 3], got 4", () -> NativeCalls.gatherChannels(2, 3, 5, P, P, 4, P, 0));
        expect("(batch 2, channels 3, plane -5)", () -> NativeCalls.gatherChannels(2, 3, -5, P, P, 1, P, 0));
        expect("x is null", () -> NativeCalls.gatherChannels(2, 3, 5, 0, P, 1, P, 0));
        expect("sel is null", () -> NativeCalls.gatherChannels(2, 3, 5, P, 0, 1, P, 0));
        expect("x_sel is null", () -> NativeCalls.gatherChannels(2, 3, 5, P, P, 1, 0, 0));
        expect("unknown activation code 5", () -> NativeCalls.activation(5, 4, P, P, 0));
        expect("n must be >= 0, got -2", () -> NativeCalls.activation(1, -2, P, P, 0));
        expect("x is null", () -> NativeCalls.activation(1, 4, 0, P, 0));
        expect("y is null", () -> NativeCalls.activation(1, 4, P, 0, 0));
        expect("unknown activation code -1", () -> NativeCalls.activationBackward(-1, 4, P, P, P, 0));
        expect("n must be >= 0, got -9000000000", () -> NativeCalls.activationBackward(1, -9_000_000_000L, P, P, P, 0));
        expect("y is null", () -> NativeCalls.activationBackward(1, 4, 0, P, P, 0));
        expect("dy is null", () -> NativeCalls.activationBackward(1, 4, P, 0, P, 0));
        expect("dx is null", () -> NativeCalls.activationBackward(1, 4, P, P, 0, 0));
        expect("unknown activation code 3", () -> NativeCalls.activationMask(3, 4, P, P, 0));
        expect("n must be >= 0, got -4", () -> NativeCalls.activationMask(1, -4, P, P, 0));
        expect("y is null", () -> NativeCalls.activationMask(1, 4, 0, P, 0));
        expect("mask is null", () -> NativeCalls.activationMask(1, 4, P, 0, 0));
        expect("n must be >= 0, got -3", () -> NativeCalls.activationBackwardMasked(-3, P, P, P, 0));
        expect("mask is null", () -> NativeCalls.activationBackwardMasked(4, 0, P, P, 0));
        expect("dy is null", () -> NativeCalls.activationBackwardMasked(4, P, 0, P, 0));
        expect("dx is null", () -> NativeCalls.activationBackwardMasked(4, P, P, 0, 0));
        expect("n must be >= 0, got -1", () -> NativeCalls.add(-1, P, P, P, 0));
        expect("a is null", () -> NativeCalls.add(4, 0, P, P, 0));
        expect("b is null", () -> NativeCalls.add(4, P, 0, P, 0));
        expect("out is null", () -> NativeCalls.add(4, P, P, 0, 0));
        expect("dst is null", () -> NativeCalls.fillF32(0, 1.5f, 4, 0));
        expect("n must be >= 0, got -7", () -> NativeCalls.fillF32(P, 1.5f, -7, 0));
        expect("dst is null", () -> NativeCalls.fillI32(0, 3, 4, 0));
        expect("n must be >= 0, got -8", () -> NativeCalls.fillI32(P, 3, -8, 0));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(16);
            expect("dst is null", () -> NativeCalls.copyToDevice(0, host, 16, 0));
            expect("src is null", () -> NativeCalls.copyToDevice(P, MemorySegment.NULL, 16, 0));
            expect("src is null", () -> NativeCalls.copyToHost(host, 0, 16, 0));
            expect("dst is null", () -> NativeCalls.copyToHost(MemorySegment.NULL, P, 16, 0));
            expect("dst is null", () -> NativeCalls.copyDevice(0, P, 16, 0));
            expect("src is null", () -> NativeCalls.copyDevice(P, 0, 16, 0));
        }
    }

    @Test
    void poolingAndLoss() {
        expect("planes 0 and plane 5", () -> NativeCalls.globalAvgPool(0, 5, P, P, 0));
        expect("x is null", () -> NativeCalls.globalAvgPool(2, 5, 0, P, 0));
        expect("y is null", () -> NativeCalls.globalAvgPool(2, 5, P, 0, 0));
        expect("planes 3 and plane -5", () -> NativeCalls.globalAvgPoolBackward(3, -5, P, P, 0));
        expect("dy is null", () -> NativeCalls.globalAvgPoolBackward(3, 5, 0, P, 0));
        expect("dx is null", () -> NativeCalls.globalAvgPoolBackward(3, 5, P, 0, 0));
        expect("output must be 2x2, got 3x2", () -> NativeCalls.maxPool2d(1, 4, 4, 2, 2, 0, 3, 2, P, P, P, 0));
        expect("output must be 3x2, got 3x3", () -> NativeCalls.maxPool2d(1, 6, 4, 2, 2, 0, 3, 3, P, P, P, 0));
        expect("got 3, 1, 2", () -> NativeCalls.maxPool2d(1, 4, 4, 3, 1, 2, 3, 3, P, P, P, 0));
        expect("x is null", () -> NativeCalls.maxPool2d(1, 4, 4, 2, 2, 0, 2, 2, 0, P, P, 0));
        expect("y is null", () -> NativeCalls.maxPool2d(1, 4, 4, 2, 2, 0, 2, 2, P, 0, P, 0));
        expect("argmax is null", () -> NativeCalls.maxPool2d(1, 4, 4, 2, 2, 0, 2, 2, P, P, 0, 0));
        expect("planes 2, in_plane -9, out_plane 4", () -> NativeCalls.maxPool2dBackward(2, -9, 4, P, P, P, 0));
        expect("dy is null", () -> NativeCalls.maxPool2dBackward(2, 9, 4, 0, P, P, 0));
        expect("argmax is null", () -> NativeCalls.maxPool2dBackward(2, 9, 4, P, 0, P, 0));
        expect("dx is null", () -> NativeCalls.maxPool2dBackward(2, 9, 4, P, P, 0, 0));
        expect("batch 0 and classes 10", () -> NativeCalls.softmaxCrossEntropy(0, 10, P, P, P, 0, P, 0));
        expect("logits is null", () -> NativeCalls.softmaxCrossEntropy(4, 10, 0, P, P, 0, P, 0));
        expect("labels is null", () -> NativeCalls.softmaxCrossEntropy(4, 10, P, 0, P, 0, P, 0));
        expect("stats is null", () -> NativeCalls.softmaxCrossEntropy(4, 10, P, P, 0, P, P, 0));
        expect("label_error is null", () -> NativeCalls.softmaxCrossEntropy(4, 10, P, P, P, P, 0, 0));
    }

    @Test
    void sgd() {
        expect("n must be >= 0, got -3", () -> NativeCalls.sgdUpdate(-3, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("learning rate must be finite and >= 0, got -1.5", () -> NativeCalls.sgdUpdate(4, P, P, 0, -1.5f, 0f, 0f, 0));
        expect("momentum must be in [0, 1), got 1.5", () -> NativeCalls.sgdUpdate(4, P, P, P, 0.1f, 1.5f, 0f, 0));
        expect("weight decay must be finite and >= 0, got -0.25",
                () -> NativeCalls.sgdUpdate(4, P, P, 0, 0.1f, 0f, -0.25f, 0));
        expect("momentum buffer", () -> NativeCalls.sgdUpdate(4, P, P, 0, 0.1f, 0.5f, 0f, 0));
        expect("param is null", () -> NativeCalls.sgdUpdate(4, 0, P, 0, 0.1f, 0f, 0f, 0));
        expect("grad is null", () -> NativeCalls.sgdUpdate(4, P, 0, 0, 0.1f, 0f, 0f, 0));
        expect("groups 4 does not divide the 6 output channels",
                () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 4, P, 1, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("(out 6, in/group -3, k2 9, groups 2)",
                () -> NativeCalls.sgdUpdateSparse(6, -3, 9, 2, P, 1, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("nsel must be in [1, 6], got 99",
                () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 2, P, 99, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("learning rate must be finite and >= 0, got -2",
                () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 2, P, 1, P, P, 0, -2f, 0f, 0f, 0));
        expect("momentum must be in [0, 1), got 2",
                () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 2, P, 1, P, P, P, 0.1f, 2f, 0f, 0));
        expect("weight decay must be finite and >= 0, got -3",
                () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 2, P, 1, P, P, 0, 0.1f, 0f, -3f, 0));
        expect("sel is null", () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 2, 0, 1, P, P, 0, 0.1f, 0f, 0f, 0));
        expect("w is null", () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 2, P, 1, 0, P, 0, 0.1f, 0f, 0f, 0));
        expect("dw_sel is null", () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 2, P, 1, P, 0, 0, 0.1f, 0f, 0f, 0));
        expect("sgd with momentum needs a momentum buffer",
                () -> NativeCalls.sgdUpdateSparse(6, 3, 9, 2, P, 1, P, P, 0, 0.1f, 0.9f, 0f, 0));
    }

    @Test
    void libraryFunctions() {
        expect("device must be >= 0, got -1", () -> NativeCalls.setDevice(-1));
        expect("unknown option 99", () -> NativeCalls.setOption(99, 1));
        expect("kernel version must be 0, 1, 2 or 3, got 5", () -> NativeCalls.setOption(NativeCalls.OPT_KERNEL_VERSION, 5));
        try (Arena arena = Arena.ofConfined()) {
            expect("unknown option 42", () -> NativeCalls.getOption(42, arena.allocate(ValueLayout.JAVA_INT)));
            MemorySegment rt = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment drv = arena.allocate(ValueLayout.JAVA_INT);
            NativeCalls.versions(rt, drv);
            assertTrue(rt.get(ValueLayout.JAVA_INT, 0) >= 12000, "runtime version " + rt.get(ValueLayout.JAVA_INT, 0));
        }
    }
}
