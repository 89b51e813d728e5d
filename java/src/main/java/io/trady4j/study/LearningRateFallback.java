package io.trady4j.study;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A grid run that diverges at its searched learning rate is trained again at the next smaller rate of the search
 * grid, until one does not diverge or the grid ends. The search picks one rate per target and strategy at the middle
 * budget; at a larger budget more weights move and the same rate can blow up (v2's first seed: s-topk-random and su
 * at 7.5% on fmnist:5-9, s-full-random at 7.5% on letters:A-J ended at chance). The rule uses no test data beyond
 * the divergence flag itself (NaN, training loss blow-up, or training and test top-1 both at chance), and every
 * abandoned attempt stays in the run's report.
 */
final class LearningRateFallback {
    /** Trains (or loads from the cache) the run at a learning rate; {@code retry} 0 is the searched rate. */
    interface Attempt {
        GridRun at(double learningRate, int retry) throws IOException;
    }

    private LearningRateFallback() {
    }

    /** The largest rate of the grid below {@code rate}, or NaN when there is none. */
    static double lower(double rate, List<Double> grid) {
        return grid.stream().mapToDouble(Double::doubleValue).filter(g -> g < rate).max().orElse(Double.NaN);
    }

    /**
     * @return the first attempt that did not diverge (or the last one), with the abandoned attempts in its report
     * under {@code learning_rate_fallbacks}
     */
    static GridRun run(double learningRate, List<Double> grid, Attempt attempt) throws IOException {
        GridRun run = attempt.at(learningRate, 0);
        List<Map<String, Object>> abandoned = new ArrayList<>();
        double rate = learningRate;
        while (run.diverged() != null && !Double.isNaN(lower(rate, grid))) {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("learning_rate", rate);
            a.put("diverged", run.diverged());
            a.put("final_top1", run.finalTop1());
            a.put("seconds", run.seconds());
            abandoned.add(a);
            rate = lower(rate, grid);
            run = attempt.at(rate, abandoned.size());
        }
        return abandoned.isEmpty() ? run : run.withFallbacks(abandoned);
    }
}
