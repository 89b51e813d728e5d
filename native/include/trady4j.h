/*
 * trady4j C ABI: the CUDA kernels behind io.trady4j.backend.cuda.CudaBackend.
 *
 * Conventions (every function):
 *  - Tensors are dense row-major float32 (labels, indices, arg-max: int32) in NCHW order, in
 *    device memory allocated by the caller (cudaMalloc). Shapes are the ones documented in
 *    java/src/main/java/io/trady4j/backend/Backend.java; the kernels compute the same functions as
 *    the CPU reference backend (io.trady4j.backend.cpu.CpuBackend).
 *  - Every call takes the CUDA stream (a cudaStream_t, or NULL for the legacy default stream) as
 *    its last argument, passed as void* so that this header needs no CUDA header. Work is only
 *    queued: no call synchronizes, except trady4j_copy_to_host.
 *  - Every call returns a status (TRADY4J_OK = 0). On failure, trady4j_last_error() returns a
 *    thread-local text naming the function and the problem (for CUDA errors: the CUDA error name
 *    and string). Nothing here calls exit() or abort(), and nothing but trady4j_malloc allocates
 *    device memory: operations that need scratch space take a caller-owned workspace whose size
 *    the matching *_workspace_size function reports.
 *  - Channel selections (sel, nsel) are int32 device arrays of sorted, unique input-channel
 *    indices in [0, C); the caller validates them once (they are created once per epoch).
 *  - Everything is deterministic: no floating-point atomics, split-K sums reduced in a fixed order.
 *    Bit-for-bit reproducibility holds per device type and build: split-K counts and some tile
 *    choices follow the SM count and the kernels' occupancy, so another GPU may round differently.
 *  - Outputs must not alias inputs (the kernels take them as __restrict__): no call works in place,
 *    except where a function's comment says so.
 */
#ifndef TRADY4J_H
#define TRADY4J_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define TRADY4J_API __declspec(dllexport)
#else
#define TRADY4J_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature below changes; the Java side refuses a library of another version. */
#define TRADY4J_ABI_VERSION 4

/* Status codes. */
#define TRADY4J_OK 0
#define TRADY4J_ERR_INVALID_ARGUMENT 1 /* a null pointer, a bad size, inconsistent shapes */
#define TRADY4J_ERR_CUDA 2             /* a CUDA runtime call or a kernel launch failed */
#define TRADY4J_ERR_WORKSPACE 3        /* the workspace passed is smaller than required */
#define TRADY4J_ERR_UNSUPPORTED 4      /* a valid request this build cannot serve */
#define TRADY4J_ERR_OUT_OF_MEMORY 5    /* trady4j_malloc: the device has not that much free memory */

/* Activation codes: io.trady4j.backend.Activation.code(). */
#define TRADY4J_ACT_NONE 0
#define TRADY4J_ACT_RELU 1
#define TRADY4J_ACT_RELU6 2

/* Options for trady4j_set_option (process-wide). Id 1 (the kernel version of ABI 3) is retired:
 * the ops below take an implementation id per call. */
#define TRADY4J_OPT_TF32 2 /* reserved: 0 (fp32 everywhere) is the only value accepted */
/* 1: calls that take a channel selection (trady4j_conv2d_forward with nsel > 0, trady4j_conv2d_dw_sparse,
 * trady4j_gather_channels, trady4j_sgd_update_sparse) first copy `sel` to the host (synchronizing their stream) and fail with TRADY4J_ERR_INVALID_ARGUMENT,
 * naming the first offending entry, unless it is sorted, unique and in [0, C). 0 (the default): unchecked,
 * as the conventions above say. For debugging only: it costs a host round trip per call. */
#define TRADY4J_OPT_DEBUG_CHECKS 3

/*
 * Ops with several implementations (kernels/versions.cu). Each of their calls takes `impl`, an
 * implementation id: 1 .. trady4j_impl_count(op), or TRADY4J_IMPL_HEURISTIC (0) for the library's
 * own choice. An unknown id is TRADY4J_ERR_INVALID_ARGUMENT; one that cannot serve the shape
 * (trady4j_impl_eligible says 0) is TRADY4J_ERR_UNSUPPORTED. Every implementation computes the
 * same function within the documented tolerance; they differ only in speed.
 */
#define TRADY4J_IMPL_HEURISTIC 0
#define TRADY4J_OP_CONV2D_FORWARD 1 /* trady4j_conv2d_forward; nsel > 0 is the gather-fused form */
#define TRADY4J_OP_CONV2D_DX 2
#define TRADY4J_OP_CONV2D_DW_SPARSE 3
#define TRADY4J_OP_LINEAR_FORWARD 4
#define TRADY4J_OP_LINEAR_DX 5
#define TRADY4J_OP_LINEAR_DW_SPARSE 6

