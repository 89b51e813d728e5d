package io.trady4j.backend.cpu;

/**
 * Single-threaded float32 matrix products on row-major slices of arrays, written so that C2
 * vectorizes the inner loop (contiguous j over B and C). Callers parallelize over independent
 * output blocks. The K and N loops are blocked so that a panel of B stays in cache.
 */
final class Sgemm {
    private static final int KB = 128;
    private static final int NB = 512;

    private Sgemm() {
    }

    /** C[M,N] (+)= A[M,K] · B[K,N]; A row stride lda, B row stride ldb, C row stride ldc. */
    static void nn(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                   float[] c, int cOff, int ldc, boolean accumulate) {
        gemm(m, n, k, a, aOff, lda, 1, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    /** C[M,N] (+)= Aᵀ · B where A is stored [K,M] with row stride lda. */
    static void tn(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                   float[] c, int cOff, int ldc, boolean accumulate) {
        gemm(m, n, k, a, aOff, 1, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    /** A element (i,k) is a[aOff + i·ars + k·acs]. */
    private static void gemm(int m, int n, int k, float[] a, int aOff, int ars, int acs, float[] b, int bOff,
                             int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        if (!accumulate) {
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            }
        }
        for (int j0 = 0; j0 < n; j0 += NB) {
            int j1 = Math.min(n, j0 + NB);
            for (int k0 = 0; k0 < k; k0 += KB) {
                int k1 = Math.min(k, k0 + KB);
                int i = 0;
                for (; i + 4 <= m; i += 4) {
                    int c0 = cOff + i * ldc;
                    int c1 = c0 + ldc;
                    int c2 = c1 + ldc;
                    int c3 = c2 + ldc;
                    for (int kk = k0; kk < k1; kk++) {
                        int ai = aOff + i * ars + kk * acs;
                        float a0 = a[ai];
                        float a1 = a[ai + ars];
                        float a2 = a[ai + 2 * ars];
                        float a3 = a[ai + 3 * ars];
                        int bo = bOff + kk * ldb;
                        for (int j = j0; j < j1; j++) {
                            float bv = b[bo + j];
                            c[c0 + j] += a0 * bv;
                            c[c1 + j] += a1 * bv;
                            c[c2 + j] += a2 * bv;
                            c[c3 + j] += a3 * bv;
                        }
                    }
                }
                for (; i < m; i++) {
                    int c0 = cOff + i * ldc;
                    for (int kk = k0; kk < k1; kk++) {
                        float a0 = a[aOff + i * ars + kk * acs];
                        int bo = bOff + kk * ldb;
                        for (int j = j0; j < j1; j++) {
                            c[c0 + j] += a0 * b[bo + j];
                        }
                    }
                }
            }
        }
    }
}
