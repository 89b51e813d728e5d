package io.trady4j.train;

/**
 * Settings of one training run.
 *
 * @param maxBatchesPerEpoch 0 for the whole split, else a cap (short CPU runs)
 * @param maxEvalBatches     0 for the whole test split, else a cap
 */
public record TrainConfig(int epochs, int batchSize, double learningRate, int warmupEpochs, double momentum,
                          double weightDecay, long seed, int maxBatchesPerEpoch, int maxEvalBatches) {
    public TrainConfig {
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
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        }
        if (maxBatchesPerEpoch < 0 || maxEvalBatches < 0) {
            throw new IllegalArgumentException("batch limits must be >= 0");
        }
    }
}
