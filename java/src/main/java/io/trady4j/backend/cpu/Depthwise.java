package io.trady4j.backend.cpu;

import io.trady4j.backend.ChannelIndex;

import java.util.Arrays;

/**
 * Convolutions with one input channel per group (depthwise, optionally with a channel multiplier),
 * in a layout where every kernel tap is one contiguous slice, so that the work is System.arraycopy
 * plus same-index FMA loops that C2 vectorizes (see {@link Gemm}).
 *
 * <p>Layout: the zero-padded input plane (H + 2p) × (W + 2p) of each sample is split into s × s
 * polyphase planes, phase (a, e) holding padded pixels (i·s + a, j·s + e), each Hs × Ws with
 * Hs = ⌈(H + 2p)/s⌉, Ws = ⌈(W + 2p)/s⌉, and the planes of several samples are stacked (sample-major).
 * Output pixel (oh, ow) of a sample sits at q = oh·Ws + ow of the same index space, and tap (kh, kw)
 * reads phase ((kh·dil) mod s, (kw·dil) mod s) at q + shift with
 * shift = ((kh·dil) div s)·Ws + (kw·dil) div s. Positions with oh ≥ H' or ow ≥ W' are computed and
 * dropped; valid outputs only ever read their own sample.
 */
final class Depthwise {
    /** Chunk of the flat index space processed with L1-resident buffers. */
    private static final int QC = 1024;
    /** Aim for at least this many positions per stacked group of samples. */
    private static final int STACK = 4096;

    private Depthwise() {
    }

    /** Polyphase geometry of one layer. */
    static final class Poly {
        final Geometry g;
        final int s, hs, ws, sampleLen, phases, maxShift;
        final int[] tapPhase, tapShift;

        Poly(Geometry g) {
            this.g = g;
            s = g.stride;
            hs = (g.h + 2 * g.pad + s - 1) / s;
            ws = (g.w + 2 * g.pad + s - 1) / s;
            sampleLen = hs * ws;
            phases = s * s;
            tapPhase = new int[g.d2];
            tapShift = new int[g.d2];
            int max = 0;
            for (int kh = 0; kh < g.d; kh++) {
                for (int kw = 0; kw < g.d; kw++) {
                    int r = kh * g.dil, c = kw * g.dil, t = kh * g.d + kw;
                    tapPhase[t] = (r % s) * s + c % s;
                    tapShift[t] = (r / s) * ws + c / s;
                    max = Math.max(max, tapShift[t]);
                }
            }
            maxShift = max;
        }

        /** Samples stacked per task. */
        int stack() {
            return Math.max(1, Math.min(g.batch, (STACK + sampleLen - 1) / sampleLen));
        }

        /**
         * Fills phase planes ph[0..s²) for samples [b0, b1) from the plane of channel `ch` of a
         * tensor with `channels` channels; length (b1 − b0)·Hs·Ws + maxShift, zero outside the input.
         */
        void buildPhases(float[] x, int channels, int ch, int b0, int b1, float[][] ph) {
            int len = (b1 - b0) * sampleLen + maxShift;
            int p = g.pad;
            for (int f = 0; f < phases; f++) {
                float[] dst = ph[f];
                Arrays.fill(dst, 0, len, 0f);
                int a = f / s, e = f % s;
                // padded column j·s + e ↔ input column j·s + e − p, valid for j in [jlo, jhi)
                int jlo = Math.max(0, (p - e + s - 1) / s), jhi = Math.min(ws, Math.max(jlo, (g.w + p - e + s - 1) / s));
                if (jhi <= jlo) {
                    continue;
                }
                for (int b = b0; b < b1; b++) {
                    int src = (b * channels + ch) * g.plane;
                    int base = (b - b0) * sampleLen;
                    for (int i = 0; i < hs; i++) {
                        int row = i * s + a - p;
                        if (row < 0 || row >= g.h) {
                            continue;
                        }
                        int srcRow = src + row * g.w + (jlo * s + e - p);
                        int dstRow = base + i * ws + jlo;
                        if (s == 1) {
                            System.arraycopy(x, srcRow, dst, dstRow, jhi - jlo);
                        } else {
                            for (int j = 0, n = jhi - jlo; j < n; j++) {
                                dst[dstRow + j] = x[srcRow + j * s];
                            }
                        }
                    }
                }
            }
        }

