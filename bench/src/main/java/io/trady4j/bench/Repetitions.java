package io.trady4j.bench;

import java.util.Arrays;

/**
 * How an operation is timed: {@code warmup} untimed calls (the last one's time estimates the
 * cost), then as many timed calls as fit in {@code targetMillis}, but at least {@code minReps} and
 * at most {@code maxReps}, so slow layers cannot overrun the time budget and fast ones get many
 * samples. Reports the median and the minimum.
 */
public record Repetitions(int warmup, int minReps, int maxReps, double targetMillis) {

    public Repetitions {
        if (warmup < 1 || minReps < 1 || maxReps < minReps || !(targetMillis > 0)) {
            throw new IllegalArgumentException("need warmup >= 1, 1 <= min reps <= max reps and a positive target time; got "
                    + warmup + ", " + minReps + ", " + maxReps + ", " + targetMillis);
        }
    }

    /** Median and minimum of the timed calls, and how many there were. */
    public record Timing(double medianMillis, double minMillis, int reps) {
        static Timing of(double[] samples) {
            double[] s = samples.clone();
            Arrays.sort(s);
            int n = s.length;
            double median = n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
            return new Timing(median, s[0], n);
        }
    }

    public Timing time(CallTimer timer, Runnable op) {
        double estimate = 0;
        for (int i = 0; i < warmup; i++) {
            estimate = timer.millis(op);
        }
        double[] samples = new double[repsFor(estimate)];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = timer.millis(op);
        }
        return Timing.of(samples);
    }

    int repsFor(double estimateMillis) {
        if (!(estimateMillis > 0)) {
            return maxReps;
        }
        double fit = Math.ceil(targetMillis / estimateMillis);
        return (int) Math.max(minReps, Math.min(maxReps, fit));
    }
}
