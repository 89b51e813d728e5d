// BatchNorm over NCHW for pretraining (per channel, statistics over batch and space), as
// PyTorch's batch_norm and the CPU reference (backend/cpu/BatchNormKernels.java) compute it.
//
// Training and backward run one block per channel. Its count = batch·plane values are read
// plane by plane (coalesced); each thread keeps Kahan-compensated float sums, the block combines
// them in double in a fixed order (warp tree, then the 8 warps in order), so the result is
// reproducible and its error does not grow with the count. The variance is a second pass over
// the deviations from the mean (no E[x²] − E[x]² cancellation).
#include "common.cuh"
#include "kernels.cuh"

namespace trady4j {

namespace {

constexpr int kBnThreads = 256;
constexpr int kBnWarps = kBnThreads / 32;

// A compensated float sum (Kahan): the running error is kept apart and fed back.
struct KahanSum {
    float sum = 0.f;
    float carry = 0.f;
    __device__ __forceinline__ void add(float v) {
        const float y = v - carry;
        const float t = sum + y;
        carry = (t - sum) - y;
        sum = t;
    }
    __device__ __forceinline__ double value() const { return (double)sum - (double)carry; }
};

// The block's total of every thread's v, in double; the same value in every thread.
__device__ __forceinline__ double block_sum(double v, double* red) {
    v = warp_sum(v);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    double total = 0.0;
    for (int w = 0; w < kBnWarps; ++w) total += red[w];
    __syncthreads();  // red is reused by the next reduction
    return total;
}

// The element e (0 <= e < batch·plane) of channel c: sample e / plane, position e % plane. The C ABI
// limits a tensor to INT_MAX elements, so 32-bit index arithmetic is enough (and far cheaper).
__device__ __forceinline__ int channel_offset(int channels, int plane, int c, int e) {
    const int b = e / plane;
    return (b * channels + c) * plane + (e - b * plane);
}

__global__ void __launch_bounds__(kBnThreads)
    batch_norm_training_kernel(int batch, int channels, int plane, const float* x,
                               const float* __restrict__ gamma, const float* __restrict__ beta,
                               float* __restrict__ running_mean, float* __restrict__ running_var, float momentum,
                               float eps, float* y, float* __restrict__ save_mean, float* __restrict__ save_inv_std) {
    __shared__ double red[kBnWarps];
    const int c = blockIdx.x;
    const int count = batch * plane;
    KahanSum s;
    for (int e = threadIdx.x; e < count; e += kBnThreads) s.add(x[channel_offset(channels, plane, c, e)]);
    const double mean = block_sum(s.value(), red) / (double)count;
    const float mean_f = (float)mean;
    KahanSum sq;
    for (int e = threadIdx.x; e < count; e += kBnThreads) {
        const float d = x[channel_offset(channels, plane, c, e)] - mean_f;
        sq.add(d * d);
    }
    const double squares = block_sum(sq.value(), red);
    const double var = squares / (double)count;
    const double inv = 1.0 / sqrt(var + (double)eps);
    const float scale = (float)(gamma[c] * inv);
    const float shift = (float)(beta[c] - mean * (gamma[c] * inv));
    // y may be x: every element is read and written by the same thread
    for (int e = threadIdx.x; e < count; e += kBnThreads) {
        const int at = channel_offset(channels, plane, c, e);
        y[at] = fmaf(x[at], scale, shift);
    }
    if (threadIdx.x == 0) {
        save_mean[c] = mean_f;
        save_inv_std[c] = (float)inv;
        const double m = momentum;
        running_mean[c] = (float)((1.0 - m) * running_mean[c] + m * mean);
        running_var[c] = (float)((1.0 - m) * running_var[c] + m * squares / (double)(count - 1));
    }
}

__global__ void __launch_bounds__(kBnThreads)
    batch_norm_backward_kernel(int batch, int channels, int plane, const float* dy, const float* __restrict__ x,
                               const float* __restrict__ gamma, const float* __restrict__ save_mean,
                               const float* __restrict__ save_inv_std, float* dx, float* __restrict__ d_gamma,
                               float* __restrict__ d_beta) {
    __shared__ double red[kBnWarps];
    const int c = blockIdx.x;
    const int count = batch * plane;
    const float mean = save_mean[c], inv = save_inv_std[c];
    KahanSum sum_dy, sum_dy_xhat;
    for (int e = threadIdx.x; e < count; e += kBnThreads) {
        const int at = channel_offset(channels, plane, c, e);
        const float d = dy[at];
        sum_dy.add(d);
        sum_dy_xhat.add(d * ((x[at] - mean) * inv));
    }
    const double db = block_sum(sum_dy.value(), red);
    const double dg = block_sum(sum_dy_xhat.value(), red);
    // dx = γ·inv/N · (N·dy − Σdy − x̂·Σdy·x̂) = k·dy − k/N·(Σdy + x̂·Σdy·x̂), k = γ·inv
    const float k = gamma[c] * inv;
    const float mean_db = (float)(db / (double)count), mean_dg = (float)(dg / (double)count);
    // dx may be dy: every element is read and written by the same thread
    for (int e = threadIdx.x; e < count; e += kBnThreads) {
        const int at = channel_offset(channels, plane, c, e);
        const float xhat = (x[at] - mean) * inv;
        dx[at] = k * (dy[at] - mean_db - xhat * mean_dg);
    }
    if (threadIdx.x == 0) {
        d_gamma[c] = (float)dg;
        d_beta[c] = (float)db;
    }
}

// One thread per element (grid-stride): y = x·scale[c] + shift[c], both from the running averages.
__global__ void batch_norm_inference_kernel(int64_t total, int channels, int plane, const float* x,
                                            const float* __restrict__ gamma, const float* __restrict__ beta,
                                            const float* __restrict__ running_mean,
                                            const float* __restrict__ running_var, float eps, float* y) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        const int c = ((int)e / plane) % channels;  // e < total <= INT_MAX (the C ABI's limit)
        const float scale = gamma[c] / sqrtf(running_var[c] + eps);
        y[e] = fmaf(x[e], scale, beta[c] - running_mean[c] * scale);
    }
}

}  // namespace