        /** dst[off + (b − b0)·Hs·Ws + oh·Ws + ow] = plane (b, ch) of an output-shaped tensor; 0 elsewhere. */
        void buildOutputLayout(float[] y, int channels, int ch, int b0, int b1, float[] dst, int off) {
            int len = (b1 - b0) * sampleLen;
            Arrays.fill(dst, off, off + len, 0f);
            for (int b = b0; b < b1; b++) {
                int src = (b * channels + ch) * g.outPlane, base = off + (b - b0) * sampleLen;
                for (int oh = 0; oh < g.ho; oh++) {
                    System.arraycopy(y, src + oh * g.wo, dst, base + oh * ws, g.wo);
                }
            }
        }
    }

    /** Forward: y[b, ci·mg + m] = act(Σ_t w[ci·mg + m, 0, t] · x[b, ci] at tap t + bias). */
    static void forward(Parallel par, Geometry g, float[] x, float[] w, float[] bias, int act, float[] y) {
        Poly poly = new Poly(g);
        int stack = poly.stack(), chunks = (g.batch + stack - 1) / stack;
        par.forRange(g.c * chunks, t -> {
            int ci = t / chunks, b0 = (t % chunks) * stack, b1 = Math.min(g.batch, b0 + stack);
            Workspace ws = Workspace.get();
            int len = (b1 - b0) * poly.sampleLen;
            float[][] ph = ws.phases(poly.phases, len + poly.maxShift);
            poly.buildPhases(x, g.c, ci, b0, b1, ph);
            float[][] cols = ws.rows(Workspace.COLS, 5, QC);
            float[] acc = ws.buf(Workspace.BUF_B, QC);
            for (int m = 0; m < g.mg; m++) {
                int oc = ci * g.mg + m;
                int wOff = oc * g.d2;
                float bv = bias == null ? 0f : bias[oc];
                for (int q0 = 0; q0 < len; q0 += QC) {
                    int n = Math.min(QC, len - q0);
                    if (g.d2 == 9) {
                        nineTaps(poly, ph, w, wOff, q0, n, cols, bv, act, acc);
                    } else {
                        Arrays.fill(acc, 0, n, 0f);
                        accumulateTaps(poly, ph, w, wOff, q0, n, cols, acc);
                        Gemm.biasAct(acc, n, bv, act);
                    }
                    copyValid(poly, acc, q0, n, b0, y, g.cout, oc);
                }
            }
        });
    }

    /**
     * 3×3: acc[0..n) = act(bias + Σ_t w[wOff + t] · phase(t)[q0 + shift(t) + j]) in two passes over acc
     * (taps 0–3 starting from the bias, taps 4–8 with the activation), not a pass per tap, bias and activation.
     */
    private static void nineTaps(Poly poly, float[][] ph, float[] w, int wOff, int q0, int n, float[][] cols,
                                 float bias, int act, float[] acc) {
        float[] c0 = cols[0], c1 = cols[1], c2 = cols[2], c3 = cols[3], c4 = cols[4];
        copyTap(poly, ph, 0, q0, n, c0);
        copyTap(poly, ph, 1, q0, n, c1);
        copyTap(poly, ph, 2, q0, n, c2);
        copyTap(poly, ph, 3, q0, n, c3);
        float w0 = w[wOff], w1 = w[wOff + 1], w2 = w[wOff + 2], w3 = w[wOff + 3];
        for (int j = 0; j < n; j++) {
            acc[j] = Math.fma(w3, c3[j], Math.fma(w2, c2[j], Math.fma(w1, c1[j], Math.fma(w0, c0[j], bias))));
        }
        copyTap(poly, ph, 4, q0, n, c0);
        copyTap(poly, ph, 5, q0, n, c1);
        copyTap(poly, ph, 6, q0, n, c2);
        copyTap(poly, ph, 7, q0, n, c3);
        copyTap(poly, ph, 8, q0, n, c4);
        float w4 = w[wOff + 4], w5 = w[wOff + 5], w6 = w[wOff + 6], w7 = w[wOff + 7], w8 = w[wOff + 8];
        switch (act) { // outside the loop, so that the JIT compiles three tight loops
            case 0 -> {
                for (int j = 0; j < n; j++) {
                    acc[j] = Math.fma(w8, c4[j], Math.fma(w7, c3[j], Math.fma(w6, c2[j], Math.fma(w5, c1[j],
                            Math.fma(w4, c0[j], acc[j])))));
                }
            }
            case 1 -> {
                for (int j = 0; j < n; j++) {
                    acc[j] = Math.max(Math.fma(w8, c4[j], Math.fma(w7, c3[j], Math.fma(w6, c2[j], Math.fma(w5, c1[j],
                            Math.fma(w4, c0[j], acc[j]))))), 0f);
                }
            }
            default -> {
                for (int j = 0; j < n; j++) {
                    acc[j] = Math.min(Math.max(Math.fma(w8, c4[j], Math.fma(w7, c3[j], Math.fma(w6, c2[j],
                            Math.fma(w5, c1[j], Math.fma(w4, c0[j], acc[j]))))), 0f), 6f);
                }
            }
        }
    }

