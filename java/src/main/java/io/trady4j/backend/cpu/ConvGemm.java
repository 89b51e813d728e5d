package io.trady4j.backend.cpu;

import io.trady4j.backend.ChannelIndex;

/**
 * Dense and grouped convolutions as GEMMs over packed im2col panels (see {@link Gemm} for why
 * everything is packed into separate rows). Columns of the forward GEMM are output pixels of all
 * samples together, q = b·H'W' + p, so late layers with tiny planes still get long vector loops.
 */
final class ConvGemm {
    /** Reduction (K) chunk of a packed panel. */
    private static final int KC = 128;
    /** Pixel chunk of the weight-gradient GEMM. */
    private static final int PC = 256;

    private ConvGemm() {
    }

    /** Column block for q in [0, total): a multiple of 16, at most 256, at least 64 where there are that many. */
    static int columnBlock(long total, int tasksPerBlock, int threads) {
        long perThread = (total * tasksPerBlock + 2L * threads - 1) / (2L * threads);
        long nc = Math.max(Math.min(64, (total + 15) / 16 * 16), Math.min(256, (perThread + 15) / 16 * 16));
        return (int) Math.max(1, Math.min(nc, (total + 15) / 16 * 16));
    }

    /** Output-row chunks per column block: split M too when there are fewer blocks than 2 per thread. */
    static int rowChunks(int m, int tasks, int threads) {
        int want = (2 * threads + tasks - 1) / tasks;
        return Math.max(1, Math.min(want, m / 32));
    }

    /** y = act(conv(x, w) + bias) for every group; act is 0 none, 1 ReLU, 2 ReLU6. */
    static void forward(Parallel par, Geometry g, float[] x, float[] w, float[] bias, int act, float[] y) {
        final int k = g.cg * g.d2, k4 = (k + 3) & ~3;
        final float[] wp = Gemm.packA(g.cout, k, w, 0, k, 1); // rows of k4, zero-padded
        final int total = g.batch * g.outPlane;
        final int nc = columnBlock(total, g.groups, par.threads());
        final int blocks = (total + nc - 1) / nc;
        final int chunks = rowChunks(g.mg, blocks * g.groups, par.threads());
        final int rows = (g.mg + chunks - 1) / chunks;
        par.forRange(blocks * g.groups * chunks, t -> {
            int chunk = t % chunks, rest = t / chunks;
            int grp = rest % g.groups, q0 = (rest / g.groups) * nc, n = Math.min(nc, total - q0);
            int m0 = chunk * rows, m1 = Math.min(g.mg, m0 + rows);
            if (m0 >= m1) {
                return;
            }
            Workspace ws = Workspace.get();
            float[][] acc = ws.rows(Workspace.ACC, m1 - m0, nc);
            for (int k0 = 0; k0 < k4; k0 += KC) {
                int kn = Math.min(KC, k4 - k0);
                float[][] panel = ws.rows(Workspace.PANEL, kn, nc);
                for (int kk = 0; kk < kn; kk++) {
                    int row = k0 + kk;
                    if (row >= k) {
                        java.util.Arrays.fill(panel[kk], 0, n, 0f);
                        continue;
                    }
                    int ci = row / g.d2, tap = row - ci * g.d2;
                    packColumns(g, x, grp * g.cg + ci, tap / g.d, tap % g.d, q0, n, panel[kk]);
                }
                Gemm.run(m1 - m0, n, kn, wp, (grp * g.mg + m0) * k4 + k0, k4, 1, panel, acc, k0 == 0);
            }
            for (int o = m0; o < m1; o++) {
                int oc = grp * g.mg + o;
                Gemm.biasAct(acc[o - m0], n, bias == null ? 0f : bias[oc], act);
                scatterColumns(acc[o - m0], q0, n, y, g.cout, oc, g.outPlane);
            }
        });
    }

    /** dst[jj] = im2col value of input channel ch at tap (kh, kw) for column q0 + jj (all samples). */
    private static void packColumns(Geometry g, float[] x, int ch, int kh, int kw, int q0, int n, float[] dst) {
        int q = q0, jj = 0;
        while (jj < n) {
            int b = q / g.outPlane, p = q - b * g.outPlane;
            int len = Math.min(n - jj, g.outPlane - p);
            int off = (b * g.c + ch) * g.plane;
            if (g.pointwise) {
                Gemm.copy(x, off + p, dst, jj, len);
            } else {
                g.gatherRow(x, off, kh, kw, p, len, dst, jj);
            }
            jj += len;
            q += len;
        }
    }

