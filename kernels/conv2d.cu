// conv2d forward with folded-BN bias and fused activation (dense, grouped, depthwise; stride,
// padding, dilation), and the masked forward: when a channel selection is given, the same launch
// writes the channel-gathered input x_sel = x[:, S] that the backward pass keeps (extra blocks at
// the end of the grid stream the copy while the convolution blocks run; x is then read from L2).
//
// Versions:
//   v1 conv2d_fwd_naive_kernel: one thread per output element (and per gathered element).
//   v2 conv2d_fwd_igemm_kernel: implicit GEMM per group, M = C'/g, N = B·H'·W', K = C/g·D²,
//      A = weights (rows contiguous in k), B = the im2col view of x fetched on the fly;
//      conv2d_fwd_dw_tiled_kernel for depthwise layers: an output tile per block, its input
//      window (halo included) staged in shared memory once.
//   v3 conv2d_fwd_igemm_v3_kernel (dense and grouped; depthwise layers take v2's kernels): the
//      same GEMM on the v3 main loop of igemm_v3.cuh (4x4 or 8x8 contiguous thread tiles read
//      with 128-bit shared loads, 3-stage cp.async pipeline, tap table and incremental k index
//      instead of per-step divisions).
//   v4: v3 with the tile computed on TF32 tensor cores (mma.sync m16n8k8, igemm_v3.cuh), opt-in.
//   v5 (depthwise.cu) for depthwise layers with k = 3, 5, 7, stride 1 or 2, dilation 1.
//   v6 (pointwise.cu) for 1x1 layers with stride 1, no padding, groups 1 and H·W % 4 == 0.
//   v7: v3 with an in-block split-K (igemm_v3.cuh, KS = 2 or 4 groups of threads on 32x64 or
//      32x32 tiles) for grids that leave SMs idle with 64x64 tiles (ResNet's last stages).
#include "conv_common.cuh"
#include "igemm.cuh"
#include "igemm_v3.cuh"
#include "kernels.cuh"

#include <climits>

namespace trady4j {

// ---------------------------------------------------------------- v1: reference

__global__ void conv2d_fwd_naive_kernel(ConvGeom g, const float* __restrict__ x, const float* __restrict__ w,
                                        const float* __restrict__ bias, int act, float* __restrict__ y,
                                        int64_t y_count, GatherArgs ga) {
    const int64_t gathered = ga.nsel > 0 ? (int64_t)ga.batch * ga.nsel * ga.plane : 0;
    const int64_t total = y_count + gathered;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        if (e < y_count) {
            const int ow = (int)(e % g.wo);
            const int oh = (int)((e / g.wo) % g.ho);
            const int co = (int)((e / g.hwo) % g.cout);
            const int b = (int)(e / ((int64_t)g.hwo * g.cout));
            const int grp = co / g.mg;
            float acc = 0.f;
            for (int c = 0; c < g.cg; ++c) {
                const float* xp = x + ((int64_t)b * g.cin + grp * g.cg + c) * g.hw;
                const float* wp = w + ((int64_t)co * g.cg + c) * g.k2;
                for (int kh = 0; kh < g.k; ++kh) {
                    const int ih = oh * g.stride - g.pad + kh * g.dil;
                    if (ih < 0 || ih >= g.h) continue;
                    for (int kw = 0; kw < g.k; ++kw) {
                        const int iw = ow * g.stride - g.pad + kw * g.dil;
                        if (iw < 0 || iw >= g.w) continue;
                        acc = fmaf(wp[kh * g.k + kw], xp[ih * g.w + iw], acc);
                    }
                }
            }
            y[e] = apply_activation(act, acc + (bias ? bias[co] : 0.f));
        } else {
            const int64_t q = e - y_count;
            const int64_t pl = q / ga.plane;  // b * nsel + j
            const int r = (int)(q - pl * ga.plane);
            const int b = (int)(pl / ga.nsel);
            const int j = (int)(pl - (int64_t)b * ga.nsel);
            ga.x_sel[q] = ga.x[((int64_t)b * ga.channels + ga.sel[j]) * ga.plane + r];
        }
    }
}

// ---------------------------------------------------------------- v2: implicit GEMM

