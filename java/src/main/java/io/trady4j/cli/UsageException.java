package io.trady4j.cli;

/** Bad input from the user: printed as one line, exit status 2, no stack trace. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
