// v3 of the implicit-GEMM main loop: contiguous per-thread register tiles read from shared memory
// with 128-bit loads, a multi-stage cp.async pipeline (sm_80+), and loaders that advance their
// k index incrementally (no division per K step).
//
// Tile BM x BN, K step BK, 256 threads as a 16 x 16 grid (tx = tid % 16 along n, ty = tid / 16
// along m), TM x TN accumulators per thread (TM = BM/16, TN = BN/16, each 4 or 8).
// Shared memory, per stage:
//   A: [BM][BK + 4]  k contiguous: a thread reads rows ty + 16 i as float4s of 4 consecutive k
//      (8 lanes of a quarter warp share ty: one broadcast); row stride BK + 4 keeps 16-byte
//      alignment of the rows.
//   B: [BK][BN + pad] n contiguous: a thread reads columns j4·(BN / (TN/4)) + 4 tx .. +3 as
//      float4s (a quarter warp reads 128 consecutive bytes: conflict-free).
// Per 4 k and thread: TM + TN shared loads of 128 bits for 4·TM·TN FFMA (4x4: 8 loads, 64 FFMA;
// 8x8: 16 loads, 256 FFMA). STAGES stages: the copies of tile t + STAGES − 1 are in flight while
// tile t computes; one __syncthreads per K step orders both the reads of the stage being
// overwritten and the landed copies of the stage being read.
//
// In-block split-K (KS_ = 2 or 4, for grids below one wave of the SMs): the 256 threads form KS
// groups of 256 / KS, each covering the whole (smaller) tile with 4x4 thread tiles; group q
// computes the 4-k sub-steps q, q + KS, ... of every staged K tile, and at the end the groups'
// sums are added in group order through shared memory (deterministic, no workspace), leaving
// the result in group 0 (gemm_v3_owns_output). KS x smaller tiles give KS x more blocks with
// the same FFMA per shared load as the 64x64 tile.
//
// Loader contract (device functions, state in registers; see the copy maps below):
//   void copy(float* stage);   issue this thread's cp.async copies of the current K tile into the
//                              operand's stage buffer (zero fill outside the operand)
//   void advance();            move to the next K tile (k += BK), incrementally
// Restrictions: outputs are written with plain stores, inputs read through the read-only path
// and cp.async: an output must not alias an input (no in-place use).
#pragma once

#include "common.cuh"
#include "cp_async.cuh"
#include "mma_tf32.cuh"