cudaError_t batch_norm_training(int batch, int channels, int plane, const float* x, const float* gamma,
                                const float* beta, float* running_mean, float* running_var, float momentum, float eps,
                                float* y, float* save_mean, float* save_inv_std, cudaStream_t stream) {
    T4J_LAUNCH(channels, kBnThreads, 0, stream, batch_norm_training_kernel)(batch, channels, plane, x, gamma, beta,
                                                                            running_mean, running_var, momentum, eps, y,
                                                                            save_mean, save_inv_std);
    return cudaGetLastError();
}

cudaError_t batch_norm_backward(int batch, int channels, int plane, const float* dy, const float* x, const float* gamma,
                                const float* save_mean, const float* save_inv_std, float* dx, float* d_gamma,
                                float* d_beta, cudaStream_t stream) {
    T4J_LAUNCH(channels, kBnThreads, 0, stream, batch_norm_backward_kernel)(batch, channels, plane, dy, x, gamma,
                                                                            save_mean, save_inv_std, dx, d_gamma,
                                                                            d_beta);
    return cudaGetLastError();
}

cudaError_t batch_norm_inference(int batch, int channels, int plane, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean, const float* running_var, float eps,
                                 float* y, cudaStream_t stream) {
    const int64_t total = (int64_t)batch * channels * plane;
    T4J_LAUNCH(elementwise_blocks(total, 256), 256, 0, stream, batch_norm_inference_kernel)(
        total, channels, plane, x, gamma, beta, running_mean, running_var, eps, y);
    return cudaGetLastError();
}

}  // namespace trady4j
