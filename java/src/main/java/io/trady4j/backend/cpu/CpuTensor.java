package io.trady4j.backend.cpu;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.MemoryMeter;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * A tensor on the Java heap: float32 in a float[], int32 in an int[], either its own (metered) or a
 * caller's array it wraps (see {@link #wrap}).
 */
final class CpuTensor extends Tensor {
    private float[] floats;
    private int[] ints;
    /** Null for a wrapped array: the caller's memory is not counted. */
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

    private CpuTensor(Shape shape, DType dtype, float[] floats, int[] ints) {
        super(shape, dtype, MemoryCategory.DATA);
        this.meter = null;
        this.floats = floats;
        this.ints = ints;
    }

    /**
     * A view of the caller's array behind {@code data}, which {@code Checks.wrap} has checked: a heap
     * segment covering a whole float[] (F32) or int[] (I32), the arrays the kernels compute on.
     */
    static CpuTensor wrap(MemorySegment data, Shape shape, DType dtype) {
        if (data.isNative()) {
            throw new IllegalArgumentException("the CPU backend computes on Java arrays and cannot wrap native memory"
                    + " (address 0x" + Long.toHexString(data.address()) + "): wrap MemorySegment.ofArray(float[] or int[]),"
                    + " or copy native data in with upload(...)");
        }
        Object base = data.heapBase().orElseThrow();
        long arrayBytes = base instanceof float[] f ? 4L * f.length : base instanceof int[] i ? 4L * i.length : -1;
        if (arrayBytes < 0 || (dtype == DType.F32) != (base instanceof float[])) {
            throw new IllegalArgumentException("the CPU backend wraps a " + dtype + " tensor over a "
                    + (dtype == DType.F32 ? "float[]" : "int[]") + ", got a segment over a "
                    + base.getClass().getSimpleName());
        }
        if (data.address() != 0 || data.byteSize() != arrayBytes) {
            throw new IllegalArgumentException("the CPU backend wraps whole arrays only: the segment covers bytes ["
                    + data.address() + ", " + (data.address() + data.byteSize()) + ") of a " + arrayBytes
                    + "-byte array; wrap an array of exactly " + shape + "'s " + shape.numel() + " elements");
        }
        return base instanceof float[] f ? new CpuTensor(shape, dtype, f, null) : new CpuTensor(shape, dtype, null, (int[]) base);
    }

    @Override
    public boolean isWrapped() {
        return meter == null;
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
        if (meter != null) {
            meter.freed(category(), byteSize());
        }
    }
}
