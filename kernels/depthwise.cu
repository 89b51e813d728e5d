// Depthwise convolution, v3: forward, input gradient and sparse weight gradient of a true
// depthwise layer (one input and one output channel per group, dilation 1), compiled for each
// kernel size (3, 5, 7) and stride (1, 2) so that every tap loop is unrolled and every index in
// it is a constant offset.
//
//   forward  dw_direct_kernel<K, S, false>: a block stages the input windows of its output tiles
//            (halo included) in shared memory once; each thread computes kV = 4 consecutive
//            outputs of a row with its K² weights in registers, reading each window row as
//            128-bit shared loads. Small planes (8x8, 4x4: MobileNetV2's late layers) are packed
//            several to a block (`planes_per_block`), so threads are not left idle.
//   dx s=1   the same kernel over dy with the kernel flipped and padding k−1−p.
//   dx s=2   dw_dx_s2_kernel<K, P>: each thread computes a 2x4 block of dx (all four stride
//            phases), so every FMA has a real dy element: no structural zero is multiplied. P is
//            the padding's parity, which fixes which taps meet which phase at compile time.
//   dW       dw_dw_sparse_kernel<K, S>: reads only dy[:, S] (128-bit loads along rows when the
//            row length allows) and x_sel, K² accumulators per thread, a block per (selected
//            channel, slice of output rows); split count from the kernel's real occupancy.
//
// Index arithmetic that remains per element (the staging loop, the dW row loop) uses FastDiv:
// no division instruction inside any loop.
#include "conv_common.cuh"
#include "fast_divmod.cuh"
#include "kernels.cuh"

#include <climits>

