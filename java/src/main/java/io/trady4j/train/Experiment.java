package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.data.Dataset;
import io.trady4j.data.Datasets;
import io.trady4j.data.Task;
import io.trady4j.io.FormatException;
import io.trady4j.io.Json;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.Gradients;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.nn.Selection;
import io.trady4j.trady.ChannelStrategy;
import io.trady4j.trady.ContributionAnalysis;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.LayerRanking;
import io.trady4j.trady.RgnAccumulator;
import io.trady4j.trady.SelectionProblem;
import io.trady4j.trady.Strategies;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The jobs trady4j runs on a backend: pretraining from scratch, ranking layers by RGN during full
 * fine-tuning, and fine-tuning under a strategy and a budget with checkpoints and a report.
 */
public final class Experiment {
    private final Backend backend;
    private final PrintStream out;
    private final Progress progress;
    private final StopSignal stop;

    /**
     * An experiment whose runs stop only when they end.
     *
     * @param backend  the backend to train on
     * @param out      where epoch lines and summaries go
     * @param progress how a running epoch is shown
     */
    public Experiment(Backend backend, PrintStream out, Progress progress) {
        this(backend, out, progress, new StopSignal());
    }

    /** An experiment whose training runs stop (with a checkpoint) when {@code stop} is requested. */
    public Experiment(Backend backend, PrintStream out, Progress progress, StopSignal stop) {
        this.backend = backend;
        this.out = out;
        this.progress = progress;
        this.stop = stop;
    }

    /** A task's splits as batch sources at a resolution; subsets (per class, 0 = all) keep CPU runs short. */
    public record TaskData(Task task, int resolution, BatchSource train, BatchSource test) {
        /**
         * @param task          the task
         * @param resolution    the square input size in pixels
         * @param channels      image channels the model takes (1 or 3)
         * @param trainPerClass training samples kept per class (0: all)
         * @param testPerClass  test samples kept per class (0: all)
         * @param seed          the seed of shuffling and augmentation
         * @return the task's splits as batch sources
         */
        public static TaskData of(Task task, int resolution, int channels, int trainPerClass, int testPerClass, long seed) {
            Dataset train = trainPerClass > 0 ? Datasets.firstPerClass(task.train(), trainPerClass) : task.train();
            Dataset test = testPerClass > 0 ? Datasets.firstPerClass(task.test(), testPerClass) : task.test();
            return new TaskData(task, resolution,
                    new LoaderSource(train, task.trainTransform(resolution, channels), task.evalTransform(resolution, channels), seed),
                    new LoaderSource(test, task.trainTransform(resolution, channels), task.evalTransform(resolution, channels), seed));
        }
    }

    /** The share of a task's training split held out as its validation split (learning rates, SU's contributions). */
    public static final double VALIDATION_FRACTION = 0.2;

    /**
     * {@code data} with its training split split into fit and validation parts ({@link LoaderSource#splitValidation}):
     * trains on the fit part and evaluates on the validation part, so the test split is never looked at.
     *
     * @throws IllegalArgumentException if the training split is not a {@link LoaderSource}
     */
    public static TaskData validation(TaskData data) {
        if (!(data.train() instanceof LoaderSource source)) {
            throw new IllegalArgumentException("a validation split can only be carved from a dataset's training split");
        }
        LoaderSource[] parts = source.splitValidation(VALIDATION_FRACTION);
        return new TaskData(data.task(), data.resolution(), parts[0], parts[1]);
    }

    /**
     * Trains every layer from {@code init} (e.g. {@link HostWeights#random}) with BatchNorm in training mode and
     * saves the result with BatchNorm folded into the convolutions, as fine-tuning takes it.
     */
    public RunReport pretrain(Architecture arch, HostWeights init, TaskData data, TrainConfig config, Path output,
                              Map<String, Object> settings) throws IOException {
        return pretrain(arch, init, data, config, output, settings, null, false);
    }

