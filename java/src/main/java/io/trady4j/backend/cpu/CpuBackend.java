package io.trady4j.backend.cpu;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Checks;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.MemoryMeter;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.util.Arrays;

import static io.trady4j.backend.Checks.checkSelection;
import static io.trady4j.backend.Checks.expect;
import static io.trady4j.backend.Checks.features;
import static io.trady4j.backend.Checks.need;
import static io.trady4j.backend.Checks.sameShape;

/**
 * The pure-Java backend: the reference for the CUDA kernels and the default where no GPU exists.
 * Dense and grouped convolutions and linear layers run on one packed GEMM kernel ({@link Gemm},
 * {@link ConvGemm}); convolutions with one input channel per group run on polyphase depthwise
 * kernels ({@link Depthwise}). Work is split over a fork-join pool; scratch memory is per thread
 * ({@link Workspace}) and reused, so steady-state calls allocate (almost) nothing.
 */
public final class CpuBackend implements Backend {
    private final MemoryMeter meter = new MemoryMeter();
    private final Parallel parallel;

    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("thread count must be >= 1, got " + threads);
        }
        this.parallel = new Parallel(threads);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String deviceDescription() {
        return "CPU (pure Java), " + parallel.threads() + " threads";
    }

    @Override
    public MemoryMeter memory() {
        return meter;
    }

    @Override
    public boolean hostMemory() {
        return true;
    }

    public int threads() {
        return parallel.threads();
    }

    // ---------------------------------------------------------------- memory

    @Override
    public Tensor allocate(Shape shape, DType dtype, MemoryCategory category) {
        return new CpuTensor(shape, dtype, category, meter);
    }

    @Override
    public Tensor upload(float[] data, Shape shape, MemoryCategory category) {
        requireLength(data.length, shape);
        CpuTensor t = new CpuTensor(shape, DType.F32, category, meter);
        System.arraycopy(data, 0, t.floats(), 0, data.length);
        return t;
    }

    @Override
    public Tensor uploadInts(int[] data, Shape shape, MemoryCategory category) {
        requireLength(data.length, shape);
        CpuTensor t = new CpuTensor(shape, DType.I32, category, meter);
        System.arraycopy(data, 0, t.ints(), 0, data.length);
        return t;
    }

    private static void requireLength(int length, Shape shape) {
        if (length != shape.numel()) {
            throw new IllegalArgumentException("array of " + length + " elements does not fit shape " + shape);
        }
    }

    @Override
    public void download(Tensor src, float[] dst) {
        float[] s = f(src, "src");
        requireLength(dst.length, src.shape());
        System.arraycopy(s, 0, dst, 0, s.length);
    }

    @Override
    public void downloadInts(Tensor src, int[] dst) {
        int[] s = i(src, "src");
        requireLength(dst.length, src.shape());
        System.arraycopy(s, 0, dst, 0, s.length);
    }

    @Override
    public void fill(Tensor t, float value) {
        Arrays.fill(f(t, "tensor"), value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (src.numel() != dst.numel() || src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("copy needs equal sizes and dtypes, got " + src + " and " + dst);
        }
        if (src.dtype() == DType.F32) {
            System.arraycopy(f(src, "src"), 0, f(dst, "dst"), 0, src.numel());
        } else {
            System.arraycopy(i(src, "src"), 0, i(dst, "dst"), 0, src.numel());
        }
    }

    @Override
    public void synchronize() {
    }

    @Override
    public void close() {
        parallel.shutdown();
    }

    // ---------------------------------------------------------------- convolution

    @Override
    public void conv2d(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, Tensor y) {
        need(x, "input");
        convForward(x, w, bias, spec, act, null, y, null);
    }

    @Override
    public void conv2dGather(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, ChannelIndex sel,
                             Tensor y, Tensor xSel) {
        need(x, "input");
        need(sel, "channel selection");
        need(xSel, "gathered input");
        convForward(x, w, bias, spec, act, sel, y, xSel);
    }

    private void convForward(Tensor xt, Tensor wt, Tensor bt, Conv2dSpec spec, Activation act, ChannelIndex sel,
                             Tensor yt, Tensor xSelT) {
        need(spec, "conv spec");
        need(act, "activation");
        Shape xs = xt.shape();
        spec.checkInput(xs);
        expect(wt, spec.weightShape(), "weight");
        if (bt != null) {
            expect(bt, Shape.of(spec.outChannels()), "bias");
        }
        expect(yt, spec.outputShape(xs), "output");
        final int batch = xs.dim(0), c = spec.inChannels(), plane = xs.dim(2) * xs.dim(3);
        float[] xSel = null;
        if (sel != null) {
            checkSelection(sel, c);
            expect(xSelT, Shape.of(batch, sel.size(), xs.dim(2), xs.dim(3)), "gathered input");
            xSel = f(xSelT, "gathered input");
        }
        final float[] x = f(xt, "input"), w = f(wt, "weight"), y = f(yt, "output");
        final float[] b = bt == null ? null : f(bt, "bias");
        Geometry g = new Geometry(spec, batch, xs.dim(2), xs.dim(3));
        if (usesDepthwiseKernels(g)) {
            if (channelVectorized(g, g.c)) {
                DepthwiseChannels.forward(parallel, g, x, w, b, act.ordinal(), y);
            } else {
                Depthwise.forward(parallel, g, x, w, b, act.ordinal(), y);
            }
        } else {
            ConvGemm.forward(parallel, g, x, w, b, act.ordinal(), y);
        }
        if (xSel != null) {
            gatherPlanes(x, batch, c, plane, sel, xSel);
        }
    }

    /** One input channel per group and few outputs per group: the GEMM would be 1-row thin. */
    private static boolean usesDepthwiseKernels(Geometry g) {
        return g.cg == 1 && g.mg <= 4;
    }

    /** Depthwise layouts: channels as the vector (many channels, small planes) or polyphase planes. */
    static int channelVectorMin = Integer.getInteger("trady4j.cpu.dwChannelMin", 64);
    static int channelVectorMaxPlane = Integer.getInteger("trady4j.cpu.dwChannelMaxPlane", 256);
    /** The weight gradient vectorizes over the selected channels, padded to 48 lanes: worth it from 12 on small planes. */
    static int channelVectorMinSelected = Integer.getInteger("trady4j.cpu.dwChannelMinSelected", 12);

    private static boolean channelVectorized(Geometry g, int vectorLength) {
        return vectorLength >= channelVectorMin && g.outPlane <= channelVectorMaxPlane;
    }

    /** xSel[b, j] = x[b, S_j] (whole planes), parallel over samples. */
    private void gatherPlanes(float[] x, int batch, int c, int plane, ChannelIndex sel, float[] xSel) {
        int ns = sel.size();
        parallel.forRange(batch, bi -> {
            for (int j = 0; j < ns; j++) {
                System.arraycopy(x, (bi * c + sel.get(j)) * plane, xSel, (bi * ns + j) * plane, plane);
            }
        });
    }

    @Override
    public void conv2dDx(Tensor dyt, Tensor wt, Conv2dSpec spec, Tensor dxt) {
        need(spec, "conv spec");
        need(dxt, "input gradient");
        Shape dxs = dxt.shape();
        spec.checkInput(dxs);
        expect(wt, spec.weightShape(), "weight");
        expect(dyt, spec.outputShape(dxs), "output gradient");
        final float[] dy = f(dyt, "output gradient"), w = f(wt, "weight"), dx = f(dxt, "input gradient");
        Geometry g = new Geometry(spec, dxs.dim(0), dxs.dim(2), dxs.dim(3));
        if (usesDepthwiseKernels(g)) {
            if (channelVectorized(g, g.c)) {
                DepthwiseChannels.backwardData(parallel, g, dy, w, dx);
            } else {
                Depthwise.backwardData(parallel, g, dy, w, dx);
            }
        } else {
            ConvGemm.backwardData(parallel, g, dy, w, dx);
        }
    }

    @Override
    public void conv2dDwSparse(Tensor xSelT, Tensor dyt, ChannelIndex sel, Conv2dSpec spec, Tensor dwt) {
        need(spec, "conv spec");
        need(xSelT, "gathered input");
        checkSelection(sel, spec.inChannels());
        Shape xs = xSelT.shape();
        if (xs.rank() != 4 || xs.dim(1) != sel.size()) {
            throw new IllegalArgumentException("gathered input must be [B, " + sel.size() + ", H, W], got " + xs);
        }
        final int batch = xs.dim(0), ns = sel.size();
        Geometry g = new Geometry(spec, batch, xs.dim(2), xs.dim(3));
        expect(dyt, Shape.of(batch, spec.outChannels(), g.ho, g.wo), "output gradient");
        expect(dwt, spec.sparseWeightGradShape(ns), "sparse weight gradient");
        final float[] xSel = f(xSelT, "gathered input"), dy = f(dyt, "output gradient");
        final float[] dw = f(dwt, "sparse weight gradient");
        if (usesDepthwiseKernels(g)) {
            if (ns >= channelVectorMinSelected && g.outPlane <= channelVectorMaxPlane) {
                DepthwiseChannels.weightGrad(parallel, g, xSel, sel, dy, dw);
            } else {
                Depthwise.weightGrad(parallel, g, xSel, sel, dy, dw);
            }
        } else {
            int parts = Math.max(0, Math.min(batch, parallel.threads()) - 1);
            ConvGemm.weightGrad(parallel, g, xSel, sel, dy, dw, partials(parts, dw.length));
        }
    }

    /** Scratch for per-thread partial weight gradients, reused across calls (grown on demand). */
    private float[][] partialCache = new float[0][];

    private synchronized float[][] partials(int count, int length) {
        float[][] out = new float[count][];
        if (partialCache.length < count) {
            partialCache = java.util.Arrays.copyOf(partialCache, count);
        }
        for (int i = 0; i < count; i++) {
            if (partialCache[i] == null || partialCache[i].length < length) {
                partialCache[i] = new float[length];
            }
            out[i] = partialCache[i]; // may be longer than needed: only the first `length` elements are used
        }
        return out;
    }

    // ---------------------------------------------------------------- linear

    @Override
    public void linear(Tensor xt, Tensor wt, Tensor bt, Tensor yt) {
        need(xt, "linear input");
        need(wt, "linear weight");
        if (wt.shape().rank() != 2) {
            throw new IllegalArgumentException("linear weight must be [O, F], got " + wt.shape());
        }
        int batch = xt.shape().dim(0), o = wt.shape().dim(0), fin = wt.shape().dim(1);
        if (features(xt, batch, "linear input") != fin) {
            throw new IllegalArgumentException("linear input " + xt.shape() + " does not match weight " + wt.shape());
        }
        expect(yt, Shape.of(batch, o), "linear output");
        if (bt != null) {
            expect(bt, Shape.of(o), "linear bias");
        }
        float[] x = f(xt, "linear input"), w = f(wt, "linear weight"), y = f(yt, "linear output");
        float[] b = bt == null ? null : f(bt, "linear bias");
        // y[B×O] = x[B×F] · wᵀ: A = x, B(f, o) = w[o·F + f]
        matmul(batch, o, fin, x, 0, fin, 1, w, 0, 1, fin, y, 0, o);
        if (b != null) {
            for (int bi = 0; bi < batch; bi++) {
                for (int oi = 0; oi < o; oi++) {
                    y[bi * o + oi] += b[oi];
                }
            }
        }
    }

    @Override
    public void linearDx(Tensor dyt, Tensor wt, Tensor dxt) {
        need(dyt, "linear output gradient");
        need(wt, "linear weight");
        need(dxt, "linear input gradient");
        if (wt.shape().rank() != 2) {
            throw new IllegalArgumentException("linear weight must be [O, F], got " + wt.shape());
        }
        int batch = dyt.shape().dim(0);
        int o = wt.shape().dim(0), fin = wt.shape().dim(1);
        expect(dyt, Shape.of(batch, o), "linear output gradient");
        if (features(dxt, batch, "linear input gradient") != fin) {
            throw new IllegalArgumentException("linear input gradient " + dxt.shape() + " does not match weight " + wt.shape());
        }
        float[] dy = f(dyt, "dy"), w = f(wt, "w"), dx = f(dxt, "dx");
        // dx[B×F] = dy[B×O] · w[O×F]
        matmul(batch, fin, o, dy, 0, o, 1, w, 0, fin, 1, dx, 0, fin);
    }

    @Override
    public void linearDwSparse(Tensor xSelT, Tensor dyt, ChannelIndex sel, Tensor dwt) {
        need(xSelT, "gathered linear input");
        need(dyt, "linear output gradient");
        need(sel, "channel selection");
        checkSelection(sel, sel.bound());
        int batch = dyt.shape().dim(0);
        if (dyt.shape().rank() != 2) {
            throw new IllegalArgumentException("linear output gradient must be [B, O], got " + dyt.shape());
        }
        int o = dyt.shape().dim(1), ns = sel.size();
        if (features(xSelT, batch, "gathered linear input") != ns) {
            throw new IllegalArgumentException("gathered linear input must have " + ns + " features, got " + xSelT.shape());
        }
        expect(dwt, Shape.of(o, ns), "sparse linear weight gradient");
        float[] x = f(xSelT, "x"), dy = f(dyt, "dy"), dw = f(dwt, "dw");
        // dw[O×|S|] = dyᵀ[O×B] · xSel[B×|S|]
        matmul(o, ns, batch, dy, 0, 1, o, x, 0, ns, 1, dw, 0, ns);
    }

    @Override
    public void biasGrad(Tensor dyt, Tensor dbt) {
        need(dyt, "dy");
        Shape s = dyt.shape();
        if (s.rank() != 2 && s.rank() != 4) {
            throw new IllegalArgumentException("bias gradient needs dy [B, C] or [B, C, H, W], got " + s);
        }
        int batch = s.dim(0), c = s.dim(1), plane = s.numel() / (batch * c);
        expect(dbt, Shape.of(c), "bias gradient");
        float[] dy = f(dyt, "dy"), db = f(dbt, "db");
        for (int ci = 0; ci < c; ci++) {
            float acc = 0f;
            for (int bi = 0; bi < batch; bi++) {
                int off = (bi * c + ci) * plane;
                for (int p = 0; p < plane; p++) {
                    acc += dy[off + p];
                }
            }
            db[ci] = acc;
        }
    }

    // ---------------------------------------------------------------- element-wise, pooling, loss

    @Override
    public void gatherChannels(Tensor xt, ChannelIndex sel, Tensor xSelT) {
        need(xt, "x");
        Shape s = xt.shape();
        if (s.rank() != 2 && s.rank() != 4) {
            throw new IllegalArgumentException("gather needs [B, C] or [B, C, H, W], got " + s);
        }
        int batch = s.dim(0), c = s.dim(1), plane = s.numel() / (batch * c), ns = sel.size();
        checkSelection(sel, c);
        int[] dims = s.dims();
        dims[1] = ns;
        expect(xSelT, Shape.of(dims), "gathered input");
        float[] x = f(xt, "x"), xs = f(xSelT, "xSel");
        for (int bi = 0; bi < batch; bi++) {
            for (int j = 0; j < ns; j++) {
                System.arraycopy(x, (bi * c + sel.get(j)) * plane, xs, (bi * ns + j) * plane, plane);
            }
        }
    }

    @Override
    public void activation(Activation act, Tensor xt, Tensor yt) {
        need(act, "activation");
        sameShape(xt, yt, "activation");
        float[] x = f(xt, "x"), y = f(yt, "y");
        for (int e = 0; e < x.length; e++) {
            y[e] = act.apply(x[e]);
        }
    }

    @Override
    public void activationBackward(Activation act, Tensor yt, Tensor dyt, Tensor dxt) {
        need(act, "activation");
        sameShape(yt, dyt, "activation backward");
        sameShape(dyt, dxt, "activation backward");
        float[] y = f(yt, "y"), dy = f(dyt, "dy"), dx = f(dxt, "dx");
        for (int e = 0; e < y.length; e++) {
            dx[e] = keepIf(passes(act, y[e]), dy[e]);
        }
    }

    @Override
    public void activationMask(Activation act, Tensor yt, Tensor maskt) {
        need(act, "activation");
        Checks.activationMask(maskt, yt, "activation mask");
        float[] y = f(yt, "y");
        int[] mask = i(maskt, "mask");
        for (int w = 0; w < mask.length; w++) {
            int base = w * 32, end = Math.min(32, y.length - base), bits = 0;
            switch (act) {  // outside the element loop, so that the JIT compiles three tight loops
                case NONE -> bits = end == 32 ? -1 : (1 << end) - 1;
                case RELU -> {
                    for (int k = 0; k < end; k++) {
                        bits |= (y[base + k] > 0f ? 1 : 0) << k;
                    }
                }
                case RELU6 -> {
                    for (int k = 0; k < end; k++) {
                        float v = y[base + k];
                        bits |= ((v > 0f ? 1 : 0) & (v < 6f ? 1 : 0)) << k;
                    }
                }
            }
            mask[w] = bits;
        }
    }

    @Override
    public void activationBackwardMasked(Tensor maskt, Tensor dyt, Tensor dxt) {
        Checks.activationMask(maskt, dyt, "masked activation backward");
        sameShape(dyt, dxt, "masked activation backward");
        int[] mask = i(maskt, "mask");
        float[] dy = f(dyt, "dy"), dx = f(dxt, "dx");
        for (int w = 0; w < mask.length; w++) {
            int bits = mask[w], base = w * 32, end = Math.min(32, dy.length - base);
            for (int k = 0; k < end; k++) {
                dx[base + k] = keepIf((bits >>> k) & 1, dy[base + k]);
            }
        }
    }

    /** 1 where {@code act} passes the gradient at output y, else 0, without a data-dependent branch. */
    private static int passes(Activation act, float y) {
        return switch (act) {
            case NONE -> 1;
            case RELU -> y > 0f ? 1 : 0;
            case RELU6 -> (y > 0f ? 1 : 0) & (y < 6f ? 1 : 0);
        };
    }

    /**
     * v if keep is 1, +0 if keep is 0, by masking v's bits: the sign of gradient pass/stop is random
     * data, and a branch on it costs a misprediction per element (it was a quarter of a training step).
     */
    private static float keepIf(int keep, float v) {
        return Float.intBitsToFloat(Float.floatToRawIntBits(v) & -keep);
    }

    @Override
    public void add(Tensor at, Tensor bt, Tensor outt) {
        sameShape(at, bt, "add");
        sameShape(at, outt, "add");
        float[] a = f(at, "a"), b = f(bt, "b"), o = f(outt, "out");
        for (int e = 0; e < a.length; e++) {
            o[e] = a[e] + b[e];
        }
    }

    @Override
    public void globalAvgPool(Tensor xt, Tensor yt) {
        need(xt, "x");
        Shape s = xt.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("global average pooling needs [B, C, H, W], got " + s);
        }
        int bc = s.dim(0) * s.dim(1), plane = s.dim(2) * s.dim(3);
        expect(yt, Shape.of(s.dim(0), s.dim(1)), "pooled output");
        float[] x = f(xt, "x"), y = f(yt, "y");
        for (int i = 0; i < bc; i++) {
            float acc = 0f;
            for (int p = 0; p < plane; p++) {
                acc += x[i * plane + p];
            }
            y[i] = acc / plane;
        }
    }

    @Override
    public void globalAvgPoolBackward(Tensor dyt, Tensor dxt) {
        need(dxt, "dx");
        Shape s = dxt.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("global average pooling gradient needs dx [B, C, H, W], got " + s);
        }
        int bc = s.dim(0) * s.dim(1), plane = s.dim(2) * s.dim(3);
        expect(dyt, Shape.of(s.dim(0), s.dim(1)), "pooled gradient");
        float[] dy = f(dyt, "dy"), dx = f(dxt, "dx");
        for (int i = 0; i < bc; i++) {
            Arrays.fill(dx, i * plane, (i + 1) * plane, dy[i] / plane);
        }
    }

    @Override
    public void maxPool2d(Tensor xt, int kernel, int stride, int padding, Tensor yt, Tensor argt) {
        need(xt, "x");
        Shape s = xt.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("max pooling needs [B, C, H, W], got " + s);
        }
        if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel) {
            throw new IllegalArgumentException("max pooling needs kernel >= 1, stride >= 1 and 0 <= padding <= kernel/2; got "
                    + kernel + ", " + stride + ", " + padding);
        }
        Conv2dSpec geometry = new Conv2dSpec(1, 1, kernel, stride, padding, 1, 1);
        int h = s.dim(2), w = s.dim(3), ho = geometry.outSize(h), wo = geometry.outSize(w);
        Shape ys = Shape.of(s.dim(0), s.dim(1), ho, wo);
        expect(yt, ys, "pooled output");
        expect(argt, ys, "pooling arg-max");
        float[] x = f(xt, "x"), y = f(yt, "y");
        int[] arg = i(argt, "argmax");
        parallel.forRange(s.dim(0) * s.dim(1), pl -> {
            int xo = pl * h * w, yo = pl * ho * wo;
            for (int oh = 0; oh < ho; oh++) {
                for (int ow = 0; ow < wo; ow++) {
                    float best = Float.NEGATIVE_INFINITY;
                    int bestAt = -1;
                    for (int kh = 0; kh < kernel; kh++) {
                        int ih = oh * stride + kh - padding;
                        if (ih < 0 || ih >= h) {
                            continue;
                        }
                        for (int kw = 0; kw < kernel; kw++) {
                            int iw = ow * stride + kw - padding;
                            if (iw < 0 || iw >= w) {
                                continue;
                            }
                            float v = x[xo + ih * w + iw];
                            if (v > best || bestAt < 0 || Float.isNaN(v)) {
                                best = v;
                                bestAt = ih * w + iw;
                            }
                        }
                    }
                    y[yo + oh * wo + ow] = best;
                    arg[yo + oh * wo + ow] = bestAt;
                }
            }
        });
    }

    @Override
    public void maxPool2dBackward(Tensor dyt, Tensor argt, Tensor dxt) {
        need(dyt, "dy");
        need(dxt, "dx");
        Shape ds = dyt.shape(), xs = dxt.shape();
        expect(argt, ds, "pooling arg-max");
        if (xs.rank() != 4 || ds.rank() != 4 || xs.dim(0) != ds.dim(0) || xs.dim(1) != ds.dim(1)) {
            throw new IllegalArgumentException("max pooling gradient shapes do not match: dy " + ds + ", dx " + xs);
        }
        float[] dy = f(dyt, "dy"), dx = f(dxt, "dx");
        int[] arg = i(argt, "argmax");
        int plane = xs.dim(2) * xs.dim(3), oplane = ds.dim(2) * ds.dim(3);
        parallel.forRange(xs.dim(0) * xs.dim(1), pl -> {
            Arrays.fill(dx, pl * plane, (pl + 1) * plane, 0f);
            for (int e = 0; e < oplane; e++) {
                int a = arg[pl * oplane + e];
                if (a < 0 || a >= plane) {
                    throw new IllegalArgumentException("pooling arg-max " + a + " is outside the input plane");
                }
                dx[pl * plane + a] += dy[pl * oplane + e];
            }
        });
    }

    @Override
    public void softmaxCrossEntropy(Tensor logitsT, Tensor labelsT, Tensor statsT, Tensor dLogitsT) {
        need(logitsT, "logits");
        Shape s = logitsT.shape();
        if (s.rank() != 2) {
            throw new IllegalArgumentException("logits must be [B, K], got " + s);
        }
        int batch = s.dim(0), k = s.dim(1);
        expect(labelsT, Shape.of(batch), "labels");
        expect(statsT, Shape.of(2), "loss statistics");
        if (dLogitsT != null) {
            expect(dLogitsT, s, "logit gradient");
        }
        float[] z = f(logitsT, "logits"), stats = f(statsT, "stats");
        int[] labels = i(labelsT, "labels");
        float[] dz = dLogitsT == null ? null : f(dLogitsT, "dLogits");
        double loss = 0;
        int correct = 0;
        for (int bi = 0; bi < batch; bi++) {
            int label = labels[bi];
            if (label < 0 || label >= k) {
                throw new IllegalArgumentException("label " + label + " of sample " + bi + " is outside [0, " + k + ")");
            }
            int off = bi * k;
            float max = Float.NEGATIVE_INFINITY;
            int arg = 0;
            for (int j = 0; j < k; j++) {
                if (z[off + j] > max) {
                    max = z[off + j];
                    arg = j;
                }
            }
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(z[off + j] - max);
            }
            loss += Math.log(sum) + max - z[off + label];
            if (arg == label) {
                correct++;
            }
            if (dz != null) {
                for (int j = 0; j < k; j++) {
                    double p = Math.exp(z[off + j] - max) / sum;
                    dz[off + j] = (float) ((p - (j == label ? 1 : 0)) / batch);
                }
            }
        }
        stats[0] = (float) (loss / batch);
        stats[1] = correct;
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void sgdUpdate(Tensor pt, Tensor gt, Tensor mt, SgdStep step) {
        need(step, "sgd step");
        sameShape(pt, gt, "sgd update");
        float[] p = f(pt, "param"), g = f(gt, "grad");
        float[] m = null;
        if (step.usesMomentum()) {
            if (mt == null) {
                throw new IllegalArgumentException("sgd with momentum needs a momentum buffer");
            }
            sameShape(pt, mt, "sgd momentum");
            m = f(mt, "momentum");
        }
        float lr = step.learningRate(), mu = step.momentum(), wd = step.weightDecay();
        for (int e = 0; e < p.length; e++) {
            float grad = g[e] + wd * p[e];
            if (m != null) {
                m[e] = mu * m[e] + grad;
                grad = m[e];
            }
            p[e] -= lr * grad;
        }
    }

    @Override
    public void sgdUpdateSparse(Tensor wt, Tensor dwt, ChannelIndex sel, int groups, Tensor mt, SgdStep step) {
        need(wt, "weight");
        need(dwt, "sparse gradient");
        need(step, "sgd step");
        Shape ws = wt.shape();
        if (ws.rank() != 2 && ws.rank() != 4) {
            throw new IllegalArgumentException("sparse sgd needs a weight [C', C/g, D, D] or [O, F], got " + ws);
        }
        if (groups < 1 || ws.dim(0) % groups != 0) {
            throw new IllegalArgumentException("groups " + groups + " does not divide the " + ws.dim(0) + " output channels");
        }
        int cout = ws.dim(0), cg = ws.dim(1), mg = cout / groups, d2 = ws.numel() / (cout * cg), ns = sel.size();
        checkSelection(sel, cg * groups);
        if (dwt.numel() != mg * ns * d2) {
            throw new IllegalArgumentException("sparse gradient " + dwt.shape() + " does not match weight " + ws
                    + " with " + ns + " selected channels");
        }
        float[] w = f(wt, "weight"), dw = f(dwt, "sparse gradient");
        float[] m = null;
        if (step.usesMomentum()) {
            if (mt == null) {
                throw new IllegalArgumentException("sgd with momentum needs a momentum buffer");
            }
            sameShape(dwt, mt, "sgd momentum");
            m = f(mt, "momentum");
        }
        float lr = step.learningRate(), mu = step.momentum(), wd = step.weightDecay();
        for (int j = 0; j < ns; j++) {
            int c = sel.get(j), g = c / cg, local = c % cg;
            for (int o = 0; o < mg; o++) {
                int wRow = ((g * mg + o) * cg + local) * d2;
                int gRow = (o * ns + j) * d2;
                for (int t = 0; t < d2; t++) {
                    float grad = dw[gRow + t] + wd * w[wRow + t];
                    if (m != null) {
                        m[gRow + t] = mu * m[gRow + t] + grad;
                        grad = m[gRow + t];
                    }
                    w[wRow + t] -= lr * grad;
                }
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /**
     * c[cOff + i·cRow + j] = Σ_k A(i, k) · B(k, j) for i < m, j < n, with A(i, k) = a[aOff + i·ars + k·acs]
     * and B(k, j) = b[bOff + k·bRow + j·bCol]; parallel over blocks of columns.
     */
    private void matmul(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff, int bRow,
                        int bCol, float[] c, int cOff, int cRow) {
        final int nc = ConvGemm.columnBlock(n, Math.max(1, m / 16), parallel.threads());
        final int blocks = (n + nc - 1) / nc;
        final int kc = 128;
        parallel.forRange(blocks, t -> {
            int j0 = t * nc, nn = Math.min(nc, n - j0);
            Workspace ws = Workspace.get();
            float[][] acc = ws.rows(Workspace.ACC, m, nc);
            for (int k0 = 0; k0 < k; k0 += kc) {
                int kn = Math.min(kc, k - k0);
                float[][] panel = ws.rows(Workspace.PANEL, kn, nc);
                for (int kk = 0; kk < kn; kk++) {
                    int src = bOff + (k0 + kk) * bRow + j0 * bCol;
                    float[] row = panel[kk];
                    if (bCol == 1) {
                        System.arraycopy(b, src, row, 0, nn);
                    } else {
                        for (int j = 0; j < nn; j++) {
                            row[j] = b[src + j * bCol];
                        }
                    }
                }
                Gemm.run(m, nn, kn, a, aOff + k0 * acs, ars, acs, panel, acc, k0 == 0);
            }
            for (int i = 0; i < m; i++) {
                System.arraycopy(acc[i], 0, c, cOff + i * cRow + j0, nn);
            }
        });
    }

    /** First position j in the selection with S_j ≥ channel. */
    static int lowerBound(ChannelIndex sel, int channel) {
        int lo = 0, hi = sel.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sel.get(mid) < channel) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static float[] f(Tensor t, String name) {
        need(t, name);
        if (!(t instanceof CpuTensor c)) {
            throw new IllegalArgumentException(name + " is not a CPU tensor (it belongs to another backend): " + t);
        }
        return c.floats();
    }

    private static int[] i(Tensor t, String name) {
        need(t, name);
        if (!(t instanceof CpuTensor c)) {
            throw new IllegalArgumentException(name + " is not a CPU tensor (it belongs to another backend): " + t);
        }
        return c.ints();
    }
}
