package io.trady4j.bench;

import io.trady4j.backend.cuda.CudaOp;

import java.util.Locale;

/**
 * An operation of the kernel sweep, named as in the C ABI: the plain and the gather-fused forward
 * (one implementation table, {@link CudaOp#CONV2D_FORWARD}, the gathered form keyed by its selection
 * size), the input gradient and the sparse weight gradient. {@code selective} ops run at each density.
 */
public enum SweepOp {
    CONV2D_FORWARD(CudaOp.CONV2D_FORWARD, false),
    CONV2D_GATHER(CudaOp.CONV2D_FORWARD, true),
    CONV2D_DX(CudaOp.CONV2D_DX, false),
    CONV2D_DW_SPARSE(CudaOp.CONV2D_DW_SPARSE, true);

    private final CudaOp table;
    private final boolean selective;

    SweepOp(CudaOp table, boolean selective) {
        this.table = table;
        this.selective = selective;
    }

    /** The implementation table the op's kernels are listed in. */
    public CudaOp table() {
        return table;
    }

    /** Whether the op takes a channel selection (and so runs at every density). */
    public boolean selective() {
        return selective;
    }

    /** "conv2d_gather", the ABI's name. */
    public String abiName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static SweepOp byAbiName(String name) {
        for (SweepOp op : values()) {
            if (op.abiName().equals(name)) {
                return op;
            }
        }
        throw new IllegalArgumentException("unknown op '" + name + "' (conv2d_forward, conv2d_gather, conv2d_dx or"
                + " conv2d_dw_sparse)");
    }
}
