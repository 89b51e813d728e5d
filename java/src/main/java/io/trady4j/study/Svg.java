package io.trady4j.study;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Minimal SVG charts for the study (no dependencies, stable output): line charts with error bars in a
 * row of panels, and a heat map of a square matrix with its values printed in the cells.
 */
public final class Svg {
    private Svg() {
    }

    static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"};

    /** One line: points (x, y) with an optional error half-width per point (null for none); dashed for references. */
    public record Series(String label, double[] x, double[] y, double[] err, boolean dashed, boolean markers) {
        public Series(String label, double[] x, double[] y, double[] err) {
            this(label, x, y, err, false, true);
        }
    }

    /** One panel of a line chart. {@code logX}/{@code logY} use log10 axes. */
    public record Panel(String title, String xLabel, String yLabel, List<Series> series, boolean logX, boolean logY) {
        public Panel(String title, String xLabel, String yLabel, List<Series> series) {
            this(title, xLabel, yLabel, series, false, false);
        }
    }

    private static final int PANEL_W = 380, PANEL_H = 300, LEFT = 62, RIGHT = 14, TOP = 34, BOTTOM = 48;

    /** Panels side by side, one legend (by series label, colour assigned in first-seen order) below. */
    public static String lineCharts(String title, List<Panel> panels) {
        List<String> labels = new ArrayList<>();
        for (Panel p : panels) {
            for (Series s : p.series()) {
                if (!labels.contains(s.label())) {
                    labels.add(s.label());
                }
            }
        }
        int width = PANEL_W * panels.size();
        int longest = labels.stream().mapToInt(String::length).max().orElse(10);
        int columns = Math.max(1, Math.min(labels.size(), (width - 40) / Math.max(150, 7 * longest + 40)));
        int legendRows = (labels.size() + columns - 1) / columns;
        int height = PANEL_H + 30 + legendRows * 18 + 10;
        StringBuilder sb = header(width, height);
        text(sb, width / 2.0, 18, title, 15, "middle", true);
        for (int i = 0; i < panels.size(); i++) {
            panel(sb, panels.get(i), i * PANEL_W, 26, labels);
        }
        double ly = PANEL_H + 26 + 16;
        for (int i = 0; i < labels.size(); i++) {
            double lx = 20 + (i % columns) * (width - 40) / (double) columns;
            double yy = ly + (i / columns) * 18;
            String color = COLORS[i % COLORS.length];
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"/>%n",
                    lx, yy - 4, lx + 22, yy - 4, color));
            text(sb, lx + 28, yy, labels.get(i), 12, "start", false);
        }
        return sb.append("</svg>\n").toString();
    }

    private static void panel(StringBuilder sb, Panel p, double ox, double oy, List<String> labels) {
        double x0 = ox + LEFT, x1 = ox + PANEL_W - RIGHT, y0 = oy + PANEL_H - BOTTOM, y1 = oy + TOP;
        double xmin = Double.POSITIVE_INFINITY, xmax = Double.NEGATIVE_INFINITY, ymin = Double.POSITIVE_INFINITY,
                ymax = Double.NEGATIVE_INFINITY;
        for (Series s : p.series()) {
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.y()[i]) || p.logY() && s.y()[i] <= 0 || p.logX() && s.x()[i] <= 0) {
                    continue;
                }
                double e = s.err() == null || !Double.isFinite(s.err()[i]) ? 0 : s.err()[i];
                xmin = Math.min(xmin, s.x()[i]);
                xmax = Math.max(xmax, s.x()[i]);
                ymin = Math.min(ymin, p.logY() ? s.y()[i] : s.y()[i] - e);
                ymax = Math.max(ymax, p.logY() ? s.y()[i] : s.y()[i] + e);
            }
        }
        if (!Double.isFinite(xmin)) {
            xmin = 0;
            xmax = 1;
            ymin = 0;
            ymax = 1;
        }
        boolean integral = !p.logX() && p.series().stream().allMatch(s -> java.util.Arrays.stream(s.x()).allMatch(v -> v == Math.rint(v)));
        Axis ax = Axis.of(xmin, xmax, p.logX(), integral);
        Axis ay = Axis.of(ymin, ymax, p.logY(), false);
        text(sb, (x0 + x1) / 2, oy + 20, p.title(), 13, "middle", true);
        sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>%n",
                x0, y1, x1 - x0, y0 - y1));
        for (double t : ax.ticks()) {
            double px = x0 + (x1 - x0) * ax.frac(t);
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", px, y0, px, y1));
            text(sb, px, y0 + 15, ax.label(t), 11, "middle", false);
        }
        for (double t : ay.ticks()) {
            double py = y0 - (y0 - y1) * ay.frac(t);
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", x0, py, x1, py));
            text(sb, x0 - 5, py + 4, ay.label(t), 11, "end", false);
        }
        text(sb, (x0 + x1) / 2, y0 + 34, p.xLabel(), 12, "middle", false);
        sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">%s</text>%n",
                ox + 14, (y0 + y1) / 2, ox + 14, (y0 + y1) / 2, esc(p.yLabel())));
        for (Series s : p.series()) {
            String color = COLORS[labels.indexOf(s.label()) % COLORS.length];
            StringBuilder path = new StringBuilder();
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.y()[i]) || p.logY() && s.y()[i] <= 0 || p.logX() && s.x()[i] <= 0) {
                    continue;
                }
                double px = x0 + (x1 - x0) * ax.frac(s.x()[i]);
                double py = y0 - (y0 - y1) * ay.frac(s.y()[i]);
                path.append(path.isEmpty() ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", px, py));
                if (s.err() != null && Double.isFinite(s.err()[i]) && s.err()[i] > 0 && !p.logY()) {
                    double pe0 = y0 - (y0 - y1) * ay.frac(s.y()[i] - s.err()[i]);
                    double pe1 = y0 - (y0 - y1) * ay.frac(s.y()[i] + s.err()[i]);
                    sb.append(String.format(Locale.ROOT, "<path d=\"M%.1f %.1f L%.1f %.1f M%.1f %.1f L%.1f %.1f M%.1f %.1f L%.1f %.1f\" stroke=\"%s\" stroke-width=\"1.2\"/>%n",
                            px, pe0, px, pe1, px - 3, pe0, px + 3, pe0, px - 3, pe1, px + 3, pe1, color));
                }
                if (s.markers()) {
                    sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.8\" fill=\"%s\"/>%n", px, py, color));
                }
            }
            if (!path.isEmpty()) {
                sb.append(String.format(Locale.ROOT, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s/>%n", path, color,
                        s.dashed() ? " stroke-dasharray=\"6 4\"" : ""));
            }
        }
    }

    /** A heat map of {@code values} (rows × columns) on a white → blue scale over [lo, hi], values printed in cells. */
    public static String heatMap(String title, List<String> rows, List<String> columns, double[][] values, double lo, double hi,
                                 String format) {
        int longestRow = rows.stream().mapToInt(String::length).max().orElse(10);
        int longestColumn = columns.stream().mapToInt(String::length).max().orElse(10);
        int cell = 74, left = 20 + 7 * longestRow, top = 50 + (int) (5 * longestColumn);
        int width = Math.max(left + cell * columns.size() + Math.max(90, 5 * longestColumn), 40 + 9 * title.length()), height = top + cell * rows.size() + 20;
        StringBuilder sb = header(width, height);
        text(sb, width / 2.0, 20, title, 15, "middle", true);
        for (int j = 0; j < columns.size(); j++) {
            double cx = left + j * cell + cell / 2.0;
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" text-anchor=\"start\" transform=\"rotate(-45 %.1f %d)\">%s</text>%n",
                    cx, top - 8, cx, top - 8, esc(columns.get(j))));
        }
        for (int i = 0; i < rows.size(); i++) {
            text(sb, left - 8, top + i * cell + cell / 2.0 + 4, rows.get(i), 12, "end", false);
            for (int j = 0; j < columns.size(); j++) {
                double v = values[i][j];
                double f = Double.isFinite(v) ? Math.max(0, Math.min(1, (v - lo) / (hi - lo))) : 0;
                String fill = Double.isFinite(v) ? color(f) : "#eeeeee";
                sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"white\"/>%n",
                        left + j * cell, top + i * cell, cell, cell, fill));
                text(sb, left + j * cell + cell / 2.0, top + i * cell + cell / 2.0 + 5,
                        Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "–", 14, "middle", false,
                        f > 0.6 ? "white" : "black");
            }
        }
        // colour bar
        int bx = left + cell * columns.size() + 24, bh = cell * rows.size();
        for (int k = 0; k < 50; k++) {
            double f = 1 - k / 49.0;
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"16\" height=\"%.1f\" fill=\"%s\"/>%n",
                    bx, top + k * bh / 50.0, bh / 50.0 + 0.5, color(f)));
        }
        text(sb, bx + 20, top + 10, String.format(Locale.ROOT, format, hi), 11, "start", false);
        text(sb, bx + 20, top + bh, String.format(Locale.ROOT, format, lo), 11, "start", false);
        return sb.append("</svg>\n").toString();
    }

    private static String color(double f) {
        int r = (int) Math.round(247 + (8 - 247) * f), g = (int) Math.round(251 + (69 - 251) * f), b = (int) Math.round(255 + (148 - 255) * f);
        return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
    }

    private static StringBuilder header(int width, int height) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">%n", width, height, width, height));
        sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        return sb;
    }

    private static void text(StringBuilder sb, double x, double y, String s, int size, String anchor, boolean bold) {
        text(sb, x, y, s, size, anchor, bold, "black");
    }

    private static void text(StringBuilder sb, double x, double y, String s, int size, String anchor, boolean bold, String fill) {
        sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\"%s fill=\"%s\">%s</text>%n",
                x, y, size, anchor, bold ? " font-weight=\"bold\"" : "", fill, esc(s)));
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /** A linear or log10 axis with "nice" ticks. */
    private record Axis(double lo, double hi, boolean log, double[] ticks) {
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
                double pad = Math.abs(max) > 0 ? Math.abs(max) * 0.05 : 0.5;
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

        double frac(double v) {
            double x = log ? Math.log10(v) : v;
            return (x - lo) / (hi - lo);
        }

        String label(double t) {
            if (log) {
                long e = Math.round(Math.log10(t));
                return e == 0 ? "1" : e == 1 ? "10" : "1e" + e;
            }
            double step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
            int decimals = Math.max(0, (int) Math.ceil(-Math.log10(step) + 1e-9));
            return String.format(Locale.ROOT, "%." + decimals + "f", t);
        }
    }
}
