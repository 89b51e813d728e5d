package io.trady4j.study;

import io.trady4j.backend.Backend;
import io.trady4j.data.Dataset;
import io.trady4j.data.Task;
import io.trady4j.io.AtomicFiles;
import io.trady4j.io.Json;
import io.trady4j.models.ModelZoo;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.HostWeights;
import io.trady4j.train.Experiment;
import io.trady4j.train.LoaderSource;
import io.trady4j.train.Progress;
import io.trady4j.train.RunReport;
import io.trady4j.train.LearningRateSearch;
import io.trady4j.train.TrainConfig;
import io.trady4j.train.TrainingDivergedException;
import io.trady4j.trady.ContributionAnalysis;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.LayerRanking;
import io.trady4j.trady.Strategies;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The study of issue 7: ranking runs (full fine-tuning with RGN measured every step) on the source task,
 * on the source again with another seed (the noise floor of a ranking) and on every target; then the
 * grid target × seed × budget × strategy fine-tuned from one base model with the source's ranking (a
 * priori: no target data is used to choose layers); then the analyses and the report. Every ranking and
 * every run is cached as JSON in the cache directory with its settings, so an interrupted study resumes
 * where it stopped and a finished one can be re-reported without training.
 */
public final class Study {
    /** A ranking run: which task, which seed, its label in tables. */
    record RankingSpec(String label, String task, long seed) {
    }

    private final Backend backend;
    private final StudySettings s;
    private final Map<String, Task> tasks;
    private final Path baseWeights;
    private final Path cacheDir;
    private final PrintStream out;
    private final boolean fresh;
    private final String baseHash;

    /**
     * @param tasks       the loaded source and target tasks by spec
     * @param baseWeights the base model (a trady4j folded checkpoint or a PyTorch state dict as safetensors)
     * @param cacheDir    where rankings and runs are cached (resumable)
     * @param fresh       ignore cached results
     */
    public Study(Backend backend, StudySettings settings, Map<String, Task> tasks, Path baseWeights, Path cacheDir,
                 PrintStream out, boolean fresh) throws IOException {
        this.backend = backend;
        this.s = settings;
        this.tasks = Map.copyOf(tasks);
        this.baseWeights = baseWeights;
        this.cacheDir = cacheDir;
        this.out = out;
        this.fresh = fresh;
        this.baseHash = sha256(baseWeights);
        for (String t : s.targets()) {
            if (!tasks.containsKey(t)) {
                throw new IllegalArgumentException("target task " + t + " was not loaded");
            }
        }
        if (!tasks.containsKey(s.source())) {
            throw new IllegalArgumentException("source task " + s.source() + " was not loaded");
        }
        for (String name : s.strategies()) {
            Strategies.byName(name);
        }
    }

    /** What a study produced: the rankings, the grid runs, and the seconds each phase took. */
    public record Result(List<RankingRun> rankings, List<GridRun> runs, double rankingSeconds, double gridSeconds,
                         int runsTrained, int runsCached, List<LearningRateChoice> learningRates) {
    }

    /** One learning-rate search of the study: its target and strategy, the budget it ran at and its JSON record. */
    public record LearningRateChoice(String target, String strategy, String budgetLabel, Map<String, Object> search) {
    }

    private final List<LearningRateChoice> learningRates = new ArrayList<>();

    public Architecture architecture(int classes) {
        return ModelZoo.build(s.model(), classes, s.width());
    }

    List<RankingSpec> rankingSpecs() {
        List<RankingSpec> specs = new ArrayList<>();
        specs.add(new RankingSpec("source " + s.source(), s.source(), 0));
        specs.add(new RankingSpec("source " + s.source() + " (seed 1)", s.source(), 1));
        for (String t : s.targets()) {
            if (!t.equals(s.source())) {
                specs.add(new RankingSpec("target " + t, t, 0));
            }
        }
        return specs;
    }