/*
 * Geometry of a 2-D convolution with a square kernel: x [batch, in_channels, in_height, in_width],
 * w [out_channels, in_channels/groups, kernel, kernel], y [batch, out_channels, out_height,
 * out_width]. out_height must equal (in_height + 2*padding - dilation*(kernel-1) - 1)/stride + 1,
 * likewise out_width; the call checks it.
 */
typedef struct trady4j_conv2d_shape {
    int32_t batch;
    int32_t in_channels;
    int32_t in_height;
    int32_t in_width;
    int32_t out_channels;
    int32_t out_height;
    int32_t out_width;
    int32_t kernel;
    int32_t stride;
    int32_t padding;
    int32_t dilation;
    int32_t groups;
} trady4j_conv2d_shape;

/* ---- library ---- */

TRADY4J_API int trady4j_abi_version(void);

/* The last error of the calling thread ("" if none); valid until the thread's next failing call. */
TRADY4J_API const char* trady4j_last_error(void);

/* Makes `device` current for the calling thread (cudaSetDevice). */
TRADY4J_API int trady4j_set_device(int device);

TRADY4J_API int trady4j_set_option(int option, int value);
TRADY4J_API int trady4j_get_option(int option, int* value);

/* CUDA runtime version this library was built with (e.g. 13000) and the driver's. */
TRADY4J_API int trady4j_versions(int* runtime_version, int* driver_version);

/* ---- implementations ---- */

/* Number of implementations of `op` (their ids are 1 .. count). */
TRADY4J_API int trady4j_impl_count(int op, int* count);
/* The implementation's name ("v1_naive", "v2_tiled", ...): a static string. */
TRADY4J_API int trady4j_impl_name(int op, int impl, const char** name);
/*
 * Whether `impl` of `op` can serve this shape and selection size (1 or 0). The shape of a linear op
 * is that of a 1x1 convolution: {batch, in_features, 1, 1, out_features, 1, 1, 1, 1, 0, 1, 1}; nsel
 * is the selection size for the sparse gradients and the gathered forward, else 0.
 */
TRADY4J_API int trady4j_impl_eligible(int op, int impl, const trady4j_conv2d_shape* shape, int nsel, int* eligible);
/* The implementation TRADY4J_IMPL_HEURISTIC stands for on this shape. */
TRADY4J_API int trady4j_impl_heuristic(int op, const trady4j_conv2d_shape* shape, int nsel, int* impl);

/* ---- memory ---- */

/* Queues a copy of `bytes` from pageable host memory; the host buffer may be reused on return. */
TRADY4J_API int trady4j_copy_to_device(void* dst, const void* src, size_t bytes, void* stream);
/* Copies `bytes` from the device into host memory and waits for the stream (the one host sync). */
TRADY4J_API int trady4j_copy_to_host(void* dst, const void* src, size_t bytes, void* stream);
TRADY4J_API int trady4j_copy_device(void* dst, const void* src, size_t bytes, void* stream);
TRADY4J_API int trady4j_fill_f32(float* dst, float value, int64_t n, void* stream);
TRADY4J_API int trady4j_fill_i32(int32_t* dst, int32_t value, int64_t n, void* stream);
TRADY4J_API int trady4j_stream_synchronize(void* stream);

/* ---- device runtime: the services a caller could also take from its own CUDA runtime (JCuda's) ----
 * They run in this library's CUDA runtime, on the device's primary context like any other runtime's. */

/* Number of CUDA devices, and one device's name (NUL-terminated, at most name_len bytes with the NUL),
 * compute capability, multiprocessor count and total memory. */
TRADY4J_API int trady4j_device_count(int* count);
TRADY4J_API int trady4j_device_properties(int device, char* name, int name_len, int* major, int* minor,
                                          int* multiprocessors, size_t* total_memory);
/* Free and total memory of the current device. */
TRADY4J_API int trady4j_memory_info(size_t* free_bytes, size_t* total_bytes);
/* cudaMalloc of max(bytes, 1); TRADY4J_ERR_OUT_OF_MEMORY when the device cannot serve it. */
TRADY4J_API int trady4j_malloc(void** ptr, size_t bytes);
TRADY4J_API int trady4j_free(void* ptr);
TRADY4J_API int trady4j_stream_create(void** stream);
TRADY4J_API int trady4j_stream_destroy(void* stream);
TRADY4J_API int trady4j_event_create(void** event);
TRADY4J_API int trady4j_event_destroy(void* event);
TRADY4J_API int trady4j_event_record(void* event, void* stream);
/* Waits for `end`, then the milliseconds between the two recorded events. */
TRADY4J_API int trady4j_event_elapsed(void* start, void* end, float* ms);

