package io.trady4j.cli;

import io.trady4j.data.Task;
import io.trady4j.io.Json;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.HostWeights;
import io.trady4j.train.EpochResult;
import io.trady4j.train.Experiment;
import io.trady4j.train.Progress;
import io.trady4j.train.RunReport;
import io.trady4j.train.TrainConfig;
import io.trady4j.trady.LayerRanking;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The work directory's cached artefacts — base models, layer rankings, checkpoints, reports — and
 * how to make the first two when they are missing.
 */
final class Workspace {
    private final TrainingOptions opts;
    private final Experiment experiment;
    private final PrintStream out;
    private final Progress progress;

    Workspace(TrainingOptions opts, Experiment experiment, Progress progress, PrintStream out) {
        this.opts = opts;
        this.experiment = experiment;
        this.progress = progress;
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

    private static final java.util.regex.Pattern CLASSES = java.util.regex.Pattern.compile(
            "\\d+(-\\d+)?(,\\d+(-\\d+)?)*");

    /**
     * A readable file-name form of a task: {@code fmnist:5-9} → {@code fmnist-5-9}, {@code letters:A-C,F} →
     * {@code letters-A-C+F}; a data directory becomes its last name plus six hex digits of its absolute path
     * ({@code folder:/tmp/newcomer/digits} → {@code folder-digits-3f9a1c}), so two folders never share a slug.
     */
    static String slug(String task) {
        String[] parts = task.trim().split(":", -1);
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i];
            boolean directory = i == 1 && !parts[0].equalsIgnoreCase("letters")
                    && !(CLASSES.matcher(part).matches() && i == parts.length - 1);
            if (directory) {
                Path p = Path.of(part).toAbsolutePath().normalize();
                String last = p.getFileName() == null ? "root" : p.getFileName().toString();
                out.add(clean(last) + "-" + String.format(Locale.ROOT, "%06x", p.toString().hashCode() & 0xffffff));
            } else {
                out.add(clean(part.replace(',', '+')));
            }
        }
        return String.join("-", out.stream().filter(s -> !s.isEmpty()).toList());
    }

    private static String clean(String text) {
        return text.replaceAll("[^A-Za-z0-9.+-]+", "_").replaceAll("^[._]+|_+$", "");
    }

    Path basePath(String sourceTask) {
        return opts.workDir().resolve("base").resolve(opts.tag() + "_" + slug(sourceTask) + ".safetensors");
    }

    Path rankingPath() {
        return opts.workDir().resolve("rankings").resolve(opts.tag() + ".json");
    }

    /** Where a job without a budget (pretraining, ranking) checkpoints. */
    Path checkpointPath(String task, String job) {
        return opts.workDir().resolve("checkpoints").resolve(opts.tag() + "_" + slug(task) + "_" + job + "_seed"
                + opts.config().seed() + ".safetensors");
    }

    /** Where a fine-tuning run checkpoints: its name carries the task, strategy, budget and seed. */
    Path checkpointPath(String task, String strategy, long budget) {
        return opts.workDir().resolve("checkpoints").resolve(runName(task, strategy, budget) + ".safetensors");
    }

    /** Where pretraining on {@code sourceTask} checkpoints every epoch (resumed with --resume). */
    Path pretrainCheckpointPath(String sourceTask) {
        return checkpointPath(sourceTask, "pretrain");
    }

    /** {@code <tag>_<task slug>_<strategy>_b<budget>_seed<seed>}: what tells one fine-tuning run from another. */
    String runName(String task, String strategy, long budget) {
        return opts.tag() + "_" + slug(task) + "_" + strategy + "_b" + budget + "_seed" + opts.config().seed();
    }

    /**
     * The folder of one {@code finetune}: {@code <work-dir>/finetune/<run name of its main strategy>}, claimed by
     * writing {@code run.json} (the run's settings, backend aside) into it before any training. A folder of that name
     * claimed by a run of other settings (epochs, learning rate, compared strategies, ...) is kept: this run takes
     * the next free {@code -2}, {@code -3}, ..., so runs never overwrite each other; the same run again (e.g. with
     * --resume) reuses its folder.
     */
    Path runFolder(String task, String strategy, long budget, Map<String, Object> settings) throws IOException {
        Map<String, Object> claim = new java.util.LinkedHashMap<>(settings);
        claim.remove("backend");
        Object mine = Json.parse(Json.write(claim));
        Path root = opts.workDir().resolve("finetune");
        String name = runName(task, strategy, budget);
        for (int i = 1; ; i++) {
            Path dir = root.resolve(i == 1 ? name : name + "-" + i);
            Path run = dir.resolve("run.json");
            if (!Files.exists(dir) || Files.exists(run) && Json.parse(Files.readString(run)).equals(mine)) {
                io.trady4j.io.AtomicFiles.writeString(run, Json.writePretty(claim));
                return dir;
            }
        }
    }

    /** Pretrains from a seeded random init on {@code sourceSpec} and saves the folded weights. */
    Path pretrain(String sourceSpec, TrainConfig config, int trainPerClass, Path output, String device, boolean resume)
            throws IOException {
        Task source = opts.task(sourceSpec, out);
        Architecture arch = opts.architecture(source.numClasses());
        Experiment.TaskData data = Experiment.TaskData.of(source, opts.resolution(), arch.inChannels(), trainPerClass,
                opts.testPerClass(), config.seed());
        out.printf(Locale.ROOT, "pretraining %s on %s (%d training images, %d epochs) ...%n", arch.name(), sourceSpec,
                data.train().size(), config.epochs());
        Files.createDirectories(output.toAbsolutePath().getParent());
        progress.phase("pretraining");
        RunReport r = experiment.pretrain(arch, HostWeights.random(arch, config.seed()), data, config, output,
                opts.settings("pretrain", sourceSpec, "full", device, config, trainPerClass), pretrainCheckpointPath(sourceSpec), resume);
        r.save(reportPath(output));
        EpochResult last = r.epochs().getLast();
        out.printf(Locale.ROOT, "saved base model %s (pretrained with BatchNorm, folded): test top-1 %.2f%%, loss %.4f%n",
                output, 100 * last.testAccuracy(), last.testLoss());
        return output;
    }

    private static Path reportPath(Path baseModel) {
        return baseModel.resolveSibling(baseModel.getFileName().toString().replace(".safetensors", ".report.json"));
    }

    /** " (test top-1 X% when pretrained)" from the pretraining report beside a cached base model, or "" without one. */
    private static String pretrainedAccuracy(Path baseModel) {
        Double top1 = pretrainedTop1(baseModel);
        return top1 == null ? "" : String.format(Locale.ROOT, ", test top-1 %.2f%% when pretrained", 100 * top1);
    }

    /** The source test top-1 of the pretraining report beside a base model, or null without a readable one. */
    private static Double pretrainedTop1(Path baseModel) {
        try {
            Object report = Json.parse(Files.readString(reportPath(baseModel)));
            if (report instanceof Map<?, ?> m && m.get("epochs") instanceof List<?> epochs && !epochs.isEmpty()
                    && epochs.getLast() instanceof Map<?, ?> e && e.get("test_top1") instanceof Number top1) {
                return top1.doubleValue();
            }
        } catch (IOException | RuntimeException e) {
            // no readable report beside the model: nothing to add
        }
        return null;
    }

    /**
     * What a fine-tune starts from, for its report: the base model's file, the source task it was pretrained on (null
     * for --weights) and that pretraining's test top-1 on the source (null when no pretraining report is beside it).
     */
    Map<String, Object> baseModelInfo(String weights, String sourceSpec) {
        Path path = weights != null ? Path.of(weights) : basePath(sourceSpec);
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("file", path.toString());
        m.put("pretrained_on", weights != null ? null : sourceSpec);
        m.put("source_test_top1", pretrainedTop1(path));
        return m;
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
                out.println("base model: " + path + " (cached" + pretrainedAccuracy(path) + "; delete it to pretrain again)");
            }
        }
        HostWeights loaded = HostWeights.read(arch, path, opts.config().seed());
        loaded.notes().forEach(n -> out.println("note: " + n));
        return loaded.withFreshClassifier(arch, opts.config().seed());   // a new task gets a new classifier
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
        progress.phase("ranking");
        LayerRanking r = experiment.rank(arch, base, data, rankConfig, null, checkpointPath(data.task().spec(), "rank"),
                resume);
        r.save(path);
        List<Integer> top = r.topK(LayerRanking.DEFAULT_MASS);
        out.printf(Locale.ROOT, "saved %s: top-%d of %d layers hold 97%% of the score%n", path, top.size(), r.scores().length);
        return r;
    }
}
