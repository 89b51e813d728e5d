package io.trady4j.example;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.Backends;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * A trainer's layer step on its own arrays: the masked forward (y and the gathered input x[:, S] in
 * one pass) and the sparse weight gradient dW[:, S], computed by trady4j into the trainer's arrays
 * without a copy, then checked against naive loops. Exit status 0 when everything matches.
 */
public final class Consumer {
    private static final double TOLERANCE = 1e-5;

    private Consumer() {
    }

    public static void main(String[] args) {
        // The trainer's own memory: plain Java arrays, as its data loader and optimizer hold them.
        int batch = 4, channels = 16, size = 9, outChannels = 8;
        Conv2dSpec spec = new Conv2dSpec(channels, outChannels, 3, 2, 1, 1, 1);
        Shape xShape = Shape.of(batch, channels, size, size);
        Shape yShape = spec.outputShape(xShape);
        int[] selected = {1, 4, 6, 13};   // the input channels this step trains
        Shape xSelShape = Shape.of(batch, selected.length, size, size);
        Shape dwShape = spec.sparseWeightGradShape(selected.length);
        SplittableRandom random = new SplittableRandom(14);
        float[] x = random(xShape.numel(), random);
        float[] w = random(spec.weightShape().numel(), random);
        float[] dy = random(yShape.numel(), random);
        float[] y = new float[yShape.numel()];
        float[] xSel = new float[xSelShape.numel()];
        float[] dwSel = new float[dwShape.numel()];

        // Wrapping needs host memory on the CPU backend (CUDA wraps device pointers instead).
        try (Backend backend = Backends.open("cpu");
             Tensor xt = backend.wrap(MemorySegment.ofArray(x), xShape, DType.F32);
             Tensor wt = backend.wrap(MemorySegment.ofArray(w), spec.weightShape(), DType.F32);
             Tensor yt = backend.wrap(MemorySegment.ofArray(y), yShape, DType.F32);
             Tensor xSelT = backend.wrap(MemorySegment.ofArray(xSel), xSelShape, DType.F32);
             Tensor dyt = backend.wrap(MemorySegment.ofArray(dy), yShape, DType.F32);
             Tensor dwt = backend.wrap(MemorySegment.ofArray(dwSel), dwShape, DType.F32);
             ChannelIndex s = backend.channelIndex(selected, channels)) {
            boolean ok = true;
            for (int step = 0; step < 2; step++) {
                backend.conv2dGather(xt, wt, null, spec, Activation.RELU, s, yt, xSelT);
                backend.conv2dDwSparse(xSelT, dyt, s, spec, dwt);
                ok &= check("step " + step + " forward y", y, naiveForward(x, w, spec, batch, size));
                ok &= check("step " + step + " gathered x[:, S]", xSel, naiveGather(x, selected, batch, channels, size));
                ok &= check("step " + step + " sparse dW[:, S]", dwSel, naiveSparseDw(x, dy, selected, spec, batch, size));
                // The next batch arrives in the same arrays: trady4j reads them in place.
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) (random.nextDouble() * 2 - 1);
                }
            }
            System.out.println("backend: " + backend.deviceDescription() + "; bytes trady4j holds itself: "
                    + backend.memory().liveBytes() + " (the channel index only: the tensors are the caller's arrays)");
            System.out.println(ok ? "consumer example: OK" : "consumer example: MISMATCH");
            if (!ok) {
                System.exit(1);
            }
        }
    }

    private static float[] random(int n, SplittableRandom random) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** relu(conv2d(x, w)), groups 1, in double precision. */
    private static double[] naiveForward(float[] x, float[] w, Conv2dSpec spec, int batch, int size) {
        int c = spec.inChannels(), co = spec.outChannels(), k = spec.kernel(), out = spec.outSize(size);
        double[] y = new double[batch * co * out * out];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < co; o++) {
                for (int oh = 0; oh < out; oh++) {
                    for (int ow = 0; ow < out; ow++) {
                        double sum = 0;
                        for (int ci = 0; ci < c; ci++) {
                            for (int kh = 0; kh < k; kh++) {
                                for (int kw = 0; kw < k; kw++) {
                                    int ih = oh * spec.stride() - spec.padding() + kh;
                                    int iw = ow * spec.stride() - spec.padding() + kw;
                                    if (ih >= 0 && ih < size && iw >= 0 && iw < size) {
                                        sum += (double) x[((b * c + ci) * size + ih) * size + iw]
                                                * w[((o * c + ci) * k + kh) * k + kw];
                                    }
                                }
                            }
                        }
                        y[((b * co + o) * out + oh) * out + ow] = Math.max(0, sum);
                    }
                }
            }
        }
        return y;
    }

    private static double[] naiveGather(float[] x, int[] selected, int batch, int channels, int size) {
        int plane = size * size;
        double[] g = new double[batch * selected.length * plane];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < selected.length; j++) {
                for (int p = 0; p < plane; p++) {
                    g[(b * selected.length + j) * plane + p] = x[(b * channels + selected[j]) * plane + p];
                }
            }
        }
        return g;
    }

    /** dW[o, S_j, kh, kw] = Σ over batch and output pixels of dy · x (groups 1). */
    private static double[] naiveSparseDw(float[] x, float[] dy, int[] selected, Conv2dSpec spec, int batch, int size) {
        int c = spec.inChannels(), co = spec.outChannels(), k = spec.kernel(), out = spec.outSize(size);
        double[] dw = new double[co * selected.length * k * k];
        for (int o = 0; o < co; o++) {
            for (int j = 0; j < selected.length; j++) {
                for (int kh = 0; kh < k; kh++) {
                    for (int kw = 0; kw < k; kw++) {
                        double sum = 0;
                        for (int b = 0; b < batch; b++) {
                            for (int oh = 0; oh < out; oh++) {
                                for (int ow = 0; ow < out; ow++) {
                                    int ih = oh * spec.stride() - spec.padding() + kh;
                                    int iw = ow * spec.stride() - spec.padding() + kw;
                                    if (ih >= 0 && ih < size && iw >= 0 && iw < size) {
                                        sum += (double) dy[((b * co + o) * out + oh) * out + ow]
                                                * x[((b * c + selected[j]) * size + ih) * size + iw];
                                    }
                                }
                            }
                        }
                        dw[((o * selected.length + j) * k + kh) * k + kw] = sum;
                    }
                }
            }
        }
        return dw;
    }

    /** ‖got − want‖ / ‖want‖ within {@value #TOLERANCE}; prints the figure. */
    private static boolean check(String what, float[] got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            num += (got[i] - want[i]) * (got[i] - want[i]);
            den += want[i] * want[i];
        }
        double rel = Math.sqrt(num / Math.max(den, 1e-300));
        boolean ok = rel <= TOLERANCE;
        System.out.printf("%-28s relative error %.2e %s%n", what, rel, ok ? "ok" : "TOO LARGE");
        return ok;
    }
}
