package io.trady4j.backend.cpu;

import io.trady4j.backend.ChannelIndex;

import java.util.Arrays;

/**
 * Depthwise convolutions for layers with many channels and small planes, vectorized over channels:
 * each pixel of a sample is transposed into its own row of C values, so a kernel tap is a
 * same-index FMA over the channel vector (see {@link Gemm} for why that matters). Zero padding
 * costs nothing: padded pixels point to one shared zero row, and the input gradient only visits
 * the (output, tap) pairs that read each input pixel. The transposes in and out are scalar; they pay off when C is large
 * and H·W small, where the polyphase kernels of {@link Depthwise} copy too many short rows.
 */
final class DepthwiseChannels {
    /** Shortest loop C2 runs vectorized (measured on JDK 25: scalar below 48 floats). */
    static final int PAD_TO = 48;

    private DepthwiseChannels() {
    }

    /** wT[m·D² + t][c] = w[(c·mg + m)·D² + t]. */
    private static float[][] transposedWeights(Geometry g, float[] w) {
        float[][] wt = new float[g.mg * g.d2][g.c];
        for (int c = 0; c < g.c; c++) {
            for (int m = 0; m < g.mg; m++) {
                for (int t = 0; t < g.d2; t++) {
                    wt[m * g.d2 + t][c] = w[(c * g.mg + m) * g.d2 + t];
                }
            }
        }
        return wt;
    }

    /**
     * rows[p][j] = src[(b·channels + ch(j))·plane + p] for j < n, where ch(j) = (chan == null ? j : chan[j])·mult + add.
     * Eight pixel rows at a time, so the row references stay in registers.
     */
    private static void transposeIn(float[] src, int b, int channels, int plane, int n, int[] chan, int mult, int add,
                                    float[][] rows) {
        int p = 0;
        for (; p + 8 <= plane; p += 8) {
            float[] r0 = rows[p], r1 = rows[p + 1], r2 = rows[p + 2], r3 = rows[p + 3];
            float[] r4 = rows[p + 4], r5 = rows[p + 5], r6 = rows[p + 6], r7 = rows[p + 7];
            for (int j = 0; j < n; j++) {
                int off = (b * channels + (chan == null ? j : chan[j]) * mult + add) * plane + p;
                r0[j] = src[off];
                r1[j] = src[off + 1];
                r2[j] = src[off + 2];
                r3[j] = src[off + 3];
                r4[j] = src[off + 4];
                r5[j] = src[off + 5];
                r6[j] = src[off + 6];
                r7[j] = src[off + 7];
            }
        }
        for (; p < plane; p++) {
            float[] r0 = rows[p];
            for (int j = 0; j < n; j++) {
                r0[j] = src[(b * channels + (chan == null ? j : chan[j]) * mult + add) * plane + p];
            }
        }
    }

    /** dst[(b·channels + c·mult + add)·plane + p] = rows[p][c] for c < n; eight pixel rows at a time. */
    private static void transposeOut(float[][] rows, int n, float[] dst, int b, int channels, int plane, int mult,
                                     int add) {
        int p = 0;
        for (; p + 8 <= plane; p += 8) {
            float[] r0 = rows[p], r1 = rows[p + 1], r2 = rows[p + 2], r3 = rows[p + 3];
            float[] r4 = rows[p + 4], r5 = rows[p + 5], r6 = rows[p + 6], r7 = rows[p + 7];
            for (int c = 0; c < n; c++) {
                int off = (b * channels + c * mult + add) * plane + p;
                dst[off] = r0[c];
                dst[off + 1] = r1[c];
                dst[off + 2] = r2[c];
                dst[off + 3] = r3[c];
                dst[off + 4] = r4[c];
                dst[off + 5] = r5[c];
                dst[off + 6] = r6[c];
                dst[off + 7] = r7[c];
            }
        }
        for (; p < plane; p++) {
            float[] r0 = rows[p];
            for (int c = 0; c < n; c++) {
                dst[(b * channels + c * mult + add) * plane + p] = r0[c];
            }
        }
    }

    /** ptr[(ih + pad)·Wp + iw + pad] = rows[ih·W + iw] inside the input, `outside` in the padding. */
    private static float[][] padded(Geometry g, float[][] rows, float[] outside, Workspace ws) {
        int hp = g.h + 2 * g.pad, wp = g.w + 2 * g.pad;
        float[][] ptr = ws.pointers(hp * wp);
        for (int r = 0; r < hp; r++) {
            for (int cc = 0; cc < wp; cc++) {
                int ih = r - g.pad, iw = cc - g.pad;
                ptr[r * wp + cc] = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? rows[ih * g.w + iw] : outside;
            }
        }
        return ptr;
    }