    /**
     * As above, checkpointing every epoch to {@code checkpoint} (if not null) and resuming from it if {@code resume}.
     * Every conv with a BatchNorm in the architecture runs conv → BN (batch statistics, γ and β trained, running
     * averages moved) → activation ({@link Network#createWithBatchNorm}); the test split is evaluated with the
     * running averages, i.e. exactly the folded network that is saved.
     */
    public RunReport pretrain(Architecture arch, HostWeights init, TaskData data, TrainConfig config, Path output,
                              Map<String, Object> settings, Path checkpoint, boolean resume) throws IOException {
        CostModel cost = CostModel.of(arch, data.resolution());
        RunReport report = new RunReport(settings, cost, 0);
        long[] units = unitsPerChannel(cost);
        int[] channels = arch.convLayers().stream().mapToInt(l -> l.conv().inChannels()).toArray();
        SelectionProblem problem = new SelectionProblem(channels, units, 0, List.of(), config.seed());
        Map<String, Object> identity = identity("full", false, 0, config, settings);   // BN's β is the bias here
        Map<String, float[]> parameters = init.parameters();
        Map<String, float[]> batchNorm = Network.identityBatchNorm(arch);
        TrainingState from = TrainingState.start(0);
        String[] lastGood = {null};
        if (resume && checkpoint != null && Files.exists(checkpoint)) {
            Checkpoint.Loaded loaded = Checkpoint.load(checkpoint, arch);
            checkSameRun(checkpoint, loaded.state(), identity);
            if (loaded.trainsBatchNorm()) {
                parameters = loaded.unfoldedParameters();
                batchNorm = loaded.batchNorm();
            } else if (batchNorm.isEmpty()) {
                parameters = loaded.weights().parameters();
            } else {
                throw new IllegalArgumentException(checkpoint + " holds no BatchNorm state (written by a pretraining without"
                        + " BatchNorm); delete it or run without --resume");
            }
            from = loaded.training();
            report.addSaved(new ArrayList<>(loaded.epochs()));
            lastGood[0] = checkpoint + " (" + position(from) + ")";
            out.println("resuming from " + checkpoint + " " + position(from));
        } else if (resume && checkpoint != null) {
            out.println("no checkpoint at " + checkpoint + " yet: starting from the beginning");
        }
        try (Network net = Network.createWithBatchNorm(backend, arch, parameters, batchNorm)) {
            TrainingListener listener = new TrainingListener() {
                @Override
                public void epochEnded(EpochResult result, Network network) {
                    report.add(result);
                }

                @Override
                public void checkpoint(TrainingState state, Network network) throws IOException {
                    if (checkpoint != null) {
                        Map<String, Object> info = new LinkedHashMap<>();
                        info.put("strategy", "full");
                        info.put("seed", config.seed());
                        info.put("run", identity);
                        info.put("epochs", new ArrayList<>(report.epochJson()));
                        Checkpoint.save(checkpoint, network, state, info);
                        lastGood[0] = checkpoint + " (" + position(state) + ")";
                    }
                }
            };
            runReportingInterruptions(new Trainer(net, config, progress, stop), data, Strategies.byName("full"), problem,
                    from, listener, lastGood, report);
            HostWeights.fromParameters(arch, net.foldedParameters()).save(output);
        }
        return report;
    }

    /**
     * Runs {@code trainer}, adding to an interruption or a divergence where the run can be continued from; a
     * diverged run is flagged in {@code report}, which its exception carries.
     */
    private void runReportingInterruptions(Trainer trainer, TaskData data, ChannelStrategy strategy,
                                           SelectionProblem problem, TrainingState from, TrainingListener listener,
                                           String[] lastGood, RunReport report) throws IOException {
        // The hold keeps a shutdown hook waiting until the interruption is reported, not just saved.
        try (StopSignal.Hold hold = stop.hold()) {
            trainer.run(data.train(), data.test(), strategy, problem, from, listener);
        } catch (TrainingInterruptedException e) {
            TrainingInterruptedException t = new TrainingInterruptedException(e.getMessage() + (lastGood[0] == null
                    ? "; no checkpoint of this run was written" : "; checkpoint " + lastGood[0]
                    + ": run again with --resume to continue"));
            out.println("interrupted: " + t.getMessage());
            out.flush();
            throw t;
        } catch (TrainingDivergedException e) {
            report.flagDiverged(e.getMessage());
            throw new TrainingDivergedException(e.getMessage() + (lastGood[0] == null
                    ? "; no checkpoint of this run was written" : "; the last good checkpoint is " + lastGood[0])
                    + "; try a smaller learning rate", report);
        }
    }

