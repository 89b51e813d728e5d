package io.trady4j.study;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StatsTest {
    @Test
    void ranksAverageTies() {
        assertArrayEquals(new double[]{1, 2.5, 2.5, 4}, Stats.ranks(new double[]{0.1, 5, 5, 9}));
    }

    @Test
    void spearmanOfMonotoneAndReversedData() {
        double[] a = {1, 2, 3, 4, 5};
        assertEquals(1.0, Stats.spearman(a, new double[]{10, 20, 30, 40, 1000}), 1e-12);
        assertEquals(-1.0, Stats.spearman(a, new double[]{5, 4, 3, 2, 1}), 1e-12);
        // d = (0, −1, 1, −1, 1), Σd² = 4 → ρ = 1 − 6·4/(5·24) = 0.8
        assertEquals(0.8, Stats.spearman(a, new double[]{1, 3, 2, 5, 4}), 1e-12);
    }

    @Test
    void hillRecoversTheParetoIndex() {
        Random rng = new Random(1);
        for (double alpha : new double[]{0.8, 1.5, 3.0}) {
            double[] x = new double[20000];
            for (int i = 0; i < x.length; i++) {
                x[i] = Math.pow(1 - rng.nextDouble(), -1 / alpha);   // P(X > t) = t^-α
            }
            assertEquals(alpha, Stats.hill(x, 2000), 0.1 * alpha, "alpha " + alpha);
        }
    }

    @Test
    void wilcoxonExactAndPairedT() {
        // six positive differences: the most extreme of 2^6 sign patterns, both tails → p = 2/64
        Stats.PairedTest t = Stats.paired(new double[]{2, 3, 4, 5, 6, 7}, new double[]{1, 1, 1, 1, 1, 1});
        assertEquals(21.0, t.wilcoxonW());
        assertEquals(2.0 / 64, t.wilcoxonP(), 1e-12);
        assertEquals(6, t.wins());
        // one negative of smallest rank: W = 20; P(|W − 10.5| ≥ 9.5) = 4/64
        Stats.PairedTest u = Stats.paired(new double[]{0, 3, 4, 5, 6, 7}, new double[]{1, 1, 1, 1, 1, 1});
        assertEquals(20.0, u.wilcoxonW());
        assertEquals(4.0 / 64, u.wilcoxonP(), 1e-12);
        // zero differences are dropped
        Stats.PairedTest z = Stats.paired(new double[]{1, 1, 2}, new double[]{1, 1, 1});
        assertEquals(2, z.ties());
        assertEquals(1.0, z.wilcoxonP(), 1e-12);
        // paired t: d = (1, 2, 3, 4, 5, 6) → t = 3.5 / (1.8708/√6) = 4.5826, df 5, two-sided p = 0.005934 (R: t.test)
        Stats.PairedTest v = Stats.paired(new double[]{1, 2, 3, 4, 5, 6}, new double[6]);
        assertEquals(4.5826, v.t(), 1e-4);
        assertEquals(0.005934, v.tP(), 2e-6);
    }

    @Test
    void studentTTail() {
        assertEquals(0.5, Stats.studentTUpper(0, 3), 1e-12);
        assertEquals(0.05, Stats.studentTUpper(2.015048, 5), 1e-6);    // qt(0.95, 5)
        assertEquals(0.025, Stats.studentTUpper(12.7062, 1), 1e-5);    // qt(0.975, 1)
    }

    @Test
    void jaccardAndItsRandomExpectation() {
        assertEquals(1.0 / 3, Stats.jaccard(Set.of(1, 2), Set.of(2, 3)), 1e-12);
        assertEquals(1.0, Stats.randomJaccard(10, 10), 1e-12);
        // n = 4, k = 2: |A∩B| = 0 (p 1/6), 1 (p 4/6, J = 1/3), 2 (p 1/6, J = 1) → 4/18 + 1/6 = 7/18
        assertEquals(7.0 / 18, Stats.randomJaccard(4, 2), 1e-12);
        Random rng = new Random(3);
        double sum = 0;
        int reps = 20000;
        for (int r = 0; r < reps; r++) {
            double[] a = rng.doubles(100).toArray(), b = rng.doubles(100).toArray();
            sum += Stats.jaccard(Stats.topIndices(a, 10), Stats.topIndices(b, 10));
        }
        assertEquals(Stats.randomJaccard(100, 10), sum / reps, 0.003);
    }

    @Test
    void topShare() {
        assertEquals(0.1, Stats.topShare(new double[]{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.1), 1e-12);
        assertTrue(Stats.topShare(new double[]{100, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.1) > 0.9);
    }

    private static void assertArrayEquals(double[] expected, double[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, 1e-12);
    }
}
