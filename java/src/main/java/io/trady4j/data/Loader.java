package io.trady4j.data;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Cuts a data set into batches of transformed images. The order of epoch e is a Fisher–Yates
 * shuffle drawn from {@code Seeds.derive(seed, Seeds.SHUFFLE, e)} (or the data set order when
 * shuffling is off) and each sample's augmentation depends only on (seed, e, index) (see
 * {@link Transform}), so every batch is a pure function of (data set, transform, options, seed,
 * epoch, batch number): runs reproduce exactly and {@link #epoch(int, int)} resumes mid-epoch.
 *
 * <p>With prefetching on (the default) the next batch is prepared on a background daemon thread
 * while the caller works on the current one (one batch ahead). The last partial batch is kept
 * unless {@code dropLast}; {@code maxBatchesPerEpoch} caps an epoch (for short CPU runs).
 *
 * <pre>{@code
 * try (Loader train = Loader.builder(task.train(), Transform.train(task.train(), 32, 3, true))
 *         .batchSize(128).shuffle(true).seed(7).build()) {
 *     for (int e = 0; e < epochs; e++) {
 *         try (Loader.Epoch it = train.epoch(e)) {
 *             while (it.hasNext()) {
 *                 Batch b = it.next();   // b.images(): B×3×32×32 floats, b.labels(): B ints
 *             }
 *         }
 *     }
 * }
 * }</pre>
 */
public final class Loader implements AutoCloseable {
    private final Dataset dataset;
    private final Transform transform;
    private final int batchSize;
    private final boolean shuffle;
    private final long seed;
    private final boolean dropLast;
    private final int maxBatches;
    private final boolean prefetch;
    private ExecutorService executor;
    private boolean closed;

    private Loader(Builder b) {
        Dataset ds = b.dataset;
        if (b.perClass > 0) {
            ds = Datasets.firstPerClass(ds, b.perClass);
        }
        if (b.subset > 0) {
            ds = Datasets.stratified(ds, b.subset);
        }
        this.dataset = ds;
        this.transform = b.transform;
        this.batchSize = b.batchSize;
        this.shuffle = b.shuffle;
        this.seed = b.seed;
        this.dropLast = b.dropLast;
        this.maxBatches = b.maxBatches;
        this.prefetch = b.prefetch;
        transform.check(dataset);
        if (dataset.size() == 0) {
            throw new IllegalArgumentException(dataset.name() + " has no samples");
        }
        if (dropLast && dataset.size() < batchSize) {
            throw new IllegalArgumentException(dataset.name() + " has " + dataset.size()
                    + " samples, fewer than one batch of " + batchSize + " (and dropLast is set)");
        }
    }

    public static Builder builder(Dataset dataset, Transform transform) {
        return new Builder(dataset, transform);
    }

    public static final class Builder {
        private final Dataset dataset;
        private final Transform transform;
        private int batchSize = 128;
        private boolean shuffle = true;
        private long seed;
        private boolean dropLast;
        private int maxBatches;
        private boolean prefetch = true;
        private int perClass;
        private int subset;

        private Builder(Dataset dataset, Transform transform) {
            this.dataset = Objects.requireNonNull(dataset);
            this.transform = Objects.requireNonNull(transform);
        }

        /** Samples per batch (default 128). */
        public Builder batchSize(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, got " + n);
            }
            this.batchSize = n;
            return this;
        }

        /** Shuffle every epoch (default true; off for evaluation). */
        public Builder shuffle(boolean s) {
            this.shuffle = s;
            return this;
        }

        /** Run seed for shuffling and augmentation (default 0). */
        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Drop the last batch when it is smaller than the batch size (default false: keep it). */
        public Builder dropLast(boolean d) {
            this.dropLast = d;
            return this;
        }

        /** At most this many batches per epoch; 0 = no limit (default). */
        public Builder maxBatchesPerEpoch(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("batch limit must be >= 0, got " + n);
            }
            this.maxBatches = n;
            return this;
        }

        /** Prepare the next batch on a background thread (default true). */
        public Builder prefetch(boolean p) {
            this.prefetch = p;
            return this;
        }

        /** Use only the first {@code n} samples of every class (0 = all; default). */
        public Builder samplesPerClass(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("samples per class must be >= 0, got " + n);
            }
            this.perClass = n;
            return this;
        }

        /** Use a stratified subset of at most {@code n} samples (see {@link Datasets#stratified}; 0 = all, default). */
        public Builder subset(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("subset size must be >= 0, got " + n);
            }
            this.subset = n;
            return this;
        }

        public Loader build() {
            return new Loader(this);
        }
    }

    /** The data set iterated (after any subset). */
    public Dataset dataset() {
        return dataset;
    }

    public Transform transform() {
        return transform;
    }

    public int batchSize() {
        return batchSize;
    }

    public long seed() {
        return seed;
    }

    /** Batches in every epoch (after dropLast and the per-epoch limit). */
    public int batchesPerEpoch() {
        int n = dataset.size();
        int b = dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
        return maxBatches > 0 ? Math.min(b, maxBatches) : b;
    }

    /** Samples seen in one epoch. */
    public int samplesPerEpoch() {
        int b = batchesPerEpoch();
        if (b == 0) {
            return 0;
        }
        int full = (b - 1) * batchSize;
        return full + Math.min(batchSize, dataset.size() - full);
    }

    /** The sample order of {@code epoch} (a permutation of the data set indices). */
    public int[] order(int epoch) {
        int n = dataset.size();
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        if (shuffle) {
            SplittableRandom r = new SplittableRandom(Seeds.derive(seed, Seeds.SHUFFLE, epoch));
            for (int i = n - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
        }
        return p;
    }

    /** Iterates over the batches of {@code epoch} from the first. */
    public Epoch epoch(int epoch) {
        return epoch(epoch, 0);
    }

    /** Iterates over the batches of {@code epoch} from batch {@code firstBatch} (to resume a run). */
    public Epoch epoch(int epoch, int firstBatch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        int total = batchesPerEpoch();
        if (firstBatch < 0 || firstBatch > total) {
            throw new IllegalArgumentException("first batch " + firstBatch + " is not in [0, " + total + "]");
        }
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("loader is closed");
            }
            if (prefetch && executor == null) {
                executor = Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "trady4j-loader");
                    t.setDaemon(true);
                    return t;
                });
            }
        }
        return new Epoch(epoch, firstBatch, total);
    }

    /** Builds batch {@code b} of {@code epoch} directly (no thread), e.g. for tests. */
    public Batch batch(int epoch, int b) throws IOException {
        return build(epoch, order(epoch), b, transform.worker());
    }

    private Batch build(int epoch, int[] order, int b, Transform.Worker worker) throws IOException {
        int from = b * batchSize;
        int size = Math.min(batchSize, order.length - from);
        int per = transform.floatsPerImage();
        float[] images = new float[size * per];
        int[] labels = new int[size];
        int[] indices = new int[size];
        for (int k = 0; k < size; k++) {
            int i = order[from + k];
            indices[k] = i;
            labels[k] = dataset.label(i);
            worker.apply(dataset, i, seed, epoch, images, k * per);
        }
        return new Batch(epoch, b, size, transform.channels(), transform.size(), transform.size(), images, labels,
                indices);
    }

    /** Stops the background thread; epochs in progress go on without prefetching. */
    @Override
    public synchronized void close() {
        closed = true;
        if (executor != null) {
            executor.shutdownNow();
        }
    }

    /** The batches of one epoch, in order. Not thread-safe; close it to drop a prefetched batch. */
    public final class Epoch implements AutoCloseable {
        private final int epoch;
        private final int total;
        private final int[] order;
        private final Transform.Worker worker = transform.worker();
        private int nextBatch;
        private Future<Batch> pending;
        private boolean epochClosed;

        private Epoch(int epoch, int first, int total) {
            this.epoch = epoch;
            this.total = total;
            this.order = order(epoch);
            this.nextBatch = first;
            schedule();
        }

        public int epoch() {
            return epoch;
        }

        /** Batches in this epoch (from the first, whatever batch iteration started at). */
        public int batches() {
            return total;
        }

        /** The number of the batch the next call to {@link #next()} returns. */
        public int position() {
            return nextBatch;
        }

        public boolean hasNext() {
            return !epochClosed && nextBatch < total;
        }

        public Batch next() throws IOException {
            if (epochClosed) {
                throw new IllegalStateException("epoch " + epoch + " iteration is closed");
            }
            if (!hasNext()) {
                throw new NoSuchElementException("epoch " + epoch + " has " + total + " batches");
            }
            Batch b;
            if (pending != null) {
                try {
                    b = pending.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for batch " + nextBatch);
                } catch (CancellationException e) {
                    throw new IllegalStateException("loader closed while batch " + nextBatch + " was being prepared");
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof IOException io) {
                        throw io;
                    }
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new IOException(c);
                }
                pending = null;
            } else {
                b = build(epoch, order, nextBatch, worker);
            }
            nextBatch++;
            schedule();
            return b;
        }

        private void schedule() {
            if (!prefetch || nextBatch >= total) {
                return;
            }
            final int b = nextBatch;
            synchronized (Loader.this) {
                if (closed) {
                    return;
                }
                pending = executor.submit(() -> build(epoch, order, b, worker));
            }
        }

        @Override
        public void close() {
            epochClosed = true;
            if (pending != null) {
                pending.cancel(false);
                pending = null;
            }
        }
    }
}