namespace trady4j {
namespace dw3 {

constexpr int kThreads = 256;
constexpr int kV = 4;  // outputs per thread along a row
constexpr size_t kMaxSmem = 48 * 1024;
constexpr size_t kMaxSplitWorkspace = size_t(256) << 20;

// The planes a kernel reads (`in`) and writes (`out`): `count` planes of `channels` channels each
// (plane = b·channels + c).
struct Planes {
    int count, channels;
    int in_h, in_w, out_h, out_w;
    int pad;
};

// How the output planes are cut into block tiles. Each thread row of a tile holds 2^tx_log
// threads (kV outputs each), a tile 2^ty_log thread rows (out_rows outputs each); a block
// computes the same tile of `planes_per_block` consecutive planes.
struct Tiling {
    int tx_log, ty_log, out_rows;
    int planes_per_block, threads;
    int tiles_x, tiles_y;
    int stage_h, stage_w, stage_stride;  // the staged input window of one plane (stride % 4 == 0)
    FastDiv by_stage_w, by_stage_h;
    bool vec_out;  // out_w % 4 == 0 and `out` 16-byte aligned: float4 stores
    int64_t blocks;
    size_t smem;
};

__host__ __device__ constexpr int even_floor(int t) { return t - (t & 1); }
__host__ __device__ constexpr int even_ceil(int t) { return t + (t & 1); }

// N consecutive floats from shared memory, `A`-float aligned (4: 128-bit loads, 2: 64-bit).
template <int N, int A>
__device__ __forceinline__ void load_row(const float* p, float (&r)[N]) {
    int i = 0;
    if (A == 4) {
#pragma unroll
        for (; i + 4 <= N; i += 4) {
            const float4 v = *reinterpret_cast<const float4*>(p + i);
            r[i] = v.x;
            r[i + 1] = v.y;
            r[i + 2] = v.z;
            r[i + 3] = v.w;
        }
    }
#pragma unroll
    for (; i + 2 <= N; i += 2) {
        const float2 v = *reinterpret_cast<const float2*>(p + i);
        r[i] = v.x;
        r[i + 1] = v.y;
    }
    if (i < N) r[i] = p[i];
}

// Stages the input window of this block's tile for each of its planes; zero outside the input.
__device__ __forceinline__ void stage_windows(const Planes& pl, const Tiling& t, const float* __restrict__ in,
                                              int plane0, int row0, int col0, float* tile) {
    const int total = t.planes_per_block * t.stage_h * t.stage_w;
    const int64_t in_hw = (int64_t)pl.in_h * pl.in_w;
    for (int e = threadIdx.x; e < total; e += blockDim.x) {
        const int q = t.by_stage_w.div(e);
        const int c = e - q * t.stage_w;
        const int p = t.by_stage_h.div(q);
        const int r = q - p * t.stage_h;
        const int plane = plane0 + p;
        const int ih = row0 + r;
        const int iw = col0 + c;
        float v = 0.f;
        if (plane < pl.count && (unsigned)ih < (unsigned)pl.in_h && (unsigned)iw < (unsigned)pl.in_w)
            v = __ldg(in + plane * in_hw + ih * pl.in_w + iw);
        tile[(p * t.stage_h + r) * t.stage_stride + c] = v;
    }
}

template <int V>
__device__ __forceinline__ void store_row(float* p, const float (&v)[V], int valid, bool vec) {
    if (V == 4 && vec && valid >= 4) {
        *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
        return;
    }
#pragma unroll
    for (int i = 0; i < V; ++i)
        if (i < valid) p[i] = v[i];
}

// out[plane, oh, ow] = act(Σ_{kh,kw} w'[c, kh, kw] · in[plane, oh·S − pad + kh, ow·S − pad + kw] + bias[c])
// with w' = w (forward) or w flipped in both axes (FLIP: the stride-1 input gradient).
template <int K, int S, bool FLIP>
__global__ void __launch_bounds__(kThreads)
    dw_direct_kernel(Planes pl, Tiling t, const float* __restrict__ in, const float* __restrict__ w,
                     const float* __restrict__ bias, int act, float* __restrict__ out, GatherArgs ga) {
    constexpr int SEG = (kV - 1) * S + K;  // input columns one thread's kV outputs read
    T4J_DYNAMIC_SMEM(float, tile);
    const int conv_blocks = (int)t.blocks;
    const int bid = blockIdx.x;
    if (bid >= conv_blocks) {
        gather_part(ga, bid - conv_blocks, gridDim.x - conv_blocks);
        return;
    }
    const int tile_x = bid % t.tiles_x;
    const int rest = bid / t.tiles_x;
    const int tile_y = rest % t.tiles_y;
    const int plane0 = (rest / t.tiles_y) * t.planes_per_block;
    const int tid = threadIdx.x;
    const int plane_local = tid >> (t.tx_log + t.ty_log);
    const int ty = (tid >> t.tx_log) & ((1 << t.ty_log) - 1);
    const int tx = tid & ((1 << t.tx_log) - 1);
    const int plane = plane0 + plane_local;
    const int oh = (tile_y << t.ty_log) + ty;
    const int ow0 = (tile_x << t.tx_log) * kV;
    const int ow = ow0 + tx * kV;
    const bool active = plane < pl.count && oh < pl.out_h && ow < pl.out_w;

    // Weights into registers first: their latency overlaps the staging.
    float wr[K * K];
    const int c = active ? plane % pl.channels : 0;
#pragma unroll
    for (int i = 0; i < K * K; ++i) wr[i] = __ldg(w + c * K * K + (FLIP ? K * K - 1 - i : i));
    const float bv = (active && bias) ? __ldg(bias + c) : 0.f;

    stage_windows(pl, t, in, plane0, (tile_y << t.ty_log) * S - pl.pad, ow0 * S - pl.pad, tile);
    __syncthreads();
    if (!active) return;

    const float* base = tile + (plane_local * t.stage_h + ty * S) * t.stage_stride + tx * kV * S;
    float acc[kV];
#pragma unroll
    for (int v = 0; v < kV; ++v) acc[v] = 0.f;
#pragma unroll
    for (int kh = 0; kh < K; ++kh) {
        float seg[SEG];
        load_row<SEG, (kV * S) % 4 == 0 ? 4 : 2>(base + kh * t.stage_stride, seg);
#pragma unroll
        for (int kw = 0; kw < K; ++kw) {
            const float wv = wr[kh * K + kw];
#pragma unroll
            for (int v = 0; v < kV; ++v) acc[v] = fmaf(wv, seg[v * S + kw], acc[v]);
        }
    }
#pragma unroll
    for (int v = 0; v < kV; ++v) acc[v] = apply_activation(act, acc[v] + bv);
    store_row<kV>(out + (int64_t)plane * pl.out_h * pl.out_w + oh * pl.out_w + ow, acc, pl.out_w - ow, t.vec_out);
}

// Stride-2 input gradient: dx[plane, ih, iw] = Σ w[c, kh, kw] · dy[plane, (ih + p − kh)/2, (iw + p − kw)/2]
// over the taps where both divisions are exact. `pl.in_*` are dy's sizes, `pl.out_*` dx's.
// Thread (ty, tx) of a tile computes dx rows ih0 + 2ty + {0, 1} and columns iw0 + 4tx + {0..3}
// (ih0 even, iw0 ≡ 0 mod 4), so with P = p mod 2 the dy row of tap (dih, kh) is
// rbase + (P + dih − kh)/2 and the term exists iff P + dih − kh is even: both compile-time.
template <int K, int P>
__global__ void __launch_bounds__(kThreads)
    dw_dx_s2_kernel(Planes pl, Tiling t, const float* __restrict__ dy, const float* __restrict__ w,
                    float* __restrict__ dx) {
    constexpr int TMIN = even_ceil(P - (K - 1));  // smallest even P + d − k over the taps
    constexpr int CMIN = TMIN / 2;
    constexpr int NR = even_floor(P + 1) / 2 - CMIN + 1;   // dy rows a thread reads
    constexpr int SEG = even_floor(P + 3) / 2 - CMIN + 1;  // dy columns a thread reads
    T4J_DYNAMIC_SMEM(float, tile);
    const int bid = blockIdx.x;
    const int tile_x = bid % t.tiles_x;
    const int rest = bid / t.tiles_x;
    const int tile_y = rest % t.tiles_y;
    const int plane0 = (rest / t.tiles_y) * t.planes_per_block;
    const int tid = threadIdx.x;
    const int plane_local = tid >> (t.tx_log + t.ty_log);
    const int ty = (tid >> t.tx_log) & ((1 << t.ty_log) - 1);
    const int tx = tid & ((1 << t.tx_log) - 1);
    const int plane = plane0 + plane_local;
    const int ih0 = (tile_y << t.ty_log) * 2;
    const int iw0 = (tile_x << t.tx_log) * kV;
    const int ih = ih0 + 2 * ty;
    const int iw = iw0 + kV * tx;
    const bool active = plane < pl.count && ih < pl.out_h && iw < pl.out_w;

    float wr[K * K];
    const int c = active ? plane % pl.channels : 0;
#pragma unroll
    for (int i = 0; i < K * K; ++i) wr[i] = __ldg(w + c * K * K + i);

    const int rb0 = (ih0 + pl.pad - P) / 2;  // exact: ih0 even, pad ≡ P
    const int cb0 = (iw0 + pl.pad - P) / 2;
    stage_windows(pl, t, dy, plane0, rb0 + CMIN, cb0 + CMIN, tile);
    __syncthreads();
    if (!active) return;

    const float* base = tile + (plane_local * t.stage_h + ty) * t.stage_stride + 2 * tx;
    float acc[2][kV];
#pragma unroll
    for (int d = 0; d < 2; ++d)
#pragma unroll
        for (int v = 0; v < kV; ++v) acc[d][v] = 0.f;
#pragma unroll
    for (int rr = 0; rr < NR; ++rr) {
        float seg[SEG];
        load_row<SEG, 2>(base + rr * t.stage_stride, seg);
#pragma unroll
        for (int dih = 0; dih < 2; ++dih)
#pragma unroll
            for (int kh = 0; kh < K; ++kh) {
                const int tr = P + dih - kh;
                if ((tr & 1) || tr / 2 - CMIN != rr) continue;
#pragma unroll
                for (int dv = 0; dv < kV; ++dv)
#pragma unroll
                    for (int kw = 0; kw < K; ++kw) {
                        const int tc = P + dv - kw;
                        if (tc & 1) continue;
                        acc[dih][dv] = fmaf(wr[kh * K + kw], seg[tc / 2 - CMIN], acc[dih][dv]);
                    }
            }
    }
    float* op = dx + (int64_t)plane * pl.out_h * pl.out_w + ih * pl.out_w + iw;
    store_row<kV>(op, acc[0], pl.out_w - iw, t.vec_out);
    if (ih + 1 < pl.out_h) store_row<kV>(op + pl.out_w, acc[1], pl.out_w - iw, t.vec_out);
}

// Sparse weight gradient: out[split, j, kh·K + kw] = Σ over this split's output rows (b, oh) and
// columns ow of dy[b, S_j, oh, ow] · x_sel[b, j, oh·S − p + kh, ow·S − p + kw].
struct GradGeom {
    int batch, channels, h, w, ho, wo, pad;
    int tx_log;   // 2^tx_log threads across a row, each kV columns at a time
    int strips;   // ceil(wo / kV)
    bool vec_dy;  // wo % 4 == 0 and dy 16-byte aligned
    FastDiv by_ho;
};

template <int K, int S>
__global__ void __launch_bounds__(kThreads)
    dw_dw_sparse_kernel(GradGeom g, const float* __restrict__ x_sel, const float* __restrict__ dy,
                        const int32_t* __restrict__ sel, int nsel, float* __restrict__ out, int splits,
                        int rows_per_split) {
    constexpr int K2 = K * K;
    constexpr int SEG = (kV - 1) * S + K;
    __shared__ float red[kThreads / 32][K2];
    const int tid = threadIdx.x;
    const int j = blockIdx.x / splits;
    const int split = blockIdx.x - j * splits;
    const int c = __ldg(sel + j);
    const int rows = g.batch * g.ho;
    const int r_begin = split * rows_per_split;
    const int r_end = min(rows, r_begin + rows_per_split);
    const int tx_n = 1 << g.tx_log;
    const int row_step = kThreads >> g.tx_log;
    const int hwo = g.ho * g.wo;
    const int hw = g.h * g.w;
    float acc[K2];
#pragma unroll
    for (int r = 0; r < K2; ++r) acc[r] = 0.f;
    for (int r = r_begin + (tid >> g.tx_log); r < r_end; r += row_step) {
        const int b = g.by_ho.div(r);
        const int oh = r - b * g.ho;
        const float* dyr = dy + ((int64_t)b * g.channels + c) * hwo + oh * g.wo;
        const float* xp = x_sel + ((int64_t)b * nsel + j) * hw;
        const int ihb = oh * S - g.pad;
        for (int strip = tid & (tx_n - 1); strip < g.strips; strip += tx_n) {
            const int ow0 = strip * kV;
            float gv[kV];
            if (g.vec_dy && ow0 + kV <= g.wo) {
                const float4 q = __ldg(reinterpret_cast<const float4*>(dyr + ow0));
                gv[0] = q.x;
                gv[1] = q.y;
                gv[2] = q.z;
                gv[3] = q.w;
            } else {
#pragma unroll
                for (int v = 0; v < kV; ++v) gv[v] = ow0 + v < g.wo ? __ldg(dyr + ow0 + v) : 0.f;
            }
            const int iwb = ow0 * S - g.pad;
#pragma unroll
            for (int kh = 0; kh < K; ++kh) {
                const int ih = ihb + kh;
                if ((unsigned)ih >= (unsigned)g.h) continue;
                const float* xr = xp + ih * g.w;
                float seg[SEG];
#pragma unroll
                for (int q = 0; q < SEG; ++q) {
                    const int iw = iwb + q;
                    seg[q] = (unsigned)iw < (unsigned)g.w ? __ldg(xr + iw) : 0.f;
                }
#pragma unroll
                for (int kw = 0; kw < K; ++kw)
#pragma unroll
                    for (int v = 0; v < kV; ++v) acc[kh * K + kw] = fmaf(gv[v], seg[v * S + kw], acc[kh * K + kw]);
            }
        }
    }
    const int warp = tid >> 5;
    const int lane = tid & 31;
#pragma unroll
    for (int r = 0; r < K2; ++r) {
        const float v = warp_sum(acc[r]);
        if (lane == 0) red[warp][r] = v;
    }
    __syncthreads();
    for (int r = tid; r < K2; r += kThreads) {
        float s = 0.f;
#pragma unroll
        for (int w8 = 0; w8 < kThreads / 32; ++w8) s += red[w8][r];
        out[(int64_t)split * nsel * K2 + (int64_t)j * K2 + r] = s;
    }
}

// ---------------------------------------------------------------- host planning

int log2_ceil(int n) {
    int l = 0;
    while ((1 << l) < n) ++l;
    return l;
}

// Tiles of 2^tx_log · kV outputs across and 2^ty_log · out_rows down; several planes per block
// when a plane is smaller than a block. `window(tx_n, ty_n, &h, &w)` gives the staged input
// window of a tile. Shrinks planes per block, then tile height, until the window fits kMaxSmem;
// `blocks` = 0 if it never does.
template <class Window>
Tiling make_tiling(int planes, int out_h, int out_w, int out_rows, const float* out, Window window) {
    Tiling t{};
    t.out_rows = out_rows;
    t.tx_log = log2_ceil(ceil_div(out_w, kV));
    if (t.tx_log > 4) t.tx_log = 4;  // at most 64 outputs across
    t.ty_log = log2_ceil(ceil_div(out_h, out_rows));
    if (t.ty_log > 8 - t.tx_log) t.ty_log = 8 - t.tx_log;
    int ppb_log = 8 - t.tx_log - t.ty_log;
    if (ppb_log > log2_ceil(planes)) ppb_log = log2_ceil(planes);
    for (;;) {
        window(1 << t.tx_log, 1 << t.ty_log, &t.stage_h, &t.stage_w);
        t.stage_stride = (t.stage_w + 3) & ~3;
        t.smem = (size_t)(1 << ppb_log) * t.stage_h * t.stage_stride * sizeof(float);
        if (t.smem <= kMaxSmem) break;
        if (ppb_log > 0)
            --ppb_log;
        else if (t.ty_log > 0)
            --t.ty_log;
        else
            return t;  // blocks == 0: does not fit
    }
    t.planes_per_block = 1 << ppb_log;
    t.threads = t.planes_per_block << (t.tx_log + t.ty_log);
    t.tiles_x = ceil_div(out_w, kV << t.tx_log);
    t.tiles_y = ceil_div(out_h, out_rows << t.ty_log);
    t.by_stage_w = FastDiv::of(t.stage_w);
    t.by_stage_h = FastDiv::of(t.stage_h);
    t.vec_out = out_w % 4 == 0 && (reinterpret_cast<uintptr_t>(out) & 15u) == 0;
    t.blocks = (int64_t)ceil_div(planes, t.planes_per_block) * t.tiles_x * t.tiles_y;
    return t;
}

Tiling direct_tiling(const Planes& pl, int k, int s, const float* out) {
    return make_tiling(pl.count, pl.out_h, pl.out_w, 1, out, [&](int tx_n, int ty_n, int* h, int* w) {
        *h = (ty_n - 1) * s + k;
        *w = (tx_n * kV - 1) * s + k;
    });
}

Tiling dx_s2_tiling(const Planes& pl, int k, const float* out) {
    const int parity = pl.pad & 1;
    const int cmin = even_ceil(parity - (k - 1)) / 2;
    const int nr = even_floor(parity + 1) / 2 - cmin + 1;
    const int seg = even_floor(parity + 3) / 2 - cmin + 1;
    return make_tiling(pl.count, pl.out_h, pl.out_w, 2, out, [&](int tx_n, int ty_n, int* h, int* w) {
        *h = (ty_n - 1) + nr;
        *w = 2 * (tx_n - 1) + seg;
    });
}

bool geometry_supported(const ConvGeom& g) {
    return is_depthwise(g) && g.dil == 1 && (g.k == 3 || g.k == 5 || g.k == 7) && (g.stride == 1 || g.stride == 2);
}

template <int K, int S, bool FLIP>
cudaError_t launch_direct(const Planes& pl, const Tiling& t, const float* in, const float* w, const float* bias,
                          int act, float* out, const GatherArgs& ga, cudaStream_t stream) {
    const int64_t blocks = t.blocks + gather_blocks(ga, t.threads);
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, t.threads, t.smem, stream, dw_direct_kernel<K, S, FLIP>)(pl, t, in, w, bias, act, out,
                                                                                         ga);
    return cudaGetLastError();
}

template <int K, bool FLIP>
cudaError_t launch_direct_stride(int s, const Planes& pl, const Tiling& t, const float* in, const float* w,
                                 const float* bias, int act, float* out, const GatherArgs& ga, cudaStream_t stream) {
    return s == 1 ? launch_direct<K, 1, FLIP>(pl, t, in, w, bias, act, out, ga, stream)
                  : launch_direct<K, 2, FLIP>(pl, t, in, w, bias, act, out, ga, stream);
}

template <int K>
cudaError_t launch_dx_s2(const Planes& pl, const Tiling& t, const float* dy, const float* w, float* dx,
                         cudaStream_t stream) {
    if (t.blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    if (pl.pad & 1)
        T4J_LAUNCH((unsigned)t.blocks, t.threads, t.smem, stream, dw_dx_s2_kernel<K, 1>)(pl, t, dy, w, dx);
    else
        T4J_LAUNCH((unsigned)t.blocks, t.threads, t.smem, stream, dw_dx_s2_kernel<K, 0>)(pl, t, dy, w, dx);
    return cudaGetLastError();
}

template <int K, int S>
int dw_grad_blocks_per_sm() {
    int n = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, dw_dw_sparse_kernel<K, S>, kThreads, 0) != cudaSuccess ||
        n < 1)
        n = 1;
    return n;
}

