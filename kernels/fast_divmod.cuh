// Division by a divisor fixed at launch, without a division instruction on the device: the host
// precomputes a multiplier and shift (Granlund–Montgomery, round-up form), the device does one
// high multiply, an add and a shift. Valid for dividends in [0, 2^31) and divisors >= 1.
#pragma once

#include "cuda_compat.cuh"
#include <stdint.h>

namespace trady4j {

struct FastDiv {
    unsigned divisor, multiplier, shift;

    __host__ static FastDiv of(int d) {
        FastDiv f;
        f.divisor = (unsigned)d;
        unsigned l = 0;
        while ((1ull << l) < (unsigned long long)d) ++l;  // l = ceil(log2 d)
        f.shift = l;
        f.multiplier = (unsigned)((((1ull << l) - (unsigned long long)d) << 32) / (unsigned long long)d + 1);
        return f;
    }
    __device__ __forceinline__ int div(int n) const {
        const unsigned hi = __umulhi(multiplier, (unsigned)n);
        return (int)((hi + (unsigned)n) >> shift);  // hi <= n < 2^31: the sum does not overflow
    }
};

}  // namespace trady4j
