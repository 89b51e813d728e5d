package io.trady4j.cli;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.cli.OpSpec.Param;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.trady4j.cli.OpContext.dims;

/** The operations the op runner offers, each a thin shell over one {@link Backend} call. */
final class Ops {
    private Ops() {
    }

    private static final String X = "[B, C, H, W]";

    private static final List<Param> CONV_PARAMS = List.of(
            Param.of("stride", "1", "stride (both axes)"),
            Param.of("padding", "0", "zero padding (both axes)"),
            Param.of("dilation", "1", "dilation (both axes)"),
            Param.of("groups", "1", "groups; groups = C = C' is depthwise"));

    private static final Param ACT = Param.of("act", "none", "fused activation: none, relu or relu6");

    private static List<Param> params(List<Param> base, Param... more) {
        List<Param> all = new ArrayList<>(base);
        all.addAll(List.of(more));
        return all;
    }

    static final Map<String, OpSpec> ALL = build();

    private static Map<String, OpSpec> build() {
        List<OpSpec> ops = List.of(
                new OpSpec("conv2d", "y = act(conv2d(x, w) + b)",
                        List.of(OpSpec.Tensor.f32("x", X), OpSpec.Tensor.f32("w", "[C', C/groups, D, D]"),
                                OpSpec.Tensor.optional("b", "[C']", "bias")),
                        params(CONV_PARAMS, ACT),
                        List.of(OpSpec.Tensor.f32("y", "[B, C', H', W']")),
                        ctx -> conv(ctx, false)),
                new OpSpec("conv2d_gather", "conv2d forward that also writes the gathered input x[:, idx] (channel-gathered caching)",
                        List.of(OpSpec.Tensor.f32("x", X), OpSpec.Tensor.f32("w", "[C', C/groups, D, D]"),
                                OpSpec.Tensor.optional("b", "[C']", "bias"),
                                OpSpec.Tensor.i32("idx", "[|S|]").note("selected input channels, sorted, unique, in [0, C)")),
                        params(CONV_PARAMS, ACT),
                        List.of(OpSpec.Tensor.f32("y", "[B, C', H', W']"), OpSpec.Tensor.f32("x_sel", "[B, |S|, H, W]")),
                        ctx -> conv(ctx, true)),
                new OpSpec("conv2d_dw_sparse", "weight gradient of the selected input channels from the gathered input",
                        List.of(OpSpec.Tensor.f32("x_sel", "[B, |S|, H, W]").note("x[:, idx]"),
                                OpSpec.Tensor.f32("dy", "[B, C', H', W']").note("gradient at the conv output (before the activation)"),
                                OpSpec.Tensor.i32("idx", "[|S|]").note("selected input channels, sorted, unique, in [0, C)")),
                        params(CONV_PARAMS, Param.required("kernel", "kernel size D"),
                                Param.required("in_channels", "C, the layer's input channels")),
                        List.of(OpSpec.Tensor.f32("dw_sel", "[C'/groups, |S|, D, D]").note(
                                "dw_sel[o, j] = dW[group(idx_j)*C'/groups + o, idx_j mod C/groups]; = dW[:, idx] for groups 1;"
                                        + " depthwise (groups = C = C') is [|S|, 1, D, D]")),
                        Ops::convDwSparse),
                new OpSpec("conv2d_dx", "input gradient of conv2d",
                        List.of(OpSpec.Tensor.f32("dy", "[B, C', H', W']").note("gradient at the conv output (before the activation)"),
                                OpSpec.Tensor.f32("w", "[C', C/groups, D, D]")),
                        params(CONV_PARAMS, Param.required("in_height", "H of the layer input"),
                                Param.required("in_width", "W of the layer input")),
                        List.of(OpSpec.Tensor.f32("dx", "[B, C, H, W]")),
                        Ops::convDx),
                new OpSpec("linear", "y = x · wᵀ + b",
                        List.of(OpSpec.Tensor.f32("x", "[B, F] or [B, F, 1, 1]"), OpSpec.Tensor.f32("w", "[O, F]"),
                                OpSpec.Tensor.optional("b", "[O]", "bias")),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("y", "[B, O]")),
                        Ops::linear),
                new OpSpec("linear_dx", "input gradient of linear: dx = dy · w",
                        List.of(OpSpec.Tensor.f32("dy", "[B, O]"), OpSpec.Tensor.f32("w", "[O, F]")),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("dx", "[B, F]")),
                        Ops::linearDx),
                new OpSpec("linear_dw_sparse", "weight gradient of the selected input features: dw_sel = dyᵀ · x_sel = dW[:, idx]",
                        List.of(OpSpec.Tensor.f32("x_sel", "[B, |S|] or [B, |S|, 1, 1]").note("x[:, idx]"),
                                OpSpec.Tensor.f32("dy", "[B, O]"),
                                OpSpec.Tensor.i32("idx", "[|S|]").note("selected input features, sorted, unique")),
                        List.of(Param.of("in_features", "", "F; when given, idx is checked against [0, F)")),
                        List.of(OpSpec.Tensor.f32("dw_sel", "[O, |S|]")),
                        Ops::linearDwSparse),
                new OpSpec("gather_channels", "x_sel = x[:, idx]",
                        List.of(OpSpec.Tensor.f32("x", "[B, C] or [B, C, H, W]"),
                                OpSpec.Tensor.i32("idx", "[|S|]").note("sorted, unique, in [0, C)")),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("x_sel", "[B, |S|] or [B, |S|, H, W]")),
                        Ops::gather),
                new OpSpec("bias_grad", "db = sum of dy over batch and space",
                        List.of(OpSpec.Tensor.f32("dy", "[B, C] or [B, C, H, W]")),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("db", "[C]")),
                        Ops::biasGrad),
                new OpSpec("activation", "y = act(x)",
                        List.of(OpSpec.Tensor.f32("x", "any shape")),
                        List.of(ACT),
                        List.of(OpSpec.Tensor.f32("y", "shape of x")),
                        Ops::activation),
                new OpSpec("activation_backward", "dx = dy where act passes the gradient at output y, else 0",
                        List.of(OpSpec.Tensor.f32("y", "any shape").note("the activation's output"),
                                OpSpec.Tensor.f32("dy", "shape of y")),
                        List.of(ACT),
                        List.of(OpSpec.Tensor.f32("dx", "shape of y")),
                        Ops::activationBackward),
                new OpSpec("activation_mask", "1 bit per element: where act passes the gradient at output y",
                        List.of(OpSpec.Tensor.f32("y", "any shape").note("the activation's output")),
                        List.of(ACT),
                        List.of(OpSpec.Tensor.i32("mask", "[ceil(numel(y) / 32)]")
                                .note("bit e % 32 of word e / 32 is element e's; unused bits 0")),
                        Ops::activationMask),
                new OpSpec("activation_backward_masked", "dx = dy where the mask's bit is set, else 0",
                        List.of(OpSpec.Tensor.i32("mask", "[ceil(numel(dy) / 32)]").note("from activation_mask"),
                                OpSpec.Tensor.f32("dy", "any shape")),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("dx", "shape of dy")),
                        Ops::activationBackwardMasked),
                new OpSpec("add", "out = a + b (residual add)",
                        List.of(OpSpec.Tensor.f32("a", "any shape"), OpSpec.Tensor.f32("b", "shape of a")),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("out", "shape of a")),
                        Ops::add),
                new OpSpec("global_avg_pool", "y = mean of x over H and W",
                        List.of(OpSpec.Tensor.f32("x", X)),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("y", "[B, C]")),
                        Ops::avgPool),
                new OpSpec("global_avg_pool_backward", "dx = dy / (H·W), broadcast",
                        List.of(OpSpec.Tensor.f32("dy", "[B, C]")),
                        List.of(Param.required("in_height", "H"), Param.required("in_width", "W")),
                        List.of(OpSpec.Tensor.f32("dx", X)),
                        Ops::avgPoolBackward),
                new OpSpec("max_pool2d", "max pooling with -inf padding (ResNet stem: --kernel 3 --stride 2 --padding 1)",
                        List.of(OpSpec.Tensor.f32("x", X)),
                        List.of(Param.required("kernel", "window size"), Param.of("stride", "kernel", "stride"),
                                Param.of("padding", "0", "padding, at most kernel/2")),
                        List.of(OpSpec.Tensor.f32("y", "[B, C, H', W']"),
                                OpSpec.Tensor.i32("argmax", "[B, C, H', W']").note("flat offset h·W + w of each maximum in its plane")),
                        Ops::maxPool),
                new OpSpec("max_pool2d_backward", "dx = dy scattered (added) at argmax",
                        List.of(OpSpec.Tensor.f32("dy", "[B, C, H', W']"), OpSpec.Tensor.i32("argmax", "[B, C, H', W']")),
                        List.of(Param.required("in_height", "H"), Param.required("in_width", "W")),
                        List.of(OpSpec.Tensor.f32("dx", X)),
                        Ops::maxPoolBackward),
                new OpSpec("softmax_cross_entropy", "mean softmax cross-entropy against integer labels, and its gradient",
                        List.of(OpSpec.Tensor.f32("logits", "[B, K]"), OpSpec.Tensor.i32("labels", "[B]").note("in [0, K)")),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("loss", "[1]").note("mean loss"),
                                OpSpec.Tensor.i32("correct", "[1]").note("number of samples whose arg-max is the label"),
                                OpSpec.Tensor.f32("dlogits", "[B, K]").note("gradient of the mean loss, (softmax - onehot)/B")),
                        Ops::softmax),
                new OpSpec("sgd", "one SGD step (PyTorch's rule: buf = momentum·buf + g + wd·p; p -= lr·buf)",
                        List.of(OpSpec.Tensor.f32("param", "any shape"), OpSpec.Tensor.f32("grad", "shape of param"),
                                OpSpec.Tensor.optional("momentum_buf", "shape of param",
                                        "required when --momentum > 0 (zeros = a fresh PyTorch optimizer)")),
                        List.of(Param.required("lr", "learning rate"), Param.of("momentum", "0", "momentum in [0, 1)"),
                                Param.of("weight_decay", "0", "weight decay")),
                        List.of(OpSpec.Tensor.f32("param", "updated parameter"),
                                OpSpec.Tensor.f32("momentum_buf", "updated buffer").note("only when --momentum > 0")),
                        Ops::sgd),
                new OpSpec("sgd_sparse", "SGD step on the selected slice W[:, idx] only (layout of conv2d_dw_sparse's dw_sel)",
                        List.of(OpSpec.Tensor.f32("w", "[C', C/groups, D, D] or [O, F]"),
                                OpSpec.Tensor.f32("dw_sel", "layout of conv2d_dw_sparse / linear_dw_sparse"),
                                OpSpec.Tensor.i32("idx", "[|S|]").note("selected input channels"),
                                OpSpec.Tensor.optional("momentum_buf", "shape of dw_sel", "required when --momentum > 0")),
                        List.of(Param.of("groups", "1", "groups of the layer"), Param.required("lr", "learning rate"),
                                Param.of("momentum", "0", "momentum in [0, 1)"), Param.of("weight_decay", "0", "weight decay")),
                        List.of(OpSpec.Tensor.f32("w", "updated weights (unselected channels untouched)"),
                                OpSpec.Tensor.f32("momentum_buf", "updated buffer").note("only when --momentum > 0")),
                        Ops::sgdSparse),
                new OpSpec("batch_norm_training", "BatchNorm with batch statistics; moves the running averages (PyTorch's train mode)",
                        List.of(OpSpec.Tensor.f32("x", X), OpSpec.Tensor.f32("gamma", "[C]"), OpSpec.Tensor.f32("beta", "[C]"),
                                OpSpec.Tensor.f32("running_mean", "[C]"), OpSpec.Tensor.f32("running_var", "[C]")),
                        List.of(Param.of("momentum", "0.1", "running-average momentum in [0, 1]"),
                                Param.of("eps", "1e-5", "added to the variance")),
                        List.of(OpSpec.Tensor.f32("y", X), OpSpec.Tensor.f32("running_mean", "updated"),
                                OpSpec.Tensor.f32("running_var", "updated (towards the unbiased batch variance)"),
                                OpSpec.Tensor.f32("save_mean", "[C]").note("batch mean"),
                                OpSpec.Tensor.f32("save_inv_std", "[C]").note("1/sqrt(biased batch variance + eps)")),
                        Ops::batchNormTraining),
                new OpSpec("batch_norm_backward", "dx, dgamma, dbeta of batch_norm_training (batch statistics depend on x)",
                        List.of(OpSpec.Tensor.f32("dy", X), OpSpec.Tensor.f32("x", X), OpSpec.Tensor.f32("gamma", "[C]"),
                                OpSpec.Tensor.f32("save_mean", "[C]"), OpSpec.Tensor.f32("save_inv_std", "[C]")),
                        List.of(),
                        List.of(OpSpec.Tensor.f32("dx", X), OpSpec.Tensor.f32("dgamma", "[C]"), OpSpec.Tensor.f32("dbeta", "[C]")),
                        Ops::batchNormBackward),
                new OpSpec("batch_norm_inference", "BatchNorm with the running averages (PyTorch's eval mode)",
                        List.of(OpSpec.Tensor.f32("x", X), OpSpec.Tensor.f32("gamma", "[C]"), OpSpec.Tensor.f32("beta", "[C]"),
                                OpSpec.Tensor.f32("running_mean", "[C]"), OpSpec.Tensor.f32("running_var", "[C]")),
                        List.of(Param.of("eps", "1e-5", "added to the variance")),
                        List.of(OpSpec.Tensor.f32("y", X)),
                        Ops::batchNormInference));
        Map<String, OpSpec> m = new LinkedHashMap<>();
        for (OpSpec op : ops) {
            m.put(op.name(), op);
        }
        return m;
    }

    // ------------------------------------------------------------------ convolution

    private static Conv2dSpec spec(OpContext ctx, int in, int out, int kernel) {
        int groups = ctx.intParam("groups", 1);
        try {
            return new Conv2dSpec(in, out, kernel, ctx.intParam("stride", 1), ctx.intParam("padding", 0),
                    ctx.intParam("dilation", 1), groups);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static Activation act(OpContext ctx) {
        try {
            return Activation.parse(ctx.param("act"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--act: " + e.getMessage());
        }
    }

    /** The conv geometry from x and w, with errors that name the tensors. */
    private static Conv2dSpec convFromWeights(OpContext ctx, Shape xs, Shape ws) {
        if (ws.dim(2) != ws.dim(3)) {
            throw new UsageException("tensor 'w' is " + dims(ws) + ": only square kernels are supported");
        }
        int groups = ctx.intParam("groups", 1);
        int c = xs.dim(1);
        if (c % groups != 0) {
            throw new UsageException("x has " + c + " channels, not divisible by --groups " + groups);
        }
        if (ws.dim(1) != c / groups) {
            throw new UsageException("tensor 'w' is " + dims(ws) + " but x has C = " + c + " channels and --groups is "
                    + groups + ": w must be [C', " + c / groups + ", D, D]");
        }
        return spec(ctx, c, ws.dim(0), ws.dim(2));
    }

    private static Shape outputShape(Conv2dSpec spec, Shape xs, String what) {
        try {
            return spec.outputShape(xs);
        } catch (IllegalArgumentException e) {
            throw new UsageException(what + ": " + e.getMessage());
        }
    }

    private static void conv(OpContext ctx, boolean gather) {
        Shape xs = ctx.shape("x", 4, X), ws = ctx.shape("w", 4, "[C', C/groups, D, D]");
        Conv2dSpec spec = convFromWeights(ctx, xs, ws);
        Activation act = act(ctx);
        if (ctx.has("b")) {
            ctx.expect("b", ctx.shape("b"), Shape.of(spec.outChannels()), "one bias per output channel");
        }
        ChannelIndex sel = gather ? ctx.selection("idx", spec.inChannels(), "C") : null;
        Shape ys = outputShape(spec, xs, "x is too small");
        Tensor x = ctx.f32("x"), w = ctx.f32("w"), b = ctx.optionalF32("b");
        Tensor y = ctx.output("y", ys);
        if (gather) {
            Tensor xSel = ctx.output("x_sel", Shape.of(xs.dim(0), sel.size(), xs.dim(2), xs.dim(3)));
            ctx.backend().conv2dGather(x, w, b, spec, act, sel, y, xSel);
        } else {
            ctx.backend().conv2d(x, w, b, spec, act, y);
        }
    }

    private static void convDwSparse(OpContext ctx) {
        Shape xs = ctx.shape("x_sel", 4, "[B, |S|, H, W]"), dys = ctx.shape("dy", 4, "[B, C', H', W']");
        int c = ctx.intParam("in_channels", 1);
        Conv2dSpec spec = spec(ctx, c, dys.dim(1), ctx.intParam("kernel", 1));
        ChannelIndex sel = ctx.selection("idx", c, "--in_channels");
        ctx.expect("x_sel", xs, Shape.of(xs.dim(0), sel.size(), xs.dim(2), xs.dim(3)), "idx selects " + sel.size()
                + " channels");
        Shape expectedDy = outputShape(spec, Shape.of(xs.dim(0), c, xs.dim(2), xs.dim(3)), "x_sel is too small");
        ctx.expect("dy", dys, expectedDy, "the conv output for x_sel's batch and size");
        Tensor dw = ctx.output("dw_sel", spec.sparseWeightGradShape(sel.size()));
        ctx.backend().conv2dDwSparse(ctx.f32("x_sel"), ctx.f32("dy"), sel, spec, dw);
    }

    private static void convDx(OpContext ctx) {
        Shape dys = ctx.shape("dy", 4, "[B, C', H', W']"), ws = ctx.shape("w", 4, "[C', C/groups, D, D]");
        if (ws.dim(2) != ws.dim(3)) {
            throw new UsageException("tensor 'w' is " + dims(ws) + ": only square kernels are supported");
        }
        int groups = ctx.intParam("groups", 1);
        Conv2dSpec spec = spec(ctx, ws.dim(1) * groups, ws.dim(0), ws.dim(2));
        Shape xs = Shape.of(dys.dim(0), spec.inChannels(), ctx.intParam("in_height", 1), ctx.intParam("in_width", 1));
        ctx.expect("dy", dys, outputShape(spec, xs, "--in_height/--in_width"), "the conv output of an input "
                + dims(xs) + " with weights " + dims(ws));
        Tensor dx = ctx.output("dx", xs);
        ctx.backend().conv2dDx(ctx.f32("dy"), ctx.f32("w"), spec, dx);
    }

    // ------------------------------------------------------------------ linear

    /** Batch and features of a [B, F] or [B, F, 1, 1] tensor. */
    private static int[] features(OpContext ctx, String name) {
        Shape s = ctx.shape(name);
        boolean ok = s.rank() == 2 || (s.rank() == 4 && s.dim(2) == 1 && s.dim(3) == 1);
        if (!ok) {
            throw new UsageException("tensor '" + name + "' must be [B, F] or [B, F, 1, 1], got " + dims(s));
        }
        return new int[]{s.dim(0), s.dim(1)};
    }

    private static void linear(OpContext ctx) {
        int[] bf = features(ctx, "x");
        Shape ws = ctx.shape("w", 2, "[O, F]");
        ctx.expect("w", ws, Shape.of(ws.dim(0), bf[1]), "x has F = " + bf[1] + " features");
        if (ctx.has("b")) {
            ctx.expect("b", ctx.shape("b"), Shape.of(ws.dim(0)), "one bias per output");
        }
        Tensor y = ctx.output("y", Shape.of(bf[0], ws.dim(0)));
        ctx.backend().linear(ctx.f32("x"), ctx.f32("w"), ctx.optionalF32("b"), y);
    }

    private static void linearDx(OpContext ctx) {
        Shape dys = ctx.shape("dy", 2, "[B, O]"), ws = ctx.shape("w", 2, "[O, F]");
        ctx.expect("dy", dys, Shape.of(dys.dim(0), ws.dim(0)), "w has O = " + ws.dim(0) + " outputs");
        Tensor dx = ctx.output("dx", Shape.of(dys.dim(0), ws.dim(1)));
        ctx.backend().linearDx(ctx.f32("dy"), ctx.f32("w"), dx);
    }

    private static void linearDwSparse(OpContext ctx) {
        int[] bf = features(ctx, "x_sel");
        Shape dys = ctx.shape("dy", 2, "[B, O]");
        ChannelIndex sel;
        if (ctx.hasParam("in_features")) {
            sel = ctx.selection("idx", ctx.intParam("in_features", 1), "--in_features");
        } else {
            int[] idx = ctx.ints("idx");
            int bound = 1;
            for (int i : idx) {
                bound = Math.max(bound, i + 1);
            }
            sel = ctx.selection("idx", bound, null);
        }
        if (bf[1] != sel.size()) {
            throw new UsageException("tensor 'x_sel' has " + bf[1] + " features but idx selects " + sel.size());
        }
        ctx.expect("dy", dys, Shape.of(bf[0], dys.dim(1)), "x_sel has batch " + bf[0]);
        Tensor dw = ctx.output("dw_sel", Shape.of(dys.dim(1), sel.size()));
        ctx.backend().linearDwSparse(ctx.f32("x_sel"), ctx.f32("dy"), sel, dw);
    }

    private static void gather(OpContext ctx) {
        Shape s = ctx.shape("x");
        if (s.rank() != 2 && s.rank() != 4) {
            throw new UsageException("tensor 'x' must be [B, C] or [B, C, H, W], got " + dims(s));
        }
        ChannelIndex sel = ctx.selection("idx", s.dim(1), "C");
        int[] d = s.dims();
        d[1] = sel.size();
        Tensor out = ctx.output("x_sel", Shape.of(d));
        ctx.backend().gatherChannels(ctx.f32("x"), sel, out);
    }

    private static void biasGrad(OpContext ctx) {
        Shape s = ctx.shape("dy");
        if (s.rank() != 2 && s.rank() != 4) {
            throw new UsageException("tensor 'dy' must be [B, C] or [B, C, H, W], got " + dims(s));
        }
        Tensor db = ctx.output("db", Shape.of(s.dim(1)));
        ctx.backend().biasGrad(ctx.f32("dy"), db);
    }

    // ------------------------------------------------------------------ element-wise, pooling, loss

    private static void activation(OpContext ctx) {
        Activation act = act(ctx);
        Tensor y = ctx.output("y", ctx.shape("x"));
        ctx.backend().activation(act, ctx.f32("x"), y);
    }

    private static void activationBackward(OpContext ctx) {
        Activation act = act(ctx);
        Shape ys = ctx.shape("y");
        ctx.expect("dy", ctx.shape("dy"), ys, "the shape of y");
        Tensor dx = ctx.output("dx", ys);
        ctx.backend().activationBackward(act, ctx.f32("y"), ctx.f32("dy"), dx);
    }

    private static void activationMask(OpContext ctx) {
        Activation act = act(ctx);
        Tensor mask = ctx.intOutput("mask", Shape.of(Backend.maskWords(ctx.shape("y").numel())));
        ctx.backend().activationMask(act, ctx.f32("y"), mask);
    }

    private static void activationBackwardMasked(OpContext ctx) {
        Shape dys = ctx.shape("dy");
        ctx.expect("mask", ctx.shape("mask"), Shape.of(Backend.maskWords(dys.numel())), "ceil(numel(dy) / 32) words");
        Tensor dx = ctx.output("dx", dys);
        ctx.backend().activationBackwardMasked(ctx.i32("mask"), ctx.f32("dy"), dx);
    }

    private static void add(OpContext ctx) {
        Shape as = ctx.shape("a");
        ctx.expect("b", ctx.shape("b"), as, "the shape of a");
        Tensor out = ctx.output("out", as);
        ctx.backend().add(ctx.f32("a"), ctx.f32("b"), out);
    }

    private static void avgPool(OpContext ctx) {
        Shape s = ctx.shape("x", 4, X);
        Tensor y = ctx.output("y", Shape.of(s.dim(0), s.dim(1)));
        ctx.backend().globalAvgPool(ctx.f32("x"), y);
    }

    private static void avgPoolBackward(OpContext ctx) {
        Shape s = ctx.shape("dy", 2, "[B, C]");
        Tensor dx = ctx.output("dx", Shape.of(s.dim(0), s.dim(1), ctx.intParam("in_height", 1), ctx.intParam("in_width", 1)));
        ctx.backend().globalAvgPoolBackward(ctx.f32("dy"), dx);
    }

    private static int[] poolGeometry(OpContext ctx) {
        int k = ctx.intParam("kernel", 1);
        int s = ctx.param("stride").equals("kernel") ? k : ctx.intParam("stride", 1);
        int p = ctx.intParam("padding", 0);
        if (2 * p > k) {
            throw new UsageException("--padding " + p + " must be at most half the kernel " + k);
        }
        return new int[]{k, s, p};
    }

    private static Shape poolOutput(int[] g, Shape xs, String what) {
        try {
            Conv2dSpec geometry = new Conv2dSpec(1, 1, g[0], g[1], g[2], 1, 1);
            return Shape.of(xs.dim(0), xs.dim(1), geometry.outSize(xs.dim(2)), geometry.outSize(xs.dim(3)));
        } catch (IllegalArgumentException e) {
            throw new UsageException(what + ": " + e.getMessage());
        }
    }

    private static void maxPool(OpContext ctx) {
        int[] g = poolGeometry(ctx);
        Shape xs = ctx.shape("x", 4, X);
        Shape ys = poolOutput(g, xs, "x is too small");
        Tensor y = ctx.output("y", ys);
        Tensor arg = ctx.intOutput("argmax", ys);
        ctx.backend().maxPool2d(ctx.f32("x"), g[0], g[1], g[2], y, arg);
    }

    private static void maxPoolBackward(OpContext ctx) {
        Shape dys = ctx.shape("dy", 4, "[B, C, H', W']");
        ctx.expect("argmax", ctx.shape("argmax"), dys, "the shape of dy");
        int h = ctx.intParam("in_height", 1), w = ctx.intParam("in_width", 1);
        int[] arg = ctx.ints("argmax");
        for (int i = 0; i < arg.length; i++) {
            if (arg[i] < 0 || arg[i] >= h * w) {
                throw new UsageException("tensor 'argmax' holds " + arg[i] + " at flat position " + i
                        + ", outside the input plane [0, " + h * w + ")");
            }
        }
        Tensor dx = ctx.output("dx", Shape.of(dys.dim(0), dys.dim(1), h, w));
        ctx.backend().maxPool2dBackward(ctx.f32("dy"), ctx.i32("argmax"), dx);
    }

    private static void softmax(OpContext ctx) {
        Shape s = ctx.shape("logits", 2, "[B, K]");
        ctx.expect("labels", ctx.shape("labels"), Shape.of(s.dim(0)), "one label per row of logits");
        int[] labels = ctx.ints("labels");
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= s.dim(1)) {
                throw new UsageException("tensor 'labels' holds " + labels[i] + " at position " + i + ", outside [0, "
                        + s.dim(1) + ")");
            }
        }
        Backend be = ctx.backend();
        Tensor dz = ctx.output("dlogits", s);
        Tensor stats = ctx.own(be.allocate(Shape.of(2), MemoryCategory.WORKSPACE));
        be.fill(stats, Float.NaN);
        be.softmaxCrossEntropy(ctx.f32("logits"), ctx.i32("labels"), stats, dz);
        float[] st = be.toFloatArray(stats);
        ctx.outputValues("loss", Shape.of(1), new float[]{st[0]});
        ctx.outputInts("correct", Shape.of(1), new int[]{Math.round(st[1])});
    }

    // ------------------------------------------------------------------ optimizer

    private static SgdStep step(OpContext ctx) {
        try {
            return new SgdStep(ctx.floatParam("lr"), ctx.floatParam("momentum"), ctx.floatParam("weight_decay"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static Tensor momentum(OpContext ctx, SgdStep step, Shape shape, String like) {
        if (!step.usesMomentum()) {
            return null;
        }
        if (!ctx.has("momentum_buf")) {
            throw new UsageException("--momentum " + step.momentum() + " needs the tensor 'momentum_buf' (shape of "
                    + like + "; zeros for a fresh optimizer)");
        }
        ctx.expect("momentum_buf", ctx.shape("momentum_buf"), shape, "the shape of " + like);
        return ctx.f32("momentum_buf");
    }

    private static void sgd(OpContext ctx) {
        SgdStep step = step(ctx);
        Shape ps = ctx.shape("param");
        ctx.expect("grad", ctx.shape("grad"), ps, "the shape of param");
        Tensor buf = momentum(ctx, step, ps, "param");
        Tensor p = ctx.f32("param");
        ctx.backend().sgdUpdate(p, ctx.f32("grad"), buf, step);
        ctx.outputInPlace("param", p);
        if (buf != null) {
            ctx.outputInPlace("momentum_buf", buf);
        }
    }

    private static void sgdSparse(OpContext ctx) {
        SgdStep step = step(ctx);
        Shape ws = ctx.shape("w");
        if (ws.rank() != 2 && ws.rank() != 4) {
            throw new UsageException("tensor 'w' must be [C', C/groups, D, D] or [O, F], got " + dims(ws));
        }
        int groups = ctx.intParam("groups", 1);
        if (ws.dim(0) % groups != 0) {
            throw new UsageException("--groups " + groups + " does not divide the " + ws.dim(0) + " output channels of w");
        }
        if (ws.rank() == 2 && groups != 1) {
            throw new UsageException("a linear weight [O, F] takes --groups 1, got " + groups);
        }
        int cin = ws.dim(1) * groups;
        ChannelIndex sel = ctx.selection("idx", cin, "C");
        Shape gs;
        if (ws.rank() == 4 && ws.dim(2) != ws.dim(3)) {
            throw new UsageException("tensor 'w' is " + dims(ws) + ": only square kernels are supported");
        }
        if (ws.rank() == 2) {
            gs = Shape.of(ws.dim(0), sel.size());
        } else {
            gs = new Conv2dSpec(cin, ws.dim(0), ws.dim(2), 1, 0, 1, groups).sparseWeightGradShape(sel.size());
        }
        ctx.expect("dw_sel", ctx.shape("dw_sel"), gs, "the sparse layout for " + sel.size() + " selected channels");
        Tensor buf = momentum(ctx, step, gs, "dw_sel");
        Tensor w = ctx.f32("w");
        ctx.backend().sgdUpdateSparse(w, ctx.f32("dw_sel"), sel, groups, buf, step);
        ctx.outputInPlace("w", w);
        if (buf != null) {
            ctx.outputInPlace("momentum_buf", buf);
        }
    }

    // ------------------------------------------------------------------ BatchNorm

    private static void batchNormTraining(OpContext ctx) {
        Shape xs = ctx.shape("x", 4, X);
        Shape cs = Shape.of(xs.dim(1));
        Tensor mean = ctx.f32("running_mean"), var = ctx.f32("running_var");
        Tensor y = ctx.output("y", xs);
        Tensor saveMean = ctx.output("save_mean", cs), saveInvStd = ctx.output("save_inv_std", cs);
        ctx.backend().batchNormTraining(ctx.f32("x"), ctx.f32("gamma"), ctx.f32("beta"), mean, var,
                ctx.floatParam("momentum"), ctx.floatParam("eps"), y, saveMean, saveInvStd);
        ctx.outputInPlace("running_mean", mean);
        ctx.outputInPlace("running_var", var);
    }

    private static void batchNormBackward(OpContext ctx) {
        Shape xs = ctx.shape("x", 4, X);
        Shape cs = Shape.of(xs.dim(1));
        Tensor dx = ctx.output("dx", xs), dGamma = ctx.output("dgamma", cs), dBeta = ctx.output("dbeta", cs);
        ctx.backend().batchNormBackward(ctx.f32("dy"), ctx.f32("x"), ctx.f32("gamma"), ctx.f32("save_mean"),
                ctx.f32("save_inv_std"), dx, dGamma, dBeta);
    }

    private static void batchNormInference(OpContext ctx) {
        Shape xs = ctx.shape("x", 4, X);
        Tensor y = ctx.output("y", xs);
        ctx.backend().batchNormInference(ctx.f32("x"), ctx.f32("gamma"), ctx.f32("beta"), ctx.f32("running_mean"),
                ctx.f32("running_var"), ctx.floatParam("eps"), y);
    }
}
