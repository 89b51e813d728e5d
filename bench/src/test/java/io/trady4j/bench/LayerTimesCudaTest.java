package io.trady4j.bench;

import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The CUDA path of the driver (CUDA events, L2 flush) on one small layer; skipped where no GPU works. */
class LayerTimesCudaTest {
    @TempDir
    Path dir;

    @Test
    @SuppressWarnings("unchecked")
    void timesOneLayerWithCudaEvents() throws Exception {
        assumeTrue(CudaBackend.isAvailable(), "no working CUDA device here");
        Path out = dir.resolve("cuda.json");
        LayerTimesOptions o = LayerTimesOptions.parse("--backend", "cuda", "--out", out.toString(), "--batch", "4",
                "--layers", "mbv2.b04.project", "--min-reps", "3", "--max-reps", "5", "--host-warmup", "5");
        try (CudaBackend be = CudaBackend.open(); CallTimer timer = LayerTimes.timerFor(be, o)) {
            assertTrue(timer instanceof CudaEventCallTimer);
            assertTrue(new LayerTimes(be, timer, o).run("test"));
        }
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(out));
        assertEquals("cuda", json.get("backend"));
        Map<String, Object> run = (Map<String, Object>) ((List<Object>) ((Map<String, Object>) ((List<Object>)
                json.get("layers")).get(0)).get("runs")).get(0);
        for (Object v : ((Map<String, Object>) run.get("dw")).values()) {
            assertTrue((Double) ((Map<String, Object>) v).get("ms") > 0);
        }
    }
}