    /** Runs (or loads from the cache) every ranking and every run of the grid. */
    public Result run() throws IOException {
        return run(Shard.ALL);
    }

    /**
     * Runs (or loads from the cache) every ranking and the shard's runs of the grid; the result holds only those
     * (a report needs {@link Shard#ALL}, which finds the other shards' runs in the cache).
     */
    public Result run(Shard shard) throws IOException {
        Experiment experiment = new Experiment(backend, new PrintStream(OutputStream.nullOutputStream()),
                Progress.quiet(new PrintStream(OutputStream.nullOutputStream())));
        long t0 = System.nanoTime();
        List<RankingRun> rankings = new ArrayList<>();
        for (RankingSpec spec : rankingSpecs()) {
            rankings.add(ranking(experiment, spec));
        }
        double rankingSeconds = (System.nanoTime() - t0) / 1e9;
        RankingRun sourceRanking = rankings.getFirst();

        ContributionAnalysis contributions = s.strategies().stream().anyMatch(n -> Strategies.byName(n).needsContributions())
                ? contributions(experiment) : null;
        List<GridRun.Key> keys = gridKeys();
        List<GridRun> runs = new ArrayList<>();
        long g0 = System.nanoTime();
        Tally tally = new Tally();
        for (int i = 0; i < keys.size(); i++) {
            GridRun.Key key = keys.get(i);
            if (!shard.owns(key, s.targets(), s.strategies())) {
                continue;
            }
            double searched = learningRate(experiment, key, sourceRanking.ranking(), contributions);
            StringBuilder how = new StringBuilder();
            LearningRateFallback.Attempt attempt = (lr, retry) -> {
                Map<String, Object> settings = runSettings(key, lr);
                if (retry > 0) {
                    settings.put("learning_rate_fallback_from", searched);
                }
                Path file = cacheDir.resolve("runs").resolve(key.slug() + (retry == 0 ? "" : "_lr" + lr) + ".json");
                GridRun run = fresh ? null : GridRun.loadIfMatching(file, settings);
                if (retry > 0) {
                    how.append(String.format(Locale.ROOT, "; diverged, again at lr %s: ", lr));
                }
                if (run == null) {
                    long r0 = System.nanoTime();
                    run = train(experiment, key, settings, sourceRanking.ranking(), contributions);
                    run.save(file);
                    tally.trainedSeconds += (System.nanoTime() - r0) / 1e9;
                    tally.trained++;
                    how.append(String.format(Locale.ROOT, retry == 0 ? "%5.1fs" : "%.1fs", run.seconds()));
                } else {
                    tally.cached++;
                    how.append("cached");
                }
                return run;
            };
            GridRun run = s.learningRateAuto() ? LearningRateFallback.run(searched, LEARNING_RATE_GRID, attempt)
                    : attempt.at(searched, 0);
            runs.add(run);
            int left = (int) keys.subList(i + 1, keys.size()).stream().filter(k -> shard.owns(k, s.targets(), s.strategies())).count();
            String eta = tally.trained == 0 ? "" : ", ETA " + Progress.duration(tally.trainedSeconds / tally.trained * left);
            out.printf(Locale.ROOT, "[%d/%d] %-14s %-14s %-7s seed %d: top-1 %6.2f%% (%s)%s%n", i + 1, keys.size(), key.target(),
                    key.strategy(), key.budgetLabel(), key.seed(), 100 * run.finalTop1(), how, eta);
        }
        double gridSeconds = (System.nanoTime() - g0) / 1e9;
        return new Result(rankings, runs, rankingSeconds, gridSeconds, tally.trained, tally.cached, List.copyOf(learningRates));
    }

    /** Grid runs trained and reused so far, and the seconds the trained ones took (for the ETA). */
    private static final class Tally {
        int trained, cached;
        double trainedSeconds;
    }

