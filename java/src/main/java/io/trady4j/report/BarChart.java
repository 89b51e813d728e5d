package io.trady4j.report;

import java.util.List;


/**
 * Horizontal bars, one per row label, each a stack of parts (one colour per part name, legend on top),
 * on a linear axis from 0; optionally a dashed cut line after the first {@code cutAfter} bars, labelled.
 */
public final class BarChart {
    private BarChart() {
    }

    /** One bar: its label, its parts' values (≥ 0, one per part name), and whether it is drawn greyed out. */
    public record Bar(String label, double[] parts, boolean muted) {
        public Bar {
            for (double p : parts) {
                if (!(p >= 0) || !Double.isFinite(p)) {
                    throw new IllegalArgumentException("bar " + label + ": parts must be finite and >= 0, got " + p);
                }
            }
        }
    }

    /** Where the cut goes (after {@code after} bars, 0 = none) and what it says. */
    public record Cut(int after, String label) {
    }

    private static final int ROW = 14, PLOT = 520, TOP = 64, BOTTOM = 46;

    public static Canvas render(String title, String valueLabel, List<String> partNames, List<Bar> bars, Cut cut) {
        if (bars.isEmpty()) {
            throw new IllegalArgumentException("a bar chart needs at least one bar");
        }
        for (Bar b : bars) {
            if (b.parts().length != partNames.size()) {
                throw new IllegalArgumentException("bar " + b.label() + " has " + b.parts().length + " parts, expected "
                        + partNames.size());
            }
        }
        double longest = bars.stream().mapToDouble(b -> Canvas.textWidth(b.label(), 10, false)).max().orElse(60);
        int left = 16 + (int) longest;
        double max = bars.stream().mapToDouble(b -> java.util.Arrays.stream(b.parts()).sum()).max().orElse(1);
        Axis axis = Axis.of(0, max > 0 ? max : 1, false, false);
        int width = Math.max(left + PLOT + 30, 40 + (int) Canvas.textWidth(title, 15, true));
        int height = TOP + bars.size() * ROW + BOTTOM;
        Canvas c = new Canvas(width, height);
        c.text(width / 2.0, 20, title, 15, Canvas.Anchor.MIDDLE, true);
        double lx = left;
        for (int p = 0; p < partNames.size(); p++) {
            c.rect(lx, 34, 12, 10, Palette.series(p), null);
            c.text(lx + 16, 43, partNames.get(p), 11, Canvas.Anchor.START, false);
            lx += 30 + Canvas.textWidth(partNames.get(p), 11, false);
        }
        double x0 = left, x1 = left + PLOT, y0 = TOP, y1 = TOP + bars.size() * ROW;
        for (double t : axis.ticks()) {
            double px = x0 + PLOT * axis.frac(t);
            c.line(px, y0, px, y1, "#dddddd", 1, false);
            c.text(px, y1 + 14, axis.label(t), 10, Canvas.Anchor.MIDDLE, false);
        }
        c.text((x0 + x1) / 2, y1 + 32, valueLabel, 12, Canvas.Anchor.MIDDLE, false);
        for (int i = 0; i < bars.size(); i++) {
            Bar b = bars.get(i);
            double y = TOP + i * ROW;
            c.text(left - 6, y + ROW - 4, b.label(), 10, Canvas.Anchor.END, false, b.muted() ? "#777777" : "black", 0);
            double at = 0;
            for (int p = 0; p < b.parts().length; p++) {
                double w = PLOT * (axis.frac(at + b.parts()[p]) - axis.frac(at));
                if (w > 0) {
                    c.rect(x0 + PLOT * axis.frac(at), y + 2, w, ROW - 4, b.muted() ? "#c7c7c7" : Palette.series(p), null);
                }
                at += b.parts()[p];
            }
        }
        c.rect(x0, y0, PLOT, y1 - y0, null, "#444444");
        if (cut != null && cut.after() > 0 && cut.after() < bars.size()) {
            double cy = TOP + cut.after() * ROW;
            c.line(x0 - 4, cy, x1, cy, "#d62728", 1.6, true);
            c.text(x1 - 4, cy - 3, cut.label(), 11, Canvas.Anchor.END, true, "#d62728", 0);
        }
        return c;
    }

}
