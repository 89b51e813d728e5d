package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.io.Json;
import io.trady4j.io.SafeTensors;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.NetworkTest;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.LayerRanking;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run stopped between steps (or during an epoch's evaluation, or between epochs) and resumed from
 * its checkpoint ends with exactly the weights and per-epoch report of an uninterrupted run, for
 * dynamic and static strategies, with momentum.
 */
class ResumeTest {
    static final Architecture ARCH = NetworkTest.tinyArchitecture();
    static final int RES = 11;

    @TempDir
    Path dir;
    private final Backend backend = new CpuBackend(2);
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    @AfterEach
    void close() {
        backend.close();
    }

    /** Serves a source's batches and raises {@code stop} once the {@code after}-th training batch has been served. */
    static final class StopAfter extends TappedBatchSource {
        private final StopSignal stop;
        private final int after;
        private final boolean duringEval;
        private int served;

        StopAfter(BatchSource inner, StopSignal stop, int after, boolean duringEval) {
            super(inner);
            this.stop = stop;
            this.after = after;
            this.duringEval = duringEval;
        }

        @Override
        void served(int epoch, int index, HostBatch batch) {
            if (++served == after && !duringEval) {
                stop.request("test stop");
            }
        }

        /** For stops during evaluation: the eval source raises the stop after {@code after} training batches. */
        BatchSource evalSource(BatchSource test) {
            return new BatchSource() {
                @Override
                public int size() {
                    return test.size();
                }

                @Override
                public int classes() {
                    return test.classes();
                }

                @Override
                public BatchStream batches(int epoch, int batchSize, boolean training) {
                    if (duringEval && served >= after) {
                        stop.request("test stop during evaluation");
                    }
                    return test.batches(epoch, batchSize, training);
                }
            };
        }
    }

    static LayerRanking ranking() {
        List<String> names = ARCH.convLayers().stream().map(ConvLayerSpec::name).toList();
        double[] scores = {0.5, 3, 2, 0.2, 1, 0.1, 4};
        return new LayerRanking(ARCH.name(), RES, "quadrants", 1, names, scores);
    }

    static long budget() {
        return CostModel.of(ARCH, RES).totalUnits() / 3;
    }

    private RunReport finetune(String strategy, TrainConfig cfg, BatchSource train, BatchSource test, StopSignal stop,
                               Path checkpoint, boolean resume) throws IOException {
        Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet), stop);
        HostWeights base = HostWeights.fromParameters(ARCH, NetworkTest.randomParameters(ARCH, 42));
        Experiment.TaskData data = new Experiment.TaskData(null, RES, train, test);
        return ex.finetune(ARCH, base, data, cfg, strategy, budget(), ranking(), checkpoint, resume,
                Map.of("job", "test", "strategy", strategy));
    }

    static TrainConfig config(double momentum) {
        return TrainConfig.defaults().withEpochs(3).withBatchSize(16).withLearningRate(0.05).withWarmupEpochs(1)
                .withMomentum(momentum).withWeightDecay(1e-4).withSeed(5);
    }

    /** The report epochs without wall time, as JSON text. */
    static String epochsWithoutTime(List<Map<String, Object>> epochs) {
        List<Object> out = new ArrayList<>();
        for (Map<String, Object> e : epochs) {
            Map<String, Object> m = new LinkedHashMap<>(e);
            m.remove("seconds");
            out.add(m);
        }
        return Json.write(out);
    }

    static void assertSameTensors(Path expected, Path actual) throws IOException {
        SafeTensors a = SafeTensors.read(expected), b = SafeTensors.read(actual);
        assertEquals(a.names(), b.names());
        for (String n : a.names()) {
            assertArrayEquals(a.floats(n), b.floats(n), n);
        }
    }

    private void interruptAndResume(String strategy, double momentum, int stopAfter, boolean duringEval) throws IOException {
        BatchSource train = new TrainerTest.Quadrants(64, 7), test = new TrainerTest.Quadrants(32, 8);
        Path full = dir.resolve(strategy + "-full.safetensors");
        RunReport expected = finetune(strategy, config(momentum), train, test, new StopSignal(), full, false);

        Path ck = dir.resolve(strategy + "-" + stopAfter + duringEval + ".safetensors");
        StopSignal stop = new StopSignal();
        StopAfter stopping = new StopAfter(train, stop, stopAfter, duringEval);
        TrainingInterruptedException e = assertThrows(TrainingInterruptedException.class, () -> finetune(strategy,
                config(momentum), stopping, stopping.evalSource(test), stop, ck, false));
        assertTrue(e.getMessage().contains("--resume"), e.getMessage());
        Checkpoint.Loaded saved = Checkpoint.load(ck, ARCH);
        assertTrue(saved.training().epoch() < 3);

        RunReport resumed = finetune(strategy, config(momentum), train, test, new StopSignal(), ck, true);
        assertSameTensors(full, ck);
        assertEquals(epochsWithoutTime(expected.epochJson()), epochsWithoutTime(resumed.epochJson()));
        assertEquals(3, resumed.epochJson().size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"trady", "su-rgn-fill", "s-det-rgn", "d-det-rgn", "s-full-random", "full", "classifier"})
    void stoppedInTheMiddleOfAnEpochResumesExactly(String strategy) throws IOException {
        interruptAndResume(strategy, 0.9, 6, false);
    }

    @Test
    void stoppedBetweenEpochsOrDuringEvaluationResumesExactly() throws IOException {
        interruptAndResume("su-rgn-fill", 0.9, 4, false);   // the 4th batch ends epoch 1: stops while evaluating it
        interruptAndResume("su-rgn-fill", 0.9, 8, true);    // stops while evaluating epoch 2
        interruptAndResume("trady", 0.9, 8, true);
        interruptAndResume("trady", 0, 5, false);
    }

    @Test
    void staticSelectionsAreKeptAcrossResumes() throws IOException {
        // s-det-rgn and su select from the current weights: a resumed run must reuse the first selection.
        BatchSource train = new TrainerTest.Quadrants(64, 7), test = new TrainerTest.Quadrants(32, 8);
        for (String strategy : List.of("su-rgn-fill", "s-det-rgn")) {
            Path ck = dir.resolve(strategy + ".safetensors");
            StopSignal stop = new StopSignal();
            assertThrows(TrainingInterruptedException.class, () -> finetune(strategy, config(0), new StopAfter(train, stop, 4,
                    false), test, stop, ck, false));
            RunReport r = finetune(strategy, config(0), train, test, new StopSignal(), ck, true);
            List<Map<String, Object>> epochs = r.epochJson();
            for (Map<String, Object> e : epochs) {
                assertEquals(Json.write(epochs.getFirst().get("selection")), Json.write(e.get("selection")), strategy);
            }
        }
    }

    @Test
    void aCheckpointOfAnotherRunIsRefused() throws IOException {
        BatchSource train = new TrainerTest.Quadrants(64, 7), test = new TrainerTest.Quadrants(32, 8);
        Path ck = dir.resolve("ck.safetensors");
        StopSignal stop = new StopSignal();
        assertThrows(TrainingInterruptedException.class, () -> finetune("trady", config(0), new StopAfter(train, stop, 5, false),
                test, stop, ck, false));
        TrainConfig other = config(0).withLearningRate(0.1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> finetune("trady", other, train, test, new StopSignal(), ck, true));
        assertTrue(e.getMessage().contains("learning_rate 0.05 there, 0.1 here"), e.getMessage());
    }

    @Test
    void aFinishedCheckpointResumesWithoutTraining() throws IOException {
        BatchSource train = new TrainerTest.Quadrants(64, 7), test = new TrainerTest.Quadrants(32, 8);
        Path ck = dir.resolve("done.safetensors");
        RunReport a = finetune("trady", config(0), train, test, new StopSignal(), ck, false);
        byte[] before = Files.readAllBytes(ck);
        RunReport b = finetune("trady", config(0), train, test, new StopSignal(), ck, true);
        assertArrayEquals(before, Files.readAllBytes(ck));
        assertEquals(Json.write(a.epochJson()), Json.write(b.epochJson()));
    }
}