    /** Seed-major order, so an interrupted study has whole seeds done. */
    List<GridRun.Key> gridKeys() {
        List<GridRun.Key> keys = new ArrayList<>();
        for (int seed = 0; seed < s.seeds(); seed++) {
            for (String target : s.targets()) {
                for (String strategy : s.strategies()) {
                    if (Strategies.byName(strategy).ignoresBudget()) {
                        keys.add(new GridRun.Key(target, strategy, Double.NaN, seed));
                    } else {
                        for (double b : s.budgetPercents()) {
                            keys.add(new GridRun.Key(target, strategy, b, seed));
                        }
                    }
                }
            }
        }
        return keys;
    }

    /** Budget in units of a percentage of full fine-tuning at the study's resolution. */
    public long budgetUnits(double percent) {
        long total = CostModel.of(architecture(1), s.resolution()).totalUnits();
        return Math.round(total * percent / 100.0);
    }

    private Map<String, Object> runSettings(GridRun.Key key, double learningRate) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", "study");
        m.put("model", s.model());
        m.put("width", s.width());
        m.put("resolution", s.resolution());
        m.put("task", key.target());
        m.put("strategy", key.strategy());
        if (Strategies.byName(key.strategy()).updatesBiases()) {
            m.put("conv_biases_trained", true);   // absent for the others, so their cached runs still match
        }
        m.put("budget_percent", Double.isNaN(key.budgetPercent()) ? null : key.budgetPercent());
        m.put("budget_units", Double.isNaN(key.budgetPercent()) ? 0L : budgetUnits(key.budgetPercent()));
        m.put("seed", (long) key.seed());
        m.put("epochs", s.epochs());
        m.put("batch_size", s.batchSize());
        m.put("learning_rate", learningRate);
        m.put("learning_rate_auto", s.learningRateAuto());
        m.put("warmup_epochs", s.warmupEpochs());
        m.put("train_size", s.trainSize());
        m.put("test_size", s.testSize());
        m.put("max_batches_per_epoch", s.maxBatchesPerEpoch());
        m.put("ranking", rankingSettings(rankingSpecs().getFirst()));
        m.put("base_sha256", baseHash);
        return m;
    }

    private Map<String, Object> rankingSettings(RankingSpec spec) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", "study-rank");
        m.put("model", s.model());
        m.put("width", s.width());
        m.put("resolution", s.resolution());
        m.put("task", spec.task());
        m.put("seed", spec.seed());
        m.put("epochs", s.rankEpochs());
        m.put("batches_per_epoch", s.rankBatches());
        m.put("batch_size", s.batchSize());
        m.put("learning_rate", s.learningRate());
        m.put("train_size", s.trainSize());
        m.put("base_sha256", baseHash);
        return m;
    }

    private HostWeights base(Architecture arch, long seed) throws IOException {
        return HostWeights.read(arch, baseWeights, seed).withFreshClassifier(arch, seed);
    }

    /** The task's subsets (the same for every run: subset seed 0) fed in the run's seeded order and augmentation. */
    private Experiment.TaskData data(String spec, Architecture arch, long seed) {
        Task task = tasks.get(spec);
        Dataset train = Subsets.randomStratified(task.train(), s.trainSize(), 0);
        Dataset test = Subsets.randomStratified(task.test(), s.testSize(), 0);
        int r = s.resolution(), c = arch.inChannels();
        return new Experiment.TaskData(task, r,
                new LoaderSource(train, task.trainTransform(r, c), task.evalTransform(r, c), seed),
                new LoaderSource(test, task.trainTransform(r, c), task.evalTransform(r, c), seed));
    }

    private RankingRun ranking(Experiment experiment, RankingSpec spec) throws IOException {
        Map<String, Object> settings = rankingSettings(spec);
        Path file = cacheDir.resolve("rankings").resolve(GridRun.slug(spec.task()) + "_seed" + spec.seed() + ".json");
        RankingRun cached = fresh ? null : RankingRun.loadIfMatching(file, settings, spec.label());
        if (cached != null) {
            out.printf(Locale.ROOT, "ranking on %s, seed %d: cached (%s)%n", spec.task(), spec.seed(), file);
            return cached;
        }
        Task task = tasks.get(spec.task());
        Architecture arch = architecture(task.numClasses());
        CostModel cost = CostModel.of(arch, s.resolution());
        TrainConfig cfg = TrainConfig.defaults().withEpochs(s.rankEpochs()).withBatchSize(s.batchSize())
                .withLearningRate(s.learningRate()).withSeed(spec.seed()).withMaxBatchesPerEpoch(s.rankBatches());
        List<double[][]> perEpoch = new ArrayList<>();
        long t0 = System.nanoTime();
        LayerRanking r = experiment.rank(arch, base(arch, spec.seed()), data(spec.task(), arch, spec.seed()), cfg, perEpoch::add);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long[] units = cost.layers().stream().mapToLong(CostModel.LayerCost::spaceUnitsPerChannel).toArray();
        List<String> names = arch.convLayers().stream().map(ConvLayerSpec::name).toList();
        RankingRun run = new RankingRun(spec.label(), spec.task(), spec.seed(), settings, r, names, units, perEpoch, seconds);
        run.save(file);
        out.printf(Locale.ROOT, "ranking on %s, seed %d: %d epochs x %d batches of full fine-tuning, top-K = %d of %d layers (%s)%n",
                spec.task(), spec.seed(), s.rankEpochs(), s.rankBatches(), r.topK(LayerRanking.DEFAULT_MASS).size(),
                names.size(), Progress.duration(seconds));
        return run;
    }

    private Experiment.FineTune fineTune(GridRun.Key key, Map<String, Object> settings, double learningRate,
                                         LayerRanking ranking, ContributionAnalysis contributions) throws IOException {
        Task task = tasks.get(key.target());
        Architecture arch = architecture(task.numClasses());
        TrainConfig cfg = TrainConfig.defaults().withEpochs(s.epochs()).withBatchSize(s.batchSize())
                .withLearningRate(learningRate).withWarmupEpochs(s.warmupEpochs()).withSeed(key.seed())
                .withMaxBatchesPerEpoch(s.maxBatchesPerEpoch());
        long budget = Double.isNaN(key.budgetPercent()) ? 0 : budgetUnits(key.budgetPercent());
        return new Experiment.FineTune(arch, base(arch, key.seed()), data(key.target(), arch, key.seed()), cfg, key.strategy(),
                budget, ranking, contributions, null, false, settings);
    }

    /**
     * The rates a study's search tries. Plain SGD for 30 epochs on a few thousand images: the first v2 searches over
     * finetune's grid (0.02 .. 0.25) chose its top edge in 7 of 7 cases with 0.02 always last, and trady's search over
     * 0.05 .. 0.5 chose 0.5 with 0.05 last again, so the study's grid starts at 0.1 and ends at 1.0.
     */
    public static final List<Double> LEARNING_RATE_GRID = List.of(0.1, 0.25, 0.5, 1.0);

    /**
     * The run's learning rate: the study's, or (learningRateAuto) the one LearningRateSearch chose on a validation split
     * of the target's training subset for this target and strategy at seed 0 and the search budget
     * ({@link StudySettings#searchBudgetPercent()}), cached in cache/lr.
     */
    private double learningRate(Experiment experiment, GridRun.Key key, LayerRanking ranking,
                                ContributionAnalysis contributions) throws IOException {
        if (!s.learningRateAuto()) {
            return s.learningRate();
        }
        double budget = Double.isNaN(key.budgetPercent()) ? Double.NaN : s.searchBudgetPercent();
        GridRun.Key seed0 = new GridRun.Key(key.target(), key.strategy(), budget, 0);
        Map<String, Object> settings = runSettings(seed0, s.learningRate());
        settings.remove("learning_rate");
        settings.put("grid", LEARNING_RATE_GRID);
        Path file = cacheDir.resolve("lr").resolve(seed0.slug() + ".json");
        if (!fresh && Files.exists(file)) {
            try {
                Map<?, ?> m = (Map<?, ?>) Json.parse(Files.readString(file));
                if (Json.write(m.get("settings")).equals(Json.write(settings)) && m.get("search") instanceof Map<?, ?> search
                        && search.get("chosen") instanceof Number chosen) {
                    remember(seed0, search);
                    return chosen.doubleValue();
                }
            } catch (RuntimeException e) {
                // an unreadable cache entry is searched again
            }
        }
        LearningRateSearch search = LearningRateSearch.run(experiment,
                fineTune(seed0, settings, s.learningRate(), ranking, contributions), LEARNING_RATE_GRID);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("settings", settings);
        m.put("search", search.toJson());
        writeJson(file, m);
        remember(seed0, search.toJson());
        out.printf(Locale.ROOT, "learning rate for %s, %s (searched at %s, used at every budget): %s (validation top-1 %s for %s)%n",
                key.target(), key.strategy(), seed0.budgetLabel(), search.chosen(), search.validationTop1(), search.grid());
        return search.chosen();
    }

    @SuppressWarnings("unchecked")
    private void remember(GridRun.Key searched, Map<?, ?> search) {
        boolean known = learningRates.stream().anyMatch(c -> c.target().equals(searched.target())
                && c.strategy().equals(searched.strategy()));
        if (!known) {
            learningRates.add(new LearningRateChoice(searched.target(), searched.strategy(), searched.budgetLabel(),
                    (Map<String, Object>) search));
        }
    }

    /** SU's contribution analysis on a validation split of the source's training subset (a priori), cached. */
    private ContributionAnalysis contributions(Experiment experiment) throws IOException {
        Map<String, Object> settings = rankingSettings(rankingSpecs().getFirst());
        settings.put("job", "study-contributions");
        Path file = cacheDir.resolve("contributions").resolve(GridRun.slug(s.source()) + ".json");
        Path settingsFile = cacheDir.resolve("contributions").resolve(GridRun.slug(s.source()) + ".settings.json");
        if (!fresh && Files.exists(file) && Files.exists(settingsFile)
                && Files.readString(settingsFile).strip().equals(Json.writePretty(settings).strip())) {
            out.println("SU's contribution analysis: cached (" + file + ")");
            return ContributionAnalysis.load(file);
        }
        Task task = tasks.get(s.source());
        Architecture arch = architecture(task.numClasses());
        TrainConfig cfg = TrainConfig.defaults().withBatchSize(s.batchSize()).withLearningRate(s.learningRate())
                .withMaxBatchesPerEpoch(s.rankBatches());
        long t0 = System.nanoTime();
        ContributionAnalysis c = experiment.analyseContributions(arch, base(arch, 0), Experiment.validation(data(s.source(),
                arch, 0)), cfg);
        Files.createDirectories(file.getParent());
        c.save(file);
        writeJson(settingsFile, settings);
        out.printf(Locale.ROOT, "SU's contribution analysis on %s: %d layers x %d ratios (%s)%n", s.source(),
                arch.convLayers().size(), ContributionAnalysis.ratios().length, Progress.duration((System.nanoTime() - t0) / 1e9));
        return c;
    }

    private GridRun train(Experiment experiment, GridRun.Key key, Map<String, Object> settings, LayerRanking ranking,
                          ContributionAnalysis contributions) throws IOException {
        double lr = ((Number) settings.get("learning_rate")).doubleValue();
        RunReport report;
        try {
            report = experiment.finetune(fineTune(key, settings, lr, ranking, contributions));
        } catch (TrainingDivergedException e) {
            report = e.report();   // a NaN: the run's report up to its last good epoch, flagged
        }
        return GridRun.of(key, settings, report.toJson());
    }

    static String sha256(Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes a JSON value atomically (pretty-printed). */
    static void writeJson(Path path, Object value) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        AtomicFiles.writeString(path, Json.writePretty(value));
    }
}