    /**
     * Ranks layers by RGN (TRADY.md §3): full fine-tuning from {@code base} for config.epochs, RGN
     * per channel averaged over each epoch's steps and summed over epochs; layer score = Σ_c RGN.
     */
    public LayerRanking rank(Architecture arch, HostWeights base, TaskData data, TrainConfig config) throws IOException {
        return rank(arch, base, data, config, null);
    }

    /**
     * {@link #rank(Architecture, HostWeights, TaskData, TrainConfig)}, also handing {@code epochRgn}, after
     * every epoch, that epoch's per-channel RGN (conv layer × input channel, averaged over the epoch's steps);
     * times Θspace(c) it is the mean gradient norm ||dW[:, c]||₂. Used by the study's analyses.
     */
    public LayerRanking rank(Architecture arch, HostWeights base, TaskData data, TrainConfig config,
                             java.util.function.Consumer<double[][]> epochRgn) throws IOException {
        return rank(arch, base, data, config, epochRgn, null, false);
    }

    /**
     * As above, checkpointing every epoch (and when stopped) to {@code checkpoint}, RGN sums included, if it
     * is not null, and resuming from it if {@code resume}: an interrupted ranking resumed ends with the
     * ranking of an uninterrupted one, bit for bit.
     */
    public LayerRanking rank(Architecture arch, HostWeights base, TaskData data, TrainConfig config,
                             java.util.function.Consumer<double[][]> epochRgn, Path checkpoint, boolean resume)
            throws IOException {
        CostModel cost = CostModel.of(arch, data.resolution());
        List<ConvLayerSpec> layers = arch.convLayers();
        Conv2dSpec[] specs = layers.stream().map(ConvLayerSpec::conv).toArray(Conv2dSpec[]::new);
        RgnAccumulator acc = new RgnAccumulator(specs, unitsPerChannel(cost));
        TrainingListener listener = new TrainingListener() {
            @Override
            public void gradients(Gradients g, Selection selection) {
                for (int i = 0; i < specs.length; i++) {
                    acc.add(i, backend.toFloatArray(g.layer(i)));
                }
                acc.endStep();
            }

            @Override
            public void epochEnded(EpochResult result, Network network) {
                double[][] before = epochRgn == null ? null : acc.channelScores();
                acc.endEpoch();
                if (epochRgn != null) {
                    double[][] after = acc.channelScores();
                    for (int l = 0; l < after.length; l++) {
                        for (int c = 0; c < after[l].length; c++) {
                            after[l][c] -= before[l][c];
                        }
                    }
                    epochRgn.accept(after);
                }
            }

            @Override
            public Object checkpointState() {
                return acc.state();
            }

            @Override
            public void restore(Object state) throws FormatException {
                if (state == null) {
                    throw new FormatException("the checkpoint holds no RGN sums: it was not written by a ranking");
                }
                acc.restore(state);
            }
        };
        RunReport report = new RunReport(Map.of("job", "rank"), cost, 0);
        train(new TrainingRun(arch, base, data, config, "full", 0, List.of(), new double[0][], checkpoint, resume, false), listener, report);
        List<String> names = layers.stream().map(ConvLayerSpec::name).toList();
        String task = data.task() == null ? "(batches given directly)" : data.task().spec();
        return new LayerRanking(arch.name(), data.resolution(), task, acc.epochs(), names, acc.layerScores());
    }

    /**
     * Fine-tunes {@code base} with a strategy inside {@code budget} units, checkpointing every epoch to
     * {@code checkpoint} (if not null) and resuming from it when {@code resume} is set and it exists.
     */
    public RunReport finetune(Architecture arch, HostWeights base, TaskData data, TrainConfig config, String strategy,
                              long budget, LayerRanking ranking, Path checkpoint, boolean resume, Map<String, Object> settings)
            throws IOException {
        return finetune(new FineTune(arch, base, data, config, strategy, budget, ranking, null, checkpoint, resume, settings));
    }