    /** Index in the padded pointer table read by output pixel (oh, ow) at tap (kh, kw). */
    private static int tapIndex(Geometry g, int oh, int ow, int kh, int kw) {
        return (oh * g.stride + kh * g.dil) * (g.w + 2 * g.pad) + ow * g.stride + kw * g.dil;
    }

    static void forward(Parallel par, Geometry g, float[] x, float[] w, float[] bias, int act, float[] y) {
        float[][] wt = transposedWeights(g, w);
        float[][] bt = new float[g.mg][g.c];
        if (bias != null) {
            for (int c = 0; c < g.c; c++) {
                for (int m = 0; m < g.mg; m++) {
                    bt[m][c] = bias[c * g.mg + m];
                }
            }
        }
        int n = g.c;
        par.forRange(g.batch, b -> {
            Workspace ws = Workspace.get();
            float[][] xr = ws.rows(Workspace.PIX_IN, g.plane, n);
            transposeIn(x, b, g.c, g.plane, n, null, 1, 0, xr);
            float[][] ptr = padded(g, xr, ws.zeros(n), ws);
            float[][] yr = ws.rows(Workspace.PIX_OUT, g.outPlane, n);
            for (int m = 0; m < g.mg; m++) {
                float[] bm = bt[m];
                for (int oh = 0; oh < g.ho; oh++) {
                    for (int ow = 0; ow < g.wo; ow++) {
                        float[] acc = yr[oh * g.wo + ow];
                        int t = 0;
                        if (g.d2 >= 4) { // first four taps start from the bias instead of a copy of it
                            int i0 = tapIndex(g, oh, ow, 0, 0), i1 = tapIndex(g, oh, ow, 1 / g.d, 1 % g.d);
                            int i2 = tapIndex(g, oh, ow, 2 / g.d, 2 % g.d), i3 = tapIndex(g, oh, ow, 3 / g.d, 3 % g.d);
                            fma4init(n, bm, wt[m * g.d2], ptr[i0], wt[m * g.d2 + 1], ptr[i1], wt[m * g.d2 + 2], ptr[i2],
                                    wt[m * g.d2 + 3], ptr[i3], acc);
                            t = 4;
                        } else {
                            System.arraycopy(bm, 0, acc, 0, n);
                        }
                        if (g.d2 == 9) { // 3x3: taps 4..8 and the activation in one pass
                            int wb = m * g.d2 + 4;
                            fma5act(n, wt[wb], ptr[tapIndex(g, oh, ow, 1, 1)], wt[wb + 1], ptr[tapIndex(g, oh, ow, 1, 2)],
                                    wt[wb + 2], ptr[tapIndex(g, oh, ow, 2, 0)], wt[wb + 3], ptr[tapIndex(g, oh, ow, 2, 1)],
                                    wt[wb + 4], ptr[tapIndex(g, oh, ow, 2, 2)], acc, act);
                            continue;
                        }
                        for (; t + 4 <= g.d2; t += 4) {
                            int i0 = tapIndex(g, oh, ow, t / g.d, t % g.d), i1 = tapIndex(g, oh, ow, (t + 1) / g.d, (t + 1) % g.d);
                            int i2 = tapIndex(g, oh, ow, (t + 2) / g.d, (t + 2) % g.d), i3 = tapIndex(g, oh, ow, (t + 3) / g.d, (t + 3) % g.d);
                            fma4(n, wt[m * g.d2 + t], ptr[i0], wt[m * g.d2 + t + 1], ptr[i1], wt[m * g.d2 + t + 2], ptr[i2],
                                    wt[m * g.d2 + t + 3], ptr[i3], acc);
                        }
                        for (; t < g.d2; t++) {
                            float[] wv = wt[m * g.d2 + t], xv = ptr[tapIndex(g, oh, ow, t / g.d, t % g.d)];
                            for (int c = 0; c < n; c++) {
                                acc[c] = Math.fma(wv[c], xv[c], acc[c]);
                            }
                        }
                        Gemm.biasAct(acc, n, 0f, act);
                    }
                }
                transposeOut(yr, n, y, b, g.cout, g.outPlane, g.mg, m);
            }
        });
    }

    private static void fma4init(int n, float[] init, float[] w0, float[] x0, float[] w1, float[] x1, float[] w2,
                                 float[] x2, float[] w3, float[] x3, float[] acc) {
        for (int c = 0; c < n; c++) {
            acc[c] = Math.fma(w3[c], x3[c], Math.fma(w2[c], x2[c], Math.fma(w1[c], x1[c], Math.fma(w0[c], x0[c], init[c]))));
        }
    }

