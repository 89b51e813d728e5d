// Shared device helpers for the trady4j kernels: activations, reductions, the channel gather
// that the masked conv forward fuses into its launch, and launch-size arithmetic.
#pragma once

#include "cuda_compat.cuh"
#include <stdint.h>

#include "trady4j.h"

namespace trady4j {

// Implementation ids shared by every op's table (versions.cu), llm.c style: 1 is the simple
// reference kernel of each op, kept for the dev harness and the tests; 2 the tiled kernel.
constexpr int kImplNaive = 1;
constexpr int kImplTiled = 2;
// 3: the v3 GEMM main loop (igemm_v3.cuh) for the dense and grouped implicit GEMMs (ops or
// shapes without a v3 kernel run their v2 kernel); not yet timed on a GPU.
constexpr int kImplMicroKernel = 3;
// 4: as 3, with the GEMM tiles on TF32 tensor cores (mma.sync m16n8k8, fp32 accumulation; 64x64
// tiles): relative error about 1e-4..1e-3 instead of 1e-7. Opt-in only, never the heuristic's pick.
constexpr int kImplTf32 = 4;
// 5 and 6: the v3 depthwise rows (this file's neighbours depthwise.cu, dw_sparse_stream.cu): conv forward, dx and
// sparse dW of true depthwise layers, and the streaming sparse dW of dense layers.
constexpr int kImplDepthwiseV3 = 5;
constexpr int kImplStreamV3 = 6;
// Ids are row positions in each op's table, so from 6 on they differ by op: in the conv forward and
// dx tables 6 is the pointwise (1x1) streaming kernel of pointwise.cu.
constexpr int kImplPointwise = 6;
// 7 (conv forward and dx): the v3 GEMM with an in-block split-K for grids below one wave.
constexpr int kImplSplitK = 7;

__host__ __device__ __forceinline__ int ceil_div(int a, int b) { return (a + b - 1) / b; }
__host__ __device__ __forceinline__ int64_t ceil_div64(int64_t a, int64_t b) { return (a + b - 1) / b; }

// y = act(v), written as the CPU reference (io.trady4j.backend.Activation) writes it.
__device__ __forceinline__ float apply_activation(int act, float v) {
    // NaN stays NaN (comparisons with NaN are false), as in PyTorch: a poisoned input reaches the loss.
    if (act == TRADY4J_ACT_RELU) return v <= 0.f ? 0.f : v;
    if (act == TRADY4J_ACT_RELU6) return v <= 0.f ? 0.f : (v >= 6.f ? 6.f : v);
    return v;
}

// Whether the activation passes the gradient, given its output y (PyTorch's rule).
__device__ __forceinline__ bool activation_passes(int act, float y) {
    if (act == TRADY4J_ACT_RELU) return y > 0.f;
    if (act == TRADY4J_ACT_RELU6) return y > 0.f && y < 6.f;
    return true;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    return v;  // complete in lane 0; a fixed tree, so the result is reproducible
}

__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

// Channel gather: x_sel[b, j, :] = x[b, sel[j], :], planes of `plane` floats.
struct GatherArgs {
    const float* x;
    const int32_t* sel;
    float* x_sel;
    int batch;
    int channels;
    int nsel;
    int plane;
    bool vec4;  // plane % 4 == 0 and both pointers 16-byte aligned: copy float4s
};

__host__ __forceinline__ GatherArgs make_gather(const float* x, const int32_t* sel, float* x_sel, int batch,
                                                int channels, int nsel, int plane) {
    GatherArgs g;
    g.x = x;
    g.sel = sel;
    g.x_sel = x_sel;
    g.batch = batch;
    g.channels = channels;
    g.nsel = nsel;
    g.plane = plane;
    g.vec4 = plane % 4 == 0 && (reinterpret_cast<uintptr_t>(x) & 15u) == 0 &&
             (reinterpret_cast<uintptr_t>(x_sel) & 15u) == 0;
    return g;
}

// Number of elements (float4s when vec4) the gather copies.
__host__ __device__ __forceinline__ int64_t gather_items(const GatherArgs& g) {
    int64_t n = (int64_t)g.batch * g.nsel * g.plane;
    return g.vec4 ? n / 4 : n;
}

// The part of a grid-stride gather that one "gather block" of a fused launch does: block `part`
// of `parts` blocks, blockDim.x threads each. Consecutive threads copy consecutive elements of a
// plane, so reads and writes are coalesced (16-byte accesses when vec4).
__device__ __forceinline__ void gather_part(const GatherArgs& g, int part, int parts) {
    const int64_t items = gather_items(g);
    const int64_t stride = (int64_t)parts * blockDim.x;
    if (g.vec4) {
        const int plane4 = g.plane / 4;
        const float4* src = reinterpret_cast<const float4*>(g.x);
        float4* dst = reinterpret_cast<float4*>(g.x_sel);
        for (int64_t e = (int64_t)part * blockDim.x + threadIdx.x; e < items; e += stride) {
            const int64_t q = e / plane4;  // b * nsel + j
            const int r = (int)(e - q * plane4);
            const int b = (int)(q / g.nsel);
            const int j = (int)(q - (int64_t)b * g.nsel);
            const int c = __ldg(g.sel + j);
            dst[e] = __ldg(src + ((int64_t)b * g.channels + c) * plane4 + r);
        }
    } else {
        for (int64_t e = (int64_t)part * blockDim.x + threadIdx.x; e < items; e += stride) {
            const int64_t q = e / g.plane;
            const int r = (int)(e - q * g.plane);
            const int b = (int)(q / g.nsel);
            const int j = (int)(q - (int64_t)b * g.nsel);
            const int c = __ldg(g.sel + j);
            g.x_sel[e] = __ldg(g.x + ((int64_t)b * g.channels + c) * g.plane + r);
        }
    }
}

// How many 256-thread blocks a fused gather gets: enough to stream the copy, no more than about
// 4 waves of 148 SMs (grid-stride covers the rest).
__host__ __forceinline__ int gather_blocks(const GatherArgs& g, int threads) {
    if (g.nsel <= 0) return 0;
    int64_t want = ceil_div64(gather_items(g), (int64_t)threads * 4);
    if (want < 1) want = 1;
    if (want > 1024) want = 1024;
    return (int)want;
}

// Multiprocessors of the current device (132 if the query fails), for tile choices that depend on
// filling one wave. The choice of tile changes no result bit: each output's sum runs in the same
// k order whatever the tile.
__host__ inline int current_device_sms() {
    int dev = 0, sms = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess ||
        sms <= 0)
        return 132;
    return sms;
}

// Blocks for a grid-stride element-wise kernel over n items.
__host__ __forceinline__ int elementwise_blocks(int64_t n, int threads) {
    int64_t b = ceil_div64(n, threads);
    if (b < 1) b = 1;
    if (b > 65536) b = 65536;
    return (int)b;
}

}  // namespace trady4j
