package io.trady4j.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A linear or log10 axis over a data range, with "nice" ticks (1, 2, 2.5, 5 × 10^k; whole numbers if asked). */
record Axis(double lo, double hi, boolean log, double[] ticks) {
    static Axis of(double min, double max, boolean log, boolean integral) {
        if (log) {
            double a = Math.floor(Math.log10(min)), b = Math.ceil(Math.log10(max));
            if (a == b) {
                b = a + 1;
            }
            List<Double> t = new ArrayList<>();
            for (double e = a; e <= b; e++) {
                t.add(Math.pow(10, e));
            }
            return new Axis(a, b, true, t.stream().mapToDouble(Double::doubleValue).toArray());
        }
        if (max - min < 1e-12) {
            double pad = integral ? 1 : Math.abs(max) > 0 ? Math.abs(max) * 0.05 : 0.5;
            min -= pad;
            max += pad;
        }
        double range = max - min;
        double step = Math.pow(10, Math.floor(Math.log10(range / 5)));
        for (double m : new double[]{1, 2, 2.5, 5, 10}) {
            if (range / (step * m) <= 6) {
                step *= m;
                break;
            }
        }
        if (integral) {
            step = Math.max(1, Math.round(step));
        }
        double lo = Math.floor(min / step) * step, hi = Math.ceil(max / step) * step;
        List<Double> t = new ArrayList<>();
        for (double v = lo; v <= hi + step / 2; v += step) {
            t.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        }
        return new Axis(lo, hi, false, t.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** Where v lies between lo (0) and hi (1). */
    double frac(double v) {
        double x = log ? Math.log10(v) : v;
        return (x - lo) / (hi - lo);
    }

    private boolean exact(int decimals) {
        double scale = Math.pow(10, decimals);
        double step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
        for (double t : ticks) {
            if (Math.abs(Math.round(t * scale) / scale - t) > 1e-6 * step) {
                return false;
            }
        }
        return true;
    }

    String label(double t) {
        if (log) {
            long e = Math.round(Math.log10(t));
            return e == 0 ? "1" : e == 1 ? "10" : "1e" + e;
        }
        // the fewest decimals (up to 6) that write every tick exactly, so 1, 2, 3 stay whole and 0.25 keeps both digits
        int decimals = 0;
        while (decimals < 6 && !exact(decimals)) {
            decimals++;
        }
        // thousands grouped on large whole-number axes (memory units): 150,000 rather than 150000
        return String.format(Locale.ROOT, decimals == 0 && Math.abs(hi) >= 10_000 ? "%,.0f" : "%." + decimals + "f", t);
    }
}
