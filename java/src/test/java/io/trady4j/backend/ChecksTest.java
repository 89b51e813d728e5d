package io.trady4j.backend;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The shared argument checks on their own, with tensors of no backend: every bad input is an
 * IllegalArgumentException whose message names the offending argument (and what was wrong).
 */
class ChecksTest {
    private static final Conv2dSpec SPEC = new Conv2dSpec(4, 6, 3, 1, 1, 1, 2);
    private static final SgdStep PLAIN = new SgdStep(0.1f, 0f, 0f);
    private static final SgdStep WITH_MOMENTUM = new SgdStep(0.1f, 0.9f, 0f);

    /** A tensor that belongs to no backend: the checks look only at shape, dtype and open state. */
    private static Tensor f(int... dims) {
        return new Tensor(Shape.of(dims), DType.F32, MemoryCategory.WORKSPACE) {
            @Override
            protected void release() {
            }
        };
    }

    private static Tensor ints(int... dims) {
        return new Tensor(Shape.of(dims), DType.I32, MemoryCategory.WORKSPACE) {
            @Override
            protected void release() {
            }
        };
    }

    private static Tensor closed(int... dims) {
        Tensor t = f(dims);
        t.close();
        return t;
    }

    private static ChannelIndex selection(int bound, int... indices) {
        return new ChannelIndex(indices, bound, ints(indices.length));
    }

    private record Case(String what, Executable call, String... fragments) {
    }

    private static Case bad(String what, Executable call, String... fragments) {
        return new Case(what, call, fragments);
    }

    @Test
    void goodArgumentsPass() {
        ChannelIndex sel = selection(4, 1, 3);
        assertDoesNotThrow(() -> Checks.conv2dGather(f(2, 4, 5, 5), f(6, 2, 3, 3), f(6), SPEC, Activation.RELU, sel,
                f(2, 6, 5, 5), f(2, 2, 5, 5)));
        assertDoesNotThrow(() -> Checks.conv2dDwSparse(f(2, 2, 5, 5), f(2, 6, 5, 5), sel, SPEC, f(3, 2, 3, 3)));
        assertDoesNotThrow(() -> Checks.conv2dDx(f(2, 6, 5, 5), f(6, 2, 3, 3), SPEC, f(2, 4, 5, 5)));
        assertDoesNotThrow(() -> Checks.linear(f(3, 5, 1, 1), f(4, 5), f(4), f(3, 4)));
        assertDoesNotThrow(() -> Checks.maxPool2d(f(1, 2, 5, 5), 3, 2, 1, f(1, 2, 3, 3), ints(1, 2, 3, 3)));
        assertDoesNotThrow(() -> Checks.softmaxCrossEntropy(f(4, 10), ints(4), f(2), null));
        assertDoesNotThrow(() -> Checks.sgdUpdateSparse(f(6, 2, 3, 3), f(3, 2, 3, 3), sel, 2, f(3, 2, 3, 3),
                WITH_MOMENTUM));
    }

