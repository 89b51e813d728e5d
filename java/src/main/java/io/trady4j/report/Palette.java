package io.trady4j.report;

import java.util.Locale;

/** The colours of the charts: ten distinct series colours (matplotlib's tab10) and a white → blue scale. */
public final class Palette {
    private Palette() {
    }

    private static final String[] SERIES = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"};

    /** The i-th series colour (repeating after ten). */
    public static String series(int i) {
        return SERIES[Math.floorMod(i, SERIES.length)];
    }

    /** A colour on the white (0) → dark blue (1) scale; f is clamped to [0, 1]. */
    public static String scale(double f) {
        double v = Math.max(0, Math.min(1, f));
        int r = (int) Math.round(247 + (8 - 247) * v), g = (int) Math.round(251 + (69 - 251) * v),
                b = (int) Math.round(255 + (148 - 255) * v);
        return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
    }
}
