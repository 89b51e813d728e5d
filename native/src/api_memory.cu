// C ABI: host/device copies, fills, stream synchronization.
#include "../../kernels/kernels.cuh"
#include "api_common.cuh"

using namespace trady4j;

extern "C" {

TRADY4J_API int trady4j_copy_to_device(void* dst, const void* src, size_t bytes, void* stream) {
    if (bytes == 0) return TRADY4J_OK;
    T4J_NOT_NULL(dst);
    T4J_NOT_NULL(src);
    // From pageable memory this returns once the source is staged, so the caller may free it.
    return api::launched(__func__, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, api::as_stream(stream)));
}

TRADY4J_API int trady4j_copy_to_host(void* dst, const void* src, size_t bytes, void* stream) {
    if (bytes == 0) return TRADY4J_OK;
    T4J_NOT_NULL(dst);
    T4J_NOT_NULL(src);
    cudaError_t err = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, api::as_stream(stream));
    if (err != cudaSuccess) return api::cuda_fail(__func__, err);
    return api::launched(__func__, cudaStreamSynchronize(api::as_stream(stream)));
}

TRADY4J_API int trady4j_copy_device(void* dst, const void* src, size_t bytes, void* stream) {
    if (bytes == 0) return TRADY4J_OK;
    T4J_NOT_NULL(dst);
    T4J_NOT_NULL(src);
    return api::launched(__func__, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, api::as_stream(stream)));
}

TRADY4J_API int trady4j_fill_f32(float* dst, float value, int64_t n, void* stream) {
    T4J_REQUIRE(n >= 0, "n must be >= 0, got %lld", (long long)n);
    if (n == 0) return TRADY4J_OK;
    T4J_NOT_NULL(dst);
    return api::launched(__func__, fill_f32(dst, value, n, api::as_stream(stream)));
}

TRADY4J_API int trady4j_fill_i32(int32_t* dst, int32_t value, int64_t n, void* stream) {
    T4J_REQUIRE(n >= 0, "n must be >= 0, got %lld", (long long)n);
    if (n == 0) return TRADY4J_OK;
    T4J_NOT_NULL(dst);
    return api::launched(__func__, fill_i32(dst, value, n, api::as_stream(stream)));
}

TRADY4J_API int trady4j_stream_synchronize(void* stream) {
    return api::launched(__func__, cudaStreamSynchronize(api::as_stream(stream)));
}

}  // extern "C"
