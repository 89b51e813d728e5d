package io.trady4j.train;

/** The loss became NaN or infinite; the run stops and the last good checkpoint stays in place. */
public final class TrainingDivergedException extends RuntimeException {
    /** @param message the epoch, step and loss that diverged */
    public TrainingDivergedException(String message) {
        super(message);
    }
}
