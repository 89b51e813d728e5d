// Linear layers (input features are the channels; the classifier is one):
//   forward  y[b, o]  = Σ_f x[b, f] · w[o, f] + bias[o]
//   dx       dx[b, f] = Σ_o dy[b, o] · w[o, f]
//   dW       dw_sel[o, j] = Σ_b dy[b, o] · x_sel[b, j]       (the selected input features only)
//
// Versions:
//   v1 *_naive_kernel: one thread per output element.
//   v2 linear_gemm_kernel: the shared tiled GEMM main loop (kernels/igemm.cuh) with strided
//      operands; the thread mapping of each operand's tile load follows its contiguous axis.
//   v3 linear_gemm_v3_kernel: the v3 main loop (igemm_v3.cuh; 4x4 contiguous thread tiles,
//      128-bit shared loads, 3-stage cp.async) with strided operands.
//   v4: v3 with the tile computed on TF32 tensor cores (mma.sync m16n8k8), opt-in.
#include "igemm.cuh"
#include "igemm_v3.cuh"
#include "kernels.cuh"

#include <climits>

namespace trady4j {

// ---------------------------------------------------------------- v1: reference

__global__ void linear_forward_naive_kernel(int batch, int in_f, int out_f, const float* __restrict__ x,
                                            const float* __restrict__ w, const float* __restrict__ bias,
                                            float* __restrict__ y) {
    const int64_t total = (int64_t)batch * out_f;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        const int o = (int)(e % out_f);
        const int b = (int)(e / out_f);
        float acc = 0.f;
        for (int f = 0; f < in_f; ++f) acc = fmaf(x[(int64_t)b * in_f + f], w[(int64_t)o * in_f + f], acc);
        y[e] = acc + (bias ? bias[o] : 0.f);
    }
}

__global__ void linear_dx_naive_kernel(int batch, int in_f, int out_f, const float* __restrict__ dy,
                                       const float* __restrict__ w, float* __restrict__ dx) {
    const int64_t total = (int64_t)batch * in_f;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        const int f = (int)(e % in_f);
        const int b = (int)(e / in_f);
        float acc = 0.f;
        for (int o = 0; o < out_f; ++o) acc = fmaf(dy[(int64_t)b * out_f + o], w[(int64_t)o * in_f + f], acc);
        dx[e] = acc;
    }
}

__global__ void linear_dw_naive_kernel(int batch, int nsel, int out_f, const float* __restrict__ x_sel,
                                       const float* __restrict__ dy, float* __restrict__ dw) {
    const int64_t total = (int64_t)out_f * nsel;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        const int j = (int)(e % nsel);
        const int o = (int)(e / nsel);
        float acc = 0.f;
        for (int b = 0; b < batch; ++b) acc = fmaf(dy[(int64_t)b * out_f + o], x_sel[(int64_t)b * nsel + j], acc);
        dw[e] = acc;
    }
}

// ---------------------------------------------------------------- v2: tiled GEMM

struct StridedOperand {
    const float* p;
    int64_t s_row;  // stride between rows (m for A, n for B)
    int64_t s_k;    // stride along k
};

// C[m, n] = Σ_k A(m, k) · B(k, n) (+ bias[n]), C row-major with leading dimension ldc.
template <int BM, int BN, bool AKF, bool BKF>
__global__ void __launch_bounds__(kGemmThreads, 2)
    linear_gemm_kernel(int M, int N, int K, StridedOperand a, StridedOperand b, const float* __restrict__ bias,
                       float* __restrict__ c, int ldc, int n_tiles) {
    constexpr int TM = BM / 16;
    constexpr int TN = BN / 16;
    __shared__ GemmSmem<BM, BN, AKF, BKF> sm;
    const int tid = threadIdx.x;
    const int nt = blockIdx.x % n_tiles;
    const int mt = blockIdx.x / n_tiles;
    const int m0 = mt * BM;
    const int n0 = nt * BN;

    StridedLoader<TM, AKF> A;
    A.p = a.p;
    A.s_row = a.s_row;
    A.s_k = a.s_k;
    A.rows = M;
#pragma unroll
    for (int i = 0; i < TM; ++i) A.set_row(i, m0 + gemm_map_row<AKF>(tid, i));
    StridedLoader<TN, BKF> B;
    B.p = b.p;
    B.s_row = b.s_row;
    B.s_k = b.s_k;
    B.rows = N;
#pragma unroll
    for (int j = 0; j < TN; ++j) B.set_row(j, n0 + gemm_map_row<BKF>(tid, j));

    float acc[TM][TN];
    gemm_mainloop<BM, BN>(A, B, 0, K, acc, sm);

    const int tx = tid & 15;
    const int ty = tid >> 4;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int n = n0 + tx + 16 * j;
            if (n < N) c[(int64_t)m * ldc + n] = acc[i][j] + (bias ? __ldg(bias + n) : 0.f);
        }
    }
}

