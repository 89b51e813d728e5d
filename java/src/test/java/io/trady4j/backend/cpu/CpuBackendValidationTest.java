package io.trady4j.backend.cpu;

import io.trady4j.backend.Activation;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input gets an IllegalArgumentException with a message that names the problem, thrown before
 * any output is written.
 */
class CpuBackendValidationTest {
    private static final CpuBackend BE = new CpuBackend(2);
    private static final Conv2dSpec SPEC = new Conv2dSpec(4, 6, 3, 1, 1, 1, 2);

    @AfterAll
    static void close() {
        BE.close();
    }

    private static Tensor t(int... dims) {
        Tensor t = BE.allocate(Shape.of(dims), DType.F32, MemoryCategory.WORKSPACE);
        BE.fill(t, 0.5f);
        return t;
    }

    private static Tensor nan(int... dims) {
        Tensor t = BE.allocate(Shape.of(dims), DType.F32, MemoryCategory.WORKSPACE);
        BE.fill(t, Float.NaN);
        return t;
    }

    private static Tensor ints(int... dims) {
        return BE.allocate(Shape.of(dims), DType.I32, MemoryCategory.WORKSPACE);
    }

    /** Asserts an IllegalArgumentException whose message contains every fragment (case-insensitive). */
    private static void rejects(Executable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase();
        for (String f : fragments) {
            assertTrue(m.contains(f.toLowerCase()), "message '" + e.getMessage() + "' should mention '" + f + "'");
        }
    }

    private static void untouched(Tensor out) {
        for (float v : BE.toFloatArray(out)) {
            assertTrue(Float.isNaN(v), "the output was written although the call was rejected");
        }
    }

    @Test
    void conv2dRejectsWrongShapes() {
        Tensor x = t(2, 4, 5, 5), w = t(6, 2, 3, 3), y = nan(2, 6, 5, 5);
        rejects(() -> BE.conv2d(t(2, 3, 5, 5), w, null, SPEC, Activation.NONE, y), "input", "[B, 4, H, W]");
        rejects(() -> BE.conv2d(t(4, 5, 5), w, null, SPEC, Activation.NONE, y), "input");
        rejects(() -> BE.conv2d(x, t(6, 4, 3, 3), null, SPEC, Activation.NONE, y), "weight", "[6x2x3x3]");
        rejects(() -> BE.conv2d(x, w, t(5), SPEC, Activation.NONE, y), "bias");
        rejects(() -> BE.conv2d(x, w, null, SPEC, Activation.NONE, nan(2, 6, 4, 4)), "output", "[2x6x5x5]");
        rejects(() -> BE.conv2d(t(1, 4, 1, 1), t(6, 2, 5, 5), null, new Conv2dSpec(4, 6, 5, 1, 1, 1, 2), Activation.NONE, y),
                "smaller than the dilated kernel");
        rejects(() -> BE.conv2d(null, w, null, SPEC, Activation.NONE, y), "input", "missing");
        rejects(() -> BE.conv2d(x, null, null, SPEC, Activation.NONE, y), "weight", "missing");
        rejects(() -> BE.conv2d(x, w, null, SPEC, Activation.NONE, null), "output", "missing");
        rejects(() -> BE.conv2d(x, w, null, SPEC, null, y), "activation", "missing");
        rejects(() -> BE.conv2d(x, w, null, null, Activation.NONE, y), "spec", "missing");
        untouched(y);
    }

    @Test
    void conv2dGatherRejectsSelectionMismatches() {
        Tensor x = t(2, 4, 5, 5), w = t(6, 2, 3, 3), y = nan(2, 6, 5, 5);
        try (ChannelIndex wrongBound = BE.channelIndex(new int[] {0, 2}, 5);
             ChannelIndex sel = BE.channelIndex(new int[] {1, 3}, 4)) {
            rejects(() -> BE.conv2dGather(x, w, null, SPEC, Activation.RELU, wrongBound, y, nan(2, 2, 5, 5)),
                    "selection", "5", "4");
            rejects(() -> BE.conv2dGather(x, w, null, SPEC, Activation.RELU, sel, y, nan(2, 3, 5, 5)),
                    "gathered input", "[2x2x5x5]");
            rejects(() -> BE.conv2dGather(x, w, null, SPEC, Activation.RELU, null, y, nan(2, 2, 5, 5)),
                    "selection", "missing");
            rejects(() -> BE.conv2dGather(x, w, null, SPEC, Activation.RELU, sel, y, null), "gathered input", "missing");
        }
        untouched(y);
    }

