// Pointwise (1x1, stride 1, no padding, groups = 1) convolution forward and input gradient, v7:
//   forward  y[b, o, p]  = act(bias[o] + Σ_c w[o, c] · x[b, c, p])
//   dx       dx[b, c, p] = Σ_o w[o, c] · dy[b, o, p]
// Both are out[b, r, p] = Σ_k A(r, k) · in[b, k, p] with A = w (forward) or wᵀ (dx). MobileNetV2's
// 1x1 layers have few channels (8..448) on large planes, so they are memory-bound: the kernel
// must stream `in` at bandwidth rather than run a GEMM tile padded to 64 or 128 columns. A thread
// owns 4 consecutive pixels (a quad, one 128-bit load per channel) and TM output rows; a block
// 256 / KS quads, its KS thread groups each taking every KS-th chunk of channels (KS > 1 where the
// plane is too small to fill the SMs otherwise: MobileNetV2's 8x8 and 4x4 layers), their partial
// sums added in group order through shared memory. Per step it issues the loads of U = 8 channels
// before using them, and every load
// feeds 4·TM FMAs whose weights are TM/4 broadcast 128-bit shared reads. The weights of the
// block's rows are staged in shared memory in chunks of KC channels, zero beyond K, so the step
// unrolled loop needs no bounds tests (the last < U channels of a chunk take a plain loop). The
// tile (TM, KS) follows the shape and the SM count; TM changes no result bit, KS fixes the order of
// the partial sums (deterministic per device type). Requires H·W % 4 == 0 (a quad never crosses a
// sample); the forward's channel gather x[:, S] -> x_sel runs in extra blocks of the same grid.
#include "conv_common.cuh"
#include "fast_divmod.cuh"
#include "kernels.cuh"

#include <climits>