int grad_blocks_per_sm(int k, int s) {
    switch (k * 10 + s) {
        case 31: return dw_grad_blocks_per_sm<3, 1>();
        case 32: return dw_grad_blocks_per_sm<3, 2>();
        case 51: return dw_grad_blocks_per_sm<5, 1>();
        case 52: return dw_grad_blocks_per_sm<5, 2>();
        case 71: return dw_grad_blocks_per_sm<7, 1>();
        default: return dw_grad_blocks_per_sm<7, 2>();
    }
}

GradGeom grad_geom(const ConvGeom& g, const float* dy) {
    GradGeom gg;
    gg.batch = g.batch;
    gg.channels = g.cout;
    gg.h = g.h;
    gg.w = g.w;
    gg.ho = g.ho;
    gg.wo = g.wo;
    gg.pad = g.pad;
    gg.strips = ceil_div(g.wo, kV);
    gg.tx_log = log2_ceil(gg.strips);
    if (gg.tx_log > 8) gg.tx_log = 8;
    gg.vec_dy = g.wo % 4 == 0 && (reinterpret_cast<uintptr_t>(dy) & 15u) == 0;
    gg.by_ho = FastDiv::of(g.ho);
    return gg;
}

}  // namespace dw3

// ---------------------------------------------------------------- entry points (kernels.cuh)

