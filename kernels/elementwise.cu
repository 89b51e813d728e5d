// Element-wise kernels: fill, fused-activation forward and backward, residual add, bias gradient
// and the plain channel gather (for layers whose input is gathered without a convolution, e.g.
// linear layers). Memory-bound: grid-stride loops, 16-byte accesses where sizes and alignment
// allow, one launch per op.
#include "common.cuh"
#include "kernels.cuh"

namespace trady4j {

static bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

__global__ void fill_f32_kernel(float* __restrict__ dst, float value, int64_t n) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        dst[e] = value;
}

__global__ void fill_i32_kernel(int32_t* __restrict__ dst, int32_t value, int64_t n) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        dst[e] = value;
}

cudaError_t fill_f32(float* dst, float value, int64_t n, cudaStream_t stream) {
    T4J_LAUNCH(elementwise_blocks(n, 256), 256, 0, stream, fill_f32_kernel)(dst, value, n);
    return cudaGetLastError();
}

cudaError_t fill_i32(int32_t* dst, int32_t value, int64_t n, cudaStream_t stream) {
    T4J_LAUNCH(elementwise_blocks(n, 256), 256, 0, stream, fill_i32_kernel)(dst, value, n);
    return cudaGetLastError();
}

// ---- activation forward: y = act(x), y may alias x (so no __restrict__)

__global__ void activation_kernel(int act, int64_t n, const float* x, float* y) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        y[e] = apply_activation(act, x[e]);
}

__global__ void activation_vec4_kernel(int act, int64_t n4, const float4* x, float4* y) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n4; e += (int64_t)gridDim.x * blockDim.x) {
        float4 v = x[e];
        v.x = apply_activation(act, v.x);
        v.y = apply_activation(act, v.y);
        v.z = apply_activation(act, v.z);
        v.w = apply_activation(act, v.w);
        y[e] = v;
    }
}

cudaError_t activation_forward(int act, int64_t n, const float* x, float* y, cudaStream_t stream) {
    if (n % 4 == 0 && aligned16(x) && aligned16(y)) {
        T4J_LAUNCH(elementwise_blocks(n / 4, 256), 256, 0, stream, activation_vec4_kernel)(
            act, n / 4, reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(y));
    } else {
        T4J_LAUNCH(elementwise_blocks(n, 256), 256, 0, stream, activation_kernel)(act, n, x, y);
    }
    return cudaGetLastError();
}

// ---- activation backward: dx = passes(y) ? dy : 0, dx may alias dy

__global__ void activation_backward_kernel(int act, int64_t n, const float* y, const float* dy, float* dx) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        dx[e] = activation_passes(act, y[e]) ? dy[e] : 0.f;
}

__global__ void activation_backward_vec4_kernel(int act, int64_t n4, const float4* y, const float4* dy, float4* dx) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n4; e += (int64_t)gridDim.x * blockDim.x) {
        const float4 yv = y[e];
        const float4 g = dy[e];
        float4 r;
        r.x = activation_passes(act, yv.x) ? g.x : 0.f;
        r.y = activation_passes(act, yv.y) ? g.y : 0.f;
        r.z = activation_passes(act, yv.z) ? g.z : 0.f;
        r.w = activation_passes(act, yv.w) ? g.w : 0.f;
        dx[e] = r;
    }
}

cudaError_t activation_backward(int act, int64_t n, const float* y, const float* dy, float* dx, cudaStream_t stream) {
    if (n % 4 == 0 && aligned16(y) && aligned16(dy) && aligned16(dx)) {
        T4J_LAUNCH(elementwise_blocks(n / 4, 256), 256, 0, stream, activation_backward_vec4_kernel)(
            act, n / 4, reinterpret_cast<const float4*>(y), reinterpret_cast<const float4*>(dy),
            reinterpret_cast<float4*>(dx));
    } else {
        T4J_LAUNCH(elementwise_blocks(n, 256), 256, 0, stream, activation_backward_kernel)(act, n, y, dy, dx);
    }
    return cudaGetLastError();
}

// ---- activation mask: bit e%32 of mask[e/32] = activation_passes(act, y[e]), one warp per 32 elements

__global__ void activation_mask_kernel(int act, int64_t n, const float* __restrict__ y, uint32_t* __restrict__ mask) {
    // Block size and grid stride are multiples of 32 and the bound is rounded up to one, so every lane
    // of a warp runs the same iterations and takes part in each ballot.
    const int64_t padded = (n + 31) & ~int64_t(31);
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < padded; e += (int64_t)gridDim.x * blockDim.x) {
        const bool pass = e < n && activation_passes(act, y[e]);
        const unsigned bits = __ballot_sync(0xffffffffu, pass);
        if ((threadIdx.x & 31) == 0) mask[e >> 5] = bits;
    }
}

