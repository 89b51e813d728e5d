// A CPU emulator of the parts of CUDA the trady4j kernels use, so that the kernel sources compile
// as plain C++ (g++ -std=c++20 -DTRADY4J_EMULATION) and run here, without a GPU, under
// AddressSanitizer and UndefinedBehaviorSanitizer. It checks indexing, bounds, the split/tile
// bookkeeping and the barrier structure; it says nothing about speed, and its memory model is
// stronger than a GPU's (so it cannot prove the absence of races: compute-sanitizer racecheck on a
// GPU does that).
//
// Execution model: a launch runs its blocks one after another; each block runs as blockDim OS
// threads. __syncthreads is a std::barrier over the block, warp intrinsics exchange values
// through a per-warp buffer between two barriers over the warp, and a thread that returns early
// drops out of both barriers (as exited threads stop counting on a GPU). __shared__ variables
// become function-local statics, which is block-shared memory because one block runs at a time.
#pragma once

#include <barrier>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

using std::isnan;

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

struct alignas(16) float4 {
    float x, y, z, w;
};

inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

struct alignas(8) float2 {
    float x, y;
};

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
};

enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };

struct CUstream_st;
typedef CUstream_st* cudaStream_t;
struct CUevent_st;
typedef CUevent_st* cudaEvent_t;

namespace cuda_emu {

inline thread_local uint3 t_thread{0, 0, 0};
inline thread_local uint3 t_block{0, 0, 0};
inline dim3 g_block_dim;
inline dim3 g_grid_dim;
inline cudaError_t g_last_error = cudaSuccess;

struct Warp {
    std::unique_ptr<std::barrier<>> bar;
    uint64_t buf[32];
    float mma[32][10];  // mma.sync operands of each lane: a[4], b[2], c[4]
};

struct BlockState {
    std::unique_ptr<std::barrier<>> bar;
    std::vector<Warp> warps;
    std::vector<unsigned char> dyn_smem;
};

inline BlockState* g_state = nullptr;

// cp.async: per-thread queue of pending copies in committed groups. Issue poisons the
// destination (its contents are undefined until the copy is waited for); wait_group(n) lands all
// but the n most recent committed groups. A block that ends with copies pending is a kernel bug.
struct AsyncCopy {
    void* dst;
    const void* src;  // nullptr: zero fill
    unsigned bytes;
};
struct AsyncCopies {
    std::vector<AsyncCopy> pending;
    std::vector<size_t> group_ends;  // end index in `pending` of each committed group
};
inline thread_local AsyncCopies t_async;

inline void cp_async(void* dst, const void* src, unsigned bytes) {
    std::memset(dst, 0xFF, bytes);  // NaN floats
    t_async.pending.push_back(AsyncCopy{dst, src, bytes});
}
inline void cp_async_commit() { t_async.group_ends.push_back(t_async.pending.size()); }
inline void cp_async_wait(int newest_pending) {
    const int groups = (int)t_async.group_ends.size();
    const int done = groups - newest_pending;
    if (done <= 0) return;
    const size_t end = t_async.group_ends[done - 1];
    for (size_t i = 0; i < end; ++i) {
        const AsyncCopy& c = t_async.pending[i];
        if (c.src)
            std::memcpy(c.dst, c.src, c.bytes);
        else
            std::memset(c.dst, 0, c.bytes);
    }
    t_async.pending.erase(t_async.pending.begin(), t_async.pending.begin() + (long)end);
    t_async.group_ends.erase(t_async.group_ends.begin(), t_async.group_ends.begin() + done);
    for (size_t& e : t_async.group_ends) e -= end;
}
inline void check_no_pending_copies() {
    if (!t_async.pending.empty()) {
        std::fprintf(stderr, "cuda_emu: a thread ended its block with %zu cp.async copies not waited for\n",
                     t_async.pending.size());
        std::abort();
    }
    t_async.group_ends.clear();
}


inline void* dynamic_smem() { return g_state->dyn_smem.data(); }

inline unsigned linear_thread() {
    return t_thread.x + g_block_dim.x * (t_thread.y + g_block_dim.y * t_thread.z);
}

inline Warp& my_warp() { return g_state->warps[linear_thread() / 32]; }

inline void reset_barriers(BlockState& s, unsigned threads) {
    s.bar = std::make_unique<std::barrier<>>(threads);
    for (size_t w = 0; w < s.warps.size(); ++w) {
        const unsigned lanes = std::min<unsigned>(32, threads - (unsigned)w * 32);
        s.warps[w].bar = std::make_unique<std::barrier<>>(lanes);
    }
}

// Runs body() for every thread of every block of the grid.
inline void run(dim3 grid, dim3 block, size_t smem, const std::function<void()>& body) {
    const unsigned threads = block.x * block.y * block.z;
    const uint64_t blocks = (uint64_t)grid.x * grid.y * grid.z;
    if (threads == 0 || threads > 1024 || blocks == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535 ||
        smem > 227 * 1024) {
        g_last_error = cudaErrorInvalidConfiguration;
        return;
    }
    BlockState state;
    state.warps.resize((threads + 31) / 32);
    state.dyn_smem.assign(smem + 16, 0xCD);  // poisoned: reading unwritten shared memory shows
    reset_barriers(state, threads);
    g_state = &state;
    g_block_dim = block;
    g_grid_dim = grid;
    auto on_block_end = [&state, threads]() noexcept { reset_barriers(state, threads); };
    std::barrier<decltype(on_block_end)> block_end(threads, on_block_end);
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t]() {
            t_thread = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
            for (uint64_t b = 0; b < blocks; ++b) {
                t_block = uint3{(unsigned)(b % grid.x), (unsigned)((b / grid.x) % grid.y),
                                (unsigned)(b / ((uint64_t)grid.x * grid.y))};
                body();
                check_no_pending_copies();
                // This thread has exited the kernel: it stops counting at the block's and warp's barriers.
                Warp& w = state.warps[t / 32];
                state.bar->arrive_and_drop();
                w.bar->arrive_and_drop();
                block_end.arrive_and_wait();
            }
        });
    }
    for (auto& th : pool) th.join();
    g_state = nullptr;
}