// B operand of the forward GEMM: B(k, n) = x[b, grp·cg + c, oh·s − p + kh·dil, ow·s − p + kw·dil]
// with k = (c, kh, kw) and n = (b, oh, ow); zero in the padding. Consecutive threads take
// consecutive n (consecutive ow: coalesced for stride 1).
template <int SLOTS>
struct Im2colLoader {
    static constexpr bool kKFast = false;
    const float* x;
    int h, w, hw, k, k2, dil;
    int base[SLOTS];
    int ih0[SLOTS];
    int iw0[SLOTS];
    int coff, dh, dw;
    bool k_ok;

    __device__ __forceinline__ void init(const ConvGeom& g, const float* xg) {
        x = xg;
        h = g.h;
        w = g.w;
        hw = g.hw;
        k = g.k;
        k2 = g.k2;
        dil = g.dil;
    }
    // n → (b, oh, ow), once per kernel.
    __device__ __forceinline__ void set_row(int slot, int n, const ConvGeom& g) {
        if (n < g.batch * g.hwo) {
            const int b = n / g.hwo;
            const int p = n - b * g.hwo;
            const int oh = p / g.wo;
            const int ow = p - oh * g.wo;
            base[slot] = b * g.cin * g.hw;
            ih0[slot] = oh * g.stride - g.pad;
            iw0[slot] = ow * g.stride - g.pad;
        } else {
            base[slot] = 0;
            ih0[slot] = INT_MIN / 2;  // fails the bounds test for every k
            iw0[slot] = 0;
        }
    }
    __device__ __forceinline__ void set_k(int kk, bool valid) {
        const int c = kk / k2;
        const int r = kk - c * k2;
        const int kh = r / k;
        const int kw = r - kh * k;
        coff = c * hw;
        dh = kh * dil;
        dw = kw * dil;
        k_ok = valid;
    }
    __device__ __forceinline__ float get(int slot) const {
        const int ih = ih0[slot] + dh;
        const int iw = iw0[slot] + dw;
        const bool ok = k_ok && (unsigned)ih < (unsigned)h && (unsigned)iw < (unsigned)w;
        return ok ? __ldg(x + base[slot] + coff + ih * w + iw) : 0.f;
    }
};

template <int BM, int BN>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv2d_fwd_igemm_kernel(ConvGeom g, const float* __restrict__ x, const float* __restrict__ w,
                            const float* __restrict__ bias, int act, float* __restrict__ y, int m_tiles, int n_tiles,
                            int gemm_blocks, GatherArgs ga) {
    constexpr int TM = BM / 16;
    constexpr int TN = BN / 16;
    __shared__ GemmSmem<BM, BN, true, false> sm;
    const int bid = blockIdx.x;
    if (bid >= gemm_blocks) {
        gather_part(ga, bid - gemm_blocks, gridDim.x - gemm_blocks);
        return;
    }
    const int nt = bid % n_tiles;
    const int rest = bid / n_tiles;
    const int mt = rest % m_tiles;
    const int grp = rest / m_tiles;
    const int m0 = mt * BM;
    const int n0 = nt * BN;
    const int K = g.cg * g.k2;
    const int N = g.batch * g.hwo;
    const int tid = threadIdx.x;

    StridedLoader<TM, true> A;
    A.p = w + (int64_t)grp * g.mg * K;
    A.s_row = K;
    A.s_k = 1;
    A.rows = g.mg;
#pragma unroll
    for (int i = 0; i < TM; ++i) A.set_row(i, m0 + gemm_map_row<true>(tid, i));

    Im2colLoader<TN> B;
    B.init(g, x + (int64_t)grp * g.cg * g.hw);
#pragma unroll
    for (int j = 0; j < TN; ++j) B.set_row(j, n0 + gemm_map_row<false>(tid, j), g);

    float acc[TM][TN];
    gemm_mainloop<BM, BN>(A, B, 0, K, acc, sm);

    const int tx = tid & 15;
    const int ty = tid >> 4;
    int ybase[TN];
    bool n_ok[TN];
#pragma unroll
    for (int j = 0; j < TN; ++j) {
        const int n = n0 + tx + 16 * j;
        n_ok[j] = n < N;
        const int b = n / g.hwo;
        ybase[j] = b * g.cout * g.hwo + (n - b * g.hwo);
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= g.mg) continue;
        const int co = grp * g.mg + m;
        const float bv = bias ? __ldg(bias + co) : 0.f;
        float* yc = y + (int64_t)co * g.hwo;
#pragma unroll
        for (int j = 0; j < TN; ++j)
            if (n_ok[j]) yc[ybase[j]] = apply_activation(act, acc[i][j] + bv);
    }
}

