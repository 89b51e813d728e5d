// Streaming sparse weight gradient of a dense (groups = 1) conv layer for few selected columns
// (|S|·k² <= 32, TraDy's common case), v3:
//   dw_sel[o, n] = Σ_{b, oh, ow} dy[b, o, oh, ow] · X[n, (b, oh, ow)],  n = (j, kh, kw),
//   X[n, (b, oh, ow)] = x_sel[b, j, oh·s − p + kh·dil, ow·s − p + kw·dil] (0 in the padding).
// The time of this op is the time to read dy once (all C' rows, whatever |S| is). So: a block
// takes 8·R output channels and a slice of the output pixels; per step it stages the few columns
// of X for 512 (or 256) pixels in shared memory (zero-padded to NC columns), and each warp
// streams R rows of dy through 128-bit loads, 4 pixels per lane, all of a step's loads issued
// before the first use. Each 128-bit shared read of X feeds 4·R FMAs. Lanes reduce their
// accumulators with a fixed shuffle tree at the end; slices write partial sums that
// conv2d_dw_sparse adds in slice order (no atomics: deterministic for a given SM count and build).
// Requires out_height·out_width % 4 == 0 so that a 4-pixel group never crosses a sample.
#include "conv_common.cuh"
#include "fast_divmod.cuh"
#include "kernels.cuh"

#include <climits>

namespace trady4j {
namespace dws {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxCols = 32;
constexpr size_t kMaxSplitWorkspace = size_t(256) << 20;

struct StreamGeom {
    int batch, cout, h, w, wo, hwo, k, stride, pad, dil;
    int nsel, cols;  // cols = nsel·k², the real columns (<= NC)
    int quads;       // batch·hwo / 4
    bool vec_dy;     // dy 16-byte aligned (hwo % 4 == 0 always): float4 loads
    FastDiv by_hwo, by_wo, by_quads_per_sample;
};

// Pixel groups of 4 a step covers: 128 (512 pixels) or, for 32 columns, 64, so the staged X stays at 32 KiB.
template <int NC>
__host__ __device__ constexpr int step_quads() {
    return NC <= 16 ? 128 : 64;
}

template <int NC, int R>
__global__ void __launch_bounds__(kThreads)
    dw_stream_kernel(StreamGeom g, const float* __restrict__ x_sel, const float* __restrict__ dy,
                     float* __restrict__ out, int row_blocks, int chunk_quads) {
    constexpr int SQ = step_quads<NC>();
    constexpr int QPL = SQ / 32;  // pixel groups per lane per step
    __shared__ float4 xs[NC][SQ];
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const int row_block = blockIdx.x % row_blocks;
    const int split = blockIdx.x / row_blocks;
    const int o0 = row_block * kWarps * R + warp * R;
    const int q_begin = split * chunk_quads;
    const int q_end = min(g.quads, q_begin + chunk_quads);
    const int hw = g.h * g.w;
    const int quads_per_sample = g.hwo / 4;

    float acc[R][NC];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
        for (int n = 0; n < NC; ++n) acc[r][n] = 0.f;

    for (int q0 = q_begin; q0 < q_end; q0 += SQ) {
        // Stage X for the step's pixels: xs[n][quad] holds 4 consecutive pixels of column n.
        __syncthreads();  // the previous step's reads of xs are done
        float* xsf = reinterpret_cast<float*>(&xs[0][0]);
        for (int e = tid; e < SQ * 4; e += kThreads) {
            const int kpix = q0 * 4 + e;
            const bool in_k = kpix < q_end * 4;
            const int b = g.by_hwo.div(kpix);
            const int pix = kpix - b * g.hwo;
            const int oh = g.by_wo.div(pix);
            const int ow = pix - oh * g.wo;
            const float* xb = x_sel + (int64_t)b * g.nsel * hw;
            int n = 0;
            for (int j = 0; j < g.nsel; ++j)
                for (int kh = 0; kh < g.k; ++kh) {
                    const int ih = oh * g.stride - g.pad + kh * g.dil;
                    const bool row_ok = in_k && (unsigned)ih < (unsigned)g.h;
                    for (int kw = 0; kw < g.k; ++kw, ++n) {
                        const int iw = ow * g.stride - g.pad + kw * g.dil;
                        xsf[n * SQ * 4 + e] =
                            row_ok && (unsigned)iw < (unsigned)g.w ? __ldg(xb + j * hw + ih * g.w + iw) : 0.f;
                    }
                }
            for (; n < NC; ++n) xsf[n * SQ * 4 + e] = 0.f;
        }
        __syncthreads();

        float4 d[QPL][R];
#pragma unroll
        for (int i = 0; i < QPL; ++i) {
            const int q = q0 + lane + 32 * i;
            const int b = g.by_quads_per_sample.div(q);
            const int pix = (q - b * quads_per_sample) * 4;
#pragma unroll
            for (int r = 0; r < R; ++r) {
                const int o = o0 + r;
                d[i][r] = make_float4(0.f, 0.f, 0.f, 0.f);
                if (q < q_end && o < g.cout) {
                    const float* p = dy + ((int64_t)b * g.cout + o) * g.hwo + pix;
                    if (g.vec_dy)
                        d[i][r] = __ldg(reinterpret_cast<const float4*>(p));
                    else
                        d[i][r] = make_float4(__ldg(p), __ldg(p + 1), __ldg(p + 2), __ldg(p + 3));
                }
            }
        }
#pragma unroll
        for (int i = 0; i < QPL; ++i)
#pragma unroll
            for (int n = 0; n < NC; ++n) {
                const float4 xv = xs[n][lane + 32 * i];
#pragma unroll
                for (int r = 0; r < R; ++r) {
                    float a = acc[r][n];
                    a = fmaf(d[i][r].x, xv.x, a);
                    a = fmaf(d[i][r].y, xv.y, a);
                    a = fmaf(d[i][r].z, xv.z, a);
                    a = fmaf(d[i][r].w, xv.w, a);
                    acc[r][n] = a;
                }
            }
    }

    const int ld = g.cols;
    float* o_split = out + (int64_t)split * g.cout * ld;
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int o = o0 + r;
#pragma unroll
        for (int n = 0; n < NC; ++n) {
            const float v = warp_sum(acc[r][n]);
            if (lane == 0 && o < g.cout && n < g.cols) o_split[(int64_t)o * ld + n] = v;
        }
    }
}

int cols_capacity(int cols) { return cols <= 4 ? 4 : cols <= 8 ? 8 : cols <= 16 ? 16 : 32; }

int rows_per_warp(int cout, int nc) {
    int r = cout >= 32 ? 4 : cout >= 16 ? 2 : 1;
    while (r * nc > 32) r /= 2;  // more accumulators than 32 per thread cost occupancy or spill
    return r;
}

// The instantiations: (columns capacity, rows per warp) with NC·R <= 32 accumulators.
#define T4J_DWS_INSTANCES(X) X(4, 1) X(4, 2) X(4, 4) X(8, 1) X(8, 2) X(8, 4) X(16, 1) X(16, 2) X(32, 1)

int stream_blocks_per_sm(int nc, int r) {
    int n = 0;
    cudaError_t err = cudaErrorInvalidValue;
    switch (nc * 10 + r) {
#define T4J_DWS_OCC(NC, R) \
    case NC * 10 + R: err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, dw_stream_kernel<NC, R>, kThreads, 0); break;
        T4J_DWS_INSTANCES(T4J_DWS_OCC)
#undef T4J_DWS_OCC
    }
    return err == cudaSuccess && n >= 1 ? n : 1;
}

