package io.trady4j.backend.cpu;

import io.trady4j.backend.ChannelIndex;

import java.lang.foreign.MemorySegment;

import static io.trady4j.backend.cpu.NativeScratch.put;
import static io.trady4j.backend.cpu.NativeScratch.take;

/**
 * The GEMM convolutions of {@link ConvGemm} with oneDNN's sgemm as the matrix product: same
 * results up to float32 rounding order, same task split. The operands are packed straight into
 * contiguous off-heap scratch: im2col columns of all samples together (columns q = b·H'W' + p, so
 * late layers with tiny planes still give long rows), the weight once per call, shared by the tasks.
 */
final class ConvSgemm {
    /** Most columns in a packed operand, and most floats (8 MiB) one may take. */
    private static final int MAX_COLUMNS = 1024;
    private static final int MAX_PACKED = 1 << 21;

    private ConvSgemm() {
    }

    /** Column block: about two tasks per thread, a multiple of 16 in [64, MAX_COLUMNS], within the packing limit. */
    private static int columnBlock(long total, int tasksPerBlock, int threads, int rowsPacked) {
        long perThread = (total * tasksPerBlock + 2L * threads - 1) / (2L * threads);
        long nc = Math.max(64, Math.min(MAX_COLUMNS, (perThread + 15) / 16 * 16));
        nc = Math.min(nc, Math.max(16, MAX_PACKED / Math.max(1, rowsPacked) / 16 * 16));
        return (int) Math.max(1, Math.min(nc, (total + 15) / 16 * 16));
    }

    /** The weight in the calling thread's scratch, read by every task of the call. */
    private static MemorySegment weights(float[] w) {
        MemorySegment seg = NativeScratch.get(NativeScratch.WEIGHT, w.length);
        put(w, 0, seg, 0, w.length);
        return seg;
    }

    /** y = act(conv(x, w) + bias) for every group; act is 0 none, 1 ReLU, 2 ReLU6. */
    static void forward(Parallel par, OneDnn.Sgemm gemm, Geometry g, float[] x, float[] w, float[] bias, int act,
                        float[] y) {
        final int k = g.cg * g.d2;
        final MemorySegment wSeg = weights(w);
        final int total = g.batch * g.outPlane;
        final int nc = columnBlock(total, g.groups, par.threads(), k);
        final int blocks = (total + nc - 1) / nc;
        final int chunks = ConvGemm.rowChunks(g.mg, blocks * g.groups, par.threads());
        final int rows = (g.mg + chunks - 1) / chunks;
        par.forRange(blocks * g.groups * chunks, t -> {
            int chunk = t % chunks, rest = t / chunks;
            int grp = rest % g.groups, q0 = (rest / g.groups) * nc, n = Math.min(nc, total - q0);
            int m0 = chunk * rows, m1 = Math.min(g.mg, m0 + rows);
            if (m0 >= m1) {
                return;
            }
            float[] row = Workspace.get().buf(Workspace.BUF_A, n);
            MemorySegment cols = NativeScratch.get(NativeScratch.B, (long) k * n);
            for (int r = 0; r < k; r++) {
                int ci = r / g.d2, tap = r - ci * g.d2;
                packColumns(g, x, grp * g.cg + ci, tap / g.d, tap % g.d, q0, n, row, cols, (long) r * n);
            }
            MemorySegment out = NativeScratch.get(NativeScratch.C, (long) (m1 - m0) * n);
            gemm.run(false, false, m1 - m0, n, k, wSeg, (long) (grp * g.mg + m0) * k, k, cols, 0, n, false, out, 0, n);
            for (int o = m0; o < m1; o++) {
                int oc = grp * g.mg + o;
                take(out, (long) (o - m0) * n, row, 0, n);
                Gemm.biasAct(row, n, bias == null ? 0f : bias[oc], act);
                ConvGemm.scatterColumns(row, q0, n, y, g.cout, oc, g.outPlane);
            }
        });
    }

    /**
     * dst[dstOff + jj] = im2col value of input channel ch at tap (kh, kw) for column q0 + jj (all
     * samples): pointwise runs are copied straight from x, other taps gathered into `row` first.
     */
    private static void packColumns(Geometry g, float[] x, int ch, int kh, int kw, int q0, int n, float[] row,
                                    MemorySegment dst, long dstOff) {
        int q = q0, jj = 0;
        while (jj < n) {
            int b = q / g.outPlane, p = q - b * g.outPlane;
            int len = Math.min(n - jj, g.outPlane - p);
            int off = (b * g.c + ch) * g.plane;
            if (g.pointwise) {
                put(x, off + p, dst, dstOff + jj, len);
            } else {
                g.gatherRow(x, off, kh, kw, p, len, row, jj);
            }
            jj += len;
            q += len;
        }
        if (!g.pointwise) {
            put(row, 0, dst, dstOff, n);
        }
    }