// Depthwise: block = TW x (256/TW) outputs of one plane; the input window they read (halo
// included) is staged in shared memory once, with coalesced row loads.
template <int TW>
__global__ void __launch_bounds__(256)
    conv2d_fwd_dw_tiled_kernel(ConvGeom g, const float* __restrict__ x, const float* __restrict__ w,
                               const float* __restrict__ bias, int act, float* __restrict__ y, int tiles_x,
                               int tiles_y, int conv_blocks, GatherArgs ga) {
    constexpr int TH = 256 / TW;
    T4J_DYNAMIC_SMEM(float, smem);
    const int bid = blockIdx.x;
    if (bid >= conv_blocks) {
        gather_part(ga, bid - conv_blocks, gridDim.x - conv_blocks);
        return;
    }
    const int tile_x = bid % tiles_x;
    const int rest = bid / tiles_x;
    const int tile_y = rest % tiles_y;
    const int plane = rest / tiles_y;  // b * C + c
    const int c = plane % g.cin;
    const int iw_n = (TW - 1) * g.stride + (g.k - 1) * g.dil + 1;
    const int ih_n = (TH - 1) * g.stride + (g.k - 1) * g.dil + 1;
    float* ws = smem;
    float* tile = smem + g.k2;
    const int tid = threadIdx.x;
    for (int e = tid; e < g.k2; e += 256) ws[e] = __ldg(w + c * g.k2 + e);
    const int oh0 = tile_y * TH;
    const int ow0 = tile_x * TW;
    const int ih0 = oh0 * g.stride - g.pad;
    const int iw0 = ow0 * g.stride - g.pad;
    const float* xp = x + (int64_t)plane * g.hw;
    for (int e = tid; e < ih_n * iw_n; e += 256) {
        const int r = e / iw_n;
        const int q = e - r * iw_n;
        const int ih = ih0 + r;
        const int iw = iw0 + q;
        tile[e] = ((unsigned)ih < (unsigned)g.h && (unsigned)iw < (unsigned)g.w) ? __ldg(xp + ih * g.w + iw) : 0.f;
    }
    __syncthreads();
    const int ox = tid % TW;
    const int oy = tid / TW;
    const int oh = oh0 + oy;
    const int ow = ow0 + ox;
    if (oh < g.ho && ow < g.wo) {
        const float* tp = tile + oy * g.stride * iw_n + ox * g.stride;
        float acc = 0.f;
        for (int kh = 0; kh < g.k; ++kh) {
            const float* tr = tp + kh * g.dil * iw_n;
            for (int kw = 0; kw < g.k; ++kw) acc = fmaf(ws[kh * g.k + kw], tr[kw * g.dil], acc);
        }
        y[(int64_t)plane * g.hwo + oh * g.wo + ow] = apply_activation(act, acc + (bias ? __ldg(bias + c) : 0.f));
    }
}

// ---------------------------------------------------------------- v3: implicit GEMM, v3 main loop

constexpr int kMaxTapsV3 = 64;  // k ≤ 8; larger kernels take v2

// B operand of v3: B(k = (c, r), n = (b, oh, ow)) = x[b, grp·cg + c, oh·s − p + dh[r], ow·s − p + dw[r]]
// with the tap offsets (dh, dw) = (kh·dil, kw·dil) from a table in shared memory. A thread copies
// one k per tile for B_SLOTS values of n; k advances by BK as (c, r) += (BK / k², BK mod k²).
template <class C>
struct Im2colV3Loader {
    const float* x;
    const int* tap_h;
    const int* tap_w;
    int h, w, hw, k2, K, dc, dr;
    int k, c, r;
    int base[C::B_SLOTS];
    int ih0[C::B_SLOTS];
    int iw0[C::B_SLOTS];
    int dst_off;