    private static void fma5act(int n, float[] w0, float[] x0, float[] w1, float[] x1, float[] w2, float[] x2,
                                float[] w3, float[] x3, float[] w4, float[] x4, float[] acc, int act) {
        switch (act) {
            case 0 -> {
                for (int c = 0; c < n; c++) {
                    acc[c] = Math.fma(w4[c], x4[c], Math.fma(w3[c], x3[c], Math.fma(w2[c], x2[c],
                            Math.fma(w1[c], x1[c], Math.fma(w0[c], x0[c], acc[c])))));
                }
            }
            case 1 -> {
                for (int c = 0; c < n; c++) {
                    acc[c] = Math.max(Math.fma(w4[c], x4[c], Math.fma(w3[c], x3[c], Math.fma(w2[c], x2[c],
                            Math.fma(w1[c], x1[c], Math.fma(w0[c], x0[c], acc[c]))))), 0f);
                }
            }
            default -> {
                for (int c = 0; c < n; c++) {
                    acc[c] = Math.min(Math.max(Math.fma(w4[c], x4[c], Math.fma(w3[c], x3[c], Math.fma(w2[c], x2[c],
                            Math.fma(w1[c], x1[c], Math.fma(w0[c], x0[c], acc[c]))))), 0f), 6f);
                }
            }
        }
    }

    private static void fma4(int n, float[] w0, float[] x0, float[] w1, float[] x1, float[] w2, float[] x2, float[] w3,
                             float[] x3, float[] acc) {
        for (int c = 0; c < n; c++) {
            acc[c] = Math.fma(w3[c], x3[c], Math.fma(w2[c], x2[c], Math.fma(w1[c], x1[c], Math.fma(w0[c], x0[c], acc[c]))));
        }
    }

    /**
     * Input gradient as a gather: dx[p] = Σ over the (output, tap) pairs that read input pixel p of
     * w_tap · dy[output], so each dx row is written once from FMA chains (a scatter into the taps' input
     * rows costs a load and a store of the row per tap).
     */
    static void backwardData(Parallel par, Geometry g, float[] dy, float[] w, float[] dx) {
        float[][] wt = transposedWeights(g, w);
        Readers readers = Readers.of(g);
        int n = g.c;
        par.forRange(g.batch, b -> {
            Workspace ws = Workspace.get();
            float[][] dyr = ws.rows(Workspace.PIX_OUT, g.mg * g.outPlane, n);
            for (int m = 0; m < g.mg; m++) {
                transposeIn(dy, b, g.cout, g.outPlane, n, null, g.mg, m,
                        g.mg == 1 ? dyr : Arrays.copyOfRange(dyr, m * g.outPlane, (m + 1) * g.outPlane));
            }
            float[][] dxr = ws.rows(Workspace.PIX_IN, g.plane, n);
            float[] zero = ws.zeros(n);
            for (int p = 0; p < g.plane; p++) {
                float[] acc = dxr[p], init = zero;
                int e = readers.start[p], end = readers.start[p + 1];
                if (e == end) {
                    Arrays.fill(acc, 0, n, 0f);
                }
                while (e < end) {
                    int k = end - e == 5 ? 5 : Math.min(4, end - e);
                    int[] wi = readers.weightRow, yi = readers.outputRow;
                    switch (k) {
                        case 5 -> fma5(n, init, wt[wi[e]], dyr[yi[e]], wt[wi[e + 1]], dyr[yi[e + 1]], wt[wi[e + 2]],
                                dyr[yi[e + 2]], wt[wi[e + 3]], dyr[yi[e + 3]], wt[wi[e + 4]], dyr[yi[e + 4]], acc);
                        case 4 -> fma4init(n, init, wt[wi[e]], dyr[yi[e]], wt[wi[e + 1]], dyr[yi[e + 1]], wt[wi[e + 2]],
                                dyr[yi[e + 2]], wt[wi[e + 3]], dyr[yi[e + 3]], acc);
                        case 3 -> fma3(n, init, wt[wi[e]], dyr[yi[e]], wt[wi[e + 1]], dyr[yi[e + 1]], wt[wi[e + 2]],
                                dyr[yi[e + 2]], acc);
                        case 2 -> fma2(n, init, wt[wi[e]], dyr[yi[e]], wt[wi[e + 1]], dyr[yi[e + 1]], acc);
                        default -> fma1(n, init, wt[wi[e]], dyr[yi[e]], acc);
                    }
                    init = acc;
                    e += k;
                }
            }
            transposeOut(dxr, n, dx, b, g.c, g.plane, 1, 0);
        });
    }

