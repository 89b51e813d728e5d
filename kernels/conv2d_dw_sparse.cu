// Sparse weight gradient of a conv layer from the channel-gathered input (TraDy's update):
//   dw_sel[o, j, kh, kw] = Σ_{b, oh, ow} dy[b, grp(S_j)·C'/g + o, oh, ow]
//                                        · x_sel[b, j, oh·s − p + kh·dil, ow·s − p + kw·dil]
// The full input and the full dW never exist; FLOPs and bytes scale with |S|.
//
// Versions:
//   v1 conv2d_dw_sparse_naive_kernel: one thread per dw_sel element, looping over B·H'·W'.
//   v2 conv2d_dw_sparse_igemm_kernel: implicit GEMM per group with M = C'/g, N = |S_g|·D²,
//      K = B·H'·W' (A = dy rows, contiguous in k; B = the gathered input read through the
//      window), split over K into `splits` slices when M·N alone cannot fill the GPU. Each slice
//      writes its own partial buffer and sum_splits_kernel adds them in slice order: no atomics,
//      so a seeded run reproduces bit for bit.
//      conv2d_dw_sparse_depthwise_kernel<D> for depthwise layers (D² weights per channel): a
//      block per (channel, K slice), D² register accumulators per thread, a fixed-order block
//      reduction, and the same split reduction.
//   v3 conv2d_dw_sparse_igemm_v3_kernel (dense and grouped layers; depthwise ones take v2's
//      kernel): the v2 GEMM and split plan on the v3 main loop (igemm_v3.cuh: 4x4 contiguous
//      thread tiles, 128-bit shared loads, 3-stage cp.async, incremental k).
//   v4: v3 with the tile computed on TF32 tensor cores (mma.sync m16n8k8), opt-in.
//   v5 depthwise_dw_sparse_partial (depthwise.cu) for depthwise layers with k = 3, 5, 7, stride 1
//      or 2, dilation 1, and v6 dw_sparse_stream_partial (dw_sparse_stream.cu) for dense layers with
//      |S|·k² <= 32; both write the same split partial sums, added here.
#include "conv_common.cuh"
#include "igemm.cuh"
#include "igemm_v3.cuh"
#include "kernels.cuh"

#include <climits>

namespace trady4j {

// ---------------------------------------------------------------- v1: reference

__global__ void conv2d_dw_sparse_naive_kernel(ConvGeom g, const float* __restrict__ x_sel,
                                              const float* __restrict__ dy, const int32_t* __restrict__ sel, int nsel,
                                              float* __restrict__ dw) {
    const int64_t total = (int64_t)g.mg * nsel * g.k2;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int r = (int)(e % g.k2);
        const int j = (int)((e / g.k2) % nsel);
        const int o = (int)(e / ((int64_t)g.k2 * nsel));
        const int c = sel[j];
        const int co = (c / g.cg) * g.mg + o;
        const int kh = r / g.k;
        const int kw = r - kh * g.k;
        float acc = 0.f;
        for (int b = 0; b < g.batch; ++b) {
            const float* dyp = dy + ((int64_t)b * g.cout + co) * g.hwo;
            const float* xp = x_sel + ((int64_t)b * nsel + j) * g.hw;
            for (int oh = 0; oh < g.ho; ++oh) {
                const int ih = oh * g.stride - g.pad + kh * g.dil;
                if (ih < 0 || ih >= g.h) continue;
                for (int ow = 0; ow < g.wo; ++ow) {
                    const int iw = ow * g.stride - g.pad + kw * g.dil;
                    if (iw < 0 || iw >= g.w) continue;
                    acc = fmaf(dyp[oh * g.wo + ow], xp[ih * g.w + iw], acc);
                }
            }
        }
        dw[e] = acc;
    }
}

// ---------------------------------------------------------------- v2: implicit GEMM, split-K

// B(k = (b, oh, ow), n = (j, kh, kw)) = x_sel[b, j, oh·s − p + kh·dil, ow·s − p + kw·dil]
// (zero in the padding); consecutive threads take consecutive k, i.e. consecutive ow.
template <int SLOTS>
struct GatheredWindowLoader {
    static constexpr bool kKFast = true;
    const float* x_sel;
    int h, w, hw, hwo, wo, stride, nsel_hw;
    int j_off[SLOTS];
    int dh[SLOTS];
    int dw[SLOTS];
    int b_off, ihb, iwb;
    bool k_ok;

