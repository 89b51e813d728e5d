package io.trady4j.cli;

import io.trady4j.data.Task;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.HostWeights;
import io.trady4j.train.Experiment;
import io.trady4j.train.RunReport;
import io.trady4j.train.TrainConfig;
import io.trady4j.trady.LayerRanking;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The work directory's cached artefacts — base models, layer rankings, checkpoints, reports — and
 * how to make the first two when they are missing.
 */
final class Workspace {
    private final TrainingOptions opts;
    private final Experiment experiment;
    private final PrintStream out;

    Workspace(TrainingOptions opts, Experiment experiment, PrintStream out) {
        this.opts = opts;
        this.experiment = experiment;
        this.out = out;
    }

    /**
     * Makes sure {@code dir} is, or can become, a writable directory before any work starts, without
     * creating anything: its nearest existing ancestor must be a writable directory.
     */
    static void requireWritableDirectory(Path dir, String option) {
        Path p = dir.toAbsolutePath().normalize();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        if (p == null) {
            throw new UsageException(option + " " + dir + " cannot be created");
        }
        if (!Files.isDirectory(p)) {
            throw new UsageException(option + " " + dir + " cannot be used as a directory: " + p + " is a file");
        }
        if (!Files.isWritable(p)) {
            throw new UsageException(option + " " + dir + " is not writable (" + p + ")");
        }
        if (p.getParent() != null) {
            // permissions do not tell everything (read-only mounts, special file systems, root): try it
            try {
                Files.delete(Files.createTempFile(p, ".trady4j-probe", ".tmp"));
            } catch (IOException e) {
                throw new UsageException(option + " " + dir + " is not writable (" + p + ": "
                        + (e instanceof java.nio.file.FileSystemException f ? Main.fileProblem(f) : e.getMessage()) + ")");
            }
        }
    }

    /** Makes sure a file can be written at {@code file} (its directory exists or can be made, and is writable). */
    static void requireWritableFile(Path file, String option) {
        if (Files.isDirectory(file)) {
            throw new UsageException(option + " " + file + " is a directory; give a file name");
        }
        Path parent = file.toAbsolutePath().getParent();
        requireWritableDirectory(parent, option + " " + file + ": its directory");
    }

    static String slug(String text) {
        return text.replaceAll("[^A-Za-z0-9.-]+", "");
    }

    Path basePath(String sourceTask) {
        return opts.workDir().resolve("base").resolve(opts.tag() + "_" + slug(sourceTask) + ".safetensors");
    }

    Path rankingPath() {
        return opts.workDir().resolve("rankings").resolve(opts.tag() + ".json");
    }

    Path checkpointPath(String task, String strategy) {
        return opts.workDir().resolve("checkpoints").resolve(name(task, strategy) + ".safetensors");
    }

    /** Where pretraining on {@code sourceTask} checkpoints every epoch (resumed with --resume). */
    Path pretrainCheckpointPath(String sourceTask) {
        return checkpointPath(sourceTask, "pretrain");
    }

    Path reportPath(String task, String strategy) {
        return opts.workDir().resolve("reports").resolve(name(task, strategy) + ".json");
    }

    private String name(String task, String strategy) {
        return opts.tag() + "_" + slug(task) + "_" + strategy + "_seed" + opts.config().seed();
    }

    /** Pretrains from a seeded random init on {@code sourceSpec} and saves the folded weights. */
    Path pretrain(String sourceSpec, TrainConfig config, int trainPerClass, Path output, String device, boolean resume)
            throws IOException {
        Task source = TrainingOptions.task(sourceSpec, out);
        Architecture arch = opts.architecture(source.numClasses());
        Experiment.TaskData data = Experiment.TaskData.of(source, opts.resolution(), arch.inChannels(), trainPerClass,
                opts.testPerClass(), config.seed());
        out.printf(Locale.ROOT, "pretraining %s on %s (%d training images, %d epochs) ...%n", arch.name(), sourceSpec,
                data.train().size(), config.epochs());
        Files.createDirectories(output.toAbsolutePath().getParent());
        RunReport r = experiment.pretrain(arch, HostWeights.randomWithoutBatchNorm(arch, config.seed()), data, config, output,
                opts.settings("pretrain", sourceSpec, "full", device, config, trainPerClass), pretrainCheckpointPath(sourceSpec), resume);
        r.save(output.resolveSibling(output.getFileName().toString().replace(".safetensors", ".report.json")));
        out.println("saved base model " + output);
        return output;
    }

    /** The base model for {@code arch} from a file, or the cached one pretrained on the source task (made if missing). */
    HostWeights base(Architecture arch, String weights, String sourceSpec, TrainConfig pretrainConfig, int pretrainPerClass,
                     String device, boolean resume) throws IOException {
        Path path;
        if (weights != null) {
            path = Path.of(weights);
        } else {
            path = basePath(sourceSpec);
            if (!Files.exists(path)) {
                pretrain(sourceSpec, pretrainConfig, pretrainPerClass, path, device, resume);
            } else {
                out.println("base model: " + path + " (cached; delete it to pretrain again)");
            }
        }
        HostWeights loaded = HostWeights.read(arch, path, opts.config().seed());
        loaded.notes().forEach(n -> out.println("note: " + n));
        return withFreshClassifier(loaded, opts.config().seed());
    }

    /** A new task gets a new classifier: the base model's own is replaced by a seeded random one. */
    static HostWeights withFreshClassifier(HostWeights base, long seed) {
        HostWeights fresh = HostWeights.random(base.architecture(), seed);
        HostWeights out = base.copy();
        System.arraycopy(fresh.classifierWeight(), 0, out.classifierWeight(), 0, out.classifierWeight().length);
        if (out.classifierBias() != null) {
            System.arraycopy(fresh.classifierBias(), 0, out.classifierBias(), 0, out.classifierBias().length);
        }
        return out;
    }

    LayerRanking announce(LayerRanking r, Path path) {
        out.println("layer ranking: " + path + " (from " + r.task() + ", " + r.epochs() + " epochs)");
        return r;
    }

    /** The layer ranking from a file, or the cached one for this model and resolution (computed on the task if missing). */
    LayerRanking ranking(Architecture arch, HostWeights base, Experiment.TaskData data, String file, TrainConfig rankConfig,
                         boolean resume) throws IOException {
        Path path = file != null ? Path.of(file) : rankingPath();
        if (file != null || Files.exists(path)) {
            return announce(LayerRanking.load(path), path);
        }
        out.printf(Locale.ROOT, "ranking %s's layers by RGN during %d epochs of full fine-tuning on %s ...%n", arch.name(),
                rankConfig.epochs(), data.task().spec());
        LayerRanking r = experiment.rank(arch, base, data, rankConfig, null, checkpointPath(data.task().spec(), "rank"),
                resume);
        r.save(path);
        List<Integer> top = r.topK(LayerRanking.DEFAULT_MASS);
        out.printf(Locale.ROOT, "saved %s: top-%d of %d layers hold 97%% of the score%n", path, top.size(), r.scores().length);
        return r;
    }
}
