package io.trady4j.train;

import java.util.Iterator;

/** The batches of one epoch; closing it stops any background loading (the trainer may stop early). */
public interface BatchStream extends Iterator<HostBatch>, AutoCloseable {
    @Override
    void close();

    /** Wraps an iterator that holds no resources. */
    static BatchStream of(Iterator<HostBatch> it) {
        return new BatchStream() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public HostBatch next() {
                return it.next();
            }

            @Override
            public void close() {
            }
        };
    }
}
