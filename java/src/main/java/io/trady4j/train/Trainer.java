package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.SgdStep;
import io.trady4j.nn.ConvLayerSpec;
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
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The TraDy training loop: at the start of each epoch a dynamic strategy draws a new selection
 * inside the budget (a static one keeps its first); every step runs the masked forward, the
 * truncated backward and SGD on the selected slices and the classifier, with a cosine schedule
 * after warm-up. Only the loss statistics come back to the host per step.
 *
 * <p>Reliability: a listener's {@link TrainingListener#divergence} ends the run after an epoch (the
 * flagged epoch is not checkpointed). A non-finite training loss (checked every step, before the update is applied) or
 * test loss stops the run with {@link TrainingDivergedException} before anything of that epoch is
 * handed to the listener, so the last checkpoint stays the last good one. A {@link StopSignal} stops
 * the run between steps with {@link TrainingInterruptedException}, after handing the listener a
 * {@link TrainingState} from which {@link #run(BatchSource, BatchSource, ChannelStrategy, SelectionProblem,
 * TrainingState, TrainingListener)} continues exactly. Every tensor the loop allocates is freed on
 * every exit path.
 */
public final class Trainer {
    private final Network network;
    private final TrainConfig config;
    private final Progress progress;
    private final StopSignal stop;

    /**
     * A trainer that stops only when its runs end.
     *
     * @param network  the network to train (on its backend)
     * @param config   the run's settings
     * @param progress how a running epoch is shown
     */
    public Trainer(Network network, TrainConfig config, Progress progress) {
        this(network, config, progress, new StopSignal());
    }

    /**
     * @param network  the network to train (on its backend)
     * @param config   the run's settings
     * @param progress how a running epoch is shown
     * @param stop     polled between steps: when requested, the run hands its state to the listener and stops
     */
    public Trainer(Network network, TrainConfig config, Progress progress, StopSignal stop) {
        this.network = network;
        this.config = config;
        this.progress = progress;
        this.stop = stop == null ? new StopSignal() : stop;
    }

    /** Runs epochs [startEpoch, config.epochs) from scratch and returns their results. */
    public List<EpochResult> run(BatchSource train, BatchSource test, ChannelStrategy strategy, SelectionProblem problem,
                                 int startEpoch, TrainingListener listener) throws IOException {
        return run(train, test, strategy, problem, TrainingState.start(startEpoch), listener);
    }

