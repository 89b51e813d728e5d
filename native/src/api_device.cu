// C ABI: device discovery, memory, streams and events through this library's own CUDA runtime, so
// that Java can run without JCuda's runtime (io.trady4j.backend.cuda.NativeRuntime).
#include <cstring>

#include "../../kernels/kernels.cuh"
#include "api_common.cuh"

using namespace trady4j;

extern "C" {

TRADY4J_API int trady4j_device_count(int* count) {
    T4J_NOT_NULL(count);
    *count = 0;
    return api::launched(__func__, cudaGetDeviceCount(count));
}

TRADY4J_API int trady4j_device_properties(int device, char* name, int name_len, int* major, int* minor,
                                          int* multiprocessors, size_t* total_memory) {
    T4J_NOT_NULL(name);
    T4J_REQUIRE(name_len >= 1, "name_len must be >= 1, got %d", name_len);
    T4J_NOT_NULL(major);
    T4J_NOT_NULL(minor);
    T4J_NOT_NULL(multiprocessors);
    T4J_NOT_NULL(total_memory);
    cudaDeviceProp prop;
    cudaError_t err = cudaGetDeviceProperties(&prop, device);
    if (err != cudaSuccess) return api::cuda_fail(__func__, err);
    std::strncpy(name, prop.name, (size_t)name_len - 1);
    name[name_len - 1] = '\0';
    *major = prop.major;
    *minor = prop.minor;
    *multiprocessors = prop.multiProcessorCount;
    *total_memory = prop.totalGlobalMem;
    return TRADY4J_OK;
}

TRADY4J_API int trady4j_memory_info(size_t* free_bytes, size_t* total_bytes) {
    T4J_NOT_NULL(free_bytes);
    T4J_NOT_NULL(total_bytes);
    return api::launched(__func__, cudaMemGetInfo(free_bytes, total_bytes));
}

TRADY4J_API int trady4j_malloc(void** ptr, size_t bytes) {
    T4J_NOT_NULL(ptr);
    *ptr = nullptr;
    cudaError_t err = cudaMalloc(ptr, bytes > 0 ? bytes : 1);
    if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();  // not sticky: clear it so that the next call does not report it again
        return api::fail(TRADY4J_ERR_OUT_OF_MEMORY, __func__, "cannot allocate %zu bytes", bytes);
    }
    return api::launched(__func__, err);
}

TRADY4J_API int trady4j_free(void* ptr) { return api::launched(__func__, cudaFree(ptr)); }

TRADY4J_API int trady4j_stream_create(void** stream) {
    T4J_NOT_NULL(stream);
    *stream = nullptr;
    return api::launched(__func__, cudaStreamCreate(reinterpret_cast<cudaStream_t*>(stream)));
}

TRADY4J_API int trady4j_stream_destroy(void* stream) {
    T4J_NOT_NULL(stream);
    return api::launched(__func__, cudaStreamDestroy(api::as_stream(stream)));
}

TRADY4J_API int trady4j_event_create(void** event) {
    T4J_NOT_NULL(event);
    *event = nullptr;
    return api::launched(__func__, cudaEventCreate(reinterpret_cast<cudaEvent_t*>(event)));
}

TRADY4J_API int trady4j_event_destroy(void* event) {
    T4J_NOT_NULL(event);
    return api::launched(__func__, cudaEventDestroy(reinterpret_cast<cudaEvent_t>(event)));
}

TRADY4J_API int trady4j_event_record(void* event, void* stream) {
    T4J_NOT_NULL(event);
    return api::launched(__func__, cudaEventRecord(reinterpret_cast<cudaEvent_t>(event), api::as_stream(stream)));
}

TRADY4J_API int trady4j_event_elapsed(void* start, void* end, float* ms) {
    T4J_NOT_NULL(start);
    T4J_NOT_NULL(end);
    T4J_NOT_NULL(ms);
    cudaError_t err = cudaEventSynchronize(reinterpret_cast<cudaEvent_t>(end));
    if (err != cudaSuccess) return api::cuda_fail(__func__, err);
    return api::launched(__func__,
                         cudaEventElapsedTime(ms, reinterpret_cast<cudaEvent_t>(start), reinterpret_cast<cudaEvent_t>(end)));
}

}  // extern "C"