    /** Copies a row of results for columns q0 .. q0 + n − 1 into channel ch of an NCHW tensor of `channels` channels. */
    static void scatterColumns(float[] src, int q0, int n, float[] dst, int channels, int ch, int plane) {
        int q = q0, jj = 0;
        while (jj < n) {
            int b = q / plane, p = q - b * plane;
            int len = Math.min(n - jj, plane - p);
            Gemm.copy(src, jj, dst, (b * channels + ch) * plane + p, len);
            jj += len;
            q += len;
        }
    }

    /** dx = convolution input gradient: per group, dcols = W_gᵀ · dY_g, then col2im (direct for pointwise). */
    static void backwardData(Parallel par, Geometry g, float[] dy, float[] w, float[] dx) {
        final int k = g.cg * g.d2;
        if (g.pointwise) {
            final int total = g.batch * g.outPlane;
            final int nc = columnBlock(total, g.groups, par.threads());
            final int blocks = (total + nc - 1) / nc;
            par.forRange(blocks * g.groups, t -> {
                int grp = t % g.groups, q0 = (t / g.groups) * nc, n = Math.min(nc, total - q0);
                float[][] acc = dxColumns(g, dy, w, grp, q0, n, nc, k, 0, k);
                for (int ci = 0; ci < g.cg; ci++) {
                    scatterColumns(acc[ci], q0, n, dx, g.c, grp * g.cg + ci, g.plane);
                }
            });
            return;
        }
        // col2im adds into overlapping pixels of the same input channel: a task owns whole samples (as
        // many as fit in 256 columns) and a range of input channels, so tasks never write the same dx.
        final int spb = Math.max(1, Math.min(g.batch, 256 / g.outPlane));
        final int blocks = (g.batch + spb - 1) / spb;
        final int nc = Math.min(256, spb * g.outPlane);
        final int cchunks = Math.max(1, Math.min(g.cg / 8, (2 * par.threads() + blocks * g.groups - 1)
                / (blocks * g.groups)));
        par.forRange(blocks * g.groups * cchunks, t -> {
            int cc = t % cchunks, rest = t / cchunks, grp = rest % g.groups, blk = rest / g.groups;
            int c0 = g.cg * cc / cchunks, c1 = g.cg * (cc + 1) / cchunks;
            int b0 = blk * spb, b1 = Math.min(g.batch, b0 + spb);
            for (int b = b0; b < b1; b++) {
                java.util.Arrays.fill(dx, (b * g.c + grp * g.cg + c0) * g.plane, (b * g.c + grp * g.cg + c1) * g.plane, 0f);
            }
            int qEnd = b1 * g.outPlane;
            for (int q0 = b0 * g.outPlane; q0 < qEnd; q0 += nc) {
                int n = Math.min(nc, qEnd - q0);
                float[][] acc = dxColumns(g, dy, w, grp, q0, n, nc, k, c0 * g.d2, c1 * g.d2);
                for (int row = c0 * g.d2; row < c1 * g.d2; row++) {
                    int ci = row / g.d2, tap = row - ci * g.d2;
                    // columns q0 .. q0 + n − 1 may span several samples
                    int q = q0, jj = 0;
                    while (jj < n) {
                        int b = q / g.outPlane, p = q - b * g.outPlane, len = Math.min(n - jj, g.outPlane - p);
                        g.scatterAddRow(acc[row - c0 * g.d2], jj, tap / g.d, tap % g.d, p, len, dx,
                                (b * g.c + grp * g.cg + ci) * g.plane);
                        jj += len;
                        q += len;
                    }
                }
            }
        });
    }

    /** acc[row − r0][jj] = Σ_o W[grp·mg + o, row] · dY[column q0 + jj, grp·mg + o] for rows r0 .. r1 − 1 of k = C/g·D². */
    private static float[][] dxColumns(Geometry g, float[] dy, float[] w, int grp, int q0, int n, int nc, int k,
                                       int r0, int r1) {
        Workspace ws = Workspace.get();
        float[][] acc = ws.rows(Workspace.ACC, r1 - r0, nc);
        for (int o0 = 0; o0 < g.mg; o0 += KC) {
            int on = Math.min(KC, g.mg - o0);
            float[][] panel = ws.rows(Workspace.PANEL, on, nc);
            for (int oo = 0; oo < on; oo++) {
                int oc = grp * g.mg + o0 + oo, q = q0, jj = 0;
                while (jj < n) {
                    int b = q / g.outPlane, p = q - b * g.outPlane;
                    int len = Math.min(n - jj, g.outPlane - p);
                    Gemm.copy(dy, (b * g.cout + oc) * g.outPlane + p, panel[oo], jj, len);
                    jj += len;
                    q += len;
                }
            }
            // A(row, o) = W[grp·mg + o0 + o, row]: row stride 1, column stride k
            Gemm.run(r1 - r0, n, on, w, (grp * g.mg + o0) * k + r0, 1, k, panel, acc, o0 == 0);
        }
        return acc;
    }

