package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.data.Task;
import io.trady4j.io.Json;
import io.trady4j.report.Canvas;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.HostWeights;
import io.trady4j.train.Experiment;
import io.trady4j.train.Progress;
import io.trady4j.train.StopSignal;
import io.trady4j.train.RunReport;
import io.trady4j.train.TrainConfig;
import io.trady4j.train.LearningRateSearch;
import io.trady4j.trady.ContributionAnalysis;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.LayerRanking;
import io.trady4j.trady.SelectionProblem;
import io.trady4j.trady.Strategies;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code trady4j finetune}: the main job. Fine-tunes a base model on a task under a memory budget
 * with a strategy (TraDy by default) and, by default, compares it with a linear probe and full
 * fine-tuning on the same task; prints a summary table and writes a JSON report per run.
 */
final class FinetuneCommand implements Command {
    static final long PAPER_BUDGET = 27_946;
    static final TrainingOptions.Defaults DEFAULTS = new TrainingOptions.Defaults(5, 0.05, 1, 64, 0, 500, 300, 0, "runs");
    /**
     * A folder of images (a task nobody tuned for) trains longer and with momentum: on a 10-class folder of 1,450
     * small gray digit images (docs/CLI.md, "Defaults for folder tasks") the main job's 5 plain-SGD epochs gave
     * trady 16.6%, 15 epochs with momentum 0.9 gave 47.1%, 30 epochs with momentum 0.9 the figures recorded there.
     */
    static final TrainingOptions.Defaults FOLDER_DEFAULTS = new TrainingOptions.Defaults(30, 0.05, 1, 64, 0.9, 500, 300, 0,
            "runs");

    @Override
    public boolean stopsOnSignal() {
        return true;
    }

    @Override
    public String name() {
        return "finetune";
    }

    @Override
    public String summary() {
        return "fine-tune under a memory budget with TraDy or a baseline (the main job)";
    }

    @Override
    public String usage() {
        return """
                usage: trady4j finetune [options]
                With no options: pretrain MobileNetV2-w0.35 on fmnist:0-4 (cached in runs/base), rank its layers on it
                (cached in runs/rankings), fine-tune on fmnist:5-9 with trady at 27,946 units, and compare with
                classifier and full on the same task.
                  --task SPEC           target task (default fmnist:5-9)
                  --strategy NAME       %s (default trady)
                  --compare LIST        other strategies to run for comparison (default classifier,full; '' for none)
                  --budget UNITS        memory budget in units, 4 bytes each (default 27946)
                  --weights FILE        base model: a trady4j checkpoint or a torchvision state dict (safetensors)
                  --source SPEC         task to pretrain the base model on when --weights is absent (default fmnist:0-4)
                  --pretrain-epochs N   (default 6)   --pretrain-per-class N (default 1500)
                  --ranking FILE        layer ranking JSON (default: cached per model, computed a priori if missing)
                  --rank-on WHERE       source | target: the task a missing ranking is computed on (default source: once
                                        per model, reused on every target, as the paper ranks; target: not cached)
                  --rank-epochs N       (default 2)   --rank-batches N (default 20 per epoch)
                  --lr auto             choose the learning rate per strategy among 0.02, 0.05, 0.1, 0.25 on a validation
                                        split (20%% of the training images per class; never the test split); the grid,
                                        validation top-1 and choice go into each report
                su measures its contribution analysis (each layer alone at 1/8, 1/4, 1/2, 1 of its channels) on a
                validation split of the target's training images, cached in <work-dir>/contributions.
                  --resume              continue interrupted runs (pretraining included) from their checkpoints
                Reports (one JSON per strategy) and plots (curves.png: loss and top-1 per epoch of every strategy;
                selection_<strategy>.png: the channels trained per layer and epoch; each also as .svg) go to
                <work-dir>/finetune/<model>_r<R>_<task>_<strategy>_b<budget>_seed<seed>/ (-2, -3, ... when a run
                with other settings already holds that name). Runs checkpoint every epoch and when stopped
                (Ctrl-C, SIGTERM) to <work-dir>/checkpoints.
                """.formatted(String.join(", ", Strategies.NAMES)) + """
                Folder tasks (folder:DIR) default to --epochs %d --momentum %s (tuned on a folder of digits, see
                docs/CLI.md); the defaults below are those of every other task.
                """.formatted(FOLDER_DEFAULTS.epochs(), FOLDER_DEFAULTS.momentum()) + TrainingOptions.help(DEFAULTS, java.util.Set.of());
    }

