package io.trady4j.study;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The grid and the training settings of a study.
 *
 * @param source          the task the base model was pretrained on; its layer ranking is the a-priori one that
 *                        trady, s-topk-random and su use on every target
 * @param targets         target tasks fine-tuned under every strategy, budget and seed
 * @param budgetPercents  budgets as percentages of full fine-tuning's memory units at this resolution
 * @param seeds           seeds 0 .. seeds−1 (fresh classifier, data order and augmentation, channel draws)
 * @param trainSize       training images per task: a random stratified subset, the same for every run (0 = all)
 * @param testSize        test images per task, likewise
 * @param rankEpochs      epochs of full fine-tuning per ranking run (RGN measured every step)
 * @param rankBatches     batches per epoch of a ranking run
 * @param topFraction     the share of channels called "top" in the channel-overlap analysis (0.1)
 * @param learningRateAuto choose the learning rate per target, strategy and budget on a validation split carved
 *                        from the training subset (LearningRateSearch, seed 0; every seed then uses it); when
 *                        false every run uses {@code learningRate}, which rankings and SU's analysis always use
 */
public record StudySettings(String model, double width, int resolution, String source, List<String> targets,
                            List<String> strategies, List<Double> budgetPercents, int seeds, int epochs, int batchSize,
                            double learningRate, int warmupEpochs, int trainSize, int testSize,
                            int maxBatchesPerEpoch, int rankEpochs, int rankBatches, double topFraction,
                            boolean learningRateAuto) {
    public StudySettings {
        targets = List.copyOf(targets);
        strategies = List.copyOf(strategies);
        budgetPercents = List.copyOf(budgetPercents);
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("a study needs at least one target task");
        }
        if (strategies.isEmpty()) {
            throw new IllegalArgumentException("a study needs at least one strategy");
        }
        for (double b : budgetPercents) {
            if (!(b > 0 && b <= 100)) {
                throw new IllegalArgumentException("budgets are percentages of full fine-tuning in (0, 100], got " + b);
            }
        }
        if (trainSize < 0 || testSize < 0) {
            throw new IllegalArgumentException("--train-size and --test-size must be >= 0");
        }
        if (seeds < 1) {
            throw new IllegalArgumentException("--seeds must be >= 1, got " + seeds);
        }
        if (rankEpochs < 1 || rankBatches < 1) {
            throw new IllegalArgumentException("--rank-epochs and --rank-batches must be >= 1");
        }
        if (!(topFraction > 0 && topFraction < 1)) {
            throw new IllegalArgumentException("--top-fraction must be in (0, 1), got " + topFraction);
        }
    }

    /**
     * The budget whose learning-rate search gives a strategy its rate at every budget: the middle of the study's
     * budgets (the lower middle of an even count). In the first v2 searches every strategy chose the same rate at
     * all three budgets; one search instead of one per budget cuts the study's trials by two thirds.
     */
    public double searchBudgetPercent() {
        if (budgetPercents.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = budgetPercents.stream().sorted().toList();
        return sorted.get((sorted.size() - 1) / 2);
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model);
        if (width != 1.0) {
            m.put("width", width);
        }
        m.put("resolution", resolution);
        m.put("source", source);
        m.put("targets", targets);
        m.put("strategies", strategies);
        m.put("budget_percents", budgetPercents);
        m.put("seeds", seeds);
        m.put("epochs", epochs);
        m.put("batch_size", batchSize);
        m.put("learning_rate", learningRate);
        m.put("learning_rate_auto", learningRateAuto);
        if (learningRateAuto) {
            m.put("learning_rate_grid", Study.LEARNING_RATE_GRID);
            if (!budgetPercents.isEmpty()) {
                m.put("learning_rate_search_budget_percent", searchBudgetPercent());
            }
        }
        m.put("warmup_epochs", warmupEpochs);
        m.put("momentum", 0.0);
        m.put("train_size", trainSize);
        m.put("test_size", testSize);
        m.put("max_batches_per_epoch", maxBatchesPerEpoch);
        m.put("rank_epochs", rankEpochs);
        m.put("rank_batches", rankBatches);
        m.put("top_fraction", topFraction);
        return m;
    }
}
