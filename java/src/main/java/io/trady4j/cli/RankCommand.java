package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.data.Task;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.HostWeights;
import io.trady4j.train.Experiment;
import io.trady4j.train.Progress;
import io.trady4j.train.StopSignal;
import io.trady4j.train.TrainConfig;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.LayerRanking;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** {@code trady4j rank}: rank a model's layers by RGN during a few epochs of full fine-tuning, save and print it. */
final class RankCommand implements Command {
    static final TrainingOptions.Defaults DEFAULTS = new TrainingOptions.Defaults(2, 0.05, 0, 64, 0, 500, 300, 20, "runs");

    @Override
    public boolean stopsOnSignal() {
        return true;
    }

    @Override
    public String name() {
        return "rank";
    }

    @Override
    public String summary() {
        return "rank layers by reweighted gradient norm (RGN) during full fine-tuning; save the JSON";
    }

    @Override
    public String usage() {
        return """
                usage: trady4j rank [options]
                  --weights FILE        model to fine-tune (default: the cached base model pretrained on --source)
                  --source SPEC         (default fmnist:0-4)
                  --task SPEC           task to fine-tune on while measuring (default: the source, a priori, with a
                                        fresh classifier, as finetune ranks; give a target task to rank on it)
                  --out FILE            (default runs/rankings/<model>_r<R>.json, which finetune picks up); the
                                        plot of the scores goes next to it (FILE without .json, plus .png and .svg)
                  --resume              continue an interrupted ranking from its checkpoint
                                        (<work-dir>/checkpoints, written every epoch and when stopped)
                """ + TrainingOptions.help(DEFAULTS, java.util.Set.of());
    }

    @Override
    public int run(Args a, PrintStream out) throws Exception {
        String weights = a.string("weights", null);
        String source = a.string("source", "fmnist:0-4");
        String target = a.string("task", source);
        String file = a.string("out", null);
        boolean resume = a.flag("resume");
        TrainingOptions opts = TrainingOptions.parse(a, DEFAULTS);
        a.finish();
        if (file != null) {
            Workspace.requireWritableFile(Path.of(file), "--out");
        } else {
            Workspace.requireWritableDirectory(opts.workDir(), "--work-dir");
        }
        TrainConfig cfg = opts.config();
        try (Backend backend = opts.openBackend()) {
            out.println("backend: " + backend.deviceDescription());
            Progress progress = Progress.forConsole(out);
            Experiment experiment = new Experiment(backend, out, progress, StopSignal.onShutdown());
            Workspace ws = new Workspace(opts, experiment, progress, out);
            Task task = opts.task(target, out);
            Architecture arch = opts.architecture(task.numClasses());
            if (weights == null && !Files.exists(ws.basePath(source))) {
                throw new UsageException("no base model at " + ws.basePath(source) + ": run `trady4j pretrain --task " + source
                        + "` first or pass --weights FILE");
            }
            HostWeights base = ws.base(arch, weights, source, cfg, 0, backend.name(), false);
            if (target.equals(source)) {
                base = base.withFreshClassifier(arch, cfg.seed());
            }
            Experiment.TaskData data = Experiment.TaskData.of(task, opts.resolution(), arch.inChannels(), opts.trainPerClass(),
                    opts.testPerClass(), cfg.seed());
            Path output = file != null ? Path.of(file) : ws.rankingPath();
            out.printf(Locale.ROOT, "ranking %s's layers by RGN during %d epochs of full fine-tuning on %s ...%n", arch.name(),
                    cfg.epochs(), target);
            progress.phase("ranking");
            LayerRanking r = experiment.rank(arch, base, data, cfg, null, ws.checkpointPath(target, "rank"), resume);
            r.save(output);
            print(out, r, CostModel.of(arch, opts.resolution()));
            out.println("saved " + output);
            Path plot = output.resolveSibling(output.getFileName().toString().replaceFirst("\\.json$", ""));
            RunPlots.ranking(r).write(plot);
            out.println("plot: " + plot + ".png (and .svg): layer scores, highest first, the top-K cut marked");
        }
        return 0;
    }

    static void print(PrintStream out, LayerRanking r, CostModel cost) {
        List<Integer> top = r.topK(LayerRanking.DEFAULT_MASS);
        double total = 0;
        for (double s : r.scores()) {
            total += s;
        }
        out.printf(Locale.ROOT, "%4s %-55s %12s %7s %8s %s%n", "rank", "layer", "score", "share", "units/ch", "top-K");
        int rank = 1;
        for (int i : r.order()) {
            out.printf(Locale.ROOT, "%4d %-55s %12.5g %6.2f%% %,8d %s%n", rank++, r.layerNames().get(i), r.scores()[i],
                    100 * r.scores()[i] / total, cost.layers().get(i).spaceUnitsPerChannel(), top.contains(i) ? "*" : "");
        }
        out.printf(Locale.ROOT, "top-K at 97%% of the score: K = %d of %d layers%n", top.size(), r.scores().length);
    }
}
