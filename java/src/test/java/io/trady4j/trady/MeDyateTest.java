package io.trady4j.trady;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MeDyateTest {
    private static final int[] CHANNELS = {10, 10, 10};
    private static final long[] COSTS = {100, 10, 50};

    private static ChannelSignals signals(double[][] rgn) {
        return new ChannelSignals() {
            @Override
            public double[][] reweightedGradientNorms() {
                return rgn;
            }

            @Override
            public double[][] weightNorms() {
                throw new UnsupportedOperationException();
            }
        };
    }

    private static double[][] uniform(double l0, double l1, double l2) {
        double[][] v = new double[3][10];
        for (int c = 0; c < 10; c++) {
            v[0][c] = l0;
            v[1][c] = l1;
            v[2][c] = l2;
        }
        return v;
    }

    @Test
    void laRaRanksLayersByScorePerUnitAndKFollowsTheBudget() {
        // scores 10, 5, 10; per unit of the layer (10 channels × cost): 0.01, 0.05, 0.02 → order 1, 2, 0
        double[][] rgn = uniform(1, 0.5, 1);
        assertEquals(List.of(1), MeDyate.layersForBudget(new SelectionProblem(CHANNELS, COSTS, 100, List.of(), 0), rgn));
        assertEquals(List.of(1, 2), MeDyate.layersForBudget(new SelectionProblem(CHANNELS, COSTS, 101, List.of(), 0), rgn));
        assertEquals(List.of(1, 2, 0), MeDyate.layersForBudget(new SelectionProblem(CHANNELS, COSTS, 700, List.of(), 0), rgn));
    }

    @Test
    void channelsAreSampledInProportionToTheirGradientNorm() {
        // one layer chosen (budget 50 of layer 1's 100 units): channel 0 carries 91% of the weight
        double[][] rgn = uniform(0, 0.01, 0);
        rgn[1][0] = 1.0;
        SelectionProblem p = new SelectionProblem(CHANNELS, COSTS, 10, List.of(), 4);
        ChannelStrategy m = Strategies.byName("medyate");
        int hits = 0, epochs = 400;
        for (int e = 0; e < epochs; e++) {
            Map<Integer, int[]> sel = m.select(p, e, signals(rgn));
            assertEquals(List.of(1), List.copyOf(sel.keySet()));
            assertEquals(1, sel.get(1).length);
            hits += sel.get(1)[0] == 0 ? 1 : 0;
        }
        double share = (double) hits / epochs;       // expected 1 / 1.09 = 0.917
        assertTrue(share > 0.85 && share < 0.97, "channel 0 drawn in " + share + " of the epochs");
        assertNotEquals(describe(m.select(p, 0, signals(uniform(0, 1, 0)))), describe(m.select(p, 1, signals(uniform(0, 1, 0)))),
                "redrawn every epoch");
    }

    private static String describe(Map<Integer, int[]> sel) {
        StringBuilder b = new StringBuilder();
        sel.forEach((l, c) -> b.append(l).append(java.util.Arrays.toString(c)));
        return b.toString();
    }
}