/* ---- convolution ---- */

/*
 * y = act(conv2d(x, w) + bias) (bias may be NULL). If nsel > 0, the same launch also writes the
 * channel-gathered input x_sel [batch, nsel, in_height, in_width] = x[:, sel] (sel: nsel indices);
 * with nsel == 0, sel and x_sel are ignored.
 */
TRADY4J_API int trady4j_conv2d_forward(const trady4j_conv2d_shape* shape, const float* x, const float* w,
                                       const float* bias, int activation, const int32_t* sel, int nsel,
                                       float* x_sel, float* y, int impl, void* stream);

/*
 * Sparse weight gradient from the gathered input: x_sel [batch, nsel, in_height, in_width],
 * dy [batch, out_channels, out_height, out_width] → dw_sel [out_channels/groups, nsel, kernel, kernel]
 * with dw_sel[o, j] = dW[group(sel[j])·C'/g + o, sel[j] mod C/g] (for depthwise: [nsel, 1, k, k]).
 * Implicit GEMM M = C'/g, N = nsel·k², K = batch·out_height·out_width, split over K when K is
 * long; the split needs the workspace reported by trady4j_conv2d_dw_sparse_workspace_size.
 */
TRADY4J_API int trady4j_conv2d_dw_sparse_workspace_size(const trady4j_conv2d_shape* shape, int nsel, int impl,
                                                        size_t* bytes);
TRADY4J_API int trady4j_conv2d_dw_sparse(const trady4j_conv2d_shape* shape, const float* x_sel, const float* dy,
                                         const int32_t* sel, int nsel, float* dw_sel, void* workspace,
                                         size_t workspace_bytes, int impl, void* stream);

/* Input gradient dx [batch, in_channels, in_height, in_width] (overwritten) from dy and w. */
TRADY4J_API int trady4j_conv2d_dx(const trady4j_conv2d_shape* shape, const float* dy, const float* w, float* dx,
                                  int impl, void* stream);

/* ---- linear ---- */

/* y [batch, out] = x [batch, in] · wᵀ (w [out, in]) + bias [out] (bias may be NULL). */
TRADY4J_API int trady4j_linear_forward(int batch, int in_features, int out_features, const float* x,
                                       const float* w, const float* bias, float* y, int impl, void* stream);
/* dx [batch, in] = dy [batch, out] · w [out, in]. */
TRADY4J_API int trady4j_linear_dx(int batch, int in_features, int out_features, const float* dy, const float* w,
                                  float* dx, int impl, void* stream);
/* dw_sel [out, nsel] = dyᵀ · x_sel (x_sel [batch, nsel]). */
TRADY4J_API int trady4j_linear_dw_sparse(int batch, int nsel, int out_features, const float* x_sel,
                                         const float* dy, float* dw_sel, int impl, void* stream);

/* ---- element-wise ---- */

/* db [channels] = Σ over batch and plane of dy [batch, channels, plane]. */
TRADY4J_API int trady4j_bias_grad(int batch, int channels, int plane, const float* dy, float* db, void* stream);
/* x_sel [batch, nsel, plane] = x [batch, channels, plane][:, sel]. */
TRADY4J_API int trady4j_gather_channels(int batch, int channels, int plane, const float* x, const int32_t* sel,
                                        int nsel, float* x_sel, void* stream);
/* y = act(x); y may equal x. */
TRADY4J_API int trady4j_activation(int activation, int64_t n, const float* x, float* y, void* stream);
/* dx = dy where the activation passes the gradient at its output y, else 0; dx may equal dy. */
TRADY4J_API int trady4j_activation_backward(int activation, int64_t n, const float* y, const float* dy,
                                            float* dx, void* stream);
/* mask: bit e%32 of mask[e/32] = whether the activation passes the gradient at y[e]; (n+31)/32 words,
 * unused bits of the last word 0. The backward pass keeps these bits instead of y (1/32 of the bytes). */
TRADY4J_API int trady4j_activation_mask(int activation, int64_t n, const float* y, uint32_t* mask, void* stream);
/* dx = dy where mask's bit is set, else 0; dx may equal dy. */
TRADY4J_API int trady4j_activation_backward_masked(int64_t n, const uint32_t* mask, const float* dy, float* dx,
                                                   void* stream);
/* out = a + b; out may equal a or b. */
TRADY4J_API int trady4j_add(int64_t n, const float* a, const float* b, float* out, void* stream);

/* ---- pooling ---- */

/* y [planes] = mean of x [planes, plane]. */
TRADY4J_API int trady4j_global_avg_pool(int planes, int plane, const float* x, float* y, void* stream);
/* dx [planes, plane] = dy [planes] / plane. */
TRADY4J_API int trady4j_global_avg_pool_backward(int planes, int plane, const float* dy, float* dx,
                                                 void* stream);
