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

    /** Defaults to start from with the copy-with methods: 1 epoch, batch 64, lr 0.05, no warm-up, momentum or decay, seed 0,
     * no caps, gradients checked. */
    public static TrainConfig defaults() {
        return new TrainConfig(1, 64, 0.05, 0, 0, 0, 0, 0, 0, true);
    }

    /** @return these settings with {@code value} epochs (the warm-up is checked against it) */
    public TrainConfig withEpochs(int value) {
        return new TrainConfig(value, batchSize, learningRate, warmupEpochs, momentum, weightDecay, seed, maxBatchesPerEpoch,
                maxEvalBatches, checkGradients);
    }

    /** @return these settings with batch size {@code value} */
    public TrainConfig withBatchSize(int value) {
        return new TrainConfig(epochs, value, learningRate, warmupEpochs, momentum, weightDecay, seed, maxBatchesPerEpoch,
                maxEvalBatches, checkGradients);
    }

    /** @return these settings with learning rate {@code value} */
    public TrainConfig withLearningRate(double value) {
        return new TrainConfig(epochs, batchSize, value, warmupEpochs, momentum, weightDecay, seed, maxBatchesPerEpoch,
                maxEvalBatches, checkGradients);
    }

    /** @return these settings with {@code value} warm-up epochs */
    public TrainConfig withWarmupEpochs(int value) {
        return new TrainConfig(epochs, batchSize, learningRate, value, momentum, weightDecay, seed, maxBatchesPerEpoch,
                maxEvalBatches, checkGradients);
    }

    /** @return these settings with SGD momentum {@code value} */
    public TrainConfig withMomentum(double value) {
        return new TrainConfig(epochs, batchSize, learningRate, warmupEpochs, value, weightDecay, seed, maxBatchesPerEpoch,
                maxEvalBatches, checkGradients);
    }

    /** @return these settings with weight decay {@code value} */
    public TrainConfig withWeightDecay(double value) {
        return new TrainConfig(epochs, batchSize, learningRate, warmupEpochs, momentum, value, seed, maxBatchesPerEpoch,
                maxEvalBatches, checkGradients);
    }

    /** @return these settings with seed {@code value} */
    public TrainConfig withSeed(long value) {
        return new TrainConfig(epochs, batchSize, learningRate, warmupEpochs, momentum, weightDecay, value, maxBatchesPerEpoch,
                maxEvalBatches, checkGradients);
    }

    /** @return these settings with at most {@code value} batches per epoch (0: all) */
    public TrainConfig withMaxBatchesPerEpoch(int value) {
        return new TrainConfig(epochs, batchSize, learningRate, warmupEpochs, momentum, weightDecay, seed, value,
                maxEvalBatches, checkGradients);
    }

    /** @return these settings with at most {@code value} evaluation batches (0: all) */
    public TrainConfig withMaxEvalBatches(int value) {
        return new TrainConfig(epochs, batchSize, learningRate, warmupEpochs, momentum, weightDecay, seed, maxBatchesPerEpoch,
                value, checkGradients);
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
