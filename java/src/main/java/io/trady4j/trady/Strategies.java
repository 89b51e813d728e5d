package io.trady4j.trady;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * The strategies of TRADY.md §5 by name: trady (D-TopK-Random), s-topk-random, d-full-random,
 * s-full-random, d-det-rgn, s-det-rgn, su (Lin et al.'s sparse update, docs/CLI.md#strategies), su-rgn-fill
 * (what trady4j called su before: TraDy's ranked layers filled with their largest-norm channels), medyate
 * (MeDyate's LaRa layer order, K from the budget, channels sampled by gradient norm: docs/CLI.md#strategies), full,
 * classifier.
 */
public final class Strategies {
    /** Every strategy name {@link #byName} takes. */
    public static final List<String> NAMES = List.of("trady", "s-topk-random", "d-full-random", "s-full-random",
            "d-det-rgn", "s-det-rgn", "su", "su-rgn-fill", "medyate", "full", "classifier");

    private Strategies() {
    }

    /**
     * @param name one of {@link #NAMES}
     * @return a new strategy
     * @throws IllegalArgumentException for another name
     */
    public static ChannelStrategy byName(String name) {
        return switch (name) {
            case "trady", "d-topk-random" -> new RandomChannels("trady", true, true);
            case "s-topk-random" -> new RandomChannels("s-topk-random", false, true);
            case "d-full-random" -> new RandomChannels("d-full-random", true, false);
            case "s-full-random" -> new RandomChannels("s-full-random", false, false);
            case "d-det-rgn" -> new DeterministicRgn("d-det-rgn", true);
            case "s-det-rgn" -> new DeterministicRgn("s-det-rgn", false);
            case "su" -> new SparseUpdate();
            case "su-rgn-fill" -> new RankedWeightNormFill();
            case "medyate" -> new MeDyate();
            case "full" -> new Everything();
            case "classifier" -> new ClassifierOnly();
            default -> throw new IllegalArgumentException("unknown strategy '" + name + "' (expected one of "
                    + String.join(", ", NAMES) + ")");
        };
    }

    /** The random source of a draw: a function of (seed, epoch) only, so runs reproduce and resume exactly. */
    static Random random(long seed, int epoch) {
        long z = seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 31)) * 0x94D049BB133111EBL;
        return new Random(z ^ (z >>> 29));
    }

    /** Uniformly random channels from the top-K layers (TopK) or from all layers (Full). */
    private record RandomChannels(String name, boolean dynamic, boolean topK) implements ChannelStrategy {
        @Override
        public boolean needsRanking() {
            return topK;
        }

        @Override
        public Map<Integer, int[]> select(SelectionProblem p, int epoch, ChannelSignals signals) {
            List<BudgetFiller.Candidate> pool = new ArrayList<>(BudgetFiller.allChannels(p, candidateLayers(p)));
            Collections.shuffle(pool, random(p.seed(), dynamic ? epoch : 0));
            return BudgetFiller.fill(p, pool);
        }
    }

    /** Highest-RGN channels from a full gradient at the current weights (an oracle: needs the full gradient). */
    private record DeterministicRgn(String name, boolean dynamic) implements ChannelStrategy {
        @Override
        public Map<Integer, int[]> select(SelectionProblem p, int epoch, ChannelSignals signals) {
            double[][] rgn = signals.reweightedGradientNorms();
            List<BudgetFiller.Candidate> pool = new ArrayList<>(BudgetFiller.allChannels(p, candidateLayers(p)));
            pool.sort(Comparator.comparingDouble((BudgetFiller.Candidate c) -> -rgn[c.layer()][c.channel()])
                    .thenComparingInt(BudgetFiller.Candidate::layer).thenComparingInt(BudgetFiller.Candidate::channel));
            return BudgetFiller.fill(p, pool);
        }
    }

    /**
     * su-rgn-fill, trady4j's first reading of SU (issue 15: not Lin et al.'s): fixed layers taken in ranking
     * order (the same top-K as TraDy), in each the input channels of largest weight norm ||W[:, c]||, filled
     * layer by layer until the budget is spent; chosen once; no bias updates.
     */
    private static final class RankedWeightNormFill implements ChannelStrategy {
        @Override
        public String name() {
            return "su-rgn-fill";
        }

        @Override
        public boolean dynamic() {
            return false;
        }

        @Override
        public boolean needsRanking() {
            return true;
        }

        @Override
        public Map<Integer, int[]> select(SelectionProblem p, int epoch, ChannelSignals signals) {
            double[][] norms = signals.weightNorms();
            List<BudgetFiller.Candidate> pool = new ArrayList<>();
            for (int layer : candidateLayers(p)) {
                List<BudgetFiller.Candidate> inLayer = new ArrayList<>(BudgetFiller.allChannels(p, List.of(layer)));
                inLayer.sort(Comparator.comparingDouble((BudgetFiller.Candidate c) -> -norms[layer][c.channel()])
                        .thenComparingInt(BudgetFiller.Candidate::channel));
                pool.addAll(inLayer);
            }
            return BudgetFiller.fill(p, pool);
        }
    }

    /**
     * Every conv weight and the classifier. The conv biases (BatchNorm's shift, folded) stay frozen: trained at the
     * weights' learning rate they made the main job's full fine-tune of proxyless-w0.3 diverge (loss 1.48 -> 6.73 by
     * epoch 3, 21.13% top-1, against 83.07% without them at lr 0.05).
     */
    private static final class Everything implements ChannelStrategy {
        @Override
        public String name() {
            return "full";
        }

        @Override
        public boolean dynamic() {
            return false;
        }

        @Override
        public boolean ignoresBudget() {
            return true;
        }

        @Override
        public Map<Integer, int[]> select(SelectionProblem p, int epoch, ChannelSignals signals) {
            Map<Integer, int[]> m = new TreeMap<>();
            for (int l = 0; l < p.layers(); l++) {
                m.put(l, IntStream.range(0, p.channels()[l]).toArray());
            }
            return m;
        }
    }

    private static final class ClassifierOnly implements ChannelStrategy {
        @Override
        public String name() {
            return "classifier";
        }

        @Override
        public boolean dynamic() {
            return false;
        }

        @Override
        public boolean ignoresBudget() {
            return true;
        }

        @Override
        public Map<Integer, int[]> select(SelectionProblem p, int epoch, ChannelSignals signals) {
            return Map.of();
        }
    }

    /** Units the selection costs under the problem's per-channel costs. */
    public static long units(SelectionProblem p, Map<Integer, int[]> selection) {
        return BudgetFiller.units(p, selection);
    }
}
