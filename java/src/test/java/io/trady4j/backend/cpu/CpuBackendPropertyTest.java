package io.trady4j.backend.cpu;

import io.trady4j.backend.Activation;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static io.trady4j.backend.cpu.PropertyHarness.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every CPU backend operation against the float64 {@link Reference64} on fresh random shapes and
 * values each run (see {@link PropertyHarness} for the seed), with outputs poisoned by NaN.
 * Cases alternate between a 1-thread and a 3-thread backend so that uneven parallel splits are
 * exercised too, and, where oneDNN is in use, a 2-thread pure-Java backend, so that one run checks
 * both GEMM paths.
 */
class CpuBackendPropertyTest {
    private static final CpuBackend ONE = new CpuBackend(1);
    private static final CpuBackend THREE = new CpuBackend(3);
    private static final CpuBackend PURE_JAVA = CpuBackend.pureJava(2);

    @AfterAll
    static void close() {
        ONE.close();
        THREE.close();
        PURE_JAVA.close();
    }

    private static CpuBackend pick(Random rnd, StringBuilder desc) {
        CpuBackend be = switch (rnd.nextInt(3)) {
            case 0 -> ONE;
            case 1 -> THREE;
            default -> PURE_JAVA;
        };
        desc.append(be.threads()).append(" thread(s), ").append(be.deviceDescription()).append("; ");
        return be;
    }

    private static Activation randomAct(Random rnd) {
        return Activation.values()[rnd.nextInt(Activation.values().length)];
    }

    /** Random values scaled so that a fused ReLU6 clamps some outputs at 6 too. */
    private static float[] convValues(Random rnd, int n, float scale) {
        float[] a = randoms(rnd, n);
        for (int i = 0; i < n; i++) {
            a[i] *= scale;
        }
        return a;
    }

