// The tiled shared-memory GEMM main loop shared by the conv forward, conv input-gradient, sparse
// weight-gradient and linear kernels. Each kernel supplies two operand loaders that fetch
// A(m, k) and B(k, n) straight from their tensors (implicit GEMM: no im2col buffer exists).
//
// Block: 256 threads, tile BM x BN, K step 16. Thread (tx = tid % 16, ty = tid / 16) accumulates
// rows ty + 16 i (i < BM/16) and columns tx + 16 j (j < BN/16): the strided micro-tile makes the
// shared-memory reads broadcast (A) or conflict-free (B) and the epilogue's stores coalesced
// along n. Global loads for tile t+1 are issued into registers before tile t is computed, and
// shared memory is double-buffered, so there is one __syncthreads per K step.
//
// Loader contract (all members device functions, state in registers):
//   static constexpr bool kKFast;   // thread mapping of the tile load (see map_k / map_row)
//   void set_row(int slot, int idx); // once per kernel: slot's row (m for A, n for B), global index
//   void set_k(int k, bool valid);   // once per K step: this thread's k (valid: k < kEnd)
//   float get(int slot) const;       // the element at (slot's row, k); 0 outside the operand
// With kKFast, consecutive threads read consecutive k (coalesced when k is contiguous in memory);
// without it, consecutive threads read consecutive rows. Either way a thread has one k per step,
// so index arithmetic on k (divisions) is paid once per step per thread, not per element.
#pragma once

#include "common.cuh"

namespace trady4j {

constexpr int kGemmThreads = 256;
constexpr int kGemmBK = 16;

template <bool KFAST>
__device__ __forceinline__ int gemm_map_k(int tid) {
    return KFAST ? (tid & 15) : (tid >> 4);
}

template <bool KFAST>
__device__ __forceinline__ int gemm_map_row(int tid, int slot) {
    return KFAST ? (tid >> 4) + 16 * slot : (tid & 15) + 16 * slot;
}

// Row padding of a [16][R] shared tile chosen so that the transposing stores of one warp hit 32
// distinct banks: with kKFast the warp writes 16 k-rows x 2 columns (row stride ≡ 2 mod 32), else
// 2 k-rows x 16 columns (row stride ≡ 16 mod 32).
template <int R, bool KFAST>
struct GemmPad {
    static constexpr int value = KFAST ? ((2 - R % 32) + 32) % 32 : ((16 - R % 32) + 32) % 32;
};

template <int BM, int BN, bool AKF, bool BKF>
struct GemmSmem {
    float a[2][kGemmBK][BM + GemmPad<BM, AKF>::value];
    float b[2][kGemmBK][BN + GemmPad<BN, BKF>::value];
};

template <int BM, int BN, class AL, class BL>
__device__ __forceinline__ void gemm_mainloop(AL& A, BL& B, int kBegin, int kEnd, float (&acc)[BM / 16][BN / 16],
                                              GemmSmem<BM, BN, AL::kKFast, BL::kKFast>& sm) {
    constexpr int TM = BM / 16;
    constexpr int TN = BN / 16;
    const int tid = threadIdx.x;
    const int tx = tid & 15;
    const int ty = tid >> 4;
    const int akl = gemm_map_k<AL::kKFast>(tid);
    const int bkl = gemm_map_k<BL::kKFast>(tid);

#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

    const int tiles = kEnd > kBegin ? (kEnd - kBegin + kGemmBK - 1) / kGemmBK : 0;
    if (tiles == 0) return;

    float ra[TM];
    float rb[TN];
    {
        const int ka = kBegin + akl;
        A.set_k(ka, ka < kEnd);
#pragma unroll
        for (int i = 0; i < TM; ++i) ra[i] = A.get(i);
        const int kb = kBegin + bkl;
        B.set_k(kb, kb < kEnd);
#pragma unroll
        for (int j = 0; j < TN; ++j) rb[j] = B.get(j);
    }

    for (int t = 0; t < tiles; ++t) {
        const int buf = t & 1;
#pragma unroll
        for (int i = 0; i < TM; ++i) sm.a[buf][akl][gemm_map_row<AL::kKFast>(tid, i)] = ra[i];
#pragma unroll
        for (int j = 0; j < TN; ++j) sm.b[buf][bkl][gemm_map_row<BL::kKFast>(tid, j)] = rb[j];
        __syncthreads();
        if (t + 1 < tiles) {  // next tile's global loads are in flight while this tile computes
            const int k0 = kBegin + (t + 1) * kGemmBK;
            const int ka = k0 + akl;
            A.set_k(ka, ka < kEnd);
#pragma unroll
            for (int i = 0; i < TM; ++i) ra[i] = A.get(i);
            const int kb = k0 + bkl;
            B.set_k(kb, kb < kEnd);
#pragma unroll
            for (int j = 0; j < TN; ++j) rb[j] = B.get(j);
        }
#pragma unroll
        for (int kk = 0; kk < kGemmBK; ++kk) {
            float av[TM];
            float bv[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) av[i] = sm.a[buf][kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < TN; ++j) bv[j] = sm.b[buf][kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        // No barrier here: the next step stores into the other buffer, and the barrier of the
        // next step orders this step's reads before the store two steps on.
    }
}

// Operand with plain strides: element (row, k) = p[row * s_row + k * s_k]; rows < `rows`, k < K.
template <int SLOTS, bool KF>
struct StridedLoader {
    static constexpr bool kKFast = KF;
    const float* p;
    int64_t s_row;
    int64_t s_k;
    int rows;
    int64_t row_off[SLOTS];
    bool row_ok[SLOTS];
    int64_t k_off;
    bool k_ok;

    __device__ __forceinline__ void set_row(int slot, int idx) {
        row_ok[slot] = idx < rows;
        row_off[slot] = (int64_t)idx * s_row;
    }
    __device__ __forceinline__ void set_k(int k, bool valid) {
        k_ok = valid;
        k_off = (int64_t)k * s_k;
    }
    __device__ __forceinline__ float get(int slot) const {
        return (k_ok && row_ok[slot]) ? __ldg(p + row_off[slot] + k_off) : 0.f;
    }
};

// Operand whose k runs over blocks of `run` contiguous elements, one block per outer index:
// element (row, k) = p[row·run + (k / run)·outer_stride + k mod run]; rows < `rows`. The conv
// input gradient reads its weights this way (row = input channel, k = (output channel, tap)), the
// sparse weight gradient its dy (row = output channel, k = (sample, output pixel)).
template <int SLOTS>
struct BlockedKLoader {
    static constexpr bool kKFast = true;
    const float* p;
    int run, outer_stride, rows;
    int row_off[SLOTS];
    bool row_ok[SLOTS];
    int k_off;
    bool k_ok;

    __device__ __forceinline__ void set_row(int slot, int m) {
        row_ok[slot] = m < rows;
        row_off[slot] = m * run;
    }
    __device__ __forceinline__ void set_k(int k, bool valid) {
        const int outer = k / run;
        k_off = outer * outer_stride + (k - outer * run);
        k_ok = valid;
    }
    __device__ __forceinline__ float get(int slot) const {
        return (k_ok && row_ok[slot]) ? __ldg(p + row_off[slot] + k_off) : 0.f;
    }
};

}  // namespace trady4j
