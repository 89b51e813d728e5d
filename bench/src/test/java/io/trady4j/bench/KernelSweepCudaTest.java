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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The sweep on one shrunk depthwise shape: every eligible implementation, checked and timed; skipped where no GPU works. */
class KernelSweepCudaTest {
    @TempDir
    Path dir;

    @Test
    @SuppressWarnings("unchecked")
    void sweepsEveryEligibleImplementationAndRecordsTheTunersChoice() throws Exception {
        assumeTrue(CudaBackend.isAvailable(), "no working CUDA device here");
        Path out = dir.resolve("sweep.json");
        KernelSweepOptions o = KernelSweepOptions.parse("--out", out.toString(), "--batch", "1", "--max-size", "4",
                "--warmup", "1", "--min-reps", "1", "--max-reps", "1", "--flush-mib", "0");
        SweepShape dw = new SweepShape("mbv2.b01.dw", "mbv2-w0.35", 128, 48, 48, 64, 64, 3, 2, 1, 48);
        try (CudaBackend be = CudaBackend.open(); CallTimer timer = new CudaEventCallTimer(be, 0)) {
            assertTrue(new KernelSweep(be, timer, o).run(List.of(dw), "test"));
        }
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(out));
        List<Map<String, Object>> rows = (List<Map<String, Object>>) json.get("rows");
        assertEquals(Boolean.TRUE, json.get("finished"));
        assertTrue(rows.stream().anyMatch(r -> r.get("implementation").equals("v5_depthwise")), "v5 serves depthwise");
        for (String op : List.of("conv2d_forward", "conv2d_gather", "conv2d_dx", "conv2d_dw_sparse")) {
            assertTrue(rows.stream().anyMatch(r -> r.get("op").equals(op)), op);
        }
        for (Map<String, Object> r : rows) {
            assertEquals(Boolean.TRUE, r.get("agrees"), r.toString());
            assertTrue((Double) r.get("median_ms") > 0, r.toString());
            assertTrue(r.get("autotuner_choice") instanceof String, r.toString());
        }
        assertFalse(((List<Object>) json.get("tuning")).isEmpty());
    }
}
