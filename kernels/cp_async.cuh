// cp.async (sm_80+): asynchronous global -> shared copies of 4 or 16 bytes, with zero fill when the
// source is outside the operand (src-size 0: nothing is read). Groups are committed per pipeline
// stage and waited for with wait_group<N> (all but the N most recent groups complete).
// On the emulator (TRADY4J_EMULATION) a copy poisons its destination when issued and lands only
// when a wait covers its group, so reading a stage before waiting for it fails the checks.
#pragma once

#include "cuda_compat.cuh"

namespace trady4j {

__device__ __forceinline__ void cp_async4(float* smem_dst, const float* src, bool ok) {
#ifdef TRADY4J_EMULATION
    ::cuda_emu::cp_async(smem_dst, ok ? src : nullptr, 4);
#else
    const unsigned dst = (unsigned)__cvta_generic_to_shared(smem_dst);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(ok ? 4 : 0) : "memory");
#endif
}

// 16 bytes: both addresses 16-byte aligned; ok covers all four elements.
__device__ __forceinline__ void cp_async16(float* smem_dst, const float* src, bool ok) {
#ifdef TRADY4J_EMULATION
    ::cuda_emu::cp_async(smem_dst, ok ? src : nullptr, 16);
#else
    const unsigned dst = (unsigned)__cvta_generic_to_shared(smem_dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(ok ? 16 : 0) : "memory");
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#ifdef TRADY4J_EMULATION
    ::cuda_emu::cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

template <int N>
__device__ __forceinline__ void cp_async_wait() {
#ifdef TRADY4J_EMULATION
    ::cuda_emu::cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

}  // namespace trady4j
