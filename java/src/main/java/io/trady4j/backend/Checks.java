package io.trady4j.backend;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The argument checks of every {@link Backend} operation, one method per operation named after it.
 * Each backend calls the method before any work and afterwards checks only what is its own
 * business (that the tensors belong to it), so the same bad input gets the same
 * IllegalArgumentException, one sentence naming the offending argument, on every backend.
 */
public final class Checks {
    private Checks() {
    }

    // ---------------------------------------------------------------- memory

    /**
     * The checks of {@link Backend#upload}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void upload(float[] data, Shape shape) {
        need(data, "upload data");
        fits(data.length, shape);
    }

    /**
     * The checks of {@link Backend#uploadInts}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void uploadInts(int[] data, Shape shape) {
        need(data, "upload data");
        fits(data.length, shape);
    }

    /**
     * The checks of {@link Backend#wrap} that do not depend on the backend: the segment is alive,
     * writable, holds exactly the shape's elements, and starts at a multiple of the element size.
     */
    public static void wrap(MemorySegment data, Shape shape, DType dtype) {
        need(data, "wrapped segment");
        need(shape, "wrapped shape");
        need(dtype, "wrapped dtype");
        if (!data.scope().isAlive()) {
            throw new IllegalArgumentException("cannot wrap a segment whose arena is already closed");
        }
        if (data.isReadOnly()) {
            throw new IllegalArgumentException("cannot wrap a read-only segment: operations may write into any tensor");
        }
        long needed = (long) shape.numel() * dtype.bytes();
        if (data.byteSize() != needed) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes does not hold " + dtype + shape
                    + " (" + needed + " bytes); slice it with asSlice(offset, " + needed + ")");
        }
        if (data.isNative() && data.address() % dtype.bytes() != 0) {
            throw new IllegalArgumentException("segment address 0x" + Long.toHexString(data.address())
                    + " is not aligned to the " + dtype.bytes() + " bytes of a " + dtype + " element");
        }
    }

    /**
     * The checks of {@link Backend#download}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void download(Tensor src, float[] dst) {
        floatTensor(src, "download source");
        need(dst, "download destination");
        fits(dst.length, src.shape());
    }

    /**
     * The checks of {@link Backend#downloadInts}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void downloadInts(Tensor src, int[] dst) {
        tensor(src, DType.I32, "download source");
        need(dst, "download destination");
        fits(dst.length, src.shape());
    }

    /** A fill of a tensor of {@code dtype} (the backends' fill is float32; a backend may offer int32 too). */
    public static void fill(Tensor t, DType dtype) {
        tensor(t, dtype, "filled tensor");
    }

    /**
     * The checks of {@link Backend#copy}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void copy(Tensor src, Tensor dst) {
        open(src, "copy source");
        open(dst, "copy destination");
        if (src.numel() != dst.numel() || src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("copy needs equal sizes and dtypes, got " + src.dtype() + src.shape()
                    + " and " + dst.dtype() + dst.shape());
        }
    }

    // ---------------------------------------------------------------- convolution

    /**
     * The checks of {@link Backend#conv2d}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void conv2d(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, Tensor y) {
        floatTensor(x, "input");
        need(spec, "conv spec");
        need(act, "activation");
        spec.checkInput(x.shape());
        floatTensor(w, spec.weightShape(), "weight");
        if (bias != null) {
            floatTensor(bias, Shape.of(spec.outChannels()), "bias");
        }
        floatTensor(y, spec.outputShape(x.shape()), "output");
    }

    /**
     * The checks of {@link Backend#conv2dGather}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void conv2dGather(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act,
                                    ChannelIndex selection, Tensor y, Tensor xSel) {
        need(x, "input");
        need(selection, "channel selection");
        need(xSel, "gathered input");
        conv2d(x, w, bias, spec, act, y);
        Shape xs = x.shape();
        selection(selection, spec.inChannels());
        floatTensor(xSel, Shape.of(xs.dim(0), selection.size(), xs.dim(2), xs.dim(3)), "gathered input");
    }

    /**
     * The checks of {@link Backend#conv2dDwSparse}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void conv2dDwSparse(Tensor xSel, Tensor dy, ChannelIndex selection, Conv2dSpec spec, Tensor dwSel) {
        need(spec, "conv spec");
        floatTensor(xSel, "gathered input");
        selection(selection, spec.inChannels());
        Shape xs = xSel.shape();
        if (xs.rank() != 4 || xs.dim(1) != selection.size()) {
            throw new IllegalArgumentException("gathered input must be [B, " + selection.size() + ", H, W], got " + xs);
        }
        Shape ys = Shape.of(xs.dim(0), spec.outChannels(), spec.outSize(xs.dim(2)), spec.outSize(xs.dim(3)));
        floatTensor(dy, ys, "output gradient");
        floatTensor(dwSel, spec.sparseWeightGradShape(selection.size()), "sparse weight gradient");
    }

    /**
     * The checks of {@link Backend#conv2dDx}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void conv2dDx(Tensor dy, Tensor w, Conv2dSpec spec, Tensor dx) {
        need(spec, "conv spec");
        floatTensor(dx, "input gradient");
        spec.checkInput(dx.shape());
        floatTensor(w, spec.weightShape(), "weight");
        floatTensor(dy, spec.outputShape(dx.shape()), "output gradient");
    }

    // ---------------------------------------------------------------- linear

    /**
     * The checks of {@link Backend#linear}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void linear(Tensor x, Tensor w, Tensor bias, Tensor y) {
        floatTensor(x, "linear input");
        linearWeight(w);
        int batch = x.shape().dim(0);
        int out = w.shape().dim(0);
        if (features(x, batch, "linear input") != w.shape().dim(1)) {
            throw new IllegalArgumentException("linear input " + x.shape() + " does not match weight " + w.shape());
        }
        floatTensor(y, Shape.of(batch, out), "linear output");
        if (bias != null) {
            floatTensor(bias, Shape.of(out), "linear bias");
        }
    }

    /**
     * The checks of {@link Backend#linearDx}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void linearDx(Tensor dy, Tensor w, Tensor dx) {
        floatTensor(dy, "linear output gradient");
        linearWeight(w);
        floatTensor(dx, "linear input gradient");
        int batch = dy.shape().dim(0);
        hasShape(dy, Shape.of(batch, w.shape().dim(0)), "linear output gradient");
        if (features(dx, batch, "linear input gradient") != w.shape().dim(1)) {
            throw new IllegalArgumentException("linear input gradient " + dx.shape() + " does not match weight "
                    + w.shape());
        }
    }

    /**
     * The checks of {@link Backend#linearDwSparse}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void linearDwSparse(Tensor xSel, Tensor dy, ChannelIndex selection, Tensor dwSel) {
        floatTensor(xSel, "gathered linear input");
        floatTensor(dy, "linear output gradient");
        need(selection, "channel selection");
        selection(selection, selection.bound());
        if (dy.shape().rank() != 2) {
            throw new IllegalArgumentException("linear output gradient must be [B, O], got " + dy.shape());
        }
        int batch = dy.shape().dim(0);
        int selected = selection.size();
        if (features(xSel, batch, "gathered linear input") != selected) {
            throw new IllegalArgumentException("gathered linear input must have " + selected + " features, got "
                    + xSel.shape());
        }
        floatTensor(dwSel, Shape.of(dy.shape().dim(1), selected), "sparse linear weight gradient");
    }

    /**
     * The checks of {@link Backend#biasGrad}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void biasGrad(Tensor dy, Tensor db) {
        floatTensor(dy, "dy");
        Shape s = dy.shape();
        if (s.rank() != 2 && s.rank() != 4) {
            throw new IllegalArgumentException("bias gradient needs dy [B, C] or [B, C, H, W], got " + s);
        }
        floatTensor(db, Shape.of(s.dim(1)), "bias gradient");
    }

    // ---------------------------------------------------------------- element-wise, pooling, loss

    /**
     * The checks of {@link Backend#gatherChannels}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void gatherChannels(Tensor x, ChannelIndex selection, Tensor xSel) {
        floatTensor(x, "x");
        need(selection, "channel selection");
        Shape s = x.shape();
        if (s.rank() != 2 && s.rank() != 4) {
            throw new IllegalArgumentException("gather needs [B, C] or [B, C, H, W], got " + s);
        }
        selection(selection, s.dim(1));
        int[] dims = s.dims();
        dims[1] = selection.size();
        floatTensor(xSel, Shape.of(dims), "gathered input");
    }

    /**
     * The checks of {@link Backend#activation}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void activation(Activation act, Tensor x, Tensor y) {
        need(act, "activation");
        sameShape("activation", x, "activation input", y, "activation output");
    }

    /**
     * The checks of {@link Backend#activationBackward}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void activationBackward(Activation act, Tensor y, Tensor dy, Tensor dx) {
        need(act, "activation");
        sameShape("activation backward", y, "activation output", dy, "activation output gradient");
        sameShape("activation backward", dy, "activation output gradient", dx, "activation input gradient");
    }

    /**
     * The checks of {@link Backend#activationMask}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void activationMask(Activation act, Tensor y, Tensor mask) {
        need(act, "activation");
        floatTensor(y, "activation output");
        maskOf(y, mask, "activation mask");
    }

    /**
     * The checks of {@link Backend#activationBackwardMasked}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void activationBackwardMasked(Tensor mask, Tensor dy, Tensor dx) {
        floatTensor(dy, "activation output gradient");
        maskOf(dy, mask, "masked activation backward");
        sameShape("masked activation backward", dy, "activation output gradient", dx, "activation input gradient");
    }

    /** An activation mask over {@code values}: I32 of shape [{@link Backend#maskWords}(values' element count)]. */
    private static void maskOf(Tensor values, Tensor mask, String op) {
        need(mask, op + " mask");
        Shape want = Shape.of(Backend.maskWords(values.numel()));
        if (mask.dtype() != DType.I32 || !mask.shape().equals(want)) {
            throw new IllegalArgumentException(op + " needs an I32 mask of shape " + want + " for " + values.shape()
                    + ", got " + mask.dtype() + " " + mask.shape());
        }
    }

    /**
     * The checks of {@link Backend#add}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void add(Tensor a, Tensor b, Tensor out) {
        sameShape("add", a, "first addend", b, "second addend");
        sameShape("add", a, "first addend", out, "sum");
    }

    /**
     * The checks of {@link Backend#globalAvgPool}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void globalAvgPool(Tensor x, Tensor y) {
        floatTensor(x, "x");
        Shape s = x.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("global average pooling needs [B, C, H, W], got " + s);
        }
        floatTensor(y, Shape.of(s.dim(0), s.dim(1)), "pooled output");
    }

    /**
     * The checks of {@link Backend#globalAvgPoolBackward}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void globalAvgPoolBackward(Tensor dy, Tensor dx) {
        floatTensor(dx, "dx");
        Shape s = dx.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("global average pooling gradient needs dx [B, C, H, W], got " + s);
        }
        floatTensor(dy, Shape.of(s.dim(0), s.dim(1)), "pooled gradient");
    }

    /**
     * The checks of {@link Backend#maxPool2d}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void maxPool2d(Tensor x, int kernel, int stride, int padding, Tensor y, Tensor argmax) {
        floatTensor(x, "x");
        Shape s = x.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("max pooling needs [B, C, H, W], got " + s);
        }
        if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel) {
            throw new IllegalArgumentException("max pooling needs kernel >= 1, stride >= 1 and 0 <= padding <= kernel/2;"
                    + " got " + kernel + ", " + stride + ", " + padding);
        }
        Conv2dSpec window = new Conv2dSpec(1, 1, kernel, stride, padding, 1, 1);
        Shape pooled = Shape.of(s.dim(0), s.dim(1), window.outSize(s.dim(2)), window.outSize(s.dim(3)));
        floatTensor(y, pooled, "pooled output");
        intTensor(argmax, pooled, "pooling arg-max");
    }

    /**
     * The checks of {@link Backend#maxPool2dBackward}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        floatTensor(dy, "dy");
        floatTensor(dx, "dx");
        Shape ds = dy.shape();
        Shape xs = dx.shape();
        intTensor(argmax, ds, "pooling arg-max");
        if (xs.rank() != 4 || ds.rank() != 4 || xs.dim(0) != ds.dim(0) || xs.dim(1) != ds.dim(1)) {
            throw new IllegalArgumentException("max pooling gradient shapes do not match: dy " + ds + ", dx " + xs);
        }
    }

    /** The shapes; the label values are data, checked by the backend where it reads them (see {@link #labelOutsideClasses}). */
    public static void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor stats, Tensor dLogits) {
        floatTensor(logits, "logits");
        Shape s = logits.shape();
        if (s.rank() != 2) {
            throw new IllegalArgumentException("logits must be [B, K], got " + s);
        }
        intTensor(labels, Shape.of(s.dim(0)), "labels");
        floatTensor(stats, Shape.of(2), "loss statistics");
        if (dLogits != null) {
            floatTensor(dLogits, s, "logit gradient");
        }
    }

    /** The error for a label outside [0, classes): the first such sample's, on every backend. */
    public static IllegalArgumentException labelOutsideClasses(int sample, int label, int classes) {
        return new IllegalArgumentException("label " + label + " of sample " + sample + " is outside [0, " + classes + ")");
    }

    // ---------------------------------------------------------------- optimizer

    /**
     * The checks of {@link Backend#sgdUpdate}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void sgdUpdate(Tensor param, Tensor grad, Tensor momentum, SgdStep step) {
        need(step, "sgd step");
        sameShape("sgd update", param, "parameter", grad, "gradient");
        if (step.usesMomentum()) {
            momentumBuffer(momentum);
            sameShape("sgd momentum", param, "parameter", momentum, "momentum buffer");
        }
    }

    /**
     * The checks of {@link Backend#sgdUpdateSparse}, before any work; parameters as there.
     *
     * @throws IllegalArgumentException (one sentence naming the argument) if one does not fit
     */
    public static void sgdUpdateSparse(Tensor w, Tensor dwSel, ChannelIndex selection, int groups, Tensor momentum,
                                       SgdStep step) {
        floatTensor(w, "weight");
        floatTensor(dwSel, "sparse gradient");
        need(selection, "channel selection");
        need(step, "sgd step");
        Shape ws = w.shape();
        if (ws.rank() != 2 && ws.rank() != 4) {
            throw new IllegalArgumentException("sparse sgd needs a weight [C', C/g, D, D] or [O, F], got " + ws);
        }
        if (groups < 1 || ws.dim(0) % groups != 0) {
            throw new IllegalArgumentException("groups " + groups + " does not divide the " + ws.dim(0)
                    + " output channels");
        }
        int outChannels = ws.dim(0);
        int inPerGroup = ws.dim(1);
        int kernelArea = ws.numel() / (outChannels * inPerGroup);
        int selected = selection.size();
        selection(selection, inPerGroup * groups);
        if (dwSel.numel() != outChannels / groups * selected * kernelArea) {
            throw new IllegalArgumentException("sparse gradient " + dwSel.shape() + " does not match weight " + ws
                    + " with " + selected + " selected channels");
        }
        if (step.usesMomentum()) {
            momentumBuffer(momentum);
            sameShape("sgd momentum", dwSel, "sparse gradient", momentum, "momentum buffer");
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void need(Object o, String name) {
        if (o == null) {
            throw new IllegalArgumentException(name + " is missing (null)");
        }
    }

    private static void open(Tensor t, String name) {
        need(t, name);
        if (t.isClosed()) {
            throw new IllegalArgumentException(name + " " + t.dtype() + t.shape() + " was already closed");
        }
    }

    private static void tensor(Tensor t, DType dtype, String name) {
        open(t, name);
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(name + " must be " + (dtype == DType.F32 ? "a float32" : "an int32")
                    + " tensor, got " + t.dtype() + t.shape());
        }
    }

    private static void floatTensor(Tensor t, String name) {
        tensor(t, DType.F32, name);
    }

    private static void floatTensor(Tensor t, Shape shape, String name) {
        shaped(t, DType.F32, shape, name);
    }

    private static void intTensor(Tensor t, Shape shape, String name) {
        shaped(t, DType.I32, shape, name);
    }

    private static void shaped(Tensor t, DType dtype, Shape shape, String name) {
        if (t == null) {
            throw new IllegalArgumentException(name + " is missing (expected " + shape + ")");
        }
        tensor(t, dtype, name);
        hasShape(t, shape, name);
    }

    private static void hasShape(Tensor t, Shape shape, String name) {
        if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException(name + " must be " + shape + ", got " + t.shape());
        }
    }

    private static void momentumBuffer(Tensor momentum) {
        if (momentum == null) {
            throw new IllegalArgumentException("sgd with momentum needs a momentum buffer");
        }
    }

    private static void sameShape(String op, Tensor a, String aName, Tensor b, String bName) {
        floatTensor(a, aName);
        floatTensor(b, bName);
        if (!a.shape().equals(b.shape())) {
            throw new IllegalArgumentException(op + " needs equal shapes, got " + aName + " " + a.shape() + " and "
                    + bName + " " + b.shape());
        }
    }

    private static void fits(int length, Shape shape) {
        need(shape, "shape");
        if (length != shape.numel()) {
            throw new IllegalArgumentException("array of " + length + " elements does not fit shape " + shape);
        }
    }

    /** The selection is open and drawn from a layer of {@code channels} input channels. */
    private static void selection(ChannelIndex selection, int channels) {
        need(selection, "channel selection");
        if (selection.tensor().isClosed()) {
            throw new IllegalArgumentException("channel selection " + selection + " was already closed");
        }
        if (selection.bound() != channels) {
            throw new IllegalArgumentException("channel selection is over " + selection.bound()
                    + " channels but the layer has " + channels);
        }
    }

    /** The feature count F of a linear layer's input [B, F] or [B, F, 1, 1]. */
    private static int features(Tensor x, int batch, String name) {
        Shape s = x.shape();
        boolean ok = s.dim(0) == batch && (s.rank() == 2 || (s.rank() == 4 && s.dim(2) == 1 && s.dim(3) == 1));
        if (!ok) {
            throw new IllegalArgumentException(name + " must be [" + batch + ", F] or [" + batch + ", F, 1, 1], got "
                    + s);
        }
        return s.dim(1);
    }

    private static void linearWeight(Tensor w) {
        floatTensor(w, "linear weight");
        if (w.shape().rank() != 2) {
            throw new IllegalArgumentException("linear weight must be [O, F], got " + w.shape());
        }
    }
}