    @Test
    void conv2dDwSparseRejectsMismatches() {
        Tensor dy = t(2, 6, 5, 5);
        try (ChannelIndex sel = BE.channelIndex(new int[] {1, 3}, 4);
             ChannelIndex wrongBound = BE.channelIndex(new int[] {1, 3}, 8)) {
            Tensor dw = nan(3, 2, 3, 3);
            rejects(() -> BE.conv2dDwSparse(t(2, 3, 5, 5), dy, sel, SPEC, dw), "gathered input", "[B, 2, H, W]");
            rejects(() -> BE.conv2dDwSparse(t(2, 2, 5, 5), t(2, 6, 4, 5), sel, SPEC, dw), "output gradient");
            rejects(() -> BE.conv2dDwSparse(t(2, 2, 5, 5), dy, sel, SPEC, nan(6, 2, 3, 3)), "sparse weight gradient",
                    "[3x2x3x3]");
            rejects(() -> BE.conv2dDwSparse(t(2, 2, 5, 5), dy, wrongBound, SPEC, dw), "selection", "8", "4");
            untouched(dw);
        }
    }

    @Test
    void conv2dDxRejectsMismatches() {
        Tensor dx = nan(2, 4, 5, 5);
        rejects(() -> BE.conv2dDx(t(2, 6, 3, 3), t(6, 2, 3, 3), SPEC, dx), "output gradient", "[2x6x5x5]");
        rejects(() -> BE.conv2dDx(t(2, 6, 5, 5), t(6, 4, 3, 3), SPEC, dx), "weight");
        rejects(() -> BE.conv2dDx(t(2, 6, 5, 5), t(6, 2, 3, 3), SPEC, nan(2, 5, 5, 5)), "[B, 4, H, W]");
        untouched(dx);
    }

    @Test
    void closedTensorsAndSelectionsAreRejected() {
        Tensor x = t(2, 4, 5, 5), w = t(6, 2, 3, 3), y = nan(2, 6, 5, 5);
        Tensor closed = t(2, 4, 5, 5);
        closed.close();
        rejects(() -> BE.conv2d(closed, w, null, SPEC, Activation.NONE, y), "closed");
        rejects(() -> BE.add(closed, closed, closed), "closed");
        rejects(() -> BE.fill(closed, 1f), "closed");
        ChannelIndex sel = BE.channelIndex(new int[] {1}, 4);
        sel.close();
        rejects(() -> BE.conv2dGather(x, w, null, SPEC, Activation.NONE, sel, y, nan(2, 1, 5, 5)), "selection", "closed");
        untouched(y);
    }

    @Test
    void foreignAndIntTensorsAreRejected() {
        Tensor foreign = new Tensor(Shape.of(2, 4, 5, 5), DType.F32, MemoryCategory.WORKSPACE) {
            @Override
            protected void release() {
            }
        };
        Tensor w = t(6, 2, 3, 3), y = nan(2, 6, 5, 5);
        rejects(() -> BE.conv2d(foreign, w, null, SPEC, Activation.NONE, y), "not a cpu tensor");
        rejects(() -> BE.conv2d(ints(2, 4, 5, 5), w, null, SPEC, Activation.NONE, y), "float32");
        rejects(() -> BE.softmaxCrossEntropy(t(2, 3), t(2), t(2), null), "int32");
        untouched(y);
    }

    @Test
    void linearRejectsMismatches() {
        rejects(() -> BE.linear(t(3, 5), t(4, 5, 1, 1), null, nan(3, 4)), "linear weight", "[O, F]");
        rejects(() -> BE.linear(t(3, 6), t(4, 5), null, nan(3, 4)), "linear input");
        rejects(() -> BE.linear(t(3, 5, 2, 2), t(4, 5), null, nan(3, 4)), "linear input");
        rejects(() -> BE.linear(t(3, 5), t(4, 5), t(3), nan(3, 4)), "bias");
        rejects(() -> BE.linear(t(3, 5), t(4, 5), null, nan(4, 4)), "linear output");
        rejects(() -> BE.linearDx(t(3, 4), t(4, 5, 1, 1), nan(3, 5)), "linear weight", "[O, F]");
        rejects(() -> BE.linearDx(t(3, 4), t(4, 5), nan(3, 6)), "linear input gradient");
        rejects(() -> BE.linearDx(t(3, 3), t(4, 5), nan(3, 5)), "output gradient");
        try (ChannelIndex sel = BE.channelIndex(new int[] {0, 4}, 5)) {
            rejects(() -> BE.linearDwSparse(t(3, 3), t(3, 4), sel, nan(4, 2)), "gathered linear input");
            rejects(() -> BE.linearDwSparse(t(3, 2), t(3, 4), sel, nan(4, 3)), "sparse linear weight gradient");
            rejects(() -> BE.linearDwSparse(t(2, 2), t(3, 4), sel, nan(4, 2)), "gathered linear input");
            rejects(() -> BE.linearDwSparse(t(3, 2), t(3, 4, 1, 1), sel, nan(4, 2)), "output gradient");
        }
    }

