// conv2d input gradient (the activation-gradient path that TraDy must still propagate):
//   dx[b, grp·cg + c, ih, iw] = Σ_{o < mg, kh, kw} w[grp·mg + o, c, kh, kw] · dy[b, grp·mg + o, oh, ow]
//   where oh·s = ih + p − kh·dil and ow·s = iw + p − kw·dil (terms with a remainder drop out).
//
// Versions:
//   v1 conv2d_dx_naive_kernel: one thread per dx element (gather form, no atomics). Also used by
//      v2 for layers with one input channel per group (depthwise), where it is a direct conv.
//   v2 conv2d_dx_igemm_kernel: implicit GEMM per group, M = C/g, N = B·H·W, K = C'/g·D²,
//      A = wᵀ, B = dy read through the transposed window. For stride s > 1 about (s²−1)/s² of the
//      B elements are structural zeros that the loader skips reading but the GEMM still
//      multiplies; a stride-phase decomposition would remove them (not done yet).
//   v3 conv2d_dx_igemm_v3_kernel: the same GEMM on the v3 main loop (igemm_v3.cuh): 4x4 or 8x8
//      contiguous thread tiles with 128-bit shared loads, 3-stage cp.async, incremental k.
//   v4: v3 with the tile computed on TF32 tensor cores (mma.sync m16n8k8), opt-in.
//   v7: v3 with an in-block split-K (igemm_v3.cuh, KS = 2 or 4 groups of threads on 32x64 or
//      32x32 tiles) for grids that leave SMs idle with 64x64 tiles.
//   v5 (depthwise.cu) for depthwise layers with k = 3, 5, 7, stride 1 or 2, dilation 1: a tiled
//      direct kernel (stride 1) and a stride-phase kernel (stride 2, no structural zeros).
#include "conv_common.cuh"
#include "igemm.cuh"
#include "igemm_v3.cuh"
#include "kernels.cuh"

#include <climits>

namespace trady4j {

// ---------------------------------------------------------------- v1: reference

__global__ void conv2d_dx_naive_kernel(ConvGeom g, const float* __restrict__ dy, const float* __restrict__ w,
                                       float* __restrict__ dx) {
    const int64_t total = (int64_t)g.batch * g.cin * g.hw;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int iw = (int)(e % g.w);
        const int ih = (int)((e / g.w) % g.h);
        const int ci = (int)((e / g.hw) % g.cin);
        const int b = (int)(e / ((int64_t)g.hw * g.cin));
        const int grp = ci / g.cg;
        const int c = ci - grp * g.cg;
        float acc = 0.f;
        for (int o = 0; o < g.mg; ++o) {
            const int co = grp * g.mg + o;
            const float* dyp = dy + ((int64_t)b * g.cout + co) * g.hwo;
            const float* wp = w + ((int64_t)co * g.cg + c) * g.k2;
            for (int kh = 0; kh < g.k; ++kh) {
                const int th = ih + g.pad - kh * g.dil;
                if (th < 0 || th % g.stride != 0) continue;
                const int oh = th / g.stride;
                if (oh >= g.ho) continue;
                for (int kw = 0; kw < g.k; ++kw) {
                    const int tw = iw + g.pad - kw * g.dil;
                    if (tw < 0 || tw % g.stride != 0) continue;
                    const int ow = tw / g.stride;
                    if (ow >= g.wo) continue;
                    acc = fmaf(wp[kh * g.k + kw], dyp[oh * g.wo + ow], acc);
                }
            }
        }
        dx[e] = acc;
    }
}

// ---------------------------------------------------------------- v2: implicit GEMM

// B(k = (o, kh, kw), n = (b, ih, iw)) = dy[b, grp·mg + o, (ih + p − kh·dil)/s, (iw + p − kw·dil)/s]
// when both divisions are exact and in range, else 0. STRIDE: 1, 2, or 0 for any other stride.
template <int SLOTS, int STRIDE>
struct TransposedWindowLoader {
    static constexpr bool kKFast = false;
    const float* dy;
    int k, k2, dil, ho, wo, hwo, stride;
    int base[SLOTS];
    int th0[SLOTS];
    int tw0[SLOTS];
    int o_off, dh, dw;
    bool k_ok;

