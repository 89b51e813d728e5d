// Internal host launchers of the trady4j kernels (one .cu per op family in kernels/). They assume
// validated arguments (native/src validates and maps errors) and return the launch status
// (cudaGetLastError after the launches). `impl` is a concrete implementation id of the op's row in
// the implementation table (versions.cu): native/src resolves 0 (heuristic) and checks eligibility.
#pragma once

#include "cuda_compat.cuh"
#include <stddef.h>
#include <stdint.h>

#include "trady4j.h"

namespace trady4j {

// ---- versions.cu: the implementation table of the ops with several kernels (TRADY4J_OP_*)
// Whether an implementation computes the op correctly for this shape and selection size.
typedef bool (*ImplEligible)(const trady4j_conv2d_shape& shape, int nsel);
struct KernelImpl {
    int id;             // 1, 2, ... in table order
    const char* name;   // "v1_naive", "v2_tiled", ...
    ImplEligible eligible;
};
struct ImplTable {
    const KernelImpl* rows;
    int count;  // 0 for an op without a table
};
ImplTable impl_table(int op);
// The id the library takes for impl 0 (an eligible row).
int impl_heuristic(int op, const trady4j_conv2d_shape& shape, int nsel);

// ---- conv2d.cu: forward with fused bias, activation and channel gather ----
cudaError_t conv2d_forward(const trady4j_conv2d_shape& s, const float* x, const float* w, const float* bias, int act,
                           const int32_t* sel, int nsel, float* x_sel, float* y, int impl, cudaStream_t stream);

// A split of a weight gradient's long reduction: `splits` slices of `chunk` (unit per kernel);
// with splits > 1 each slice writes partial sums into a workspace of `workspace` bytes, which
// conv2d_dw_sparse adds in slice order.
struct SplitPlan {
    int splits;
    int chunk;
    size_t workspace;
};

// ---- depthwise.cu: v3 depthwise kernels (true depthwise, k = 3, 5, 7, stride 1 or 2, dilation 1) ----
bool depthwise_v3_supports(const trady4j_conv2d_shape& s);
cudaError_t depthwise_forward(const trady4j_conv2d_shape& s, const float* x, const float* w, const float* bias, int act,
                              const int32_t* sel, int nsel, float* x_sel, float* y, cudaStream_t stream);
cudaError_t depthwise_dx(const trady4j_conv2d_shape& s, const float* dy, const float* w, float* dx,
                         cudaStream_t stream);
SplitPlan depthwise_dw_sparse_plan(const trady4j_conv2d_shape& s, int nsel, int sms);
// out: dw_sel when plan.splits == 1, else the workspace's [splits, nsel, k²] partial sums.
cudaError_t depthwise_dw_sparse_partial(const trady4j_conv2d_shape& s, const SplitPlan& plan, const float* x_sel,
                                        const float* dy, const int32_t* sel, int nsel, float* out,
                                        cudaStream_t stream);

// ---- dw_sparse_stream.cu: v3 streaming sparse weight gradient of dense layers (|S|·k² <= 32) ----
bool dw_sparse_stream_supports(const trady4j_conv2d_shape& s, int nsel);
SplitPlan dw_sparse_stream_plan(const trady4j_conv2d_shape& s, int nsel, int sms);
// out: dw_sel when plan.splits == 1, else the workspace's [splits, C', nsel·k²] partial sums.
cudaError_t dw_sparse_stream_partial(const trady4j_conv2d_shape& s, const SplitPlan& plan, const float* x_sel,
                                     const float* dy, int nsel, float* out, cudaStream_t stream);

// ---- pointwise.cu: v6 of the conv forward and dx for 1x1, stride 1, no padding, groups 1, H·W % 4 == 0 ----
bool pointwise_supports(const trady4j_conv2d_shape& s);
// The tile of `rows` output channels reducing K channels over `quads` 4-pixel groups: output rows
// per thread (16, 8, 4) and channel groups per block (1, 2, 4).
struct PointwiseTile {
    int rows_per_thread, k_groups;
};
PointwiseTile pointwise_tile(int rows, int K, int quads, int sms);
cudaError_t pointwise_forward(const trady4j_conv2d_shape& s, const float* x, const float* w, const float* bias, int act,
                              const int32_t* sel, int nsel, float* x_sel, float* y, cudaStream_t stream);
cudaError_t pointwise_dx(const trady4j_conv2d_shape& s, const float* dy, const float* w, float* dx,
                         cudaStream_t stream);

// ---- conv2d_dw_sparse.cu: sparse weight gradient ----
// Workspace bytes the split-K partial sums need for this shape on a device with `sms` SMs.
size_t conv2d_dw_sparse_workspace(const trady4j_conv2d_shape& s, int nsel, int sms, int impl);
cudaError_t conv2d_dw_sparse(const trady4j_conv2d_shape& s, const float* x_sel, const float* dy, const int32_t* sel,
                             int nsel, float* dw_sel, float* workspace, size_t workspace_bytes, int sms, int impl,
                             cudaStream_t stream);

// ---- conv2d_dx.cu: input gradient ----
cudaError_t conv2d_dx(const trady4j_conv2d_shape& s, const float* dy, const float* w, float* dx, int impl,
                      cudaStream_t stream);

// ---- linear.cu ----
cudaError_t linear_forward(int batch, int in_f, int out_f, const float* x, const float* w, const float* bias, float* y,
                           int impl, cudaStream_t stream);
cudaError_t linear_dx(int batch, int in_f, int out_f, const float* dy, const float* w, float* dx, int impl,
                      cudaStream_t stream);
cudaError_t linear_dw_sparse(int batch, int nsel, int out_f, const float* x_sel, const float* dy, float* dw_sel,
                             int impl, cudaStream_t stream);

// ---- elementwise.cu ----
cudaError_t fill_f32(float* dst, float value, int64_t n, cudaStream_t stream);
cudaError_t fill_i32(int32_t* dst, int32_t value, int64_t n, cudaStream_t stream);
cudaError_t activation_forward(int act, int64_t n, const float* x, float* y, cudaStream_t stream);
cudaError_t activation_backward(int act, int64_t n, const float* y, const float* dy, float* dx, cudaStream_t stream);
cudaError_t activation_mask(int act, int64_t n, const float* y, uint32_t* mask, cudaStream_t stream);
cudaError_t activation_backward_masked(int64_t n, const uint32_t* mask, const float* dy, float* dx, cudaStream_t stream);
cudaError_t add(int64_t n, const float* a, const float* b, float* out, cudaStream_t stream);
cudaError_t bias_grad(int batch, int channels, int plane, const float* dy, float* db, cudaStream_t stream);
cudaError_t gather_channels(int batch, int channels, int plane, const float* x, const int32_t* sel, int nsel,
                            float* x_sel, cudaStream_t stream);

// ---- pooling.cu ----
cudaError_t global_avg_pool(int planes, int plane, const float* x, float* y, cudaStream_t stream);
cudaError_t global_avg_pool_backward(int planes, int plane, const float* dy, float* dx, cudaStream_t stream);
cudaError_t max_pool2d(int planes, int h, int w, int k, int stride, int pad, int ho, int wo, const float* x, float* y,
                       int32_t* argmax, cudaStream_t stream);
cudaError_t max_pool2d_backward(int planes, int in_plane, int out_plane, const float* dy, const int32_t* argmax,
                                float* dx, cudaStream_t stream);

// ---- softmax_cross_entropy.cu ----
cudaError_t softmax_cross_entropy(int batch, int classes, const float* logits, const int32_t* labels, float* stats,
                                  float* d_logits, int32_t* label_error, cudaStream_t stream);

// ---- sgd.cu ----
cudaError_t sgd_update(int64_t n, float* p, const float* g, float* m, float lr, float mu, float wd,
                       cudaStream_t stream);
cudaError_t sgd_update_sparse(int cout, int cg, int k2, int groups, const int32_t* sel, int nsel, float* w,
                              const float* dw, float* m, float lr, float mu, float wd, cudaStream_t stream);

// ---- batchnorm.cu: BatchNorm over [batch, channels, plane] (pretraining) ----
// Training: batch mean and biased variance per channel; y = γ·(x − μ)·inv + β (y may be x); saves μ and
// inv = 1/√(σ² + ε); running averages moved towards μ and the unbiased variance by momentum (PyTorch).
cudaError_t batch_norm_training(int batch, int channels, int plane, const float* x, const float* gamma,
                                const float* beta, float* running_mean, float* running_var, float momentum, float eps,
                                float* y, float* save_mean, float* save_inv_std, cudaStream_t stream);
// dx (may be dy), dγ and dβ of batch_norm_training's output gradient dy.
cudaError_t batch_norm_backward(int batch, int channels, int plane, const float* dy, const float* x, const float* gamma,
                                const float* save_mean, const float* save_inv_std, float* dx, float* d_gamma,
                                float* d_beta, cudaStream_t stream);
// y = γ·(x − running mean)/√(running var + ε) + β; y may be x.
cudaError_t batch_norm_inference(int batch, int channels, int plane, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean, const float* running_var, float eps,
                                 float* y, cudaStream_t stream);

}  // namespace trady4j
