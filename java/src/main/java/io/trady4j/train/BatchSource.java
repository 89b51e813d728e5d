package io.trady4j.train;

/** A split of a task as batches; the order and augmentation of an epoch depend only on (seed, epoch). */
public interface BatchSource {
    /** Number of samples in the split (after any subset). */
    int size();

    /** @return the number of classes K (labels are in [0, K)) */
    int classes();

    /** Batches of one epoch; {@code training} turns on shuffling and augmentation. */
    BatchStream batches(int epoch, int batchSize, boolean training);

    /**
     * The batches of an epoch from batch {@code firstBatch} on (to resume a run in the middle of an
     * epoch): the same batches {@link #batches(int, int, boolean)} yields from that position. This
     * default skips the first ones; sources that can seek override it.
     */
    default BatchStream batches(int epoch, int batchSize, boolean training, int firstBatch) {
        BatchStream s = batches(epoch, batchSize, training);
        for (int i = 0; i < firstBatch && s.hasNext(); i++) {
            s.next();
        }
        return s;
    }

    /** Number of batches {@link #batches} yields. */
    default int batchCount(int batchSize) {
        return (size() + batchSize - 1) / batchSize;
    }
}
