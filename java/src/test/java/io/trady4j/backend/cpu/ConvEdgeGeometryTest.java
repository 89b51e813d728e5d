package io.trady4j.backend.cpu;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Regression (found by NetworkPropertyTest): a stride-1 conv whose dilated kernel reaches past the
 * padded input for some taps (e.g. 1×1 input, 3×3 kernel, dilation 2, padding 2) made im2col copy zero
 * elements from a negative index, which System.arraycopy rejects. Every geometry with an output of at
 * least one pixel must run and match a direct convolution.
 */
class ConvEdgeGeometryTest {
    @Test
    void tinyInputsWithLargeDilatedKernelsMatchADirectConvolution() {
        Random r = new Random(1);
        try (Backend b = new CpuBackend(1)) {
            for (int size = 1; size <= 4; size++) {
                for (int dil = 1; dil <= 3; dil++) {
                    for (int k : new int[]{1, 3, 5}) {
                        for (int stride = 1; stride <= 2; stride++) {
                            for (int pad = 0; pad <= dil * (k - 1); pad++) {
                                Conv2dSpec s = new Conv2dSpec(2, 3, k, stride, pad, dil, 1);
                                if (size + 2 * pad < s.effectiveKernel()) {
                                    continue;
                                }
                                run(b, s, size, r);
                            }
                        }
                    }
                }
            }
        }
    }

    private static void run(Backend b, Conv2dSpec s, int size, Random r) {
        Shape xs = Shape.of(1, 2, size, size), ys = s.outputShape(xs);
        float[] xv = new float[xs.numel()], wv = new float[s.weightShape().numel()];
        for (int i = 0; i < xv.length; i++) {
            xv[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < wv.length; i++) {
            wv[i] = (float) r.nextGaussian();
        }
        try (Tensor x = b.upload(xv, xs, MemoryCategory.DATA); Tensor w = b.upload(wv, s.weightShape(), MemoryCategory.DATA);
             Tensor y = b.allocate(ys, MemoryCategory.DATA); Tensor y2 = b.allocate(ys, MemoryCategory.DATA);
             Tensor dx = b.allocate(xs, MemoryCategory.DATA); ChannelIndex sel = b.channelIndex(new int[]{1}, 2);
             Tensor xSel = b.allocate(Shape.of(1, 1, size, size), MemoryCategory.DATA);
             Tensor dw = b.allocate(s.sparseWeightGradShape(1), MemoryCategory.DATA)) {
            b.conv2d(x, w, null, s, Activation.NONE, y);
            b.conv2dGather(x, w, null, s, Activation.NONE, sel, y2, xSel);
            b.conv2dDx(y, w, s, dx);
            b.conv2dDwSparse(xSel, y, sel, s, dw);
            float[] got = b.toFloatArray(y);
            int ho = ys.dim(2), wo = ys.dim(3);
            for (int o = 0; o < 3; o++) {
                for (int oh = 0; oh < ho; oh++) {
                    for (int ow = 0; ow < wo; ow++) {
                        double acc = 0;
                        for (int c = 0; c < 2; c++) {
                            for (int kh = 0; kh < s.kernel(); kh++) {
                                for (int kw = 0; kw < s.kernel(); kw++) {
                                    int ih = oh * s.stride() + kh * s.dilation() - s.padding();
                                    int iw = ow * s.stride() + kw * s.dilation() - s.padding();
                                    if (ih >= 0 && ih < size && iw >= 0 && iw < size) {
                                        acc += (double) xv[(c * size + ih) * size + iw]
                                                * wv[((o * 2 + c) * s.kernel() + kh) * s.kernel() + kw];
                                    }
                                }
                            }
                        }
                        assertEquals(acc, got[(o * ho + oh) * wo + ow], 1e-4, s + " at input size " + size);
                    }
                }
            }
        }
    }
}
