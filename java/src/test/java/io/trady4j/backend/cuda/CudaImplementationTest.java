package io.trady4j.backend.cuda;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The implementation registry, pins and the tuner's real path, on a GPU or the emulated library. */
class CudaImplementationTest {
    private static final Conv2dSpec SPEC = Conv2dSpec.of(6, 10, 3, 1, 1);
    private static final Shape X = Shape.of(2, 6, 7, 7);
    private static final OpShape SHAPE = new OpShape(2, 6, 7, 7, 10, 7, 7, 3, 1, 1, 1, 1);

    @TempDir
    Path cacheDir;

    private static float[] conv(CudaBackend b) {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[X.numel()];
        float[] w = new float[SPEC.weightShape().numel()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextDouble(-1, 1);
        }
        try (Tensor xt = b.upload(x, X, MemoryCategory.DATA);
             Tensor wt = b.upload(w, SPEC.weightShape(), MemoryCategory.PARAMETER);
             Tensor y = b.allocate(SPEC.outputShape(X), MemoryCategory.WORKSPACE)) {
            b.conv2d(xt, wt, null, SPEC, Activation.NONE, y);
            return b.toFloatArray(y);
        }
    }

    @Test
    void everyOpListsItsImplementationsInIdOrder() {
        CudaBackend gpu = CudaTestSupport.gpu();
        for (CudaOp op : CudaOp.values()) {
            List<Implementation> list = gpu.implementations(op);
            assertTrue(list.size() >= 2, op + ": " + list);
            for (int i = 0; i < list.size(); i++) {
                assertEquals(i + 1, list.get(i).id(), op + ": " + list);
                assertEquals(op, list.get(i).op());
                assertTrue(list.get(i).name().matches("v\\d+_\\w+"), list.get(i).name());
            }
            assertEquals("v1_naive", list.getFirst().name());
            assertTrue(gpu.eligible(list.getFirst(), SHAPE, 0));
        }
    }

    @Test
    void aPinnedImplementationIsTheOneThatRuns() {
        CudaBackend gpu = CudaTestSupport.gpu();
        try {
            gpu.pin(CudaOp.CONV2D_FORWARD, "v1_naive");
            float[] naive = conv(gpu);
            TuningChoice c = gpu.chosenImplementation(CudaOp.CONV2D_FORWARD, SHAPE, 0).orElseThrow();
            assertEquals("v1_naive", c.implementation().name());
            assertEquals("pinned", c.source());
            gpu.pin(CudaOp.CONV2D_FORWARD, "v2_tiled");
            float[] tiled = conv(gpu);
            assertEquals("v2_tiled", gpu.chosenImplementation(CudaOp.CONV2D_FORWARD, SHAPE, 0).orElseThrow()
                    .implementation().name());
            double num = 0;
            double den = 0;
            for (int i = 0; i < naive.length; i++) {
                num += (naive[i] - tiled[i]) * (double) (naive[i] - tiled[i]);
                den += naive[i] * (double) naive[i];
            }
            assertTrue(Math.sqrt(num / den) <= 1e-5, "v1 and v2 differ: " + Math.sqrt(num / den));
            assertTrue(gpu.implementationSummary().stream().anyMatch(l -> l.contains("v2_tiled (pinned)")),
                    gpu.implementationSummary().toString());
        } finally {
            gpu.unpin(CudaOp.CONV2D_FORWARD);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gpu.pin(CudaOp.LINEAR_DX, "v9_nothing"));
        assertTrue(e.getMessage().contains("v9_nothing") && e.getMessage().contains("v1_naive"), e.getMessage());
    }

    @Test
    void forcedTuningTimesEveryEligibleImplementationAndWritesTheCache() {
        CudaTestSupport.gpu();  // skips without a device; sets the runtime the emulator needs
        System.setProperty(TuningMode.PROPERTY, "force");
        System.setProperty(CudaBackend.TUNE_CACHE_PROPERTY, cacheDir.toString());
        try (CudaBackend b = CudaBackend.open()) {
            assertEquals(TuningMode.FORCE, b.tuningMode());
            conv(b);
            TuningChoice c = b.chosenImplementation(CudaOp.CONV2D_FORWARD, SHAPE, 0).orElseThrow();
            assertEquals("tuned", c.source());
            assertEquals(List.of("v1_naive", "v2_tiled").size(),
                    c.millis().keySet().stream().filter(List.of("v1_naive", "v2_tiled")::contains).count());
            assertTrue(c.millis().values().stream().allMatch(ms -> ms >= 0), c.millis().toString());
            assertEquals(1, b.implementationsUsed().get(CudaOp.CONV2D_FORWARD).values().stream()
                    .mapToInt(Integer::intValue).sum());
            Path file = b.tuningCacheFile();
            assertTrue(file.startsWith(cacheDir) && Files.isRegularFile(file), String.valueOf(file));
            assertTrue(assertDoesNotThrowRead(file).contains("CONV2D_FORWARD " + SHAPE.key() + " 0 "
                    + c.implementation().name()));
        } finally {
            System.clearProperty(TuningMode.PROPERTY);
            System.clearProperty(CudaBackend.TUNE_CACHE_PROPERTY);
        }
    }

    private static String assertDoesNotThrowRead(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void anUnknownTuningModeIsOneClearError() {
        System.setProperty(TuningMode.PROPERTY, "sometimes");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TuningMode.fromProperty(true));
            assertEquals("-Dtrady4j.tune must be off, on or force, got 'sometimes'", e.getMessage());
        } finally {
            System.clearProperty(TuningMode.PROPERTY);
        }
        assertEquals(TuningMode.ON, TuningMode.fromProperty(true));
        assertEquals(TuningMode.OFF, TuningMode.fromProperty(false));
    }
}
