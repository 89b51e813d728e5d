package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.nn.NetworkTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A NaN or infinite loss (or parameter) stops the run with a clear message; the last good checkpoint stays. */
class DivergenceTest {
    @TempDir
    Path dir;
    private final Backend backend = new CpuBackend(2);
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    @AfterEach
    void close() {
        backend.close();
    }

    /** Quadrants whose batch {@code batch} of epoch {@code epoch} carries one {@code value} pixel. */
    static final class Poisoned extends TappedBatchSource {
        private final int epoch;
        private final int batch;
        private final float value;
        private final Runnable onPoison;

        Poisoned(int epoch, int batch, float value, Runnable onPoison) {
            super(new TrainerTest.Quadrants(64, 7));
            this.epoch = epoch;
            this.batch = batch;
            this.value = value;
            this.onPoison = onPoison;
        }

        @Override
        void served(int e, int index, HostBatch b) {
            if (e == epoch && index == batch) {
                onPoison.run();
                b.images()[17] = value;
            }
        }
    }

    private void divergeInSecondEpoch(float value) throws IOException {
        Path ck = dir.resolve("ck-" + value + ".safetensors");
        byte[][] atPoison = new byte[1][];
        BatchSource train = new Poisoned(1, 2, value, () -> {
            try {
                atPoison[0] = Files.readAllBytes(ck);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet));
        HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
        Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, train, new TrainerTest.Quadrants(32, 8));
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> ex.finetune(ResumeTest.ARCH, base,
                data, ResumeTest.config(0.9), "trady", ResumeTest.budget(), ResumeTest.ranking(), ck, false,
                Map.of("job", "test")));
        // the loss catches it if the activations propagate NaN (as PyTorch's do), the gradient check if they hide it
        assertTrue(e.getMessage().matches("training diverged: the (loss|weight gradient of layer \\S+) became NaN at epoch 2, step 3 .*"),
                e.getMessage());
        assertTrue(e.getMessage().contains("the last good checkpoint is " + ck + " (after epoch 1)"), e.getMessage());
        // the checkpoint of epoch 1 is untouched and loads
        assertArrayEquals(atPoison[0], Files.readAllBytes(ck));
        Checkpoint.Loaded loaded = Checkpoint.load(ck, ResumeTest.ARCH);
        assertEquals(1, loaded.training().epoch());
        assertEquals(0, loaded.training().step());
        assertEquals(1, loaded.epochs().size());
    }

    @Test
    void aNanPixelStopsTheRunAndKeepsTheCheckpointOfTheLastEpoch() throws IOException {
        divergeInSecondEpoch(Float.NaN);
    }

    @Test
    void anInfinitePixelStopsTheRunToo() throws IOException {
        divergeInSecondEpoch(Float.POSITIVE_INFINITY);
    }

    @Test
    @SuppressWarnings("unchecked")
    void aNonFiniteGradientBehindAFiniteLossIsCaughtBeforeTheUpdate() throws IOException {
        try (Network net = Network.create(backend, ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 2))) {
            Map<String, float[]>[] beforeBadStep = new Map[1];
            int[] steps = {0};
            TrainingListener poison = new TrainingListener() {
                @Override
                public void gradients(io.trady4j.nn.Gradients g, io.trady4j.nn.Selection selection) {
                    if (++steps[0] == 6) {
                        beforeBadStep[0] = net.parameters();
                        for (int l = 0; l < ResumeTest.ARCH.convLayers().size(); l++) {
                            if (g.layer(l) != null) {
                                backend.fill(g.layer(l), Float.NaN);
                                return;
                            }
                        }
                        backend.fill(g.classifierWeight(), Float.POSITIVE_INFINITY);
                    }
                }
            };
            Trainer t = new Trainer(net, ResumeTest.config(0.9), Progress.quiet(quiet));
            var problem = new io.trady4j.trady.SelectionProblem(
                    ResumeTest.ARCH.convLayers().stream().mapToInt(l -> l.conv().inChannels()).toArray(),
                    Experiment.unitsPerChannel(io.trady4j.trady.CostModel.of(ResumeTest.ARCH, ResumeTest.RES)),
                    ResumeTest.budget(), java.util.List.of(6, 1, 2), 5);
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> t.run(
                    new TrainerTest.Quadrants(64, 7), new TrainerTest.Quadrants(32, 8),
                    io.trady4j.trady.Strategies.byName("trady"), problem, 0, poison));
            assertTrue(e.getMessage().matches("training diverged: the weight gradient of (layer \\S+|the classifier) became "
                    + "(NaN|Infinity) at epoch 2, step 2 .*"), e.getMessage());
            Map<String, float[]> after = net.parameters();
            for (String k : after.keySet()) {
                assertArrayEquals(beforeBadStep[0].get(k), after.get(k), k + " was updated from a non-finite gradient");
            }
        }
    }

    @Test
    void aHugeLearningRateStopsTheRunWithAClearMessage() {
        Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet));
        HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
        Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, new TrainerTest.Quadrants(64, 7),
                new TrainerTest.Quadrants(32, 8));
        TrainConfig wild = TrainConfig.defaults().withEpochs(3).withBatchSize(16).withLearningRate(1e38).withSeed(5);
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> ex.finetune(ResumeTest.ARCH, base,
                data, wild, "full", 0, null, dir.resolve("wild.safetensors"), false, Map.of("job", "test")));
        assertTrue(e.getMessage().startsWith("training diverged: "), e.getMessage());
        assertTrue(e.getMessage().contains("try a smaller learning rate"), e.getMessage());
        if (Files.exists(dir.resolve("wild.safetensors"))) {
            assertTrue(e.getMessage().contains("the last good checkpoint is"), e.getMessage());
        }
    }

    @Test
    void aCheckpointNeverHoldsNonFiniteParameters() throws IOException {
        Path ck = dir.resolve("finite.safetensors");
        Map<String, float[]> params = NetworkTest.randomParameters(ResumeTest.ARCH, 1);
        try (Network net = Network.create(backend, ResumeTest.ARCH, params)) {
            Checkpoint.save(ck, net, TrainingState.start(1), Map.of());
        }
        byte[] good = Files.readAllBytes(ck);
        params.get("b1.dw.weight")[5] = Float.NEGATIVE_INFINITY;
        try (Network net = Network.create(backend, ResumeTest.ARCH, params)) {
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                    () -> Checkpoint.save(ck, net, TrainingState.start(2), Map.of()));
            assertTrue(e.getMessage().contains("b1.dw.weight"), e.getMessage());
        }
        assertArrayEquals(good, Files.readAllBytes(ck));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "a temporary file was left behind");
        }
    }
}