    /** col[0..n) = the phase plane of tap t from position q0 + shift(t). */
    private static void copyTap(Poly poly, float[][] ph, int t, int q0, int n, float[] col) {
        System.arraycopy(ph[poly.tapPhase[t]], q0 + poly.tapShift[t], col, 0, n);
    }

    /** acc[0..n) += Σ_t w[wOff + t] · phase(t)[q0 + shift(t) + j], four taps per pass. */
    private static void accumulateTaps(Poly poly, float[][] ph, float[] w, int wOff, int q0, int n, float[][] cols,
                                       float[] acc) {
        int d2 = poly.g.d2, t = 0;
        for (; t + 4 <= d2; t += 4) {
            float[] c0 = cols[0], c1 = cols[1], c2 = cols[2], c3 = cols[3];
            System.arraycopy(ph[poly.tapPhase[t]], q0 + poly.tapShift[t], c0, 0, n);
            System.arraycopy(ph[poly.tapPhase[t + 1]], q0 + poly.tapShift[t + 1], c1, 0, n);
            System.arraycopy(ph[poly.tapPhase[t + 2]], q0 + poly.tapShift[t + 2], c2, 0, n);
            System.arraycopy(ph[poly.tapPhase[t + 3]], q0 + poly.tapShift[t + 3], c3, 0, n);
            float w0 = w[wOff + t], w1 = w[wOff + t + 1], w2 = w[wOff + t + 2], w3 = w[wOff + t + 3];
            for (int j = 0; j < n; j++) {
                acc[j] = Math.fma(w3, c3[j], Math.fma(w2, c2[j], Math.fma(w1, c1[j], Math.fma(w0, c0[j], acc[j]))));
            }
        }
        for (; t < d2; t++) {
            float[] c0 = cols[0];
            System.arraycopy(ph[poly.tapPhase[t]], q0 + poly.tapShift[t], c0, 0, n);
            Gemm.axpy(n, w[wOff + t], c0, acc);
        }
    }

    /** Copies the valid outputs among positions q0 .. q0 + n − 1 into y[b, oc]. */
    private static void copyValid(Poly poly, float[] acc, int q0, int n, int b0, float[] y, int cout, int oc) {
        Geometry g = poly.g;
        int q = q0, end = q0 + n;
        while (q < end) {
            int bl = q / poly.sampleLen, r = q - bl * poly.sampleLen;
            int oh = r / poly.ws, ow = r - oh * poly.ws;
            int rowEnd = Math.min(end, q + (poly.ws - ow));
            if (oh < g.ho && ow < g.wo) {
                int len = Math.min(rowEnd, q + (g.wo - ow)) - q;
                System.arraycopy(acc, q - q0, y, ((b0 + bl) * cout + oc) * g.outPlane + oh * g.wo + ow, len);
            }
            q = rowEnd;
        }
    }