    static void requirePositive(long value, String option, long min) {
        if (value < min) {
            throw new UsageException(option + " must be >= " + min + ", got " + value);
        }
    }

    /**
     * Before any work, each strategy's own budget check: with the given ranking's top-K, or (before a ranking
     * exists) every layer, which a ranking can only narrow; likewise SU's contribution analysis.
     */
    static void checkBudget(List<String> strategies, long budget, Architecture arch, int resolution, List<Integer> topLayers) {
        List<Integer> layers = topLayers != null ? topLayers
                : java.util.stream.IntStream.range(0, arch.convLayers().size()).boxed().toList();
        double[][] everyLayerGains = new double[arch.convLayers().size()][ContributionAnalysis.ratios().length];
        for (double[] row : everyLayerGains) {
            java.util.Arrays.fill(row, 1);
        }
        SelectionProblem problem = Experiment.problem(arch, resolution, budget, layers, 0).withContributions(everyLayerGains);
        for (String s : strategies) {
            try {
                Strategies.byName(s).checkBudget(problem, Experiment.describe(arch, resolution));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
    }

    /** SU's contribution analysis on a validation split of the target's training images, cached per model and target. */
    static ContributionAnalysis contributions(PrintStream out, Experiment experiment, TrainingOptions opts, Architecture arch,
                                              HostWeights base, Experiment.TaskData data, TrainConfig cfg, int batches)
            throws IOException {
        Path path = opts.workDir().resolve("contributions").resolve(opts.tag() + "_" + Workspace.slug(data.task().spec()) + ".json");
        if (Files.exists(path)) {
            ContributionAnalysis c = ContributionAnalysis.load(path);
            out.println("contribution analysis: " + path + " (" + c.steps() + " steps per trial)");
            return c;
        }
        out.printf(Locale.ROOT, "SU's contribution analysis: %d layers x %d ratios, 1 epoch of %d batches each, on a"
                + " validation split of %s ...%n", arch.convLayers().size(), ContributionAnalysis.ratios().length, batches,
                data.task().spec());
        ContributionAnalysis c = experiment.analyseContributions(arch, base, Experiment.validation(data),
                cfg.withWarmupEpochs(0).withEpochs(1).withMaxBatchesPerEpoch(batches));
        Files.createDirectories(path.getParent());
        c.save(path);
        return c;
    }

    /** The run's plots, made from the reports it saved: learning curves of every strategy, each one's channel selection. */
    static List<Path> plot(Path folder, String task, long budget, Map<String, Path> reports, Architecture arch)
            throws IOException {
        Map<String, Map<String, Object>> json = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : reports.entrySet()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(e.getValue()));
            json.put(e.getKey(), m);
        }
        List<Path> files = new ArrayList<>(RunPlots.curves(String.format(Locale.ROOT, "Fine-tuning %s on %s (budget %,d units)",
                arch.name(), task, budget), json).write(folder.resolve("curves")));
        for (Map.Entry<String, Map<String, Object>> e : json.entrySet()) {
            Canvas map = RunPlots.selection(String.format(Locale.ROOT, "Channels %s trained per layer and epoch (%s, %s)",
                    e.getKey(), arch.name(), task), e.getValue(), arch);
            if (map != null) {
                files.addAll(map.write(folder.resolve("selection_" + e.getKey())));
            }
        }
        return files;
    }

