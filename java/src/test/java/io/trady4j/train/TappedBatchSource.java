package io.trady4j.train;

/** Serves another source's batches and shows each training batch to {@link #served} before it is handed out. */
abstract class TappedBatchSource implements BatchSource {
    private final BatchSource inner;

    TappedBatchSource(BatchSource inner) {
        this.inner = inner;
    }

    /** The {@code index}-th training batch (from 0) of {@code epoch}, about to be served; it may be changed. */
    abstract void served(int epoch, int index, HostBatch batch);

    @Override
    public int size() {
        return inner.size();
    }

    @Override
    public int classes() {
        return inner.classes();
    }

    @Override
    public BatchStream batches(int epoch, int batchSize, boolean training) {
        BatchStream s = inner.batches(epoch, batchSize, training);
        if (!training) {
            return s;
        }
        return new BatchStream() {
            private int index;

            @Override
            public boolean hasNext() {
                return s.hasNext();
            }

            @Override
            public HostBatch next() {
                HostBatch b = s.next();
                served(epoch, index++, b);
                return b;
            }

            @Override
            public void close() {
                s.close();
            }
        };
    }
}