cudaError_t activation_mask(int act, int64_t n, const float* y, uint32_t* mask, cudaStream_t stream) {
    T4J_LAUNCH(elementwise_blocks((n + 31) & ~int64_t(31), 256), 256, 0, stream, activation_mask_kernel)(act, n, y, mask);
    return cudaGetLastError();
}

// ---- masked activation backward: dx = bit e of mask ? dy : 0, dx may alias dy

__global__ void activation_backward_masked_kernel(int64_t n, const uint32_t* __restrict__ mask, const float* dy,
                                                  float* dx) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        dx[e] = (__ldg(mask + (e >> 5)) >> (e & 31)) & 1u ? dy[e] : 0.f;
}

__global__ void activation_backward_masked_vec4_kernel(int64_t n4, const uint32_t* __restrict__ mask, const float4* dy,
                                                       float4* dx) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n4; e += (int64_t)gridDim.x * blockDim.x) {
        const unsigned bits = (__ldg(mask + (e >> 3)) >> ((e & 7) * 4)) & 0xfu;
        const float4 g = dy[e];
        float4 r;
        r.x = bits & 1u ? g.x : 0.f;
        r.y = bits & 2u ? g.y : 0.f;
        r.z = bits & 4u ? g.z : 0.f;
        r.w = bits & 8u ? g.w : 0.f;
        dx[e] = r;
    }
}

cudaError_t activation_backward_masked(int64_t n, const uint32_t* mask, const float* dy, float* dx, cudaStream_t stream) {
    if (n % 4 == 0 && aligned16(dy) && aligned16(dx)) {
        T4J_LAUNCH(elementwise_blocks(n / 4, 256), 256, 0, stream, activation_backward_masked_vec4_kernel)(
            n / 4, mask, reinterpret_cast<const float4*>(dy), reinterpret_cast<float4*>(dx));
    } else {
        T4J_LAUNCH(elementwise_blocks(n, 256), 256, 0, stream, activation_backward_masked_kernel)(n, mask, dy, dx);
    }
    return cudaGetLastError();
}

// ---- add: out = a + b, out may alias a or b

__global__ void add_kernel(int64_t n, const float* a, const float* b, float* out) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        out[e] = a[e] + b[e];
}

__global__ void add_vec4_kernel(int64_t n4, const float4* a, const float4* b, float4* out) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n4; e += (int64_t)gridDim.x * blockDim.x) {
        const float4 u = a[e];
        const float4 v = b[e];
        out[e] = make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
    }
}

cudaError_t add(int64_t n, const float* a, const float* b, float* out, cudaStream_t stream) {
    if (n % 4 == 0 && aligned16(a) && aligned16(b) && aligned16(out)) {
        T4J_LAUNCH(elementwise_blocks(n / 4, 256), 256, 0, stream, add_vec4_kernel)(
            n / 4, reinterpret_cast<const float4*>(a), reinterpret_cast<const float4*>(b),
            reinterpret_cast<float4*>(out));
    } else {
        T4J_LAUNCH(elementwise_blocks(n, 256), 256, 0, stream, add_kernel)(n, a, b, out);
    }
    return cudaGetLastError();
}

// ---- bias gradient: one block per channel, a fixed-order block reduction (deterministic)

__global__ void __launch_bounds__(256)
    bias_grad_kernel(int batch, int channels, int plane, const float* __restrict__ dy, float* __restrict__ db) {
    __shared__ float red[8];
    const int c = blockIdx.x;
    const int64_t count = (int64_t)batch * plane;
    float acc = 0.f;
    for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
        const int b = (int)(e / plane);
        const int p = (int)(e - (int64_t)b * plane);
        acc += __ldg(dy + ((int64_t)b * channels + c) * plane + p);
    }
    acc = warp_sum(acc);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.f;
        for (int w = 0; w < 8; ++w) s += red[w];
        db[c] = s;
    }
}

cudaError_t bias_grad(int batch, int channels, int plane, const float* dy, float* db, cudaStream_t stream) {
    T4J_LAUNCH(channels, 256, 0, stream, bias_grad_kernel)(batch, channels, plane, dy, db);
    return cudaGetLastError();
}

// ---- channel gather

__global__ void __launch_bounds__(256) gather_channels_kernel(GatherArgs ga) { gather_part(ga, blockIdx.x, gridDim.x); }

cudaError_t gather_channels(int batch, int channels, int plane, const float* x, const int32_t* sel, int nsel,
                            float* x_sel, cudaStream_t stream) {
    const GatherArgs ga = make_gather(x, sel, x_sel, batch, channels, nsel, plane);
    T4J_LAUNCH(gather_blocks(ga, 256), 256, 0, stream, gather_channels_kernel)(ga);
    return cudaGetLastError();
}

}  // namespace trady4j