    /**
     * A fine-tune: the network and its base weights, the data, the settings, the strategy and its budget in units,
     * what it may need measured beforehand (a layer ranking, SU's contribution analysis; null when not needed), where
     * it checkpoints (null: nowhere) and whether it resumes from there, and the settings its report records.
     */
    public record FineTune(Architecture arch, HostWeights base, TaskData data, TrainConfig config, String strategy,
                           long budget, LayerRanking ranking, ContributionAnalysis contributions, Path checkpoint, boolean resume,
                           Map<String, Object> settings) {
        /** This fine-tune with other settings (e.g. a learning rate chosen on the validation split). */
        public FineTune withConfig(TrainConfig value) {
            return new FineTune(arch, base, data, value, strategy, budget, ranking, contributions, checkpoint, resume, settings);
        }

        /** This fine-tune on other data, without checkpoints (a trial on the validation split). */
        public FineTune trial(TaskData value) {
            return new FineTune(arch, base, value, config, strategy, budget, ranking, contributions, null, false, settings);
        }
    }

    /** Runs a fine-tune inside its budget, checkpointing every epoch to its checkpoint (if any). */
    public RunReport finetune(FineTune f) throws IOException {
        List<Integer> top = f.ranking() == null ? List.of() : topLayers(f.arch(), f.ranking());
        double[][] table = f.contributions() == null ? new double[0][] : f.contributions().table(f.arch());
        RunReport report = new RunReport(f.settings(), CostModel.of(f.arch(), f.data().resolution()), f.budget());
        train(new TrainingRun(f.arch(), f.base(), f.data(), f.config(), f.strategy(), f.budget(), top, table, f.checkpoint(),
                f.resume(), true), null, report);
        return report;
    }

    /**
     * SU's contribution analysis ({@link ContributionAnalysis}): from {@code base}, fine-tunes the classifier alone,
     * then each conv layer alone at each ratio (its first channels) with the classifier, every trial for
     * {@code config}'s epochs and batches, and records each one's final top-1 on {@code data}'s evaluation split
     * minus the classifier alone's. Give it a validation split ({@link #validation}), never the test split.
     */
    public ContributionAnalysis analyseContributions(Architecture arch, HostWeights base, TaskData data, TrainConfig config)
            throws IOException {
        List<ConvLayerSpec> layers = arch.convLayers();
        double[] ratios = ContributionAnalysis.ratios();
        double baseline = trialTop1(arch, base, data, config, Map.of());
        double[][] gains = new double[layers.size()][ratios.length];
        for (int l = 0; l < layers.size(); l++) {
            int channels = layers.get(l).conv().inChannels();
            for (int r = 0; r < ratios.length; r++) {
                int n = ContributionAnalysis.channelsAt(channels, ratios[r]);
                gains[l][r] = trialTop1(arch, base, data, config, Map.of(l, java.util.stream.IntStream.range(0, n).toArray()))
                        - baseline;
            }
            out.printf(java.util.Locale.ROOT, "contribution of %s: %s%n", layers.get(l).name(),
                    java.util.Arrays.stream(gains[l]).mapToObj(g -> String.format(java.util.Locale.ROOT, "%+.1f", 100 * g))
                            .collect(java.util.stream.Collectors.joining(" ")));
        }
        String task = data.task() == null ? "(batches given directly)" : data.task().spec();
        int steps = config.epochs() * (config.maxBatchesPerEpoch() > 0
                ? Math.min(config.maxBatchesPerEpoch(), data.train().batchCount(config.batchSize()))
                : data.train().batchCount(config.batchSize()));
        return new ContributionAnalysis(arch.name(), data.resolution(), task, steps,
                layers.stream().map(ConvLayerSpec::name).toList(), gains);
    }

    /** Final evaluation top-1 of a fine-tune of a fixed selection (and the classifier) from {@code base}. */
    private double trialTop1(Architecture arch, HostWeights base, TaskData data, TrainConfig config,
                             Map<Integer, int[]> selection) throws IOException {
        ChannelStrategy fixed = new ChannelStrategy() {
            @Override
            public String name() {
                return "fixed";
            }

            @Override
            public boolean dynamic() {
                return false;
            }

            @Override
            public Map<Integer, int[]> select(SelectionProblem problem, int epoch, io.trady4j.trady.ChannelSignals signals) {
                return selection;
            }
        };
        try (Network net = Network.create(backend, arch, base.parameters())) {
            List<EpochResult> results = new Trainer(net, config, progress, stop).run(data.train(), data.test(), fixed,
                    problem(arch, data.resolution(), 0, List.of(), config.seed()), 0, null);
            return results.getLast().testAccuracy();
        }
    }