template <class... P>
struct Launcher {
    void (*fn)(P...);
    dim3 grid, block;
    size_t smem;
    template <class... A>
    void operator()(A&&... a) const {
        std::tuple<P...> args(static_cast<P>(a)...);
        auto f = fn;
        run(grid, block, smem, [&args, f]() { std::apply(f, args); });
    }
};

template <class... P>
Launcher<P...> launch(dim3 grid, dim3 block, size_t smem, cudaStream_t, void (*fn)(P...)) {
    return Launcher<P...>{fn, grid, block, smem};
}

template <class T>
T exchange(T v, int src) {
    static_assert(sizeof(T) <= 8, "one slot per lane");
    Warp& w = my_warp();
    const unsigned lane = linear_thread() & 31;
    std::memcpy(&w.buf[lane], &v, sizeof(T));
    w.bar->arrive_and_wait();
    T r;
    std::memcpy(&r, &w.buf[src & 31], sizeof(T));
    w.bar->arrive_and_wait();
    return r;
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, the fragment layout of the PTX ISA:
// lane = 4 g + t; a = A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]; b = B[t][g], B[t+4][g];
// c, d = C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1]. The operands are read as TF32 (the
// low 13 mantissa bits ignored); products are exact in fp32 and summed in k order in fp32.
inline float tf32_truncate(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    u &= 0xFFFFE000u;
    std::memcpy(&x, &u, 4);
    return x;
}
inline void mma_tf32_m16n8k8(float (&d)[4], const float (&a)[4], const float (&b)[2], const float (&c)[4]) {
    Warp& w = my_warp();
    const unsigned lane = linear_thread() & 31;
    for (int i = 0; i < 4; ++i) w.mma[lane][i] = a[i];
    for (int i = 0; i < 2; ++i) w.mma[lane][4 + i] = b[i];
    for (int i = 0; i < 4; ++i) w.mma[lane][6 + i] = c[i];
    w.bar->arrive_and_wait();
    auto A = [&](int r, int k) { return tf32_truncate(w.mma[4 * (r & 7) + (k & 3)][(r >> 3) + 2 * (k >> 2)]); };
    auto B = [&](int k, int n) { return tf32_truncate(w.mma[4 * n + (k & 3)][4 + (k >> 2)]); };
    const int g = (int)lane >> 2, t = (int)lane & 3;
    float out[4];
    for (int i = 0; i < 4; ++i) {
        const int r = g + 8 * (i >> 1);
        const int n = 2 * t + (i & 1);
        float s = 0.f;
        for (int k = 0; k < 8; ++k) s += A(r, k) * B(k, n);
        out[i] = w.mma[lane][6 + i] + s;
    }
    w.bar->arrive_and_wait();
    for (int i = 0; i < 4; ++i) d[i] = out[i];
}

}  // namespace cuda_emu

#define threadIdx (::cuda_emu::t_thread)
#define blockIdx (::cuda_emu::t_block)
#define blockDim (::cuda_emu::g_block_dim)
#define gridDim (::cuda_emu::g_grid_dim)

inline void __syncthreads() { cuda_emu::g_state->bar->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { cuda_emu::my_warp().bar->arrive_and_wait(); }

template <class T>
inline T __ldg(const T* p) {
    return *p;
}

template <class T>
inline T __shfl_sync(unsigned, T v, int src) {
    return cuda_emu::exchange(v, src);
}
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int mask) {
    return cuda_emu::exchange(v, (int)(cuda_emu::linear_thread() & 31) ^ mask);
}
template <class T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta) {
    const int lane = (int)(cuda_emu::linear_thread() & 31);
    const int src = lane + (int)delta;
    return cuda_emu::exchange(v, src < 32 ? src : lane);
}

