package io.trady4j.trady;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StrategiesTest {
    private static final int[] CHANNELS = {3, 16, 48, 48, 8, 48, 24, 96};
    private static final long[] COSTS = {1024, 400, 300, 150, 900, 120, 500, 60};

    private static SelectionProblem problem(long budget, long seed) {
        double[][] gains = new double[CHANNELS.length][4];
        for (int l = 0; l < gains.length; l++) {
            for (int r = 0; r < 4; r++) {
                gains[l][r] = (l + 1) * (r + 1) / 100.0;
            }
        }
        return new SelectionProblem(CHANNELS, COSTS, budget, List.of(5, 2, 7, 3), seed).withContributions(gains);
    }

    private static final ChannelSignals SIGNALS = new ChannelSignals() {
        @Override
        public double[][] reweightedGradientNorms() {
            return values(11);
        }

        @Override
        public double[][] weightNorms() {
            return values(12);
        }

        private double[][] values(long seed) {
            Random r = new Random(seed);
            double[][] v = new double[CHANNELS.length][];
            for (int l = 0; l < v.length; l++) {
                v[l] = r.doubles(CHANNELS[l]).toArray();
            }
            return v;
        }
    };

    @Test
    void budgetIsNeverExceededAndNearlyFilled() {
        for (String name : Strategies.NAMES) {
            ChannelStrategy s = Strategies.byName(name);
            for (long budget : new long[]{60, 1000, 7777, 20000}) {
                SelectionProblem p = problem(budget, 5);
                for (int epoch = 0; epoch < 4; epoch++) {
                    Map<Integer, int[]> sel = s.select(p, epoch, SIGNALS);
                    long units = Strategies.units(p, sel);
                    for (Map.Entry<Integer, int[]> e : sel.entrySet()) {
                        int[] ch = e.getValue();
                        for (int i = 0; i < ch.length; i++) {
                            assertTrue(ch[i] >= 0 && ch[i] < CHANNELS[e.getKey()]);
                            assertTrue(i == 0 || ch[i] > ch[i - 1], "sorted and unique");
                        }
                    }
                    if (s.ignoresBudget()) {
                        continue;
                    }
                    assertTrue(units <= budget, name + " spent " + units + " of " + budget);
                    if (name.equals("su")) {
                        continue;   // discrete ratios: SU leaves what no ratio of a layer fits (SparseUpdateTest)
                    }
                    List<Integer> layers = s.candidateLayers(p);
                    long cheapest = p.cheapestChannel(layers);
                    long total = layers.stream().mapToLong(l -> COSTS[l] * CHANNELS[l]).sum();
                    assertTrue(budget - units < cheapest || units == total,
                            name + " left " + (budget - units) + " units although a channel costs " + cheapest);
                }
            }
        }
    }

    @Test
    void onlyTheSparseUpdateTrainsConvBiases() {
        for (String name : Strategies.NAMES) {
            assertEquals(name.equals("su"), Strategies.byName(name).updatesBiases(), name);
        }
    }

    @Test
    void dynamicStrategiesRedrawEveryEpochStaticOnesNever() {
        SelectionProblem p = problem(5000, 3);
        for (String name : List.of("trady", "d-full-random", "s-topk-random", "s-full-random")) {
            ChannelStrategy s = Strategies.byName(name);
            String e0 = describe(s.select(p, 0, SIGNALS));
            String e1 = describe(s.select(p, 1, SIGNALS));
            String e2 = describe(s.select(p, 2, SIGNALS));
            if (s.dynamic()) {
                assertFalse(e0.equals(e1) || e1.equals(e2), name + " kept its selection");
            } else {
                assertEquals(e0, e1, name);
                assertEquals(e1, e2, name);
            }
            assertEquals(e1, describe(Strategies.byName(name).select(p, 1, SIGNALS)), name + " is not reproducible");
        }
    }

    @Test
    void topKStrategiesStayInsideTheRankedLayers() {
        SelectionProblem p = problem(20000, 8);
        for (String name : List.of("trady", "s-topk-random", "su-rgn-fill")) {
            Map<Integer, int[]> sel = Strategies.byName(name).select(p, 2, SIGNALS);
            assertTrue(p.topLayers().containsAll(sel.keySet()), name + " selected " + sel.keySet());
        }
        SelectionProblem unranked = new SelectionProblem(CHANNELS, COSTS, 1000, List.of(), 1);
        assertThrows(IllegalArgumentException.class, () -> Strategies.byName("trady").select(unranked, 0, SIGNALS));
    }

    @Test
    void eachStrategySaysWhetherItNeedsARankingAndWhichLayersItDrawsFrom() {
        SelectionProblem p = problem(5000, 1);
        for (String name : Strategies.NAMES) {
            ChannelStrategy s = Strategies.byName(name);
            boolean ranked = List.of("trady", "s-topk-random", "su-rgn-fill").contains(name);
            assertEquals(ranked, s.needsRanking(), name);
            if (ranked) {
                assertEquals(p.topLayers(), s.candidateLayers(p), name);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> s.candidateLayers(p.withTopLayers(List.of())), name);
                assertTrue(e.getMessage().contains("needs a layer ranking"), e.getMessage());
            } else if (!s.ignoresBudget() && !s.needsContributions()) {
                assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), s.candidateLayers(p), name);
            }
        }
    }

    @Test
    void theBudgetCheckRefusesTooLittleAndTooMuchWithTheLimit() {
        ChannelStrategy trady = Strategies.byName("trady");
        // top layers 5, 2, 7, 3 cost 120, 300, 60, 150 per channel: the cheapest is 60
        IllegalArgumentException low = assertThrows(IllegalArgumentException.class, () -> trady.checkBudget(problem(59, 0), "net"));
        assertTrue(low.getMessage().contains("raise --budget to at least 60"), low.getMessage());
        trady.checkBudget(problem(60, 0), "net");
        long total = problem(0, 0).totalUnits();
        IllegalArgumentException high = assertThrows(IllegalArgumentException.class,
                () -> trady.checkBudget(problem(total + 1, 0), "net"));
        assertTrue(high.getMessage().contains("exceeds full fine-tuning of net (" + total + " units)"), high.getMessage());
        trady.checkBudget(problem(total, 0), "net");
        Strategies.byName("full").checkBudget(problem(0, 0), "net");
        Strategies.byName("classifier").checkBudget(problem(total * 2, 0), "net");
        // every layer: layer 7 at 60 units is also the cheapest of all
        IllegalArgumentException all = assertThrows(IllegalArgumentException.class,
                () -> Strategies.byName("d-full-random").checkBudget(problem(59, 0), "net"));
        assertTrue(all.getMessage().contains("so d-full-random could train nothing"), all.getMessage());
    }

    @Test
    void detRgnTakesTheHighestScoringChannelThatFits() {
        SelectionProblem p = problem(400, 1);
        double[][] rgn = SIGNALS.reweightedGradientNorms();
        int bestLayer = -1, bestChannel = -1;
        double best = -1;
        for (int l = 0; l < rgn.length; l++) {
            for (int c = 0; c < rgn[l].length; c++) {
                if (rgn[l][c] > best && COSTS[l] <= 400) {
                    best = rgn[l][c];
                    bestLayer = l;
                    bestChannel = c;
                }
            }
        }
        Map<Integer, int[]> sel = Strategies.byName("d-det-rgn").select(p, 0, SIGNALS);
        assertTrue(Arrays.binarySearch(sel.get(bestLayer), bestChannel) >= 0);
    }

    @Test
    void fullAndClassifierIgnoreTheBudget() {
        SelectionProblem p = problem(10, 1);
        Map<Integer, int[]> full = Strategies.byName("full").select(p, 0, SIGNALS);
        assertEquals(CHANNELS.length, full.size());
        assertArrayEquals(new int[]{0, 1, 2}, full.get(0));
        assertTrue(Strategies.byName("classifier").select(p, 0, SIGNALS).isEmpty());
        assertThrows(IllegalArgumentException.class, () -> Strategies.byName("nope"));
    }

    private static String describe(Map<Integer, int[]> sel) {
        StringBuilder sb = new StringBuilder();
        sel.forEach((k, v) -> sb.append(k).append(Arrays.toString(v)));
        return sb.toString();
    }
}
