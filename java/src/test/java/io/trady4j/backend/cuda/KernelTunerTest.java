package io.trady4j.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tuner's selection logic on a fake implementation table and a fake timer (no device). */
class KernelTunerTest {
    private static final OpShape SHAPE = new OpShape(8, 16, 10, 10, 32, 10, 10, 3, 1, 1, 1, 1);
    private static final OpShape DEPTHWISE = new OpShape(8, 16, 10, 10, 16, 10, 10, 3, 1, 1, 1, 16);
    private static final KernelTuner.Context H200 = new KernelTuner.Context("NVIDIA H200", 13000, "abi4-0123");

    @TempDir
    Path cacheDir;

    /** Three conv-forward implementations; v3_dense cannot serve depthwise shapes; the heuristic says v2. */
    static final class FakeTable implements ImplementationTable {
        final List<Implementation> forward = List.of(new Implementation(CudaOp.CONV2D_FORWARD, 1, "v1_naive"),
                new Implementation(CudaOp.CONV2D_FORWARD, 2, "v2_tiled"),
                new Implementation(CudaOp.CONV2D_FORWARD, 3, "v3_dense"));

        @Override
        public List<Implementation> implementations(CudaOp op) {
            return op == CudaOp.CONV2D_FORWARD ? forward : List.of(new Implementation(op, 1, "v1_naive"));
        }

        @Override
        public boolean eligible(Implementation impl, OpShape shape, int nsel) {
            return !(impl.name().equals("v3_dense") && shape.groups() > 1);
        }

        @Override
        public int heuristic(CudaOp op, OpShape shape, int nsel) {
            return op == CudaOp.CONV2D_FORWARD ? 2 : 1;
        }
    }

    /** Answers a fixed time per implementation name and counts the timings. */
    static final class FakeTimer implements KernelTuner.Timer {
        final Map<String, Double> millis = new HashMap<>();
        final List<String> timed = new ArrayList<>();

        FakeTimer(double naive, double tiled, double dense) {
            millis.put("v1_naive", naive);
            millis.put("v2_tiled", tiled);
            millis.put("v3_dense", dense);
        }

        @Override
        public double millis(Implementation impl, Runnable launch) {
            launch.run();
            timed.add(impl.name());
            return millis.get(impl.name());
        }
    }

    private final List<String> warnings = new ArrayList<>();
    private final List<Integer> launched = new ArrayList<>();

    private KernelTuner tuner(TuningMode mode, FakeTimer timer, KernelTuner.Context context) {
        return new KernelTuner(new FakeTable(), mode, timer, cacheDir, context, warnings::add);
    }

    private int choose(KernelTuner t, OpShape shape, int nsel) {
        return t.choose(CudaOp.CONV2D_FORWARD, shape, nsel, launched::add);
    }