inline unsigned __match_any_sync(unsigned, int v) {
    cuda_emu::Warp& w = cuda_emu::my_warp();
    const unsigned lane = cuda_emu::linear_thread() & 31;
    const unsigned lanes = std::min<unsigned>(32, cuda_emu::g_block_dim.x * cuda_emu::g_block_dim.y *
                                                          cuda_emu::g_block_dim.z - (cuda_emu::linear_thread() & ~31u));
    w.buf[lane] = (uint64_t)(uint32_t)v;
    w.bar->arrive_and_wait();
    unsigned m = 0;
    for (unsigned l = 0; l < lanes; ++l)
        if (w.buf[l] == (uint64_t)(uint32_t)v) m |= 1u << l;
    w.bar->arrive_and_wait();
    return m;
}

inline unsigned __ballot_sync(unsigned, int predicate) {
    cuda_emu::Warp& w = cuda_emu::my_warp();
    const unsigned lane = cuda_emu::linear_thread() & 31;
    const unsigned lanes = std::min<unsigned>(32, cuda_emu::g_block_dim.x * cuda_emu::g_block_dim.y *
                                                          cuda_emu::g_block_dim.z - (cuda_emu::linear_thread() & ~31u));
    w.buf[lane] = predicate != 0;
    w.bar->arrive_and_wait();
    unsigned m = 0;
    for (unsigned l = 0; l < lanes; ++l)
        if (w.buf[l]) m |= 1u << l;
    w.bar->arrive_and_wait();
    return m;
}

inline int __ffs(unsigned x) { return __builtin_ffs((int)x); }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

// ---- the host API the dev harness uses

inline cudaError_t cudaGetLastError() {
    const cudaError_t e = cuda_emu::g_last_error;
    cuda_emu::g_last_error = cudaSuccess;
    return e;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated CUDA error"; }
inline const char* cudaGetErrorName(cudaError_t e) { return e == cudaSuccess ? "cudaSuccess" : "cudaErrorEmulated"; }
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
    *p = std::malloc(bytes ? bytes : 1);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
template <class T>
inline cudaError_t cudaMalloc(T** p, size_t bytes) {
    return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
inline cudaError_t cudaFree(void* p) {
    std::free(p);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
    if (bytes) std::memcpy(dst, src, bytes);
    return cudaSuccess;
}
// What the C ABI layer (native/src) uses besides launches: one emulated device with few SMs, so
// that small problems still take the split-K paths; launches run synchronously, so streams need
// no synchronization.
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidValue; }
inline cudaError_t cudaGetDevice(int* device) {
    *device = 0;
    return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int) {
    *value = 4;
    return cudaSuccess;
}
// Resident blocks per SM of a kernel: the emulator answers a fixed 2 (what a 256-thread block of
// ~100 registers gets on sm_90), so split planners take the same code path as on a GPU.
template <class F>
inline cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, F*, int, size_t) {
    *blocks = 2;
    return cudaSuccess;
}
inline cudaError_t cudaRuntimeGetVersion(int* v) {
    *v = 13000;
    return cudaSuccess;
}
inline cudaError_t cudaDriverGetVersion(int* v) {
    *v = 0;  // no driver: this is the emulator
    return cudaSuccess;
}
// The device runtime of native/src/api_device.cu: one device; streams are tokens (launches are
// synchronous); an event is the host time at which it was recorded.
struct cudaDeviceProp {
    char name[256];
    int major, minor, multiProcessorCount;
    size_t totalGlobalMem;
};
inline constexpr size_t kEmulatedMemory = size_t(1) << 34;
inline cudaError_t cudaGetDeviceCount(int* count) {
    *count = 1;
    return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
    if (device != 0) return cudaErrorInvalidValue;
    std::snprintf(prop->name, sizeof prop->name, "CPU emulator of the trady4j kernels");
    prop->major = 0;
    prop->minor = 0;
    prop->multiProcessorCount = 4;
    prop->totalGlobalMem = kEmulatedMemory;
    return cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
    *free_bytes = kEmulatedMemory;
    *total_bytes = kEmulatedMemory;
    return cudaSuccess;
}
struct CUstream_st {};
inline cudaError_t cudaStreamCreate(cudaStream_t* s) {
    *s = new CUstream_st;
    return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete s;
    return cudaSuccess;
}
struct CUevent_st {
    std::chrono::steady_clock::time_point at;
};
inline cudaError_t cudaEventCreate(cudaEvent_t* e) {
    *e = new CUevent_st;
    return cudaSuccess;
}
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    e->at = std::chrono::steady_clock::now();
    return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
    *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
    return cudaSuccess;
}