    /**
     * Sparse weight gradient: dwSel[m, j, t] = Σ_b Σ_(oh,ow) dy[b, S_j·mg + m, oh, ow] · x_tap_t.
     * Tasks are (selected channel, output of its group, slice of the batch); partial sums are added at the end.
     */
    static void weightGrad(Parallel par, Geometry g, float[] xSel, ChannelIndex sel, float[] dy, float[] dw) {
        Poly poly = new Poly(g);
        int ns = sel.size(), pairs = ns * g.mg;
        int stack = poly.stack(), chunks = (g.batch + stack - 1) / stack;
        // split the batch further only when there are too few (channel, output) pairs to occupy the threads
        int splits = Math.max(1, Math.min(chunks, (2 * par.threads() + pairs - 1) / pairs));
        float[] sums = new float[pairs * splits * g.d2];
        par.forRange(pairs * splits, t -> {
            int pair = t / splits, split = t % splits;
            int j = pair / g.mg, m = pair % g.mg, c = sel.get(j), oc = c * g.mg + m;
            Workspace ws = Workspace.get();
            float[][] taps = ws.rows(Workspace.TAPS, g.d2, QC);
            for (int tp = 0; tp < g.d2; tp++) {
                Arrays.fill(taps[tp], 0, QC, 0f);
            }
            float[][] cols = ws.rows(Workspace.COLS, 1, QC);
            float[] dyc = ws.buf(Workspace.BUF_C, QC);
            int c0 = chunks * split / splits, c1 = chunks * (split + 1) / splits;
            for (int chunk = c0; chunk < c1; chunk++) {
                int b0 = chunk * stack, b1 = Math.min(g.batch, b0 + stack);
                int len = (b1 - b0) * poly.sampleLen;
                float[][] ph = ws.phases(poly.phases, len + poly.maxShift);
                poly.buildPhases(xSel, ns, j, b0, b1, ph);
                float[] dyT = ws.buf(Workspace.BUF_D, len);
                poly.buildOutputLayout(dy, g.cout, oc, b0, b1, dyT, 0);
                for (int q0 = 0; q0 < len; q0 += QC) {
                    int n = Math.min(QC, len - q0);
                    System.arraycopy(dyT, q0, dyc, 0, n);
                    for (int tp = 0; tp < g.d2; tp++) {
                        float[] col = cols[0], acc = taps[tp];
                        System.arraycopy(ph[poly.tapPhase[tp]], q0 + poly.tapShift[tp], col, 0, n);
                        for (int e = 0; e < n; e++) {
                            acc[e] = Math.fma(dyc[e], col[e], acc[e]);
                        }
                    }
                }
            }
            int out = t * g.d2;
            for (int tp = 0; tp < g.d2; tp++) {
                float[] acc = taps[tp];
                double s = 0;
                for (int e = 0; e < QC; e++) {
                    s += acc[e];
                }
                sums[out + tp] = (float) s;
            }
        });
        for (int pair = 0; pair < pairs; pair++) {
            int j = pair / g.mg, m = pair % g.mg;
            int dst = (m * ns + j) * g.d2;
            for (int tp = 0; tp < g.d2; tp++) {
                double s = 0;
                for (int split = 0; split < splits; split++) {
                    s += sums[(pair * splits + split) * g.d2 + tp];
                }
                dw[dst + tp] = (float) s;
            }
        }
    }

    /**
     * Input gradient: for each phase plane, dsub[r] = Σ_m Σ_(t in phase) w[ci·mg + m, t] · dyT_m[r − shift(t)],
     * then the phase planes are written back, without padding, into dx[b, ci].
     */
    static void backwardData(Parallel par, Geometry g, float[] dy, float[] w, float[] dx) {
        Poly poly = new Poly(g);
        int stack = poly.stack(), chunks = (g.batch + stack - 1) / stack;
        par.forRange(g.c * chunks, t -> {
            int ci = t / chunks, b0 = (t % chunks) * stack, b1 = Math.min(g.batch, b0 + stack);
            Workspace ws = Workspace.get();
            int len = (b1 - b0) * poly.sampleLen, front = poly.maxShift, stride = front + len;
            // dyT for every output of the group, each preceded by `front` zeros so that r − shift ≥ 0
            float[] dyT = ws.buf(Workspace.BUF_D, g.mg * stride);
            for (int m = 0; m < g.mg; m++) {
                Arrays.fill(dyT, m * stride, m * stride + front, 0f);
                poly.buildOutputLayout(dy, g.cout, ci * g.mg + m, b0, b1, dyT, m * stride + front);
            }
            float[][] cols = ws.rows(Workspace.COLS, 4, QC);
            float[] acc = ws.buf(Workspace.BUF_B, QC);
            int[] src = new int[g.mg * g.d2];
            float[] wv = new float[g.mg * g.d2];
            for (int f = 0; f < poly.phases; f++) {
                // the (output, tap) pairs that land on phase f: their dyT offsets and weights
                int k = 0;
                for (int m = 0; m < g.mg; m++) {
                    for (int tp = 0; tp < g.d2; tp++) {
                        if (poly.tapPhase[tp] == f) {
                            src[k] = m * stride + front - poly.tapShift[tp];
                            wv[k++] = w[(ci * g.mg + m) * g.d2 + tp];
                        }
                    }
                }
                for (int r0 = 0; r0 < len; r0 += QC) {
                    int n = Math.min(QC, len - r0);
                    accumulatePhase(dyT, src, wv, k, r0, n, cols, acc);
                    writePhase(poly, f, acc, r0, n, b0, dx, ci);
                }
            }
        });
    }

