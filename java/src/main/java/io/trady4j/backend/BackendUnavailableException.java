package io.trady4j.backend;

/** A backend cannot run here (no GPU, no driver, no native library); the message says why and what to do. */
public final class BackendUnavailableException extends RuntimeException {
    /** @param message why the backend cannot be used here */
    public BackendUnavailableException(String message) {
        super(message);
    }

    /**
     * @param message why the backend cannot be used here
     * @param cause   the underlying failure
     */
    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
