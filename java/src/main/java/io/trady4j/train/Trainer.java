package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.SgdStep;
import io.trady4j.nn.Gradients;
import io.trady4j.nn.Network;
import io.trady4j.nn.Selection;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import io.trady4j.trady.ChannelStrategy;
import io.trady4j.trady.SelectionProblem;
import io.trady4j.trady.Strategies;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The TraDy training loop: at the start of each epoch a dynamic strategy draws a new selection
 * inside the budget (a static one keeps its first); every step runs the masked forward, the
 * truncated backward and SGD on the selected slices and the classifier, with a cosine schedule
 * after warm-up. Only the loss statistics come back to the host per step.
 */
public final class Trainer {
    /** Batches used to measure the full gradient for Det-RGN strategies. */
    private static final int SIGNAL_BATCHES = 2;

    private final Network network;
    private final TrainConfig config;
    private final Progress progress;

    public Trainer(Network network, TrainConfig config, Progress progress) {
        this.network = network;
        this.config = config;
        this.progress = progress;
    }

    /** Runs epochs [startEpoch, config.epochs) and returns their results. */
    public List<EpochResult> run(BatchSource train, BatchSource test, ChannelStrategy strategy, SelectionProblem problem,
                                 int startEpoch, TrainingListener listener) throws IOException {
        Backend backend = network.backend();
        int perEpoch = batchesPerEpoch(train);
        int warmup = config.warmupEpochs() * perEpoch;
        LearningRateSchedule schedule = new LearningRateSchedule(config.learningRate(), warmup, config.epochs() * perEpoch);
        List<EpochResult> results = new ArrayList<>();
        Map<Integer, Tensor> momentum = new HashMap<>();
        Selection selection = null;
        Map<Integer, int[]> chosen = null;
        try {
            for (int epoch = startEpoch; epoch < config.epochs(); epoch++) {
                if (selection == null || strategy.dynamic()) {
                    chosen = strategy.select(problem, strategy.dynamic() ? epoch : 0,
                            new NetworkSignals(network, train, problem.unitsPerChannel(), config.batchSize(), SIGNAL_BATCHES, epoch));
                    if (selection != null) {
                        selection.close();
                    }
                    momentum.values().forEach(Tensor::close);
                    momentum.clear();
                    selection = Selection.of(backend, network.architecture(), chosen);
                }
                long start = System.nanoTime();
                backend.memory().resetPeaks();
                progress.begin(String.format(Locale.ROOT, "epoch %d/%d", epoch + 1, config.epochs()), perEpoch);
                double lossSum = 0;
                long correct = 0;
                int images = 0;
                int step = 0;
                float[] stats = new float[2];
                try (BatchStream it = train.batches(epoch, config.batchSize(), true)) {
                while (step < perEpoch && it.hasNext()) {
                    HostBatch batch = it.next();
                    try (Tensor x = backend.upload(batch.images(), batch.shape(), MemoryCategory.DATA);
                         Tensor y = backend.uploadInts(batch.labels(), Shape.of(batch.size()), MemoryCategory.DATA);
                         Gradients g = network.forwardBackward(x, y, selection)) {
                        if (listener != null) {
                            listener.gradients(g, selection);
                        }
                        float lr = (float) schedule.at(epoch * perEpoch + step);
                        SgdStep sgd = new SgdStep(lr, (float) config.momentum(), (float) config.weightDecay());
                        backend.download(g.stats(), stats);
                        if (!Float.isFinite(stats[0])) {
                            throw new TrainingDivergedException(String.format(Locale.ROOT,
                                    "loss became %s at epoch %d, step %d (learning rate %.4g); stopping with the last good checkpoint",
                                    stats[0], epoch + 1, step + 1, lr));
                        }
                        network.applySgd(g, selection, sgd, sgd, momentum);
                    }
                    lossSum += (double) stats[0] * batch.size();
                    correct += (long) stats[1];
                    images += batch.size();
                    step++;
                    progress.step(step, lossSum / images, batch.size());
                }
                }
                Map<MemoryCategory, Long> peaks = backend.memory().peakByCategory();
                double[] eval = evaluate(test);
                double seconds = (System.nanoTime() - start) / 1e9;
                EpochResult r = new EpochResult(epoch, lossSum / Math.max(1, images), (double) correct / Math.max(1, images),
                        eval[0], eval[1], chosen, Strategies.units(problem, chosen), peaks, step, images, seconds);
                progress.end(String.format(Locale.ROOT, "train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %s",
                        r.trainLoss(), 100 * r.trainAccuracy(), r.testLoss(), 100 * r.testAccuracy(), Progress.duration(seconds)));
                results.add(r);
                if (listener != null) {
                    listener.epochEnded(r, network);
                }
            }
        } finally {
            if (selection != null) {
                selection.close();
            }
            momentum.values().forEach(Tensor::close);
        }
        return results;
    }

    private int batchesPerEpoch(BatchSource train) {
        int n = train.batchCount(config.batchSize());
        return config.maxBatchesPerEpoch() > 0 ? Math.min(n, config.maxBatchesPerEpoch()) : n;
    }

    /** Mean loss and top-1 accuracy over the test split (or its first maxEvalBatches batches). */
    public double[] evaluate(BatchSource test) {
        Backend backend = network.backend();
        int limit = config.maxEvalBatches() > 0 ? config.maxEvalBatches() : Integer.MAX_VALUE;
        double loss = 0;
        long correct = 0;
        int images = 0;
        float[] stats = new float[2];
        try (BatchStream it = test.batches(0, config.batchSize(), false)) {
        for (int b = 0; b < limit && it.hasNext(); b++) {
            HostBatch batch = it.next();
            try (Tensor x = backend.upload(batch.images(), batch.shape(), MemoryCategory.DATA);
                 Tensor y = backend.uploadInts(batch.labels(), Shape.of(batch.size()), MemoryCategory.DATA);
                 Tensor s = network.evaluate(x, y)) {
                backend.download(s, stats);
            }
            loss += (double) stats[0] * batch.size();
            correct += (long) stats[1];
            images += batch.size();
        }
        }
        return new double[]{loss / Math.max(1, images), (double) correct / Math.max(1, images)};
    }
}
