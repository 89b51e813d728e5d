// Library state of the C ABI: the thread-local last error, process-wide options, device facts,
// and the functions of trady4j.h that are not ops.
#include "api_common.cuh"

#include "../../kernels/kernels.cuh"

#include <atomic>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <vector>

namespace trady4j {
namespace api {

namespace {
thread_local char g_last_error[1024] = "";
constexpr int kMaxDevices = 64;
std::atomic<int> g_sm_count[kMaxDevices];
std::atomic<int> g_debug_checks{0};
}  // namespace

int fail(int code, const char* fn, const char* fmt, ...) {
    int n = snprintf(g_last_error, sizeof g_last_error, "%s: ", fn);
    if (n < 0 || n >= (int)sizeof g_last_error) n = 0;
    va_list args;
    va_start(args, fmt);
    vsnprintf(g_last_error + n, sizeof g_last_error - n, fmt, args);
    va_end(args);
    return code;
}

int cuda_fail(const char* fn, cudaError_t err) {
    fail(TRADY4J_ERR_CUDA, fn, "CUDA error %d (%s): %s", (int)err, cudaGetErrorName(err), cudaGetErrorString(err));
    return TRADY4J_ERR_CUDA;
}

int resolve_impl(const char* fn, int op, const trady4j_conv2d_shape& s, int nsel, int impl, int* resolved) {
    const ImplTable t = impl_table(op);
    if (impl == TRADY4J_IMPL_HEURISTIC) impl = impl_heuristic(op, s, nsel);
    if (impl < 1 || impl > t.count)
        return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "unknown implementation %d (this op has 1..%d)", impl, t.count);
    const KernelImpl& row = t.rows[impl - 1];
    if (!row.eligible(s, nsel))
        return fail(TRADY4J_ERR_UNSUPPORTED, fn, "implementation %d (%s) cannot serve this shape", impl, row.name);
    *resolved = impl;
    return TRADY4J_OK;
}

trady4j_conv2d_shape linear_shape(int batch, int in_features, int out_features) {
    return trady4j_conv2d_shape{batch, in_features, 1, 1, out_features, 1, 1, 1, 1, 0, 1, 1};
}

int sm_count(int* sms) {
    int dev = 0;
    cudaError_t err = cudaGetDevice(&dev);
    if (err != cudaSuccess) return cuda_fail("sm_count", err);
    if (dev >= 0 && dev < kMaxDevices) {
        const int cached = g_sm_count[dev].load(std::memory_order_relaxed);
        if (cached > 0) {
            *sms = cached;
            return TRADY4J_OK;
        }
    }
    int v = 0;
    err = cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev);
    if (err != cudaSuccess) return cuda_fail("sm_count", err);
    if (dev >= 0 && dev < kMaxDevices) g_sm_count[dev].store(v, std::memory_order_relaxed);
    *sms = v;
    return TRADY4J_OK;
}

int check_conv_shape(const char* fn, const trady4j_conv2d_shape* s) {
    if (s == nullptr) return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "shape is null");
    if (s->batch < 1 || s->in_channels < 1 || s->in_height < 1 || s->in_width < 1 || s->out_channels < 1 ||
        s->out_height < 1 || s->out_width < 1)
        return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "sizes must be >= 1 (batch %d, in %dx%dx%d, out %dx%dx%d)",
                    s->batch, s->in_channels, s->in_height, s->in_width, s->out_channels, s->out_height,
                    s->out_width);
    if (s->kernel < 1 || s->stride < 1 || s->dilation < 1 || s->padding < 0 || s->groups < 1)
        return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn,
                    "kernel, stride, dilation and groups must be >= 1 and padding >= 0 (got %d, %d, %d, %d, %d)",
                    s->kernel, s->stride, s->dilation, s->groups, s->padding);
    if (s->in_channels % s->groups != 0 || s->out_channels % s->groups != 0)
        return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "groups %d must divide in_channels %d and out_channels %d",
                    s->groups, s->in_channels, s->out_channels);
    const int64_t ek = (int64_t)s->dilation * (s->kernel - 1) + 1;
    const int64_t span_h = (int64_t)s->in_height + 2LL * s->padding - ek;
    const int64_t span_w = (int64_t)s->in_width + 2LL * s->padding - ek;
    if (span_h < 0 || span_w < 0)
        return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "input %dx%d with padding %d is smaller than the dilated kernel %lld",
                    s->in_height, s->in_width, s->padding, (long long)ek);
    if (span_h / s->stride + 1 != s->out_height || span_w / s->stride + 1 != s->out_width)
        return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "output must be %lldx%lld for this geometry, got %dx%d",
                    (long long)(span_h / s->stride + 1), (long long)(span_w / s->stride + 1), s->out_height,
                    s->out_width);
    const int64_t x_n = (int64_t)s->batch * s->in_channels * s->in_height * s->in_width;
    const int64_t y_n = (int64_t)s->batch * s->out_channels * s->out_height * s->out_width;
    const int64_t w_n = (int64_t)s->out_channels * (s->in_channels / s->groups) * s->kernel * s->kernel;
    if (x_n > INT_MAX || y_n > INT_MAX || w_n > INT_MAX)
        return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "a tensor of this convolution has more than %d elements", INT_MAX);
    return TRADY4J_OK;
}