    @Test
    void elementwisePoolingAndLossRejectBadInput() {
        rejects(() -> BE.add(t(2, 3), t(3, 2), nan(2, 3)), "add", "equal shapes");
        rejects(() -> BE.activation(Activation.RELU, t(4), nan(5)), "activation");
        rejects(() -> BE.activationBackward(Activation.RELU, t(4), t(4), nan(5)), "activation backward");
        rejects(() -> BE.biasGrad(t(2, 3, 4), nan(3)), "bias gradient");
        rejects(() -> BE.biasGrad(t(2, 3), nan(2)), "bias gradient");
        rejects(() -> BE.globalAvgPool(t(2, 3, 4, 4), nan(2, 4)), "pooled output");
        rejects(() -> BE.globalAvgPoolBackward(t(2, 4), nan(2, 3, 4, 4)), "pooled gradient");
        rejects(() -> BE.maxPool2d(t(1, 1, 4, 4), 2, 1, 2, nan(1, 1, 5, 5), ints(1, 1, 5, 5)), "padding");
        rejects(() -> BE.maxPool2d(t(1, 1, 4, 4), 2, 2, 0, nan(1, 1, 3, 3), ints(1, 1, 3, 3)), "pooled output");
        Tensor labels = BE.uploadInts(new int[] {0, 3}, Shape.of(2), MemoryCategory.DATA);
        rejects(() -> BE.softmaxCrossEntropy(t(2, 3), labels, nan(2), nan(2, 3)), "label 3", "[0, 3)");
        rejects(() -> BE.softmaxCrossEntropy(t(2, 3), labels, nan(3), null), "loss statistics");
        try (ChannelIndex sel = BE.channelIndex(new int[] {1}, 3)) {
            rejects(() -> BE.gatherChannels(t(2, 4, 3, 3), sel, nan(2, 1, 3, 3)), "selection", "3", "4");
            rejects(() -> BE.gatherChannels(t(2, 3, 3, 3), sel, nan(2, 2, 3, 3)), "gathered input");
        }
    }

    @Test
    void maxPoolBackwardRejectsArgmaxOutsideThePlane() {
        Tensor arg = BE.uploadInts(new int[] {0, 16}, Shape.of(1, 1, 1, 2), MemoryCategory.WORKSPACE);
        rejects(() -> BE.maxPool2dBackward(t(1, 1, 1, 2), arg, nan(1, 1, 4, 4)), "arg-max 16");
    }

    @Test
    void sgdRejectsBadInput() {
        SgdStep withMomentum = new SgdStep(0.1f, 0.9f, 0f);
        rejects(() -> BE.sgdUpdate(t(4), t(4), null, withMomentum), "momentum buffer");
        rejects(() -> BE.sgdUpdate(t(4), t(5), null, new SgdStep(0.1f, 0f, 0f)), "equal shapes");
        rejects(() -> BE.sgdUpdate(t(4), t(4), t(3), withMomentum), "momentum");
        try (ChannelIndex sel = BE.channelIndex(new int[] {1, 2}, 4);
             ChannelIndex wrong = BE.channelIndex(new int[] {1, 2}, 5)) {
            Tensor w = t(6, 2, 3, 3);
            rejects(() -> BE.sgdUpdateSparse(w, t(3, 3, 3, 3), sel, 2, null, new SgdStep(0.1f, 0f, 0f)),
                    "sparse gradient");
            rejects(() -> BE.sgdUpdateSparse(w, t(3, 2, 3, 3), wrong, 2, null, new SgdStep(0.1f, 0f, 0f)),
                    "selection", "5", "4");
            rejects(() -> BE.sgdUpdateSparse(w, t(3, 2, 3, 3), sel, 4, null, new SgdStep(0.1f, 0f, 0f)), "groups");
            rejects(() -> BE.sgdUpdateSparse(w, t(3, 2, 3, 3), sel, 2, null, withMomentum), "momentum buffer");
            float[] before = BE.toFloatArray(w);
            rejects(() -> BE.sgdUpdateSparse(w, t(3, 2, 3, 3), sel, 2, t(3, 2, 3, 2), withMomentum), "momentum");
            assertFalse(!java.util.Arrays.equals(before, BE.toFloatArray(w)), "weights changed by a rejected update");
        }
    }

    @Test
    void channelIndexRejectsBadSelections() {
        rejects(() -> BE.channelIndex(new int[] {}, 4), "empty");
        rejects(() -> BE.channelIndex(new int[] {2, 1}, 4), "sorted");
        rejects(() -> BE.channelIndex(new int[] {1, 1}, 4), "unique");
        rejects(() -> BE.channelIndex(new int[] {4}, 4), "out of range");
        rejects(() -> BE.channelIndex(new int[] {-1}, 4), "out of range");
    }

    @Test
    void uploadAndCopyRejectMismatches() {
        rejects(() -> BE.upload(new float[5], Shape.of(2, 3), MemoryCategory.DATA), "5", "[2x3]");
        rejects(() -> BE.copy(t(4), t(5)), "copy");
        rejects(() -> BE.copy(t(4), ints(4)), "copy");
        rejects(() -> BE.download(t(4), new float[3]), "does not fit");
    }
}