    __device__ __forceinline__ void set_row(int slot, int n, const ConvGeom& g) {
        if (n < g.batch * g.hw) {
            const int b = n / g.hw;
            const int p = n - b * g.hw;
            const int ih = p / g.w;
            const int iw = p - ih * g.w;
            base[slot] = b * g.cout * g.hwo;
            th0[slot] = ih + g.pad;
            tw0[slot] = iw + g.pad;
        } else {
            base[slot] = 0;
            th0[slot] = INT_MIN / 2;  // negative for every k: never valid
            tw0[slot] = 0;
        }
    }
    __device__ __forceinline__ void set_k(int kk, bool valid) {
        const int o = kk / k2;
        const int r = kk - o * k2;
        const int kh = r / k;
        const int kw = r - kh * k;
        o_off = o * hwo;
        dh = kh * dil;
        dw = kw * dil;
        k_ok = valid;
    }
    __device__ __forceinline__ float get(int slot) const {
        const int th = th0[slot] - dh;
        const int tw = tw0[slot] - dw;
        if (!k_ok || th < 0 || tw < 0) return 0.f;
        int oh, ow;
        if (STRIDE == 1) {
            oh = th;
            ow = tw;
        } else if (STRIDE == 2) {
            if ((th | tw) & 1) return 0.f;
            oh = th >> 1;
            ow = tw >> 1;
        } else {
            oh = th / stride;
            ow = tw / stride;
            if (oh * stride != th || ow * stride != tw) return 0.f;
        }
        if (oh >= ho || ow >= wo) return 0.f;
        return __ldg(dy + base[slot] + o_off + oh * wo + ow);
    }
};

template <int BM, int BN, int STRIDE>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv2d_dx_igemm_kernel(ConvGeom g, const float* __restrict__ dy, const float* __restrict__ w,
                           float* __restrict__ dx, int m_tiles, int n_tiles) {
    constexpr int TM = BM / 16;
    constexpr int TN = BN / 16;
    __shared__ GemmSmem<BM, BN, true, false> sm;
    const int tid = threadIdx.x;
    int bid = blockIdx.x;
    const int nt = bid % n_tiles;
    bid /= n_tiles;
    const int mt = bid % m_tiles;
    const int grp = bid / m_tiles;
    const int m0 = mt * BM;
    const int n0 = nt * BN;
    const int K = g.mg * g.k2;
    const int N = g.batch * g.hw;

    // A(m = c, k = (o, r)) = w[grp·mg + o, c, r] (r = kh·D + kw)
    BlockedKLoader<TM> A;
    A.p = w + (int64_t)grp * g.mg * g.cg * g.k2;
    A.run = g.k2;
    A.outer_stride = g.cg * g.k2;
    A.rows = g.cg;
#pragma unroll
    for (int i = 0; i < TM; ++i) A.set_row(i, m0 + gemm_map_row<true>(tid, i));

    TransposedWindowLoader<TN, STRIDE> B;
    B.dy = dy + (int64_t)grp * g.mg * g.hwo;
    B.k = g.k;
    B.k2 = g.k2;
    B.dil = g.dil;
    B.ho = g.ho;
    B.wo = g.wo;
    B.hwo = g.hwo;
    B.stride = g.stride;
#pragma unroll
    for (int j = 0; j < TN; ++j) B.set_row(j, n0 + gemm_map_row<false>(tid, j), g);

    float acc[TM][TN];
    gemm_mainloop<BM, BN>(A, B, 0, K, acc, sm);

    const int tx = tid & 15;
    const int ty = tid >> 4;
    int xbase[TN];
    bool n_ok[TN];
#pragma unroll
    for (int j = 0; j < TN; ++j) {
        const int n = n0 + tx + 16 * j;
        n_ok[j] = n < N;
        const int b = n / g.hw;
        xbase[j] = b * g.cin * g.hw + (n - b * g.hw);
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= g.cg) continue;
        float* dxc = dx + (int64_t)(grp * g.cg + m) * g.hw;
#pragma unroll
        for (int j = 0; j < TN; ++j)
            if (n_ok[j]) dxc[xbase[j]] = acc[i][j];
    }
}