int check_selection(const char* fn, const int32_t* sel, int nsel, int channels, cudaStream_t stream) {
    if (g_debug_checks.load(std::memory_order_relaxed) == 0 || nsel <= 0) return TRADY4J_OK;
    std::vector<int32_t> host((size_t)nsel);
    cudaError_t err = cudaMemcpyAsync(host.data(), sel, (size_t)nsel * sizeof(int32_t), cudaMemcpyDeviceToHost, stream);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
    if (err != cudaSuccess) return cuda_fail(fn, err);
    for (int j = 0; j < nsel; ++j) {
        if (host[j] < 0 || host[j] >= channels)
            return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "debug checks: sel[%d] = %d is outside [0, %d)", j, host[j],
                        channels);
        if (j > 0 && host[j] <= host[j - 1])
            return fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "debug checks: sel[%d] = %d after sel[%d] = %d (%s)", j,
                        host[j], j - 1, host[j - 1], host[j] == host[j - 1] ? "not unique" : "not sorted");
    }
    return TRADY4J_OK;
}

}  // namespace api
}  // namespace trady4j

using namespace trady4j;

extern "C" {

TRADY4J_API int trady4j_abi_version(void) { return TRADY4J_ABI_VERSION; }

TRADY4J_API const char* trady4j_last_error(void) { return api::g_last_error; }

TRADY4J_API int trady4j_set_device(int device) {
    T4J_REQUIRE(device >= 0, "device must be >= 0, got %d", device);
    return api::launched(__func__, cudaSetDevice(device));
}

TRADY4J_API int trady4j_set_option(int option, int value) {
    switch (option) {
        case TRADY4J_OPT_TF32:
            if (value != 0)
                return api::fail(TRADY4J_ERR_UNSUPPORTED, __func__, "TF32 kernels are not built into this library");
            return TRADY4J_OK;
        case TRADY4J_OPT_DEBUG_CHECKS:
            T4J_REQUIRE(value == 0 || value == 1, "TRADY4J_OPT_DEBUG_CHECKS takes 0 or 1, got %d", value);
            api::g_debug_checks.store(value, std::memory_order_relaxed);
            return TRADY4J_OK;
        default:
            return api::fail(TRADY4J_ERR_INVALID_ARGUMENT, __func__, "unknown option %d", option);
    }
}

TRADY4J_API int trady4j_get_option(int option, int* value) {
    T4J_NOT_NULL(value);
    switch (option) {
        case TRADY4J_OPT_TF32: *value = 0; return TRADY4J_OK;
        case TRADY4J_OPT_DEBUG_CHECKS: *value = api::g_debug_checks.load(std::memory_order_relaxed); return TRADY4J_OK;
        default: return api::fail(TRADY4J_ERR_INVALID_ARGUMENT, __func__, "unknown option %d", option);
    }
}

static int impl_table_of(const char* fn, int op, ImplTable* t) {
    *t = impl_table(op);
    if (t->count == 0) return api::fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "unknown op %d", op);
    return TRADY4J_OK;
}

TRADY4J_API int trady4j_impl_count(int op, int* count) {
    T4J_NOT_NULL(count);
    ImplTable t;
    const int st = impl_table_of(__func__, op, &t);
    if (st == TRADY4J_OK) *count = t.count;
    return st;
}

TRADY4J_API int trady4j_impl_name(int op, int impl, const char** name) {
    T4J_NOT_NULL(name);
    ImplTable t;
    const int st = impl_table_of(__func__, op, &t);
    if (st != TRADY4J_OK) return st;
    T4J_REQUIRE(impl >= 1 && impl <= t.count, "unknown implementation %d (op %d has 1..%d)", impl, op, t.count);
    *name = t.rows[impl - 1].name;
    return TRADY4J_OK;
}

TRADY4J_API int trady4j_impl_eligible(int op, int impl, const trady4j_conv2d_shape* shape, int nsel, int* eligible) {
    T4J_NOT_NULL(eligible);
    int st = api::check_conv_shape(__func__, shape);
    if (st != TRADY4J_OK) return st;
    ImplTable t;
    st = impl_table_of(__func__, op, &t);
    if (st != TRADY4J_OK) return st;
    T4J_REQUIRE(impl >= 1 && impl <= t.count, "unknown implementation %d (op %d has 1..%d)", impl, op, t.count);
    T4J_REQUIRE(nsel >= 0 && nsel <= shape->in_channels, "nsel must be in [0, %d], got %d", shape->in_channels, nsel);
    *eligible = t.rows[impl - 1].eligible(*shape, nsel) ? 1 : 0;
    return TRADY4J_OK;
}

TRADY4J_API int trady4j_impl_heuristic(int op, const trady4j_conv2d_shape* shape, int nsel, int* impl) {
    T4J_NOT_NULL(impl);
    int st = api::check_conv_shape(__func__, shape);
    if (st != TRADY4J_OK) return st;
    ImplTable t;
    st = impl_table_of(__func__, op, &t);
    if (st != TRADY4J_OK) return st;
    T4J_REQUIRE(nsel >= 0 && nsel <= shape->in_channels, "nsel must be in [0, %d], got %d", shape->in_channels, nsel);
    *impl = impl_heuristic(op, *shape, nsel);
    return TRADY4J_OK;
}

TRADY4J_API int trady4j_versions(int* runtime_version, int* driver_version) {
    T4J_NOT_NULL(runtime_version);
    T4J_NOT_NULL(driver_version);
    cudaError_t err = cudaRuntimeGetVersion(runtime_version);
    if (err != cudaSuccess) return api::cuda_fail(__func__, err);
    return api::launched(__func__, cudaDriverGetVersion(driver_version));
}

}  // extern "C"
