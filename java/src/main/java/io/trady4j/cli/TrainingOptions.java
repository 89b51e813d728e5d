package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.backend.Backends;
import io.trady4j.data.DatasetInstaller;
import io.trady4j.data.DatasetMissingException;
import io.trady4j.data.Task;
import io.trady4j.data.Tasks;
import io.trady4j.models.ModelZoo;
import io.trady4j.nn.Architecture;
import io.trady4j.train.TrainConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Options shared by the training commands, with the main job's defaults. */
record TrainingOptions(String model, double width, int resolution, String backend, TrainConfig config, int trainPerClass,
                       int testPerClass, Path workDir) {

    static final String HELP = """
              --model NAME          %s (default mbv2-w0.35)
              --width W             width multiplier (mobilenet_v2 only)
              --resolution R        input size in pixels (default 32)
              --backend B           auto | cpu | cuda (default auto: CUDA if it works here, else CPU)
              --epochs N  --batch-size N  --lr X  --warmup N  --momentum X  --weight-decay X  --seed N
              --train-per-class N   train on the first N samples of each class (0 = all)
              --test-per-class N    evaluate on the first N test samples of each class (0 = all)
              --max-batches N       at most N batches per epoch (0 = all)
              --work-dir DIR        where base models, rankings, checkpoints and reports go (default runs)
            """.formatted(String.join(", ", ModelZoo.NAMES));

    static TrainingOptions parse(Args a, int epochs, double lr, int warmup, int trainPerClass, int testPerClass) {
        String model = a.string("model", "mbv2-w0.35");
        double width = a.real("width", 1.0);
        int resolution = a.integer("resolution", 32);
        if (resolution < 8 || resolution > 1024) {
            throw new UsageException("--resolution must be in [8, 1024], got " + resolution);
        }
        TrainConfig cfg;
        int givenEpochs = a.integer("epochs", epochs);
        // The default warm-up never takes every epoch (so --epochs 1 works); an explicit --warmup is checked as given.
        int defaultWarmup = Math.min(warmup, Math.max(0, givenEpochs - 1));
        try {
            cfg = new TrainConfig(givenEpochs, a.integer("batch-size", 64), a.real("lr", lr),
                    a.integer("warmup", defaultWarmup), a.real("momentum", 0), a.real("weight-decay", 0), a.longValue("seed", 0),
                    a.integer("max-batches", 0), 0);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        int train = a.integer("train-per-class", trainPerClass);
        int test = a.integer("test-per-class", testPerClass);
        if (train < 0 || test < 0) {
            throw new UsageException("--train-per-class and --test-per-class must be >= 0");
        }
        return new TrainingOptions(model, width, resolution, a.string("backend", "auto"), cfg, train, test,
                Path.of(a.string("work-dir", "runs")));
    }

    Architecture architecture(int classes) {
        try {
            return ModelZoo.build(model, classes, width);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    Backend openBackend() {
        return Backends.open(backend);
    }

    /** Parses a task; installs a missing Debian data package when running as root with apt, else says how. */
    static Task task(String spec, PrintStream out) throws IOException {
        try {
            return Tasks.parse(spec);
        } catch (DatasetMissingException e) {
            if (e.aptPackage() == null || !DatasetInstaller.canInstall()) {
                throw new UsageException(e.getMessage());
            }
            out.println("dataset missing: installing Debian package " + e.aptPackage() + " with apt-get ...");
            DatasetInstaller.install(e.aptPackage(), out);
            return Tasks.parse(spec);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    String tag() {
        return model + (width != 1.0 ? "-x" + width : "") + "_r" + resolution;
    }

    Map<String, Object> settings(String job, String task, String strategy, String device) {
        return settings(job, task, strategy, device, config, trainPerClass);
    }

    /** The settings of a run with its own training configuration (e.g. the pretraining inside finetune). */
    Map<String, Object> settings(String job, String task, String strategy, String device, TrainConfig config,
                                 int trainPerClass) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", job);
        m.put("model", model);
        if (width != 1.0) {
            m.put("width", width);
        }
        m.put("resolution", resolution);
        m.put("task", task);
        m.put("strategy", strategy);
        m.put("backend", device);
        m.putAll(config.toMap());
        m.put("train_per_class", trainPerClass);
        m.put("test_per_class", testPerClass);
        return m;
    }
}
