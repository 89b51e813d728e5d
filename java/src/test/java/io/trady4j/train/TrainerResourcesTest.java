package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.nn.NetworkTest;
import io.trady4j.trady.Strategies;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The trainer and experiments free every tensor they allocate, whether a run ends normally or not. */
class TrainerResourcesTest {
    @TempDir
    Path dir;
    private final Backend backend = new CpuBackend(2);
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    @AfterEach
    void close() {
        backend.close();
    }

    /** A source whose {@code failAt}-th training batch throws. */
    static BatchSource failing(int failAt) {
        return new TappedBatchSource(new TrainerTest.Quadrants(64, 7)) {
            int served;

            @Override
            void served(int epoch, int index, HostBatch batch) {
                if (++served == failAt) {
                    throw new IllegalStateException("disk gone");
                }
            }
        };
    }

    @Test
    void aFailingRunFreesItsSelectionAndMomentum() throws Exception {
        try (Network net = Network.create(backend, ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 1))) {
            long params = backend.memory().liveBytes();
            for (String strategy : new String[]{"trady", "su-rgn-fill", "full", "d-det-rgn"}) {
                for (int failAt : new int[]{1, 3, 6}) {
                    Trainer t = new Trainer(net, ResumeTest.config(0.9), Progress.quiet(quiet));
                    runExpectingFailure(t, failing(failAt), strategy);
                    assertEquals(params, backend.memory().liveBytes(), strategy + " failing at batch " + failAt);
                }
            }
        }
        assertEquals(0, backend.memory().liveBytes());
    }

    /** Runs a trainer expecting the source's failure. */
    private static void runExpectingFailure(Trainer t, BatchSource train, String strategy) {
        var problem = new io.trady4j.trady.SelectionProblem(
                ResumeTest.ARCH.convLayers().stream().mapToInt(l -> l.conv().inChannels()).toArray(),
                Experiment.unitsPerChannel(io.trady4j.trady.CostModel.of(ResumeTest.ARCH, ResumeTest.RES)),
                ResumeTest.budget(), java.util.List.of(6, 1, 2), 5);
        assertThrows(IllegalStateException.class, () -> t.run(train, new TrainerTest.Quadrants(32, 8),
                Strategies.byName(strategy), problem, 0, null));
    }

    @Test
    void experimentsLeaveNothingAllocatedWhateverTheirEnd() {
        HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
        Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet));
        for (int i = 0; i < 3; i++) {
            Experiment.TaskData ok = new Experiment.TaskData(null, ResumeTest.RES, new TrainerTest.Quadrants(64, 7),
                    new TrainerTest.Quadrants(32, 8));
            try {
                ex.finetune(ResumeTest.ARCH, base, ok, ResumeTest.config(0.9), "su-rgn-fill", ResumeTest.budget(), ResumeTest.ranking(),
                        dir.resolve("ok.safetensors"), false, Map.of());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            assertEquals(0, backend.memory().liveBytes(), "after a normal run");
            Experiment.TaskData bad = new Experiment.TaskData(null, ResumeTest.RES, failing(5), new TrainerTest.Quadrants(32, 8));
            assertThrows(IllegalStateException.class, () -> ex.finetune(ResumeTest.ARCH, base, bad, ResumeTest.config(0.9),
                    "trady", ResumeTest.budget(), ResumeTest.ranking(), null, false, Map.of()));
            assertEquals(0, backend.memory().liveBytes(), "after a failed run");
            StopSignal stop = new StopSignal();
            stop.request();
            Experiment stopped = new Experiment(backend, quiet, Progress.quiet(quiet), stop);
            assertThrows(TrainingInterruptedException.class, () -> stopped.finetune(ResumeTest.ARCH, base, ok,
                    ResumeTest.config(0), "full", 0, null, null, false, Map.of()));
            assertEquals(0, backend.memory().liveBytes(), "after an interrupted run");
        }
    }
}
