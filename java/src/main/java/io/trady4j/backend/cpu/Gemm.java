package io.trady4j.backend.cpu;

/**
 * The float32 matrix-product kernel every convolution and linear layer runs on:
 * {@code acc[i][0..n) (+)= Σ_k A(i, k) · b[k][0..n)}.
 *
 * <p>Why this shape: HotSpot's C2 (JDK 25) auto-vectorizes a loop only when it can rule out
 * cross-iteration aliasing, which in practice means every array in the loop is indexed by the same
 * expression. {@code c[co + j] += a · b[bo + j]} with two invariant offsets into possibly the same
 * array stays scalar (~5 GFLOP/s a core here), while the same work with each B row and each
 * accumulator row in its own array, indexed by {@code j}, vectorizes with AVX-512 and, as chains
 * of {@link Math#fma} (plain {@code a*b + c} does not vectorize in this form), reaches ~50 GFLOP/s a
 * core on a 4×4 register tile. So callers pack B into separate row arrays ("panel") and receive the
 * result in separate accumulator rows, and copy it out themselves. A is read in place as scalars:
 * {@code A(i, k) = a[aOff + i·ars + k·acs]}, any strides, so transposed operands need no packing.
 */
final class Gemm {
    private Gemm() {
    }

    /**
     * acc[i][0..n) = (zero ? 0 : acc[i][0..n)) + Σ_{k<kn} A(i, k) · b[k][0..n) for i in [0, m).
     * Rows of b and acc must hold at least n elements.
     */
    static void run(int m, int n, int kn, float[] a, int aOff, int ars, int acs, float[][] b, float[][] acc,
                    boolean zero) {
        if (zero) {
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(acc[i], 0, n, 0f);
            }
        }
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            float[] c0 = acc[i], c1 = acc[i + 1], c2 = acc[i + 2], c3 = acc[i + 3];
            int r0 = aOff + i * ars, r1 = r0 + ars, r2 = r1 + ars, r3 = r2 + ars;
            int k = 0;
            for (; k + 4 <= kn; k += 4) {
                int o = k * acs;
                tile4x4(n, a[r0 + o], a[r0 + o + acs], a[r0 + o + 2 * acs], a[r0 + o + 3 * acs],
                        a[r1 + o], a[r1 + o + acs], a[r1 + o + 2 * acs], a[r1 + o + 3 * acs],
                        a[r2 + o], a[r2 + o + acs], a[r2 + o + 2 * acs], a[r2 + o + 3 * acs],
                        a[r3 + o], a[r3 + o + acs], a[r3 + o + 2 * acs], a[r3 + o + 3 * acs],
                        b[k], b[k + 1], b[k + 2], b[k + 3], c0, c1, c2, c3);
            }
            for (; k < kn; k++) {
                int o = k * acs;
                tile4x1(n, a[r0 + o], a[r1 + o], a[r2 + o], a[r3 + o], b[k], c0, c1, c2, c3);
            }
        }
        for (; i < m; i++) {
            float[] c0 = acc[i];
            int r0 = aOff + i * ars;
            int k = 0;
            for (; k + 4 <= kn; k += 4) {
                int o = r0 + k * acs;
                tile1x4(n, a[o], a[o + acs], a[o + 2 * acs], a[o + 3 * acs], b[k], b[k + 1], b[k + 2], b[k + 3], c0);
            }
            for (; k < kn; k++) {
                axpy(n, a[r0 + k * acs], b[k], c0);
            }
        }
    }

    private static void tile4x4(int n, float a00, float a01, float a02, float a03, float a10, float a11, float a12,
                                float a13, float a20, float a21, float a22, float a23, float a30, float a31, float a32,
                                float a33, float[] b0, float[] b1, float[] b2, float[] b3, float[] c0, float[] c1,
                                float[] c2, float[] c3) {
        for (int j = 0; j < n; j++) {
            float x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];
            c0[j] = Math.fma(a03, x3, Math.fma(a02, x2, Math.fma(a01, x1, Math.fma(a00, x0, c0[j]))));
            c1[j] = Math.fma(a13, x3, Math.fma(a12, x2, Math.fma(a11, x1, Math.fma(a10, x0, c1[j]))));
            c2[j] = Math.fma(a23, x3, Math.fma(a22, x2, Math.fma(a21, x1, Math.fma(a20, x0, c2[j]))));
            c3[j] = Math.fma(a33, x3, Math.fma(a32, x2, Math.fma(a31, x1, Math.fma(a30, x0, c3[j]))));
        }
    }

    private static void tile4x1(int n, float a0, float a1, float a2, float a3, float[] b0, float[] c0, float[] c1,
                                float[] c2, float[] c3) {
        for (int j = 0; j < n; j++) {
            float x0 = b0[j];
            c0[j] = Math.fma(a0, x0, c0[j]);
            c1[j] = Math.fma(a1, x0, c1[j]);
            c2[j] = Math.fma(a2, x0, c2[j]);
            c3[j] = Math.fma(a3, x0, c3[j]);
        }
    }

    private static void tile1x4(int n, float a0, float a1, float a2, float a3, float[] b0, float[] b1, float[] b2,
                                float[] b3, float[] c0) {
        for (int j = 0; j < n; j++) {
            c0[j] = Math.fma(a3, b3[j], Math.fma(a2, b2[j], Math.fma(a1, b1[j], Math.fma(a0, b0[j], c0[j]))));
        }
    }

    /**
     * Copies len floats; short runs (planes of 4×4 or 8×8 pixels) in a plain loop, which beats the
     * System.arraycopy stub call below a few dozen elements.
     */
    static void copy(float[] src, int srcPos, float[] dst, int dstPos, int len) {
        if (len < 32) {
            for (int i = 0; i < len; i++) {
                dst[dstPos + i] = src[srcPos + i];
            }
        } else {
            System.arraycopy(src, srcPos, dst, dstPos, len);
        }
    }

    /**
     * A packed copy of an M×K operand, A(i, k) = a[aOff + i·ars + k·acs], as rows of roundUp(K, 4)
     * with zeros beyond K, so that {@link #run} never needs its one-k remainder tiles; the caller
     * zero-fills panel rows K .. roundUp(K, 4) − 1 to match.
     */
    static float[] packA(int m, int k, float[] a, int aOff, int ars, int acs) {
        int k4 = (k + 3) & ~3;
        float[] p = new float[m * k4];
        for (int i = 0; i < m; i++) {
            for (int kk = 0; kk < k; kk++) {
                p[i * k4 + kk] = a[aOff + i * ars + kk * acs];
            }
        }
        return p;
    }

    /** c[0..n) += a · b[0..n). */
    static void axpy(int n, float a, float[] b, float[] c) {
        for (int j = 0; j < n; j++) {
            c[j] = Math.fma(a, b[j], c[j]);
        }
    }

    /** c[j] = act(c[j] + bias) in place for j in [0, n); vectorizes (same array, same index). */
    static void biasAct(float[] c, int n, float bias, int act) {
        switch (act) {
            case 0 -> {
                if (bias != 0f) {
                    for (int j = 0; j < n; j++) {
                        c[j] += bias;
                    }
                }
            }
            case 1 -> {
                for (int j = 0; j < n; j++) {
                    c[j] = Math.max(c[j] + bias, 0f);
                }
            }
            default -> {
                for (int j = 0; j < n; j++) {
                    c[j] = Math.min(Math.max(c[j] + bias, 0f), 6f);
                }
            }
        }
    }
}
