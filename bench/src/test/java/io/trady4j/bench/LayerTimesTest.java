package io.trady4j.bench;

import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerTimesTest {
    @TempDir
    Path dir;

    static Map<String, Object> runOnCpu(Path out, String... extra) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("--backend", "cpu", "--out", out.toString(), "--warmup", "1",
                "--min-reps", "2", "--max-reps", "3", "--target-ms", "1", "--host-warmup", "2"));
        args.addAll(List.of(extra));
        LayerTimesOptions o = LayerTimesOptions.parse(args.toArray(String[]::new));
        try (CpuBackend be = new CpuBackend(1); CallTimer timer = LayerTimes.timerFor(be, o)) {
            assertTrue(new LayerTimes(be, timer, o).run(String.join(" ", args)));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(out));
        return json;
    }

    @Test
    @SuppressWarnings("unchecked")
    void writesEveryOperationPerLayerBatchAndDensityWithTheSelections() throws Exception {
        Map<String, Object> json = runOnCpu(dir.resolve("ours.json"), "--batch", "1,2", "--densities", "0.1,0.5",
                "--layers", "mbv2.mix");
        assertEquals(Boolean.TRUE, json.get("finished"));
        assertEquals(Boolean.FALSE, json.get("stopped_early"));
        assertEquals("cpu", json.get("backend"));
        List<Object> layers = (List<Object>) json.get("layers");
        assertEquals(1, layers.size());
        Map<String, Object> layer = (Map<String, Object>) layers.get(0);
        assertEquals("mbv2.mix", layer.get("name"));
        Map<String, Object> selections = (Map<String, Object>) layer.get("selections");
        assertEquals(List.of("0.1", "0.5", "1.0"), List.copyOf(selections.keySet()), "density 1 is always measured");
        assertEquals(11, ((List<Object>) selections.get("0.1")).size());
        List<Object> runs = (List<Object>) layer.get("runs");
        assertEquals(2, runs.size());
        for (int i = 0; i < 2; i++) {
            Map<String, Object> run = (Map<String, Object>) runs.get(i);
            long batch = (Long) run.get("batch");
            assertEquals(i + 1, batch);
            ConvCost cost = new ConvCost(Layers.byName("mbv2.mix"), (int) batch);
            Map<String, Object> fwd = (Map<String, Object>) run.get("forward");
            assertEquals(cost.forwardFlops(), (Long) fwd.get("flops"));
            assertTrue((Double) fwd.get("ms") > 0 && (Double) fwd.get("min_ms") <= (Double) fwd.get("ms"));
            assertEquals(cost.inputGradFlops(), (Long) ((Map<String, Object>) run.get("dx")).get("flops"));
            Map<String, Object> dw = (Map<String, Object>) run.get("dw");
            Map<String, Object> gather = (Map<String, Object>) run.get("gather");
            assertEquals(selections.keySet(), dw.keySet());
            assertEquals(selections.keySet(), gather.keySet());
            Map<String, Object> dw10 = (Map<String, Object>) dw.get("0.1");
            assertEquals(11L, dw10.get("selected"));
            assertEquals(cost.sparseWeightGradFlops(11), (Long) dw10.get("flops"));
            assertEquals(cost.denseWeightGradFlops(), (Long) ((Map<String, Object>) dw.get("1.0")).get("flops"));
            assertEquals(cost.cacheBytes(11), (Long) ((Map<String, Object>) gather.get("0.1")).get("cache_bytes"));
        }
    }

    @Test
    void startsNoLayerOnceTheTimeBudgetIsUsedUp() throws Exception {
        Map<String, Object> json = runOnCpu(dir.resolve("none.json"), "--batch", "1", "--layers", "mbv2.b14",
                "--max-seconds", "0");
        assertEquals(Boolean.TRUE, json.get("stopped_early"));
        assertEquals(List.of(), json.get("layers"));
        assertEquals(List.of("mbv2.b14.expand", "mbv2.b14.dw", "mbv2.b14.project"), json.get("layers_not_measured"));
    }

    @Test
    void parsesLayerPrefixesAndRejectsBadOptions() {
        LayerTimesOptions o = LayerTimesOptions.parse("--out", "x.json", "--layers", "mbv2.b0", "resnet18.layer1,mbv2.mix",
                "--batch", "32");
        assertEquals(List.of("mbv2.b0", "resnet18.layer1", "mbv2.mix"), o.layerPrefixes());
        assertEquals(List.of(32), o.batches());
        assertEquals(List.of(0.01, 0.05, 0.1, 0.25, 0.5, 1.0), o.densities());
        assertTrue(o.wants(Layers.byName("mbv2.b00.dw")));
        assertTrue(!o.wants(Layers.byName("mbv2.b14.dw")));
        assertThrows(IllegalArgumentException.class, () -> LayerTimesOptions.parse("--batch", "32"));
        assertThrows(IllegalArgumentException.class, () -> LayerTimesOptions.parse("--out", "x", "--densities", "0,1"));
        assertThrows(IllegalArgumentException.class, () -> LayerTimesOptions.parse("--out", "x", "--backend", "tpu"));
        assertThrows(IllegalArgumentException.class, () -> LayerTimesOptions.parse("--out", "x", "--bogus", "1"));
    }
}