    /**
     * Sparse weight gradient dwSel (layout [C'/g, |S|, D, D]) from the gathered input. Samples are
     * split across threads, each accumulating a full partial result, summed at the end. Per group,
     * the GEMM is oriented so that its vector loop runs over the longer of C'/g (output channels)
     * and |S_g|·D² (selected weights per output channel).
     */
    static void weightGrad(Parallel par, Geometry g, float[] xSel, ChannelIndex sel, float[] dy, float[] dw,
                           float[][] partials) {
        splitWeightGrad(par, g, sel, dw, partials, (jFirst, nsg, grp, b0, b1, out) ->
                weightGradGroup(g, xSel, sel.size(), jFirst, nsg, grp, dy, b0, b1, out));
    }

    /** One group's share of a sparse weight gradient over samples [b0, b1), written (not added) into out. */
    interface GroupWeightGrad {
        void run(int jFirst, int nsg, int grp, int b0, int b1, float[] out);
    }

    /**
     * The task split every sparse weight-gradient GEMM shares: samples across tasks, each writing a
     * full partial result (task 0 into dw), summed into dw at the end; groups without selected
     * channels are skipped.
     */
    static void splitWeightGrad(Parallel par, Geometry g, ChannelIndex sel, float[] dw, float[][] partials,
                                GroupWeightGrad group) {
        final int[] j0 = new int[g.groups + 1];
        for (int grp = 0; grp <= g.groups; grp++) {
            j0[grp] = CpuBackend.lowerBound(sel, grp * g.cg);
        }
        final int tasks = partials.length + 1;
        par.forRange(tasks, t -> {
            float[] out = t == 0 ? dw : partials[t - 1];
            int b0 = g.batch * t / tasks, b1 = g.batch * (t + 1) / tasks;
            for (int grp = 0; grp < g.groups; grp++) {
                int nsg = j0[grp + 1] - j0[grp];
                if (nsg > 0) {
                    group.run(j0[grp], nsg, grp, b0, b1, out);
                }
            }
        });
        int len = dw.length;
        for (float[] p : partials) {
            for (int e = 0; e < len; e++) {
                dw[e] += p[e];
            }
        }
    }

    /** Accumulator budget (floats) of the pixel-vector weight gradient form. */
    private static final int DOT_ACC = 32768;

    private static void weightGradGroup(Geometry g, float[] xSel, int ns, int jFirst, int nsg, int grp, float[] dy,
                                        int b0, int b1, float[] out) {
        int kq = nsg * g.d2;
        if ((long) kq * g.mg <= DOT_ACC / 64) {
            weightGradDot(g, xSel, ns, jFirst, nsg, grp, dy, b0, b1, out);
        } else {
            weightGradGemm(g, xSel, ns, jFirst, nsg, grp, dy, b0, b1, out);
        }
    }

    /**
     * Pixel-vector form for few (output, selected weight) pairs: the vector loop runs over output
     * pixels, acc[r·mg + o][j] += dY_o[p0 + j] · cols_r[p0 + j], with one horizontal sum per pair at
     * the end. No transposition; both operands are plain row copies.
     */
    private static void weightGradDot(Geometry g, float[] xSel, int ns, int jFirst, int nsg, int grp, float[] dy,
                                      int b0, int b1, float[] out) {
        Workspace ws = Workspace.get();
        int kq = nsg * g.d2, pairs = kq * g.mg;
        int pc = Math.max(16, Math.min(1024, DOT_ACC / pairs / 16 * 16));
        float[][] acc = ws.rows(Workspace.ACC, pairs, pc);
        for (int r = 0; r < pairs; r++) {
            java.util.Arrays.fill(acc[r], 0, pc, 0f);
        }
        float[][] cols = ws.rows(Workspace.COLS, kq, pc);
        float[][] dys = ws.rows(Workspace.PANEL, g.mg, pc);
        for (int b = b0; b < b1; b++) {
            int xBase = (b * ns + jFirst) * g.plane;
            int dyBase = (b * g.cout + grp * g.mg) * g.outPlane;
            for (int p0 = 0; p0 < g.outPlane; p0 += pc) {
                int pn = Math.min(pc, g.outPlane - p0);
                for (int o = 0; o < g.mg; o++) {
                    System.arraycopy(dy, dyBase + o * g.outPlane + p0, dys[o], 0, pn);
                }
                for (int r = 0; r < kq; r++) {
                    int jl = r / g.d2, tap = r - jl * g.d2;
                    if (g.pointwise) {
                        System.arraycopy(xSel, xBase + jl * g.plane + p0, cols[r], 0, pn);
                    } else {
                        g.gatherRow(xSel, xBase + jl * g.plane, tap / g.d, tap % g.d, p0, pn, cols[r], 0);
                    }
                }
                for (int r = 0; r < kq; r++) {
                    float[] x = cols[r];
                    int o = 0, base = r * g.mg;
                    for (; o + 4 <= g.mg; o += 4) {
                        dot4(pn, x, dys[o], dys[o + 1], dys[o + 2], dys[o + 3], acc[base + o], acc[base + o + 1],
                                acc[base + o + 2], acc[base + o + 3]);
                    }
                    for (; o < g.mg; o++) {
                        float[] a0 = acc[base + o], d0 = dys[o];
                        for (int j = 0; j < pn; j++) {
                            a0[j] = Math.fma(d0[j], x[j], a0[j]);
                        }
                    }
                }
            }
        }
        for (int r = 0; r < kq; r++) {
            for (int o = 0; o < g.mg; o++) {
                float[] a0 = acc[r * g.mg + o];
                double sum = 0;
                for (int j = 0; j < pc; j++) {
                    sum += a0[j];
                }
                out[(o * ns + jFirst) * g.d2 + r] = (float) sum;
            }
        }
    }

