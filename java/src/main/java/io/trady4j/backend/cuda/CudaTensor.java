package io.trady4j.backend.cuda;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

/**
 * A tensor in device memory of one {@link CudaBackend}: its own allocation, or a view of device
 * memory the caller owns ({@link CudaBackend#wrap}), which close leaves alone.
 */
final class CudaTensor extends Tensor {
    /** int32 {first sample with a label outside [0, K), its label}, or {-1, 0}: see trady4j_softmax_cross_entropy. */
    static final long LABEL_ERROR_BYTES = 2L * Integer.BYTES;

    private final CudaBackend owner;
    private final long address;
    private final boolean wrapped;
    private long labelError;
    private int lossClasses;

    CudaTensor(CudaBackend owner, Shape shape, DType dtype, MemoryCategory category) {
        super(shape, dtype, category);
        this.owner = owner;
        this.address = owner.deviceMalloc(byteSize(), category + " tensor " + dtype + shape);
        this.wrapped = false;
        owner.memory().allocated(category, byteSize());
    }

    /** A view of the caller's device memory at {@code address} (not metered, never freed here). */
    CudaTensor(CudaBackend owner, long address, Shape shape, DType dtype) {
        super(shape, dtype, MemoryCategory.DATA);
        this.owner = owner;
        this.address = address;
        this.wrapped = true;
    }

    @Override
    public boolean isWrapped() {
        return wrapped;
    }

    CudaBackend owner() {
        return owner;
    }

    /** The device address; checks that the tensor is still open. */
    long address(String what) {
        checkOpen(what);
        return address;
    }

    /**
     * The device record in which the loss kernel reports a bad label when this tensor receives the
     * loss statistics of {@code classes} classes; allocated on the first such use and kept until close.
     */
    long labelErrorRecord(int classes) {
        if (labelError == 0) {
            labelError = owner.deviceMalloc(LABEL_ERROR_BYTES, "label check of the loss statistics " + this);
            owner.memory().allocated(MemoryCategory.WORKSPACE, LABEL_ERROR_BYTES);
        }
        lossClasses = classes;
        return labelError;
    }

    /** The record of the last loss written into this tensor, or 0 if it never held loss statistics. */
    long labelErrorRecord() {
        return labelError;
    }

    /** The class count K of the last loss written into this tensor. */
    int lossClasses() {
        return lossClasses;
    }

    @Override
    protected void release() {
        if (!wrapped) {
            owner.freeDeviceMemory(address, category(), byteSize());
        }
        if (labelError != 0) {
            owner.freeDeviceMemory(labelError, MemoryCategory.WORKSPACE, LABEL_ERROR_BYTES);
        }
    }
}
