package io.trady4j.study;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;

/**
 * The four analyses of the study (issue 7): (1) heavy tails of per-channel gradient norms per epoch,
 * (2) Spearman correlation of layer rankings between tasks, (3) overlap of top channels between tasks,
 * (4) accuracy per strategy and budget with paired tests of every D- variant against its S- counterpart.
 */
public final class Analyses {
    private Analyses() {
    }

    /** The D-/S- pairs of the paper (TraDy = D-TopK-Random). */
    public static final List<String[]> DYNAMIC_VS_STATIC = List.of(new String[]{"trady", "s-topk-random"},
            new String[]{"d-full-random", "s-full-random"}, new String[]{"d-det-rgn", "s-det-rgn"});
    /** Further comparisons reported for context (not D vs S). */
    public static final List<String[]> OTHER_COMPARISONS = List.of(new String[]{"trady", "su"},
            new String[]{"trady", "su-rgn-fill"},
            new String[]{"trady", "d-full-random"}, new String[]{"trady", "d-det-rgn"}, new String[]{"trady", "classifier"});

    // ------------------------------------------------------------------ (1) heavy tails

    /**
     * Tail statistics of one ranking run's epoch: Hill's α̂ on the k = ⌈fraction·n⌉ largest of the n
     * per-channel mean gradient norms pooled over all conv layers, the same on RGN, the median over layers
     * with at least 40 channels of the within-layer α̂ (k = ⌈fraction·C⌉), and the share of Σ‖dW[:, c]‖
     * held by the top fraction of channels.
     */
    public record TailRow(String label, int epoch, int n, int k, double alphaNorms, double alphaRgn, double medianLayerAlpha,
                          double topShare) {
    }

    public static List<TailRow> heavyTail(List<RankingRun> rankings, double fraction) {
        List<TailRow> rows = new ArrayList<>();
        for (RankingRun r : rankings) {
            for (int e = 0; e < r.epochRgn().size(); e++) {
                double[] norms = r.pooledNorms(e);
                int n = (int) Arrays.stream(norms).filter(v -> v > 0).count();
                int k = Math.max(1, (int) Math.ceil(fraction * n));
                double[] rgn = r.pooledRgn(e);
                List<Double> layerAlphas = new ArrayList<>();
                double[][] layers = r.epochRgn().get(e);
                for (int l = 0; l < layers.length; l++) {
                    if (layers[l].length >= 40) {
                        int kl = (int) Math.ceil(fraction * layers[l].length);
                        layerAlphas.add(Stats.hill(layers[l], kl));
                    }
                }
                double median = layerAlphas.isEmpty() ? Double.NaN : median(layerAlphas);
                rows.add(new TailRow(r.label(), e + 1, n, k, n > k ? Stats.hill(norms, k) : Double.NaN,
                        n > k ? Stats.hill(rgn, k) : Double.NaN, median, Stats.topShare(norms, fraction)));
            }
        }
        return rows;
    }

    /**
     * What Hill's α̂ gives (mean of 200 seeded draws) on n light-tailed samples with the same k: half-normal
     * |N(0,1)| and exponential, neither of which has a power-law tail (their true α is infinite: a finite α̂
     * at finite n is the estimator's bias). Values well below these point to a genuinely heavy tail.
     */
    public static double[] lightTailReference(int n, int k) {
        Random rng = new Random(12345);
        double half = 0, exp = 0;
        int reps = 200;
        double[] x = new double[n];
        for (int rep = 0; rep < reps; rep++) {
            for (int i = 0; i < n; i++) {
                x[i] = Math.abs(rng.nextGaussian());
            }
            half += Stats.hill(x, k);
            for (int i = 0; i < n; i++) {
                x[i] = -Math.log(1 - rng.nextDouble());
            }
            exp += Stats.hill(x, k);
        }
        return new double[]{half / reps, exp / reps};
    }

