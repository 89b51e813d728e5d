package io.trady4j.backend.cuda;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

/** A tensor in device memory (one allocation), owned by one {@link CudaBackend}. */
final class CudaTensor extends Tensor {
    private final CudaBackend owner;
    private final long address;

    CudaTensor(CudaBackend owner, Shape shape, DType dtype, MemoryCategory category) {
        super(shape, dtype, category);
        this.owner = owner;
        this.address = owner.deviceMalloc(byteSize(), category + " tensor " + dtype + shape);
        owner.memory().allocated(category, byteSize());
    }

    CudaBackend owner() {
        return owner;
    }

    /** The device address; checks that the tensor is still open. */
    long address(String what) {
        checkOpen(what);
        return address;
    }

    @Override
    protected void release() {
        owner.freeDeviceMemory(address, category(), byteSize());
    }
}