    __device__ __forceinline__ void set_row(int slot, int n, int n_end, const ConvGeom& g) {
        if (n < n_end) {
            const int j = n / g.k2;
            const int r = n - j * g.k2;
            const int kh = r / g.k;
            const int kw = r - kh * g.k;
            j_off[slot] = j * g.hw;
            dh[slot] = kh * g.dil - g.pad;
            dw[slot] = kw * g.dil - g.pad;
        } else {
            j_off[slot] = 0;
            dh[slot] = INT_MIN / 2;  // fails the bounds test for every k
            dw[slot] = 0;
        }
    }
    __device__ __forceinline__ void set_k(int k, bool valid) {
        const int b = k / hwo;
        const int p = k - b * hwo;
        const int oh = p / wo;
        const int ow = p - oh * wo;
        b_off = b * nsel_hw;
        ihb = oh * stride;
        iwb = ow * stride;
        k_ok = valid;
    }
    __device__ __forceinline__ float get(int slot) const {
        const int ih = ihb + dh[slot];
        const int iw = iwb + dw[slot];
        const bool ok = k_ok && (unsigned)ih < (unsigned)h && (unsigned)iw < (unsigned)w;
        return ok ? __ldg(x_sel + b_off + j_off[slot] + ih * w + iw) : 0.f;
    }
};

// First position j in the sorted selection with sel[j] >= c.
__device__ __forceinline__ int lower_bound_sel(const int32_t* sel, int nsel, int c) {
    int lo = 0, hi = nsel;
    while (lo < hi) {
        const int mid = (lo + hi) >> 1;
        if (__ldg(sel + mid) < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// This block's place in the split-K dW grid (n tile fastest, then m tile, then split, then group)
// and, for groups > 1, its group's selected columns [j0, j1) found once by thread 0 (S is sorted,
// so they are contiguous). `jrange` is the caller's two-int shared scratch; every thread must call.
struct DwBlock {
    int nt, mt, split, grp, j0, j1;
};

__device__ __forceinline__ DwBlock dw_block(const ConvGeom& g, const int32_t* sel, int nsel, int m_tiles, int n_tiles,
                                            int splits, int* jrange) {
    DwBlock b;
    int bid = blockIdx.x;
    b.nt = bid % n_tiles;
    bid /= n_tiles;
    b.mt = bid % m_tiles;
    bid /= m_tiles;
    b.split = bid % splits;
    b.grp = bid / splits;
    b.j0 = 0;
    b.j1 = nsel;
    if (g.groups > 1) {
        if (threadIdx.x == 0) {
            jrange[0] = lower_bound_sel(sel, nsel, b.grp * g.cg);
            jrange[1] = lower_bound_sel(sel, nsel, (b.grp + 1) * g.cg);
        }
        __syncthreads();
        b.j0 = jrange[0];
        b.j1 = jrange[1];
    }
    return b;
}

// Grid (linear): n tile fastest, then m tile, then split, then group. Groups > 1: the block finds
// its group's selected columns [j0, j1) (S is sorted, so they are contiguous) and leaves if its
// n tile lies past them.
template <int BM, int BN>
__global__ void __launch_bounds__(kGemmThreads, 2)
    conv2d_dw_sparse_igemm_kernel(ConvGeom g, const float* __restrict__ x_sel, const float* __restrict__ dy,
                                  const int32_t* __restrict__ sel, int nsel, float* __restrict__ out,
                                  int64_t split_stride, int m_tiles, int n_tiles, int splits, int k_chunk) {
    constexpr int TM = BM / 16;
    constexpr int TN = BN / 16;
    __shared__ GemmSmem<BM, BN, true, true> sm;
    __shared__ int jrange[2];
    const int tid = threadIdx.x;
    const DwBlock blk = dw_block(g, sel, nsel, m_tiles, n_tiles, splits, jrange);
    const int nt = blk.nt, mt = blk.mt, split = blk.split, grp = blk.grp, j0 = blk.j0, j1 = blk.j1;
    const int n_begin = j0 * g.k2 + nt * BN;
    const int n_end = j1 * g.k2;
    if (n_begin >= n_end) return;  // uniform over the block
    const int m0 = mt * BM;
    const int K = g.batch * g.hwo;
    const int k_begin = split * k_chunk;
    const int k_end = min(K, k_begin + k_chunk);

    // A(m = o, k = (b, p)) = dy[b, grp·mg + o, p]
    BlockedKLoader<TM> A;
    A.p = dy + (int64_t)grp * g.mg * g.hwo;
    A.run = g.hwo;
    A.outer_stride = g.cout * g.hwo;
    A.rows = g.mg;
#pragma unroll
    for (int i = 0; i < TM; ++i) A.set_row(i, m0 + gemm_map_row<true>(tid, i));

    GatheredWindowLoader<TN> B;
    B.x_sel = x_sel;
    B.h = g.h;
    B.w = g.w;
    B.hw = g.hw;
    B.hwo = g.hwo;
    B.wo = g.wo;
    B.stride = g.stride;
    B.nsel_hw = nsel * g.hw;
#pragma unroll
    for (int j = 0; j < TN; ++j) B.set_row(j, n_begin + gemm_map_row<true>(tid, j), n_end, g);

    float acc[TM][TN];
    gemm_mainloop<BM, BN>(A, B, k_begin, k_end, acc, sm);

    const int tx = tid & 15;
    const int ty = tid >> 4;
    const int ld = nsel * g.k2;
    float* o = out + split * split_stride;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= g.mg) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int n = n_begin + tx + 16 * j;
            if (n < n_end) o[(int64_t)m * ld + n] = acc[i][j];
        }
    }
}

