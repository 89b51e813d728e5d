package io.trady4j.bench;

/** Measures one call of an operation: what a single repetition of a benchmark costs. */
public interface CallTimer extends AutoCloseable {

    /** Milliseconds that one call of {@code op} took, by this timer's method. */
    double millis(Runnable op);

    /** How {@link #millis} measures, for the results. */
    String method();

    @Override
    void close();
}