/*
 * Max pooling of x [planes, height, width] with a square window (-inf padding) into y [planes,
 * out_height, out_width]; argmax receives, per output, the flat in-plane input offset of the
 * maximum (first maximum in window order; a NaN wins; -1 if the window holds no input).
 */
TRADY4J_API int trady4j_max_pool2d(int planes, int height, int width, int kernel, int stride, int padding,
                                   int out_height, int out_width, const float* x, float* y, int32_t* argmax,
                                   void* stream);
/* dx [planes, in_plane] = scatter-add of dy [planes, out_plane] at argmax (dx overwritten). */
TRADY4J_API int trady4j_max_pool2d_backward(int planes, int in_plane, int out_plane, const float* dy,
                                            const int32_t* argmax, float* dx, void* stream);

/* ---- loss ---- */

/*
 * Mean softmax cross-entropy of logits [batch, classes] against int32 labels [batch]:
 * stats[0] = mean loss, stats[1] = number of samples whose first arg-max equals the label.
 * d_logits (may be NULL) = (softmax − onehot)/batch. Device code cannot throw, so a label outside
 * [0, classes) makes stats[0] NaN and its row of d_logits NaN, and label_error (int32 [2] in
 * device memory, written by every call) receives {first such sample, its label}, or {-1, 0} when
 * every label is valid: a caller that finds stats[0] NaN reads it to tell a bad label from a
 * diverged loss.
 */
TRADY4J_API int trady4j_softmax_cross_entropy(int batch, int classes, const float* logits, const int32_t* labels,
                                              float* stats, float* d_logits, int32_t* label_error, void* stream);

/* ---- optimizer ---- */

/*
 * PyTorch SGD: g' = g + weight_decay·p; with momentum > 0: m = momentum·m + g', g' = m; p -= lr·g'.
 * momentum_buf may be NULL when momentum == 0.
 */
TRADY4J_API int trady4j_sgd_update(int64_t n, float* param, const float* grad, float* momentum_buf, float lr,
                                   float momentum, float weight_decay, void* stream);
/*
 * The same step on the selected slice only: w [out_channels, in_per_group, k2] (k2 = kernel², 1 for
 * linear), dw_sel/momentum_buf [out_channels/groups, nsel, k2] laid out as trady4j_conv2d_dw_sparse
 * writes them; weights of unselected channels are untouched.
 */
TRADY4J_API int trady4j_sgd_update_sparse(int out_channels, int in_per_group, int k2, int groups,
                                          const int32_t* sel, int nsel, float* w, const float* dw_sel,
                                          float* momentum_buf, float lr, float momentum, float weight_decay,
                                          void* stream);

/* ---- BatchNorm (pretraining; fine-tuning folds BatchNorm into the convolutions) ---- */

/*
 * BatchNorm in training mode over x [batch, channels, plane] (plane = height·width): per channel the
 * batch mean μ and biased variance σ² over batch·plane (>= 2) values; y = γ·(x − μ)/√(σ² + eps) + β
 * (y may equal x); save_mean = μ, save_inv_std = 1/√(σ² + eps); running_mean and running_var move
 * towards μ and the unbiased variance by momentum in [0, 1] (PyTorch's convention). gamma, beta,
 * running_mean, running_var, save_mean, save_inv_std: [channels]; eps > 0.
 */
TRADY4J_API int trady4j_batch_norm_training(int batch, int channels, int plane, const float* x, const float* gamma,
                                            const float* beta, float* running_mean, float* running_var,
                                            float momentum, float eps, float* y, float* save_mean,
                                            float* save_inv_std, void* stream);
/*
 * Backward of trady4j_batch_norm_training (the batch statistics depend on x): with x̂ = (x − μ)·inv,
 * d_beta = Σ dy, d_gamma = Σ dy·x̂, dx = γ·inv/N·(N·dy − d_beta − x̂·d_gamma); dx may equal dy.
 */
TRADY4J_API int trady4j_batch_norm_backward(int batch, int channels, int plane, const float* dy, const float* x,
                                            const float* gamma, const float* save_mean, const float* save_inv_std,
                                            float* dx, float* d_gamma, float* d_beta, void* stream);
/* BatchNorm in inference mode: y = γ·(x − running_mean)/√(running_var + eps) + β; y may equal x. */
TRADY4J_API int trady4j_batch_norm_inference(int batch, int channels, int plane, const float* x, const float* gamma,
                                             const float* beta, const float* running_mean, const float* running_var,
                                             float eps, float* y, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* TRADY4J_H */