    /** The ranking's top-K (97%) as layer indices of {@code arch}; fails clearly if the ranking is for another network. */
    public static List<Integer> topLayers(Architecture arch, LayerRanking ranking) {
        List<String> names = arch.convLayers().stream().map(ConvLayerSpec::name).toList();
        if (!names.equals(ranking.layerNames())) {
            throw new IllegalArgumentException("the layer ranking was made for " + ranking.architecture()
                    + " whose layers differ from " + arch.name() + "'s; rank this model first");
        }
        return ranking.topK(LayerRanking.DEFAULT_MASS);
    }

    static long[] unitsPerChannel(CostModel cost) {
        return cost.layers().stream().mapToLong(CostModel.LayerCost::spaceUnitsPerChannel).toArray();
    }

    /** The selection problem of {@code arch} at a resolution: its channels and Θspace per channel, a budget, ranked layers. */
    public static SelectionProblem problem(Architecture arch, int resolution, long budget, List<Integer> topLayers, long seed) {
        int[] channels = arch.convLayers().stream().mapToInt(l -> l.conv().inChannels()).toArray();
        return new SelectionProblem(channels, unitsPerChannel(CostModel.of(arch, resolution)), budget, topLayers, seed);
    }

    /** How budget messages name a network: "mbv2-w0.35 at resolution 32". */
    public static String describe(Architecture arch, int resolution) {
        return arch.name() + " at resolution " + resolution;
    }

    /**
     * One training run: the network, its starting weights and data, the settings, the strategy and budget (units;
     * ignored by full and classifier), the ranked layers it may draw from, and where it checkpoints (null: nowhere)
     * and whether it resumes from there; fine-tunes are watched for divergence ({@link DivergenceWatch}).
     */
    private record TrainingRun(Architecture arch, HostWeights start, TaskData data, TrainConfig config, String strategy,
                               long budget, List<Integer> topLayers, double[][] contributions, Path checkpoint,
                               boolean resume, boolean watchDivergence) {
    }

    private HostWeights train(TrainingRun run, TrainingListener extra, RunReport report) throws IOException {
        Architecture arch = run.arch();
        TaskData data = run.data();
        TrainConfig config = run.config();
        String strategyName = run.strategy();
        long budget = run.budget();
        Path checkpoint = run.checkpoint();
        boolean resume = run.resume();
        ChannelStrategy strategy = Strategies.byName(strategyName);
        SelectionProblem problem = problem(arch, data.resolution(), strategy.ignoresBudget() ? 0 : budget, run.topLayers(),
                config.seed()).withContributions(run.contributions());
        strategy.checkBudget(problem, describe(arch, data.resolution()));
        Map<String, Object> identity = identity(strategyName, strategy.updatesBiases(), budget, config, report.settings());
        HostWeights weights = run.start();
        DivergenceWatch watch = run.watchDivergence()
                ? new DivergenceWatch(arch.classifier().out(), config.warmupEpochs()) : null;
        TrainingState from = TrainingState.start(0);
        String[] lastGood = {null};
        if (resume && checkpoint != null && Files.exists(checkpoint)) {
            Checkpoint.Loaded loaded = Checkpoint.load(checkpoint, arch);
            checkSameRun(checkpoint, loaded.state(), identity);
            weights = loaded.weights();
            from = loaded.training();
            if (from.epoch() > config.epochs() || from.epoch() == config.epochs() && from.step() > 0) {
                throw new IllegalArgumentException(checkpoint + " is at epoch " + (from.epoch() + 1) + ", beyond this "
                        + config.epochs() + "-epoch run");
            }
            report.addSaved(new ArrayList<>(loaded.epochs()));
            if (watch != null) {
                watch.replay(loaded.epochs());
            }
            if (extra != null) {
                extra.restore(loaded.state().get("listener"));
            }
            lastGood[0] = checkpoint + " (" + position(from) + ")";
            out.println("resuming from " + checkpoint + " " + position(from));
        } else if (resume && checkpoint != null) {
            out.println("no checkpoint at " + checkpoint + " yet: starting from the beginning");
        }
        try (Network net = Network.create(backend, arch, weights.parameters())) {
            Trainer trainer = new Trainer(net, config, progress, stop);
            TrainingListener listener = new TrainingListener() {
                @Override
                public void gradients(Gradients g, Selection selection) {
                    if (extra != null) {
                        extra.gradients(g, selection);
                    }
                }

                @Override
                public void epochEnded(EpochResult result, Network network) throws IOException {
                    report.add(result);
                    if (extra != null) {
                        extra.epochEnded(result, network);
                    }
                }

                @Override
                public String divergence(EpochResult result) {
                    String reason = watch == null ? null : watch.check(result);
                    if (reason != null) {
                        report.flagDiverged(reason);
                        out.println("stopped: " + strategyName + " diverged: " + reason);
                    }
                    return reason;
                }

                @Override
                public void checkpoint(TrainingState state, Network network) throws IOException {
                    if (checkpoint == null) {
                        return;
                    }
                    Map<String, Object> info = new LinkedHashMap<>();
                    info.put("strategy", strategyName);
                    info.put("seed", config.seed());
                    info.put("run", identity);
                    info.put("epochs", new ArrayList<>(report.epochJson()));
                    if (extra != null && extra.checkpointState() != null) {
                        info.put("listener", extra.checkpointState());
                    }
                    Checkpoint.save(checkpoint, network, state, info);
                    lastGood[0] = checkpoint + " (" + position(state) + ")";
                }
            };
            runReportingInterruptions(trainer, data, strategy, problem, from, listener, lastGood, report);
            return HostWeights.fromParameters(arch, net.parameters());
        }
    }

