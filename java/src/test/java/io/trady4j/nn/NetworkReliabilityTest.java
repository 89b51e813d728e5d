package io.trady4j.nn;

import io.trady4j.backend.Backend;
import io.trady4j.backend.SgdStep;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's public entry points reject bad input with one clear sentence and free everything they
 * allocated on every path, so memory returns to its baseline after passes, updates and failures.
 */
class NetworkReliabilityTest {
    private final Backend backend = new CpuBackend(2);
    private final Architecture arch = NetworkTest.tinyArchitecture();

    @AfterEach
    void close() {
        backend.close();
    }

    private Tensor input(int batch, long seed) {
        Random r = new Random(seed);
        float[] v = new float[batch * 3 * 11 * 11];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return backend.upload(v, Shape.of(batch, 3, 11, 11), MemoryCategory.DATA);
    }

    /** Runs {@code bad}, expects {@code type} with a one-sentence message, and no memory left behind. */
    private <T extends Throwable> void rejects(Class<T> type, String fragment, Executable bad) {
        long before = backend.memory().liveBytes();
        T e = assertThrows(type, bad);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment), () -> "message: " + e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertEquals(before, backend.memory().liveBytes(), () -> "leaked after: " + e.getMessage());
    }

    @Test
    void badInputIsRejectedClearlyAndLeaksNothing() {
        Map<String, float[]> params = NetworkTest.randomParameters(arch, 1);
        try (Network net = Network.create(backend, arch, params);
             Tensor x = input(2, 1);
             Tensor labels = backend.uploadInts(new int[]{0, 3}, Shape.of(2), MemoryCategory.DATA);
             Selection sel = Selection.of(backend, arch, Map.of(1, new int[]{0, 2}, 5, new int[]{3}))) {
            long baseline = backend.memory().liveBytes();
            try (Tensor wrongChannels = backend.allocate(Shape.of(2, 4, 11, 11), MemoryCategory.DATA)) {
                rejects(IllegalArgumentException.class, "input must be [B, 3, H, W]",
                        () -> net.forwardBackward(wrongChannels, labels, sel).close());
                rejects(IllegalArgumentException.class, "input must be [B, 3, H, W]", () -> net.evaluate(wrongChannels, labels));
            }
            try (Tensor ints = backend.allocate(Shape.of(2, 3, 11, 11), DType.I32, MemoryCategory.DATA)) {
                rejects(IllegalArgumentException.class, "float32", () -> net.forwardBackward(ints, labels, sel).close());
            }
            try (Tensor badLabels = backend.uploadInts(new int[]{0, 9}, Shape.of(2), MemoryCategory.DATA)) {
                rejects(IllegalArgumentException.class, "label 9", () -> net.forwardBackward(x, badLabels, sel).close());
                rejects(IllegalArgumentException.class, "label 9", () -> net.evaluate(x, badLabels).close());
            }
            try (Tensor shortLabels = backend.uploadInts(new int[]{0}, Shape.of(1), MemoryCategory.DATA)) {
                rejects(IllegalArgumentException.class, "labels must be [2]", () -> net.forwardBackward(x, shortLabels, sel).close());
            }
            try (Backend other = new CpuBackend(1); Tensor foreign = other.upload(new float[2 * 3 * 11 * 11],
                    Shape.of(2, 3, 11, 11), MemoryCategory.DATA)) {
                // a tensor of another backend instance is fine for the CPU backend only if it is a CPU tensor
                net.forwardBackward(foreign, labels, sel).close();
            }
            Tensor closed = input(2, 2);
            closed.close();
            // IllegalStateException or IllegalArgumentException, depending on where the backend notices
            rejects(RuntimeException.class, "closed", () -> net.forwardBackward(closed, labels, sel).close());
            Architecture otherArch = arch.withClasses(5);
            try (Selection foreignSel = Selection.of(backend, otherArch, Map.of(1, new int[]{0}))) {
                rejects(IllegalArgumentException.class, "another architecture",
                        () -> net.forwardBackward(x, labels, foreignSel).close());
            }
            rejects(IllegalArgumentException.class, "layer index 7", () -> Selection.of(backend, arch, Map.of(7, new int[]{0})));
            rejects(IllegalArgumentException.class, "out of range [0, 6)",
                    () -> Selection.of(backend, arch, Map.of(2, new int[]{2}, 1, new int[]{0, 6})));
            rejects(IllegalArgumentException.class, "sorted and unique",
                    () -> Selection.of(backend, arch, Map.of(1, new int[]{1}, 2, new int[]{4, 4})));
            rejects(IllegalArgumentException.class, "sorted and unique", () -> Selection.of(backend, arch, Map.of(2, new int[]{5, 1})));
            rejects(IllegalArgumentException.class, "out of range", () -> Selection.of(backend, arch, Map.of(0, new int[]{-1})));
            try (Gradients g = net.forwardBackward(x, labels, sel)) {
                SgdStep withMomentum = new SgdStep(0.1f, 0.9f, 0f);
                rejects(IllegalArgumentException.class, "momentum", () -> net.applySgd(g, sel, withMomentum, withMomentum, null));
            }
            assertEquals(baseline, backend.memory().liveBytes());
        }
        assertEquals(0, backend.memory().liveBytes(), "closing the network and selections frees everything");
    }

    @Test
    void createRejectsMissingOrMisshapenParametersAndFreesWhatItUploaded() {
        Map<String, float[]> params = new LinkedHashMap<>(NetworkTest.randomParameters(arch, 1));
        params.remove("b2.down.weight");
        rejects(IllegalArgumentException.class, "parameter 'b2.down.weight' is missing", () -> Network.create(backend, arch, params));
        params.put("b2.down.weight", new float[5]);
        rejects(IllegalArgumentException.class, "'b2.down.weight' has 5 values", () -> Network.create(backend, arch, params));
        assertEquals(0, backend.memory().liveBytes());
    }

    @Test
    void memoryReturnsToTheBaselineAfterEveryPassUpdateAndSelectionChange() {
        MemoryMXBean heap = ManagementFactory.getMemoryMXBean();
        Random r = new Random(3);
        List<ConvLayerSpec> layers = arch.convLayers();
        long heapEarly = 0;
        try (Network net = Network.create(backend, arch, NetworkTest.randomParameters(arch, 4))) {
            long baseline = backend.memory().liveBytes();
            assertEquals(baseline, backend.memory().liveBytes(MemoryCategory.PARAMETER));
            for (int iter = 0; iter < 300; iter++) {
                Map<Integer, int[]> chosen = new HashMap<>();
                for (int l = 0; l < layers.size(); l++) {
                    if (r.nextInt(3) == 0) {
                        int c = layers.get(l).conv().inChannels();
                        chosen.put(l, r.ints(0, c).distinct().limit(1 + r.nextInt(c)).sorted().toArray());
                    }
                }
                Map<Integer, Tensor> momentum = new HashMap<>();
                try (Selection sel = Selection.of(backend, arch, chosen)) {
                    for (int step = 0; step < 2; step++) {
                        int b = 1 + r.nextInt(4);
                        try (Tensor x = input(b, iter * 7L + step);
                             Tensor y = backend.uploadInts(r.ints(b, 0, 4).toArray(), Shape.of(b), MemoryCategory.DATA);
                             Gradients g = net.forwardBackward(x, y, sel)) {
                            SgdStep s = new SgdStep(0.01f, 0.9f, 1e-4f);
                            net.applySgd(g, sel, s, s, momentum);
                        }
                        try (Tensor x = input(2, iter);
                             Tensor y = backend.uploadInts(new int[]{1, 2}, Shape.of(2), MemoryCategory.DATA);
                             Tensor stats = net.evaluate(x, y)) {
                            assertEquals(2, stats.numel());
                        }
                    }
                } finally {
                    momentum.values().forEach(Tensor::close);
                }
                assertEquals(baseline, backend.memory().liveBytes(), "iteration " + iter);
                if (iter == 50) {
                    heapEarly = usedHeapAfterGc(heap);
                }
            }
            long heapLate = usedHeapAfterGc(heap);
            assertTrue(heapLate - heapEarly < 32L << 20,
                    "heap grew from " + heapEarly + " to " + heapLate + " bytes over 250 iterations");
        }
        assertEquals(0, backend.memory().liveBytes());
    }

    static long usedHeapAfterGc(MemoryMXBean heap) {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            best = Math.min(best, heap.getHeapMemoryUsage().getUsed());
        }
        return best;
    }
}