    /** Continues a run from {@code from} (e.g. a checkpoint's state) to config.epochs; returns the epochs it finished. */
    public List<EpochResult> run(BatchSource train, BatchSource test, ChannelStrategy strategy, SelectionProblem problem,
                                 TrainingState from, TrainingListener listener) throws IOException {
        Backend backend = network.backend();
        int perEpoch = batchesPerEpoch(train);
        check(problem, from, perEpoch);
        int warmup = config.warmupEpochs() * perEpoch;
        LearningRateSchedule schedule = new LearningRateSchedule(config.learningRate(), warmup, config.epochs() * perEpoch);
        List<EpochResult> results = new ArrayList<>();
        Map<Integer, Tensor> momentum = new HashMap<>();
        Selection selection = null;
        Map<Integer, int[]> chosen = null;
        boolean reuse = from.selection() != null && (from.step() > 0 || !strategy.dynamic());
        stop.enter();
        try {
            for (int epoch = from.epoch(); epoch < config.epochs(); epoch++) {
                boolean resumed = epoch == from.epoch();
                if (stop.isRequested()) {
                    throw new TrainingInterruptedException(String.format(Locale.ROOT,
                            "%s; stopped before epoch %d (the state after epoch %d is the last checkpoint)",
                            stop.reason(), epoch + 1, epoch));
                }
                if (resumed && reuse) {
                    chosen = from.selection();
                    selection = Selection.of(backend, network.architecture(), chosen, strategy.updatesBiases());
                    restoreMomentum(from.momentum(), selection, momentum);
                } else if (selection == null || strategy.dynamic()) {
                    chosen = strategy.select(problem, strategy.dynamic() ? epoch : 0,
                            new NetworkSignals(network, train, problem.unitsPerChannel(), config.batchSize(), perEpoch));
                    if (selection != null) {
                        selection.close();
                        selection = null;
                    }
                    momentum.values().forEach(Tensor::close);
                    momentum.clear();
                    selection = Selection.of(backend, network.architecture(), chosen, strategy.updatesBiases());
                }
                int first = resumed ? from.step() : 0;
                long start = System.nanoTime();
                double before = resumed ? from.seconds() : 0;
                backend.memory().resetPeaks();
                Map<MemoryCategory, Long> priorPeaks = resumed ? from.peakBytes() : Map.of();
                progress.begin(String.format(Locale.ROOT, "epoch %d/%d", epoch + 1, config.epochs()), perEpoch);
                double lossSum = resumed ? from.lossSum() : 0;
                long correct = resumed ? from.correct() : 0;
                int images = resumed ? from.images() : 0;
                int step = first;
                float[] stats = new float[2];
                try (BatchStream it = train.batches(epoch, config.batchSize(), true, first)) {
                    while (step < perEpoch && it.hasNext()) {
                        if (stop.isRequested()) {
                            throw interrupted(listener, epoch, step, first, chosen, momentum, lossSum, correct, images,
                                    before + (System.nanoTime() - start) / 1e9, priorPeaks);
                        }
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
                                        "training diverged: the loss became %s at epoch %d, step %d (learning rate %.4g)",
                                        stats[0], epoch + 1, step + 1, lr));
                            }
                            if (config.checkGradients() && backend.hostMemory()) {
                                checkFinite(g, epoch, step, lr);
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
                Map<MemoryCategory, Long> peaks = maxPeaks(priorPeaks, backend.memory().peakByCategory());
                double[] eval = evaluate(test, true);
                if (eval == null) {
                    throw interrupted(listener, epoch, step, first, chosen, momentum, lossSum, correct, images,
                            before + (System.nanoTime() - start) / 1e9, priorPeaks);
                }
                if (!Double.isFinite(eval[0])) {
                    throw new TrainingDivergedException(String.format(Locale.ROOT,
                            "training diverged: the test loss became %s after epoch %d", eval[0], epoch + 1));
                }
                double seconds = before + (System.nanoTime() - start) / 1e9;
                EpochResult r = new EpochResult(epoch, lossSum / Math.max(1, images), (double) correct / Math.max(1, images),
                        eval[0], eval[1], chosen, Strategies.units(problem, chosen), peaks, step, images, seconds);
                progress.end(String.format(Locale.ROOT, "train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %s",
                        r.trainLoss(), 100 * r.trainAccuracy(), r.testLoss(), 100 * r.testAccuracy(), Progress.duration(seconds)));
                results.add(r);
                if (listener != null) {
                    listener.epochEnded(r, network);
                    if (listener.divergence(r) != null) {
                        break;
                    }
                    listener.checkpoint(new TrainingState(epoch + 1, 0, chosen, strategy.dynamic() ? Map.of() : download(momentum),
                            0, 0, 0, 0, Map.of()), network);
                }
            }
        } finally {
            try {
                if (selection != null) {
                    selection.close();
                }
                momentum.values().forEach(Tensor::close);
            } finally {
                stop.exit();
            }
        }
        return results;
    }

    private TrainingInterruptedException interrupted(TrainingListener listener, int epoch, int step, int first,
                                                     Map<Integer, int[]> chosen, Map<Integer, Tensor> momentum,
                                                     double lossSum, long correct, int images, double seconds,
                                                     Map<MemoryCategory, Long> priorPeaks) throws IOException {
        if (step > first && listener != null) {
            Map<MemoryCategory, Long> peaks = maxPeaks(priorPeaks, network.backend().memory().peakByCategory());
            listener.checkpoint(new TrainingState(epoch, step, chosen, download(momentum), lossSum, correct, images, seconds,
                    peaks), network);
        }
        return new TrainingInterruptedException(String.format(Locale.ROOT, "%s; stopped at epoch %d after step %d",
                stop.reason(), epoch + 1, step));
    }

    /**
     * A finite loss does not make finite gradients: activations such as ReLU6 and max pooling can hide
     * a NaN input from the loss while the weight gradient of the layer that read it is NaN. This check
     * copies the step's (sparse) weight gradients to the host: cheap next to the backward pass on the
     * CPU, a small device-to-host copy per step on a GPU.
     */
    private void checkFinite(Gradients g, int epoch, int step, float lr) {
        Backend backend = network.backend();
        List<ConvLayerSpec> layers = network.architecture().convLayers();
        for (int i = 0; i < layers.size(); i++) {
            if (g.layer(i) != null) {
                checkFinite(backend.toFloatArray(g.layer(i)), "layer " + layers.get(i).name(), epoch, step, lr);
            }
        }
        checkFinite(backend.toFloatArray(g.classifierWeight()), "the classifier", epoch, step, lr);
        checkFinite(backend.toFloatArray(g.classifierBias()), "the classifier bias", epoch, step, lr);
    }