    private static void dot4(int n, float[] x, float[] d0, float[] d1, float[] d2, float[] d3, float[] a0, float[] a1,
                             float[] a2, float[] a3) {
        for (int j = 0; j < n; j++) {
            float v = x[j];
            a0[j] = Math.fma(d0[j], v, a0[j]);
            a1[j] = Math.fma(d1[j], v, a1[j]);
            a2[j] = Math.fma(d2[j], v, a2[j]);
            a3[j] = Math.fma(d3[j], v, a3[j]);
        }
    }

    private static void weightGradGemm(Geometry g, float[] xSel, int ns, int jFirst, int nsg, int grp, float[] dy,
                                        int b0, int b1, float[] out) {
        Workspace ws = Workspace.get();
        int kq = nsg * g.d2;
        boolean overOutputs = g.mg >= kq; // vector loop over output channels (dWᵀ) or over selected weights (dW)
        float[][] acc = overOutputs ? ws.rows(Workspace.ACC, kq, g.mg) : ws.rows(Workspace.ACC, g.mg, kq);
        int accRows = overOutputs ? kq : g.mg, accLen = overOutputs ? g.mg : kq;
        for (int r = 0; r < accRows; r++) {
            java.util.Arrays.fill(acc[r], 0, accLen, 0f);
        }
        for (int b = b0; b < b1; b++) {
            int xBase = (b * ns + jFirst) * g.plane;
            int dyBase = (b * g.cout + grp * g.mg) * g.outPlane;
            for (int p0 = 0; p0 < g.outPlane; p0 += PC) {
                int pn = Math.min(PC, g.outPlane - p0);
                float[] cols = null;
                int aOff, ars;
                if (g.pointwise) {
                    aOff = xBase + p0;
                    ars = g.plane;
                } else {
                    cols = ws.buf(Workspace.BUF_A, kq * pn);
                    for (int r = 0; r < kq; r++) {
                        int jl = r / g.d2, tap = r - jl * g.d2;
                        g.gatherRow(xSel, xBase + jl * g.plane, tap / g.d, tap % g.d, p0, pn, cols, r * pn);
                    }
                    aOff = 0;
                    ars = pn;
                }
                float[] src = cols == null ? xSel : cols;
                float[][] panel;
                if (overOutputs) {
                    // dWᵀ[kq × mg] += cols[kq × pn] · dYᵀ[pn × mg]
                    panel = ws.rows(Workspace.PANEL, pn, g.mg);
                    for (int o = 0; o < g.mg; o++) {
                        int s = dyBase + o * g.outPlane + p0;
                        for (int pp = 0; pp < pn; pp++) {
                            panel[pp][o] = dy[s + pp];
                        }
                    }
                    Gemm.run(kq, g.mg, pn, src, aOff, ars, 1, panel, acc, false);
                } else {
                    // dW[mg × kq] += dY[mg × pn] · colsᵀ[pn × kq]
                    panel = ws.rows(Workspace.PANEL, pn, kq);
                    for (int r = 0; r < kq; r++) {
                        int s = aOff + r * ars;
                        for (int pp = 0; pp < pn; pp++) {
                            panel[pp][r] = src[s + pp];
                        }
                    }
                    Gemm.run(g.mg, kq, pn, dy, dyBase + p0, g.outPlane, 1, panel, acc, false);
                }
            }
        }
        // dwSel[o, jFirst + jl, tap] at (o·ns + jFirst)·D² + r
        for (int o = 0; o < g.mg; o++) {
            int base = (o * ns + jFirst) * g.d2;
            if (overOutputs) {
                for (int r = 0; r < kq; r++) {
                    out[base + r] = acc[r][o];
                }
            } else {
                System.arraycopy(acc[o], 0, out, base, kq);
            }
        }
    }
}
