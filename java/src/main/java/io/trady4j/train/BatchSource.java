package io.trady4j.train;

/** A split of a task as batches; the order and augmentation of an epoch depend only on (seed, epoch). */
public interface BatchSource {
    /** Number of samples in the split (after any subset). */
    int size();

    int classes();

    /** Batches of one epoch; {@code training} turns on shuffling and augmentation. */
    BatchStream batches(int epoch, int batchSize, boolean training);

    /** Number of batches {@link #batches} yields. */
    default int batchCount(int batchSize) {
        return (size() + batchSize - 1) / batchSize;
    }
}
