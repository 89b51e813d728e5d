package io.trady4j.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Line charts in a row of panels with one legend below: series of points with optional error bars, and
 * horizontal reference lines that span the whole panel (so a reference is visible even when the data has
 * a single x, e.g. one budget or one epoch). The page widens to fit the title and every panel's title.
 */
public final class LineChart {
    private LineChart() {
    }

    /** One line: points (x, y) with an optional error half-width per point (null for none). */
    public record Series(String label, double[] x, double[] y, double[] err, boolean dashed, boolean markers) {
        public Series {
            if (x.length != y.length || err != null && err.length != x.length) {
                throw new IllegalArgumentException("series " + label + ": x, y and err differ in length");
            }
        }

        public Series(String label, double[] x, double[] y, double[] err) {
            this(label, x, y, err, false, true);
        }
    }

    /** A dashed horizontal line at {@code y} across the panel, named in the legend. */
    public record Reference(String label, double y) {
    }

    /** One panel. {@code logX}/{@code logY} use log10 axes. */
    public record Panel(String title, String xLabel, String yLabel, List<Series> series, List<Reference> references,
                        boolean logX, boolean logY) {
        public Panel(String title, String xLabel, String yLabel, List<Series> series) {
            this(title, xLabel, yLabel, series, List.of(), false, false);
        }

        public Panel(String title, String xLabel, String yLabel, List<Series> series, List<Reference> references) {
            this(title, xLabel, yLabel, series, references, false, false);
        }
    }

    private static final int PANEL_W = 380, PANEL_H = 300, LEFT = 62, RIGHT = 14, TOP = 34, BOTTOM = 48, TITLE = 15,
            PANEL_TITLE = 13, LEGEND = 12;

    public static Canvas render(String title, List<Panel> panels) {
        if (panels.isEmpty()) {
            throw new IllegalArgumentException("a line chart needs at least one panel");
        }
        List<String> labels = new ArrayList<>();
        List<Boolean> dashed = new ArrayList<>();
        for (Panel p : panels) {
            for (Series s : p.series()) {
                if (!labels.contains(s.label())) {
                    labels.add(s.label());
                    dashed.add(s.dashed());
                }
            }
            for (Reference r : p.references()) {
                if (!labels.contains(r.label())) {
                    labels.add(r.label());
                    dashed.add(true);
                }
            }
        }
        int panelWidth = PANEL_W;
        for (Panel p : panels) {
            panelWidth = Math.max(panelWidth, LEFT + RIGHT + 20 + (int) Canvas.textWidth(p.title(), PANEL_TITLE, true));
        }
        int width = Math.max(panelWidth * panels.size(), 40 + (int) Canvas.textWidth(title, TITLE, true));
        double longest = labels.stream().mapToDouble(l -> Canvas.textWidth(l, LEGEND, false)).max().orElse(60);
        int columns = Math.max(1, Math.min(labels.size(), (int) ((width - 40) / Math.max(150, longest + 44))));
        int legendRows = (labels.size() + columns - 1) / columns;
        int height = PANEL_H + 30 + legendRows * 18 + 10;
        Canvas c = new Canvas(width, height);
        c.text(width / 2.0, 18, title, TITLE, Canvas.Anchor.MIDDLE, true);
        double offset = (width - panelWidth * panels.size()) / 2.0;
        for (int i = 0; i < panels.size(); i++) {
            panel(c, panels.get(i), offset + i * panelWidth, 26, panelWidth, labels);
        }
        double ly = PANEL_H + 26 + 16;
        for (int i = 0; i < labels.size(); i++) {
            double lx = 20 + (i % columns) * (width - 40) / (double) columns;
            double yy = ly + (i / columns) * 18;
            c.line(lx, yy - 4, lx + 22, yy - 4, Palette.series(i), 2.5, dashed.get(i));
            c.text(lx + 28, yy, labels.get(i), LEGEND, Canvas.Anchor.START, false);
        }
        return c;
    }

    private static boolean plotted(Panel p, double x, double y) {
        return Double.isFinite(x) && Double.isFinite(y) && !(p.logY() && y <= 0) && !(p.logX() && x <= 0);
    }

