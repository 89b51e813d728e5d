package io.trady4j.train;

/**
 * Linear warm-up over {@code warmupSteps}, then cosine decay to zero at {@code totalSteps}
 * (TRADY.md §4: cosine with warm-up, no momentum).
 */
public record LearningRateSchedule(double base, int warmupSteps, int totalSteps) {
    /**
     * Checks the schedule.
     *
     * @throws IllegalArgumentException unless base &gt; 0 is finite and 0 &lt;= warm-up steps &lt; total steps
     */
    public LearningRateSchedule {
        if (!(base > 0) || !Double.isFinite(base)) {
            throw new IllegalArgumentException("learning rate must be > 0, got " + base);
        }
        if (warmupSteps < 0 || totalSteps < 1 || warmupSteps >= totalSteps && warmupSteps > 0) {
            throw new IllegalArgumentException("need 0 <= warm-up steps (" + warmupSteps + ") < total steps (" + totalSteps + ")");
        }
    }

    /** Learning rate of step {@code step} (0-based). */
    public double at(int step) {
        if (step < warmupSteps) {
            return base * (step + 1) / warmupSteps;
        }
        double t = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return 0.5 * base * (1 + Math.cos(Math.PI * Math.min(1.0, t)));
    }
}
