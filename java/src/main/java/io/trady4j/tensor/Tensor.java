package io.trady4j.tensor;

/**
 * A dense row-major tensor owned by one backend. Its memory lives until {@link #close()}; using a
 * closed tensor is an error. The contents are only reachable through the owning backend, so the
 * same code runs whether the memory is on the host or on a GPU.
 *
 * <p>A tensor either owns its memory (from {@code Backend.allocate} or {@code upload}: close frees
 * it) or is a view of memory its caller owns (from {@code Backend.wrap}: close only ends the view,
 * and {@link #isWrapped()} is true).
 */
public abstract class Tensor implements AutoCloseable {
    private final Shape shape;
    private final DType dtype;
    private final MemoryCategory category;
    private volatile boolean closed;
    private Runnable afterClose;

    /**
     * For backends: a tensor of the given shape, element type and memory category.
     *
     * @param shape    its dimensions
     * @param dtype    its element type
     * @param category what its memory is for (the backend's {@link MemoryMeter} counts it there)
     */
    protected Tensor(Shape shape, DType dtype, MemoryCategory category) {
        this.shape = shape;
        this.dtype = dtype;
        this.category = category;
    }

    /** @return the dimensions */
    public final Shape shape() {
        return shape;
    }

    /** @return the element type */
    public final DType dtype() {
        return dtype;
    }

    /** @return what the memory is for (wrapped tensors report {@link MemoryCategory#DATA}) */
    public final MemoryCategory category() {
        return category;
    }

    /** @return the number of elements */
    public final int numel() {
        return shape.numel();
    }

    /** @return the bytes of memory the elements take */
    public final long byteSize() {
        return (long) shape.numel() * dtype.bytes();
    }

    /** @return whether {@link #close()} was called */
    public final boolean isClosed() {
        return closed;
    }

    /**
     * Throws if this tensor was closed; backends call it before touching the memory.
     *
     * @param what the role of this tensor in the call, for the message
     * @throws IllegalStateException if the tensor was closed
     */
    public final void checkOpen(String what) {
        if (closed) {
            throw new IllegalStateException(what + ": tensor " + shape + " was already closed");
        }
    }

    /** @return whether this tensor is a view of memory its caller owns ({@code Backend.wrap}) */
    public boolean isWrapped() {
        return false;
    }

    /**
     * Runs {@code action} once, right after {@link #close()} has released this tensor (after the
     * actions registered before it), e.g. to hand wrapped memory back to its owner. On a closed
     * tensor it runs at once.
     *
     * @param action what to run; an exception it throws propagates out of close()
     */
    public final synchronized void onClose(Runnable action) {
        if (closed) {
            action.run();
            return;
        }
        Runnable before = afterClose;
        afterClose = before == null ? action : () -> {
            before.run();
            action.run();
        };
    }

    /**
     * Releases the memory: frees it if this tensor owns it, else only ends the view. Idempotent:
     * only the first call does anything.
     */
    @Override
    public final void close() {
        Runnable then;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            then = afterClose;
            afterClose = null;
        }
        try {
            release();
        } finally {
            if (then != null) {
                then.run();
            }
        }
    }

    /** Frees the memory (or, for a wrapped tensor, nothing); called once. */
    protected abstract void release();

    @Override
    public String toString() {
        return getClass().getSimpleName() + dtype + shape + (closed ? " (closed)" : "");
    }
}
