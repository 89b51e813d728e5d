// The implementation table: for every op with several kernels, its implementations in id order
// (id = row index + 1; 0 is reserved for "the library's heuristic") with the rule saying for which
// shapes each one computes the op correctly. Speed is not the table's business: the heuristic
// below and the Java autotuner (io.trady4j.backend.cuda.KernelTuner) choose among eligible rows.
//
// Adding a variant = one row here (next id, a name "vN_what", its eligibility) plus its case in
// the op's launcher (kernels/<op>.cu, the `impl` switch). Linear ops describe their shape as a 1x1
// convolution: batch, in_channels = in_features, out_channels = out_features, all planes 1x1.
#include "common.cuh"
#include "kernels.cuh"

#include <stdlib.h>
#include <string.h>

namespace trady4j {

namespace {

bool any_shape(const trady4j_conv2d_shape&, int) { return true; }
bool depthwise_v3_shape(const trady4j_conv2d_shape& s, int) { return depthwise_v3_supports(s); }
bool stream_shape(const trady4j_conv2d_shape& s, int nsel) { return dw_sparse_stream_supports(s, nsel); }
bool pointwise_shape(const trady4j_conv2d_shape& s, int) { return pointwise_supports(s); }

// TF32 changes results (relative error ~3e-4 instead of ~1e-7), so its rows are eligible only
// when the process opted in with TRADY4J_MATH=tf32: the autotuner never picks them otherwise.
bool tf32_opted_in(const trady4j_conv2d_shape&, int) {
    static const bool on = [] {
        const char* m = getenv("TRADY4J_MATH");
        return m != nullptr && strcmp(m, "tf32") == 0;
    }();
    return on;
}

const KernelImpl kConv2dForward[] = {
    {1, "v1_naive", any_shape},  // one thread per output (and per gathered element)
    {2, "v2_tiled", any_shape},  // implicit GEMM; depthwise: shared-memory output tiles
    {3, "v3_microkernel", any_shape},  // igemm_v3.cuh: 4x4/8x8 thread tiles, LDS.128, 3-stage cp.async (v2 where none)
    {4, "v4_tf32", tf32_opted_in},     // v3 on TF32 tensor cores (mma.sync m16n8k8): relative error ~3e-4
    {5, "v5_depthwise", depthwise_v3_shape},  // depthwise k 3/5/7, s 1/2: register-blocked direct kernel
    {6, "v6_pointwise", pointwise_shape},     // 1x1 s1 p0 g1, H·W % 4 == 0: streams x with 128-bit loads
    {7, "v7_splitk", any_shape},  // v3 with 2 or 4 K groups per block on 32x64/32x32 tiles (v2 where none)
};
const KernelImpl kConv2dDx[] = {
    {1, "v1_naive", any_shape},
    {2, "v2_tiled", any_shape},  // implicit GEMM over the transposed weights (naive for depthwise)
    {3, "v3_microkernel", any_shape},  // igemm_v3.cuh: 4x4/8x8 thread tiles, LDS.128, 3-stage cp.async (v2 where none)
    {4, "v4_tf32", tf32_opted_in},     // v3 on TF32 tensor cores (mma.sync m16n8k8): relative error ~3e-4
    {5, "v5_depthwise", depthwise_v3_shape},  // depthwise: flipped direct kernel (s1), stride phases (s2)
    {6, "v6_pointwise", pointwise_shape},     // 1x1 s1 p0 g1, H·W % 4 == 0: streams dy with 128-bit loads
    {7, "v7_splitk", any_shape},  // v3 with 2 or 4 K groups per block on 32x64/32x32 tiles (v2 where none)
};
const KernelImpl kConv2dDwSparse[] = {
    {1, "v1_naive", any_shape},
    {2, "v2_tiled", any_shape},  // split-K implicit GEMM; depthwise: one block per selected channel
    {3, "v3_microkernel", any_shape},  // igemm_v3.cuh: 4x4/8x8 thread tiles, LDS.128, 3-stage cp.async (v2 where none)
    {4, "v4_tf32", tf32_opted_in},     // v3 on TF32 tensor cores (mma.sync m16n8k8): relative error ~3e-4
    {5, "v5_depthwise", depthwise_v3_shape},  // depthwise: 4 outputs per step, 128-bit dy loads
    {6, "v6_stream", stream_shape},           // dense, |S|·k² <= 32, H'W' % 4 == 0: streams dy once
};
const KernelImpl kLinearForward[] = {
    {1, "v1_naive", any_shape},
    {2, "v2_tiled", any_shape},  // tiled GEMM
    {3, "v3_microkernel", any_shape},  // igemm_v3.cuh: 4x4/8x8 thread tiles, LDS.128, 3-stage cp.async (v2 where none)
    {4, "v4_tf32", tf32_opted_in},     // v3 on TF32 tensor cores (mma.sync m16n8k8): relative error ~3e-4
};
const KernelImpl kLinearDx[] = {
    {1, "v1_naive", any_shape},
    {2, "v2_tiled", any_shape},
    {3, "v3_microkernel", any_shape},  // igemm_v3.cuh: 4x4/8x8 thread tiles, LDS.128, 3-stage cp.async (v2 where none)
    {4, "v4_tf32", tf32_opted_in},     // v3 on TF32 tensor cores (mma.sync m16n8k8): relative error ~3e-4
};
const KernelImpl kLinearDwSparse[] = {
    {1, "v1_naive", any_shape},
    {2, "v2_tiled", any_shape},
    {3, "v3_microkernel", any_shape},  // igemm_v3.cuh: 4x4/8x8 thread tiles, LDS.128, 3-stage cp.async (v2 where none)
    {4, "v4_tf32", tf32_opted_in},     // v3 on TF32 tensor cores (mma.sync m16n8k8): relative error ~3e-4
};

template <int N>
ImplTable table(const KernelImpl (&rows)[N]) {
    return ImplTable{rows, N};
}

}  // namespace

ImplTable impl_table(int op) {
    switch (op) {
        case TRADY4J_OP_CONV2D_FORWARD: return table(kConv2dForward);
        case TRADY4J_OP_CONV2D_DX: return table(kConv2dDx);
        case TRADY4J_OP_CONV2D_DW_SPARSE: return table(kConv2dDwSparse);
        case TRADY4J_OP_LINEAR_FORWARD: return table(kLinearForward);
        case TRADY4J_OP_LINEAR_DX: return table(kLinearDx);
        case TRADY4J_OP_LINEAR_DW_SPARSE: return table(kLinearDwSparse);
        default: return ImplTable{nullptr, 0};
    }
}

// v3 where a shape is eligible (by the static review and the SASS counts in kernels/README.md:
// not yet timed on a GPU), else v2, which picks its tiles by shape.
int impl_heuristic(int op, const trady4j_conv2d_shape& s, int nsel) {
    if (op == TRADY4J_OP_CONV2D_FORWARD || op == TRADY4J_OP_CONV2D_DX || op == TRADY4J_OP_CONV2D_DW_SPARSE) {
        if (depthwise_v3_supports(s)) return kImplDepthwiseV3;
    }
    if (op == TRADY4J_OP_CONV2D_DW_SPARSE && dw_sparse_stream_supports(s, nsel)) return kImplStreamV3;
    if ((op == TRADY4J_OP_CONV2D_FORWARD || op == TRADY4J_OP_CONV2D_DX) && pointwise_supports(s)) return kImplPointwise;
    return kImplTiled;
}

}  // namespace trady4j