    __device__ __forceinline__ void init(const ConvGeom& g, const float* xg, const int* th, const int* tw, int n0) {
        x = xg;
        tap_h = th;
        tap_w = tw;
        h = g.h;
        w = g.w;
        hw = g.hw;
        k2 = g.k2;
        K = g.cg * g.k2;
        dc = C::BK / k2;
        dr = C::BK - dc * k2;
        const int tid = threadIdx.x;
        const int nl = tid % C::B_RL;
        k = tid / C::B_RL;
        c = k / k2;
        r = k - c * k2;
        const int N = g.batch * g.hwo;
#pragma unroll
        for (int j = 0; j < C::B_SLOTS; ++j) {
            const int n = n0 + nl + C::B_RL * j;
            if (n < N) {
                const int b = n / g.hwo;
                const int p = n - b * g.hwo;
                const int oh = p / g.wo;
                const int ow = p - oh * g.wo;
                base[j] = b * g.cin * g.hw;
                ih0[j] = oh * g.stride - g.pad;
                iw0[j] = ow * g.stride - g.pad;
            } else {
                base[j] = 0;
                ih0[j] = INT_MIN / 2;  // fails the bounds test for every k
                iw0[j] = 0;
            }
        }
        dst_off = k * C::B_LD + nl;
    }
    __device__ __forceinline__ void copy(float* stage) const {
        const bool k_ok = k < K;
        const int dh = k_ok ? tap_h[r] : 0;
        const int dw = k_ok ? tap_w[r] : 0;
        const int coff = c * hw;
#pragma unroll
        for (int j = 0; j < C::B_SLOTS; ++j) {
            const int ih = ih0[j] + dh;
            const int iw = iw0[j] + dw;
            const bool ok = k_ok && (unsigned)ih < (unsigned)h && (unsigned)iw < (unsigned)w;
            cp_async4(stage + dst_off + C::B_RL * j, ok ? x + base[j] + coff + ih * w + iw : x, ok);
        }
    }
    __device__ __forceinline__ void advance() {
        k += C::BK;
        c += dc;
        r += dr;
        if (r >= k2) {
            r -= k2;
            ++c;
        }
    }
};

template <class C>
__global__ void __launch_bounds__(kGemmV3Threads)
    conv2d_fwd_igemm_v3_kernel(ConvGeom g, const float* __restrict__ x, const float* __restrict__ w,
                               const float* __restrict__ bias, int act, float* __restrict__ y, int m_tiles,
                               int n_tiles, int gemm_blocks, GatherArgs ga) {
    __shared__ GemmV3Smem<C> sm;
    __shared__ int taps[2][kMaxTapsV3];
    const int bid = blockIdx.x;
    if (bid >= gemm_blocks) {
        gather_part(ga, bid - gemm_blocks, gridDim.x - gemm_blocks);
        return;
    }
    const int tid = threadIdx.x;
    for (int r = tid; r < g.k2; r += kGemmV3Threads) {
        const int kh = r / g.k;
        taps[0][r] = kh * g.dil;
        taps[1][r] = (r - kh * g.k) * g.dil;
    }
    __syncthreads();
    const int nt = bid % n_tiles;
    const int rest = bid / n_tiles;
    const int mt = rest % m_tiles;
    const int grp = rest / m_tiles;
    const int m0 = mt * C::BM;
    const int n0 = nt * C::BN;
    const int K = g.cg * g.k2;
    const int N = g.batch * g.hwo;

    RowMajorALoader<C> A;
    A.init(w + (int64_t)grp * g.mg * K, K, g.mg, K, m0, 0);
    Im2colV3Loader<C> B;
    B.init(g, x + (int64_t)grp * g.cg * g.hw, taps[0], taps[1], n0);

    float acc[C::TM][C::TN];
    gemm_v3_mainloop<C>(A, B, ceil_div(K, C::BK), acc, sm);
    if (!gemm_v3_owns_output<C>()) return;

    int ybase[C::TN];
    bool n_ok[C::TN];
#pragma unroll
    for (int j = 0; j < C::TN; ++j) {
        const int n = n0 + gemm_v3_col<C>(j);
        n_ok[j] = n < N;
        const int b = n / g.hwo;
        ybase[j] = b * g.cout * g.hwo + (n - b * g.hwo);
    }
#pragma unroll
    for (int i = 0; i < C::TM; ++i) {
        const int m = m0 + gemm_v3_row<C>(i);
        if (m >= g.mg) continue;
        const int co = grp * g.mg + m;
        const float bv = bias ? __ldg(bias + co) : 0.f;
        float* yc = y + (int64_t)co * g.hwo;
#pragma unroll
        for (int j = 0; j < C::TN; ++j)
            if (n_ok[j]) yc[ybase[j]] = apply_activation(act, acc[i][j] + bv);
    }
}

