package io.trady4j.bench;

import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

/**
 * Device time of one call, from CUDA events recorded on the backend's stream around it
 * ({@link CudaBackend#elapsedMillis}). Before each call a buffer larger than the L2 cache is
 * overwritten, outside the timed region, so no call finds its inputs in L2 from the previous
 * one. The overwrite is queued before the start event, so it also hides the host's launch
 * overhead for the call (it runs on the device while the host records the event and launches).
 */
public final class CudaEventCallTimer implements CallTimer {
    private final CudaBackend backend;
    private final Tensor flush;

    /** flushBytes = 0 times without flushing L2. */
    public CudaEventCallTimer(CudaBackend backend, long flushBytes) {
        this.backend = backend;
        this.flush = flushBytes > 0
                ? backend.allocate(Shape.of(Math.toIntExact(flushBytes / Float.BYTES)), MemoryCategory.WORKSPACE)
                : null;
    }

    @Override
    public double millis(Runnable op) {
        if (flush != null) {
            backend.fill(flush, 1f);
        }
        return backend.elapsedMillis(op);
    }

    @Override
    public String method() {
        return "CUDA events recorded on the backend's stream around each call (CudaBackend.elapsedMillis), "
                + (flush == null ? "L2 not flushed"
                : "L2 flushed before each call by overwriting " + flush.numel() * (long) Float.BYTES
                + " bytes outside the timed region");
    }

    @Override
    public void close() {
        if (flush != null) {
            flush.close();
        }
    }
}