    /** Channel ch (of `channels`) of an NCHW tensor, columns q0 .. q0 + n − 1, into a packed row at dstOff. */
    private static void packChannel(float[] src, int channels, int ch, int plane, int q0, int n, MemorySegment dst,
                                    long dstOff) {
        int q = q0, jj = 0;
        while (jj < n) {
            int b = q / plane, p = q - b * plane;
            int len = Math.min(n - jj, plane - p);
            put(src, (b * channels + ch) * plane + p, dst, dstOff + jj, len);
            jj += len;
            q += len;
        }
    }

    /** The inverse of packChannel: a packed row to columns q0 .. q0 + n − 1 of channel ch. */
    private static void unpackChannel(MemorySegment src, long srcOff, int q0, int n, float[] dst, int channels, int ch,
                                      int plane) {
        int q = q0, jj = 0;
        while (jj < n) {
            int b = q / plane, p = q - b * plane;
            int len = Math.min(n - jj, plane - p);
            take(src, srcOff + jj, dst, (b * channels + ch) * plane + p, len);
            jj += len;
            q += len;
        }
    }

    /** dx = convolution input gradient: per group dcols = W_gᵀ · dY_g, then col2im (none for pointwise). */
    static void backwardData(Parallel par, OneDnn.Sgemm gemm, Geometry g, float[] dy, float[] w, float[] dx) {
        final int k = g.cg * g.d2;
        final MemorySegment wSeg = weights(w);
        if (g.pointwise) {
            final int total = g.batch * g.outPlane;
            final int nc = columnBlock(total, g.groups, par.threads(), Math.max(g.mg, g.cg));
            final int blocks = (total + nc - 1) / nc;
            par.forRange(blocks * g.groups, t -> {
                int grp = t % g.groups, q0 = (t / g.groups) * nc, n = Math.min(nc, total - q0);
                MemorySegment dcols = dxColumns(gemm, g, dy, wSeg, grp, q0, n, k, 0, k);
                for (int ci = 0; ci < g.cg; ci++) {
                    unpackChannel(dcols, (long) ci * n, q0, n, dx, g.c, grp * g.cg + ci, g.plane);
                }
            });
            return;
        }
        // col2im adds into overlapping pixels of the same input channel: a task owns whole samples and a
        // range of input channels, so tasks never write the same dx.
        final int spb = Math.max(1, Math.min(g.batch, MAX_COLUMNS / g.outPlane));
        final int blocks = (g.batch + spb - 1) / spb;
        final int nc = Math.min(MAX_COLUMNS, spb * g.outPlane);
        final int cchunks = Math.max(1, Math.min(g.cg / 8, (2 * par.threads() + blocks * g.groups - 1)
                / (blocks * g.groups)));
        par.forRange(blocks * g.groups * cchunks, t -> {
            int cc = t % cchunks, rest = t / cchunks, grp = rest % g.groups, blk = rest / g.groups;
            int c0 = g.cg * cc / cchunks, c1 = g.cg * (cc + 1) / cchunks;
            int b0 = blk * spb, b1 = Math.min(g.batch, b0 + spb);
            for (int b = b0; b < b1; b++) {
                java.util.Arrays.fill(dx, (b * g.c + grp * g.cg + c0) * g.plane, (b * g.c + grp * g.cg + c1) * g.plane,
                        0f);
            }
            float[] row = Workspace.get().buf(Workspace.BUF_A, nc);
            int qEnd = b1 * g.outPlane;
            for (int q0 = b0 * g.outPlane; q0 < qEnd; q0 += nc) {
                int n = Math.min(nc, qEnd - q0);
                MemorySegment dcols = dxColumns(gemm, g, dy, wSeg, grp, q0, n, k, c0 * g.d2, c1 * g.d2);
                for (int r = c0 * g.d2; r < c1 * g.d2; r++) {
                    int ci = r / g.d2, tap = r - ci * g.d2;
                    take(dcols, (long) (r - c0 * g.d2) * n, row, 0, n);
                    int q = q0, jj = 0;
                    while (jj < n) {
                        int b = q / g.outPlane, p = q - b * g.outPlane, len = Math.min(n - jj, g.outPlane - p);
                        g.scatterAddRow(row, jj, tap / g.d, tap % g.d, p, len, dx, (b * g.c + grp * g.cg + ci) * g.plane);
                        jj += len;
                        q += len;
                    }
                }
            }
        });
    }

