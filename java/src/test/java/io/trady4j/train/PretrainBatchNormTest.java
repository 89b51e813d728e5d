package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.io.SafeTensors;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.nn.NetworkBatchNormTest;
import io.trady4j.nn.NetworkTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Experiment#pretrain} trains BatchNorm (batch statistics, γ and β, running averages) on an easy
 * synthetic task, saves the network with BN folded into its convolutions — the network it evaluated — and
 * resumes an interrupted run from its checkpoint (which holds the BN state) bit for bit.
 */
class PretrainBatchNormTest {
    static final Architecture ARCH = NetworkBatchNormTest.withBatchNorm(NetworkTest.tinyArchitecture());
    private static final TrainConfig CONFIG = TrainConfig.defaults().withEpochs(6).withBatchSize(16).withLearningRate(0.2)
            .withWarmupEpochs(1).withSeed(5);

    @TempDir
    Path dir;
    private final Backend backend = new CpuBackend(2);
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    @AfterEach
    void close() {
        backend.close();
    }

    private RunReport pretrain(BatchSource train, StopSignal stop, Path out, Path checkpoint, boolean resume)
            throws IOException {
        return pretrain(CONFIG, train, stop, out, checkpoint, resume);
    }

    private RunReport pretrain(TrainConfig config, BatchSource train, StopSignal stop, Path out, Path checkpoint, boolean resume)
            throws IOException {
        Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet), stop);
        Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, train, new TrainerTest.Quadrants(64, 8));
        return ex.pretrain(ARCH, HostWeights.random(ARCH, 3), data, config, out, Map.of("job", "pretrain"), checkpoint,
                resume);
    }

    @Test
    void pretrainingLearnsWithBatchNormAndSavesTheFoldedNetworkItEvaluated() throws IOException {
        Path out = dir.resolve("base.safetensors");
        RunReport report = pretrain(new TrainerTest.Quadrants(160, 7), new StopSignal(), out, null, false);
        List<EpochResult> epochs = report.epochs();
        EpochResult first = epochs.getFirst(), last = epochs.getLast();
        assertTrue(last.trainLoss() < first.trainLoss() && last.trainLoss() < 0.8 * Math.log(4),
                "the training loss must fall well below ln 4: " + first.trainLoss() + " -> " + last.trainLoss());
        assertTrue(last.testAccuracy() >= 0.7, "4 quadrant classes (chance 25%): test accuracy " + last.testAccuracy());

        HostWeights saved = HostWeights.read(ARCH, out, 0);
        boolean foldedBias = false;
        for (ConvLayerSpec c : ARCH.convLayers()) {
            for (float b : saved.parameters().get(c.name() + ".bias")) {
                foldedBias |= b != 0;
            }
        }
        assertTrue(foldedBias, "the init's conv biases are 0: only folding β − γ·mean/√(var + ε) makes them non-zero");
        try (Network folded = Network.create(backend, ARCH, saved.parameters())) {
            double[] eval = new Trainer(folded, CONFIG, Progress.quiet(quiet)).evaluate(new TrainerTest.Quadrants(64, 8));
            assertEquals(last.testLoss(), eval[0], 1e-4 * (1 + last.testLoss()), "the saved network's test loss");
            assertEquals(last.testAccuracy(), eval[1], 1.0 / 64 + 1e-9, "the saved network's test accuracy");
        }
    }

    /** With momentum (the study's and pretrain's default, 0.9) the checkpoint also holds γ's and β's momentum buffers. */
    @ParameterizedTest
    @ValueSource(doubles = {0, 0.9})
    void anInterruptedPretrainingResumesExactlyWithItsBatchNormState(double momentum) throws IOException {
        TrainConfig config = CONFIG.withMomentum(momentum);
        Path expected = dir.resolve("uninterrupted.safetensors");
        BatchSource train = new TrainerTest.Quadrants(160, 7);
        RunReport whole = pretrain(config, train, new StopSignal(), expected, null, false);

        Path out = dir.resolve("resumed.safetensors"), ck = dir.resolve("pretrain.ck.safetensors");
        StopSignal stop = new StopSignal();
        assertThrows(TrainingInterruptedException.class,
                () -> pretrain(config, new ResumeTest.StopAfter(train, stop, 15, false), stop, out, ck, false));
        Checkpoint.Loaded loaded = Checkpoint.load(ck, ARCH);
        long bnBuffers = loaded.training().momentum().keySet().stream().filter(k -> k <= -3).count();
        long norms = ARCH.convLayers().stream().filter(c -> c.batchNorm() != null).count();
        assertEquals(momentum > 0 ? 2 * norms : 0, bnBuffers, "BN momentum buffers in the checkpoint");
        assertTrue(loaded.trainsBatchNorm(), "the checkpoint holds the BatchNorm state");
        float[] runningMean = loaded.batchNorm().get("stem.bn.running_mean");
        assertTrue(runningMean != null && runningMean[0] != 0, "the running mean moved from its start of 0");
        RunReport resumed = pretrain(config, train, new StopSignal(), out, ck, true);

        assertEquals(ResumeTest.epochsWithoutTime(whole.epochJson()), ResumeTest.epochsWithoutTime(resumed.epochJson()));
        SafeTensors a = SafeTensors.read(expected), b = SafeTensors.read(out);
        assertEquals(a.names(), b.names());
        for (String name : a.names()) {
            assertArrayEquals(a.floats(name), b.floats(name), name);
        }
    }
}