StreamGeom stream_geom(const ConvGeom& g, int nsel, const float* dy) {
    StreamGeom s;
    s.batch = g.batch;
    s.cout = g.cout;
    s.h = g.h;
    s.w = g.w;
    s.wo = g.wo;
    s.hwo = g.hwo;
    s.k = g.k;
    s.stride = g.stride;
    s.pad = g.pad;
    s.dil = g.dil;
    s.nsel = nsel;
    s.cols = nsel * g.k2;
    s.quads = g.batch * (g.hwo / 4);
    s.vec_dy = (reinterpret_cast<uintptr_t>(dy) & 15u) == 0;
    s.by_hwo = FastDiv::of(g.hwo);
    s.by_wo = FastDiv::of(g.wo);
    s.by_quads_per_sample = FastDiv::of(g.hwo / 4);
    return s;
}

}  // namespace dws

bool dw_sparse_stream_supports(const trady4j_conv2d_shape& s, int nsel) {
    const ConvGeom g = make_geom(s);
    return g.groups == 1 && g.hwo % 4 == 0 && (int64_t)nsel * g.k2 <= dws::kMaxCols;
}

SplitPlan dw_sparse_stream_plan(const trady4j_conv2d_shape& s, int nsel, int sms) {
    using namespace dws;
    const ConvGeom g = make_geom(s);
    const int nc = cols_capacity(nsel * g.k2);
    const int r = rows_per_warp(g.cout, nc);
    const int row_blocks = ceil_div(g.cout, kWarps * r);
    const int sq = nc <= 16 ? step_quads<16>() : step_quads<32>();
    const int64_t quads = (int64_t)g.batch * (g.hwo / 4);
    // One full wave of resident blocks, each slice at least two steps long; no other cap.
    const int64_t resident = (int64_t)(sms > 0 ? sms : 1) * stream_blocks_per_sm(nc, r);
    int64_t splits = ceil_div64(resident, row_blocks);
    const int64_t by_work = quads / (2 * sq);
    if (splits > by_work) splits = by_work;
    const int64_t out_elems = (int64_t)g.cout * nsel * g.k2;
    while (splits > 1 && (size_t)(splits * out_elems) * sizeof(float) > dws::kMaxSplitWorkspace) splits /= 2;
    if (splits < 1) splits = 1;
    const int64_t chunk = ceil_div64(quads, splits);
    SplitPlan p{};
    p.splits = (int)ceil_div64(quads, chunk);
    p.chunk = (int)chunk;
    p.workspace = p.splits > 1 ? (size_t)(p.splits * out_elems) * sizeof(float) : 0;
    return p;
}

cudaError_t dw_sparse_stream_partial(const trady4j_conv2d_shape& s, const SplitPlan& p, const float* x_sel,
                                     const float* dy, int nsel, float* out, cudaStream_t stream) {
    using namespace dws;
    if (!dw_sparse_stream_supports(s, nsel)) return cudaErrorInvalidValue;
    const ConvGeom g = make_geom(s);
    const StreamGeom sg = stream_geom(g, nsel, dy);
    const int nc = cols_capacity(sg.cols);
    const int r = rows_per_warp(g.cout, nc);
    const int row_blocks = ceil_div(g.cout, kWarps * r);
    const int64_t blocks = (int64_t)row_blocks * p.splits;
    if (blocks > INT_MAX) return cudaErrorInvalidConfiguration;
    switch (nc * 10 + r) {
#define T4J_DWS_LAUNCH(NC, R)                                                                                     \
    case NC * 10 + R:                                                                                             \
        T4J_LAUNCH((unsigned)blocks, kThreads, 0, stream, dw_stream_kernel<NC, R>)(sg, x_sel, dy, out, row_blocks, \
                                                                                  p.chunk);                       \
        break;
        T4J_DWS_INSTANCES(T4J_DWS_LAUNCH)
#undef T4J_DWS_LAUNCH
        default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}

}  // namespace trady4j