bool depthwise_v3_supports(const trady4j_conv2d_shape& s) { return dw3::geometry_supported(make_geom(s)); }

cudaError_t depthwise_forward(const trady4j_conv2d_shape& s, const float* x, const float* w, const float* bias, int act,
                              const int32_t* sel, int nsel, float* x_sel, float* y, cudaStream_t stream) {
    using namespace dw3;
    const ConvGeom g = make_geom(s);
    if (!geometry_supported(g)) return cudaErrorInvalidValue;
    const GatherArgs ga = make_gather(x, sel, x_sel, g.batch, g.cin, nsel > 0 ? nsel : 0, g.hw);
    const Planes pl{g.batch * g.cin, g.cin, g.h, g.w, g.ho, g.wo, g.pad};
    const Tiling t = direct_tiling(pl, g.k, g.stride, y);
    if (t.blocks == 0) return cudaErrorInvalidValue;
    switch (g.k) {
        case 3: return launch_direct_stride<3, false>(g.stride, pl, t, x, w, bias, act, y, ga, stream);
        case 5: return launch_direct_stride<5, false>(g.stride, pl, t, x, w, bias, act, y, ga, stream);
        default: return launch_direct_stride<7, false>(g.stride, pl, t, x, w, bias, act, y, ga, stream);
    }
}

