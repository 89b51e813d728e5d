// TF32 tensor-core primitive (sm_80+): D = A·B + C for one warp, A 16x8 (row), B 8x8 (col), fp32
// accumulators, operands rounded to TF32 (10-bit mantissa, round to nearest, ties away) first.
// Fragment layout (PTX ISA, lane = 4 g + t): a = A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4];
// b = B[t][g], B[t+4][g]; c, d = C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1].
// The emulator (TRADY4J_EMULATION) exchanges the fragments through the warp and computes the
// same matrix product, so the fragment bookkeeping of a kernel is checked without a GPU.
#pragma once

#include "cuda_compat.cuh"
#include <stdint.h>
#include <string.h>

namespace trady4j {

__device__ __forceinline__ float to_tf32(float x) {
#ifdef TRADY4J_EMULATION
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7F800000u) != 0x7F800000u) u = (u + 0x1000u) & 0xFFFFE000u;  // finite: nearest, ties away
    memcpy(&x, &u, 4);
    return x;
#else
    uint32_t u;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(u) : "f"(x));
    return __uint_as_float(u);
#endif
}

__device__ __forceinline__ void mma_tf32_m16n8k8(float (&d)[4], const float (&a)[4], const float (&b)[2]) {
#ifdef TRADY4J_EMULATION
    const float c[4] = {d[0], d[1], d[2], d[3]};
    ::cuda_emu::mma_tf32_m16n8k8(d, a, b, c);
#else
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(__float_as_uint(a[0])), "r"(__float_as_uint(a[1])), "r"(__float_as_uint(a[2])),
          "r"(__float_as_uint(a[3])), "r"(__float_as_uint(b[0])), "r"(__float_as_uint(b[1])));
#endif
}

}  // namespace trady4j
