package io.trady4j.data;

/**
 * Separable bilinear resampling with the same filter as Pillow's {@code Image.resize(...,
 * BILINEAR)} (a triangle filter, widened by the scale factor when shrinking so that downsampling
 * is antialiased; pixel centres at half-integers). Upsampling equals PyTorch's
 * {@code interpolate(mode="bilinear", align_corners=False)}. Coefficients are computed once per
 * (input, output) size pair; resampling allocates nothing per pixel.
 */
public final class Resize {
    /** Filter taps for one axis: output x reads {@code count[x]} inputs from {@code start[x]}, weights at {@code x·taps}. */
    static final class Coeffs {
        final int in;
        final int out;
        final int taps;
        final int[] start;
        final int[] count;
        final float[] weight;

        Coeffs(int in, int out) {
            if (in < 1 || out < 1) {
                throw new IllegalArgumentException("resize " + in + " -> " + out);
            }
            this.in = in;
            this.out = out;
            double scale = (double) in / out;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // the triangle filter has support 1
            int taps = (int) Math.ceil(support) * 2 + 1;
            this.taps = taps;
            start = new int[out];
            count = new int[out];
            weight = new float[out * taps];
            double ss = 1.0 / filterScale;
            double[] w = new double[taps];
            for (int x = 0; x < out; x++) {
                double center = (x + 0.5) * scale;
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), in) - xmin;
                xmax = Math.min(xmax, taps);
                double total = 0;
                for (int j = 0; j < xmax; j++) {
                    double t = Math.abs((j + xmin - center + 0.5) * ss);
                    w[j] = t < 1 ? 1 - t : 0;
                    total += w[j];
                }
                start[x] = xmin;
                count[x] = xmax;
                for (int j = 0; j < xmax; j++) {
                    weight[x * taps + j] = (float) (total > 0 ? w[j] / total : 0);
                }
            }
        }
    }

    private Resize() {
    }

    /** Resizes a CHW image to {@code outH × outW}, returning a new array (convenience; allocates). */
    public static float[] bilinear(float[] src, int channels, int inH, int inW, int outH, int outW) {
        float[] dst = new float[channels * outH * outW];
        resize(src, 0, channels, inH, inW, dst, 0, outH, outW, new Coeffs(inH, outH), new Coeffs(inW, outW),
                new float[channels * inH * outW]);
        return dst;
    }

    /** Resizes with precomputed coefficients; {@code tmp} holds at least {@code channels·inH·outW} floats. */
    static void resize(float[] src, int srcOff, int channels, int inH, int inW, float[] dst, int dstOff,
                       int outH, int outW, Coeffs ch, Coeffs cw, float[] tmp) {
        // horizontal pass: C×inH×inW -> C×inH×outW
        int tw = cw.taps;
        for (int r = 0; r < channels * inH; r++) {
            int srow = srcOff + r * inW;
            int trow = r * outW;
            for (int x = 0; x < outW; x++) {
                int s = srow + cw.start[x];
                int wb = x * tw;
                float acc = 0;
                for (int j = 0, n = cw.count[x]; j < n; j++) {
                    acc += cw.weight[wb + j] * src[s + j];
                }
                tmp[trow + x] = acc;
            }
        }
        // vertical pass: C×inH×outW -> C×outH×outW
        int th = ch.taps;
        for (int c = 0; c < channels; c++) {
            int tplane = c * inH * outW;
            int dplane = dstOff + c * outH * outW;
            for (int y = 0; y < outH; y++) {
                int drow = dplane + y * outW;
                int wb = y * th;
                int n = ch.count[y];
                int s0 = tplane + ch.start[y] * outW;
                float w0 = n > 0 ? ch.weight[wb] : 0;
                for (int x = 0; x < outW; x++) {
                    dst[drow + x] = w0 * tmp[s0 + x];
                }
                for (int j = 1; j < n; j++) {
                    float w = ch.weight[wb + j];
                    int s = s0 + j * outW;
                    for (int x = 0; x < outW; x++) {
                        dst[drow + x] += w * tmp[s + x];
                    }
                }
            }
        }
    }
}
