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

    /**
     * Splits this training split into {fit, validation}: per class, a fixed pseudo-random {@code fraction} of its
     * samples (at least one, at most all but one) is held out for validation, the same for every seed; both halves
     * keep this source's transforms and seed.
     *
     * @throws IllegalArgumentException unless {@code fraction} is in (0, 1)
     */
    public LoaderSource[] splitValidation(double fraction) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("the validation fraction must be in (0, 1), got " + fraction);
        }
        java.util.List<java.util.List<Integer>> byClass = new java.util.ArrayList<>();
        for (int k = 0; k < dataset.numClasses(); k++) {
            byClass.add(new java.util.ArrayList<>());
        }
        for (int i = 0; i < dataset.size(); i++) {
            byClass.get(dataset.label(i)).add(i);
        }
        java.util.List<Integer> fit = new java.util.ArrayList<>(), held = new java.util.ArrayList<>();
        java.util.Random r = new java.util.Random(0x5EED);
        for (java.util.List<Integer> members : byClass) {
            java.util.Collections.shuffle(members, r);
            int n = members.size() < 2 ? 0 : Math.max(1, Math.min(members.size() - 1, (int) Math.round(fraction * members.size())));
            held.addAll(members.subList(0, n));
            fit.addAll(members.subList(n, members.size()));
        }
        java.util.Collections.sort(fit);
        java.util.Collections.sort(held);
        return new LoaderSource[]{
                new LoaderSource(io.trady4j.data.Datasets.subset(dataset, fit.stream().mapToInt(Integer::intValue).toArray(),
                        dataset.name() + "/fit"), trainTransform, evalTransform, seed),
                new LoaderSource(io.trady4j.data.Datasets.subset(dataset, held.stream().mapToInt(Integer::intValue).toArray(),
                        dataset.name() + "/validation"), trainTransform, evalTransform, seed)};
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
