// Mean softmax cross-entropy with integer labels, its gradient, and the accuracy count, in one
// launch of one block (8 warps, a warp per row, rows dealt round-robin). The batch loss is summed
// per warp in row order and then over warps in warp order: deterministic. Exponentials and sums
// run in double as in the CPU reference; the gradient is stored in float. A label outside
// [0, classes) cannot throw here: its row's loss and gradient are NaN, and the first such row
// (smallest index, as the CPU reports it) and its label go to label_error for the host to report.
#include "common.cuh"
#include "kernels.cuh"

#include <climits>

namespace trady4j {

constexpr int kLossWarps = 8;  // 256 threads: the double-precision exp stays in registers

__global__ void __launch_bounds__(kLossWarps * 32)
    softmax_cross_entropy_kernel(int batch, int classes, const float* __restrict__ logits,
                                 const int32_t* __restrict__ labels, float* __restrict__ stats,
                                 float* __restrict__ d_logits, int32_t* __restrict__ label_error) {
    __shared__ double loss_w[kLossWarps];
    __shared__ int correct_w[kLossWarps];
    __shared__ int bad_row_w[kLossWarps];
    __shared__ int bad_label_w[kLossWarps];
    const int warp = threadIdx.x >> 5;
    const int lane = threadIdx.x & 31;
    double loss_acc = 0.0;
    int correct = 0;
    int bad_row = -1;  // this warp's first row with an invalid label (its rows ascend)
    int bad_label = 0;
    for (int r = warp; r < batch; r += kLossWarps) {
        const float* z = logits + (int64_t)r * classes;
        // Max and its first position (the CPU's strict '>' scan): lexicographic max of (value, −index).
        float mx = -INFINITY;
        int arg = INT_MAX;
        for (int j = lane; j < classes; j += 32) {
            const float v = __ldg(z + j);
            if (v > mx) {
                mx = v;
                arg = j;
            }
        }
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) {
            const float omx = __shfl_xor_sync(0xffffffffu, mx, off);
            const int oarg = __shfl_xor_sync(0xffffffffu, arg, off);
            if (omx > mx || (omx == mx && oarg < arg)) {
                mx = omx;
                arg = oarg;
            }
        }
        if (arg == INT_MAX) arg = 0;  // no element above -inf: the CPU keeps position 0
        double sum = 0.0;
        for (int j = lane; j < classes; j += 32) sum += exp((double)(__ldg(z + j) - mx));
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
        const int label = __ldg(labels + r);
        const bool valid = label >= 0 && label < classes;
        if (lane == 0) {
            loss_acc += valid ? log(sum) + (double)mx - (double)__ldg(z + label) : (double)NAN;
            correct += (valid && arg == label) ? 1 : 0;
            if (!valid && bad_row < 0) {
                bad_row = r;
                bad_label = label;
            }
        }
        if (d_logits) {
            float* dz = d_logits + (int64_t)r * classes;
            for (int j = lane; j < classes; j += 32) {
                const double p = exp((double)(__ldg(z + j) - mx)) / sum;
                dz[j] = valid ? (float)((p - (j == label ? 1.0 : 0.0)) / batch) : NAN;
            }
        }
    }
    if (lane == 0) {
        loss_w[warp] = loss_acc;
        correct_w[warp] = correct;
        bad_row_w[warp] = bad_row;
        bad_label_w[warp] = bad_label;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = 0.0;
        int hits = 0;
        int first_bad = -1;
        int first_bad_label = 0;
        for (int w = 0; w < kLossWarps; ++w) {
            total += loss_w[w];
            hits += correct_w[w];
            if (bad_row_w[w] >= 0 && (first_bad < 0 || bad_row_w[w] < first_bad)) {
                first_bad = bad_row_w[w];
                first_bad_label = bad_label_w[w];
            }
        }
        stats[0] = (float)(total / batch);
        stats[1] = (float)hits;
        label_error[0] = first_bad;
        label_error[1] = first_bad_label;
    }
}

cudaError_t softmax_cross_entropy(int batch, int classes, const float* logits, const int32_t* labels, float* stats,
                                  float* d_logits, int32_t* label_error, cudaStream_t stream) {
    T4J_LAUNCH(1, kLossWarps * 32, 0, stream, softmax_cross_entropy_kernel)(batch, classes, logits, labels, stats, d_logits,
                                                                            label_error);
    return cudaGetLastError();
}

}  // namespace trady4j
