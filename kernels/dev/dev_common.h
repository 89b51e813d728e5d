// Shared by the kernel dev harnesses (llm.c style: each kernels/dev/<family>.cu includes its
// kernel file, a CPU reference in double precision, a checker with explicit tolerances, and a
// timer). Built with nvcc they run on a GPU; built with g++ -DTRADY4J_EMULATION they run the same
// checks on the CPU emulator in kernels/dev/emu (no timings there). See kernels/dev/README.md.
#pragma once

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <type_traits>
#include <vector>

#include "../cuda_compat.cuh"

#define CUDA_CHECK(call)                                                                              \
    do {                                                                                              \
        cudaError_t err_ = (call);                                                                    \
        if (err_ != cudaSuccess) {                                                                    \
            fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__, #call, cudaGetErrorName(err_), \
                    cudaGetErrorString(err_));                                                        \
            exit(2);                                                                                  \
        }                                                                                             \
    } while (0)

#ifdef TRADY4J_EMULATION
static const bool kEmulated = true;
#else
static const bool kEmulated = false;
#endif

// Fixed-seed generator (xorshift64*), so that a failing case can be replayed from its printed seed.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
    }
    float uniform() { return (float)((next() >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f; }  // [-1, 1)
    int range(int lo, int hi) { return lo + (int)(next() % (uint64_t)(hi - lo + 1)); }   // [lo, hi]
    std::vector<float> floats(size_t n) {
        std::vector<float> v(n);
        for (auto& x : v) x = uniform();
        return v;
    }
    // A sorted selection of k distinct channels out of c.
    std::vector<int32_t> selection(int c, int k) {
        std::vector<int32_t> all(c);
        for (int i = 0; i < c; ++i) all[i] = i;
        for (int i = 0; i < k; ++i) {
            const int j = i + (int)(next() % (uint64_t)(c - i));
            const int32_t t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        std::vector<int32_t> s(all.begin(), all.begin() + k);
        for (size_t i = 1; i < s.size(); ++i)  // insertion sort
            for (size_t j = i; j > 0 && s[j - 1] > s[j]; --j) {
                const int32_t t = s[j];
                s[j] = s[j - 1];
                s[j - 1] = t;
            }
        return s;
    }
};

// A device buffer of T (plain host memory on the emulator).
template <class T>
struct DeviceBuffer {
    T* p = nullptr;
    size_t n = 0;
    explicit DeviceBuffer(size_t count) : n(count) { CUDA_CHECK(cudaMalloc((void**)&p, (count ? count : 1) * sizeof(T))); }
    explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
    ~DeviceBuffer() { cudaFree(p); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    void upload(const std::vector<T>& host) {
        CUDA_CHECK(cudaMemcpy(p, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    }
    std::vector<T> download() const {
        std::vector<T> host(n);
        CUDA_CHECK(cudaMemcpy(host.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
        return host;
    }
    // Fills with NaN (floats) or a sentinel: outputs a kernel forgets to write then fail the check.
    void poison() {
        std::vector<T> host(n);
        for (auto& v : host) v = poison_value();
        upload(host);
    }
    static T poison_value() {
        if constexpr (std::is_floating_point<T>::value)
            return (T)NAN;
        else
            return (T)-77777;
    }
};

// ‖out − ref‖ / ‖ref‖ over all elements (infinite if any output is NaN or infinite).
inline double rel_error(const std::vector<float>& out, const std::vector<double>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (!isfinite(out[i])) return INFINITY;
        const double d = (double)out[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    if (den == 0) return sqrt(num);
    return sqrt(num / den);
}

// Kernel version 4 runs its GEMMs on TF32 tensor cores (10-bit mantissas): TF32's tolerance.
constexpr int kLastKernelVersion = 4;
constexpr double kTf32Tolerance = 3e-3;

struct Checker {
    int failures = 0;
    int checks = 0;
    // Tolerance on the relative error: fp32 storage and fp32 accumulation against a double reference.
    static constexpr double kTolerance = 1e-5;
    static double tolerance_for(int version) { return version == 4 ? kTf32Tolerance : kTolerance; }
    void expect(const char* what, const std::vector<float>& out, const std::vector<double>& ref, double tol = kTolerance) {
        ++checks;
        const double e = rel_error(out, ref);
        const bool ok = e <= tol;
        if (!ok) ++failures;
        printf("  %-4s %-58s rel err %.3e (tol %.0e)\n", ok ? "ok" : "FAIL", what, e, tol);
    }
    void expect_equal(const char* what, const std::vector<int32_t>& out, const std::vector<int32_t>& ref) {
        ++checks;
        size_t bad = 0;
        for (size_t i = 0; i < ref.size(); ++i) bad += out[i] != ref[i];
        if (bad) ++failures;
        printf("  %-4s %-58s %zu of %zu differ\n", bad ? "FAIL" : "ok", what, bad, ref.size());
    }
    int finish(const char* name) const {
        printf("%s: %d of %d checks passed%s\n", name, checks - failures, checks, kEmulated ? " (CPU emulation)" : "");
        return failures ? 1 : 0;
    }
};

#ifndef TRADY4J_EMULATION
// Median time in ms of `reps` launches of f() after `warmup` launches, with CUDA events.
template <class F>
float time_ms(F f, int warmup = 3, int reps = 20) {
    for (int i = 0; i < warmup; ++i) f();
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<float> t(reps);
    cudaEvent_t a, b;
    CUDA_CHECK(cudaEventCreate(&a));
    CUDA_CHECK(cudaEventCreate(&b));
    for (int i = 0; i < reps; ++i) {
        CUDA_CHECK(cudaEventRecord(a));
        f();
        CUDA_CHECK(cudaEventRecord(b));
        CUDA_CHECK(cudaEventSynchronize(b));
        CUDA_CHECK(cudaEventElapsedTime(&t[i], a, b));
    }
    CUDA_CHECK(cudaEventDestroy(a));
    CUDA_CHECK(cudaEventDestroy(b));
    for (int i = 1; i < reps; ++i)  // insertion sort for the median
        for (int j = i; j > 0 && t[j - 1] > t[j]; --j) {
            const float x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[reps / 2];
}
#endif

inline int sm_count_for_harness() {
#ifdef TRADY4J_EMULATION
    return 4;  // small, so that small shapes still take the split-K path
#else
    int dev = 0, sms = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return sms;
#endif
}
