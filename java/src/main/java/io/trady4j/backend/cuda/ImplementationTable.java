package io.trady4j.backend.cuda;

import java.util.List;

/** The implementation tables of kernels/versions.cu as the tuner sees them (a fake one in tests). */
interface ImplementationTable {
    /** The op's implementations in id order. */
    List<Implementation> implementations(CudaOp op);

    boolean eligible(Implementation impl, OpShape shape, int nsel);

    /** The id TRADY4J_IMPL_HEURISTIC resolves to for this shape. */
    int heuristic(CudaOp op, OpShape shape, int nsel);
}