namespace trady4j {
namespace pw {

constexpr int kThreads = 256;  // quads per block
constexpr int kUnroll = 8;     // channels whose loads a step issues together
constexpr int kChunk = 64;     // channels of weights staged at a time

struct PwGeom {
    int rows, K;                 // output channels of this GEMM, reduced channels
    int hw, quads;               // plane, batch·hw / 4
    int a_row_stride, a_k_stride;  // A(r, k) = w[r·a_row_stride + k·a_k_stride]
    FastDiv by_hw;
};

template <bool VEC>
__device__ __forceinline__ float4 load4(const float* p) {
    if (VEC) return __ldg(reinterpret_cast<const float4*>(p));
    return make_float4(__ldg(p), __ldg(p + 1), __ldg(p + 2), __ldg(p + 3));
}

// Resident blocks asked of ptxas: unbounded, TM = 16 takes 132 registers (one block per SM). The
// smaller tiles stay unbounded (0; 58-84 registers): asked for 1 or 2 blocks they grow to 86-126
// registers, asked for 3 or 4 they spill.
template <int TM>
__host__ __device__ constexpr int min_blocks() {
    return TM >= 16 ? 2 : 0;  // 0: no bound
}

// acc[i][0..3] += A(r0 + i, k) · in[b, k, p..p+3] for one channel k: TM/4 broadcast shared reads.
template <int TM>
__device__ __forceinline__ void fma_channel(float (&acc)[TM][4], const float4 (&a4)[TM / 4], const float4 v) {
#pragma unroll
    for (int i4 = 0; i4 < TM / 4; ++i4) {
        const float4 a = a4[i4];
        const float av[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            float* o = acc[4 * i4 + j];
            o[0] = fmaf(av[j], v.x, o[0]);
            o[1] = fmaf(av[j], v.y, o[1]);
            o[2] = fmaf(av[j], v.z, o[2]);
            o[3] = fmaf(av[j], v.w, o[3]);
        }
    }
}

template <int TM, int KS, bool VEC>
__global__ void __launch_bounds__(kThreads, min_blocks<TM>())
    pointwise_kernel(PwGeom g, const float* __restrict__ in, const float* __restrict__ w,
                     const float* __restrict__ bias, int act, float* __restrict__ out, int row_tiles, int conv_blocks,
                     GatherArgs ga) {
    constexpr int QPB = kThreads / KS;  // quads per block
    const int bid = blockIdx.x;
    if (bid >= conv_blocks) {
        gather_part(ga, bid - conv_blocks, gridDim.x - conv_blocks);
        return;
    }
    __shared__ float4 as4[KS * kChunk][TM / 4];  // as4[k][i / 4] holds rows i..i+3 of channel k0 + k
    __shared__ float4 partial[KS > 1 ? (KS - 1) * TM : 1][KS > 1 ? QPB : 1];
    float* as = reinterpret_cast<float*>(&as4[0][0]);
    const int tid = threadIdx.x;
    const int ql = tid % QPB;
    const int group = tid / QPB;  // warp-uniform: QPB >= 64
    const int row_tile = bid % row_tiles;  // the row tiles of one quad tile are neighbours: `in` is reused from L2
    const int r0 = row_tile * TM;
    const int q = (bid / row_tiles) * QPB + ql;
    const bool q_ok = q < g.quads;
    const int n = (q_ok ? q : 0) * 4;  // a quad past the end reads quad 0 (in bounds) and stores nothing
    const int b = g.by_hw.div(n);
    const int p = n - b * g.hw;
    const float* src = in + ((int64_t)b * g.K) * g.hw + p;

    float acc[TM][4];
#pragma unroll
    for (int i = 0; i < TM; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;

    for (int k0 = 0; k0 < g.K; k0 += KS * kChunk) {
        __syncthreads();  // the previous chunk's reads of `as` are done
        for (int e = tid; e < KS * kChunk * TM; e += kThreads) {
            const int kk = e / TM;
            const int i = e - kk * TM;
            const int k = k0 + kk;
            const int r = r0 + i;
            as[kk * TM + i] = k < g.K && r < g.rows ? __ldg(w + (int64_t)r * g.a_row_stride + (int64_t)k * g.a_k_stride) : 0.f;
        }
        __syncthreads();
        const int kg = k0 + group * kChunk;  // this group's channels: kg .. kg + steps - 1
        const int steps = min(kChunk, g.K - kg);
        const float4(*a4)[TM / 4] = as4 + group * kChunk;
        const float* src_k = src + (int64_t)kg * g.hw;
        int kk = 0;
        for (; kk + kUnroll <= steps; kk += kUnroll, src_k += kUnroll * g.hw) {
            float4 v[kUnroll];
#pragma unroll
            for (int u = 0; u < kUnroll; ++u) v[u] = load4<VEC>(src_k + u * g.hw);
#pragma unroll
            for (int u = 0; u < kUnroll; ++u) fma_channel<TM>(acc, a4[kk + u], v[u]);
        }
#pragma unroll 1
        for (; kk < steps; ++kk, src_k += g.hw) fma_channel<TM>(acc, a4[kk], load4<VEC>(src_k));
    }
    if (KS > 1) {  // group 0 adds the other groups' partial sums in group order
        if (group > 0) {
#pragma unroll
            for (int i = 0; i < TM; ++i)
                partial[(group - 1) * TM + i][ql] = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
        }
        __syncthreads();
        if (group > 0) return;
#pragma unroll
        for (int s = 0; s < KS - 1; ++s)
#pragma unroll
            for (int i = 0; i < TM; ++i) {
                const float4 v = partial[s * TM + i][ql];
                acc[i][0] += v.x;
                acc[i][1] += v.y;
                acc[i][2] += v.z;
                acc[i][3] += v.w;
            }
    }
    if (!q_ok) return;
    float* dst = out + ((int64_t)b * g.rows) * g.hw + p;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int r = r0 + i;
        if (r >= g.rows) break;
        const float bv = bias ? __ldg(bias + r) : 0.f;
        const float4 o = make_float4(apply_activation(act, acc[i][0] + bv), apply_activation(act, acc[i][1] + bv),
                                     apply_activation(act, acc[i][2] + bv), apply_activation(act, acc[i][3] + bv));
        float* d = dst + (int64_t)r * g.hw;
        if (VEC) {
            *reinterpret_cast<float4*>(d) = o;
        } else {
            d[0] = o.x;
            d[1] = o.y;
            d[2] = o.z;
            d[3] = o.w;
        }
    }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

PwGeom pw_geom(const ConvGeom& g, bool dx) {
    PwGeom p;
    p.rows = dx ? g.cin : g.cout;
    p.K = dx ? g.cout : g.cin;
    p.hw = g.hw;
    p.quads = (int)((int64_t)g.batch * g.hw / 4);
    p.a_row_stride = dx ? 1 : g.cin;
    p.a_k_stride = dx ? g.cin : 1;
    p.by_hw = FastDiv::of(g.hw);
    return p;
}

// The instantiations: (TM, KS). KS > 1 only with TM <= 8 (the partial sums' shared memory).
#define T4J_PW_TILES(X) X(16, 1) X(8, 1) X(4, 1) X(8, 2) X(4, 2) X(8, 4) X(4, 4)

template <int TM, int KS, bool VEC>
cudaError_t launch(const PwGeom& p, const float* in, const float* w, const float* bias, int act, float* out,
                   const GatherArgs& ga, cudaStream_t stream) {
    const int row_tiles = ceil_div(p.rows, TM);
    const int64_t conv_blocks = (int64_t)row_tiles * ceil_div(p.quads, kThreads / KS);
    const int64_t blocks = conv_blocks + gather_blocks(ga, kThreads);
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    T4J_LAUNCH((unsigned)blocks, kThreads, 0, stream, pointwise_kernel<TM, KS, VEC>)(p, in, w, bias, act, out, row_tiles,
                                                                                    (int)conv_blocks, ga);
    return cudaGetLastError();
}

template <int TM, int KS>
cudaError_t launch_aligned(const PwGeom& p, const float* in, const float* w, const float* bias, int act, float* out,
                           const GatherArgs& ga, cudaStream_t stream) {
    if (aligned16(in) && aligned16(out)) return launch<TM, KS, true>(p, in, w, bias, act, out, ga, stream);
    return launch<TM, KS, false>(p, in, w, bias, act, out, ga, stream);
}

cudaError_t run(const trady4j_conv2d_shape& s, bool dx, const float* in, const float* w, const float* bias, int act,
                float* out, const GatherArgs& ga, cudaStream_t stream) {
    if (!pointwise_supports(s)) return cudaErrorInvalidValue;
    const PwGeom p = pw_geom(make_geom(s), dx);
    const PointwiseTile t = pointwise_tile(p.rows, p.K, p.quads, current_device_sms());
    switch (t.rows_per_thread * 10 + t.k_groups) {
#define T4J_PW_CASE(TM, KS) \
    case TM * 10 + KS: return launch_aligned<TM, KS>(p, in, w, bias, act, out, ga, stream);
        T4J_PW_TILES(T4J_PW_CASE)
#undef T4J_PW_CASE
        default: return cudaErrorInvalidValue;
    }
}

}  // namespace pw

bool pointwise_supports(const trady4j_conv2d_shape& s) {
    return s.kernel == 1 && s.stride == 1 && s.padding == 0 && s.groups == 1 &&
           ((int64_t)s.in_height * s.in_width) % 4 == 0;
}

// The tile whose busiest SM has the least work: its blocks times a thread's issue slots (4·TM FMAs
// per channel of its K / KS, each with 1/(4·TM) of a load, TM/4 shared reads and about two address
// instructions per channel; a group's partial sums cost about 5 per row). Ties go to the earlier
// tile in T4J_PW_TILES (taller, fewer groups).
PointwiseTile pointwise_tile(int rows, int K, int quads, int sms) {
    const PointwiseTile candidates[] = {{16, 1}, {8, 1}, {4, 1}, {8, 2}, {4, 2}, {8, 4}, {4, 4}};
    PointwiseTile best = candidates[0];
    double best_cost = 0.0;
    bool first = true;
    for (const PointwiseTile& t : candidates) {
        const int tm = t.rows_per_thread, ks = t.k_groups;
        const int64_t blocks = (int64_t)ceil_div(rows, tm) * ceil_div(quads, pw::kThreads / ks);
        const double per_fma = 1.0 + (tm / 4.0 + 3.0) / (4.0 * tm);
        const double per_thread = (double)ceil_div(K, ks) * 4 * tm * per_fma + (ks > 1 ? 5.0 * tm * (ks - 1) : 0.0);
        const double cost = (double)ceil_div64(blocks, sms > 0 ? sms : 1) * per_thread;
        if (first || cost < best_cost) {
            best = t;
            best_cost = cost;
            first = false;
        }
    }
    return best;
}

cudaError_t pointwise_forward(const trady4j_conv2d_shape& s, const float* x, const float* w, const float* bias, int act,
                              const int32_t* sel, int nsel, float* x_sel, float* y, cudaStream_t stream) {
    const GatherArgs ga =
        make_gather(x, sel, x_sel, s.batch, s.in_channels, nsel > 0 ? nsel : 0, s.in_height * s.in_width);
    return pw::run(s, false, x, w, bias, act, y, ga, stream);
}

cudaError_t pointwise_dx(const trady4j_conv2d_shape& s, const float* dy, const float* w, float* dx,
                         cudaStream_t stream) {
    const GatherArgs none = make_gather(nullptr, nullptr, nullptr, 0, 0, 0, 0);
    return pw::run(s, true, dy, w, nullptr, TRADY4J_ACT_NONE, dx, none, stream);
}

}  // namespace trady4j
