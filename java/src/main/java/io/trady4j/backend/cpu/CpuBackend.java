package io.trady4j.backend.cpu;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Checks;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.MemoryMeter;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;


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
    /** oneDNN's sgemm for the GEMM convolutions, or null for the pure-Java GEMM. */
    private final OneDnn.Sgemm sgemm;
    private final String gemmDescription;

    /** A backend using every available processor. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /**
     * A CPU backend on {@code threads} threads (one OpenMP thread inside each of them for oneDNN).
     * Uses oneDNN when {@code -Dtrady4j.cpu.onednn} (auto by default) finds it; with {@code on} and no
     * usable oneDNN it refuses to open.
     *
     * @param threads the worker threads, at least 1
     * @throws IllegalArgumentException if {@code threads} is below 1
     * @throws BackendUnavailableException if oneDNN is required ({@code on}) but cannot be loaded
     */
    public CpuBackend(int threads) {
        this(threads, OneDnn.status());
    }

    CpuBackend(int threads, OneDnn.Status onednn) {
        if (threads < 1) {
            throw new IllegalArgumentException("thread count must be >= 1, got " + threads);
        }
        if (onednn.mode().equals("on") && !onednn.available()) {
            throw new BackendUnavailableException("-Dtrady4j.cpu.onednn=on but " + onednn.reason());
        }
        if (!onednn.available() && !onednn.mode().equals("auto") && !onednn.mode().equals("off")) {
            throw new IllegalArgumentException(onednn.reason());
        }
        this.parallel = new Parallel(threads);
        this.sgemm = onednn.sgemm();
        this.gemmDescription = onednn.describe();
    }

    /** The pure-Java reference backend, whatever oneDNN's availability (tests compare the two). */
    static CpuBackend pureJava(int threads) {
        return new CpuBackend(threads, OneDnn.load("off"));
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String deviceDescription() {
        return "CPU, " + parallel.threads() + (parallel.threads() == 1 ? " thread, " : " threads, ") + gemmDescription;
    }

    @Override
    public MemoryMeter memory() {
        return meter;
    }

    @Override
    public boolean hostMemory() {
        return true;
    }

    /** @return the worker threads */
    public int threads() {
        return parallel.threads();
    }

    // ---------------------------------------------------------------- memory

    @Override
    public Tensor allocate(Shape shape, DType dtype, MemoryCategory category) {
        return new CpuTensor(shape, dtype, category, meter);
    }

    @Override
    public Tensor wrap(MemorySegment data, Shape shape, DType dtype) {
        Checks.wrap(data, shape, dtype);
        return CpuTensor.wrap(data, shape, dtype);
    }

    @Override
    public Tensor upload(float[] data, Shape shape, MemoryCategory category) {
        Checks.upload(data, shape);
        CpuTensor t = new CpuTensor(shape, DType.F32, category, meter);
        System.arraycopy(data, 0, t.floats(), 0, data.length);
        return t;
    }

    @Override
    public Tensor uploadInts(int[] data, Shape shape, MemoryCategory category) {
        Checks.uploadInts(data, shape);
        CpuTensor t = new CpuTensor(shape, DType.I32, category, meter);
        System.arraycopy(data, 0, t.ints(), 0, data.length);
        return t;
    }

    @Override
    public void download(Tensor src, float[] dst) {
        Checks.download(src, dst);
        float[] s = f(src, "src");
        System.arraycopy(s, 0, dst, 0, s.length);
    }

    @Override
    public void downloadInts(Tensor src, int[] dst) {
        Checks.downloadInts(src, dst);
        int[] s = i(src, "src");
        System.arraycopy(s, 0, dst, 0, s.length);
    }

    @Override
    public void fill(Tensor t, float value) {
        Checks.fill(t, DType.F32);
        Arrays.fill(f(t, "tensor"), value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Checks.copy(src, dst);
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
        Checks.conv2d(x, w, bias, spec, act, y);
        convForward(x, w, bias, spec, act, null, y, null);
    }

    @Override
    public void conv2dGather(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, ChannelIndex sel,
                             Tensor y, Tensor xSel) {
        Checks.conv2dGather(x, w, bias, spec, act, sel, y, xSel);
        convForward(x, w, bias, spec, act, sel, y, xSel);
    }

    /** The forward pass of {@link #conv2d} (sel == null) or {@link #conv2dGather}, on validated arguments. */
    private void convForward(Tensor xt, Tensor wt, Tensor bt, Conv2dSpec spec, Activation act, ChannelIndex sel,
                             Tensor yt, Tensor xSelT) {
        Shape xs = xt.shape();
        final int batch = xs.dim(0), c = spec.inChannels(), plane = xs.dim(2) * xs.dim(3);
        float[] xSel = sel == null ? null : f(xSelT, "gathered input");
        final float[] x = f(xt, "input"), w = f(wt, "weight"), y = f(yt, "output");
        final float[] b = bt == null ? null : f(bt, "bias");
        Geometry g = new Geometry(spec, batch, xs.dim(2), xs.dim(3));
        if (usesDepthwiseKernels(g)) {
            if (channelVectorized(g, g.c)) {
                DepthwiseChannels.forward(parallel, g, x, w, b, act.ordinal(), y);
            } else {
                Depthwise.forward(parallel, g, x, w, b, act.ordinal(), y);
            }
        } else if (sgemm != null) {
            ConvSgemm.forward(parallel, sgemm, g, x, w, b, act.ordinal(), y);
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
        Checks.conv2dDx(dyt, wt, spec, dxt);
        Shape dxs = dxt.shape();
        final float[] dy = f(dyt, "output gradient"), w = f(wt, "weight"), dx = f(dxt, "input gradient");
        Geometry g = new Geometry(spec, dxs.dim(0), dxs.dim(2), dxs.dim(3));
        if (usesDepthwiseKernels(g)) {
            if (channelVectorized(g, g.c)) {
                DepthwiseChannels.backwardData(parallel, g, dy, w, dx);
            } else {
                Depthwise.backwardData(parallel, g, dy, w, dx);
            }
        } else if (sgemm != null) {
            ConvSgemm.backwardData(parallel, sgemm, g, dy, w, dx);
        } else {
            ConvGemm.backwardData(parallel, g, dy, w, dx);
        }
    }

    @Override
    public void conv2dDwSparse(Tensor xSelT, Tensor dyt, ChannelIndex sel, Conv2dSpec spec, Tensor dwt) {
        Checks.conv2dDwSparse(xSelT, dyt, sel, spec, dwt);
        Shape xs = xSelT.shape();
        final int batch = xs.dim(0), ns = sel.size();
        Geometry g = new Geometry(spec, batch, xs.dim(2), xs.dim(3));
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
            if (sgemm != null) {
                ConvSgemm.weightGrad(parallel, sgemm, g, xSel, sel, dy, dw, partials(parts, dw.length));
            } else {
                ConvGemm.weightGrad(parallel, g, xSel, sel, dy, dw, partials(parts, dw.length));
            }
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
        Checks.linear(xt, wt, bt, yt);
        int batch = xt.shape().dim(0), o = wt.shape().dim(0), fin = wt.shape().dim(1);
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
        Checks.linearDx(dyt, wt, dxt);
        int batch = dyt.shape().dim(0);
        int o = wt.shape().dim(0), fin = wt.shape().dim(1);
        float[] dy = f(dyt, "dy"), w = f(wt, "w"), dx = f(dxt, "dx");
        // dx[B×F] = dy[B×O] · w[O×F]
        matmul(batch, fin, o, dy, 0, o, 1, w, 0, fin, 1, dx, 0, fin);
    }

    @Override
    public void linearDwSparse(Tensor xSelT, Tensor dyt, ChannelIndex sel, Tensor dwt) {
        Checks.linearDwSparse(xSelT, dyt, sel, dwt);
        int batch = dyt.shape().dim(0), o = dyt.shape().dim(1), ns = sel.size();
        float[] x = f(xSelT, "x"), dy = f(dyt, "dy"), dw = f(dwt, "dw");
        // dw[O×|S|] = dyᵀ[O×B] · xSel[B×|S|]
        matmul(o, ns, batch, dy, 0, 1, o, x, 0, ns, 1, dw, 0, ns);
    }

    @Override
    public void biasGrad(Tensor dyt, Tensor dbt) {
        Checks.biasGrad(dyt, dbt);
        Shape s = dyt.shape();
        int batch = s.dim(0), c = s.dim(1), plane = s.numel() / (batch * c);
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
        Checks.gatherChannels(xt, sel, xSelT);
        Shape s = xt.shape();
        int batch = s.dim(0), c = s.dim(1), plane = s.numel() / (batch * c), ns = sel.size();
        float[] x = f(xt, "x"), xs = f(xSelT, "xSel");
        for (int bi = 0; bi < batch; bi++) {
            for (int j = 0; j < ns; j++) {
                System.arraycopy(x, (bi * c + sel.get(j)) * plane, xs, (bi * ns + j) * plane, plane);
            }
        }
    }

    @Override
    public void activation(Activation act, Tensor xt, Tensor yt) {
        Checks.activation(act, xt, yt);
        float[] x = f(xt, "x"), y = f(yt, "y");
        for (int e = 0; e < x.length; e++) {
            y[e] = act.apply(x[e]);
        }
    }

    @Override
    public void activationBackward(Activation act, Tensor yt, Tensor dyt, Tensor dxt) {
        Checks.activationBackward(act, yt, dyt, dxt);
        float[] y = f(yt, "y"), dy = f(dyt, "dy"), dx = f(dxt, "dx");
        for (int e = 0; e < y.length; e++) {
            dx[e] = keepIf(passes(act, y[e]), dy[e]);
        }
    }

    @Override
    public void activationMask(Activation act, Tensor yt, Tensor maskt) {
        Checks.activationMask(act, yt, maskt);
        float[] y = f(yt, "y");
        int[] mask = i(maskt, "mask");
        int words = mask.length, chunks = maskChunks(words);
        parallel.forRange(chunks, t -> {
            for (int w = (int) ((long) words * t / chunks), wEnd = (int) ((long) words * (t + 1) / chunks); w < wEnd; w++) {
                int base = w * 32, end = Math.min(32, y.length - base), bits = 0;
                switch (act) {  // outside the element loop, so that the JIT compiles three tight loops
                    case NONE -> bits = end == 32 ? -1 : (1 << end) - 1;
                    case RELU -> {
                        for (int k = 0; k < end; k++) {
                            bits |= insideOpen(y[base + k], POSITIVE_INFINITY_BITS + 1) << k;
                        }
                    }
                    case RELU6 -> {
                        for (int k = 0; k < end; k++) {
                            bits |= insideOpen(y[base + k], SIX_BITS) << k;
                        }
                    }
                }
                mask[w] = bits;
            }
        });
    }

    private static final int POSITIVE_INFINITY_BITS = Float.floatToRawIntBits(Float.POSITIVE_INFINITY);
    private static final int SIX_BITS = Float.floatToRawIntBits(6f);

    /**
     * 1 if 0 < v and v's bits are below {@code upperBits} (a positive float's bits, so v < that float), else 0
     * (NaN and −0 included), in integer arithmetic: positive floats order like their bits, and the sign
     * bits of t and t − (upper − 1) with t = bits − 1 say 0 ≤ t < upper − 1 without a compare-and-set per
     * element (half the time of the float compares in this loop).
     */
    private static int insideOpen(float v, int upperBits) {
        int t = Float.floatToRawIntBits(v) - 1;
        return (~t & (t - (upperBits - 1))) >>> 31;
    }

    /** Parallel pieces for a pass over `words` mask words: one per thread, none below 4096 words. */
    private int maskChunks(int words) {
        return Math.max(1, Math.min(parallel.threads(), words / 4096));
    }

    @Override
    public void activationBackwardMasked(Tensor maskt, Tensor dyt, Tensor dxt) {
        Checks.activationBackwardMasked(maskt, dyt, dxt);
        int[] mask = i(maskt, "mask");
        float[] dy = f(dyt, "dy"), dx = f(dxt, "dx");
        int words = mask.length, chunks = maskChunks(words);
        parallel.forRange(chunks, t -> {
            for (int w = (int) ((long) words * t / chunks), wEnd = (int) ((long) words * (t + 1) / chunks); w < wEnd; w++) {
                int bits = mask[w], base = w * 32, end = Math.min(32, dy.length - base);
                for (int k = 0; k < end; k++) {
                    dx[base + k] = keepIf((bits >>> k) & 1, dy[base + k]);
                }
            }
        });
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
        Checks.add(at, bt, outt);
        float[] a = f(at, "a"), b = f(bt, "b"), o = f(outt, "out");
        for (int e = 0; e < a.length; e++) {
            o[e] = a[e] + b[e];
        }
    }

    @Override
    public void globalAvgPool(Tensor xt, Tensor yt) {
        Checks.globalAvgPool(xt, yt);
        Shape s = xt.shape();
        int bc = s.dim(0) * s.dim(1), plane = s.dim(2) * s.dim(3);
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
        Checks.globalAvgPoolBackward(dyt, dxt);
        Shape s = dxt.shape();
        int bc = s.dim(0) * s.dim(1), plane = s.dim(2) * s.dim(3);
        float[] dy = f(dyt, "dy"), dx = f(dxt, "dx");
        for (int i = 0; i < bc; i++) {
            Arrays.fill(dx, i * plane, (i + 1) * plane, dy[i] / plane);
        }
    }

    @Override
    public void maxPool2d(Tensor xt, int kernel, int stride, int padding, Tensor yt, Tensor argt) {
        Checks.maxPool2d(xt, kernel, stride, padding, yt, argt);
        Shape s = xt.shape();
        int h = s.dim(2), w = s.dim(3), ho = yt.shape().dim(2), wo = yt.shape().dim(3);
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
        Checks.maxPool2dBackward(dyt, argt, dxt);
        Shape ds = dyt.shape(), xs = dxt.shape();
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
        Checks.softmaxCrossEntropy(logitsT, labelsT, statsT, dLogitsT);
        int batch = logitsT.shape().dim(0), k = logitsT.shape().dim(1);
        float[] z = f(logitsT, "logits"), stats = f(statsT, "stats");
        int[] labels = i(labelsT, "labels");
        float[] dz = dLogitsT == null ? null : f(dLogitsT, "dLogits");
        for (int bi = 0; bi < batch; bi++) {
            if (labels[bi] < 0 || labels[bi] >= k) {
                throw Checks.labelOutsideClasses(bi, labels[bi], k);
            }
        }
        double loss = 0;
        int correct = 0;
        for (int bi = 0; bi < batch; bi++) {
            int label = labels[bi];
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
    public void batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                  double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        BatchNormKernels.training(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
    }

    @Override
    public void batchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                  Tensor dGamma, Tensor dBeta) {
        BatchNormKernels.backward(dy, x, gamma, saveMean, saveInvStd, dx, dGamma, dBeta);
    }

    @Override
    public void batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps,
                                   Tensor y) {
        BatchNormKernels.inference(x, gamma, beta, runningMean, runningVar, eps, y);
    }

    @Override
    public void sgdUpdate(Tensor pt, Tensor gt, Tensor mt, SgdStep step) {
        Checks.sgdUpdate(pt, gt, mt, step);
        float[] p = f(pt, "param"), g = f(gt, "grad");
        float[] m = step.usesMomentum() ? f(mt, "momentum") : null;
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
        Checks.sgdUpdateSparse(wt, dwt, sel, groups, mt, step);
        Shape ws = wt.shape();
        int cout = ws.dim(0), cg = ws.dim(1), mg = cout / groups, d2 = ws.numel() / (cout * cg), ns = sel.size();
        float[] w = f(wt, "weight"), dw = f(dwt, "sparse gradient");
        float[] m = step.usesMomentum() ? f(mt, "momentum") : null;
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

    /** The data of a tensor the op's check has validated; only its owner is left to check. */
    private static float[] f(Tensor t, String name) {
        if (!(t instanceof CpuTensor c)) {
            throw new IllegalArgumentException(name + " is not a CPU tensor (it belongs to another backend): " + t);
        }
        return c.floats();
    }

    private static int[] i(Tensor t, String name) {
        if (!(t instanceof CpuTensor c)) {
            throw new IllegalArgumentException(name + " is not a CPU tensor (it belongs to another backend): " + t);
        }
        return c.ints();
    }
}