// ---------------------------------------------------------------- launchers

static cudaError_t launch_fwd_naive(const ConvGeom& g, const float* x, const float* w, const float* bias, int act,
                                    float* y, const GatherArgs& ga, cudaStream_t stream) {
    const int64_t y_count = (int64_t)g.batch * g.cout * g.hwo;
    const int64_t total = y_count + (ga.nsel > 0 ? (int64_t)ga.batch * ga.nsel * ga.plane : 0);
    T4J_LAUNCH(elementwise_blocks(total, 256), 256, 0, stream, conv2d_fwd_naive_kernel)(g, x, w, bias, act, y, y_count, ga);
    return cudaGetLastError();
}

template <int BM, int BN>
static cudaError_t launch_fwd_igemm(const ConvGeom& g, const float* x, const float* w, const float* bias, int act,
                                    float* y, const GatherArgs& ga, cudaStream_t stream) {
    const int m_tiles = ceil_div(g.mg, BM);
    const int n_tiles = ceil_div(g.batch * g.hwo, BN);
    const int64_t gemm_blocks = (int64_t)g.groups * m_tiles * n_tiles;
    const int64_t blocks = gemm_blocks + gather_blocks(ga, kGemmThreads);
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kGemmThreads, 0, stream, conv2d_fwd_igemm_kernel<BM, BN>)(
        g, x, w, bias, act, y, m_tiles, n_tiles, (int)gemm_blocks, ga);
    return cudaGetLastError();
}

template <class C>
static cudaError_t launch_fwd_igemm_v3(const ConvGeom& g, const float* x, const float* w, const float* bias, int act,
                                       float* y, const GatherArgs& ga, cudaStream_t stream) {
    const int m_tiles = ceil_div(g.mg, C::BM);
    const int n_tiles = ceil_div(g.batch * g.hwo, C::BN);
    const int64_t gemm_blocks = (int64_t)g.groups * m_tiles * n_tiles;
    const int64_t blocks = gemm_blocks + gather_blocks(ga, kGemmV3Threads);
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kGemmV3Threads, 0, stream, conv2d_fwd_igemm_v3_kernel<C>)(
        g, x, w, bias, act, y, m_tiles, n_tiles, (int)gemm_blocks, ga);
    return cudaGetLastError();
}

using FwdV3Tile64 = GemmV3Config<64, 64, 16, 3>;
using FwdV3Tile128 = GemmV3Config<128, 128, 8, 3>;
using FwdTf32Tile = GemmV3Config<64, 64, 16, 3, true>;

// 128x128 tiles (8x8 per thread) only where they still make a full wave of the device's SMs;
// otherwise 64x64 (4x4 per thread).
static cudaError_t launch_fwd_v3(const ConvGeom& g, const float* x, const float* w, const float* bias, int act,
                                 float* y, const GatherArgs& ga, cudaStream_t stream) {
    const int64_t big_tiles = (int64_t)g.groups * ceil_div(g.mg, 128) * ceil_div(g.batch * g.hwo, 128);
    if (g.mg >= 96 && big_tiles >= current_device_sms()) return launch_fwd_igemm_v3<FwdV3Tile128>(g, x, w, bias, act, y, ga, stream);
    return launch_fwd_igemm_v3<FwdV3Tile64>(g, x, w, bias, act, y, ga, stream);
}

using FwdSplitK2 = GemmV3Config<32, 64, 32, 3, false, 2>;
using FwdSplitK4 = GemmV3Config<32, 32, 32, 3, false, 4>;

// v7: in-block split-K where the 64x64 tiles leave SMs idle: 2 K groups on 32x64 tiles where
// that grid fills every SM's resident slots (the kernel's real occupancy), else 4 on 32x32.
static cudaError_t launch_fwd_splitk(const ConvGeom& g, const float* x, const float* w, const float* bias, int act,
                                     float* y, const GatherArgs& ga, cudaStream_t stream) {
    const int64_t ks2_tiles = (int64_t)g.groups * ceil_div(g.mg, FwdSplitK2::BM) * ceil_div(g.batch * g.hwo, FwdSplitK2::BN);
    int per_sm = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, conv2d_fwd_igemm_v3_kernel<FwdSplitK2>, kGemmV3Threads,
                                                      0) != cudaSuccess ||
        per_sm < 1)
        per_sm = 1;
    if (ks2_tiles >= (int64_t)per_sm * current_device_sms())
        return launch_fwd_igemm_v3<FwdSplitK2>(g, x, w, bias, act, y, ga, stream);
    return launch_fwd_igemm_v3<FwdSplitK4>(g, x, w, bias, act, y, ga, stream);
}

