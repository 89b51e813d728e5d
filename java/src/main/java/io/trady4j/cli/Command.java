package io.trady4j.cli;

import java.io.PrintStream;

/** One CLI command (`trady4j NAME ...`). */
public interface Command {
    String name();

    /** One line for the command list. */
    String summary();

    /** Full usage text for `trady4j NAME --help`. */
    String usage();

    /** Runs the command; returns the exit status. Throws UsageException for bad input. */
    int run(Args args, PrintStream out) throws Exception;
}
