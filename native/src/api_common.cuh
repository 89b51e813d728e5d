// Shared by the C ABI launchers in native/src: thread-local error text, argument checks, options.
#pragma once

#include "../../kernels/cuda_compat.cuh"
#include <stddef.h>
#include <stdint.h>

#include "trady4j.h"

namespace trady4j {
namespace api {

// Records "fn: message" as the calling thread's last error and returns `code`.
int fail(int code, const char* fn, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

// Records a CUDA failure ("fn: CUDA error N (cudaErrorName): text") and returns TRADY4J_ERR_CUDA.
int cuda_fail(const char* fn, cudaError_t err);

// Maps a launcher's result: TRADY4J_OK or the recorded CUDA failure.
inline int launched(const char* fn, cudaError_t err) { return err == cudaSuccess ? TRADY4J_OK : cuda_fail(fn, err); }

// Resolves a call's implementation id for `op` on this shape: 0 → the heuristic's choice; an
// unknown id → invalid argument, an ineligible one → unsupported (both name the op's function).
int resolve_impl(const char* fn, int op, const trady4j_conv2d_shape& s, int nsel, int impl, int* resolved);

// The 1x1-convolution shape that stands for a linear op in the implementation table.
trady4j_conv2d_shape linear_shape(int batch, int in_features, int out_features);

// Multiprocessor count of the current device (cached per device).
int sm_count(int* sms);

inline cudaStream_t as_stream(void* s) { return reinterpret_cast<cudaStream_t>(s); }

// Checks a conv geometry (sizes positive, divisibility, output size formula, 32-bit element
// counts) and returns TRADY4J_OK or an invalid-argument failure naming the problem.
int check_conv_shape(const char* fn, const trady4j_conv2d_shape* s);

// With TRADY4J_OPT_DEBUG_CHECKS on: copies sel[0, nsel) to the host (synchronizing `stream`) and
// fails unless it is sorted, unique and in [0, channels). Off: TRADY4J_OK without touching sel.
int check_selection(const char* fn, const int32_t* sel, int nsel, int channels, cudaStream_t stream);

}  // namespace api
}  // namespace trady4j

#define T4J_REQUIRE(cond, ...)                                                                   \
    do {                                                                                         \
        if (!(cond)) return ::trady4j::api::fail(TRADY4J_ERR_INVALID_ARGUMENT, __func__, __VA_ARGS__); \
    } while (0)

#define T4J_NOT_NULL(p) T4J_REQUIRE((p) != nullptr, "%s is null", #p)
