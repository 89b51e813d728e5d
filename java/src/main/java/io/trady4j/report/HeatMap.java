package io.trady4j.report;

import java.util.List;
import java.util.Locale;

/** A heat map of a matrix (rows × columns) on the white → blue scale, values printed in the cells, with a colour bar. */
public final class HeatMap {
    private HeatMap() {
    }

    public static Canvas render(String title, List<String> rows, List<String> columns, double[][] values, double lo, double hi,
                                String format) {
        if (values.length != rows.size()) {
            throw new IllegalArgumentException("a heat map needs one row of values per row label");
        }
        for (double[] row : values) {
            if (row.length != columns.size()) {
                throw new IllegalArgumentException("a heat map needs one value per column in every row");
            }
        }
        double longestRow = rows.stream().mapToDouble(r -> Canvas.textWidth(r, 12, false)).max().orElse(60);
        double longestColumn = columns.stream().mapToDouble(r -> Canvas.textWidth(r, 12, false)).max().orElse(60);
        int cell = 74, left = 20 + (int) longestRow, top = 50 + (int) (0.72 * longestColumn);
        String hiLabel = String.format(Locale.ROOT, format, hi), loLabel = String.format(Locale.ROOT, format, lo);
        int width = Math.max(left + cell * columns.size() + 24 + 16 + 10 + (int) Math.max(
                Math.max(Canvas.textWidth(hiLabel, 11, false), Canvas.textWidth(loLabel, 11, false)), 0.72 * longestColumn),
                40 + (int) Canvas.textWidth(title, 15, true));
        int height = top + cell * rows.size() + 20;
        Canvas c = new Canvas(width, height);
        c.text(width / 2.0, 20, title, 15, Canvas.Anchor.MIDDLE, true);
        for (int j = 0; j < columns.size(); j++) {
            double cx = left + j * cell + cell / 2.0;
            c.text(cx, top - 8, columns.get(j), 12, Canvas.Anchor.START, false, "black", -45);
        }
        double range = hi - lo;
        for (int i = 0; i < rows.size(); i++) {
            c.text(left - 8, top + i * cell + cell / 2.0 + 4, rows.get(i), 12, Canvas.Anchor.END, false);
            for (int j = 0; j < columns.size(); j++) {
                double v = values[i][j];
                double f = Double.isFinite(v) ? range > 0 ? (v - lo) / range : 1 : 0;
                c.rect(left + j * cell, top + i * cell, cell, cell, Double.isFinite(v) ? Palette.scale(f) : "#eeeeee", "white");
                c.text(left + j * cell + cell / 2.0, top + i * cell + cell / 2.0 + 5,
                        Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "–", 14, Canvas.Anchor.MIDDLE, false,
                        f > 0.6 ? "white" : "black", 0);
            }
        }
        int bx = left + cell * columns.size() + 24, bh = cell * rows.size();
        for (int k = 0; k < 50; k++) {
            c.rect(bx, top + k * bh / 50.0, 16, bh / 50.0 + 0.5, Palette.scale(1 - k / 49.0), null);
        }
        c.text(bx + 20, top + 10, hiLabel, 11, Canvas.Anchor.START, false);
        c.text(bx + 20, top + bh, loLabel, 11, Canvas.Anchor.START, false);
        return c;
    }
}
