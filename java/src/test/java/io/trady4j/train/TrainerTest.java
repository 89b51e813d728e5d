package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.Network;
import io.trady4j.nn.NetworkTest;
import io.trady4j.tensor.Shape;
import io.trady4j.trady.SelectionProblem;
import io.trady4j.trady.Strategies;
import org.junit.jupiter.api.Test;

import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    /** Four classes told apart by which image quadrant is bright, plus noise. */
    static final class Quadrants implements BatchSource {
        private final int size;
        private final long seed;

        Quadrants(int size, long seed) {
            this.size = size;
            this.seed = seed;
        }

        @Override
        public int size() {
            return size;
        }

        @Override
        public int classes() {
            return 4;
        }

        @Override
        public BatchStream batches(int epoch, int batchSize, boolean training) {
            return BatchStream.of(new Iterator<>() {
                int next = 0;

                @Override
                public boolean hasNext() {
                    return next < size;
                }

                @Override
                public HostBatch next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    int b = Math.min(batchSize, size - next);
                    float[] x = new float[b * 3 * 11 * 11];
                    int[] y = new int[b];
                    for (int i = 0; i < b; i++) {
                        int sample = next + i;
                        Random r = new Random(seed * 1_000_003 + sample + (training ? epoch * 7919L : 0));
                        y[i] = sample % 4;
                        for (int c = 0; c < 3; c++) {
                            for (int h = 0; h < 11; h++) {
                                for (int w = 0; w < 11; w++) {
                                    int q = (h < 6 ? 0 : 2) + (w < 6 ? 0 : 1);
                                    x[((i * 3 + c) * 11 + h) * 11 + w] = (q == y[i] ? 1f : 0f) + 0.3f * (float) r.nextGaussian();
                                }
                            }
                        }
                    }
                    next += b;
                    return new HostBatch(x, y, Shape.of(b, 3, 11, 11));
                }
            });
        }
    }

    private static SelectionProblem problem(Architecture arch, long budget, long seed) {
        List<ConvLayerSpec> layers = arch.convLayers();
        int[] ch = layers.stream().mapToInt(l -> l.conv().inChannels()).toArray();
        long[] units = layers.stream().mapToLong(l -> l.conv().weightsPerInputChannel() + 25L).toArray();
        return new SelectionProblem(ch, units, budget, List.of(5, 2, 3, 6), seed);
    }

    private static List<EpochResult> run(String strategy, long seed, Map<String, float[]>[] finalParams) throws Exception {
        Architecture arch = NetworkTest.tinyArchitecture();
        try (Backend backend = new CpuBackend(2);
             Network net = Network.create(backend, arch, NetworkTest.randomParameters(arch, 42))) {
            TrainConfig cfg = TrainConfig.defaults().withEpochs(6).withBatchSize(16).withLearningRate(0.1).withWarmupEpochs(1).withSeed(seed);
            Trainer t = new Trainer(net, cfg, Progress.quiet(new PrintStream(new ByteArrayOutputStream())));
            List<EpochResult> r = t.run(new Quadrants(256, seed), new Quadrants(64, seed + 1), Strategies.byName(strategy),
                    problem(arch, 600, seed), 0, null);
            if (finalParams != null) {
                finalParams[0] = net.parameters();
            }
            return r;
        }
    }

    @Test
    void trainingLearnsAndStaysWithinBudget() throws Exception {
        List<EpochResult> r = run("trady", 1, null);
        assertEquals(6, r.size());
        assertTrue(r.getLast().trainLoss() < r.getFirst().trainLoss(), "loss did not decrease: " + r);
        assertTrue(r.getLast().testAccuracy() > 0.5, "test accuracy " + r.getLast().testAccuracy());
        for (EpochResult e : r) {
            assertTrue(e.selectedUnits() <= 600, "over budget: " + e.selectedUnits());
        }
        assertTrue(!Arrays.deepEquals(r.get(0).selection().values().toArray(), r.get(1).selection().values().toArray())
                || !r.get(0).selection().keySet().equals(r.get(1).selection().keySet()), "trady must redraw");
    }

    @Test
    @SuppressWarnings("unchecked")
    void seededRunsReproduceExactly() throws Exception {
        Map<String, float[]>[] a = new Map[1];
        Map<String, float[]>[] b = new Map[1];
        List<EpochResult> ra = run("trady", 3, a);
        List<EpochResult> rb = run("trady", 3, b);
        for (int i = 0; i < ra.size(); i++) {
            assertEquals(ra.get(i).trainLoss(), rb.get(i).trainLoss());
        }
        for (String k : a[0].keySet()) {
            assertArrayEquals(a[0].get(k), b[0].get(k), k);
        }
    }
}
