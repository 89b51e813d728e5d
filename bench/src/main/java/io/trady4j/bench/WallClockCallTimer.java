package io.trady4j.bench;

import io.trady4j.backend.Backend;

/** Wall time of one call until the backend has finished it (System.nanoTime); for smoke tests on the CPU. */
public final class WallClockCallTimer implements CallTimer {
    private final Backend backend;

    public WallClockCallTimer(Backend backend) {
        this.backend = backend;
    }

    @Override
    public double millis(Runnable op) {
        long t0 = System.nanoTime();
        op.run();
        backend.synchronize();
        return (System.nanoTime() - t0) / 1e6;
    }

    @Override
    public String method() {
        return "wall time (System.nanoTime) around each call and a backend synchronize; caches not flushed";
    }

    @Override
    public void close() {
    }
}