    @Test
    void picksTheFastestEligibleOnceAndRemembersIt() {
        FakeTimer timer = new FakeTimer(9.0, 2.0, 1.5);
        KernelTuner t = tuner(TuningMode.ON, timer, H200);
        assertEquals(3, choose(t, SHAPE, 5));
        assertEquals(List.of("v1_naive", "v2_tiled", "v3_dense"), timer.timed);
        assertEquals(List.of(1, 2, 3), launched, "each candidate ran on the call's own arguments");
        assertEquals(3, choose(t, SHAPE, 7), "5 and 7 share the bucket 8");
        assertEquals(3, timer.timed.size(), "no second timing");
        TuningChoice c = t.choice(CudaOp.CONV2D_FORWARD, SHAPE, 6).orElseThrow();
        assertEquals("tuned", c.source());
        assertEquals(8, c.nselBucket());
        assertEquals(Map.of("v1_naive", 9.0, "v2_tiled", 2.0, "v3_dense", 1.5), c.millis());
        assertEquals(2, choose(t, DEPTHWISE, 0), "v3_dense is not eligible for depthwise");
        assertEquals(List.of("v1_naive", "v2_tiled", "v3_dense", "v1_naive", "v2_tiled"), timer.timed);
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void aChoiceThatCannotServeAnotherSizeOfItsBucketIsMadeAgain() {
        FakeTimer timer = new FakeTimer(9.0, 2.0, 1.5);
        ImplementationTable upToFive = new ImplementationTable() {
            final FakeTable base = new FakeTable();

            @Override
            public List<Implementation> implementations(CudaOp op) {
                return base.implementations(op);
            }

            @Override
            public boolean eligible(Implementation impl, OpShape shape, int nsel) {
                return !(impl.name().equals("v3_dense") && nsel > 5);  // like v6_stream's |S|·D² <= 32
            }

            @Override
            public int heuristic(CudaOp op, OpShape shape, int nsel) {
                return base.heuristic(op, shape, nsel);
            }
        };
        KernelTuner t = new KernelTuner(upToFive, TuningMode.ON, timer, cacheDir, H200, warnings::add);
        assertEquals(3, choose(t, SHAPE, 5));
        assertEquals(2, choose(t, SHAPE, 7), "7 shares 5's bucket, but v3_dense cannot serve it");
        assertEquals(List.of("v1_naive", "v2_tiled", "v3_dense", "v1_naive", "v2_tiled"), timer.timed);
    }

    @Test
    void bucketsArePowersOfTwo() {
        assertEquals(0, KernelTuner.bucket(0));
        assertEquals(1, KernelTuner.bucket(1));
        assertEquals(2, KernelTuner.bucket(2));
        assertEquals(4, KernelTuner.bucket(3));
        assertEquals(4, KernelTuner.bucket(4));
        assertEquals(8, KernelTuner.bucket(5));
        assertEquals(128, KernelTuner.bucket(100));
    }

    @Test
    void offTakesTheHeuristicWithoutTiming() {
        FakeTimer timer = new FakeTimer(9.0, 2.0, 1.5);
        KernelTuner t = tuner(TuningMode.OFF, timer, H200);
        assertEquals(2, choose(t, SHAPE, 0));
        assertTrue(timer.timed.isEmpty());
        assertTrue(launched.isEmpty());
        assertEquals("heuristic", t.choice(CudaOp.CONV2D_FORWARD, SHAPE, 0).orElseThrow().source());
        assertTrue(Files.notExists(t.cacheFile()), "off writes no cache");
    }

    @Test
    void aPinWinsOverTuningAndUnpinHandsBack() {
        FakeTimer timer = new FakeTimer(9.0, 2.0, 1.5);
        KernelTuner t = tuner(TuningMode.ON, timer, H200);
        t.pin(new FakeTable().forward.getFirst());
        assertEquals(1, choose(t, SHAPE, 0));
        assertTrue(timer.timed.isEmpty());
        assertEquals("pinned", t.choice(CudaOp.CONV2D_FORWARD, SHAPE, 0).orElseThrow().source());
        t.unpin(CudaOp.CONV2D_FORWARD);
        assertEquals(3, choose(t, SHAPE, 0));
    }

    @Test
    void theDiskCacheServesTheNextProcessAndForceRetunes() {
        assertEquals(3, choose(tuner(TuningMode.ON, new FakeTimer(9.0, 2.0, 1.5), H200), SHAPE, 3));
        FakeTimer second = new FakeTimer(1.0, 1.0, 1.0);
        KernelTuner next = tuner(TuningMode.ON, second, H200);
        assertEquals(3, choose(next, SHAPE, 4), "from the cache, though this timer would now say v1");
        assertTrue(second.timed.isEmpty());
        assertEquals("cached", next.choice(CudaOp.CONV2D_FORWARD, SHAPE, 4).orElseThrow().source());

        FakeTimer forced = new FakeTimer(0.5, 2.0, 1.5);
        KernelTuner force = tuner(TuningMode.FORCE, forced, H200);
        assertEquals(1, choose(force, SHAPE, 4));
        assertEquals(3, forced.timed.size());
        KernelTuner after = tuner(TuningMode.ON, new FakeTimer(9, 9, 9), H200);
        assertEquals(1, choose(after, SHAPE, 4), "force rewrote the cache");
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void theCacheIsKeyedByDeviceDriverAndLibrary() {
        choose(tuner(TuningMode.ON, new FakeTimer(9.0, 2.0, 1.5), H200), SHAPE, 0);
        for (KernelTuner.Context other : List.of(new KernelTuner.Context("NVIDIA A100", 13000, "abi4-0123"),
                new KernelTuner.Context("NVIDIA H200", 12080, "abi4-0123"),
                new KernelTuner.Context("NVIDIA H200", 13000, "abi4-4567"))) {
            FakeTimer timer = new FakeTimer(0.5, 2.0, 1.5);
            KernelTuner t = tuner(TuningMode.ON, timer, other);
            assertEquals(1, choose(t, SHAPE, 0), "not the H200's cached v3 for " + other);
            assertEquals(3, timer.timed.size());
        }
        assertTrue(warnings.isEmpty(), warnings.toString());
    }

    @Test
    void aCorruptCacheFileIsIgnoredWithOneWarning() throws IOException {
        KernelTuner first = tuner(TuningMode.ON, new FakeTimer(9.0, 2.0, 1.5), H200);
        choose(first, SHAPE, 0);
        Path file = first.cacheFile();
        Files.writeString(file, Files.readString(file) + "CONV2D_FORWARD 1,2,3 oops\n");
        FakeTimer timer = new FakeTimer(0.5, 2.0, 1.5);
        KernelTuner t = tuner(TuningMode.ON, timer, H200);
        assertEquals(1, choose(t, SHAPE, 0), "retuned instead of trusting the file");
        assertEquals(1, choose(t, DEPTHWISE, 0));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().contains("corrupt") && warnings.getFirst().contains(file.toString()),
                warnings.getFirst());
        assertEquals(1, choose(tuner(TuningMode.ON, new FakeTimer(9, 9, 9), H200), SHAPE, 0),
                "the rewritten file is whole again");
        assertEquals(1, warnings.size());
    }

    @Test
    void aForeignOrGarbageFileIsIgnoredWithOneWarning() throws IOException {
        KernelTuner t = tuner(TuningMode.ON, new FakeTimer(9.0, 2.0, 1.5), H200);
        Files.createDirectories(t.cacheFile().getParent());
        Files.write(t.cacheFile(), new byte[] {0, (byte) 0xff, 3, '\n', 7});
        assertEquals(3, choose(t, SHAPE, 0));
        assertEquals(2, choose(t, DEPTHWISE, 0));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().startsWith("trady4j: warning: ignoring the tuning cache"), warnings.getFirst());
    }

    @Test
    void anUnwritableCacheDirectoryOnlyWarns() throws IOException {
        Path blocker = cacheDir.resolve("file-not-dir");
        Files.writeString(blocker, "x");
        KernelTuner t = new KernelTuner(new FakeTable(), TuningMode.ON, new FakeTimer(9.0, 2.0, 1.5),
                blocker.resolve("sub"), H200, warnings::add);
        assertEquals(3, choose(t, SHAPE, 0));
        assertEquals(2, choose(t, DEPTHWISE, 0));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().contains(t.cacheFile().toString()), warnings.getFirst());
    }
}
