package io.trady4j.train;

import io.trady4j.data.Batch;
import io.trady4j.data.Dataset;
import io.trady4j.data.Loader;
import io.trady4j.data.Transform;
import io.trady4j.tensor.Shape;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.NoSuchElementException;

/**
 * A data set split as a {@link BatchSource}: training epochs are shuffled and augmented from
 * (seed, epoch) by the data loader, evaluation runs in order without augmentation; batches are
 * prepared one ahead on a background thread.
 */
public final class LoaderSource implements BatchSource {
    private final Dataset dataset;
    private final Transform trainTransform;
    private final Transform evalTransform;
    private final long seed;

    /**
     * @param dataset        the split
     * @param trainTransform augmentation and normalization of training batches
     * @param evalTransform  normalization of evaluation batches
     * @param seed           the seed of shuffling and augmentation (per epoch: seed and epoch)
     */
    public LoaderSource(Dataset dataset, Transform trainTransform, Transform evalTransform, long seed) {
        this.dataset = dataset;
        this.trainTransform = trainTransform;
        this.evalTransform = evalTransform;
        this.seed = seed;
    }

    @Override
    public int size() {
        return dataset.size();
    }

    @Override
    public int classes() {
        return dataset.numClasses();
    }

    @Override
    public BatchStream batches(int epoch, int batchSize, boolean training) {
        return batches(epoch, batchSize, training, 0);
    }

    @Override
    public BatchStream batches(int epoch, int batchSize, boolean training, int firstBatch) {
        Loader loader = Loader.builder(dataset, training ? trainTransform : evalTransform)
                .batchSize(batchSize).shuffle(training).seed(seed).prefetch(true).build();
        Loader.Epoch it;
        try {
            it = loader.epoch(epoch, firstBatch);
        } catch (RuntimeException e) {
            loader.close();
            throw e;
        }
        return new BatchStream() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public HostBatch next() {
                if (!it.hasNext()) {
                    throw new NoSuchElementException();
                }
                try {
                    Batch b = it.next();
                    return new HostBatch(b.images(), b.labels(), Shape.of(b.size(), b.channels(), b.height(), b.width()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public void close() {
                it.close();
                loader.close();
            }
        };
    }
}