namespace trady4j {

constexpr int kGemmV3Threads = 256;

// TF32_: the tile is computed by mma.sync m16n8k8 (TF32 operands, fp32 accumulators) instead of
// FFMA: 8 warps as 2 (m) x 4 (n), a 32 x 16 warp tile of 2 x 2 mma tiles (64x64 tiles only).
template <int BM_, int BN_, int BK_, int STAGES_, bool TF32_ = false, int KS_ = 1>
struct GemmV3Config {
    static constexpr bool TF32 = TF32_;
    static_assert(!TF32_ || (BM_ == 64 && BN_ == 64 && BK_ % 8 == 0 && KS_ == 1),
                  "TF32 tiles are 64x64, K step a multiple of 8, no in-block split");
    static constexpr int BM = BM_;
    static constexpr int BN = BN_;
    static constexpr int BK = BK_;
    static constexpr int STAGES = STAGES_;
    static constexpr int KS = KS_;
    static constexpr int GROUP = kGemmV3Threads / KS;  // threads per K group
    static constexpr int GX = KS == 1 ? 16 : BN / 4;   // threads of a group along n
    static constexpr int TM = KS == 1 ? BM / 16 : 4;
    static constexpr int TN = KS == 1 ? BN / 16 : 4;
    static_assert(TM % 4 == 0 && TN % 4 == 0, "thread tiles of 4 or 8");
    static_assert(KS == 1 || ((KS == 2 || KS == 4) && (BM / 4) * (BN / 4) == GROUP), "a K group covers the tile");
    static_assert(BK % 4 == 0 && kGemmV3Threads % BK == 0 && (BK / 4) % KS == 0, "K step");
    static constexpr int A_LD = BK + 4;
    // A copy map: thread copies k = tid % BK of rows tid / BK + (256 / BK)·i.
    static constexpr int A_ROW_STEP = kGemmV3Threads / BK;
    static constexpr int A_SLOTS = BM / A_ROW_STEP;
    // B copy map: thread copies row (tid % B_RL) + B_RL·j at k = tid / B_RL (runs of B_RL
    // consecutive n per k: coalesced when n is contiguous in memory).
    static constexpr int B_RL = kGemmV3Threads / BK;
    static constexpr int B_SLOTS = BN / B_RL;
    static_assert(A_SLOTS >= 1 && B_SLOTS >= 1, "tile too small for the copy maps");
    // B row stride: a store instruction writes runs of B_RL floats at 256 / B_RL different k;
    // with B_RL = 16 the two k rows of a warp land 16 banks apart.
    static constexpr int B_LD = B_RL >= 32 ? BN + 4 : BN + ((16 - BN % 32) + 32) % 32;
    static constexpr int A_STAGE = BM * A_LD;
    static constexpr int B_STAGE = BK * B_LD;
};

template <class C>
struct GemmV3Smem {
    alignas(16) float a[C::STAGES][C::A_STAGE];
    alignas(16) float b[C::STAGES][C::B_STAGE];
};

// Output position of accumulator (i, j) of this thread, relative to the tile origin.
// TF32: acc[2 mi + h][2 ni + e] is element (g + 8 h, 2 t + e) of mma tile (mi, ni) of the warp.
template <class C>
__device__ __forceinline__ int gemm_v3_row(int i) {
    if constexpr (C::TF32) {
        const int warp = threadIdx.x >> 5;
        const int g = (threadIdx.x & 31) >> 2;
        return (warp >> 2) * 32 + (i >> 1) * 16 + (i & 1) * 8 + g;
    } else if constexpr (C::KS == 1) {
        return (threadIdx.x >> 4) + 16 * i;
    } else {
        return (threadIdx.x % C::GROUP) / C::GX + (C::BM / 4) * i;
    }
}
template <class C>
__device__ __forceinline__ int gemm_v3_col(int j) {
    if constexpr (C::TF32) {
        const int warp = threadIdx.x >> 5;
        const int t = threadIdx.x & 3;
        return (warp & 3) * 16 + (j >> 1) * 8 + 2 * t + (j & 1);
    } else if constexpr (C::KS == 1) {
        return (j >> 2) * (C::BN / (C::TN / 4)) + (threadIdx.x & 15) * 4 + (j & 3);
    } else {
        return (threadIdx.x % C::GX) * 4 + j;
    }
}

// Whether this thread holds final sums (with KS > 1 only group 0 does, after the main loop).
template <class C>
__device__ __forceinline__ bool gemm_v3_owns_output() {
    if constexpr (C::KS == 1)
        return true;
    else
        return threadIdx.x < C::GROUP;
}

template <class C>
__device__ __forceinline__ void gemm_v3_compute_tf32(const float* __restrict__ as, const float* __restrict__ bs,
                                                     float (&acc)[C::TM][C::TN]) {
    const int warp = threadIdx.x >> 5;
    const int g = (threadIdx.x & 31) >> 2;
    const int t = threadIdx.x & 3;
    const int r0 = (warp >> 2) * 32 + g;
    const int c0 = (warp & 3) * 16 + g;
#pragma unroll
    for (int kk = 0; kk < C::BK; kk += 8) {
        float a[2][4];
        float b[2][2];
#pragma unroll
        for (int mi = 0; mi < 2; ++mi) {
            const float* ar = as + (r0 + 16 * mi) * C::A_LD + kk + t;
            a[mi][0] = to_tf32(ar[0]);
            a[mi][1] = to_tf32(ar[8 * C::A_LD]);
            a[mi][2] = to_tf32(ar[4]);
            a[mi][3] = to_tf32(ar[8 * C::A_LD + 4]);
        }
#pragma unroll
        for (int ni = 0; ni < 2; ++ni) {
            const float* bc = bs + (kk + t) * C::B_LD + c0 + 8 * ni;
            b[ni][0] = to_tf32(bc[0]);
            b[ni][1] = to_tf32(bc[4 * C::B_LD]);
        }
#pragma unroll
        for (int mi = 0; mi < 2; ++mi)
#pragma unroll
            for (int ni = 0; ni < 2; ++ni) {
                float d[4] = {acc[2 * mi][2 * ni], acc[2 * mi][2 * ni + 1], acc[2 * mi + 1][2 * ni],
                              acc[2 * mi + 1][2 * ni + 1]};
                mma_tf32_m16n8k8(d, a[mi], b[ni]);
                acc[2 * mi][2 * ni] = d[0];
                acc[2 * mi][2 * ni + 1] = d[1];
                acc[2 * mi + 1][2 * ni] = d[2];
                acc[2 * mi + 1][2 * ni + 1] = d[3];
            }
    }
}

template <class C>
__device__ __forceinline__ void gemm_v3_compute(const float* __restrict__ as, const float* __restrict__ bs,
                                                float (&acc)[C::TM][C::TN]) {
    constexpr int TM = C::TM;
    constexpr int TN = C::TN;
    constexpr int ROW_STEP = C::BM / TM;
    const unsigned tg = C::KS == 1 ? threadIdx.x : threadIdx.x % C::GROUP;  // unsigned: % and / are masks and shifts
    const int tx = tg % C::GX;
    const int ty = tg / C::GX;
    // group q reads k4 + 4q, k4 = 0, 4·KS, ... (KS = 1: every k4, as the plain tile)
    const int k_off = C::KS == 1 ? 0 : 4 * (threadIdx.x / C::GROUP);
#pragma unroll
    for (int k4_base = 0; k4_base < C::BK; k4_base += 4 * C::KS) {
        const int k4 = k4_base + k_off;
        float a[TM][4];
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const float4 v = *reinterpret_cast<const float4*>(as + (ty + ROW_STEP * i) * C::A_LD + k4);
            a[i][0] = v.x;
            a[i][1] = v.y;
            a[i][2] = v.z;
            a[i][3] = v.w;
        }
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            float b[TN];
#pragma unroll
            for (int j4 = 0; j4 < TN / 4; ++j4) {
                const float4 v =
                    *reinterpret_cast<const float4*>(bs + (k4 + q) * C::B_LD + j4 * (C::BN / (TN / 4)) + tx * 4);
                b[4 * j4 + 0] = v.x;
                b[4 * j4 + 1] = v.y;
                b[4 * j4 + 2] = v.z;
                b[4 * j4 + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i][q], b[j], acc[i][j]);
        }
    }
}