    /**
     * {@link #lightTailReference} for the within-layer estimate: the median over the layers with at least 40
     * channels of the half-normal and exponential references at that layer's n and k = ⌈fraction·n⌉.
     */
    public static double[] withinLayerReference(RankingRun run, double fraction) {
        List<Double> half = new ArrayList<>(), exp = new ArrayList<>();
        for (double[] layer : run.epochRgn().getFirst()) {
            if (layer.length >= 40) {
                double[] r = lightTailReference(layer.length, (int) Math.ceil(fraction * layer.length));
                half.add(r[0]);
                exp.add(r[1]);
            }
        }
        return half.isEmpty() ? new double[]{Double.NaN, Double.NaN} : new double[]{median(half), median(exp)};
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    // ------------------------------------------------------------------ (2) layer ranks

    /** Spearman's ρ between the layer scores of every pair of ranking runs. */
    public static double[][] layerSpearman(List<RankingRun> rankings) {
        int m = rankings.size();
        double[][] rho = new double[m][m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++) {
                rho[i][j] = Stats.spearman(rankings.get(i).ranking().scores(), rankings.get(j).ranking().scores());
            }
        }
        return rho;
    }

    /** Spearman's ρ between the un-reweighted layer scores Σ_c ‖dW[:, c]‖₂ of every pair of ranking runs. */
    public static double[][] rawLayerSpearman(List<RankingRun> rankings) {
        int m = rankings.size();
        double[][] rho = new double[m][m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++) {
                rho[i][j] = Stats.spearman(rankings.get(i).rawLayerScores(), rankings.get(j).rawLayerScores());
            }
        }
        return rho;
    }

    /** Spearman's ρ of every run's S_i with the architecture-only score C_i / Θspace_i (no gradients at all). */
    public static double[] architectureSpearman(List<RankingRun> rankings) {
        return rankings.stream().mapToDouble(r -> Stats.spearman(r.ranking().scores(), r.architectureOnlyScores())).toArray();
    }

    /** Jaccard index of the top-K (97%) layer sets of every pair of ranking runs. */
    public static double[][] topKJaccard(List<RankingRun> rankings) {
        int m = rankings.size();
        double[][] j = new double[m][m];
        for (int a = 0; a < m; a++) {
            for (int b = 0; b < m; b++) {
                j[a][b] = Stats.jaccard(new HashSet<>(rankings.get(a).ranking().topK(0.97)),
                        new HashSet<>(rankings.get(b).ranking().topK(0.97)));
            }
        }
        return j;
    }

    // ------------------------------------------------------------------ (3) channel overlap

    /**
     * Overlap of the channels with the highest RGN (summed over the ranking run's epochs) between two runs:
     * network-wide (top fraction of all channels) and within layers (top ⌈fraction·C⌉ of each layer with
     * C ≥ 10, averaged over layers), each with its expectation for two random sets of the same sizes, and the
     * mean within-layer Spearman ρ of channel RGN.
     */
    public record OverlapRow(String a, String b, double networkJaccard, double networkRandom, double layerJaccard,
                             double layerRandom, double layerSpearman) {
    }

    public static List<OverlapRow> channelOverlap(List<RankingRun> rankings, double fraction) {
        List<OverlapRow> rows = new ArrayList<>();
        for (int i = 0; i < rankings.size(); i++) {
            for (int j = i + 1; j < rankings.size(); j++) {
                rows.add(overlap(rankings.get(i), rankings.get(j), fraction));
            }
        }
        return rows;
    }

    static OverlapRow overlap(RankingRun a, RankingRun b, double fraction) {
        double[][] ra = a.channelRgn(), rb = b.channelRgn();
        double[] pa = flatten(ra), pb = flatten(rb);
        int n = pa.length, k = Math.max(1, (int) Math.ceil(fraction * n));
        double net = Stats.jaccard(Stats.topIndices(pa, k), Stats.topIndices(pb, k));
        double netRandom = Stats.randomJaccard(n, k);
        double lj = 0, lr = 0, ls = 0;
        int layers = 0, rhoLayers = 0;
        for (int l = 0; l < ra.length; l++) {
            int c = ra[l].length;
            if (c < 10) {
                continue;
            }
            int kl = (int) Math.ceil(fraction * c);
            lj += Stats.jaccard(Stats.topIndices(ra[l], kl), Stats.topIndices(rb[l], kl));
            lr += Stats.randomJaccard(c, kl);
            layers++;
            double rho = Stats.spearman(ra[l], rb[l]);
            if (Double.isFinite(rho)) {
                ls += rho;
                rhoLayers++;
            }
        }
        return new OverlapRow(a.label(), b.label(), net, netRandom, layers == 0 ? Double.NaN : lj / layers,
                layers == 0 ? Double.NaN : lr / layers, rhoLayers == 0 ? Double.NaN : ls / rhoLayers);
    }

    private static double[] flatten(double[][] m) {
        return Arrays.stream(m).flatMapToDouble(Arrays::stream).toArray();
    }

    // ------------------------------------------------------------------ (4) accuracy and paired tests

    /** Final top-1 over seeds of one (target, strategy, budget). Budget NaN: full and classifier. */
    public record Cell(String target, String strategy, double budgetPercent, double[] values) {
        public double mean() {
            return Stats.mean(values);
        }

        public double std() {
            return Stats.std(values);
        }
    }

    public static List<Cell> accuracy(List<GridRun> runs) {
        Map<List<Object>, List<Double>> groups = new LinkedHashMap<>();
        for (GridRun r : runs) {
            GridRun.Key k = r.key();
            groups.computeIfAbsent(List.of(k.target(), k.strategy(), k.budgetPercent()), x -> new ArrayList<>()).add(r.finalTop1());
        }
        List<Cell> cells = new ArrayList<>();
        groups.forEach((k, v) -> cells.add(new Cell((String) k.get(0), (String) k.get(1), (Double) k.get(2),
                v.stream().mapToDouble(Double::doubleValue).toArray())));
        return cells;
    }

    /** A paired comparison of strategy a against b at one budget (NaN: all budgets pooled), over targets × seeds. */
    public record PairRow(String a, String b, double budgetPercent, Stats.PairedTest test) {
    }

    public static List<PairRow> pairedTests(List<GridRun> runs, List<String[]> pairs, List<Double> budgets) {
        Map<List<Object>, Double> acc = new LinkedHashMap<>();
        Set<String> targets = new java.util.LinkedHashSet<>();
        Set<Integer> seeds = new java.util.TreeSet<>();
        for (GridRun r : runs) {
            GridRun.Key k = r.key();
            acc.put(List.of(k.target(), k.strategy(), k.budgetPercent(), k.seed()), r.finalTop1());
            targets.add(k.target());
            seeds.add(k.seed());
        }
        List<PairRow> rows = new ArrayList<>();
        for (String[] p : pairs) {
            List<Double> all = new ArrayList<>(budgets);
            if (budgets.size() > 1) {
                all.add(Double.NaN);
            }
            for (double b : all) {
                List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
                for (double bb : Double.isNaN(b) ? budgets : List.of(b)) {
                    for (String t : targets) {
                        for (int seed : seeds) {
                            Double x = acc.get(List.of(t, p[0], budgetOf(runs, p[0], bb), seed));
                            Double y = acc.get(List.of(t, p[1], budgetOf(runs, p[1], bb), seed));
                            if (x != null && y != null) {
                                xs.add(x);
                                ys.add(y);
                            }
                        }
                    }
                }
                if (!xs.isEmpty()) {
                    rows.add(new PairRow(p[0], p[1], b, Stats.paired(xs.stream().mapToDouble(Double::doubleValue).toArray(),
                            ys.stream().mapToDouble(Double::doubleValue).toArray())));
                }
            }
        }
        return rows;
    }

    /** The budget key of a strategy's runs: NaN for those without a budget, else the budget asked for. */
    private static double budgetOf(List<GridRun> runs, String strategy, double budget) {
        for (GridRun r : runs) {
            if (Objects.equals(r.key().strategy(), strategy)) {
                return Double.isNaN(r.key().budgetPercent()) ? Double.NaN : budget;
            }
        }
        return budget;
    }
}