    /** dcols[(row − r0)·n + jj] = Σ_o W[grp·mg + o, row] · dY[column q0 + jj, grp·mg + o], rows r0 .. r1 − 1. */
    private static MemorySegment dxColumns(OneDnn.Sgemm gemm, Geometry g, float[] dy, MemorySegment wSeg, int grp,
                                           int q0, int n, int k, int r0, int r1) {
        MemorySegment dyPacked = NativeScratch.get(NativeScratch.B, (long) g.mg * n);
        for (int o = 0; o < g.mg; o++) {
            packChannel(dy, g.cout, grp * g.mg + o, g.outPlane, q0, n, dyPacked, (long) o * n);
        }
        MemorySegment dcols = NativeScratch.get(NativeScratch.C, (long) (r1 - r0) * n);
        gemm.run(true, false, r1 - r0, n, g.mg, wSeg, (long) grp * g.mg * k + r0, k, dyPacked, 0, n, false, dcols, 0, n);
        return dcols;
    }

    /**
     * Sparse weight gradient dwSel (layout [C'/g, |S|, D, D]) from the gathered input: per group,
     * dW[mg × |S_g|·D²] = Σ over columns of dY[mg × cols] · im2col(xSel)ᵀ. Samples are split across
     * tasks, each writing a full partial result, summed at the end.
     */
    static void weightGrad(Parallel par, OneDnn.Sgemm gemm, Geometry g, float[] xSel, ChannelIndex sel, float[] dy,
                           float[] dw, float[][] partials) {
        ConvGemm.splitWeightGrad(par, g, sel, dw, partials, (jFirst, nsg, grp, b0, b1, out) ->
                weightGradGroup(gemm, g, xSel, sel.size(), jFirst, nsg, grp, dy, b0, b1, out));
    }

    private static void weightGradGroup(OneDnn.Sgemm gemm, Geometry g, float[] xSel, int ns, int jFirst, int nsg,
                                        int grp, float[] dy, int b0, int b1, float[] out) {
        final int kq = nsg * g.d2, p = g.outPlane;
        int ld = Math.max(16, Math.min(MAX_COLUMNS, MAX_PACKED / Math.max(g.mg, kq) / 16 * 16));
        ld = Math.min(ld, (b1 - b0) * p);
        float[] row = Workspace.get().buf(Workspace.BUF_A, ld);
        MemorySegment dyPacked = NativeScratch.get(NativeScratch.A, (long) g.mg * ld);
        MemorySegment cols = NativeScratch.get(NativeScratch.B, (long) kq * ld);
        MemorySegment acc = NativeScratch.get(NativeScratch.C, (long) g.mg * kq);
        int filled = 0;
        boolean first = true;
        for (int b = b0; b < b1; b++) {
            int xBase = (b * ns + jFirst) * g.plane, dyBase = (b * g.cout + grp * g.mg) * p;
            for (int p0 = 0; p0 < p; ) {
                int pn = Math.min(p - p0, ld - filled);
                for (int o = 0; o < g.mg; o++) {
                    put(dy, dyBase + o * p + p0, dyPacked, (long) o * ld + filled, pn);
                }
                for (int r = 0; r < kq; r++) {
                    int jl = r / g.d2, tap = r - jl * g.d2;
                    if (g.pointwise) {
                        put(xSel, xBase + jl * g.plane + p0, cols, (long) r * ld + filled, pn);
                    } else {
                        g.gatherRow(xSel, xBase + jl * g.plane, tap / g.d, tap % g.d, p0, pn, row, 0);
                        put(row, 0, cols, (long) r * ld + filled, pn);
                    }
                }
                filled += pn;
                p0 += pn;
                if (filled == ld || (b == b1 - 1 && p0 == p)) {
                    gemm.run(false, true, g.mg, kq, filled, dyPacked, 0, ld, cols, 0, ld, !first, acc, 0, kq);
                    first = false;
                    filled = 0;
                }
            }
        }
        for (int o = 0; o < g.mg; o++) {
            take(acc, (long) o * kq, out, (o * ns + jFirst) * g.d2, kq);
        }
    }
}
