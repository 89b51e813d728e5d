package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.backend.Backends;
import io.trady4j.data.Augment;
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

/** Options shared by the training commands, with each command's defaults. */
record TrainingOptions(String model, double width, int resolution, String backend, int threads, TrainConfig config, int trainPerClass,
                       int testPerClass, Path workDir, Augment augment, boolean skipBadImages, boolean autoLearningRate) {

    /** A command's defaults for the shared options (what its --help shows and what it trains with). */
    record Defaults(int epochs, double lr, int warmup, int batchSize, double momentum, int trainPerClass, int testPerClass,
                    int maxBatches, String workDir) {
    }

    /**
     * The shared options' help, one line per option, with {@code d}'s defaults; the options in {@code omitted} (names
     * without dashes) are left out, for a command where they do not apply.
     */
    static String help(Defaults d, java.util.Set<String> omitted) {
        String lines = """
                  --model NAME          %s (default mbv2-w0.35)
                  --width W             width multiplier (mobilenet_v2 only)
                  --resolution R        input size in pixels (default 32)
                  --backend B           auto | cpu | cuda (default auto: CUDA if it works here, else CPU)
                  --threads N           the CPU backend's threads (default 0 = every processor)
                  --epochs N            (default %d)
                  --batch-size N        (default %d)
                  --lr X                SGD learning rate, cosine-decayed after the warm-up (default %s)
                  --warmup N            epochs of linear learning-rate warm-up (default %d, at most epochs - 1)
                  --momentum X          SGD momentum (default %s)
                  --weight-decay X      (default 0)
                  --seed N              seed of the initialisation, data order, augmentation and channel draws (default 0)
                  --train-per-class N   train on the first N samples of each class (default %d; 0 = all)
                  --test-per-class N    evaluate on the first N test samples of each class (default %d; 0 = all)
                  --max-batches N       at most N batches per epoch (default %d; 0 = all)
                  --augment A           none | crop | flip | crop,flip: random crop (padding R/8) and horizontal flip of
                                        the training images (default: crop,flip for fmnist and cifar, crop for mnist,
                                        letters and folders, which may hold digits or text)
                  --skip-bad-images     leave out, with a warning each, the images of a folder task that cannot be
                                        decoded (default: the first one stops the run before any work, exit status 2)
                  --work-dir DIR        where base models, rankings, checkpoints and reports go (default %s)
                """.formatted(String.join(", ", ModelZoo.NAMES), d.epochs(), d.batchSize(), d.lr(), d.warmup(), d.momentum(),
                d.trainPerClass(), d.testPerClass(), d.maxBatches(), d.workDir());
        StringBuilder out = new StringBuilder();
        boolean keep = true;
        for (String line : lines.split("\n")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^  --([a-z-]+)").matcher(line);
            if (m.find()) {
                keep = !omitted.contains(m.group(1));
            }
            if (keep) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    static TrainingOptions parse(Args a, Defaults d) {
        return parse(a, d, false);
    }

    /** As {@link #parse(Args, Defaults)}; {@code allowAutoLearningRate}: {@code --lr auto} is accepted. */
    static TrainingOptions parse(Args a, Defaults d, boolean allowAutoLearningRate) {
        String model = a.string("model", "mbv2-w0.35");
        double width = a.real("width", 1.0);
        int resolution = a.integer("resolution", 32);
        if (resolution < 8 || resolution > 1024) {
            throw new UsageException("--resolution must be in [8, 1024], got " + resolution);
        }
        TrainConfig cfg;
        boolean auto = "auto".equals(a.string("lr", null));
        if (auto && !allowAutoLearningRate) {
            throw new UsageException("--lr auto is a finetune option; give a number here");
        }
        int givenEpochs = a.integer("epochs", d.epochs());
        // The default warm-up never takes every epoch (so --epochs 1 works); an explicit --warmup is checked as given.
        int defaultWarmup = Math.min(d.warmup(), Math.max(0, givenEpochs - 1));
        try {
            cfg = TrainConfig.defaults().withEpochs(givenEpochs).withBatchSize(a.integer("batch-size", d.batchSize()))
                    .withLearningRate(auto ? d.lr() : a.real("lr", d.lr())).withWarmupEpochs(a.integer("warmup", defaultWarmup))
                    .withMomentum(a.real("momentum", d.momentum())).withWeightDecay(a.real("weight-decay", 0))
                    .withSeed(a.longValue("seed", 0)).withMaxBatchesPerEpoch(a.integer("max-batches", d.maxBatches()));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        int train = a.integer("train-per-class", d.trainPerClass());
        int test = a.integer("test-per-class", d.testPerClass());
        if (train < 0 || test < 0) {
            throw new UsageException("--train-per-class and --test-per-class must be >= 0");
        }
        String augment = a.string("augment", null);
        Augment aug;
        try {
            aug = augment == null ? null : Augment.parse(augment);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--augment: " + e.getMessage());
        }
        int threads = a.integer("threads", 0);
        if (threads < 0) {
            throw new UsageException("--threads must be >= 0 (0 = every processor), got " + threads);
        }
        return new TrainingOptions(model, width, resolution, a.string("backend", "auto"), threads, cfg, train, test,
                Path.of(a.string("work-dir", d.workDir())), aug, a.flag("skip-bad-images"), auto);
    }


    Architecture architecture(int classes) {
        try {
            return ModelZoo.build(model, classes, width);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    Backend openBackend() {
        return Backends.open(backend, threads);
    }

    /**
     * Parses a task with these options' augmentation (or the task kind's default) and bad-image rule (every image of
     * a folder is decoded here, before any work); installs a missing Debian data package when running as root with
     * apt, else says how.
     */
    Task task(String spec, PrintStream out) throws IOException {
        Tasks.Options o = Tasks.Options.defaults().withBadImages(skipBadImages, out::println);
        Task t;
        try {
            t = Tasks.parse(spec, o);
        } catch (DatasetMissingException e) {
            if (e.aptPackage() == null || !DatasetInstaller.canInstall()) {
                throw new UsageException(e.getMessage());
            }
            out.println("dataset missing: installing Debian package " + e.aptPackage() + " with apt-get ...");
            DatasetInstaller.install(e.aptPackage(), out);
            t = Tasks.parse(spec, o);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        return augment == null ? t : t.withAugment(augment);
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
        if (augment != null) {
            m.put("augment", augment.toString());
        }
        m.put("test_per_class", testPerClass);
        return m;
    }
}
