package io.trady4j.tensor;

/**
 * A dense row-major tensor owned by one backend. Its memory lives until {@link #close()}; using a
 * closed tensor is an error. The contents are only reachable through the owning backend, so the
 * same code runs whether the memory is on the host or on a GPU.
 */
public abstract class Tensor implements AutoCloseable {
    private final Shape shape;
    private final DType dtype;
    private final MemoryCategory category;
    private boolean closed;

    protected Tensor(Shape shape, DType dtype, MemoryCategory category) {
        this.shape = shape;
        this.dtype = dtype;
        this.category = category;
    }

    public final Shape shape() {
        return shape;
    }

    public final DType dtype() {
        return dtype;
    }

    public final MemoryCategory category() {
        return category;
    }

    public final int numel() {
        return shape.numel();
    }

    public final long byteSize() {
        return (long) shape.numel() * dtype.bytes();
    }

    public final boolean isClosed() {
        return closed;
    }

    /** Throws if this tensor was closed; backends call it before touching the memory. */
    public final void checkOpen(String what) {
        if (closed) {
            throw new IllegalStateException(what + ": tensor " + shape + " was already closed");
        }
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            release();
        }
    }

    /** Frees the memory; called once. */
    protected abstract void release();

    @Override
    public String toString() {
        return getClass().getSimpleName() + dtype + shape + (closed ? " (closed)" : "");
    }
}