// B of v3: B(k = (b, oh, ow), n = (j, kh, kw)) = x_sel[b, j, oh·s − p + kh·dil, ow·s − p + kw·dil].
// A thread copies one k per tile; (b, oh, ow) advances by BK with two carries (no division).
template <class C>
struct GatheredWindowV3Loader {
    const float* x_sel;
    int h, w, ho, wo, stride, nsel_hw, k_end, d_b, d_oh, d_ow;
    int k, b, oh, ow;
    int j_off[C::B_SLOTS];
    int dh[C::B_SLOTS];
    int dw[C::B_SLOTS];
    int dst_off;

    __device__ __forceinline__ void init(const ConvGeom& g, const float* xs, int nsel, int n0, int n_end, int k_begin,
                                         int k_end_) {
        x_sel = xs;
        h = g.h;
        w = g.w;
        ho = g.ho;
        wo = g.wo;
        stride = g.stride;
        nsel_hw = nsel * g.hw;
        k_end = k_end_;
        d_b = C::BK / g.hwo;
        const int dp = C::BK - d_b * g.hwo;
        d_oh = dp / g.wo;
        d_ow = dp - d_oh * g.wo;
        const int tid = threadIdx.x;
        const int nl = tid % C::B_RL;
        k = k_begin + tid / C::B_RL;
        b = k / g.hwo;
        const int p = k - b * g.hwo;
        oh = p / g.wo;
        ow = p - oh * g.wo;
#pragma unroll
        for (int j = 0; j < C::B_SLOTS; ++j) {
            const int n = n0 + nl + C::B_RL * j;
            if (n < n_end) {
                const int jj = n / g.k2;
                const int r = n - jj * g.k2;
                const int kh = r / g.k;
                j_off[j] = jj * g.hw;
                dh[j] = kh * g.dil - g.pad;
                dw[j] = (r - kh * g.k) * g.dil - g.pad;
            } else {
                j_off[j] = 0;
                dh[j] = INT_MIN / 2;  // fails the bounds test for every k
                dw[j] = 0;
            }
        }
        dst_off = (tid / C::B_RL) * C::B_LD + nl;
    }
    __device__ __forceinline__ void copy(float* stage) const {
        const bool k_ok = k < k_end;
        const int boff = b * nsel_hw;
        const int ihb = oh * stride;
        const int iwb = ow * stride;
#pragma unroll
        for (int j = 0; j < C::B_SLOTS; ++j) {
            const int ih = ihb + dh[j];
            const int iw = iwb + dw[j];
            const bool ok = k_ok && (unsigned)ih < (unsigned)h && (unsigned)iw < (unsigned)w;
            cp_async4(stage + dst_off + C::B_RL * j, ok ? x_sel + boff + j_off[j] + ih * w + iw : x_sel, ok);
        }
    }
    __device__ __forceinline__ void advance() {
        k += C::BK;
        b += d_b;
        oh += d_oh;
        ow += d_ow;
        if (ow >= wo) {
            ow -= wo;
            ++oh;
        }
        if (oh >= ho) {
            oh -= ho;
            ++b;
        }
    }
};