    private static String position(TrainingState s) {
        return s.step() == 0 ? "after epoch " + s.epoch() : "at epoch " + (s.epoch() + 1) + ", step " + s.step();
    }

    /** What makes two runs the same run: a checkpoint resumes only the run that wrote it. */
    private static Map<String, Object> identity(String strategy, boolean convBiases, long budget, TrainConfig config,
                                                Map<String, Object> settings) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("strategy", strategy);
        m.put("budget", budget);
        if (convBiases) {
            m.put("conv_biases_trained", true);   // absent for the others, so their older checkpoints still resume
        }
        m.putAll(config.toMap());
        Map<String, Object> s = new LinkedHashMap<>(settings);
        s.remove("backend");
        m.put("settings", s);
        return m;
    }

    @SuppressWarnings("unchecked")
    private static void checkSameRun(Path checkpoint, Map<String, Object> state, Map<String, Object> identity)
            throws FormatException {
        Object saved = state.get("run");
        Map<String, Object> now = (Map<String, Object>) Json.parse(Json.write(identity));
        if (!(saved instanceof Map<?, ?> was)) {
            // older checkpoints: only the strategy and seed are recorded
            Object strategy = state.get("strategy");
            Object seed = state.get("seed");
            if (strategy != null && !strategy.equals(now.get("strategy")) || seed != null && !seed.equals(now.get("seed"))) {
                throw new IllegalArgumentException(checkpoint + " was written by a run with strategy " + strategy + " and seed "
                        + seed + "; delete it or run without --resume");
            }
            return;
        }
        List<String> diffs = new ArrayList<>();
        diff("", (Map<String, Object>) was, now, diffs);
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException(checkpoint + " belongs to another run (" + String.join(", ", diffs)
                    + "); delete it or run without --resume");
        }
    }

    @SuppressWarnings("unchecked")
    private static void diff(String prefix, Map<String, Object> was, Map<String, Object> now, List<String> out) {
        java.util.Set<String> keys = new java.util.LinkedHashSet<>(now.keySet());
        keys.addAll(was.keySet());
        for (String k : keys) {
            Object a = was.get(k), b = now.get(k);
            if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
                diff(prefix + k + ".", (Map<String, Object>) ma, (Map<String, Object>) mb, out);
            } else if (!java.util.Objects.equals(a, b)) {
                out.add(prefix + k + " " + Json.write(a) + " there, " + Json.write(b) + " here");
            }
        }
    }
}
