package io.trady4j.train;

/** The loss became NaN or infinite; the run stops and the last good checkpoint stays in place. */
public final class TrainingDivergedException extends RuntimeException {
    private final transient RunReport report;

    /** @param message the epoch, step and loss that diverged */
    public TrainingDivergedException(String message) {
        this(message, null);
    }

    /**
     * @param message the epoch, step and loss that diverged
     * @param report  the run's report up to the last good epoch, flagged as diverged (null if there is none)
     */
    public TrainingDivergedException(String message, RunReport report) {
        super(message);
        this.report = report;
    }

    /** @return the run's report up to the last good epoch, flagged as diverged, or null */
    public RunReport report() {
        return report;
    }
}