using DwV3Tile = GemmV3Config<64, 64, 16, 3>;
using DwTf32Tile = GemmV3Config<64, 64, 16, 3, true>;

// Grid and split bookkeeping as conv2d_dw_sparse_igemm_kernel.
template <class C>
__global__ void __launch_bounds__(kGemmV3Threads)
    conv2d_dw_sparse_igemm_v3_kernel(ConvGeom g, const float* __restrict__ x_sel, const float* __restrict__ dy,
                                     const int32_t* __restrict__ sel, int nsel, float* __restrict__ out,
                                     int64_t split_stride, int m_tiles, int n_tiles, int splits, int k_chunk) {
    __shared__ GemmV3Smem<C> sm;
    __shared__ int jrange[2];
    const DwBlock blk = dw_block(g, sel, nsel, m_tiles, n_tiles, splits, jrange);
    const int nt = blk.nt, mt = blk.mt, split = blk.split, grp = blk.grp, j0 = blk.j0, j1 = blk.j1;
    const int n_begin = j0 * g.k2 + nt * C::BN;
    const int n_end = j1 * g.k2;
    if (n_begin >= n_end) return;  // uniform over the block
    const int m0 = mt * C::BM;
    const int K = g.batch * g.hwo;
    const int k_begin = split * k_chunk;
    const int k_end = min(K, k_begin + k_chunk);

    // A(m = o, k = (b, p)) = dy[b, grp·mg + o, p]
    BlockedKALoader<C> A;
    A.init(dy + (int64_t)grp * g.mg * g.hwo, g.hwo, g.cout * g.hwo, g.mg, k_end, m0, k_begin);
    GatheredWindowV3Loader<C> B;
    B.init(g, x_sel, nsel, n_begin, n_end, k_begin, k_end);

    float acc[C::TM][C::TN];
    gemm_v3_mainloop<C>(A, B, ceil_div(k_end - k_begin, C::BK), acc, sm);

    const int ld = nsel * g.k2;
    float* o = out + split * split_stride;
#pragma unroll
    for (int i = 0; i < C::TM; ++i) {
        const int m = m0 + gemm_v3_row<C>(i);
        if (m >= g.mg) continue;
#pragma unroll
        for (int j = 0; j < C::TN; ++j) {
            const int n = n_begin + gemm_v3_col<C>(j);
            if (n < n_end) o[(int64_t)m * ld + n] = acc[i][j];
        }
    }
}

template <int D>
__global__ void __launch_bounds__(256)
    conv2d_dw_sparse_depthwise_kernel(ConvGeom g, const float* __restrict__ x_sel, const float* __restrict__ dy,
                                      const int32_t* __restrict__ sel, int nsel, float* __restrict__ out, int splits,
                                      int k_chunk) {
    constexpr int D2 = D * D;
    __shared__ float red[8][D2];
    const int tid = threadIdx.x;
    const int j = blockIdx.x / splits;
    const int split = blockIdx.x - j * splits;
    const int c = __ldg(sel + j);
    const int K = g.batch * g.hwo;
    const int k_begin = split * k_chunk;
    const int k_end = min(K, k_begin + k_chunk);
    float acc[D2];
#pragma unroll
    for (int r = 0; r < D2; ++r) acc[r] = 0.f;
    for (int k = k_begin + tid; k < k_end; k += 256) {
        const int b = k / g.hwo;
        const int p = k - b * g.hwo;
        const int oh = p / g.wo;
        const int ow = p - oh * g.wo;
        const float gv = __ldg(dy + ((int64_t)b * g.cout + c) * g.hwo + p);
        const float* xp = x_sel + ((int64_t)b * nsel + j) * g.hw;
        const int ih0 = oh * g.stride - g.pad;
        const int iw0 = ow * g.stride - g.pad;
#pragma unroll
        for (int kh = 0; kh < D; ++kh) {
            const int ih = ih0 + kh * g.dil;
            const bool row_ok = (unsigned)ih < (unsigned)g.h;
#pragma unroll
            for (int kw = 0; kw < D; ++kw) {
                const int iw = iw0 + kw * g.dil;
                if (row_ok && (unsigned)iw < (unsigned)g.w) acc[kh * D + kw] = fmaf(gv, __ldg(xp + ih * g.w + iw), acc[kh * D + kw]);
            }
        }
    }
    const int warp = tid >> 5;
    const int lane = tid & 31;
#pragma unroll
    for (int r = 0; r < D2; ++r) {
        const float v = warp_sum(acc[r]);
        if (lane == 0) red[warp][r] = v;
    }
    __syncthreads();
    for (int r = tid; r < D2; r += 256) {
        float s = 0.f;
#pragma unroll
        for (int w8 = 0; w8 < 8; ++w8) s += red[w8][r];
        out[(int64_t)split * nsel * D2 + (int64_t)j * D2 + r] = s;
    }
}