// ---------------------------------------------------------------- v3: implicit GEMM, v3 main loop

constexpr int kMaxTapsDxV3 = 64;  // k ≤ 8; larger kernels take v2

// B of v3: as TransposedWindowLoader, with k = (o, r) advanced incrementally and the tap offsets
// (kh·dil, kw·dil) from a table in shared memory.
template <class C, int STRIDE>
struct TransposedWindowV3Loader {
    const float* dy;
    const int* tap_h;
    const int* tap_w;
    int k2, ho, wo, hwo, stride, K, d_o, d_r;
    int k, o, r;
    int base[C::B_SLOTS];
    int th0[C::B_SLOTS];
    int tw0[C::B_SLOTS];
    int dst_off;

    __device__ __forceinline__ void init(const ConvGeom& g, const float* dyg, const int* th, const int* tw, int n0) {
        dy = dyg;
        tap_h = th;
        tap_w = tw;
        k2 = g.k2;
        ho = g.ho;
        wo = g.wo;
        hwo = g.hwo;
        stride = g.stride;
        K = g.mg * g.k2;
        d_o = C::BK / k2;
        d_r = C::BK - d_o * k2;
        const int tid = threadIdx.x;
        const int nl = tid % C::B_RL;
        k = tid / C::B_RL;
        o = k / k2;
        r = k - o * k2;
        const int N = g.batch * g.hw;
#pragma unroll
        for (int j = 0; j < C::B_SLOTS; ++j) {
            const int n = n0 + nl + C::B_RL * j;
            if (n < N) {
                const int b = n / g.hw;
                const int p = n - b * g.hw;
                const int ih = p / g.w;
                base[j] = b * g.cout * g.hwo;
                th0[j] = ih + g.pad;
                tw0[j] = p - ih * g.w + g.pad;
            } else {
                base[j] = 0;
                th0[j] = INT_MIN / 2;  // negative for every k: never valid
                tw0[j] = 0;
            }
        }
        dst_off = k * C::B_LD + nl;
    }
    __device__ __forceinline__ void copy(float* stage) const {
        const bool k_ok = k < K;
        const int dh = k_ok ? tap_h[r] : 0;
        const int dw = k_ok ? tap_w[r] : 0;
        const int ooff = o * hwo;
#pragma unroll
        for (int j = 0; j < C::B_SLOTS; ++j) {
            const int th = th0[j] - dh;
            const int tw = tw0[j] - dw;
            bool ok = k_ok && th >= 0 && tw >= 0;
            int oh, ow;
            if (STRIDE == 1) {
                oh = th;
                ow = tw;
            } else if (STRIDE == 2) {
                ok = ok && ((th | tw) & 1) == 0;
                oh = th >> 1;
                ow = tw >> 1;
            } else {
                oh = ok ? th / stride : 0;
                ow = ok ? tw / stride : 0;
                ok = ok && oh * stride == th && ow * stride == tw;
            }
            ok = ok && oh < ho && ow < wo;
            cp_async4(stage + dst_off + C::B_RL * j, ok ? dy + base[j] + ooff + oh * wo + ow : dy, ok);
        }
    }
    __device__ __forceinline__ void advance() {
        k += C::BK;
        o += d_o;
        r += d_r;
        if (r >= k2) {
            r -= k2;
            ++o;
        }
    }
};

