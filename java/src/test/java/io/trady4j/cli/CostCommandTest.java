package io.trady4j.cli;

import io.trady4j.models.ModelZoo;
import io.trady4j.trady.CostModel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CostCommandTest {
    private record Result(int status, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    private static Result run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int rc = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printsOneRowPerConvLayerAndEndsWithTheTotal() {
        Result r = run("cost", "--model", "mbv2-w0.35", "--resolution", "128");
        assertEquals(0, r.status(), r.err());
        List<String> lines = r.lines();
        assertTrue(lines.getLast().startsWith("total units: 1252320 "), lines.getLast());
        assertTrue(lines.getLast().contains("5,009,280 bytes"), lines.getLast());
        assertTrue(lines.get(lines.size() - 2).startsWith("classifier classifier.linear (448->1000"), lines.get(lines.size() - 2));
        int rows = 0;
        for (String l : lines) {
            if (l.startsWith("blocks.") || l.startsWith("first_conv.") || l.startsWith("feature_mix_layer.")) {
                rows++;
            }
        }
        assertEquals(52, rows);
        assertTrue(lines.get(1).contains("weight units") && lines.get(1).contains("dW MFLOPs"), lines.get(1));
        assertTrue(r.out().contains("blocks.1.mobile_inverted_conv.depth_conv.conv"), r.out());
    }

    @Test
    @SuppressWarnings("unchecked")
    void jsonAndCsvCarryTheSameFiguresAsTheTable() throws Exception {
        CostModel cost = CostModel.of(ModelZoo.build("mbv2-w0.35", ModelZoo.DEFAULT_CLASSES), 128);
        Result json = run("cost", "--json");
        assertEquals(0, json.status(), json.err());
        java.util.Map<String, Object> m = (java.util.Map<String, Object>) io.trady4j.io.Json.parse(json.out());
        assertEquals(1252320L, ((Number) m.get("total_units")).longValue());
        List<Object> layers = (List<Object>) m.get("layers");
        assertEquals(52, layers.size());
        java.util.Map<String, Object> first = (java.util.Map<String, Object>) layers.getFirst();
        assertEquals(cost.layers().getFirst().totalUnits(), ((Number) first.get("total_units")).longValue());
        Result csv = run("cost", "--csv");
        assertEquals(0, csv.status(), csv.err());
        assertEquals(53, csv.lines().size(), "a header and one row per conv layer");
        long sum = 0;
        for (String row : csv.lines().subList(1, 53)) {
            sum += Long.parseLong(row.split(",")[10]);
        }
        assertEquals(1252320L, sum, "the total_units column sums to full fine-tuning's units");
        assertEquals(2, run("cost", "--json", "--csv").status());
    }

    @Test
    void plotWritesTheCostBarsAsSvgAndPng(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Result r = run("cost", "--resolution", "32", "--plot", dir.resolve("cost").toString());
        assertEquals(0, r.status(), r.err());
        String svg = java.nio.file.Files.readString(dir.resolve("cost.svg"));
        assertTrue(svg.contains("first_conv.conv") && svg.contains("activation units"), svg);
        assertTrue(javax.imageio.ImageIO.read(dir.resolve("cost.png").toFile()).getWidth() > 0);
    }

    @Test
    void defaultsAreThePapersSetting() {
        Result r = run("cost");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.lines().getLast().startsWith("total units: 1252320 "));
    }

    @Test
    void classesAndWidthAreHonoured() {
        Result r = run("cost", "--model", "mobilenet_v2", "--width", "0.5", "--resolution", "96", "--classes", "10");
        assertEquals(0, r.status(), r.err());
        long expected = CostModel.of(ModelZoo.build("mobilenet_v2", 10, 0.5), 96).totalUnits();
        assertTrue(r.lines().getLast().startsWith("total units: " + expected + " "), r.lines().getLast());
        assertTrue(r.out().contains("classifier classifier.1 (1280->10"), r.out());
    }

    @Test
    void badInputIsAUsageError() {
        Result unknown = run("cost", "--model", "vgg16");
        assertEquals(2, unknown.status());
        for (String n : ModelZoo.NAMES) {
            assertTrue(unknown.err().contains(n), unknown.err());
        }
        assertEquals(2, run("cost", "--model", "resnet18", "--width", "0.5").status());
        assertEquals(2, run("cost", "--resolution", "0").status());
        assertEquals(2, run("cost", "--modle", "resnet18").status());
        Result help = run("cost", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("proxyless-w0.3") && help.out().contains("--width"), help.out());
    }
}