    @Override
    public int run(Args a, PrintStream out) throws Exception {
        boolean explicitStrategy = a.has("strategy");
        String strategy = a.string("strategy", "trady");
        String compare = a.string("compare", explicitStrategy ? "" : "classifier,full");
        boolean explicitBudget = a.has("budget");
        long budget = a.longValue("budget", PAPER_BUDGET);
        String target = a.string("task", "fmnist:5-9");
        String source = a.string("source", "fmnist:0-4");
        String weights = a.string("weights", null);
        String rankingFile = a.string("ranking", null);
        int pretrainEpochs = a.integer("pretrain-epochs", 6);
        int pretrainPerClass = a.integer("pretrain-per-class", 1500);
        int rankEpochs = a.integer("rank-epochs", 2);
        int rankBatches = a.integer("rank-batches", 20);
        boolean resume = a.flag("resume");
        String rankOn = a.string("rank-on", "source");
        if (!rankOn.equals("source") && !rankOn.equals("target")) {
            throw new UsageException("--rank-on must be source or target, got '" + rankOn + "'");
        }
        boolean folderTask = target.trim().toLowerCase(java.util.Locale.ROOT).startsWith("folder:");
        boolean explicitMomentum = a.has("momentum");
        TrainingOptions opts = TrainingOptions.parse(a, folderTask ? FOLDER_DEFAULTS : DEFAULTS, true);
        a.finish();
        List<String> strategies = new ArrayList<>(List.of(strategy));
        for (String s : compare.split(",")) {
            if (!s.isBlank() && !strategies.contains(s.trim())) {
                strategies.add(s.trim());
            }
        }
        for (String s : strategies) {
            Strategies.byName(s);
        }
        if (budget < 1) {
            throw new UsageException("--budget must be >= 1 unit, got " + budget);
        }
        if (explicitBudget && strategies.stream().allMatch(s -> Strategies.byName(s).ignoresBudget())) {
            out.println("WARNING: --budget does not apply to " + String.join(", ", strategies)
                    + " (no budget limits what they train); it is ignored");
        }
        requirePositive(pretrainEpochs, "--pretrain-epochs", 1);
        requirePositive(rankEpochs, "--rank-epochs", 1);
        requirePositive(pretrainPerClass, "--pretrain-per-class", 0);
        requirePositive(rankBatches, "--rank-batches", 0);
        Workspace.requireWritableDirectory(opts.workDir(), "--work-dir");
        LayerRanking givenRanking = rankingFile == null ? null : LayerRanking.load(Path.of(rankingFile));
        TrainConfig cfg = opts.config();
        try (Backend backend = opts.openBackend()) {
            out.println("backend: " + backend.deviceDescription());
            Progress progress = Progress.forConsole(out);
            Experiment experiment = new Experiment(backend, out, progress, StopSignal.onShutdown());
            Workspace ws = new Workspace(opts, experiment, progress, out);
            Task task = opts.task(target, out);
            Architecture arch = opts.architecture(task.numClasses());
            CostModel cost = CostModel.of(arch, opts.resolution());
            checkBudget(strategies, budget, arch, opts.resolution(),
                    givenRanking == null ? null : Experiment.topLayers(arch, givenRanking));
            // the base model does not depend on the target's kind: a folder's momentum default is not the pretraining's
            TrainConfig pretrainCfg = cfg.withWarmupEpochs(0).withEpochs(pretrainEpochs).withLearningRate(0.1)
                    .withWarmupEpochs(Math.min(1, pretrainEpochs - 1)).withMaxBatchesPerEpoch(0)
                    .withMomentum(explicitMomentum ? cfg.momentum() : DEFAULTS.momentum());
            HostWeights base = ws.base(arch, weights, source, pretrainCfg, pretrainPerClass, backend.name(), resume);
            Experiment.TaskData data = Experiment.TaskData.of(task, opts.resolution(), arch.inChannels(), opts.trainPerClass(),
                    opts.testPerClass(), cfg.seed());
            LayerRanking ranking = null;
            if (strategies.stream().anyMatch(s -> Strategies.byName(s).needsRanking())) {
                TrainConfig rankCfg = cfg.withWarmupEpochs(0).withEpochs(rankEpochs).withMaxBatchesPerEpoch(rankBatches);
                if (givenRanking != null) {
                    ranking = ws.announce(givenRanking, Path.of(rankingFile));
                } else if (rankOn.equals("target")) {
                    out.println("ranking on the target " + target + " (--rank-on target: not cached)");
                    ranking = experiment.rank(arch, base, data, rankCfg);
                } else {
                    Task sourceTask = opts.task(source, out);
                    Architecture sourceArch = opts.architecture(sourceTask.numClasses());
                    Experiment.TaskData sourceData = Experiment.TaskData.of(sourceTask, opts.resolution(),
                            sourceArch.inChannels(), opts.trainPerClass(), opts.testPerClass(), cfg.seed());
                    ranking = ws.ranking(sourceArch, base.withFreshClassifier(sourceArch, cfg.seed()), sourceData, null, rankCfg,
                            resume);
                    if (!ranking.task().equals(source)) {
                        out.println("WARNING: the cached ranking was made on " + ranking.task() + ", not on the source "
                                + source + "; delete it to rank a priori");
                    }
                }
            }
            ContributionAnalysis contributions = null;
            if (strategies.stream().anyMatch(s -> Strategies.byName(s).needsContributions())) {
                contributions = contributions(out, experiment, opts, arch, base, data, cfg, rankBatches);
            }
            out.printf(Locale.ROOT, "task %s: %d training / %d test images at %dx%d; full fine-tuning = %,d units, budget %,d units (%.1f%%)%n",
                    target, data.train().size(), data.test().size(), opts.resolution(), opts.resolution(), cost.totalUnits(),
                    budget, 100.0 * budget / cost.totalUnits());
            Map<String, Object> run = opts.settings("finetune", target, strategy, backend.deviceDescription());
            run.put("budget", budget);
            run.put("compare", strategies.subList(1, strategies.size()));
            run.put("ranking", ranking == null ? null : ranking.task() + ", " + ranking.epochs() + " epochs");
            run.put("base", weights != null ? weights : "pretrained on " + source);
            Path folder = ws.runFolder(target, strategy, budget, run);
            Map<String, RunReport> reports = new LinkedHashMap<>();
            Map<String, Path> paths = new LinkedHashMap<>();
            for (String s : strategies) {
                out.println("== " + s);
                progress.phase(s);
                Experiment.FineTune job = new Experiment.FineTune(arch, base, data, cfg, s, budget, ranking, contributions,
                        ws.checkpointPath(target, s, budget), resume, opts.settings("finetune", target, s,
                        backend.deviceDescription()));
                LearningRateSearch search = null;
                if (opts.autoLearningRate()) {
                    search = LearningRateSearch.run(experiment, job, LearningRateSearch.GRID);
                    out.printf(Locale.ROOT, "%s: learning rate %s chosen on the validation split (top-1 %s for %s)%n", s,
                            search.chosen(), search.validationTop1().stream().map(v -> String.format(Locale.ROOT, "%.2f%%", 100 * v))
                                    .toList(), search.grid());
                    Map<String, Object> settings = new LinkedHashMap<>(job.settings());
                    settings.put("learning_rate", search.chosen());
                    settings.put("learning_rate_auto", true);
                    job = new Experiment.FineTune(arch, base, data, cfg.withLearningRate(search.chosen()), s, budget, ranking,
                            contributions, ws.checkpointPath(target, s, budget), resume, settings);
                }
                RunReport r = experiment.finetune(job);
                r.recordBaseModel(ws.baseModelInfo(weights, source));
                if (search != null) {
                    r.recordLearningRateSearch(search);
                }
                Path p = folder.resolve(s + ".json");
                r.save(p);
                if (r.nearChance()) {
                    out.printf(Locale.ROOT, "WARNING: %s ends at %.2f%% top-1, near chance (%.2f%% for %d classes); the report"
                            + " says so (summary.near_chance)%n", s, 100 * ((Number) r.epochJson().getLast().get("test_top1")).doubleValue(),
                            100.0 / arch.classifier().out(), arch.classifier().out());
                }
                reports.put(s, r);
                paths.put(s, p);
            }
            SummaryTable.print(out, reports, cost);
            paths.forEach((s, p) -> out.println("report (" + s + "): " + p));
            List<Path> plots = plot(folder, target, budget, paths, arch);
            out.println("plots: " + plots.stream().map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".png"))
                    .collect(java.util.stream.Collectors.joining(", ")) + " (and .svg) in " + folder);
        }
        return 0;
    }
}