template <int BM, int BN, bool AKF, bool BKF>
static cudaError_t launch_gemm(int M, int N, int K, StridedOperand a, StridedOperand b, const float* bias, float* c,
                               int ldc, cudaStream_t stream) {
    const int n_tiles = ceil_div(N, BN);
    const int64_t blocks = (int64_t)ceil_div(M, BM) * n_tiles;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kGemmThreads, 0, stream, linear_gemm_kernel<BM, BN, AKF, BKF>)(M, N, K, a, b, bias, c, ldc,
                                                                                      n_tiles);
    return cudaGetLastError();
}

using LinearV3Tile = GemmV3Config<64, 64, 16, 3>;
using LinearTf32Tile = GemmV3Config<64, 64, 16, 3, true>;

// C[m, n] = Σ_k A(m, k) · B(k, n) (+ bias[n]) on the v3 main loop.
template <class C>
__global__ void __launch_bounds__(kGemmV3Threads)
    linear_gemm_v3_kernel(int M, int N, int K, StridedOperand a, StridedOperand b, const float* __restrict__ bias,
                          float* __restrict__ c, int ldc, int n_tiles) {
    __shared__ GemmV3Smem<C> sm;
    const int m0 = (blockIdx.x / n_tiles) * C::BM;
    const int n0 = (blockIdx.x % n_tiles) * C::BN;
    StridedV3Loader<C, true> A;
    A.init(a.p, a.s_row, a.s_k, M, K, m0);
    StridedV3Loader<C, false> B;
    B.init(b.p, b.s_row, b.s_k, N, K, n0);
    float acc[C::TM][C::TN];
    gemm_v3_mainloop<C>(A, B, ceil_div(K, C::BK), acc, sm);
#pragma unroll
    for (int i = 0; i < C::TM; ++i) {
        const int m = m0 + gemm_v3_row<C>(i);
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < C::TN; ++j) {
            const int n = n0 + gemm_v3_col<C>(j);
            if (n < N) c[(int64_t)m * ldc + n] = acc[i][j] + (bias ? __ldg(bias + n) : 0.f);
        }
    }
}

template <class C>
static cudaError_t launch_gemm_v3(int M, int N, int K, StridedOperand a, StridedOperand b, const float* bias, float* c,
                                  int ldc, cudaStream_t stream) {
    const int n_tiles = ceil_div(N, C::BN);
    const int64_t blocks = (int64_t)ceil_div(M, C::BM) * n_tiles;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kGemmV3Threads, 0, stream, linear_gemm_v3_kernel<C>)(M, N, K, a, b, bias, c, ldc, n_tiles);
    return cudaGetLastError();
}

// v3 (fp32 FFMA) or v4 (TF32 tensor cores).
static cudaError_t gemm_v3(int impl, int M, int N, int K, StridedOperand a, StridedOperand b, const float* bias,
                           float* c, int ldc, cudaStream_t stream) {
    if (impl == kImplTf32) return launch_gemm_v3<LinearTf32Tile>(M, N, K, a, b, bias, c, ldc, stream);
    return launch_gemm_v3<LinearV3Tile>(M, N, K, a, b, bias, c, ldc, stream);
}

