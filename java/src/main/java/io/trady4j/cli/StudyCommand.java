package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.data.Task;
import io.trady4j.io.Json;
import io.trady4j.nn.Architecture;
import io.trady4j.study.Shard;
import io.trady4j.study.Study;
import io.trady4j.study.StudyReport;
import io.trady4j.study.StudySettings;
import io.trady4j.train.Experiment;
import io.trady4j.train.Progress;
import io.trady4j.train.TrainConfig;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.Strategies;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code trady4j study}: the study of issue 7 — layer rankings on the source and the targets, the grid
 * target × seed × budget × strategy from one base model, the four analyses, and the report (tables, JSON,
 * SVG plots) in {@code --out}.
 */
final class StudyCommand implements Command {
    static final String DEFAULT_BUDGETS = "2.2,5.3,7.5";
    static final int DEFAULT_EPOCHS = 30;
    /** The paper's warm-up (TRADY.md §4). */
    static final int DEFAULT_WARMUP = 5;
    static final int DEFAULT_BATCH = 32;
    /** Pretraining from scratch (momentum 0.9) collapsed to chance at batch 32 in our runs; 64 trains stably. */
    static final int PRETRAIN_BATCH = 64;
    static final double DEFAULT_LR = 0.25;
    static final int DEFAULT_TRAIN_SIZE = 1500;
    static final int DEFAULT_TEST_SIZE = 1000;
    /** Study v2 (issue 15): every strategy but the plain-SGD duplicates is in; d-topk-random is trady. */
    static final List<String> DEFAULT_STRATEGIES = List.of("trady", "s-topk-random", "d-full-random", "s-full-random",
            "d-det-rgn", "s-det-rgn", "su", "su-rgn-fill", "medyate", "classifier", "full");
    static final TrainingOptions.Defaults DEFAULTS = new TrainingOptions.Defaults(DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_WARMUP,
            DEFAULT_BATCH, 0,
            0, 100, 0, "runs/study");
    /** Shared options the study does not take: it samples its own subsets, runs seeds 0..N-1 and uses plain SGD. */
    static final java.util.Set<String> NOT_APPLICABLE = java.util.Set.of("train-per-class", "test-per-class", "seed", "momentum",
            "weight-decay");

    @Override
    public String name() {
        return "study";
    }

    @Override
    public String summary() {
        return "reproduce the paper's findings: rankings, strategy × budget × seed grid, analyses, report";
    }

    @Override
    public String usage() {
        return """
                usage: trady4j study [options]
                With no options (many hours on 2 CPU cores): pretrain mbv2-w0.35 on fmnist:0-4 if no base model is cached,
                rank its layers on the source and on each target, measure SU's contribution analysis on the source, choose
                each strategy's learning rate per target and budget on a validation split (--lr auto, the default), fine-tune
                fmnist:5-9 and letters:A-J with every strategy at 2.2, 5.3 and 7.5%% of full fine-tuning's memory units for
                3 seeds, and write the report to runs/study/report. Rankings, the analysis, learning-rate searches and
                finished runs are cached in WORK_DIR/cache and reused; an interrupted study resumes where it stopped.
                  --source SPEC         pretraining task of the base model, and the task whose layer ranking trady,
                                        s-topk-random and su use on every target (default fmnist:0-4)
                  --targets LIST        target tasks, comma-separated (default fmnist:5-9,letters:A-J)
                  --weights FILE        base model instead of pretraining on --source: a trady4j checkpoint or a
                                        PyTorch/torchvision state dict (safetensors)
                  --strategies LIST     (default %s; also d-topk-random = trady)
                  --budgets LIST        percent of full fine-tuning units (default %s, the paper's MobileNetV2 budgets)
                  --seeds N             (default 3)
                  --rank-epochs N       (default 4)   --rank-batches N (default 20 per epoch)
                  --top-fraction X      share of channels called top in the overlap and tail analyses (default 0.1)
                  --pretrain-epochs N   (default 10)  --pretrain-per-class N (default 1500)
                                        (pretraining: batch 64, SGD lr 0.05, momentum 0.9, 1 warm-up epoch, cosine)
                  --out DIR             report directory (default WORK_DIR/report, i.e. runs/study/report)
                  --fresh               retrain everything instead of reusing cached rankings and runs
                  --shard K/N           train only the K-th of N shares of the grid (whole target x strategy groups),
                                        for N processes sharing WORK_DIR (e.g. 1/2 and 2/2 with --threads 1 each on 2
                                        cores); no report: a final run without --shard collects them from the cache
                  --train-size N        training images per task, a seeded random stratified subset (default %d; 0 = all)
                  --test-size N         test images per task, likewise (default %d)
                Fine-tuning is plain SGD, as in the paper (no --momentum, --weight-decay); --seeds replaces --seed; --lr X
                gives every run the learning rate X instead of the search (rankings and SU's analysis use X, default %s).
                """.formatted(String.join(",", DEFAULT_STRATEGIES), DEFAULT_BUDGETS, DEFAULT_TRAIN_SIZE, DEFAULT_TEST_SIZE, DEFAULT_LR)
                + TrainingOptions.help(DEFAULTS, NOT_APPLICABLE);
    }

