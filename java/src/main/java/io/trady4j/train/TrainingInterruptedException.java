package io.trady4j.train;

/**
 * A {@link StopSignal} stopped the run at a step boundary; the trainer handed its listener a resumable
 * state first (the CLI writes it as a checkpoint that {@code --resume} continues from).
 */
public final class TrainingInterruptedException extends RuntimeException {
    /** @param message why the run stopped */
    public TrainingInterruptedException(String message) {
        super(message);
    }
}