// out[e] = Σ_s partial[s·count + e], slices added in order (deterministic).
__global__ void sum_splits_kernel(const float* __restrict__ partial, int splits, int64_t count,
                                  float* __restrict__ out) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < count; e += (int64_t)gridDim.x * blockDim.x) {
        float s = 0.f;
        for (int sp = 0; sp < splits; ++sp) s += partial[sp * count + e];
        out[e] = s;
    }
}

// ---------------------------------------------------------------- plan and launchers

namespace {

constexpr size_t kMaxSplitWorkspace = size_t(256) << 20;  // partial sums never take more than 256 MiB

struct DwPlan {
    int kind;  // 0 naive, 1 igemm (tile bm x bn), 3 depthwise, 4 depthwise v3, 5 streaming v3
    int bm, bn;
    int m_tiles, n_tiles, splits, k_chunk, groups_in_grid;
    size_t workspace;
};

// Slices of K so that the grid fills every SM's resident slots (`blocks_per_sm`, the kernel's
// real occupancy), each slice at least `min_k` long, the partial buffers within
// kMaxSplitWorkspace. k_chunk is rounded to the GEMM's K step.
void choose_splits(DwPlan& p, int64_t tiles, int64_t K, int64_t min_k, int64_t out_elems, int sms,
                   int blocks_per_sm) {
    int64_t splits = ceil_div64((int64_t)blocks_per_sm * (sms > 0 ? sms : 132), tiles > 0 ? tiles : 1);
    const int64_t by_k = K / min_k;
    if (splits > by_k) splits = by_k;
    while (splits > 1 && (size_t)(splits * out_elems) * sizeof(float) > kMaxSplitWorkspace) splits /= 2;
    if (splits < 1) splits = 1;
    int64_t chunk = ceil_div64(K, splits);
    chunk = ceil_div64(chunk, kGemmBK) * kGemmBK;
    splits = ceil_div64(K, chunk);  // no empty slice
    p.splits = (int)splits;
    p.k_chunk = (int)chunk;
    p.workspace = splits > 1 ? (size_t)(splits * out_elems) * sizeof(float) : 0;
}

template <class Kernel>
int blocks_per_sm(Kernel* kernel) {
    int n = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, kGemmThreads, 0) != cudaSuccess || n < 1) n = 1;
    return n;
}

int igemm_blocks_per_sm(const DwPlan& p) {
    if (p.bm == 16 && p.bn == 16) return blocks_per_sm(conv2d_dw_sparse_igemm_kernel<16, 16>);
    if (p.bm == 16 && p.bn == 64) return blocks_per_sm(conv2d_dw_sparse_igemm_kernel<16, 64>);
    if (p.bm == 16) return blocks_per_sm(conv2d_dw_sparse_igemm_kernel<16, 128>);
    if (p.bn == 16) return blocks_per_sm(conv2d_dw_sparse_igemm_kernel<64, 16>);
    return blocks_per_sm(conv2d_dw_sparse_igemm_kernel<64, 64>);
}

int depthwise_blocks_per_sm(int k) {
    switch (k) {
        case 1: return blocks_per_sm(conv2d_dw_sparse_depthwise_kernel<1>);
        case 2: return blocks_per_sm(conv2d_dw_sparse_depthwise_kernel<2>);
        case 3: return blocks_per_sm(conv2d_dw_sparse_depthwise_kernel<3>);
        case 4: return blocks_per_sm(conv2d_dw_sparse_depthwise_kernel<4>);
        case 5: return blocks_per_sm(conv2d_dw_sparse_depthwise_kernel<5>);
        case 6: return blocks_per_sm(conv2d_dw_sparse_depthwise_kernel<6>);
        default: return blocks_per_sm(conv2d_dw_sparse_depthwise_kernel<7>);
    }
}

void adopt(DwPlan& p, const SplitPlan& sp) {
    p.splits = sp.splits;
    p.k_chunk = sp.chunk;
    p.workspace = sp.workspace;
}