cudaError_t depthwise_dx(const trady4j_conv2d_shape& s, const float* dy, const float* w, float* dx,
                         cudaStream_t stream) {
    using namespace dw3;
    const ConvGeom g = make_geom(s);
    if (!geometry_supported(g)) return cudaErrorInvalidValue;
    const GatherArgs none = make_gather(nullptr, nullptr, nullptr, 0, 0, 0, 0);
    if (g.stride == 1) {
        const Planes pl{g.batch * g.cin, g.cin, g.ho, g.wo, g.h, g.w, g.k - 1 - g.pad};
        const Tiling t = direct_tiling(pl, g.k, 1, dx);
        if (t.blocks == 0) return cudaErrorInvalidValue;
        switch (g.k) {
            case 3: return launch_direct<3, 1, true>(pl, t, dy, w, nullptr, TRADY4J_ACT_NONE, dx, none, stream);
            case 5: return launch_direct<5, 1, true>(pl, t, dy, w, nullptr, TRADY4J_ACT_NONE, dx, none, stream);
            default: return launch_direct<7, 1, true>(pl, t, dy, w, nullptr, TRADY4J_ACT_NONE, dx, none, stream);
        }
    }
    const Planes pl{g.batch * g.cin, g.cin, g.ho, g.wo, g.h, g.w, g.pad};
    const Tiling t = dx_s2_tiling(pl, g.k, dx);
    if (t.blocks == 0) return cudaErrorInvalidValue;
    switch (g.k) {
        case 3: return launch_dx_s2<3>(pl, t, dy, w, dx, stream);
        case 5: return launch_dx_s2<5>(pl, t, dy, w, dx, stream);
        default: return launch_dx_s2<7>(pl, t, dy, w, dx, stream);
    }
}

