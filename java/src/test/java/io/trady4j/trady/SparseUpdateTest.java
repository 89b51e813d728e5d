package io.trady4j.trady;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparseUpdateTest {
    private static final int[] CHANNELS = {3, 16, 48, 8, 24};
    private static final long[] COSTS = {1024, 400, 150, 900, 60};

    private static double[][] gains(long seed) {
        Random r = new Random(seed);
        double[][] g = new double[CHANNELS.length][SparseUpdate.RATIOS.length];
        for (double[] row : g) {
            for (int i = 0; i < row.length; i++) {
                row[i] = r.nextDouble() * 0.1 - 0.02;     // some negative: those options are never taken
            }
        }
        return g;
    }

    private static long units(int layer, int ratio) {
        return SparseUpdate.channelsAt(CHANNELS[layer], SparseUpdate.RATIOS[ratio]) * COSTS[layer];
    }

    /** The best summed gain within the budget by trying every combination of ratios (5^5). */
    private static double bruteForce(double[][] g, long budget) {
        double best = 0;
        int options = SparseUpdate.RATIOS.length + 1;
        for (int code = 0; code < Math.pow(options, CHANNELS.length); code++) {
            long used = 0;
            double sum = 0;
            int c = code;
            for (int l = 0; l < CHANNELS.length; l++, c /= options) {
                int r = c % options - 1;
                if (r >= 0) {
                    used += units(l, r);
                    sum += g[l][r];
                }
            }
            if (used <= budget) {
                best = Math.max(best, sum);
            }
        }
        return best;
    }

    @Test
    void thePlanIsTheBestSummedContributionWithinTheBudget() {
        for (long seed = 0; seed < 5; seed++) {
            double[][] g = gains(seed);
            for (long budget : new long[]{500, 3000, 9000, 20000}) {
                SelectionProblem p = new SelectionProblem(CHANNELS, COSTS, budget, List.of(), 0).withContributions(g);
                int[] plan = SparseUpdate.plan(p);
                long used = 0;
                double sum = 0;
                for (int l = 0; l < plan.length; l++) {
                    if (plan[l] >= 0) {
                        assertTrue(g[l][plan[l]] > 0, "a non-positive contribution was taken");
                        used += units(l, plan[l]);
                        sum += g[l][plan[l]];
                    }
                }
                assertTrue(used <= budget, used + " > " + budget);
                // budgets below 4096 units are searched exactly; above, costs are rounded up to budget/4096 steps
                double best = bruteForce(g, budget);
                assertEquals(best, sum, budget <= 4096 ? 1e-12 : 0.02, "seed " + seed + ", budget " + budget);
            }
        }
    }

    @Test
    void suUpdatesThePlannedPrefixOfEachLayerOnceAndForAll() {
        double[][] g = new double[CHANNELS.length][SparseUpdate.RATIOS.length];
        g[2] = new double[]{0.01, 0.02, 0.05, 0.06};   // half of layer 2 (3,600 units) and all of layer 4 (1,440) fit 5,100
        g[4] = new double[]{0.001, 0.002, 0.003, 0.03};
        SelectionProblem p = new SelectionProblem(CHANNELS, COSTS, 5100, List.of(), 0).withContributions(g);
        ChannelStrategy su = Strategies.byName("su");
        Map<Integer, int[]> sel = su.select(p, 0, ChannelSignals.NONE);
        assertEquals(List.of(2, 4), List.copyOf(sel.keySet()));
        assertArrayEquals(IntStream.range(0, 24).toArray(), sel.get(2));
        assertArrayEquals(IntStream.range(0, 24).toArray(), sel.get(4));
        assertEquals(describe(sel), describe(su.select(p, 3, ChannelSignals.NONE)));
        assertEquals(List.of(2, 4), su.candidateLayers(p));
        assertTrue(!su.dynamic() && su.needsContributions() && !su.needsRanking());
    }

    @Test
    void suWithoutAContributionAnalysisSaysSo() {
        SelectionProblem p = new SelectionProblem(CHANNELS, COSTS, 5000, List.of(), 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Strategies.byName("su").checkBudget(p, "net"));
        assertTrue(e.getMessage().contains("needs a contribution analysis"), e.getMessage());
    }

    @Test
    void withoutAnyGainSuTrainsNothingButTheClassifier() {
        SelectionProblem p = new SelectionProblem(CHANNELS, COSTS, 5000, List.of(), 0)
                .withContributions(new double[CHANNELS.length][SparseUpdate.RATIOS.length]);
        ChannelStrategy su = Strategies.byName("su");
        su.checkBudget(p, "net");
        assertEquals(Map.of(), su.select(p, 0, ChannelSignals.NONE));
    }

    private static String describe(Map<Integer, int[]> sel) {
        StringBuilder b = new StringBuilder();
        sel.forEach((l, c) -> b.append(l).append(java.util.Arrays.toString(c)));
        return b.toString();
    }
}
