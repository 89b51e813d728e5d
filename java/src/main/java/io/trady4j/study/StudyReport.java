package io.trady4j.study;

import io.trady4j.io.AtomicFiles;
import io.trady4j.report.Canvas;
import io.trady4j.report.HeatMap;
import io.trady4j.report.LineChart;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Writes what a study found into a directory: {@code RESULTS.md} (the tables, best per column in bold),
 * {@code study.json} (compact JSON: settings, machine, timing, every analysis and every run's per-epoch report),
 * {@code rankings.json} (layer scores and per-channel RGN of every ranking run) and the plots (each as SVG and PNG).
 */
public final class StudyReport {
    /** Context for the header: the command line, the machine, the base model. */
    public record Context(String command, Map<String, Object> machine, Map<String, Object> base, String started,
                          double totalSeconds) {
    }

    private final StudySettings s;
    private final Study.Result result;
    private final Context ctx;
    private final Map<Double, Long> budgetUnits;
    private final long fullUnits;

    public StudyReport(StudySettings settings, Study.Result result, Context context, Map<Double, Long> budgetUnits, long fullUnits) {
        this.s = settings;
        this.result = result;
        this.ctx = context;
        this.budgetUnits = Map.copyOf(budgetUnits);
        this.fullUnits = fullUnits;
    }

    /** The files written, in order. */
    public List<Path> write(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        files.add(write(dir.resolve("RESULTS.md"), markdown()));
        AtomicFiles.writeString(dir.resolve("study.json"), io.trady4j.io.Json.write(json()) + "\n");   // compact: it is data
        files.add(dir.resolve("study.json"));
        Map<String, Object> rk = new LinkedHashMap<>();
        List<Object> list = new ArrayList<>();
        for (RankingRun r : result.rankings()) {
            list.add(r.toJson(false));
        }
        rk.put("note", "channel_rgn: per conv layer, per input channel, RGN = ||dW[:, c]||_2 / Theta_space(c) averaged over "
                + "each epoch's steps and summed over epochs (6 significant digits)");
        rk.put("rankings", list);
        Study.writeJson(dir.resolve("rankings.json"), rk);
        files.add(dir.resolve("rankings.json"));
        files.addAll(accuracyPlot().write(dir.resolve("accuracy_vs_budget")));
        files.addAll(spearmanPlot().write(dir.resolve("layer_rank_spearman")));
        files.addAll(rawSpearmanPlot().write(dir.resolve("layer_rank_spearman_raw")));
        files.addAll(layerScoresPlot().write(dir.resolve("layer_scores")));
        files.addAll(sparsityPlot().write(dir.resolve("sparsity_flops_per_epoch")));
        files.addAll(tailPlot().write(dir.resolve("heavy_tail")));
        return files;
    }

    private static Path write(Path p, String text) throws IOException {
        AtomicFiles.writeString(p, text);
        return p;
    }

    // ------------------------------------------------------------------ helpers

    private List<String> budgetedStrategies() {
        Set<String> out = new LinkedHashSet<>();
        for (GridRun r : result.runs()) {
            if (!Double.isNaN(r.key().budgetPercent())) {
                out.add(r.key().strategy());
            }
        }
        return new ArrayList<>(out);
    }

    private List<String> referenceStrategies() {
        Set<String> out = new LinkedHashSet<>();
        for (GridRun r : result.runs()) {
            if (Double.isNaN(r.key().budgetPercent())) {
                out.add(r.key().strategy());
            }
        }
        return new ArrayList<>(out);
    }

    private List<GridRun> runs(String target, String strategy, double budget) {
        return result.runs().stream().filter(r -> (target == null || r.key().target().equals(target))
                && r.key().strategy().equals(strategy)
                && (Double.isNaN(budget) ? Double.isNaN(r.key().budgetPercent()) : r.key().budgetPercent() == budget)).toList();
    }

    private String budgetHeader(double b) {
        return String.format(Locale.ROOT, "%.1f%% (%,d u)", b, budgetUnits.get(b));
    }

    private static String pct(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.1f", 100 * v) : "–";
    }

    private static String bold(String s, boolean b) {
        return b ? "**" + s + "**" : s;
    }

    private static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }

    // ------------------------------------------------------------------ markdown

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Study results\n\n");
        md.append("Generated by `trady4j study`; the discussion is in [../STUDY.md](../STUDY.md).\n\n");
        md.append("```\n").append(ctx.command()).append("\n```\n\n");
        md.append(f("Machine: %s. Started %s; this invocation took %s (rankings %s, grid %s: %d runs trained, %d reused from the "
                        + "cache). Compute recorded in the results themselves, cached or not: rankings %s, fine-tuning runs %s "
                        + "(sum of their epochs' seconds, abandoned attempts included).%n%n",
                machineLine(), ctx.started(), dur(ctx.totalSeconds()), dur(result.rankingSeconds()), dur(result.gridSeconds()),
                result.runsTrained(), result.runsCached(), dur(result.rankings().stream().mapToDouble(RankingRun::seconds).sum()),
                dur(result.runs().stream().mapToDouble(GridRun::seconds).sum() + abandonedSeconds())));
        md.append(f("Model %s at %d×%d; base model: %s. Fine-tuning: %d epochs (%d warm-up, cosine), batch %d, SGD lr %s without "
                        + "momentum, %s training and %s test images per task (random stratified subsets, the same for every run); full fine-tuning = %,d units; budgets %s; seeds 0–%d. "
                        + "Rankings: %d epochs × %d batches of full fine-tuning; trady, s-topk-random and su-rgn-fill use the source's ranking "
                        + "on every target, su the source's contribution analysis.%n%n",
                s.model(), s.resolution(), s.resolution(), baseLine(), s.epochs(), s.warmupEpochs(), s.batchSize(),
                s.learningRateAuto() ? "chosen per target and strategy on a validation split (20% of the training subset, seed 0; see Learning rates)"
                        : trim(s.learningRate()), size(s.trainSize()), size(s.testSize()), fullUnits,
                String.join(", ", s.budgetPercents().stream().map(b -> f("%.1f%% = %,d u", b, budgetUnits.get(b))).toList()),
                s.seeds() - 1, s.rankEpochs(), s.rankBatches()));
        if (ctx.base().get("warning") != null) {
            md.append("**WARNING: ").append(ctx.base().get("warning")).append(".**\n\n");
        }
        divergedList(md);
        learningRateTable(md);
        accuracyTables(md);
        pairedTable(md);
        costTable(md);
        rankTables(md);
        overlapTable(md);
        tailTable(md);
        return md.toString();
    }

    /**
     * Runs stopped as diverged stay in every table and test with their last epoch's top-1 (a strategy that diverges
     * at its learning rate has failed there; leaving it out would flatter it), and are listed here.
     */
    private void divergedList(StringBuilder md) {
        List<GridRun> flagged = result.runs().stream().filter(r -> r.diverged() != null).toList();
        md.append(f("Runs stopped as diverged: %d of %d (kept in every table and test with their last epoch's top-1).%n%n",
                flagged.size(), result.runs().size()));
        for (GridRun r : flagged) {
            md.append(f("- %s, %s, budget %s, seed %d: %s%n", r.key().target(), r.key().strategy(), r.key().budgetLabel(),
                    r.key().seed(), r.diverged()));
        }
        if (!flagged.isEmpty()) {
            md.append("\n");
        }
        List<GridRun> retried = result.runs().stream().filter(r -> !r.fallbacks().isEmpty()).toList();
        md.append(f("Runs that diverged at their searched learning rate and were trained again at the grid's next smaller one: "
                + "%d of %d (the tables use the last attempt; the abandoned ones took %s).%n%n", retried.size(), result.runs().size(),
                dur(abandonedSeconds())));
        for (GridRun r : retried) {
            String attempts = String.join("; ", r.fallbacks().stream().map(a -> f("lr %s: %s", trim(GridRun.num(a.get("learning_rate"))),
                    a.get("diverged"))).toList());
            md.append(f("- %s, %s, budget %s, seed %d: %s; kept lr %s, top-1 %.2f%%%n", r.key().target(), r.key().strategy(),
                    r.key().budgetLabel(), r.key().seed(), attempts, trim(r.learningRate()), 100 * r.finalTop1()));
        }
        if (!retried.isEmpty()) {
            md.append("\n");
        }
    }

    /** Every search: the validation top-1 of each rate of the grid and the one chosen. */
    private void learningRateTable(StringBuilder md) {
        if (result.learningRates().isEmpty()) {
            return;
        }
        List<?> grid = (List<?>) result.learningRates().getFirst().search().get("grid");
        md.append("## Learning rates\n\nChosen per target and strategy by the best validation top-1 (a 20% validation split of the "
                + "training subset, seed 0, never the test split), searched at the budget shown and used at every budget and seed; "
                + "a trial that diverged scores chance.\n\n| target | strategy | searched at |");
        for (Object g : grid) {
            md.append(" lr ").append(g).append(" |");
        }
        md.append(" chosen |\n|---|---|---|").append("---|".repeat(grid.size() + 1)).append("\n");
        for (Study.LearningRateChoice c : result.learningRates()) {
            md.append(f("| %s | %s | %s |", c.target(), c.strategy(), c.budgetLabel()));
            for (Object v : (List<?>) c.search().get("validation_top1")) {
                md.append(f(" %.1f%% |", 100 * ((Number) v).doubleValue()));
            }
            md.append(" ").append(c.search().get("chosen")).append(" |\n");
        }
        md.append("\n");
    }

    private double abandonedSeconds() {
        return result.runs().stream().flatMap(r -> r.fallbacks().stream()).mapToDouble(a -> GridRun.num(a.get("seconds"))).sum();
    }

    private static String size(int n) {
        return n == 0 ? "all" : String.valueOf(n);
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private String machineLine() {
        Map<String, Object> m = ctx.machine();
        return f("%s, %s logical CPUs, %s; %s; Java %s", m.get("cpu"), m.get("cpus"), m.get("memory"), m.get("backend"), m.get("java"));
    }

    private String baseLine() {
        Map<String, Object> b = ctx.base();
        String line = String.valueOf(b.get("file"));
        if (b.get("source_top1") != null) {
            line += f(" (pretrained on %s: %.2f%% top-1 on its test subset)", s.source(), 100 * ((Number) b.get("source_top1")).doubleValue());
        }
        return line;
    }

    static String dur(double seconds) {
        long t = Math.round(seconds);
        return t >= 3600 ? f("%dh%02dm%02ds", t / 3600, t / 60 % 60, t % 60) : f("%dm%02ds", t / 60, t % 60);
    }

    private void accuracyTables(StringBuilder md) {
        md.append("## Accuracy (final-epoch top-1 %, mean ± std over seeds)\n\n");
        md.append("Best memory-constrained strategy per column in bold; full fine-tuning and the linear probe (classifier) "
                + "do not depend on the budget and are repeated in every column for reference, outside the bolding.\n\n");
        for (String target : s.targets()) {
            md.append("### ").append(target).append("\n\n| strategy |");
            for (double b : s.budgetPercents()) {
                md.append(' ').append(budgetHeader(b)).append(" |");
            }
            md.append("\n|---|").append("---:|".repeat(s.budgetPercents().size())).append('\n');
            Map<Double, Double> best = new LinkedHashMap<>();
            for (double b : s.budgetPercents()) {
                double m = Double.NEGATIVE_INFINITY;
                for (String st : budgetedStrategies()) {
                    m = Math.max(m, meanTop1(target, st, b));
                }
                best.put(b, m);
            }
            for (String st : budgetedStrategies()) {
                md.append("| ").append(st).append(" |");
                for (double b : s.budgetPercents()) {
                    double m = meanTop1(target, st, b);
                    md.append(' ').append(bold(meanStd(target, st, b), m == best.get(b))).append(" |");
                }
                md.append('\n');
            }
            for (String st : referenceStrategies()) {
                md.append("| *").append(st).append("* |");
                for (int i = 0; i < s.budgetPercents().size(); i++) {
                    md.append(" *").append(meanStd(target, st, Double.NaN)).append("* |");
                }
                md.append('\n');
            }
            md.append('\n');
        }
    }

    private double meanTop1(String target, String strategy, double budget) {
        return runs(target, strategy, budget).stream().mapToDouble(GridRun::finalTop1).average().orElse(Double.NaN);
    }

    private String meanStd(String target, String strategy, double budget) {
        double[] v = runs(target, strategy, budget).stream().mapToDouble(GridRun::finalTop1).toArray();
        if (v.length == 0) {
            return "–";
        }
        return f("%.2f ± %.2f", 100 * Stats.mean(v), 100 * Stats.std(v));
    }

    private List<Analyses.PairRow> pairs(List<String[]> which) {
        return Analyses.pairedTests(result.runs(), which, s.budgetPercents());
    }

    private void pairedTable(StringBuilder md) {
        md.append("## Dynamic vs static: paired tests over targets × seeds\n\n");
        md.append("Δ = D − S in final top-1 (percentage points). Wilcoxon: exact two-sided signed-rank test (zero differences "
                + "dropped, mid-ranks for ties); t: two-sided paired t-test. \"all\" pools the budgets (pairs from the same "
                + "target and seed at different budgets are not independent: read it as a summary). Smallest p per column in bold.\n\n");
        pairRows(md, pairs(Analyses.DYNAMIC_VS_STATIC));
        md.append("\nOther comparisons, for context (trady − other):\n\n");
        pairRows(md, pairs(Analyses.OTHER_COMPARISONS));
        md.append('\n');
    }

    private void pairRows(StringBuilder md, List<Analyses.PairRow> rows) {
        md.append("| D (a) | S (b) | budget | n | mean Δ (pp) | a wins / losses / ties | Wilcoxon W | Wilcoxon p | t | t-test p |\n");
        md.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        double minW = rows.stream().mapToDouble(r -> r.test().wilcoxonP()).min().orElse(Double.NaN);
        double minT = rows.stream().mapToDouble(r -> r.test().tP()).filter(Double::isFinite).min().orElse(Double.NaN);
        double maxD = rows.stream().mapToDouble(r -> r.test().meanDifference()).max().orElse(Double.NaN);
        for (Analyses.PairRow r : rows) {
            Stats.PairedTest t = r.test();
            md.append(f("| %s | %s | %s | %d | %s | %d / %d / %d | %.1f | %s | %s | %s |%n", r.a(), r.b(),
                    Double.isNaN(r.budgetPercent()) ? "all" : f("%.1f%%", r.budgetPercent()), t.n(),
                    bold(f("%+.2f", 100 * t.meanDifference()), t.meanDifference() == maxD), t.wins(), t.losses(), t.ties(),
                    t.wilcoxonW(), bold(f("%.3f", t.wilcoxonP()), t.wilcoxonP() == minW), f("%.2f", t.t()),
                    bold(Double.isFinite(t.tP()) ? f("%.3f", t.tP()) : "–", t.tP() == minT)));
        }
    }

    private void costTable(StringBuilder md) {
        md.append("## Memory and compute (mean over targets, seeds and epochs)\n\n");
        md.append("Sparsities and dW FLOPs saved are the paper's figures against full fine-tuning of every conv layer "
                + "(TRADY.md §2); \"path saved\" is what the paper leaves out: the FLOPs of the activation-gradient path from "
                + "the loss down to the deepest trained layer, saved against full fine-tuning. Cache KiB: measured peak bytes of "
                + "cached activations per step for the whole batch (classifier input included). Best per column within each budget in bold.\n\n");
        md.append("| budget | strategy | units used | act. sparsity % | w.-deriv. sparsity % | dW FLOPs saved % | path FLOPs saved % | trained layers | cache KiB |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        List<ToDoubleFunction<GridRun>> metrics = List.of(
                r -> r.meanOverEpochs("selected_units"),
                r -> r.meanOverEpochs("activation_sparsity"),
                r -> r.meanOverEpochs("weight_derivative_sparsity"),
                r -> r.meanOverEpochs("dw_flops_saved"),
                r -> Stats.mean(r.gradientPathSaved()),
                r -> r.meanOverEpochs("trained_layers"),
                r -> r.meanPeakBytes("activation_cache") / 1024);
        boolean[] higherBetter = {false, true, true, true, true, false, false};
        List<Double> blocks = new ArrayList<>(s.budgetPercents());
        blocks.add(Double.NaN);
        for (double b : blocks) {
            List<String> strategies = Double.isNaN(b) ? referenceStrategies() : budgetedStrategies();
            double[][] values = new double[strategies.size()][metrics.size()];
            for (int i = 0; i < strategies.size(); i++) {
                List<GridRun> rs = runs(null, strategies.get(i), b);
                for (int m = 0; m < metrics.size(); m++) {
                    values[i][m] = rs.stream().mapToDouble(metrics.get(m)).average().orElse(Double.NaN);
                }
            }
            for (int i = 0; i < strategies.size(); i++) {
                md.append("| ").append(Double.isNaN(b) ? "–" : f("%.1f%%", b)).append(" | ").append(strategies.get(i)).append(" |");
                for (int m = 0; m < metrics.size(); m++) {
                    boolean best = !Double.isNaN(b) && strategies.size() > 1 && isBest(values, i, m, higherBetter[m]);
                    String v = m == 0 ? f("%,.0f", values[i][m]) : m <= 4 ? pct(values[i][m]) : m == 5 ? f("%.1f", values[i][m])
                            : f("%,.1f", values[i][m]);
                    md.append(' ').append(bold(v, best)).append(" |");
                }
                md.append('\n');
            }
        }
        md.append('\n');
    }

    private static boolean isBest(double[][] v, int row, int col, boolean higher) {
        for (double[] r : v) {
            if (higher ? r[col] > v[row][col] + 1e-12 : r[col] < v[row][col] - 1e-12) {
                return false;
            }
        }
        return true;
    }

    private void rankTables(StringBuilder md) {
        List<RankingRun> rk = result.rankings();
        md.append("## Layer rankings across tasks\n\n");
        md.append("Spearman's ρ between the layer scores S_i = Σ_c RGN(c) of the ranking runs (52 values each for "
                + "MobileNetV2); the source seed-1 run is a replicate of the source run that measures how much a ranking "
                + "moves by chance alone. Highest off-diagonal ρ per column in bold.\n\n");
        matrixTable(md, Analyses.layerSpearman(rk), "%.3f");
        md.append("\nTop-K layers (97% of the score): ");
        md.append(String.join("; ", rk.stream().map(r -> f("%s K = %d", r.label(), r.ranking().topK(0.97).size())).toList()));
        md.append(". Jaccard index of the top-K sets:\n\n");
        matrixTable(md, Analyses.topKJaccard(rk), "%.2f");
        md.append("\nControl: RGN divides each channel's gradient norm by Θspace, a per-layer constant set by the architecture "
                + "and the resolution, which spans orders of magnitude across layers. Spearman's ρ of each run's S_i with the "
                + "architecture-only score C_i / Θspace_i (what S_i would be if every channel's gradient norm were 1): ");
        double[] arch = Analyses.architectureSpearman(rk);
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < rk.size(); i++) {
            parts.add(f("%s %.3f", rk.get(i).label(), arch[i]));
        }
        md.append(String.join("; ", parts)).append(". And ρ between the un-reweighted scores Σ_c ‖dW[:, c]‖₂ "
                + "(the gradients alone):\n\n");
        matrixTable(md, Analyses.rawLayerSpearman(rk), "%.3f");
        md.append('\n');
    }

    private void matrixTable(StringBuilder md, double[][] m, String fmt) {
        List<RankingRun> rk = result.rankings();
        md.append("| |");
        for (RankingRun r : rk) {
            md.append(' ').append(r.label()).append(" |");
        }
        md.append("\n|---|").append("---:|".repeat(rk.size())).append('\n');
        for (int i = 0; i < rk.size(); i++) {
            md.append("| ").append(rk.get(i).label()).append(" |");
            for (int j = 0; j < rk.size(); j++) {
                boolean best = i != j;
                for (int k = 0; k < rk.size(); k++) {
                    if (k != j && m[k][j] > m[i][j] + 1e-12) {
                        best = false;
                    }
                }
                md.append(' ').append(i == j ? "–" : bold(f(fmt, m[i][j]), best)).append(" |");
            }
            md.append('\n');
        }
    }

    private void overlapTable(StringBuilder md) {
        md.append("## Top channels across tasks\n\n");
        md.append(f("Channels ranked by RGN summed over the ranking run's epochs. Network-wide: Jaccard index of the top %.0f%% "
                + "of all channels; within layers: the top ⌈%.0f%%·C⌉ channels of each layer with C ≥ 10, averaged over "
                + "layers; \"random\" is the expected Jaccard index of random sets of the same sizes. Highest per column in bold.%n%n",
                100 * s.topFraction(), 100 * s.topFraction()));
        List<Analyses.OverlapRow> rows = Analyses.channelOverlap(result.rankings(), s.topFraction());
        md.append("| run a | run b | network-wide Jaccard | (random) | within-layer Jaccard | (random) | within-layer Spearman ρ |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|\n");
        double bn = rows.stream().mapToDouble(Analyses.OverlapRow::networkJaccard).max().orElse(0);
        double bl = rows.stream().mapToDouble(Analyses.OverlapRow::layerJaccard).max().orElse(0);
        double bs = rows.stream().mapToDouble(Analyses.OverlapRow::layerSpearman).max().orElse(0);
        for (Analyses.OverlapRow r : rows) {
            md.append(f("| %s | %s | %s | %.3f | %s | %.3f | %s |%n", r.a(), r.b(), bold(f("%.3f", r.networkJaccard()), r.networkJaccard() == bn),
                    r.networkRandom(), bold(f("%.3f", r.layerJaccard()), r.layerJaccard() == bl), r.layerRandom(),
                    bold(f("%.3f", r.layerSpearman()), r.layerSpearman() == bs)));
        }
        md.append('\n');
    }

    private void tailTable(StringBuilder md) {
        List<Analyses.TailRow> rows = Analyses.heavyTail(result.rankings(), s.topFraction());
        md.append("## Heavy tails of per-channel gradient norms\n\n");
        Analyses.TailRow first = rows.getFirst();
        double[] ref = Analyses.lightTailReference(first.n(), first.k());
        double[] layerRef = Analyses.withinLayerReference(result.rankings().getFirst(), s.topFraction());
        md.append(f("Estimator: Hill's α̂ = k / Σ_{i≤k} ln(X_(i)/X_(k+1)) on the k = ⌈%.0f%%·n⌉ largest of the n per-channel "
                        + "mean gradient norms ‖dW[:, c]‖₂ of an epoch (mean over the epoch's steps of full fine-tuning), pooled over "
                        + "all conv layers; also on RGN (norm / Θspace), and the median over layers with ≥ 40 channels of the "
                        + "within-layer α̂. α < 2: infinite variance (heavy tail). For scale, the same estimator on %d light-tailed "
                        + "samples with k = %d gives α̂ ≈ %.2f (half-normal) and %.2f (exponential); at the layers' own sizes the "
                        + "median references are %.2f and %.2f. Neither reference distribution has a power-law tail: a finite α̂ on "
                        + "them is the estimator's bias at this n and k. Top share: the part of "
                        + "Σ‖dW[:, c]‖ held by the top %.0f%% of channels (%.0f%% for equal norms). Lowest α̂ per column in bold.%n%n",
                100 * s.topFraction(), first.n(), first.k(), ref[0], ref[1], layerRef[0], layerRef[1], 100 * s.topFraction(),
                100 * s.topFraction()));
        md.append("| ranking run | epoch | n | k | α̂ (norms, pooled) | α̂ (RGN, pooled) | median within-layer α̂ | top share % |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        double ba = rows.stream().mapToDouble(Analyses.TailRow::alphaNorms).min().orElse(0);
        double br = rows.stream().mapToDouble(Analyses.TailRow::alphaRgn).min().orElse(0);
        double bm = rows.stream().mapToDouble(Analyses.TailRow::medianLayerAlpha).filter(Double::isFinite).min().orElse(0);
        for (Analyses.TailRow r : rows) {
            md.append(f("| %s | %d | %d | %d | %s | %s | %s | %s |%n", r.label(), r.epoch(), r.n(), r.k(),
                    bold(f("%.2f", r.alphaNorms()), r.alphaNorms() == ba), bold(f("%.2f", r.alphaRgn()), r.alphaRgn() == br),
                    bold(f("%.2f", r.medianLayerAlpha()), r.medianLayerAlpha() == bm), pct(r.topShare())));
        }
        md.append('\n');
    }

    // ------------------------------------------------------------------ json

    Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("command", ctx.command());
        m.put("machine", ctx.machine());
        m.put("started", ctx.started());
        m.put("seconds", ctx.totalSeconds());
        m.put("ranking_seconds", result.rankingSeconds());
        m.put("grid_seconds", result.gridSeconds());
        m.put("runs_trained", result.runsTrained());
        m.put("runs_cached", result.runsCached());
        m.put("ranking_compute_seconds", result.rankings().stream().mapToDouble(RankingRun::seconds).sum());
        m.put("run_compute_seconds", result.runs().stream().mapToDouble(GridRun::seconds).sum());
        m.put("settings", s.toJson());
        m.put("base", ctx.base());
        m.put("full_finetuning_units", fullUnits);
        Map<String, Object> bu = new LinkedHashMap<>();
        for (double b : s.budgetPercents()) {
            bu.put(f("%.1f", b), budgetUnits.get(b));
        }
        m.put("budget_units", bu);

        Map<String, Object> an = new LinkedHashMap<>();
        List<Object> acc = new ArrayList<>();
        for (Analyses.Cell c : Analyses.accuracy(result.runs())) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("target", c.target());
            x.put("strategy", c.strategy());
            x.put("budget_percent", Double.isNaN(c.budgetPercent()) ? null : c.budgetPercent());
            x.put("top1_by_seed", c.values());
            x.put("mean", c.mean());
            x.put("std", c.std());
            acc.add(x);
        }
        an.put("accuracy", acc);
        List<Object> tests = new ArrayList<>();
        List<Analyses.PairRow> all = new ArrayList<>(pairs(Analyses.DYNAMIC_VS_STATIC));
        all.addAll(pairs(Analyses.OTHER_COMPARISONS));
        for (Analyses.PairRow r : all) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("a", r.a());
            x.put("b", r.b());
            x.put("budget_percent", Double.isNaN(r.budgetPercent()) ? "all" : r.budgetPercent());
            x.put("n", r.test().n());
            x.put("mean_difference", r.test().meanDifference());
            x.put("wins", r.test().wins());
            x.put("losses", r.test().losses());
            x.put("ties", r.test().ties());
            x.put("wilcoxon_w", r.test().wilcoxonW());
            x.put("wilcoxon_p_exact_two_sided", r.test().wilcoxonP());
            x.put("t", r.test().t());
            x.put("t_test_p_two_sided", r.test().tP());
            tests.add(x);
        }
        an.put("paired_tests", tests);
        List<String> labels = result.rankings().stream().map(RankingRun::label).toList();
        an.put("ranking_runs", labels);
        an.put("layer_rank_spearman", Arrays.asList((Object[]) Analyses.layerSpearman(result.rankings())));
        an.put("top_k_jaccard", Arrays.asList((Object[]) Analyses.topKJaccard(result.rankings())));
        an.put("layer_rank_spearman_unreweighted", Arrays.asList((Object[]) Analyses.rawLayerSpearman(result.rankings())));
        an.put("spearman_with_architecture_only_score", Analyses.architectureSpearman(result.rankings()));
        List<Object> ov = new ArrayList<>();
        for (Analyses.OverlapRow r : Analyses.channelOverlap(result.rankings(), s.topFraction())) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("a", r.a());
            x.put("b", r.b());
            x.put("network_jaccard", r.networkJaccard());
            x.put("network_jaccard_random", r.networkRandom());
            x.put("within_layer_jaccard", r.layerJaccard());
            x.put("within_layer_jaccard_random", r.layerRandom());
            x.put("within_layer_spearman", r.layerSpearman());
            ov.add(x);
        }
        an.put("channel_overlap", ov);
        List<Object> tails = new ArrayList<>();
        for (Analyses.TailRow r : Analyses.heavyTail(result.rankings(), s.topFraction())) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("ranking_run", r.label());
            x.put("epoch", r.epoch());
            x.put("n", r.n());
            x.put("k", r.k());
            x.put("hill_alpha_norms", r.alphaNorms());
            x.put("hill_alpha_rgn", r.alphaRgn());
            x.put("median_within_layer_hill_alpha", r.medianLayerAlpha());
            x.put("top_share", r.topShare());
            tails.add(x);
        }
        an.put("heavy_tail", tails);
        m.put("analyses", an);
        List<Object> rankings = new ArrayList<>();
        for (RankingRun r : result.rankings()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("label", r.label());
            x.put("task", r.task());
            x.put("seed", r.seed());
            x.put("seconds", r.seconds());
            x.put("layer_names", r.layerNames());
            x.put("layer_scores", r.ranking().scores());
            x.put("top_k_97", r.ranking().topK(0.97));
            rankings.add(x);
        }
        m.put("rankings", rankings);
        List<Object> searches = new ArrayList<>();
        for (Study.LearningRateChoice c : result.learningRates()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("target", c.target());
            x.put("strategy", c.strategy());
            x.put("searched_at", c.budgetLabel());
            x.putAll(c.search());
            searches.add(x);
        }
        m.put("learning_rate_searches", searches);
        m.put("layer_names", result.rankings().getFirst().layerNames());
        List<Object> runs = new ArrayList<>();
        for (GridRun r : result.runs()) {
            runs.add(compact(r, result.rankings().getFirst().layerNames()));
        }
        m.put("runs", runs);
        return m;
    }

    /**
     * A run for study.json: its key, its settings once, and per epoch the report's figures with the channels
     * selected per layer as one count per conv layer (in {@code layer_names} order).
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> compact(GridRun r, List<String> layerNames) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("target", r.key().target());
        m.put("strategy", r.key().strategy());
        m.put("budget_percent", Double.isNaN(r.key().budgetPercent()) ? null : r.key().budgetPercent());
        m.put("seed", r.key().seed());
        m.put("diverged", r.diverged());
        m.put("learning_rate_fallbacks", r.fallbacks());
        m.put("settings", r.settings());
        m.put("full_finetuning_units", r.report().get("full_finetuning_units"));
        m.put("classifier_units", r.report().get("classifier_units"));
        m.put("summary", r.report().get("summary"));
        List<Object> epochs = new ArrayList<>();
        for (Map<String, Object> e : r.epochs()) {
            Map<String, Object> x = new LinkedHashMap<>(e);
            Map<String, Object> counts = (Map<String, Object>) x.remove("selected_channels_per_layer");
            List<Object> byLayer = new ArrayList<>();
            for (String name : layerNames) {
                Object c = counts == null ? null : counts.get(name);
                byLayer.add(c == null ? 0 : c);
            }
            x.put("selected_channels_by_layer", byLayer);
            epochs.add(x);
        }
        m.put("epochs", epochs);
        return m;
    }

    // ------------------------------------------------------------------ plots

    Canvas accuracyPlot() {
        List<LineChart.Panel> panels = new ArrayList<>();
        double[] xs = s.budgetPercents().stream().mapToDouble(Double::doubleValue).toArray();
        for (String target : s.targets()) {
            List<LineChart.Series> series = new ArrayList<>();
            List<LineChart.Reference> references = new ArrayList<>();
            for (String st : budgetedStrategies()) {
                double[] y = new double[xs.length], e = new double[xs.length];
                for (int i = 0; i < xs.length; i++) {
                    double[] v = runs(target, st, xs[i]).stream().mapToDouble(GridRun::finalTop1).toArray();
                    y[i] = 100 * Stats.mean(v);
                    e[i] = 100 * Stats.std(v);
                }
                series.add(new LineChart.Series(st, xs, y, e));
            }
            for (String st : referenceStrategies()) {
                double[] v = runs(target, st, Double.NaN).stream().mapToDouble(GridRun::finalTop1).toArray();
                references.add(new LineChart.Reference(st + " (no budget)", 100 * Stats.mean(v)));
            }
            panels.add(new LineChart.Panel(target, "budget (% of full fine-tuning units)", "final top-1 (%)", series, references));
        }
        return LineChart.render(f("Accuracy vs memory budget (%s, mean ± std over %d seeds)", s.model(), s.seeds()), panels);
    }

    Canvas spearmanPlot() {
        List<String> labels = result.rankings().stream().map(RankingRun::label).toList();
        double[][] rho = Analyses.layerSpearman(result.rankings());
        double lo = Math.min(0, Arrays.stream(rho).flatMapToDouble(Arrays::stream).filter(Double::isFinite).min().orElse(0));
        return HeatMap.render("Layer-rank Spearman ρ between tasks", labels, labels, rho, lo, 1, "%.2f");
    }

    Canvas rawSpearmanPlot() {
        List<String> labels = result.rankings().stream().map(RankingRun::label).toList();
        double[][] rho = Analyses.rawLayerSpearman(result.rankings());
        double lo = Math.min(0, Arrays.stream(rho).flatMapToDouble(Arrays::stream).filter(Double::isFinite).min().orElse(0));
        return HeatMap.render("Spearman ρ of un-reweighted layer scores Σ‖dW[:, c]‖", labels, labels, rho, lo, 1, "%.2f");
    }

    Canvas layerScoresPlot() {
        List<LineChart.Series> series = new ArrayList<>();
        for (RankingRun r : result.rankings()) {
            double[] sc = r.ranking().scores();
            double total = Arrays.stream(sc).sum();
            double[] x = new double[sc.length], y = new double[sc.length];
            for (int i = 0; i < sc.length; i++) {
                x[i] = i;
                y[i] = 100 * sc[i] / total;
            }
            series.add(new LineChart.Series(r.label(), x, y, null, false, true));
        }
        return LineChart.render("Layer score profiles (share of Σ S_i per conv layer)",
                List.of(new LineChart.Panel("layer score share", "conv layer index (input → output)", "share of total score (%)", series),
                        new LineChart.Panel("layer score share (log scale)", "conv layer index (input → output)", "share (%)", series,
                                List.of(), false, true)));
    }

    Canvas sparsityPlot() {
        double budget = s.budgetPercents().getFirst();
        List<String> strategies = budgetedStrategies();
        String[] fields = {"activation_sparsity", "weight_derivative_sparsity", "dw_flops_saved", "path"};
        String[] titles = {"activation sparsity", "weight-derivative sparsity", "dW FLOPs saved", "activation-gradient path FLOPs saved"};
        List<LineChart.Panel> panels = new ArrayList<>();
        for (int p = 0; p < fields.length; p++) {
            List<LineChart.Series> series = new ArrayList<>();
            for (String st : strategies) {
                List<GridRun> rs = runs(null, st, budget);
                if (rs.isEmpty()) {
                    continue;
                }
                int epochs = rs.getFirst().epochs().size();
                double[] x = new double[epochs], y = new double[epochs], e = new double[epochs];
                for (int ep = 0; ep < epochs; ep++) {
                    final int epoch = ep;
                    final String field = fields[p];
                    double[] v = rs.stream().mapToDouble(r -> field.equals("path") ? r.gradientPathSaved()[epoch]
                            : r.perEpoch(field)[epoch]).toArray();
                    x[ep] = ep + 1;
                    y[ep] = 100 * Stats.mean(v);
                    e[ep] = 100 * Stats.std(v);
                }
                series.add(new LineChart.Series(st, x, y, e));
            }
            panels.add(new LineChart.Panel(titles[p], "epoch", "% vs full fine-tuning", series));
        }
        return LineChart.render(f("Per-epoch savings at the %.1f%% budget (%,d units), mean ± std over targets and seeds", budget,
                budgetUnits.get(budget)), panels);
    }

    Canvas tailPlot() {
        List<Analyses.TailRow> rows = Analyses.heavyTail(result.rankings(), s.topFraction());
        List<LineChart.Series> alpha = new ArrayList<>();
        for (RankingRun r : result.rankings()) {
            double[] x = rows.stream().filter(t -> t.label().equals(r.label())).mapToDouble(Analyses.TailRow::epoch).toArray();
            double[] y = rows.stream().filter(t -> t.label().equals(r.label())).mapToDouble(Analyses.TailRow::alphaNorms).toArray();
            alpha.add(new LineChart.Series(r.label(), x, y, null));
        }
        int epochs = result.rankings().getFirst().epochRgn().size();
        Analyses.TailRow first = rows.getFirst();
        double[] ref = Analyses.lightTailReference(first.n(), first.k());
        List<LineChart.Reference> references = List.of(new LineChart.Reference("α = 2 (infinite variance below)", 2.0),
                new LineChart.Reference("half-normal reference", ref[0]));
        List<LineChart.Series> ccdf = new ArrayList<>();
        for (RankingRun r : result.rankings()) {
            double[] v = Arrays.stream(r.pooledNorms(epochs - 1)).filter(d -> d > 0).sorted().toArray();
            int n = v.length;
            // the i-th largest norm has P(norm >= x) = i / n; keep ~200 log-spaced ranks so the file stays small
            List<Integer> ranks = new ArrayList<>();
            for (int q = 0; q <= 200; q++) {
                int i = (int) Math.round(Math.pow(n, q / 200.0));
                if (i >= 1 && i <= n && (ranks.isEmpty() || ranks.getLast() != i)) {
                    ranks.add(i);
                }
            }
            double[] x = new double[ranks.size()], y = new double[ranks.size()];
            for (int j = 0; j < ranks.size(); j++) {
                int i = ranks.get(j);
                x[j] = v[n - i];
                y[j] = (double) i / n;
            }
            ccdf.add(new LineChart.Series(r.label(), x, y, null, false, false));
        }
        return LineChart.render("Heavy tails of per-channel gradient norms ‖dW[:, c]‖₂ (full fine-tuning)", List.of(
                new LineChart.Panel(f("Hill α̂ per epoch (top %.0f%% of channels)", 100 * s.topFraction()), "epoch", "α̂", alpha,
                        references),
                new LineChart.Panel(f("CCDF at epoch %d (log-log)", epochs), "gradient norm", "P(norm ≥ x)", ccdf, List.of(), true, true)));
    }
}