    @Test
    void everyBadArgumentIsNamed() {
        ChannelIndex sel = selection(4, 1, 3);
        ChannelIndex wrongBound = selection(5, 1, 3);
        ChannelIndex closedSel = selection(4, 1, 3);
        closedSel.close();
        Tensor x = f(2, 4, 5, 5);
        Tensor w = f(6, 2, 3, 3);
        Tensor y = f(2, 6, 5, 5);
        List<Case> cases = List.of(
                bad("upload of a short array", () -> Checks.upload(new float[5], Shape.of(2, 3)), "5 elements", "[2x3]"),
                bad("upload of no array", () -> Checks.uploadInts(null, Shape.of(2)), "upload data", "missing"),
                bad("download into no array", () -> Checks.download(f(4), null), "download destination", "missing"),
                bad("float download of ints", () -> Checks.download(ints(4), new float[4]), "download source", "float32"),
                bad("int download of floats", () -> Checks.downloadInts(f(4), new int[4]), "download source", "int32"),
                bad("fill of a closed tensor", () -> Checks.fill(closed(3), DType.F32), "filled tensor", "closed"),
                bad("copy between sizes", () -> Checks.copy(f(4), f(5)), "copy", "F32[4]", "F32[5]"),
                bad("copy into a closed tensor", () -> Checks.copy(f(4), closed(4)), "copy destination", "closed"),

                bad("conv without input", () -> Checks.conv2d(null, w, null, SPEC, Activation.NONE, y), "input", "missing"),
                bad("conv of ints", () -> Checks.conv2d(ints(2, 4, 5, 5), w, null, SPEC, Activation.NONE, y),
                        "input", "float32"),
                bad("conv with wrong channels", () -> Checks.conv2d(f(2, 3, 5, 5), w, null, SPEC, Activation.NONE, y),
                        "input", "[B, 4, H, W]"),
                bad("conv with a closed weight", () -> Checks.conv2d(x, closed(6, 2, 3, 3), null, SPEC, Activation.NONE, y),
                        "weight", "closed"),
                bad("conv with a wrong weight", () -> Checks.conv2d(x, f(6, 4, 3, 3), null, SPEC, Activation.NONE, y),
                        "weight", "[6x2x3x3]"),
                bad("conv with a wrong bias", () -> Checks.conv2d(x, w, f(5), SPEC, Activation.NONE, y), "bias", "[6]"),
                bad("conv with a wrong output", () -> Checks.conv2d(x, w, null, SPEC, Activation.NONE, f(2, 6, 4, 4)),
                        "output", "[2x6x5x5]"),
                bad("conv without spec", () -> Checks.conv2d(x, w, null, null, Activation.NONE, y), "conv spec"),
                bad("conv without activation", () -> Checks.conv2d(x, w, null, SPEC, null, y), "activation"),
                bad("gather-conv over another layer's channels",
                        () -> Checks.conv2dGather(x, w, null, SPEC, Activation.NONE, wrongBound, y, f(2, 2, 5, 5)),
                        "channel selection", "5", "4"),
                bad("gather-conv with a closed selection",
                        () -> Checks.conv2dGather(x, w, null, SPEC, Activation.NONE, closedSel, y, f(2, 2, 5, 5)),
                        "channel selection", "closed"),
                bad("gather-conv with a wrong gathered input",
                        () -> Checks.conv2dGather(x, w, null, SPEC, Activation.NONE, sel, y, f(2, 3, 5, 5)),
                        "gathered input", "[2x2x5x5]"),
                bad("sparse dW with a wrong gathered input",
                        () -> Checks.conv2dDwSparse(f(2, 3, 5, 5), y, sel, SPEC, f(3, 2, 3, 3)), "gathered input",
                        "[B, 2, H, W]"),
                bad("sparse dW with a wrong dy", () -> Checks.conv2dDwSparse(f(2, 2, 5, 5), f(2, 6, 4, 5), sel, SPEC,
                        f(3, 2, 3, 3)), "output gradient", "[2x6x5x5]"),
                bad("sparse dW into a wrong gradient", () -> Checks.conv2dDwSparse(f(2, 2, 5, 5), y, sel, SPEC,
                        f(6, 2, 3, 3)), "sparse weight gradient", "[3x2x3x3]"),
                bad("conv dx from a wrong dy", () -> Checks.conv2dDx(f(2, 6, 3, 3), w, SPEC, f(2, 4, 5, 5)),
                        "output gradient", "[2x6x5x5]"),
                bad("conv dx into nothing", () -> Checks.conv2dDx(y, w, SPEC, null), "input gradient", "missing"),

                bad("linear with a 4-D weight", () -> Checks.linear(f(3, 5), f(4, 5, 1, 1), null, f(3, 4)),
                        "linear weight", "[O, F]"),
                bad("linear with too many features", () -> Checks.linear(f(3, 6), f(4, 5), null, f(3, 4)),
                        "linear input", "[3x6]"),
                bad("linear into a wrong output", () -> Checks.linear(f(3, 5), f(4, 5), null, f(4, 4)),
                        "linear output", "[3x4]"),
                bad("linear with a wrong bias", () -> Checks.linear(f(3, 5), f(4, 5), f(3), f(3, 4)), "linear bias"),
                bad("linear dx from a wrong dy", () -> Checks.linearDx(f(3, 3), f(4, 5), f(3, 5)),
                        "linear output gradient", "[3x4]"),
                bad("linear dx into a wrong dx", () -> Checks.linearDx(f(3, 4), f(4, 5), f(3, 6)),
                        "linear input gradient"),
                bad("sparse linear dW with a wrong gathered input",
                        () -> Checks.linearDwSparse(f(3, 3), f(3, 4), sel, f(4, 2)), "gathered linear input", "2 features"),
                bad("sparse linear dW into a wrong gradient",
                        () -> Checks.linearDwSparse(f(3, 2), f(3, 4), sel, f(4, 3)), "sparse linear weight gradient"),
                bad("sparse linear dW with a closed selection",
                        () -> Checks.linearDwSparse(f(3, 2), f(3, 4), closedSel, f(4, 2)), "channel selection", "closed"),
                bad("bias gradient of a 3-D dy", () -> Checks.biasGrad(f(2, 3, 4), f(3)), "dy", "[2x3x4]"),
                bad("bias gradient into a wrong db", () -> Checks.biasGrad(f(2, 3), f(2)), "bias gradient", "[3]"),

                bad("gather without selection", () -> Checks.gatherChannels(x, null, f(2, 2, 5, 5)),
                        "channel selection", "missing"),
                bad("gather into a wrong tensor", () -> Checks.gatherChannels(x, sel, f(2, 3, 5, 5)),
                        "gathered input", "[2x2x5x5]"),
                bad("activation into a wrong shape", () -> Checks.activation(Activation.RELU, f(4), f(5)),
                        "activation output", "[5]"),
                bad("activation backward into a wrong shape",
                        () -> Checks.activationBackward(Activation.RELU, f(4), f(4), f(5)), "activation input gradient"),
                bad("add of different shapes", () -> Checks.add(f(2, 3), f(3, 2), f(2, 3)), "second addend", "[3x2]"),
                bad("add into a closed sum", () -> Checks.add(f(2, 3), f(2, 3), closed(2, 3)), "sum", "closed"),
                bad("global pooling into a wrong output", () -> Checks.globalAvgPool(f(2, 3, 4, 4), f(2, 4)),
                        "pooled output", "[2x3]"),
                bad("global pooling backward from a wrong dy", () -> Checks.globalAvgPoolBackward(f(2, 4), f(2, 3, 4, 4)),
                        "pooled gradient", "[2x3]"),
                bad("max pooling with too much padding",
                        () -> Checks.maxPool2d(f(1, 1, 4, 4), 2, 1, 2, f(1, 1, 5, 5), ints(1, 1, 5, 5)), "padding"),
                bad("max pooling with a float arg-max",
                        () -> Checks.maxPool2d(f(1, 1, 4, 4), 2, 2, 0, f(1, 1, 2, 2), f(1, 1, 2, 2)),
                        "pooling arg-max", "int32"),
                bad("max pooling backward with a wrong arg-max",
                        () -> Checks.maxPool2dBackward(f(1, 1, 2, 2), ints(1, 1, 2, 3), f(1, 1, 4, 4)),
                        "pooling arg-max", "[1x1x2x2]"),

                bad("loss of 3-D logits", () -> Checks.softmaxCrossEntropy(f(2, 3, 1), ints(2), f(2), null), "logits"),
                bad("loss with float labels", () -> Checks.softmaxCrossEntropy(f(2, 3), f(2), f(2), null),
                        "labels", "int32"),
                bad("loss with too few labels", () -> Checks.softmaxCrossEntropy(f(2, 3), ints(1), f(2), null),
                        "labels", "[2]"),
                bad("loss into wrong statistics", () -> Checks.softmaxCrossEntropy(f(2, 3), ints(2), f(3), null),
                        "loss statistics", "[2]"),
                bad("loss into a wrong gradient", () -> Checks.softmaxCrossEntropy(f(2, 3), ints(2), f(2), f(3, 2)),
                        "logit gradient", "[2x3]"),
                bad("a label outside the classes", () -> {
                    throw Checks.labelOutsideClasses(3, 7, 5);
                }, "label 7 of sample 3", "[0, 5)"),

                bad("sgd with a wrong gradient", () -> Checks.sgdUpdate(f(4), f(5), null, PLAIN), "gradient", "[5]"),
                bad("sgd with momentum but no buffer", () -> Checks.sgdUpdate(f(4), f(4), null, WITH_MOMENTUM),
                        "momentum buffer"),
                bad("sgd with a wrong momentum buffer", () -> Checks.sgdUpdate(f(4), f(4), f(3), WITH_MOMENTUM),
                        "momentum buffer", "[3]"),
                bad("sgd without step", () -> Checks.sgdUpdate(f(4), f(4), null, null), "sgd step"),
                bad("sparse sgd with a wrong gradient", () -> Checks.sgdUpdateSparse(w, f(3, 3, 3, 3), sel, 2, null, PLAIN),
                        "sparse gradient", "[3x3x3x3]"),
                bad("sparse sgd with groups that do not divide", () -> Checks.sgdUpdateSparse(w, f(3, 2, 3, 3), sel, 4,
                        null, PLAIN), "groups 4"),
                bad("sparse sgd without selection", () -> Checks.sgdUpdateSparse(w, f(3, 2, 3, 3), null, 2, null, PLAIN),
                        "channel selection", "missing"),
                bad("sparse sgd over another layer's channels",
                        () -> Checks.sgdUpdateSparse(w, f(3, 2, 3, 3), wrongBound, 2, null, PLAIN),
                        "channel selection", "5", "4"),
                bad("sparse sgd with a wrong momentum buffer",
                        () -> Checks.sgdUpdateSparse(w, f(3, 2, 3, 3), sel, 2, f(3, 2, 3, 2), WITH_MOMENTUM),
                        "momentum buffer", "[3x2x3x2]"));

        List<String> failures = new ArrayList<>();
        for (Case c : cases) {
            try {
                c.call().execute();
                failures.add(c.what() + ": accepted");
            } catch (IllegalArgumentException e) {
                String m = e.getMessage() == null ? "" : e.getMessage();
                for (String fragment : c.fragments()) {
                    if (!m.contains(fragment)) {
                        failures.add(c.what() + ": '" + m + "' does not mention '" + fragment + "'");
                    }
                }
                if (m.contains("\n")) {
                    failures.add(c.what() + ": more than one line: " + m);
                }
            } catch (Throwable t) {
                failures.add(c.what() + ": " + t + " instead of an IllegalArgumentException");
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + cases.size() + " bad inputs were not reported as expected:\n"
                    + String.join("\n", failures));
        }
    }

    @Test
    void theFirstFaultInArgumentOrderIsReported() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checks.conv2d(f(2, 3, 5, 5), f(6, 4, 3, 3), f(5), SPEC, Activation.NONE, f(1)));
        assertEquals("conv2d input must be [B, 4, H, W], got [2x3x5x5]", e.getMessage());
    }
}
