package io.trady4j.train;

import java.time.Duration;

/**
 * Asks running trainers to stop at the next step boundary and write a checkpoint first.
 *
 * <p>A {@link Trainer} given a signal polls it between steps (and between evaluation batches); when it
 * is requested, the trainer hands a resumable {@link TrainingState} to its listener (which writes the
 * checkpoint) and throws {@link TrainingInterruptedException}. {@link #onShutdown()} is the process-wide
 * signal raised by a JVM shutdown hook on SIGINT/SIGTERM: the hook requests the stop and waits, at most
 * {@link #shutdownGrace()}, until no trainer runs any more, so the checkpoint is complete before the JVM
 * halts. Checkpoints are written atomically, so a hook that gives up (a step longer than the grace
 * period) leaves the previous checkpoint intact.
 */
public final class StopSignal {
    /** System property that sets the shutdown grace period in seconds (default 30). */
    public static final String GRACE_PROPERTY = "trady4j.stopGraceSeconds";
    private static StopSignal shutdownSignal;

    private volatile boolean requested;
    private volatile String reason = "stop requested";
    private int running;

    /** A signal that nothing raises but {@link #request}. */
    public StopSignal() {
    }

    /**
     * The process-wide signal raised on JVM shutdown (SIGINT, SIGTERM, System.exit); installs the hook on
     * first use. The hook does not delay an exit while no trainer runs.
     */
    public static synchronized StopSignal onShutdown() {
        if (shutdownSignal == null) {
            StopSignal s = new StopSignal();
            Duration grace = shutdownGrace();
            Thread hook = new Thread(() -> {
                s.request("the process is being stopped (signal or exit)");
                s.awaitIdle(grace);
            }, "trady4j-stop-on-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            shutdownSignal = s;
        }
        return shutdownSignal;
    }

    /** How long the shutdown hook waits for a running trainer to write its checkpoint. */
    public static Duration shutdownGrace() {
        String v = System.getProperty(GRACE_PROPERTY);
        if (v != null) {
            try {
                long s = Long.parseLong(v.trim());
                if (s >= 0) {
                    return Duration.ofSeconds(s);
                }
            } catch (NumberFormatException ignored) {
                // fall back to the default
            }
        }
        return Duration.ofSeconds(30);
    }

    /** Requests a stop, with a generic reason. */
    public void request() {
        request("stop requested");
    }

    /**
     * Requests a stop.
     *
     * @param why the reason the interrupted run reports
     */
    public void request(String why) {
        reason = why;
        requested = true;
    }

    /** @return whether a stop was requested */
    public boolean isRequested() {
        return requested;
    }

    /** @return the reason of the last request */
    public String reason() {
        return reason;
    }

    /** Holds off the shutdown hook's halt while work that must finish (a checkpoint, its message) runs. */
    public interface Hold extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Marks work in progress until the returned hold is closed: {@link #awaitIdle} (the shutdown hook)
     * waits for it. Trainers hold the signal while they run; callers may hold it longer, e.g. to report
     * where the checkpoint is before the JVM halts.
     */
    public Hold hold() {
        enter();
        boolean[] closed = {false};
        return () -> {
            synchronized (closed) {
                if (closed[0]) {
                    return;
                }
                closed[0] = true;
            }
            exit();
        };
    }

    synchronized void enter() {
        running++;
    }

    synchronized void exit() {
        running--;
        notifyAll();
    }

    /** Waits until no trainer uses this signal, or the timeout passes; true if idle. */
    public synchronized boolean awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (running > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return running == 0;
            }
        }
        return true;
    }
}