    /** acc[0..n) = Σ_(e < k) wv[e] · dyT[src[e] + r0 + j]: four terms per pass, the first pass overwriting acc. */
    private static void accumulatePhase(float[] dyT, int[] src, float[] wv, int k, int r0, int n, float[][] cols,
                                        float[] acc) {
        float[] c0 = cols[0], c1 = cols[1], c2 = cols[2], c3 = cols[3];
        int e = 0;
        if (k < 4) {
            Arrays.fill(acc, 0, n, 0f);
        }
        for (; e + 4 <= k; e += 4) {
            System.arraycopy(dyT, src[e] + r0, c0, 0, n);
            System.arraycopy(dyT, src[e + 1] + r0, c1, 0, n);
            System.arraycopy(dyT, src[e + 2] + r0, c2, 0, n);
            System.arraycopy(dyT, src[e + 3] + r0, c3, 0, n);
            float w0 = wv[e], w1 = wv[e + 1], w2 = wv[e + 2], w3 = wv[e + 3];
            if (e == 0) {
                for (int j = 0; j < n; j++) {
                    acc[j] = Math.fma(w3, c3[j], Math.fma(w2, c2[j], Math.fma(w1, c1[j], w0 * c0[j])));
                }
            } else {
                for (int j = 0; j < n; j++) {
                    acc[j] = Math.fma(w3, c3[j], Math.fma(w2, c2[j], Math.fma(w1, c1[j], Math.fma(w0, c0[j], acc[j]))));
                }
            }
        }
        for (; e < k; e++) {
            System.arraycopy(dyT, src[e] + r0, c0, 0, n);
            Gemm.axpy(n, wv[e], c0, acc);
        }
    }

    /** Writes positions r0 .. r0 + n − 1 of phase f back into the unpadded input planes dx[b, ci]. */
    private static void writePhase(Poly poly, int f, float[] acc, int r0, int n, int b0, float[] dx, int ci) {
        Geometry g = poly.g;
        int s = poly.s, a = f / s, e = f % s, p = g.pad;
        int jlo = Math.max(0, (p - e + s - 1) / s), jhi = Math.min(poly.ws, Math.max(jlo, (g.w + p - e + s - 1) / s));
        int r = r0, end = r0 + n;
        while (r < end) {
            int bl = r / poly.sampleLen, rr = r - bl * poly.sampleLen;
            int i = rr / poly.ws, j = rr - i * poly.ws;
            int rowEnd = Math.min(end, r + (poly.ws - j));
            int row = i * s + a - p;
            if (row >= 0 && row < g.h) {
                int lo = Math.max(j, jlo), hi = Math.min(j + (rowEnd - r), jhi);
                if (hi > lo) {
                    int dst = ((b0 + bl) * g.c + ci) * g.plane + row * g.w + (lo * s + e - p);
                    int src = r - r0 + (lo - j);
                    if (s == 1) {
                        System.arraycopy(acc, src, dx, dst, hi - lo);
                    } else {
                        for (int k = 0, cnt = hi - lo; k < cnt; k++) {
                            dx[dst + k * s] = acc[src + k];
                        }
                    }
                }
            }
            r = rowEnd;
        }
    }
}
