package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.NetworkTest;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DivergenceWatchTest {
    @Test
    void aLossAboveThreeTimesTheFirstEpochsFlagsTheRun() {
        DivergenceWatch w = new DivergenceWatch(5, 1);
        assertNull(w.check(0, 1.6, 0.5, 0.5));
        assertNull(w.check(1, 4.7, 0.5, 0.5));
        String reason = w.check(2, 4.9, 0.5, 0.5);
        assertTrue(reason.startsWith("the training loss rose to 4.900 at epoch 3, above 3.0 times"), reason);
    }

    @Test
    void threeEpochsAtChanceAfterTheWarmupFlagTheRun() {
        DivergenceWatch w = new DivergenceWatch(5, 1);
        assertNull(w.check(0, 1.6, 0.2, 0.2));    // warm-up: not counted
        assertNull(w.check(1, 1.6, 0.2, 0.2));
        assertNull(w.check(2, 1.6, 0.24, 0.2));
        assertNull(w.check(3, 1.6, 0.3, 0.2));     // train top-1 left chance (>= 25%): the count restarts
        assertNull(w.check(4, 1.6, 0.2, 0.2));
        assertNull(w.check(5, 1.6, 0.2, 0.2));
        String reason = w.check(6, 1.6, 0.2, 0.21);
        assertTrue(reason.startsWith("top-1 stayed at chance"), reason);
        assertTrue(reason.endsWith("to epoch 7"), reason);
    }

    @Test
    void aResumedRunIsJudgedWithItsEarlierEpochs() {
        DivergenceWatch w = new DivergenceWatch(4, 0);
        w.replay(List.of(Map.of("epoch", 1L, "train_loss", 1.0, "train_top1", 0.5, "test_top1", 0.5)));
        assertTrue(w.check(1, 3.5, 0.5, 0.5) != null, "the first epoch's loss came from the checkpoint");
    }

    /** All-zero images with balanced labels: every image gets the same prediction, so top-1 is exactly chance. */
    static final class Blank implements BatchSource {
        private final int size;

        Blank(int size) {
            this.size = size;
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
                    int[] y = new int[b];
                    for (int i = 0; i < b; i++) {
                        y[i] = (next + i) % 4;
                    }
                    next += b;
                    return new HostBatch(new float[b * 3 * ResumeTest.RES * ResumeTest.RES], y,
                            io.trady4j.tensor.Shape.of(b, 3, ResumeTest.RES, ResumeTest.RES));
                }
            });
        }
    }

    @Test
    void aFineTuneStuckAtChanceIsStoppedAndFlaggedInItsReport() throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
        try (Backend backend = new CpuBackend(2)) {
            Experiment ex = new Experiment(backend, out, Progress.quiet(out));
            HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
            Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, new Blank(64), new Blank(32));
            TrainConfig cfg = ResumeTest.config(0).withEpochs(8);
            RunReport r = ex.finetune(ResumeTest.ARCH, base, data, cfg, "trady", ResumeTest.budget(), ResumeTest.ranking(),
                    null, false, Map.of("job", "test"));
            assertEquals(4, r.epochJson().size(), "warm-up epoch 1, then epochs 2-4 at chance");
            assertTrue(r.diverged().startsWith("top-1 stayed at chance"), r.diverged());
            assertTrue(r.nearChance());
            @SuppressWarnings("unchecked")
            Map<String, Object> summary = (Map<String, Object>) r.toJson().get("summary");
            assertEquals(true, summary.get("near_chance"));
            assertEquals(r.diverged(), r.toJson().get("diverged"));
            assertTrue(log.toString(StandardCharsets.UTF_8).contains("stopped: trady diverged: top-1 stayed at chance"));
        }
    }

    @Test
    void aHealthyFineTuneIsNotFlagged() throws IOException {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        try (Backend backend = new CpuBackend(2)) {
            Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet));
            HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
            Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, new TrainerTest.Quadrants(64, 7),
                    new TrainerTest.Quadrants(32, 8));
            RunReport r = ex.finetune(ResumeTest.ARCH, base, data, ResumeTest.config(0), "trady", ResumeTest.budget(),
                    ResumeTest.ranking(), null, false, Map.of("job", "test"));
            assertNull(r.diverged());
            assertEquals(3, r.epochJson().size());
            assertFalse(r.toJson().get("diverged") != null);
        }
    }
}