template <int TW>
static cudaError_t launch_fwd_dw_tiled(const ConvGeom& g, const float* x, const float* w, const float* bias, int act,
                                       float* y, const GatherArgs& ga, size_t smem, cudaStream_t stream) {
    constexpr int TH = 256 / TW;
    const int tiles_x = ceil_div(g.wo, TW);
    const int tiles_y = ceil_div(g.ho, TH);
    const int64_t conv_blocks = (int64_t)g.batch * g.cin * tiles_x * tiles_y;
    const int64_t blocks = conv_blocks + gather_blocks(ga, 256);
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, 256, smem, stream, conv2d_fwd_dw_tiled_kernel<TW>)(g, x, w, bias, act, y, tiles_x, tiles_y,
                                                                            (int)conv_blocks, ga);
    return cudaGetLastError();
}

// Shared memory of the depthwise tile for a tile width, or 0 if it would not fit in 48 KiB.
static size_t dw_tile_smem(const ConvGeom& g, int tw) {
    const int th = 256 / tw;
    const int64_t iw_n = (int64_t)(tw - 1) * g.stride + (int64_t)(g.k - 1) * g.dil + 1;
    const int64_t ih_n = (int64_t)(th - 1) * g.stride + (int64_t)(g.k - 1) * g.dil + 1;
    const int64_t bytes = (iw_n * ih_n + g.k2) * (int64_t)sizeof(float);
    return bytes <= 48 * 1024 ? (size_t)bytes : 0;
}

cudaError_t conv2d_forward(const trady4j_conv2d_shape& s, const float* x, const float* w, const float* bias, int act,
                           const int32_t* sel, int nsel, float* x_sel, float* y, int impl, cudaStream_t stream) {
    const ConvGeom g = make_geom(s);
    GatherArgs ga = make_gather(x, sel, x_sel, g.batch, g.cin, nsel > 0 ? nsel : 0, g.hw);
    if (impl == kImplNaive) return launch_fwd_naive(g, x, w, bias, act, y, ga, stream);
    if (is_depthwise(g)) {
        if (impl == kImplDepthwiseV3)
            return depthwise_forward(s, x, w, bias, act, sel, nsel, x_sel, y, stream);
        // Tiny planes leave most of a tile idle: one thread per output is better there.
        if (g.hwo < 64) return launch_fwd_naive(g, x, w, bias, act, y, ga, stream);
        const int tw = g.wo >= 24 ? 32 : (g.wo >= 12 ? 16 : 8);
        const size_t smem = dw_tile_smem(g, tw);
        if (smem == 0) return launch_fwd_naive(g, x, w, bias, act, y, ga, stream);
        if (tw == 32) return launch_fwd_dw_tiled<32>(g, x, w, bias, act, y, ga, smem, stream);
        if (tw == 16) return launch_fwd_dw_tiled<16>(g, x, w, bias, act, y, ga, smem, stream);
        return launch_fwd_dw_tiled<8>(g, x, w, bias, act, y, ga, smem, stream);
    }
    if (impl == kImplPointwise) return pointwise_forward(s, x, w, bias, act, sel, nsel, x_sel, y, stream);
    if (impl == kImplMicroKernel && g.k2 <= kMaxTapsV3) return launch_fwd_v3(g, x, w, bias, act, y, ga, stream);
    if (impl == kImplTf32 && g.k2 <= kMaxTapsV3)
        return launch_fwd_igemm_v3<FwdTf32Tile>(g, x, w, bias, act, y, ga, stream);
    if (impl == kImplSplitK && g.k2 <= kMaxTapsV3) return launch_fwd_splitk(g, x, w, bias, act, y, ga, stream);
    if (g.mg <= 16) return launch_fwd_igemm<16, 128>(g, x, w, bias, act, y, ga, stream);
    return launch_fwd_igemm<64, 64>(g, x, w, bias, act, y, ga, stream);
}

}  // namespace trady4j
