package io.trady4j.train;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A learning rate per strategy chosen on a validation split carved from the training split
 * ({@link Experiment#validation}; the test split is never looked at): every rate of the grid fine-tunes on the
 * fit part with the run's other settings, and the rate whose final validation top-1 is highest wins (ties: the
 * smaller rate). A trial stopped as diverged loses to every one that was not.
 *
 * @param grid           the rates tried, ascending
 * @param validationTop1 each one's final validation top-1
 * @param diverged       each one's divergence reason, or null
 * @param chosen         the rate chosen
 */
public record LearningRateSearch(List<Double> grid, List<Double> validationTop1, List<String> diverged, double chosen) {
    /** The default grid: around the main job's 0.05 and the 0.25 of the first study (issue 15). */
    public static final List<Double> GRID = List.of(0.02, 0.05, 0.1, 0.25);

    /** Checks the lists are one entry per rate. */
    public LearningRateSearch {
        if (grid.isEmpty() || grid.size() != validationTop1.size() || grid.size() != diverged.size()) {
            throw new IllegalArgumentException("one validation result per learning rate is needed");
        }
        grid = List.copyOf(grid);
        validationTop1 = List.copyOf(validationTop1);
        diverged = java.util.Collections.unmodifiableList(new ArrayList<>(diverged));
    }

    /** Runs the trials of {@code f} (its data's training split carved into fit and validation) over {@code grid}. */
    public static LearningRateSearch run(Experiment experiment, Experiment.FineTune f, List<Double> grid) throws IOException {
        Experiment.TaskData validation = Experiment.validation(f.data());
        List<Double> rates = grid.stream().sorted().toList();
        List<Double> top1 = new ArrayList<>();
        List<String> flags = new ArrayList<>();
        for (double lr : rates) {
            RunReport r;
            try {
                r = experiment.finetune(f.withConfig(f.config().withLearningRate(lr)).trial(validation));
            } catch (TrainingDivergedException e) {
                r = e.report();
            }
            List<Map<String, Object>> epochs = r.epochJson();
            top1.add(epochs.isEmpty() ? 0 : ((Number) epochs.getLast().get("test_top1")).doubleValue());
            flags.add(r.diverged());
        }
        return new LearningRateSearch(rates, top1, flags, choose(rates, top1, flags));
    }

    static double choose(List<Double> rates, List<Double> top1, List<String> diverged) {
        int best = -1;
        for (int i = 0; i < rates.size(); i++) {
            if (best < 0 || better(i, best, top1, diverged)) {
                best = i;
            }
        }
        return rates.get(best);
    }

    private static boolean better(int i, int than, List<Double> top1, List<String> diverged) {
        boolean ok = diverged.get(i) == null, otherOk = diverged.get(than) == null;
        if (ok != otherOk) {
            return ok;
        }
        return top1.get(i) > top1.get(than);
    }

    /** The search as the report writes it. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("split", "validation: " + Math.round(100 * Experiment.VALIDATION_FRACTION) + "% of the training images per class");
        m.put("grid", grid);
        m.put("validation_top1", validationTop1);
        m.put("diverged", diverged);
        m.put("chosen", chosen);
        return m;
    }
}
