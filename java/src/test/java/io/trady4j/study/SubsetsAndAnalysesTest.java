package io.trady4j.study;

import io.trady4j.data.Dataset;
import io.trady4j.data.Datasets;
import io.trady4j.data.Normalization;
import io.trady4j.trady.LayerRanking;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SubsetsAndAnalysesTest {
    /** 3 classes of 100, 50 and 10 samples, in blocks (as a font-by-font rendering would be). */
    private static Dataset blocks() {
        int[] labels = new int[160];
        for (int i = 0; i < 160; i++) {
            labels[i] = i < 100 ? 0 : i < 150 ? 1 : 2;
        }
        return new Dataset() {
            public String name() {
                return "blocks";
            }

            public int size() {
                return labels.length;
            }

            public int channels() {
                return 1;
            }

            public int height() {
                return 2;
            }

            public int width() {
                return 2;
            }

            public int numClasses() {
                return 3;
            }

            public List<String> classNames() {
                return List.of("a", "b", "c");
            }

            public int label(int i) {
                return labels[i];
            }

            public void image(int i, float[] dst, int offset) {
                dst[offset] = i;   // the sample's index, so subsets can be compared
            }

            public Normalization normalization() {
                return null;
            }
        };
    }

    @Test
    void randomStratifiedSubsetsAreBalancedSeededAndSpread() {
        Dataset d = blocks();
        Dataset s = Subsets.randomStratified(d, 60, 0);
        assertEquals(60, s.size());
        int[] counts = Datasets.classCounts(s);
        assertEquals(10, counts[2]);                   // the small class gives all it has
        assertEquals(25, counts[0]);                   // the rest is shared equally
        assertEquals(25, counts[1]);
        assertEquals(indices(s), indices(Subsets.randomStratified(d, 60, 0)));
        assertNotEquals(indices(s), indices(Subsets.randomStratified(d, 60, 1)));
        // spread over each class, not its first samples
        assertTrue(indices(s).stream().anyMatch(i -> i >= 50 && i < 100), "class 0 drawn from its first half only");
        assertEquals(d, Subsets.randomStratified(d, 0, 0));
        assertEquals(d, Subsets.randomStratified(d, 500, 0));
    }

    private static Set<Integer> indices(Dataset d) {
        Set<Integer> out = new HashSet<>();
        float[] buf = new float[4];
        for (int i = 0; i < d.size(); i++) {
            try {
                d.image(i, buf, 0);
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
            out.add((int) buf[0]);
        }
        return out;
    }

    private static RankingRun run(String label, double[][] rgn) {
        List<String> names = List.of("l0", "l1", "l2");
        long[] units = {1, 2, 4};
        double[] scores = new double[3];
        for (int l = 0; l < 3; l++) {
            for (double v : rgn[l]) {
                scores[l] += v;
            }
        }
        return new RankingRun(label, "t", 0, Map.of(), new LayerRanking("m", 8, "t", 1, names, scores), names, units,
                List.<double[][]>of(rgn), 0);
    }

    @Test
    void identicalRunsOverlapFullyAndRandomOnesNear() {
        Random rng = new Random(7);
        double[][] x = new double[3][], y = new double[3][];
        for (int l = 0; l < 3; l++) {
            x[l] = rng.doubles(200).toArray();
            y[l] = rng.doubles(200).toArray();
        }
        Analyses.OverlapRow same = Analyses.overlap(run("a", x), run("b", x), 0.1);
        assertEquals(1.0, same.networkJaccard(), 1e-12);
        assertEquals(1.0, same.layerJaccard(), 1e-12);
        assertEquals(1.0, same.layerSpearman(), 1e-12);
        Analyses.OverlapRow other = Analyses.overlap(run("a", x), run("b", y), 0.1);
        assertTrue(other.layerJaccard() < 0.3, "independent channels overlap " + other.layerJaccard());
        assertEquals(1.0, Analyses.layerSpearman(List.of(run("a", x), run("b", x)))[0][1], 1e-12);
        List<Analyses.TailRow> tails = Analyses.heavyTail(List.of(run("a", x)), 0.1);
        assertEquals(1, tails.size());
        assertEquals(600, tails.getFirst().n());
        assertEquals(60, tails.getFirst().k());
        assertNotEquals(Double.NaN, tails.getFirst().alphaNorms());
    }
}