DwPlan plan_dw(const trady4j_conv2d_shape& s, int nsel, int sms, int impl) {
    const ConvGeom g = make_geom(s);
    DwPlan p{};
    p.splits = 1;
    const int64_t K = (int64_t)g.batch * g.hwo;
    p.k_chunk = (int)K;
    const int64_t out_elems = (int64_t)g.mg * nsel * g.k2;
    if (impl == kImplNaive) {
        p.kind = 0;
        return p;
    }
    if (is_depthwise(g)) {
        if (g.k > 7) {
            p.kind = 0;
            return p;
        }
        if (impl == kImplDepthwiseV3) {
            p.kind = 4;
            adopt(p, depthwise_dw_sparse_plan(s, nsel, sms));
            return p;
        }
        p.kind = 3;
        choose_splits(p, nsel, K, 2048, out_elems, sms, depthwise_blocks_per_sm(g.k));
        return p;
    }
    if (impl == kImplStreamV3) {
        p.kind = 5;
        adopt(p, dw_sparse_stream_plan(s, nsel, sms));
        return p;
    }
    // Tile by the problem's shape: M = C'/g is often small (MobileNet projections) and N = |S|·D²
    // is small at low channel densities, the case TraDy makes common; K is long and split.
    const int cols = (g.groups == 1 ? nsel : (nsel < g.cg ? nsel : g.cg)) * g.k2;
    p.kind = 1;
    p.bm = g.mg <= 16 ? 16 : 64;
    p.bn = cols <= 16 ? 16 : (cols <= 64 || p.bm == 64 ? 64 : 128);
    p.m_tiles = ceil_div(g.mg, p.bm);
    p.n_tiles = ceil_div(cols, p.bn);
    p.groups_in_grid = g.groups;
    const int64_t busy_groups = g.groups == 1 ? 1 : (nsel < g.groups ? nsel : g.groups);
    choose_splits(p, (int64_t)p.m_tiles * p.n_tiles * busy_groups, K, 256, out_elems, sms, igemm_blocks_per_sm(p));
    return p;
}

template <int BM, int BN>
cudaError_t launch_dw_igemm(const ConvGeom& g, const DwPlan& p, const float* x_sel, const float* dy,
                            const int32_t* sel, int nsel, float* out, int64_t split_stride, cudaStream_t stream) {
    const int64_t blocks = (int64_t)p.groups_in_grid * p.splits * p.m_tiles * p.n_tiles;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kGemmThreads, 0, stream, conv2d_dw_sparse_igemm_kernel<BM, BN>)(
        g, x_sel, dy, sel, nsel, out, split_stride, p.m_tiles, p.n_tiles, p.splits, p.k_chunk);
    return cudaGetLastError();
}

// v3 and v4 take v2's plan (split count, k_chunk, workspace) with their own 64x64 tile count.
template <class C>
cudaError_t launch_dw_igemm_v3(const ConvGeom& g, const DwPlan& p, int nsel, const float* x_sel, const float* dy,
                               const int32_t* sel, float* out, int64_t split_stride, cudaStream_t stream) {
    const int cols = (g.groups == 1 ? nsel : (nsel < g.cg ? nsel : g.cg)) * g.k2;
    const int m_tiles = ceil_div(g.mg, C::BM);
    const int n_tiles = ceil_div(cols, C::BN);
    const int64_t blocks = (int64_t)p.groups_in_grid * p.splits * m_tiles * n_tiles;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kGemmV3Threads, 0, stream, conv2d_dw_sparse_igemm_v3_kernel<C>)(
        g, x_sel, dy, sel, nsel, out, split_stride, m_tiles, n_tiles, p.splits, p.k_chunk);
    return cudaGetLastError();
}