    @Override
    public int run(Args a, PrintStream out) throws Exception {
        long start = System.nanoTime();
        String started = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
        String source = a.string("source", "fmnist:0-4");
        List<String> targets = list(a.string("targets", "fmnist:5-9,letters:A-J"), "--targets");
        String weights = a.string("weights", null);
        List<String> strategies = list(a.string("strategies", String.join(",", DEFAULT_STRATEGIES)), "--strategies");
        List<Double> budgets = new ArrayList<>();
        for (String b : list(a.string("budgets", DEFAULT_BUDGETS), "--budgets")) {
            try {
                budgets.add(Double.parseDouble(b));
            } catch (NumberFormatException e) {
                throw new UsageException("--budgets takes percentages like 2.2,5.3,7.5, got '" + b + "'");
            }
        }
        int seeds = a.integer("seeds", 3);
        int rankEpochs = a.integer("rank-epochs", 4);
        int rankBatches = a.integer("rank-batches", 20);
        double topFraction = a.real("top-fraction", 0.1);
        int pretrainEpochs = a.integer("pretrain-epochs", 10);
        int pretrainPerClass = a.integer("pretrain-per-class", 1500);
        if (a.has("train-per-class") || a.has("test-per-class")) {
            throw new UsageException("the study samples its subsets per task: use --train-size N and --test-size N");
        }
        int trainSize = a.integer("train-size", DEFAULT_TRAIN_SIZE);
        int testSize = a.integer("test-size", DEFAULT_TEST_SIZE);
        String givenOut = a.string("out", null);
        boolean fresh = a.flag("fresh");
        Shard shard;
        try {
            shard = a.has("shard") ? Shard.parse(a.string("shard", null)) : Shard.ALL;
        } catch (IllegalArgumentException e) {
            throw new UsageException("--shard: " + e.getMessage());
        }
        if (!shard.isAll() && fresh) {
            throw new UsageException("--fresh with --shard would have each shard retrain the shared rankings; run --fresh alone");
        }
        if (a.has("seed")) {
            throw new UsageException("the study runs seeds 0 .. N-1: use --seeds N instead of --seed");
        }
        boolean learningRateAuto = !a.has("lr") || "auto".equals(a.string("lr", null));
        TrainingOptions opts = TrainingOptions.parse(a, DEFAULTS, true);
        a.finish();
        Path outDir = givenOut != null ? Path.of(givenOut) : opts.workDir().resolve("report");
        TrainConfig cfg = opts.config();
        if (cfg.momentum() != 0 || cfg.weightDecay() != 0) {
            throw new UsageException("the study fine-tunes with plain SGD as the paper does: --momentum and --weight-decay must be 0");
        }
        for (String s : strategies) {
            try {
                Strategies.byName(s);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        if (pretrainEpochs < 2) {
            throw new UsageException("--pretrain-epochs must be >= 2, got " + pretrainEpochs);
        }
        StudySettings settings;
        try {
            settings = new StudySettings(opts.model(), opts.width(), opts.resolution(), source, targets, strategies, budgets, seeds,
                    cfg.epochs(), cfg.batchSize(), cfg.learningRate(), cfg.warmupEpochs(), trainSize, testSize,
                    cfg.maxBatchesPerEpoch(), rankEpochs, rankBatches, topFraction, learningRateAuto);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        opts.architecture(1); // an unknown model is a usage error before anything is loaded
        String command = canonical(settings, weights, pretrainEpochs, pretrainPerClass, outDir, opts);

        try (Backend backend = opts.openBackend()) {
            out.println("backend: " + backend.deviceDescription());
            Map<String, Task> tasks = new LinkedHashMap<>();
            tasks.put(source, opts.task(source, out));
            for (String t : targets) {
                if (!tasks.containsKey(t)) {
                    tasks.put(t, opts.task(t, out));
                }
            }
            Progress progress = Progress.forConsole(out);
            Workspace ws = new Workspace(opts, new Experiment(backend, out, progress), progress, out);
            Path base;
            Map<String, Object> baseInfo = new LinkedHashMap<>();
            if (weights != null) {
                base = Path.of(weights);
                if (!Files.exists(base)) {
                    throw new java.nio.file.NoSuchFileException(weights);
                }
                baseInfo.put("file", weights);
                if (Files.exists(base.resolveSibling(base.getFileName().toString().replace(".safetensors", ".report.json")))) {
                    baseInfo.putAll(pretrainSummary(base));   // a base pretrained by trady4j, reused
                }
            } else {
                base = ws.basePath(source);
                if (!Files.exists(base)) {
                    TrainConfig pre = TrainConfig.defaults().withEpochs(pretrainEpochs).withBatchSize(PRETRAIN_BATCH)
                            .withLearningRate(0.05).withWarmupEpochs(1).withMomentum(0.9);
                    ws.pretrain(source, pre, pretrainPerClass, base, backend.deviceDescription(), false);
                } else {
                    out.println("base model: " + base + " (cached; delete it to pretrain again)");
                }
                baseInfo.put("file", base.toString());
                baseInfo.putAll(pretrainSummary(base));
                Object top1 = baseInfo.get("source_top1");
                double chance = 1.0 / tasks.get(source).numClasses();
                if (top1 instanceof Number n && n.doubleValue() < chance + 0.1) {
                    String warning = String.format(Locale.ROOT, "the base model reaches only %.1f%% top-1 on %s (chance: %.1f%%): "
                            + "pretraining failed or was too short; delete %s to pretrain again", 100 * n.doubleValue(), source,
                            100 * chance, base);
                    out.println("WARNING: " + warning);
                    baseInfo.put("warning", warning);
                }
            }
            Study study = new Study(backend, settings, tasks, base, opts.workDir().resolve("cache"), out, fresh);
            Architecture arch = study.architecture(1);
            long fullUnits = CostModel.of(arch, opts.resolution()).totalUnits();
            Map<Double, Long> units = new LinkedHashMap<>();
            for (double b : budgets) {
                units.put(b, study.budgetUnits(b));
            }
            out.printf(Locale.ROOT, "study: %d targets x %d seeds x (%d budgets x budgeted strategies + the others); full fine-tuning = %,d units%n",
                    targets.size(), seeds, budgets.size(), fullUnits);
            Study.Result result = study.run(shard);
            if (!shard.isAll()) {
                out.printf(Locale.ROOT, "shard %d/%d done in %s (%d runs trained, %d cached); once every shard is done, `trady4j study`"
                                + " with the same options and no --shard collects the runs from the cache and writes the report%n",
                        shard.index(), shard.count(), Progress.duration((System.nanoTime() - start) / 1e9), result.runsTrained(),
                        result.runsCached());
                return 0;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            StudyReport.Context ctx = new StudyReport.Context(command, machine(backend), baseInfo, started, seconds);
            List<Path> files = new StudyReport(settings, result, ctx, units, fullUnits).write(outDir);
            out.printf(Locale.ROOT, "study done in %s; wrote:%n", Progress.duration(seconds));
            files.forEach(p -> out.println("  " + p));
        }
        return 0;
    }

    private static List<String> list(String text, String option) {
        List<String> out = new ArrayList<>();
        for (String s : text.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        if (out.isEmpty()) {
            throw new UsageException(option + " must not be empty");
        }
        return out;
    }

    /** The command with every setting spelled out, for the report. */
    private static String canonical(StudySettings s, String weights, int pretrainEpochs, int pretrainPerClass, Path out,
                                    TrainingOptions o) {
        List<String> w = new ArrayList<>(List.of("./scripts/trady4j", "study", "--model", s.model()));
        if (s.width() != 1.0) {
            w.addAll(List.of("--width", String.valueOf(s.width())));
        }
        w.addAll(List.of("--resolution", String.valueOf(s.resolution()), "--source", s.source(), "--targets",
                String.join(",", s.targets())));
        if (weights != null) {
            w.addAll(List.of("--weights", weights));
        } else {
            w.addAll(List.of("--pretrain-epochs", String.valueOf(pretrainEpochs), "--pretrain-per-class", String.valueOf(pretrainPerClass)));
        }
        w.addAll(List.of("--strategies", String.join(",", s.strategies()), "--budgets",
                String.join(",", s.budgetPercents().stream().map(StudyCommand::num).toList()), "--seeds", String.valueOf(s.seeds()),
                "--epochs", String.valueOf(s.epochs()), "--warmup", String.valueOf(s.warmupEpochs()),
                "--lr", s.learningRateAuto() ? "auto" : num(s.learningRate()),
                "--batch-size", String.valueOf(s.batchSize()), "--train-size", String.valueOf(s.trainSize()),
                "--test-size", String.valueOf(s.testSize())));
        if (s.maxBatchesPerEpoch() > 0) {
            w.addAll(List.of("--max-batches", String.valueOf(s.maxBatchesPerEpoch())));
        }
        w.addAll(List.of("--rank-epochs", String.valueOf(s.rankEpochs()), "--rank-batches", String.valueOf(s.rankBatches()),
                "--top-fraction", num(s.topFraction()), "--backend", o.backend(), "--work-dir", o.workDir().toString(),
                "--out", out.toString()));
        return String.join(" ", w);
    }

    private static String num(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    /** The pretraining report next to a base model, if any: its final top-1 on the source test subset. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> pretrainSummary(Path base) {
        Map<String, Object> m = new LinkedHashMap<>();
        Path report = base.resolveSibling(base.getFileName().toString().replace(".safetensors", ".report.json"));
        try {
            Map<String, Object> r = (Map<String, Object>) Json.parse(Files.readString(report));
            Map<String, Object> s = (Map<String, Object>) r.get("summary");
            m.put("source_top1", s.get("final_test_top1"));
            m.put("pretrain_epochs", r.get("epochs") instanceof List<?> l ? l.size() : null);
            List<Object> epochs = (List<Object>) r.get("epochs");
            m.put("pretrain_images_per_epoch", ((Map<String, Object>) epochs.getFirst()).get("images"));
            m.put("pretrain_seconds", s.get("seconds"));
        } catch (IOException | RuntimeException e) {
            m.put("source_top1", null);
        }
        return m;
    }

    private static Map<String, Object> machine(Backend backend) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", firstMatch(Path.of("/proc/cpuinfo"), "model name"));
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        String mem = firstMatch(Path.of("/proc/meminfo"), "MemTotal");
        if (mem != null) {
            try {
                long kb = Long.parseLong(mem.replaceAll("[^0-9]", ""));
                mem = String.format(Locale.ROOT, "%.0f GiB RAM", kb / 1048576.0);
            } catch (NumberFormatException e) {
                // keep the raw text
            }
        }
        m.put("memory", mem);
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.version"));
        m.put("backend", backend.deviceDescription());
        return m;
    }

    private static String firstMatch(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    int i = line.indexOf(':');
                    return i < 0 ? line : line.substring(i + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