// Picks the tile (narrow M gets 16 x 128) and the load mapping of each operand (k-fast when its
// k stride is 1).
static cudaError_t gemm(int M, int N, int K, StridedOperand a, StridedOperand b, const float* bias, float* c, int ldc,
                        cudaStream_t stream) {
    const bool akf = a.s_k == 1;
    const bool bkf = b.s_k == 1;
    if (M <= 16) {
        if (akf && bkf) return launch_gemm<16, 128, true, true>(M, N, K, a, b, bias, c, ldc, stream);
        if (akf) return launch_gemm<16, 128, true, false>(M, N, K, a, b, bias, c, ldc, stream);
        if (bkf) return launch_gemm<16, 128, false, true>(M, N, K, a, b, bias, c, ldc, stream);
        return launch_gemm<16, 128, false, false>(M, N, K, a, b, bias, c, ldc, stream);
    }
    if (akf && bkf) return launch_gemm<64, 64, true, true>(M, N, K, a, b, bias, c, ldc, stream);
    if (akf) return launch_gemm<64, 64, true, false>(M, N, K, a, b, bias, c, ldc, stream);
    if (bkf) return launch_gemm<64, 64, false, true>(M, N, K, a, b, bias, c, ldc, stream);
    return launch_gemm<64, 64, false, false>(M, N, K, a, b, bias, c, ldc, stream);
}

cudaError_t linear_forward(int batch, int in_f, int out_f, const float* x, const float* w, const float* bias, float* y,
                           int impl, cudaStream_t stream) {
    if (impl == kImplNaive) {
        T4J_LAUNCH(elementwise_blocks((int64_t)batch * out_f, 256), 256, 0, stream, linear_forward_naive_kernel)(
            batch, in_f, out_f, x, w, bias, y);
        return cudaGetLastError();
    }
    // M = batch, N = out, K = in: A(b, f) = x[b·F + f], B(f, o) = w[o·F + f].
    if (impl == kImplMicroKernel || impl == kImplTf32)
        return gemm_v3(impl, batch, out_f, in_f, StridedOperand{x, in_f, 1}, StridedOperand{w, in_f, 1}, bias, y, out_f, stream);
    return gemm(batch, out_f, in_f, StridedOperand{x, in_f, 1}, StridedOperand{w, in_f, 1}, bias, y, out_f, stream);
}

cudaError_t linear_dx(int batch, int in_f, int out_f, const float* dy, const float* w, float* dx, int impl,
                      cudaStream_t stream) {
    if (impl == kImplNaive) {
        T4J_LAUNCH(elementwise_blocks((int64_t)batch * in_f, 256), 256, 0, stream, linear_dx_naive_kernel)(batch, in_f, out_f,
                                                                                                 dy, w, dx);
        return cudaGetLastError();
    }
    // M = batch, N = in, K = out: A(b, o) = dy[b·O + o], B(o, f) = w[o·F + f].
    if (impl == kImplMicroKernel || impl == kImplTf32)
        return gemm_v3(impl, batch, in_f, out_f, StridedOperand{dy, out_f, 1}, StridedOperand{w, 1, in_f}, nullptr, dx, in_f, stream);
    return gemm(batch, in_f, out_f, StridedOperand{dy, out_f, 1}, StridedOperand{w, 1, in_f}, nullptr, dx, in_f,
                stream);
}

cudaError_t linear_dw_sparse(int batch, int nsel, int out_f, const float* x_sel, const float* dy, float* dw_sel,
                             int impl, cudaStream_t stream) {
    if (impl == kImplNaive) {
        T4J_LAUNCH(elementwise_blocks((int64_t)out_f * nsel, 256), 256, 0, stream, linear_dw_naive_kernel)(batch, nsel, out_f,
                                                                                                 x_sel, dy, dw_sel);
        return cudaGetLastError();
    }
    // M = out, N = nsel, K = batch: A(o, b) = dy[b·O + o], B(b, j) = x_sel[b·nsel + j].
    if (impl == kImplMicroKernel || impl == kImplTf32)
        return gemm_v3(impl, out_f, nsel, batch, StridedOperand{dy, 1, out_f}, StridedOperand{x_sel, 1, nsel}, nullptr, dw_sel, nsel, stream);
    return gemm(out_f, nsel, batch, StridedOperand{dy, 1, out_f}, StridedOperand{x_sel, 1, nsel}, nullptr, dw_sel,
                nsel, stream);
}

}  // namespace trady4j
