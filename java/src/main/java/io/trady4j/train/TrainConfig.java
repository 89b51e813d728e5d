package io.trady4j.train;

/**
 * Settings of one training run.
 *
 * @param maxBatchesPerEpoch 0 for the whole split, else a cap (short CPU runs)
 * @param maxEvalBatches     0 for the whole test split, else a cap
 * @param checkGradients     check every step's weight gradients for NaN/Inf before applying them
 *                           (default true; the loss is always checked). Only on host-memory backends:
 *                           on a GPU it would cost a host round trip per tensor per step, so there a
 *                           non-finite update shows in the next step's loss, and it is never checkpointed
 *                           (checkpoints refuse non-finite weights)
 */
public record TrainConfig(int epochs, int batchSize, double learningRate, int warmupEpochs, double momentum,
                          double weightDecay, long seed, int maxBatchesPerEpoch, int maxEvalBatches,
                          boolean checkGradients) {
    /** Settings that check gradients (checkGradients true); parameters as the record's. */
    public TrainConfig(int epochs, int batchSize, double learningRate, int warmupEpochs, double momentum,
                       double weightDecay, long seed, int maxBatchesPerEpoch, int maxEvalBatches) {
        this(epochs, batchSize, learningRate, warmupEpochs, momentum, weightDecay, seed, maxBatchesPerEpoch, maxEvalBatches,
                true);
    }

    /**
     * Checks the settings.
     *
     * @throws IllegalArgumentException (one sentence) if one is out of range
     */
    public TrainConfig {
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be a finite number > 0, got " + learningRate);
        }
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (warmupEpochs < 0 || warmupEpochs >= epochs && warmupEpochs > 0) {
            throw new IllegalArgumentException("warm-up epochs must be in [0, epochs), got " + warmupEpochs
                    + " with " + epochs + " epochs");
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        }
        if (maxBatchesPerEpoch < 0 || maxEvalBatches < 0) {
            throw new IllegalArgumentException("batch limits must be >= 0");
        }
    }

    /** The settings as JSON-able entries, for reports and checkpoint identities. */
    public java.util.Map<String, Object> toMap() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("epochs", epochs);
        m.put("batch_size", batchSize);
        m.put("learning_rate", learningRate);
        m.put("warmup_epochs", warmupEpochs);
        m.put("momentum", momentum);
        m.put("weight_decay", weightDecay);
        m.put("seed", seed);
        m.put("max_batches_per_epoch", maxBatchesPerEpoch);
        m.put("max_eval_batches", maxEvalBatches);
        return m;
    }
}