template <class C, int STRIDE>
__global__ void __launch_bounds__(kGemmV3Threads)
    conv2d_dx_igemm_v3_kernel(ConvGeom g, const float* __restrict__ dy, const float* __restrict__ w,
                              float* __restrict__ dx, int m_tiles, int n_tiles) {
    __shared__ GemmV3Smem<C> sm;
    __shared__ int taps[2][kMaxTapsDxV3];
    const int tid = threadIdx.x;
    for (int r = tid; r < g.k2; r += kGemmV3Threads) {
        const int kh = r / g.k;
        taps[0][r] = kh * g.dil;
        taps[1][r] = (r - kh * g.k) * g.dil;
    }
    __syncthreads();
    int bid = blockIdx.x;
    const int nt = bid % n_tiles;
    bid /= n_tiles;
    const int mt = bid % m_tiles;
    const int grp = bid / m_tiles;
    const int m0 = mt * C::BM;
    const int n0 = nt * C::BN;
    const int K = g.mg * g.k2;
    const int N = g.batch * g.hw;

    // A(m = c, k = (o, r)) = w[grp·mg + o, c, r]
    BlockedKALoader<C> A;
    A.init(w + (int64_t)grp * g.mg * g.cg * g.k2, g.k2, g.cg * g.k2, g.cg, K, m0, 0);
    TransposedWindowV3Loader<C, STRIDE> B;
    B.init(g, dy + (int64_t)grp * g.mg * g.hwo, taps[0], taps[1], n0);

    float acc[C::TM][C::TN];
    gemm_v3_mainloop<C>(A, B, ceil_div(K, C::BK), acc, sm);
    if (!gemm_v3_owns_output<C>()) return;

    int xbase[C::TN];
    bool n_ok[C::TN];
#pragma unroll
    for (int j = 0; j < C::TN; ++j) {
        const int n = n0 + gemm_v3_col<C>(j);
        n_ok[j] = n < N;
        const int b = n / g.hw;
        xbase[j] = b * g.cin * g.hw + (n - b * g.hw);
    }
#pragma unroll
    for (int i = 0; i < C::TM; ++i) {
        const int m = m0 + gemm_v3_row<C>(i);
        if (m >= g.cg) continue;
        float* dxc = dx + (int64_t)(grp * g.cg + m) * g.hw;
#pragma unroll
        for (int j = 0; j < C::TN; ++j)
            if (n_ok[j]) dxc[xbase[j]] = acc[i][j];
    }
}

// ---------------------------------------------------------------- launchers

template <int BM, int BN, int STRIDE>
static cudaError_t launch_dx_igemm(const ConvGeom& g, const float* dy, const float* w, float* dx,
                                   cudaStream_t stream) {
    const int m_tiles = ceil_div(g.cg, BM);
    const int n_tiles = ceil_div(g.batch * g.hw, BN);
    const int64_t blocks = (int64_t)g.groups * m_tiles * n_tiles;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kGemmThreads, 0, stream, conv2d_dx_igemm_kernel<BM, BN, STRIDE>)(g, dy, w, dx, m_tiles,
                                                                                        n_tiles);
    return cudaGetLastError();
}

template <int BM, int BN>
static cudaError_t launch_dx_igemm_stride(const ConvGeom& g, const float* dy, const float* w, float* dx,
                                          cudaStream_t stream) {
    if (g.stride == 1) return launch_dx_igemm<BM, BN, 1>(g, dy, w, dx, stream);
    if (g.stride == 2) return launch_dx_igemm<BM, BN, 2>(g, dy, w, dx, stream);
    return launch_dx_igemm<BM, BN, 0>(g, dy, w, dx, stream);
}

template <class C, int STRIDE>
static cudaError_t launch_dx_igemm_v3(const ConvGeom& g, const float* dy, const float* w, float* dx,
                                      cudaStream_t stream) {
    const int m_tiles = ceil_div(g.cg, C::BM);
    const int n_tiles = ceil_div(g.batch * g.hw, C::BN);
    const int64_t blocks = (int64_t)g.groups * m_tiles * n_tiles;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kGemmV3Threads, 0, stream, conv2d_dx_igemm_v3_kernel<C, STRIDE>)(g, dy, w, dx, m_tiles,
                                                                                          n_tiles);
    return cudaGetLastError();
}

