package io.trady4j.study;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * The statistics of the study, written out so that what is computed is plain: means, sample standard
 * deviations, ranks with ties, Spearman's ρ, the Hill tail-index estimator, Jaccard overlap, the exact
 * Wilcoxon signed-rank test and the paired t-test.
 */
public final class Stats {
    private Stats() {
    }

    public static double mean(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v;
        }
        return x.length == 0 ? Double.NaN : s / x.length;
    }

    /** Sample standard deviation (n − 1); 0 for a single value. */
    public static double std(double[] x) {
        if (x.length < 2) {
            return x.length == 1 ? 0 : Double.NaN;
        }
        double m = mean(x), s = 0;
        for (double v : x) {
            s += (v - m) * (v - m);
        }
        return Math.sqrt(s / (x.length - 1));
    }

    /** Ranks 1..n in ascending order, ties get the mean of their ranks. */
    public static double[] ranks(double[] x) {
        Integer[] idx = IntStream.range(0, x.length).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, Comparator.comparingDouble(i -> x[i]));
        double[] r = new double[x.length];
        int i = 0;
        while (i < idx.length) {
            int j = i;
            while (j + 1 < idx.length && x[idx[j + 1]] == x[idx[i]]) {
                j++;
            }
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                r[idx[k]] = rank;
            }
            i = j + 1;
        }
        return r;
    }

    /** Pearson's correlation; NaN when either side is constant. */
    public static double pearson(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("samples of different lengths: " + a.length + " and " + b.length);
        }
        double ma = mean(a), mb = mean(b), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return saa == 0 || sbb == 0 ? Double.NaN : sab / Math.sqrt(saa * sbb);
    }

    /** Spearman's ρ: Pearson's correlation of the ranks (ties averaged). */
    public static double spearman(double[] a, double[] b) {
        return pearson(ranks(a), ranks(b));
    }

    /**
     * Hill's estimator of the tail index α from the k largest of the positive values x:
     * α̂ = k / Σ_{i=1..k} ln(X_(i) / X_(k+1)), X_(1) ≥ X_(2) ≥ ... the order statistics. For a Pareto-type
     * tail P(X &gt; t) ~ t^−α; α &lt; 2 means infinite variance. Non-positive values are ignored.
     */
    public static double hill(double[] x, int k) {
        double[] pos = Arrays.stream(x).filter(v -> v > 0 && Double.isFinite(v)).sorted().toArray();
        int n = pos.length;
        if (k < 1 || k >= n) {
            throw new IllegalArgumentException("Hill's estimator needs 1 <= k < n, got k = " + k + ", n = " + n);
        }
        double threshold = pos[n - k - 1];
        double s = 0;
        for (int i = n - k; i < n; i++) {
            s += Math.log(pos[i] / threshold);
        }
        return s == 0 ? Double.POSITIVE_INFINITY : k / s;
    }

    /** Share of Σx held by the ⌈fraction·n⌉ largest values. */
    public static double topShare(double[] x, double fraction) {
        double[] s = x.clone();
        Arrays.sort(s);
        int k = Math.max(1, (int) Math.ceil(fraction * s.length));
        double top = 0, all = 0;
        for (int i = 0; i < s.length; i++) {
            all += s[i];
            if (i >= s.length - k) {
                top += s[i];
            }
        }
        return all == 0 ? Double.NaN : top / all;
    }

    /** Indices of the k largest values (ties broken by the lower index). */
    public static Set<Integer> topIndices(double[] x, int k) {
        Integer[] idx = IntStream.range(0, x.length).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, Comparator.comparingDouble((Integer i) -> -x[i]).thenComparingInt(i -> i));
        Set<Integer> out = new HashSet<>();
        for (int i = 0; i < Math.min(k, x.length); i++) {
            out.add(idx[i]);
        }
        return out;
    }

    public static double jaccard(Set<Integer> a, Set<Integer> b) {
        Set<Integer> inter = new HashSet<>(a);
        inter.retainAll(b);
        int union = a.size() + b.size() - inter.size();
        return union == 0 ? Double.NaN : (double) inter.size() / union;
    }

    /**
     * Expected Jaccard index of two independent uniformly random k-subsets of n items, E[|A∩B| / |A∪B|],
     * from the hypergeometric distribution of |A∩B|.
     */
    public static double randomJaccard(int n, int k) {
        if (k <= 0 || k > n) {
            throw new IllegalArgumentException("need 0 < k <= n, got k = " + k + ", n = " + n);
        }
        double e = 0;
        for (int i = Math.max(0, 2 * k - n); i <= k; i++) {
            double logP = logChoose(k, i) + logChoose(n - k, k - i) - logChoose(n, k);
            e += Math.exp(logP) * i / (2.0 * k - i);
        }
        return e;
    }

    private static double logChoose(int n, int k) {
        return logGamma(n + 1.0) - logGamma(k + 1.0) - logGamma(n - k + 1.0);
    }

    /** The result of a paired test of a − b. */
    public record PairedTest(int n, double meanDifference, double wilcoxonW, double wilcoxonP, double t, double tP,
                             int wins, int losses, int ties) {
    }

    /**
     * Paired comparison of a − b: the exact two-sided Wilcoxon signed-rank test (zero differences dropped,
     * tied |d| get mid-ranks, the null distribution enumerated over all 2^m sign assignments of those
     * ranks; W = the sum of the positive ranks) and the two-sided paired t-test (t = mean(d) / (sd(d)/√n),
     * n − 1 degrees of freedom).
     */
    public static PairedTest paired(double[] a, double[] b) {
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("a paired test needs two samples of the same non-zero length");
        }
        int n = a.length;
        double[] d = new double[n];
        int wins = 0, losses = 0;
        for (int i = 0; i < n; i++) {
            d[i] = a[i] - b[i];
            if (Math.abs(d[i]) < 1e-12) {
                d[i] = 0;
            } else if (d[i] > 0) {
                wins++;
            } else {
                losses++;
            }
        }
        double[] nonZero = Arrays.stream(d).filter(v -> v != 0).toArray();
        double w = 0, pw = 1;
        int m = nonZero.length;
        if (m > 0) {
            double[] abs = Arrays.stream(nonZero).map(Math::abs).toArray();
            double[] r = ranks(abs);
            for (int i = 0; i < m; i++) {
                if (nonZero[i] > 0) {
                    w += r[i];
                }
            }
            pw = wilcoxonExactP(r, w);
        }
        double md = mean(d);
        double sd = std(d);
        double t, pt;
        if (n < 2) {
            t = Double.NaN;
            pt = Double.NaN;
        } else if (sd == 0) {
            t = md == 0 ? 0 : Math.copySign(Double.POSITIVE_INFINITY, md);
            pt = md == 0 ? 1 : 0;
        } else {
            t = md / (sd / Math.sqrt(n));
            pt = 2 * studentTUpper(Math.abs(t), n - 1);
        }
        return new PairedTest(n, md, w, pw, t, pt, wins, losses, n - wins - losses);
    }

    /** Two-sided exact p of the signed-rank statistic w given the (mid-)ranks, by enumeration (m ≤ 24). */
    static double wilcoxonExactP(double[] ranks, double w) {
        int m = ranks.length;
        if (m > 24) {
            throw new IllegalArgumentException("exact enumeration is limited to 24 pairs, got " + m);
        }
        // work in half-ranks so mid-ranks are integers
        int[] r2 = new int[m];
        int total = 0;
        for (int i = 0; i < m; i++) {
            r2[i] = (int) Math.round(2 * ranks[i]);
            total += r2[i];
        }
        long[] count = new long[total + 1];
        count[0] = 1;
        for (int x : r2) {
            for (int s = total; s >= x; s--) {
                count[s] += count[s - x];
            }
        }
        double expected = total / 2.0;
        double dev = Math.abs(2 * w - expected);
        double all = Math.pow(2, m), extreme = 0;
        for (int s = 0; s <= total; s++) {
            if (Math.abs(s - expected) >= dev - 1e-9) {
                extreme += count[s];
            }
        }
        return Math.min(1, extreme / all);
    }

    /** P(T > t) for Student's t with ν degrees of freedom, t ≥ 0: ½ I_{ν/(ν+t²)}(ν/2, ½). */
    public static double studentTUpper(double t, int nu) {
        if (t <= 0) {
            return 0.5;
        }
        double x = nu / (nu + t * t);
        return 0.5 * regularizedBeta(x, nu / 2.0, 0.5);
    }

    /** The regularised incomplete beta function I_x(a, b) (continued fraction, Numerical Recipes' betacf). */
    public static double regularizedBeta(double x, double a, double b) {
        if (x <= 0) {
            return 0;
        }
        if (x >= 1) {
            return 1;
        }
        double front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
        if (x < (a + 1) / (a + b + 2)) {
            return front * betaContinuedFraction(x, a, b) / a;
        }
        return 1 - front * betaContinuedFraction(1 - x, b, a) / b;
    }

    private static double betaContinuedFraction(double x, double a, double b) {
        double tiny = 1e-300;
        double qab = a + b, qap = a + 1, qam = a - 1;
        double c = 1, d = 1 - qab * x / qap;
        if (Math.abs(d) < tiny) {
            d = tiny;
        }
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= 300; m++) {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            d = Math.abs(d) < tiny ? tiny : d;
            c = 1 + aa / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            d = Math.abs(d) < tiny ? tiny : d;
            c = 1 + aa / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double del = d * c;
            h *= del;
            if (Math.abs(del - 1) < 1e-15) {
                break;
            }
        }
        return h;
    }

    /** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9). */
    public static double logGamma(double x) {
        double[] g = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
                1.5056327351493116e-7};
        if (x < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        x -= 1;
        double a = g[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++) {
            a += g[i] / (x + i);
        }
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
    }
}