    /**
     * For every input pixel p, the (weight row, output row) pairs that read it, entries start[p] ..
     * start[p + 1] − 1: weight row m·D² + tap of the transposed weights, output row m·H'W' + output pixel.
     */
    private record Readers(int[] start, int[] weightRow, int[] outputRow) {
        static Readers of(Geometry g) {
            int[] start = new int[g.plane + 1];
            int[] wRow = new int[g.plane * g.d2 * g.mg], yRow = new int[wRow.length];
            int e = 0;
            for (int ih = 0; ih < g.h; ih++) {
                for (int iw = 0; iw < g.w; iw++) {
                    start[ih * g.w + iw] = e;
                    for (int m = 0; m < g.mg; m++) {
                        for (int kh = 0; kh < g.d; kh++) {
                            int oh = outputIndex(ih + g.pad - kh * g.dil, g.stride, g.ho);
                            for (int kw = 0; kw < g.d && oh >= 0; kw++) {
                                int ow = outputIndex(iw + g.pad - kw * g.dil, g.stride, g.wo);
                                if (ow >= 0) {
                                    wRow[e] = m * g.d2 + kh * g.d + kw;
                                    yRow[e++] = m * g.outPlane + oh * g.wo + ow;
                                }
                            }
                        }
                    }
                }
            }
            start[g.plane] = e;
            return new Readers(start, wRow, yRow);
        }

        /** o with o·stride = at and 0 ≤ o < size, else −1. */
        private static int outputIndex(int at, int stride, int size) {
            return at < 0 || at % stride != 0 || at / stride >= size ? -1 : at / stride;
        }
    }

    private static void fma1(int n, float[] init, float[] w0, float[] x0, float[] acc) {
        for (int c = 0; c < n; c++) {
            acc[c] = Math.fma(w0[c], x0[c], init[c]);
        }
    }

    private static void fma2(int n, float[] init, float[] w0, float[] x0, float[] w1, float[] x1, float[] acc) {
        for (int c = 0; c < n; c++) {
            acc[c] = Math.fma(w1[c], x1[c], Math.fma(w0[c], x0[c], init[c]));
        }
    }

    private static void fma3(int n, float[] init, float[] w0, float[] x0, float[] w1, float[] x1, float[] w2,
                             float[] x2, float[] acc) {
        for (int c = 0; c < n; c++) {
            acc[c] = Math.fma(w2[c], x2[c], Math.fma(w1[c], x1[c], Math.fma(w0[c], x0[c], init[c])));
        }
    }

    private static void fma5(int n, float[] init, float[] w0, float[] x0, float[] w1, float[] x1, float[] w2,
                             float[] x2, float[] w3, float[] x3, float[] w4, float[] x4, float[] acc) {
        for (int c = 0; c < n; c++) {
            acc[c] = Math.fma(w4[c], x4[c], Math.fma(w3[c], x3[c], Math.fma(w2[c], x2[c],
                    Math.fma(w1[c], x1[c], Math.fma(w0[c], x0[c], init[c])))));
        }
    }

    /** Sparse weight gradient over the selected channels, vectorized over them; samples split across threads. */
    static void weightGrad(Parallel par, Geometry g, float[] xSel, ChannelIndex sel, float[] dy, float[] dw) {
        int ns = sel.size();
        int[] chan = sel.toArray();
        int tasks = Math.min(g.batch, par.threads());
        // vector length padded to 48, where C2's vectorized main loop starts; lanes >= ns hold junk and are ignored
        int nv = Math.max(ns, PAD_TO);
        float[][][] acc = new float[tasks][g.mg * g.d2][nv];
        par.forRange(tasks, task -> {
            Workspace ws = Workspace.get();
            float[][] a = acc[task];
            float[][] xr = ws.rows(Workspace.PIX_IN, g.plane, nv);
            float[][] dyr = ws.rows(Workspace.PIX_OUT, g.outPlane, nv);
            int b0 = g.batch * task / tasks, b1 = g.batch * (task + 1) / tasks;
            for (int b = b0; b < b1; b++) {
                transposeIn(xSel, b, ns, g.plane, ns, null, 1, 0, xr);
                float[][] ptr = padded(g, xr, ws.zeros(nv), ws);
                for (int m = 0; m < g.mg; m++) {
                    transposeIn(dy, b, g.cout, g.outPlane, ns, chan, g.mg, m, dyr);
                    for (int oh = 0; oh < g.ho; oh++) {
                        for (int ow = 0; ow < g.wo; ow++) {
                            float[] gy = dyr[oh * g.wo + ow];
                            for (int t = 0; t < g.d2; t++) {
                                float[] av = a[m * g.d2 + t], xv = ptr[tapIndex(g, oh, ow, t / g.d, t % g.d)];
                                for (int j = 0; j < nv; j++) {
                                    av[j] = Math.fma(gy[j], xv[j], av[j]);
                                }
                            }
                        }
                    }
                }
            }
        });
        for (int m = 0; m < g.mg; m++) {
            for (int j = 0; j < ns; j++) {
                for (int t = 0; t < g.d2; t++) {
                    float s = 0f;
                    for (int task = 0; task < tasks; task++) {
                        s += acc[task][m * g.d2 + t][j];
                    }
                    dw[(m * ns + j) * g.d2 + t] = s;
                }
            }
        }
    }
}