    @Test
    void conv2dMatchesReference() {
        forAll("conv2d", 150, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            ConvCase cc = randomConv(rnd, 8);
            Conv2dSpec s = cc.spec();
            Activation act = randomAct(rnd);
            boolean withBias = rnd.nextBoolean();
            desc.append(cc).append(", ").append(act).append(withBias ? ", bias" : ", no bias");
            float[] x = convValues(rnd, cc.batch() * s.inChannels() * cc.h() * cc.w(), 3f);
            float[] w = randoms(rnd, s.weightShape().numel());
            float[] b = withBias ? randoms(rnd, s.outChannels()) : null;
            int ho = s.outSize(cc.h()), wo = s.outSize(cc.w());
            try (Tensor xt = upload(be, x, cc.batch(), s.inChannels(), cc.h(), cc.w());
                 Tensor wt = be.upload(w, s.weightShape(), io.trady4j.tensor.MemoryCategory.PARAMETER);
                 Tensor bt = b == null ? null : upload(be, b, s.outChannels());
                 Tensor yt = poisoned(be, cc.batch(), s.outChannels(), ho, wo)) {
                be.conv2d(xt, wt, bt, s, act, yt);
                assertClose("y", be, yt, Reference64.conv2d(x, cc.batch(), cc.h(), cc.w(), w, b, s, act),
                        Reference64.conv2d(abs(x), cc.batch(), cc.h(), cc.w(), abs(w), abs(b), s, Activation.NONE));
            }
        });
    }

    @Test
    void conv2dGatherMatchesReference() {
        forAll("conv2dGather", 100, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            ConvCase cc = randomConv(rnd, 8);
            Conv2dSpec s = cc.spec();
            Activation act = randomAct(rnd);
            int[] sel = randomSelection(rnd, s.inChannels());
            desc.append(cc).append(", ").append(act).append(", S=").append(Arrays.toString(sel));
            float[] x = convValues(rnd, cc.batch() * s.inChannels() * cc.h() * cc.w(), 3f);
            float[] w = randoms(rnd, s.weightShape().numel());
            float[] b = randoms(rnd, s.outChannels());
            int ho = s.outSize(cc.h()), wo = s.outSize(cc.w());
            try (Tensor xt = upload(be, x, cc.batch(), s.inChannels(), cc.h(), cc.w());
                 Tensor wt = be.upload(w, s.weightShape(), io.trady4j.tensor.MemoryCategory.PARAMETER);
                 Tensor bt = upload(be, b, s.outChannels());
                 ChannelIndex idx = selection(be, sel, s.inChannels());
                 Tensor yt = poisoned(be, cc.batch(), s.outChannels(), ho, wo);
                 Tensor xs = poisoned(be, cc.batch(), sel.length, cc.h(), cc.w())) {
                be.conv2dGather(xt, wt, bt, s, act, idx, yt, xs);
                assertClose("y", be, yt, Reference64.conv2d(x, cc.batch(), cc.h(), cc.w(), w, b, s, act),
                        Reference64.conv2d(abs(x), cc.batch(), cc.h(), cc.w(), abs(w), abs(b), s, Activation.NONE));
                assertArrayEquals(toFloats(Reference64.gather(x, cc.batch(), s.inChannels(), cc.h() * cc.w(), sel)),
                        be.toFloatArray(xs), "gathered input must be an exact copy of x[:, S]");
            }
        });
    }

    @Test
    void conv2dDwSparseIsTheSliceOfTheFullWeightGradient() {
        forAll("conv2dDwSparse", 150, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            ConvCase cc = randomConv(rnd, 8);
            Conv2dSpec s = cc.spec();
            int[] sel = randomSelection(rnd, s.inChannels());
            desc.append(cc).append(", S=").append(Arrays.toString(sel));
            int ho = s.outSize(cc.h()), wo = s.outSize(cc.w());
            float[] x = randoms(rnd, cc.batch() * s.inChannels() * cc.h() * cc.w());
            float[] dy = randoms(rnd, cc.batch() * s.outChannels() * ho * wo);
            float[] xSel = toFloats(Reference64.gather(x, cc.batch(), s.inChannels(), cc.h() * cc.w(), sel));
            int[] dwDims = s.sparseWeightGradShape(sel.length).dims();
            try (Tensor xs = upload(be, xSel, cc.batch(), sel.length, cc.h(), cc.w());
                 Tensor dyt = upload(be, dy, cc.batch(), s.outChannels(), ho, wo);
                 ChannelIndex idx = selection(be, sel, s.inChannels());
                 Tensor dw = poisoned(be, dwDims)) {
                be.conv2dDwSparse(xs, dyt, idx, s, dw);
                double[] full = Reference64.conv2dDwFull(x, cc.batch(), cc.h(), cc.w(), dy, s);
                double[] fullAbs = Reference64.conv2dDwFull(abs(x), cc.batch(), cc.h(), cc.w(), abs(dy), s);
                assertClose("dwSel", be, dw, Reference64.sliceDw(full, s, sel), Reference64.sliceDw(fullAbs, s, sel));
            }
        });
    }

    /** A random depthwise (maybe with a multiplier) geometry, small or layer-like. */
    private static ConvCase randomDepthwise(Random rnd) {
        int c = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 80);
        int mult = rnd.nextInt(3) == 0 ? 2 : 1;
        int[] kernels = {1, 3, 5, 7};
        int d = kernels[rnd.nextInt(4)];
        Conv2dSpec spec = new Conv2dSpec(c, c * mult, d, 1 + rnd.nextInt(2), rnd.nextInt(4), 1 + rnd.nextInt(2), c);
        int min = Math.max(1, spec.effectiveKernel() - 2 * spec.padding());
        int h = min + rnd.nextInt(rnd.nextBoolean() ? 6 : 20), w = min + rnd.nextInt(12);
        return new ConvCase(spec, 1 + rnd.nextInt(3), h, w);
    }

    /** Both depthwise layouts (channels as the vector, polyphase planes) on the same random cases. */
    @Test
    void depthwiseLayoutsBothMatchReference() {
        int savedMin = CpuBackend.channelVectorMin, savedPlane = CpuBackend.channelVectorMaxPlane;
        int savedSel = CpuBackend.channelVectorMinSelected;
        try {
            forAll("depthwise layouts", 60, (rnd, desc) -> {
                CpuBackend be = pick(rnd, desc);
                boolean channels = rnd.nextBoolean();
                CpuBackend.channelVectorMin = channels ? 1 : Integer.MAX_VALUE;
                CpuBackend.channelVectorMinSelected = channels ? 1 : Integer.MAX_VALUE;
                CpuBackend.channelVectorMaxPlane = channels ? Integer.MAX_VALUE : 0;
                ConvCase cc = randomDepthwise(rnd);
                Conv2dSpec s = cc.spec();
                Activation act = randomAct(rnd);
                int[] sel = randomSelection(rnd, s.inChannels());
                desc.append(channels ? "channel-vector layout; " : "polyphase layout; ").append(cc).append(", ")
                        .append(act).append(", S=").append(Arrays.toString(sel));
                int ho = s.outSize(cc.h()), wo = s.outSize(cc.w()), c = s.inChannels(), co = s.outChannels();
                float[] x = convValues(rnd, cc.batch() * c * cc.h() * cc.w(), 3f);
                float[] w = randoms(rnd, s.weightShape().numel());
                float[] b = randoms(rnd, co);
                float[] dy = randoms(rnd, cc.batch() * co * ho * wo);
                float[] xSel = toFloats(Reference64.gather(x, cc.batch(), c, cc.h() * cc.w(), sel));
                try (Tensor xt = upload(be, x, cc.batch(), c, cc.h(), cc.w());
                     Tensor wt = be.upload(w, s.weightShape(), io.trady4j.tensor.MemoryCategory.PARAMETER);
                     Tensor bt = upload(be, b, co);
                     Tensor yt = poisoned(be, cc.batch(), co, ho, wo);
                     Tensor dyt = upload(be, dy, cc.batch(), co, ho, wo);
                     Tensor dx = poisoned(be, cc.batch(), c, cc.h(), cc.w());
                     Tensor xs = upload(be, xSel, cc.batch(), sel.length, cc.h(), cc.w());
                     ChannelIndex idx = selection(be, sel, c);
                     Tensor dw = poisoned(be, s.sparseWeightGradShape(sel.length).dims())) {
                    be.conv2d(xt, wt, bt, s, act, yt);
                    assertClose("y", be, yt, Reference64.conv2d(x, cc.batch(), cc.h(), cc.w(), w, b, s, act),
                            Reference64.conv2d(abs(x), cc.batch(), cc.h(), cc.w(), abs(w), abs(b), s, Activation.NONE));
                    be.conv2dDx(dyt, wt, s, dx);
                    assertClose("dx", be, dx, Reference64.conv2dDx(dy, cc.batch(), cc.h(), cc.w(), w, s),
                            Reference64.conv2dDx(abs(dy), cc.batch(), cc.h(), cc.w(), abs(w), s));
                    be.conv2dDwSparse(xs, dyt, idx, s, dw);
                    assertClose("dwSel", be, dw,
                            Reference64.sliceDw(Reference64.conv2dDwFull(x, cc.batch(), cc.h(), cc.w(), dy, s), s, sel),
                            Reference64.sliceDw(Reference64.conv2dDwFull(abs(x), cc.batch(), cc.h(), cc.w(), abs(dy), s), s, sel));
                }
            });
        } finally {
            CpuBackend.channelVectorMin = savedMin;
            CpuBackend.channelVectorMaxPlane = savedPlane;
            CpuBackend.channelVectorMinSelected = savedSel;
        }
    }

    @Test
    void sparseWeightGradientLayoutForDepthwise() {
        Conv2dSpec dw = Conv2dSpec.depthwise(6, 3, 1, 1);
        assertEquals(io.trady4j.tensor.Shape.of(2, 1, 3, 3), dw.sparseWeightGradShape(2));
        Conv2dSpec mult = new Conv2dSpec(4, 8, 3, 1, 1, 1, 4);
        assertEquals(io.trady4j.tensor.Shape.of(2, 3, 3, 3), mult.sparseWeightGradShape(3));
    }

    @Test
    void conv2dDxMatchesReference() {
        forAll("conv2dDx", 150, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            ConvCase cc = randomConv(rnd, 8);
            Conv2dSpec s = cc.spec();
            desc.append(cc);
            int ho = s.outSize(cc.h()), wo = s.outSize(cc.w());
            float[] dy = randoms(rnd, cc.batch() * s.outChannels() * ho * wo);
            float[] w = randoms(rnd, s.weightShape().numel());
            try (Tensor dyt = upload(be, dy, cc.batch(), s.outChannels(), ho, wo);
                 Tensor wt = be.upload(w, s.weightShape(), io.trady4j.tensor.MemoryCategory.PARAMETER);
                 Tensor dx = poisoned(be, cc.batch(), s.inChannels(), cc.h(), cc.w())) {
                be.conv2dDx(dyt, wt, s, dx);
                double[] ref = Reference64.conv2dDx(dy, cc.batch(), cc.h(), cc.w(), w, s);
                assertClose("dx", be, dx, ref, Reference64.conv2dDx(abs(dy), cc.batch(), cc.h(), cc.w(), abs(w), s));
            }
        });
    }

    @Test
    void linearOpsMatchReference() {
        forAll("linear", 150, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            int batch = 1 + rnd.nextInt(9), f = 1 + rnd.nextInt(70), o = 1 + rnd.nextInt(40);
            boolean image = rnd.nextBoolean(), withBias = rnd.nextBoolean();
            int[] sel = randomSelection(rnd, f);
            desc.append("B=").append(batch).append(" F=").append(f).append(" O=").append(o)
                    .append(image ? " x [B,F,1,1]" : " x [B,F]").append(withBias ? " bias" : "")
                    .append(" S=").append(Arrays.toString(sel));
            float[] x = randoms(rnd, batch * f), w = randoms(rnd, o * f), b = withBias ? randoms(rnd, o) : null;
            float[] dy = randoms(rnd, batch * o);
            float[] xSel = toFloats(Reference64.gather(x, batch, f, 1, sel));
            int[] xDims = image ? new int[] {batch, f, 1, 1} : new int[] {batch, f};
            int[] xsDims = image ? new int[] {batch, sel.length, 1, 1} : new int[] {batch, sel.length};
            try (Tensor xt = upload(be, x, xDims);
                 Tensor wt = upload(be, w, o, f);
                 Tensor bt = b == null ? null : upload(be, b, o);
                 Tensor yt = poisoned(be, batch, o);
                 Tensor dyt = upload(be, dy, batch, o);
                 Tensor dx = poisoned(be, xDims);
                 Tensor xs = upload(be, xSel, xsDims);
                 ChannelIndex idx = selection(be, sel, f);
                 Tensor dw = poisoned(be, o, sel.length)) {
                be.linear(xt, wt, bt, yt);
                assertClose("y", be, yt, Reference64.linear(x, batch, f, w, o, b), Reference64.linear(abs(x), batch, f, abs(w), o, abs(b)));
                be.linearDx(dyt, wt, dx);
                assertClose("dx", be, dx, Reference64.linearDx(dy, batch, o, w, f), Reference64.linearDx(abs(dy), batch, o, abs(w), f));
                be.linearDwSparse(xs, dyt, idx, dw);
                double[] full = Reference64.linearDwFull(x, batch, f, dy, o);
                double[] slice = Reference64.sliceDw(full, new Conv2dSpec(f, o, 1, 1, 0, 1, 1), sel);
                double[] sliceAbs = Reference64.sliceDw(Reference64.linearDwFull(abs(x), batch, f, abs(dy), o),
                        new Conv2dSpec(f, o, 1, 1, 0, 1, 1), sel);
                assertClose("dwSel", be, dw, slice, sliceAbs);
            }
        });
    }

    @Test
    void biasGradAndGatherMatchReference() {
        forAll("biasGrad+gather", 100, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            boolean image = rnd.nextBoolean();
            int batch = 1 + rnd.nextInt(4), c = 1 + rnd.nextInt(12), h = 1 + rnd.nextInt(9), w = 1 + rnd.nextInt(9);
            int plane = image ? h * w : 1;
            int[] dims = image ? new int[] {batch, c, h, w} : new int[] {batch, c};
            int[] sel = randomSelection(rnd, c);
            desc.append(Arrays.toString(dims)).append(" S=").append(Arrays.toString(sel));
            float[] dy = randoms(rnd, batch * c * plane);
            int[] selDims = dims.clone();
            selDims[1] = sel.length;
            try (Tensor dyt = upload(be, dy, dims);
                 Tensor db = poisoned(be, c);
                 ChannelIndex idx = selection(be, sel, c);
                 Tensor xs = poisoned(be, selDims)) {
                be.biasGrad(dyt, db);
                assertClose("db", be, db, Reference64.biasGrad(dy, batch, c, plane), Reference64.biasGrad(abs(dy), batch, c, plane));
                be.gatherChannels(dyt, idx, xs);
                assertArrayEquals(toFloats(Reference64.gather(dy, batch, c, plane, sel)), be.toFloatArray(xs));
            }
        });
    }

    @Test
    void elementwiseOpsMatchReference() {
        forAll("elementwise", 100, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            Activation act = randomAct(rnd);
            int n = 1 + rnd.nextInt(3000);
            boolean inPlace = rnd.nextBoolean();
            desc.append(act).append(" n=").append(n).append(inPlace ? " in place" : "");
            float[] x = convValues(rnd, n, 8f);
            float[] dy = randoms(rnd, n);
            float[] other = randoms(rnd, n);
            try (Tensor xt = upload(be, x, n);
                 Tensor yt = inPlace ? null : poisoned(be, n);
                 Tensor dyt = upload(be, dy, n);
                 Tensor dxt = inPlace ? null : poisoned(be, n);
                 Tensor ot = upload(be, other, n)) {
                Tensor y = inPlace ? xt : yt;
                be.activation(act, xt, y);
                double[] yRef = Reference64.activation(act, x);
                assertClose("act", be, y, yRef);
                float[] yv = be.toFloatArray(y);
                Tensor dx = inPlace ? dyt : dxt;
                be.activationBackward(act, y, dyt, dx);
                assertClose("act backward", be, dx, Reference64.activationBackward(act, yv, dy));
                float[] dxv = be.toFloatArray(dx);
                be.add(dx, ot, inPlace ? dx : y);
                assertClose("add", be, inPlace ? dx : y, Reference64.add(dxv, other));
            }
        });
    }

    @Test
    void activationBackwardAtTheClampBoundaries() {
        try (Tensor y = upload(ONE, new float[] {-1f, 0f, 1e-7f, 3f, 6f, 7f}, 6);
             Tensor dy = upload(ONE, new float[] {1f, 1f, 1f, 1f, 1f, 1f}, 6);
             Tensor dx = poisoned(ONE, 6)) {
            ONE.activationBackward(Activation.RELU6, y, dy, dx);
            assertArrayEquals(new float[] {0f, 0f, 1f, 1f, 0f, 0f}, ONE.toFloatArray(dx));
            ONE.activationBackward(Activation.RELU, y, dy, dx);
            assertArrayEquals(new float[] {0f, 0f, 1f, 1f, 1f, 1f}, ONE.toFloatArray(dx));
        }
    }

    @Test
    void poolingMatchesReference() {
        forAll("pooling", 100, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            int batch = 1 + rnd.nextInt(3), c = 1 + rnd.nextInt(5);
            int k = 1 + rnd.nextInt(4), stride = 1 + rnd.nextInt(3), pad = rnd.nextInt(k / 2 + 1);
            int h = Math.max(1, k - 2 * pad) + rnd.nextInt(10), w = Math.max(1, k - 2 * pad) + rnd.nextInt(10);
            desc.append("x [").append(batch).append(',').append(c).append(',').append(h).append(',').append(w)
                    .append("] k=").append(k).append(" s=").append(stride).append(" p=").append(pad);
            int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
            float[] x = randoms(rnd, batch * c * h * w);
            float[] dyp = randoms(rnd, batch * c * ho * wo);
            float[] dyg = randoms(rnd, batch * c);
            try (Tensor xt = upload(be, x, batch, c, h, w);
                 Tensor y = poisoned(be, batch, c, ho, wo);
                 Tensor arg = poisonedInts(be, batch, c, ho, wo);
                 Tensor dyt = upload(be, dyp, batch, c, ho, wo);
                 Tensor dx = poisoned(be, batch, c, h, w);
                 Tensor gy = poisoned(be, batch, c);
                 Tensor gdy = upload(be, dyg, batch, c)) {
                be.maxPool2d(xt, k, stride, pad, y, arg);
                Reference64.Pool ref = Reference64.maxPool(x, batch * c, h, w, k, stride, pad);
                assertClose("max pool", be, y, ref.y());
                assertArrayEquals(ref.argmax(), be.toIntArray(arg), "max pool arg-max");
                be.maxPool2dBackward(dyt, arg, dx);
                assertClose("max pool backward", be, dx,
                        Reference64.maxPoolBackward(dyp, ref.argmax(), batch * c, ho * wo, h * w),
                        Reference64.maxPoolBackward(abs(dyp), ref.argmax(), batch * c, ho * wo, h * w));
                be.globalAvgPool(xt, gy);
                assertClose("global avg pool", be, gy, Reference64.globalAvgPool(x, batch * c, h * w),
                        Reference64.globalAvgPool(abs(x), batch * c, h * w));
                be.globalAvgPoolBackward(gdy, dx);
                assertClose("global avg pool backward", be, dx, Reference64.globalAvgPoolBackward(dyg, batch * c, h * w));
            }
        });
    }

    @Test
    void softmaxCrossEntropyMatchesReference() {
        forAll("softmaxCrossEntropy", 100, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            int batch = 1 + rnd.nextInt(9), k = 1 + rnd.nextInt(30);
            boolean withGrad = rnd.nextInt(4) != 0;
            desc.append("B=").append(batch).append(" K=").append(k).append(withGrad ? "" : " no gradient");
            float[] z = convValues(rnd, batch * k, 1 + rnd.nextInt(20));
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = rnd.nextInt(k);
            }
            try (Tensor zt = upload(be, z, batch, k);
                 Tensor lt = uploadInts(be, labels, batch);
                 Tensor st = poisoned(be, 2);
                 Tensor dz = withGrad ? poisoned(be, batch, k) : null) {
                be.softmaxCrossEntropy(zt, lt, st, dz);
                Reference64.CrossEntropy ref = Reference64.softmaxCrossEntropy(z, batch, k, labels);
                float[] stats = be.toFloatArray(st);
                // rounding scale of the loss: log-sum-exp and the label's logit, which may cancel
                double lossScale = 0;
                for (int i = 0; i < batch; i++) {
                    lossScale += Math.abs(z[i * k + labels[i]]) + Math.abs(ref.meanLoss()) + 1;
                }
                assertClose("mean loss", new double[] {stats[0]}, new double[] {ref.meanLoss()},
                        new double[] {lossScale / batch});
                assertEquals(ref.correct(), stats[1], "number correct");
                if (withGrad) {
                    double[] gradScale = new double[batch * k];
                    Arrays.fill(gradScale, 2.0 / batch); // softmax p and the one-hot 1 may cancel
                    assertClose("dLogits", be, dz, ref.grad(), gradScale);
                }
            }
        });
    }

    @Test
    void denseSgdMatchesReference() {
        forAll("sgd", 100, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            int n = 1 + rnd.nextInt(500);
            float lr = rnd.nextFloat(), mu = rnd.nextBoolean() ? 0f : rnd.nextFloat() * 0.99f;
            float wd = rnd.nextBoolean() ? 0f : rnd.nextFloat() * 0.1f;
            SgdStep step = new SgdStep(lr, mu, wd);
            desc.append("n=").append(n).append(' ').append(step);
            float[] p = randoms(rnd, n), g = randoms(rnd, n), m = mu > 0 ? randoms(rnd, n) : null;
            try (Tensor pt = upload(be, p, n);
                 Tensor gt = upload(be, g, n);
                 Tensor mt = m == null ? null : upload(be, m, n)) {
                be.sgdUpdate(pt, gt, mt, step);
                double[][] ref = Reference64.sgd(p, g, m, lr, mu, wd);
                assertUpdate(be.toFloatArray(pt), p, ref[0], mt == null ? null : be.toFloatArray(mt), ref[1],
                        g, m, p, mu, wd, null);
            }
        });
    }

    @Test
    void sparseSgdUpdatesOnlyTheSelectedSlice() {
        forAll("sgdSparse", 150, (rnd, desc) -> {
            CpuBackend be = pick(rnd, desc);
            boolean linear = rnd.nextInt(4) == 0;
            int cout, cg, d, groups;
            if (linear) {
                groups = 1;
                cout = 1 + rnd.nextInt(10);
                cg = 1 + rnd.nextInt(10);
                d = 1;
            } else {
                ConvCase cc = randomConv(rnd, 8);
                groups = cc.spec().groups();
                cout = cc.spec().outChannels();
                cg = cc.spec().inPerGroup();
                d = cc.spec().kernel();
            }
            int c = cg * groups, d2 = d * d, mg = cout / groups;
            int[] sel = randomSelection(rnd, c);
            float lr = rnd.nextFloat(), mu = rnd.nextBoolean() ? 0f : rnd.nextFloat() * 0.99f;
            float wd = rnd.nextBoolean() ? 0f : rnd.nextFloat() * 0.1f;
            SgdStep step = new SgdStep(lr, mu, wd);
            desc.append(linear ? "linear " : "conv ").append("C'=").append(cout).append(" C/g=").append(cg)
                    .append(" D=").append(d).append(" g=").append(groups).append(" S=").append(Arrays.toString(sel))
                    .append(' ').append(step);
            float[] w = randoms(rnd, cout * cg * d2);
            int nSel = mg * sel.length * d2;
            float[] dw = randoms(rnd, nSel), m = mu > 0 ? randoms(rnd, nSel) : null;
            int[] wDims = linear ? new int[] {cout, cg} : new int[] {cout, cg, d, d};
            int[] dwDims = linear ? new int[] {cout, sel.length}
                    : new Conv2dSpec(c, cout, d, 1, 0, 1, groups).sparseWeightGradShape(sel.length).dims();
            try (Tensor wt = upload(be, w, wDims);
                 Tensor dwt = upload(be, dw, dwDims);
                 ChannelIndex idx = selection(be, sel, c);
                 Tensor mt = m == null ? null : upload(be, m, dwDims)) {
                be.sgdUpdateSparse(wt, dwt, idx, groups, mt, step);
                double[][] ref = Reference64.sgdSparse(w, cout, cg, d2, groups, dw, sel, m, lr, mu, wd);
                float[] nw = be.toFloatArray(wt);
                for (int e = 0; e < w.length; e++) {
                    if (ref[0][e] == w[e] && nw[e] != w[e]) {
                        throw new AssertionError("weight " + e + " is outside the selection but changed");
                    }
                }
                // the weights each momentum/gradient element belongs to, for the rounding scale
                float[] wOfSel = new float[nSel];
                for (int o = 0; o < mg; o++) {
                    for (int j = 0; j < sel.length; j++) {
                        for (int t = 0; t < d2; t++) {
                            int g = sel[j] / cg, local = sel[j] % cg;
                            wOfSel[(o * sel.length + j) * d2 + t] = w[((g * mg + o) * cg + local) * d2 + t];
                        }
                    }
                }
                assertUpdate(nw, w, ref[0], mt == null ? null : be.toFloatArray(mt), ref[1], dw, m, wOfSel, mu, wd,
                        null);
            }
        });
    }

    /**
     * Checks an SGD step through the change it made, w_new − w (a plain comparison of w_new would
     * hide a wrong step under the size of w), with rounding scaled by |w| + |change|: w_new is
     * rounded to float32 once. Momentum is checked with the scale of its three summands.
     */
    private static void assertUpdate(float[] out, float[] before, double[] ref, float[] mOut, double[] mRef, float[] g,
                                     float[] m, float[] wOfGrad, float mu, float wd, Object unused) {
        double[] scale = new double[out.length];
        double[] refDelta = delta(ref, before);
        for (int e = 0; e < out.length; e++) {
            scale[e] = Math.abs(before[e]) + Math.abs(refDelta[e]);
        }
        assertClose("parameter change", delta(out, before), refDelta, scale);
        if (m != null) {
            double[] mScale = new double[m.length];
            for (int e = 0; e < m.length; e++) {
                mScale[e] = Math.abs(mu * m[e]) + Math.abs(g[e]) + Math.abs(wd * wOfGrad[e]);
            }
            assertClose("momentum", toDouble(mOut), mRef, mScale);
        }
    }

    private static double[] delta(float[] after, float[] before) {
        double[] d = new double[after.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = (double) after[i] - before[i];
        }
        return d;
    }

    private static double[] delta(double[] after, float[] before) {
        double[] d = new double[after.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = after[i] - before[i];
        }
        return d;
    }

    static float[] toFloats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }
}
