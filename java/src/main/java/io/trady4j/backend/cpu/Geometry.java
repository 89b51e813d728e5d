package io.trady4j.backend.cpu;

import io.trady4j.backend.Conv2dSpec;

/** A convolution's spec resolved against an input size, with the index helpers the kernels share. */
final class Geometry {
    final int batch, c, cout, groups, cg, mg, d, d2, stride, pad, dil, h, w, ho, wo, plane, outPlane;
    /** 1×1, stride 1, no padding: an output pixel reads exactly the same input pixel. */
    final boolean pointwise;

    Geometry(Conv2dSpec s, int batch, int h, int w) {
        this.batch = batch;
        this.c = s.inChannels();
        this.cout = s.outChannels();
        this.groups = s.groups();
        this.cg = s.inPerGroup();
        this.mg = s.outPerGroup();
        this.d = s.kernel();
        this.d2 = d * d;
        this.stride = s.stride();
        this.pad = s.padding();
        this.dil = s.dilation();
        this.h = h;
        this.w = w;
        this.ho = s.outSize(h);
        this.wo = s.outSize(w);
        this.plane = h * w;
        this.outPlane = ho * wo;
        this.pointwise = d == 1 && stride == 1 && pad == 0;
    }

    /** Smallest ow ≥ 0 with ow·s + shift ≥ 0. */
    static int firstValid(int shift, int s) {
        return shift >= 0 ? 0 : (-shift + s - 1) / s;
    }

    /** One past the largest ow < wo with ow·s + shift ≤ w − 1 (0 if none). */
    int endValid(int shift) {
        int lim = w - 1 - shift;
        return lim < 0 ? 0 : Math.min(wo, lim / stride + 1);
    }

    /**
     * One im2col row segment: dst[dstOff + jj] = x[planeOff + ih·W + iw] (0 outside the input) for
     * the output pixels p = p0 + jj, jj in [0, n), of a single sample, at kernel tap (kh, kw), where
     * ih = oh·s + kh·dil − pad and iw = ow·s + kw·dil − pad.
     */
    void gatherRow(float[] x, int planeOff, int kh, int kw, int p0, int n, float[] dst, int dstOff) {
        int shift = kw * dil - pad;
        int lo = firstValid(shift, stride), hi = endValid(shift);
        int p = p0, end = p0 + n, jj = dstOff;
        while (p < end) {
            int oh = p / wo, ow = p - oh * wo;
            int len = Math.min(end - p, wo - ow);
            int ih = oh * stride + kh * dil - pad;
            if (ih < 0 || ih >= h) {
                java.util.Arrays.fill(dst, jj, jj + len, 0f);
            } else {
                int a = Math.max(ow, Math.min(lo, ow + len)), b = Math.max(a, Math.min(hi, ow + len));
                java.util.Arrays.fill(dst, jj, jj + (a - ow), 0f);
                int src = planeOff + ih * w + shift;
                if (stride == 1) {
                    if (b > a) {
                        System.arraycopy(x, src + a, dst, jj + (a - ow), b - a);
                    }
                } else {
                    for (int o = a, t = jj + (a - ow); o < b; o++, t++) {
                        dst[t] = x[src + o * stride];
                    }
                }
                java.util.Arrays.fill(dst, jj + (b - ow), jj + len, 0f);
            }
            jj += len;
            p += len;
        }
    }

    /**
     * The adjoint of {@link #gatherRow}: x[planeOff + ih·W + iw] += src[srcOff + jj] for the valid
     * taps of pixels p0 .. p0 + n − 1 of one sample.
     */
    void scatterAddRow(float[] src, int srcOff, int kh, int kw, int p0, int n, float[] x, int planeOff) {
        int shift = kw * dil - pad;
        int lo = firstValid(shift, stride), hi = endValid(shift);
        int p = p0, end = p0 + n, jj = srcOff;
        while (p < end) {
            int oh = p / wo, ow = p - oh * wo;
            int len = Math.min(end - p, wo - ow);
            int ih = oh * stride + kh * dil - pad;
            if (ih >= 0 && ih < h) {
                int a = Math.max(ow, Math.min(lo, ow + len)), b = Math.max(a, Math.min(hi, ow + len));
                int dst = planeOff + ih * w + shift;
                for (int o = a, t = jj + (a - ow); o < b; o++, t++) {
                    x[dst + o * stride] += src[t];
                }
            }
            jj += len;
            p += len;
        }
    }
}
