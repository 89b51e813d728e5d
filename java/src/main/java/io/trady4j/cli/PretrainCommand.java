package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.train.Experiment;
import io.trady4j.train.Progress;
import io.trady4j.train.StopSignal;

import java.io.PrintStream;
import java.nio.file.Path;

/** {@code trady4j pretrain}: train a model from scratch on a task and save it as a base model. */
final class PretrainCommand implements Command {
    static final TrainingOptions.Defaults DEFAULTS = new TrainingOptions.Defaults(6, 0.1, 1, 64, 0, 1500, 300, 0, "runs");

    @Override
    public boolean stopsOnSignal() {
        return true;
    }

    @Override
    public String name() {
        return "pretrain";
    }

    @Override
    public String summary() {
        return "train a model from scratch on a task and save it (a base model for finetune)";
    }

    @Override
    public String usage() {
        return """
                usage: trady4j pretrain [options]
                  --task SPEC           task to train on (default fmnist:0-4)
                  --out FILE            where to save (default runs/base/<model>_r<R>_<task>.safetensors,
                                        which finetune picks up)
                  --resume              continue an interrupted pretraining from its checkpoint
                                        (<work-dir>/checkpoints, written every epoch and when stopped)
                """ + TrainingOptions.help(DEFAULTS, java.util.Set.of());
    }

    @Override
    public int run(Args a, PrintStream out) throws Exception {
        String task = a.string("task", "fmnist:0-4");
        String file = a.string("out", null);
        boolean resume = a.flag("resume");
        TrainingOptions opts = TrainingOptions.parse(a, DEFAULTS);
        a.finish();
        Workspace.requireWritableDirectory(opts.workDir(), "--work-dir");
        if (file != null) {
            Workspace.requireWritableFile(Path.of(file), "--out");
        }
        try (Backend backend = opts.openBackend()) {
            out.println("backend: " + backend.deviceDescription());
            Progress progress = Progress.forConsole(out);
            Workspace ws = new Workspace(opts, new Experiment(backend, out, progress, StopSignal.onShutdown()), progress, out);
            Path output = file != null ? Path.of(file) : ws.basePath(task);
            ws.pretrain(task, opts.config(), opts.trainPerClass(), output, backend.deviceDescription(), resume);
        }
        return 0;
    }
}