    private static void panel(Canvas c, Panel p, double ox, double oy, int panelWidth, List<String> labels) {
        double xmin = Double.POSITIVE_INFINITY, xmax = Double.NEGATIVE_INFINITY, ymin = Double.POSITIVE_INFINITY,
                ymax = Double.NEGATIVE_INFINITY;
        for (Series s : p.series()) {
            for (int i = 0; i < s.x().length; i++) {
                if (!plotted(p, s.x()[i], s.y()[i])) {
                    continue;
                }
                double e = s.err() == null || !Double.isFinite(s.err()[i]) || p.logY() ? 0 : s.err()[i];
                xmin = Math.min(xmin, s.x()[i]);
                xmax = Math.max(xmax, s.x()[i]);
                ymin = Math.min(ymin, s.y()[i] - e);
                ymax = Math.max(ymax, s.y()[i] + e);
            }
        }
        for (Reference r : p.references()) {
            if (Double.isFinite(r.y()) && !(p.logY() && r.y() <= 0)) {
                ymin = Math.min(ymin, r.y());
                ymax = Math.max(ymax, r.y());
            }
        }
        if (!Double.isFinite(xmin)) {
            xmin = p.logX() ? 1 : 0;
            xmax = p.logX() ? 10 : 1;
        }
        if (!Double.isFinite(ymin)) {
            ymin = p.logY() ? 1 : 0;
            ymax = p.logY() ? 10 : 1;
        }
        boolean integral = !p.logX() && p.series().stream().allMatch(s -> Arrays.stream(s.x()).allMatch(v -> v == Math.rint(v)));
        Axis ax = Axis.of(xmin, xmax, p.logX(), integral);
        Axis ay = Axis.of(ymin, ymax, p.logY(), false);
        double tickWidth = Arrays.stream(ay.ticks()).map(t -> Canvas.textWidth(ay.label(t), 11, false)).max().orElse(20);
        double x0 = ox + Math.max(LEFT, 34 + tickWidth), x1 = ox + panelWidth - RIGHT, y0 = oy + PANEL_H - BOTTOM, y1 = oy + TOP;
        c.text((x0 + x1) / 2, oy + 20, p.title(), PANEL_TITLE, Canvas.Anchor.MIDDLE, true);
        c.rect(x0, y1, x1 - x0, y0 - y1, null, "#444444");
        for (double t : ax.ticks()) {
            double px = x0 + (x1 - x0) * ax.frac(t);
            c.line(px, y0, px, y1, "#dddddd", 1, false);
            c.text(px, y0 + 15, ax.label(t), 11, Canvas.Anchor.MIDDLE, false);
        }
        for (double t : ay.ticks()) {
            double py = y0 - (y0 - y1) * ay.frac(t);
            c.line(x0, py, x1, py, "#dddddd", 1, false);
            c.text(x0 - 5, py + 4, ay.label(t), 11, Canvas.Anchor.END, false);
        }
        c.text((x0 + x1) / 2, y0 + 34, p.xLabel(), 12, Canvas.Anchor.MIDDLE, false);
        c.text(x0 - 14 - tickWidth, (y0 + y1) / 2, p.yLabel(), 12, Canvas.Anchor.MIDDLE, false, "black", -90);
        for (Reference r : p.references()) {
            if (Double.isFinite(r.y()) && !(p.logY() && r.y() <= 0)) {
                double py = y0 - (y0 - y1) * ay.frac(r.y());
                c.line(x0, py, x1, py, Palette.series(labels.indexOf(r.label())), 1.8, true);
            }
        }
        for (Series s : p.series()) {
            String color = Palette.series(labels.indexOf(s.label()));
            List<double[]> points = new ArrayList<>();
            for (int i = 0; i < s.x().length; i++) {
                if (!plotted(p, s.x()[i], s.y()[i])) {
                    continue;
                }
                double px = x0 + (x1 - x0) * ax.frac(s.x()[i]);
                double py = y0 - (y0 - y1) * ay.frac(s.y()[i]);
                points.add(new double[]{px, py});
                if (s.err() != null && Double.isFinite(s.err()[i]) && s.err()[i] > 0 && !p.logY()) {
                    double pe0 = y0 - (y0 - y1) * ay.frac(s.y()[i] - s.err()[i]);
                    double pe1 = y0 - (y0 - y1) * ay.frac(s.y()[i] + s.err()[i]);
                    c.line(px, pe0, px, pe1, color, 1.2, false);
                    c.line(px - 3, pe0, px + 3, pe0, color, 1.2, false);
                    c.line(px - 3, pe1, px + 3, pe1, color, 1.2, false);
                }
            }
            c.polyline(points.stream().mapToDouble(q -> q[0]).toArray(), points.stream().mapToDouble(q -> q[1]).toArray(),
                    color, 1.8, s.dashed());
            // a lone point has no line to show it: it always gets its marker
            if (s.markers() || points.size() == 1) {
                for (double[] q : points) {
                    c.dot(q[0], q[1], 2.8, color);
                }
            }
        }
    }
}
