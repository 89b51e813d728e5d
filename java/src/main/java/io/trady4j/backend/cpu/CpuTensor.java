package io.trady4j.backend.cpu;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.MemoryMeter;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

/** A tensor on the Java heap: float32 in a float[], int32 in an int[]. */
final class CpuTensor extends Tensor {
    private float[] floats;
    private int[] ints;
    private final MemoryMeter meter;

    CpuTensor(Shape shape, DType dtype, MemoryCategory category, MemoryMeter meter) {
        super(shape, dtype, category);
        this.meter = meter;
        if (dtype == DType.F32) {
            floats = new float[shape.numel()];
        } else {
            ints = new int[shape.numel()];
        }
        meter.allocated(category, byteSize());
    }

    float[] floats() {
        requireOpen();
        if (floats == null) {
            throw new IllegalArgumentException("expected a float32 tensor, got " + dtype() + shape());
        }
        return floats;
    }

    int[] ints() {
        requireOpen();
        if (ints == null) {
            throw new IllegalArgumentException("expected an int32 tensor, got " + dtype() + shape());
        }
        return ints;
    }

    /** Using a closed tensor is bad input, like a wrong shape: IllegalArgumentException. */
    private void requireOpen() {
        if (isClosed()) {
            throw new IllegalArgumentException("tensor " + dtype() + shape() + " was already closed");
        }
    }

    @Override
    protected void release() {
        floats = null;
        ints = null;
        meter.freed(category(), byteSize());
    }
}