SplitPlan depthwise_dw_sparse_plan(const trady4j_conv2d_shape& s, int nsel, int sms) {
    using namespace dw3;
    const ConvGeom g = make_geom(s);
    const GradGeom gg = grad_geom(g, nullptr);
    SplitPlan p{};
    const int64_t rows = (int64_t)g.batch * g.ho;
    const int64_t row_step = kThreads >> gg.tx_log;
    // Enough blocks for every SM's resident slots; each block at least 4 row steps long.
    const int64_t resident = (int64_t)(sms > 0 ? sms : 1) * grad_blocks_per_sm(g.k, g.stride);
    int64_t splits = ceil_div64(resident, nsel);
    const int64_t by_rows = rows / (4 * row_step);
    if (splits > by_rows) splits = by_rows;
    const int64_t out_elems = (int64_t)nsel * g.k2;
    while (splits > 1 && (size_t)(splits * out_elems) * sizeof(float) > dw3::kMaxSplitWorkspace) splits /= 2;
    if (splits < 1) splits = 1;
    const int64_t chunk = ceil_div64(rows, splits);
    splits = ceil_div64(rows, chunk);
    p.splits = (int)splits;
    p.chunk = (int)chunk;
    p.workspace = splits > 1 ? (size_t)(splits * out_elems) * sizeof(float) : 0;
    return p;
}