// KS > 1: group q > 0 parks its sums in the (drained) A stages, group 0 adds them in group order.
template <class C>
__device__ __forceinline__ void gemm_v3_reduce_groups(float (&acc)[C::TM][C::TN], GemmV3Smem<C>& sm) {
    constexpr int PER_GROUP = C::TM * C::TN * C::GROUP;
    static_assert((C::KS - 1) * PER_GROUP <= C::STAGES * C::A_STAGE, "the A stages hold the partial sums");
    float* park = &sm.a[0][0];
    const int tg = threadIdx.x % C::GROUP;
    const int k_group = threadIdx.x / C::GROUP;
    __syncthreads();  // every group is done reading the stages
    if (k_group > 0) {
#pragma unroll
        for (int i = 0; i < C::TM; ++i)
#pragma unroll
            for (int j = 0; j < C::TN; ++j) park[(k_group - 1) * PER_GROUP + (i * C::TN + j) * C::GROUP + tg] = acc[i][j];
    }
    __syncthreads();
    if (k_group == 0) {
#pragma unroll
        for (int q = 1; q < C::KS; ++q)
#pragma unroll
            for (int i = 0; i < C::TM; ++i)
#pragma unroll
                for (int j = 0; j < C::TN; ++j) acc[i][j] += park[(q - 1) * PER_GROUP + (i * C::TN + j) * C::GROUP + tg];
    }
}

// acc = A·B over `tiles` K tiles; the loaders start at the first tile. KS > 1: the sums of
// the K groups are added into group 0's acc.
template <class C, class AL, class BL>
__device__ __forceinline__ void gemm_v3_mainloop(AL& A, BL& B, int tiles, float (&acc)[C::TM][C::TN],
                                                 GemmV3Smem<C>& sm) {
#pragma unroll
    for (int i = 0; i < C::TM; ++i)
#pragma unroll
        for (int j = 0; j < C::TN; ++j) acc[i][j] = 0.f;
#pragma unroll
    for (int s = 0; s < C::STAGES - 1; ++s) {
        if (s < tiles) {
            A.copy(sm.a[s]);
            B.copy(sm.b[s]);
            A.advance();
            B.advance();
        }
        cp_async_commit();
    }
    for (int t = 0; t < tiles; ++t) {
        cp_async_wait<C::STAGES - 2>();
        __syncthreads();  // tile t landed for every thread; every thread is done with tile t − 1
        const int next = t + C::STAGES - 1;
        if (next < tiles) {
            const int stage = next % C::STAGES;
            A.copy(sm.a[stage]);
            B.copy(sm.b[stage]);
            A.advance();
            B.advance();
        }
        cp_async_commit();
        const int stage = t % C::STAGES;
        if constexpr (C::TF32)
            gemm_v3_compute_tf32<C>(sm.a[stage], sm.b[stage], acc);
        else
            gemm_v3_compute<C>(sm.a[stage], sm.b[stage], acc);
    }
    cp_async_wait<0>();
    if constexpr (C::KS > 1) gemm_v3_reduce_groups<C>(acc, sm);
}

// A operand with rows contiguous in k: element (m, k) = p[m·ld + k], m < rows, k < K.
template <class C>
struct RowMajorALoader {
    const float* p;
    int ld, K, k;
    int row_off[C::A_SLOTS];
    bool row_ok[C::A_SLOTS];
    int dst_off;