cudaError_t launch_dw_depthwise(const ConvGeom& g, const DwPlan& p, const float* x_sel, const float* dy,
                                const int32_t* sel, int nsel, float* out, cudaStream_t stream) {
    const int64_t blocks = (int64_t)nsel * p.splits;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    const unsigned nb = (unsigned)blocks;
    switch (g.k) {
        case 1: T4J_LAUNCH(nb, 256, 0, stream, conv2d_dw_sparse_depthwise_kernel<1>)(g, x_sel, dy, sel, nsel, out, p.splits, p.k_chunk); break;
        case 2: T4J_LAUNCH(nb, 256, 0, stream, conv2d_dw_sparse_depthwise_kernel<2>)(g, x_sel, dy, sel, nsel, out, p.splits, p.k_chunk); break;
        case 3: T4J_LAUNCH(nb, 256, 0, stream, conv2d_dw_sparse_depthwise_kernel<3>)(g, x_sel, dy, sel, nsel, out, p.splits, p.k_chunk); break;
        case 4: T4J_LAUNCH(nb, 256, 0, stream, conv2d_dw_sparse_depthwise_kernel<4>)(g, x_sel, dy, sel, nsel, out, p.splits, p.k_chunk); break;
        case 5: T4J_LAUNCH(nb, 256, 0, stream, conv2d_dw_sparse_depthwise_kernel<5>)(g, x_sel, dy, sel, nsel, out, p.splits, p.k_chunk); break;
        case 6: T4J_LAUNCH(nb, 256, 0, stream, conv2d_dw_sparse_depthwise_kernel<6>)(g, x_sel, dy, sel, nsel, out, p.splits, p.k_chunk); break;
        default: T4J_LAUNCH(nb, 256, 0, stream, conv2d_dw_sparse_depthwise_kernel<7>)(g, x_sel, dy, sel, nsel, out, p.splits, p.k_chunk); break;
    }
    return cudaGetLastError();
}

}  // namespace

size_t conv2d_dw_sparse_workspace(const trady4j_conv2d_shape& s, int nsel, int sms, int impl) {
    return plan_dw(s, nsel, sms, impl).workspace;
}

cudaError_t conv2d_dw_sparse(const trady4j_conv2d_shape& s, const float* x_sel, const float* dy, const int32_t* sel,
                             int nsel, float* dw_sel, float* workspace, size_t workspace_bytes, int sms, int impl,
                             cudaStream_t stream) {
    const ConvGeom g = make_geom(s);
    const DwPlan p = plan_dw(s, nsel, sms, impl);
    const int64_t out_elems = (int64_t)g.mg * nsel * g.k2;
    if (p.kind == 0) {
        T4J_LAUNCH(elementwise_blocks(out_elems, 256), 256, 0, stream, conv2d_dw_sparse_naive_kernel)(g, x_sel, dy, sel, nsel,
                                                                                           dw_sel);
        return cudaGetLastError();
    }
    if (p.workspace > workspace_bytes || (p.workspace > 0 && workspace == nullptr)) return cudaErrorInvalidValue;
    float* out = p.splits > 1 ? workspace : dw_sel;
    cudaError_t err;
    if (p.kind == 3)
        err = launch_dw_depthwise(g, p, x_sel, dy, sel, nsel, out, stream);
    else if (impl == kImplMicroKernel)
        err = launch_dw_igemm_v3<DwV3Tile>(g, p, nsel, x_sel, dy, sel, out, out_elems, stream);
    else if (impl == kImplTf32)
        err = launch_dw_igemm_v3<DwTf32Tile>(g, p, nsel, x_sel, dy, sel, out, out_elems, stream);
    else if (p.kind == 4)
        err = depthwise_dw_sparse_partial(s, SplitPlan{p.splits, p.k_chunk, p.workspace}, x_sel, dy, sel, nsel, out,
                                          stream);
    else if (p.kind == 5)
        err = dw_sparse_stream_partial(s, SplitPlan{p.splits, p.k_chunk, p.workspace}, x_sel, dy, nsel, out, stream);
    else if (p.bm == 16 && p.bn == 16)
        err = launch_dw_igemm<16, 16>(g, p, x_sel, dy, sel, nsel, out, out_elems, stream);
    else if (p.bm == 16 && p.bn == 64)
        err = launch_dw_igemm<16, 64>(g, p, x_sel, dy, sel, nsel, out, out_elems, stream);
    else if (p.bm == 16)
        err = launch_dw_igemm<16, 128>(g, p, x_sel, dy, sel, nsel, out, out_elems, stream);
    else if (p.bn == 16)
        err = launch_dw_igemm<64, 16>(g, p, x_sel, dy, sel, nsel, out, out_elems, stream);
    else
        err = launch_dw_igemm<64, 64>(g, p, x_sel, dy, sel, nsel, out, out_elems, stream);
    if (err != cudaSuccess || p.splits == 1) return err;
    T4J_LAUNCH(elementwise_blocks(out_elems, 256), 256, 0, stream, sum_splits_kernel)(workspace, p.splits, out_elems, dw_sel);
    return cudaGetLastError();
}

}  // namespace trady4j