cudaError_t depthwise_dw_sparse_partial(const trady4j_conv2d_shape& s, const SplitPlan& p, const float* x_sel,
                                        const float* dy, const int32_t* sel, int nsel, float* out,
                                        cudaStream_t stream) {
    using namespace dw3;
    const ConvGeom g = make_geom(s);
    if (!geometry_supported(g)) return cudaErrorInvalidValue;
    const GradGeom gg = grad_geom(g, dy);
    const int64_t blocks = (int64_t)nsel * p.splits;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    const unsigned nb = (unsigned)blocks;
#define T4J_DW3_GRAD(K, S) \
    T4J_LAUNCH(nb, kThreads, 0, stream, dw_dw_sparse_kernel<K, S>)(gg, x_sel, dy, sel, nsel, out, p.splits, p.chunk)
    switch (g.k * 10 + g.stride) {
        case 31: T4J_DW3_GRAD(3, 1); break;
        case 32: T4J_DW3_GRAD(3, 2); break;
        case 51: T4J_DW3_GRAD(5, 1); break;
        case 52: T4J_DW3_GRAD(5, 2); break;
        case 71: T4J_DW3_GRAD(7, 1); break;
        default: T4J_DW3_GRAD(7, 2); break;
    }
#undef T4J_DW3_GRAD
    return cudaGetLastError();
}

}  // namespace trady4j