    // m0: first row of the tile, k0: first k.
    __device__ __forceinline__ void init(const float* base, int ld_, int rows, int K_, int m0, int k0) {
        p = base;
        ld = ld_;
        K = K_;
        const int tid = threadIdx.x;
        const int kl = tid % C::BK;
        const int r0 = tid / C::BK;
        k = k0 + kl;
#pragma unroll
        for (int i = 0; i < C::A_SLOTS; ++i) {
            const int m = m0 + r0 + C::A_ROW_STEP * i;
            row_ok[i] = m < rows;
            row_off[i] = m * ld;
        }
        dst_off = r0 * C::A_LD + kl;
    }
    __device__ __forceinline__ void copy(float* stage) const {
        const bool k_ok = k < K;
#pragma unroll
        for (int i = 0; i < C::A_SLOTS; ++i) {
            const bool ok = k_ok && row_ok[i];
            cp_async4(stage + dst_off + C::A_ROW_STEP * i * C::A_LD, ok ? p + row_off[i] + k : p, ok);
        }
    }
    __device__ __forceinline__ void advance() { k += C::BK; }
};

// A operand whose k runs over blocks of `run` contiguous elements, one block per outer index:
// element (m, k) = p[m·run + (k / run)·outer_stride + k mod run], m < rows, k < K. The index
// (k / run, k mod run) advances by (BK / run, BK mod run) with one carry: no division per step.
template <class C>
struct BlockedKALoader {
    const float* p;
    int run, outer_stride, K, k, outer, r, d_outer, d_r;
    int row_off[C::A_SLOTS];
    bool row_ok[C::A_SLOTS];
    int dst_off;

    __device__ __forceinline__ void init(const float* base, int run_, int outer_stride_, int rows, int K_, int m0,
                                         int k0) {
        p = base;
        run = run_;
        outer_stride = outer_stride_;
        K = K_;
        d_outer = C::BK / run;
        d_r = C::BK - d_outer * run;
        const int tid = threadIdx.x;
        const int kl = tid % C::BK;
        const int r0 = tid / C::BK;
        k = k0 + kl;
        outer = k / run;
        r = k - outer * run;
#pragma unroll
        for (int i = 0; i < C::A_SLOTS; ++i) {
            const int m = m0 + r0 + C::A_ROW_STEP * i;
            row_ok[i] = m < rows;
            row_off[i] = m * run;
        }
        dst_off = r0 * C::A_LD + kl;
    }
    __device__ __forceinline__ void copy(float* stage) const {
        const bool k_ok = k < K;
        const int koff = outer * outer_stride + r;
#pragma unroll
        for (int i = 0; i < C::A_SLOTS; ++i) {
            const bool ok = k_ok && row_ok[i];
            cp_async4(stage + dst_off + C::A_ROW_STEP * i * C::A_LD, ok ? p + row_off[i] + koff : p, ok);
        }
    }
    __device__ __forceinline__ void advance() {
        k += C::BK;
        outer += d_outer;
        r += d_r;
        if (r >= run) {
            r -= run;
            ++outer;
        }
    }
};

// Operands with plain strides (linear layers): element (row, k) = p[row·s_row + k·s_k].
// As A: rows are m; as B: rows are n (the copy maps differ, the arithmetic does not).
template <class C, bool IS_A>
struct StridedV3Loader {
    static constexpr int SLOTS = IS_A ? C::A_SLOTS : C::B_SLOTS;
    const float* p;
    int64_t s_k;
    int K, k;
    int64_t row_off[SLOTS];
    bool row_ok[SLOTS];
    int dst_off;

    __device__ __forceinline__ void init(const float* base, int64_t s_row, int64_t s_k_, int rows, int K_, int row0) {
        p = base;
        s_k = s_k_;
        K = K_;
        const int tid = threadIdx.x;
        const int kl = IS_A ? tid % C::BK : tid / C::B_RL;
        const int rl = IS_A ? tid / C::BK : tid % C::B_RL;
        k = kl;
#pragma unroll
        for (int i = 0; i < SLOTS; ++i) {
            const int row = row0 + rl + (IS_A ? C::A_ROW_STEP : C::B_RL) * i;
            row_ok[i] = row < rows;
            row_off[i] = (int64_t)row * s_row;
        }
        dst_off = IS_A ? rl * C::A_LD + kl : kl * C::B_LD + rl;
    }
    __device__ __forceinline__ void copy(float* stage) const {
        const bool k_ok = k < K;
        const int64_t koff = (int64_t)k * s_k;
#pragma unroll
        for (int i = 0; i < SLOTS; ++i) {
            const bool ok = k_ok && row_ok[i];
            const int d = IS_A ? C::A_ROW_STEP * i * C::A_LD : C::B_RL * i;
            cp_async4(stage + dst_off + d, ok ? p + row_off[i] + koff : p, ok);
        }
    }
    __device__ __forceinline__ void advance() { k += C::BK; }
};

}  // namespace trady4j
