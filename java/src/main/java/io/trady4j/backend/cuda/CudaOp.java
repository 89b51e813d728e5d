package io.trady4j.backend.cuda;

/**
 * The ops of libtrady4j_cuda.so that have several implementations (TRADY4J_OP_* in trady4j.h,
 * tables in kernels/versions.cu). {@code code} is the header's op id; a test checks them against it.
 */
public enum CudaOp {
    /** conv2d and conv2dGather (the gathered form is keyed by its selection size). */
    CONV2D_FORWARD(1),
    /** conv2dDx. */
    CONV2D_DX(2),
    /** conv2dDwSparse. */
    CONV2D_DW_SPARSE(3),
    /** linear. */
    LINEAR_FORWARD(4),
    /** linearDx. */
    LINEAR_DX(5),
    /** linearDwSparse. */
    LINEAR_DW_SPARSE(6);

    private final int code;

    CudaOp(int code) {
        this.code = code;
    }

    /** @return the op id of the C ABI (TRADY4J_OP_*) */
    public int code() {
        return code;
    }
}
