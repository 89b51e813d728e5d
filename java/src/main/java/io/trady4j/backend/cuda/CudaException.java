package io.trady4j.backend.cuda;

/**
 * A CUDA call or a trady4j kernel failed. The message carries the native error text (the function,
 * and for CUDA errors the CUDA error name and string), e.g.
 * {@code "trady4j_conv2d_forward: CUDA error 700 (cudaErrorIllegalAddress): an illegal memory access was encountered"}.
 */
public class CudaException extends RuntimeException {
    private final int status;

    /**
     * @param status  the trady4j status code (TRADY4J_ERR_*)
     * @param message the native error text
     */
    public CudaException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The trady4j status code (see trady4j.h) or, for errors reported by JCuda, the CUDA error code. */
    public int status() {
        return status;
    }
}
