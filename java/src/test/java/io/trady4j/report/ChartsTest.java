package io.trady4j.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChartsTest {
    @TempDir
    Path dir;

    private static final Pattern PATH = Pattern.compile("<path d=\"([^\"]+)\"[^>]*stroke-dasharray");

    /** The x extent of every dashed path of an SVG. */
    private static List<double[]> dashedExtents(String svg) {
        List<double[]> out = new ArrayList<>();
        Matcher m = PATH.matcher(svg);
        while (m.find()) {
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (String point : m.group(1).replaceAll("[ML]", " ").trim().split(" +(?=\\S+ \\S+)")) {
                String[] xy = point.trim().split(" +");
                double x = Double.parseDouble(xy[0]);
                lo = Math.min(lo, x);
                hi = Math.max(hi, x);
            }
            out.add(new double[]{lo, hi});
        }
        return out;
    }

    @Test
    void aReferenceLineSpansThePanelEvenWhenTheDataHasOneX() {
        LineChart.Panel p = new LineChart.Panel("one budget", "budget", "top-1", List.of(
                new LineChart.Series("trady", new double[]{5.3}, new double[]{70}, new double[]{2})),
                List.of(new LineChart.Reference("full (no budget)", 80)));
        String svg = LineChart.render("Accuracy vs memory budget with a title long enough to overflow one panel of 380 pixels",
                List.of(p)).toSvg();
        List<double[]> dashed = dashedExtents(svg);
        assertEquals(2, dashed.size(), "the reference and its legend sample: " + svg);
        assertTrue(dashed.getFirst()[1] - dashed.getFirst()[0] > 200, "the reference is drawn across the panel: " + svg);
        // the lone point gets a marker although there is no line through it
        assertTrue(svg.contains("<circle"), svg);
    }

    @Test
    void thePageWidensToFitItsTitle() {
        String title = "Per-epoch savings at the 2.2% budget (27,946 units), mean ± std over targets and seeds, one epoch";
        Canvas c = LineChart.render(title, List.of(new LineChart.Panel("p", "epoch", "%", List.of(
                new LineChart.Series("trady", new double[]{1}, new double[]{90}, null)))));
        assertTrue(c.width() >= Canvas.textWidth(title, 15, true) + 20, c.width() + " px for the title");
    }

    @Test
    void wholeNumberAxesAreLabelledWithoutDecimals() {
        Axis a = Axis.of(1, 4, false, true);
        assertEquals("1", a.label(1));
        assertEquals("4", a.label(4));
        Axis q = Axis.of(0, 1, false, false);
        List<String> labels = new ArrayList<>();
        for (double t : q.ticks()) {
            labels.add(q.label(t));
        }
        assertEquals(List.of("0.0", "0.2", "0.4", "0.6", "0.8", "1.0"), labels);
        assertEquals("150,000", Axis.of(0, 197_000, false, false).label(150_000));
    }

    @Test
    void thePngShowsWhatTheSvgSays() throws IOException {
        Canvas c = new Canvas(100, 50).rect(10, 10, 30, 20, "#000000", null).text(60, 30, "a < b & c", 12, Canvas.Anchor.START,
                false);
        assertTrue(c.toSvg().contains("a &lt; b &amp; c"), c.toSvg());
        BufferedImage png = ImageIO.read(new ByteArrayInputStream(c.toPng(2)));
        assertEquals(200, png.getWidth());
        assertEquals(100, png.getHeight());
        assertEquals(0x000000, png.getRGB(50, 40) & 0xffffff, "inside the black rectangle");
        assertEquals(0xffffff, png.getRGB(5, 5) & 0xffffff, "the white page");
        boolean inked = false;
        for (int x = 120; x < 200 && !inked; x++) {
            for (int y = 40; y < 62; y++) {
                inked |= (png.getRGB(x, y) & 0xff) < 128;
            }
        }
        assertTrue(inked, "the text is drawn");
        List<Path> files = c.write(dir.resolve("chart"));
        assertEquals(List.of(dir.resolve("chart.svg"), dir.resolve("chart.png")), files);
        assertTrue(Files.readString(files.getFirst()).startsWith("<svg"));
        assertTrue(ImageIO.read(files.getLast().toFile()) != null);
    }

    @Test
    void aSelectionMapDrawsOneMarkPerRunOfSelectedChannels() {
        SelectionMap.Layer l = new SelectionMap.Layer("conv", 16, List.of(new int[]{1, 2, 3, 9}, new int[]{0, 15}));
        String svg = SelectionMap.render("t", "s", List.of(l), 2).toSvg();
        assertEquals(4, svg.split("fill=\"#08306b\"", -1).length - 1, "runs 1-3 and 9, then 0 and 15: " + svg);
        assertThrows(IllegalArgumentException.class, () -> new SelectionMap.Layer("conv", 4, List.of(new int[]{4})));
    }

    @Test
    void barsAreCutAfterTheTopK() {
        List<BarChart.Bar> bars = List.of(new BarChart.Bar("a", new double[]{5}, false), new BarChart.Bar("b", new double[]{3}, false),
                new BarChart.Bar("c", new double[]{1}, true));
        String svg = BarChart.render("scores", "share", List.of("score"), bars, new BarChart.Cut(2, "top-K = 2")).toSvg();
        assertTrue(svg.contains("top-K = 2"), svg);
        assertFalse(dashedExtents(svg).isEmpty(), svg);
        assertTrue(svg.contains("#c7c7c7"), "the bar below the cut is greyed: " + svg);
    }
}
