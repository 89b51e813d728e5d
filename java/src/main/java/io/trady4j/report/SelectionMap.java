package io.trady4j.report;

import java.util.List;
import java.util.Locale;

/**
 * The channels a run trained, per layer and epoch: one block per layer, one row per epoch (first on top),
 * one cell per input channel, dark where the channel was selected. Resampling shows as rows that differ.
 */
public final class SelectionMap {
    private SelectionMap() {
    }

    /** One layer: its name, its input channels, and per epoch the selected channels (sorted, in [0, channels)). */
    public record Layer(String name, int channels, List<int[]> selectedPerEpoch) {
        public Layer {
            if (channels < 1) {
                throw new IllegalArgumentException("layer " + name + " needs at least one channel, got " + channels);
            }
            for (int[] s : selectedPerEpoch) {
                for (int ch : s) {
                    if (ch < 0 || ch >= channels) {
                        throw new IllegalArgumentException("layer " + name + ": channel " + ch + " is outside [0, " + channels + ")");
                    }
                }
            }
        }
    }

    private static final int ROW = 7, GAP = 22, PLOT = 720;

    public static Canvas render(String title, String subtitle, List<Layer> layers, int epochs) {
        if (layers.isEmpty() || epochs < 1) {
            throw new IllegalArgumentException("a selection map needs at least one layer and one epoch");
        }
        int widest = layers.stream().mapToInt(Layer::channels).max().orElse(1);
        double cell = Math.min(8, (double) PLOT / widest);
        int left = 46, top = 58;
        int width = Math.max(left + (int) Math.ceil(cell * widest) + 130,
                40 + (int) Math.max(Canvas.textWidth(title, 15, true), Canvas.textWidth(subtitle, 12, false)));
        int height = top + layers.size() * (GAP + epochs * ROW) + 16;
        Canvas c = new Canvas(width, height);
        c.text(width / 2.0, 20, title, 15, Canvas.Anchor.MIDDLE, true);
        c.text(width / 2.0, 40, subtitle, 12, Canvas.Anchor.MIDDLE, false);
        double y = top;
        for (Layer l : layers) {
            c.text(left, y + 13, l.name() + "  (" + l.channels() + " input channels)", 11, Canvas.Anchor.START, false);
            y += GAP - 4;
            for (int e = 0; e < epochs; e++) {
                double ry = y + e * ROW;
                c.text(left - 6, ry + ROW - 1, "e" + (e + 1), 7, Canvas.Anchor.END, false);
                c.rect(left, ry, cell * l.channels(), ROW - 1, "#e8e8e8", null);
                int[] s = e < l.selectedPerEpoch().size() ? l.selectedPerEpoch().get(e) : new int[0];
                int[] sorted = s.clone();
                java.util.Arrays.sort(sorted);
                for (int i = 0; i < sorted.length; ) {
                    int j = i;
                    while (j + 1 < sorted.length && sorted[j + 1] == sorted[j] + 1) {
                        j++;
                    }
                    c.rect(left + cell * sorted[i], ry, cell * (sorted[j] - sorted[i] + 1), ROW - 1, "#08306b", null);
                    i = j + 1;
                }
                c.text(left + cell * l.channels() + 6, ry + ROW - 1, String.format(Locale.ROOT, "%d", s.length), 7,
                        Canvas.Anchor.START, false);
            }
            y += epochs * ROW + 4;
        }
        return c;
    }
}