template <class C>
static cudaError_t launch_dx_v3_stride(const ConvGeom& g, const float* dy, const float* w, float* dx,
                                       cudaStream_t stream) {
    if (g.stride == 1) return launch_dx_igemm_v3<C, 1>(g, dy, w, dx, stream);
    if (g.stride == 2) return launch_dx_igemm_v3<C, 2>(g, dy, w, dx, stream);
    return launch_dx_igemm_v3<C, 0>(g, dy, w, dx, stream);
}

using DxV3Tile64 = GemmV3Config<64, 64, 16, 3>;
using DxV3Tile128 = GemmV3Config<128, 128, 8, 3>;
using DxTf32Tile = GemmV3Config<64, 64, 16, 3, true>;

// 128x128 tiles (8x8 per thread) only where they still make a full wave of the device's SMs.
static cudaError_t launch_dx_v3(const ConvGeom& g, const float* dy, const float* w, float* dx, cudaStream_t stream) {
    const int64_t big_tiles = (int64_t)g.groups * ceil_div(g.cg, 128) * ceil_div(g.batch * g.hw, 128);
    if (g.cg >= 96 && big_tiles >= current_device_sms()) return launch_dx_v3_stride<DxV3Tile128>(g, dy, w, dx, stream);
    return launch_dx_v3_stride<DxV3Tile64>(g, dy, w, dx, stream);
}

using DxSplitK2 = GemmV3Config<32, 64, 32, 3, false, 2>;
using DxSplitK4 = GemmV3Config<32, 32, 32, 3, false, 4>;

// v7: in-block split-K where the 64x64 tiles leave SMs idle: 2 K groups on 32x64 tiles where
// that grid fills every SM's resident slots (the kernel's real occupancy), else 4 on 32x32.
static cudaError_t launch_dx_splitk(const ConvGeom& g, const float* dy, const float* w, float* dx, cudaStream_t stream) {
    const int64_t ks2_tiles = (int64_t)g.groups * ceil_div(g.cg, DxSplitK2::BM) * ceil_div(g.batch * g.hw, DxSplitK2::BN);
    int per_sm = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, conv2d_dx_igemm_v3_kernel<DxSplitK2, 1>, kGemmV3Threads,
                                                      0) != cudaSuccess ||
        per_sm < 1)
        per_sm = 1;
    if (ks2_tiles >= (int64_t)per_sm * current_device_sms()) return launch_dx_v3_stride<DxSplitK2>(g, dy, w, dx, stream);
    return launch_dx_v3_stride<DxSplitK4>(g, dy, w, dx, stream);
}

cudaError_t conv2d_dx(const trady4j_conv2d_shape& s, const float* dy, const float* w, float* dx, int impl,
                      cudaStream_t stream) {
    const ConvGeom g = make_geom(s);
    if (impl == kImplDepthwiseV3) return depthwise_dx(s, dy, w, dx, stream);
    if (impl == kImplPointwise) return pointwise_dx(s, dy, w, dx, stream);
    if (impl == kImplNaive || g.cg == 1) {
        const int64_t total = (int64_t)g.batch * g.cin * g.hw;
        T4J_LAUNCH(elementwise_blocks(total, 256), 256, 0, stream, conv2d_dx_naive_kernel)(g, dy, w, dx);
        return cudaGetLastError();
    }
    if (impl == kImplMicroKernel && g.k2 <= kMaxTapsDxV3) return launch_dx_v3(g, dy, w, dx, stream);
    if (impl == kImplTf32 && g.k2 <= kMaxTapsDxV3)
        return launch_dx_v3_stride<DxTf32Tile>(g, dy, w, dx, stream);
    if (impl == kImplSplitK && g.k2 <= kMaxTapsDxV3) return launch_dx_splitk(g, dy, w, dx, stream);
    if (g.cg <= 16) return launch_dx_igemm_stride<16, 128>(g, dy, w, dx, stream);
    return launch_dx_igemm_stride<64, 64>(g, dy, w, dx, stream);
}

}  // namespace trady4j
