// Pooling: global average pooling (forward and backward) and max pooling with arg-max (forward,
// and the backward scatter-add done deterministically without atomics).
#include "common.cuh"
#include "kernels.cuh"

namespace trady4j {

// One warp per plane: lanes stride over the plane (coalesced), then a fixed shuffle tree.
__global__ void __launch_bounds__(256)
    global_avg_pool_kernel(int planes, int plane, const float* __restrict__ x, float* __restrict__ y) {
    const int warps = blockDim.x >> 5;
    const int lane = threadIdx.x & 31;
    for (int64_t pl = (int64_t)blockIdx.x * warps + (threadIdx.x >> 5); pl < planes; pl += (int64_t)gridDim.x * warps) {
        const float* xp = x + pl * plane;
        float acc = 0.f;
        for (int e = lane; e < plane; e += 32) acc += __ldg(xp + e);
        acc = warp_sum(acc);
        if (lane == 0) y[pl] = acc / (float)plane;
    }
}

__global__ void global_avg_pool_backward_kernel(int planes, int plane, const float* __restrict__ dy,
                                                float* __restrict__ dx) {
    const int64_t total = (int64_t)planes * plane;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x)
        dx[e] = __ldg(dy + e / plane) / (float)plane;
}

cudaError_t global_avg_pool(int planes, int plane, const float* x, float* y, cudaStream_t stream) {
    T4J_LAUNCH(elementwise_blocks(planes, 8), 256, 0, stream, global_avg_pool_kernel)(planes, plane, x, y);
    return cudaGetLastError();
}

cudaError_t global_avg_pool_backward(int planes, int plane, const float* dy, float* dx, cudaStream_t stream) {
    T4J_LAUNCH(elementwise_blocks((int64_t)planes * plane, 256), 256, 0, stream, global_avg_pool_backward_kernel)(planes, plane,
                                                                                                        dy, dx);
    return cudaGetLastError();
}

// One thread per output; window scanned in (kh, kw) order exactly as the CPU reference does: a
// strictly larger value or a NaN takes over, so ties keep the first position.
__global__ void max_pool2d_kernel(int planes, int h, int w, int k, int stride, int pad, int ho, int wo,
                                  const float* __restrict__ x, float* __restrict__ y, int32_t* __restrict__ argmax) {
    const int64_t total = (int64_t)planes * ho * wo;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        const int ow = (int)(e % wo);
        const int oh = (int)((e / wo) % ho);
        const int64_t pl = e / ((int64_t)ho * wo);
        const float* xp = x + pl * h * w;
        float best = -INFINITY;
        int best_at = -1;
        for (int kh = 0; kh < k; ++kh) {
            const int ih = oh * stride + kh - pad;
            if (ih < 0 || ih >= h) continue;
            for (int kw = 0; kw < k; ++kw) {
                const int iw = ow * stride + kw - pad;
                if (iw < 0 || iw >= w) continue;
                const float v = __ldg(xp + ih * w + iw);
                if (v > best || best_at < 0 || isnan(v)) {
                    best = v;
                    best_at = ih * w + iw;
                }
            }
        }
        y[e] = best;
        argmax[e] = best_at;
    }
}

cudaError_t max_pool2d(int planes, int h, int w, int k, int stride, int pad, int ho, int wo, const float* x, float* y,
                       int32_t* argmax, cudaStream_t stream) {
    T4J_LAUNCH(elementwise_blocks((int64_t)planes * ho * wo, 256), 256, 0, stream, max_pool2d_kernel)(planes, h, w, k, stride,
                                                                                            pad, ho, wo, x, y, argmax);
    return cudaGetLastError();
}

// One warp per plane: zero the plane, then walk the outputs 32 at a time in order. Lanes that
// target the same input element are grouped (__match_any_sync); the group's lowest lane adds the
// group's values in lane order. Every element therefore receives its contributions in output
// order, with no atomics: the result does not depend on scheduling. Arg-max values outside the
// plane are skipped (the CPU reference throws on them).
__global__ void __launch_bounds__(256)
    max_pool2d_backward_kernel(int planes, int in_plane, int out_plane, const float* __restrict__ dy,
                               const int32_t* __restrict__ argmax, float* __restrict__ dx) {
    const int warps = blockDim.x >> 5;
    const int lane = threadIdx.x & 31;
    for (int64_t pl = (int64_t)blockIdx.x * warps + (threadIdx.x >> 5); pl < planes; pl += (int64_t)gridDim.x * warps) {
        float* dxp = dx + pl * in_plane;
        const float* dyp = dy + pl * out_plane;
        const int32_t* ap = argmax + pl * out_plane;
        for (int e = lane; e < in_plane; e += 32) dxp[e] = 0.f;
        __syncwarp();
        for (int base = 0; base < out_plane; base += 32) {
            const int e = base + lane;
            const bool live = e < out_plane;
            int a = live ? __ldg(ap + e) : -1;
            if (a < 0 || a >= in_plane) a = -1;
            const float v = live ? __ldg(dyp + e) : 0.f;
            const unsigned peers = __match_any_sync(0xffffffffu, a);
            const int leader = __ffs(peers) - 1;
            float sum = 0.f;
            for (int src = 0; src < 32; ++src) {  // the group's values in lane order
                const float vs = __shfl_sync(0xffffffffu, v, src);
                if (peers & (1u << src)) sum += vs;
            }
            if (lane == leader && a >= 0) dxp[a] += sum;
            __syncwarp();
        }
    }
}

cudaError_t max_pool2d_backward(int planes, int in_plane, int out_plane, const float* dy, const int32_t* argmax,
                                float* dx, cudaStream_t stream) {
    T4J_LAUNCH(elementwise_blocks(planes, 8), 256, 0, stream, max_pool2d_backward_kernel)(planes, in_plane, out_plane, dy,
                                                                                 argmax, dx);
    return cudaGetLastError();
}

}  // namespace trady4j
