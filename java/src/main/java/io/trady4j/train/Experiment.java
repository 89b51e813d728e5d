package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.data.Dataset;
import io.trady4j.data.Datasets;
import io.trady4j.data.Task;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.Gradients;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.nn.Selection;
import io.trady4j.trady.ChannelStrategy;
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

    public Experiment(Backend backend, PrintStream out, Progress progress) {
        this.backend = backend;
        this.out = out;
        this.progress = progress;
    }

    /** A task's splits as batch sources at a resolution; subsets (per class, 0 = all) keep CPU runs short. */
    public record TaskData(Task task, int resolution, BatchSource train, BatchSource test) {
        public static TaskData of(Task task, int resolution, int channels, int trainPerClass, int testPerClass, long seed) {
            Dataset train = trainPerClass > 0 ? Datasets.firstPerClass(task.train(), trainPerClass) : task.train();
            Dataset test = testPerClass > 0 ? Datasets.firstPerClass(task.test(), testPerClass) : task.test();
            return new TaskData(task, resolution,
                    new LoaderSource(train, task.trainTransform(resolution, channels), task.evalTransform(resolution, channels), seed),
                    new LoaderSource(test, task.trainTransform(resolution, channels), task.evalTransform(resolution, channels), seed));
        }
    }

    /** Trains every layer from {@code init} (e.g. random) and saves the result as a folded checkpoint. */
    public RunReport pretrain(Architecture arch, HostWeights init, TaskData data, TrainConfig config, Path output,
                              Map<String, Object> settings) throws IOException {
        RunReport report = new RunReport(settings, CostModel.of(arch, data.resolution()), 0);
        HostWeights trained = train(arch, init, data, config, "full", 0, List.of(), null, report, null, false);
        trained.save(output);
        return report;
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
        };
        RunReport report = new RunReport(Map.of("job", "rank"), cost, 0);
        train(arch, base, data, config, "full", 0, List.of(), listener, report, null, false);
        List<String> names = layers.stream().map(ConvLayerSpec::name).toList();
        return new LayerRanking(arch.name(), data.resolution(), data.task().spec(), acc.epochs(), names, acc.layerScores());
    }

    /**
     * Fine-tunes {@code base} with a strategy inside {@code budget} units, checkpointing every epoch to
     * {@code checkpoint} (if not null) and resuming from it when {@code resume} is set and it exists.
     */
    public RunReport finetune(Architecture arch, HostWeights base, TaskData data, TrainConfig config, String strategy,
                              long budget, LayerRanking ranking, Path checkpoint, boolean resume, Map<String, Object> settings)
            throws IOException {
        List<Integer> top = ranking == null ? List.of() : topLayers(arch, ranking);
        RunReport report = new RunReport(settings, CostModel.of(arch, data.resolution()), budget);
        train(arch, base, data, config, strategy, budget, top, null, report, checkpoint, resume);
        return report;
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

    @SuppressWarnings("unchecked")
    private HostWeights train(Architecture arch, HostWeights start, TaskData data, TrainConfig config, String strategyName,
                              long budget, List<Integer> topLayers, TrainingListener extra, RunReport report,
                              Path checkpoint, boolean resume) throws IOException {
        ChannelStrategy strategy = Strategies.byName(strategyName);
        CostModel cost = CostModel.of(arch, data.resolution());
        long[] units = unitsPerChannel(cost);
        if (!strategy.ignoresBudget()) {
            List<Integer> pool = strategyName.contains("full-random") || strategyName.contains("det-rgn")
                    ? java.util.stream.IntStream.range(0, units.length).boxed().toList() : topLayers;
            long cheapest = pool.isEmpty() ? 0 : pool.stream().mapToLong(l -> units[l]).min().orElse(0);
            if (budget < cheapest) {
                throw new IllegalArgumentException("budget of " + budget + " units is smaller than the cheapest channel ("
                        + cheapest + " units) of the layers " + strategyName + " draws from: nothing could be trained");
            }
        }
        int[] channels = arch.convLayers().stream().mapToInt(l -> l.conv().inChannels()).toArray();
        SelectionProblem problem = new SelectionProblem(channels, units, strategy.ignoresBudget() ? 0 : budget, topLayers,
                config.seed());
        HostWeights weights = start;
        int startEpoch = 0;
        if (resume && checkpoint != null && Files.exists(checkpoint)) {
            Checkpoint.Loaded loaded = Checkpoint.load(checkpoint, arch);
            weights = loaded.weights();
            startEpoch = ((Number) loaded.state().get("epochs_done")).intValue();
            report.addSaved((List<Object>) loaded.state().get("epochs"));
            out.println("resuming from " + checkpoint + " after epoch " + startEpoch);
        }
        try (Network net = Network.create(backend, arch, weights.parameters())) {
            Trainer trainer = new Trainer(net, config, progress);
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
                    if (checkpoint != null) {
                        Map<String, Object> state = new LinkedHashMap<>();
                        state.put("epochs_done", result.epoch() + 1);
                        state.put("strategy", strategyName);
                        state.put("seed", config.seed());
                        state.put("epochs", new ArrayList<>(report.epochJson()));
                        Checkpoint.save(checkpoint, network, state);
                    }
                }
            };
            trainer.run(data.train(), data.test(), strategy, problem, startEpoch, listener);
            return HostWeights.fromParameters(arch, net.parameters());
        }
    }
}