    private static void checkFinite(float[] values, String what, int epoch, int step, float lr) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                throw new TrainingDivergedException(String.format(Locale.ROOT,
                        "training diverged: the weight gradient of %s became %s at epoch %d, step %d (learning rate %.4g;"
                                + " a non-finite input or weight)", what, v, epoch + 1, step + 1, lr));
            }
        }
    }

    private static Map<MemoryCategory, Long> maxPeaks(Map<MemoryCategory, Long> a, Map<MemoryCategory, Long> b) {
        Map<MemoryCategory, Long> m = new EnumMap<>(MemoryCategory.class);
        for (MemoryCategory c : MemoryCategory.values()) {
            m.put(c, Math.max(a.getOrDefault(c, 0L), b.getOrDefault(c, 0L)));
        }
        return m;
    }

    private Map<Integer, float[]> download(Map<Integer, Tensor> momentum) {
        Map<Integer, float[]> m = new HashMap<>();
        momentum.forEach((k, t) -> m.put(k, network.backend().toFloatArray(t)));
        return m;
    }

    private void restoreMomentum(Map<Integer, float[]> saved, Selection selection, Map<Integer, Tensor> into) {
        if (saved.isEmpty()) {
            return;
        }
        if (!(config.momentum() > 0)) {
            throw new IllegalArgumentException("the saved state has momentum buffers but this run uses no momentum");
        }
        for (Map.Entry<Integer, float[]> e : saved.entrySet()) {
            int key = e.getKey();
            Shape shape = Network.momentumShape(network.architecture(), key, selection);
            if (shape == null) {
                throw new IllegalArgumentException("the saved momentum buffer " + key + " belongs to no trained layer");
            }
            if (e.getValue().length != shape.numel()) {
                throw new IllegalArgumentException("the saved momentum buffer " + key + " has " + e.getValue().length
                        + " values, the selection needs " + shape);
            }
            into.put(key, network.backend().upload(e.getValue(), shape, MemoryCategory.OPTIMIZER_STATE));
        }
    }

    private void check(SelectionProblem problem, TrainingState from, int perEpoch) {
        List<ConvLayerSpec> layers = network.architecture().convLayers();
        if (problem.layers() != layers.size()) {
            throw new IllegalArgumentException("the selection problem has " + problem.layers() + " layers, the network "
                    + layers.size());
        }
        for (int i = 0; i < layers.size(); i++) {
            if (problem.channels()[i] != layers.get(i).conv().inChannels()) {
                throw new IllegalArgumentException("the selection problem gives layer " + i + " " + problem.channels()[i]
                        + " input channels, the network " + layers.get(i).conv().inChannels());
            }
        }
        if (from.epoch() > config.epochs()) {
            throw new IllegalArgumentException("cannot resume at epoch " + from.epoch() + " of a " + config.epochs()
                    + "-epoch run");
        }
        if (from.step() > perEpoch || from.step() > 0 && from.epoch() == config.epochs()) {
            throw new IllegalArgumentException("cannot resume at step " + from.step() + " of epoch " + (from.epoch() + 1)
                    + ": an epoch has " + perEpoch + " steps");
        }
        if (from.step() > 0 && from.selection() == null) {
            throw new IllegalArgumentException("a state in the middle of an epoch needs the selection in force");
        }
        if (perEpoch < 1) {
            throw new IllegalArgumentException("the training split yields no batch");
        }
    }

    private int batchesPerEpoch(BatchSource train) {
        int n = train.batchCount(config.batchSize());
        return config.maxBatchesPerEpoch() > 0 ? Math.min(n, config.maxBatchesPerEpoch()) : n;
    }

    /** Mean loss and top-1 accuracy over the test split (or its first maxEvalBatches batches). */
    public double[] evaluate(BatchSource test) {
        return evaluate(test, false);
    }

    /** As {@link #evaluate(BatchSource)}; null if {@code stoppable} and the stop signal came. */
    private double[] evaluate(BatchSource test, boolean stoppable) {
        Backend backend = network.backend();
        int limit = config.maxEvalBatches() > 0 ? config.maxEvalBatches() : Integer.MAX_VALUE;
        double loss = 0;
        long correct = 0;
        int images = 0;
        float[] stats = new float[2];
        try (BatchStream it = test.batches(0, config.batchSize(), false)) {
            for (int b = 0; b < limit && it.hasNext(); b++) {
                if (stoppable && stop.isRequested()) {
                    return null;
                }
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
