package io.trady4j.cli;

import java.io.PrintStream;

/** One CLI command (`trady4j NAME ...`). */
public interface Command {
    String name();

    /** One line for the command list. */
    String summary();

    /** Full usage text for `trady4j NAME --help`. */
    String usage();

    /**
     * Whether the command trains with {@link io.trady4j.train.StopSignal#onShutdown()}: then a signal stops it with a
     * checkpoint, and the launcher holds the JVM's halt until it has said so on stderr.
     */
    default boolean stopsOnSignal() {
        return false;
    }

    /** Runs the command; returns the exit status. Throws UsageException for bad input. */
    int run(Args args, PrintStream out) throws Exception;
}
