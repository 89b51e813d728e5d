package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.io.FormatException;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.NetworkTest;
import io.trady4j.trady.LayerRanking;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A ranking stopped between steps or between epochs and resumed from its checkpoint ends with the uninterrupted ranking, bit for bit. */
class RankResumeTest {
    @TempDir
    Path dir;
    private final Backend backend = new CpuBackend(2);
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    @AfterEach
    void close() {
        backend.close();
    }

    private LayerRanking rank(BatchSource train, BatchSource test, StopSignal stop, Path checkpoint, boolean resume)
            throws IOException {
        Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet), stop);
        HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
        Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, train, test);
        return ex.rank(ResumeTest.ARCH, base, data, ResumeTest.config(0), null, checkpoint, resume);
    }

    private void stopAndResume(int stopAfter) throws IOException {
        BatchSource train = new TrainerTest.Quadrants(64, 7), test = new TrainerTest.Quadrants(32, 8);
        LayerRanking expected = rank(train, test, new StopSignal(), null, false);
        Path ck = dir.resolve("rank-" + stopAfter + ".safetensors");
        StopSignal stop = new StopSignal();
        ResumeTest.StopAfter stopping = new ResumeTest.StopAfter(train, stop, stopAfter, false);
        TrainingInterruptedException e = assertThrows(TrainingInterruptedException.class,
                () -> rank(stopping, test, stop, ck, false));
        assertTrue(e.getMessage().contains("--resume"), e.getMessage());
        LayerRanking resumed = rank(train, test, new StopSignal(), ck, true);
        assertEquals(expected.epochs(), resumed.epochs());
        assertArrayEquals(expected.scores(), resumed.scores());
    }

    @Test
    void stoppedInTheMiddleOfAnEpochResumesExactly() throws IOException {
        stopAndResume(6);
    }

    @Test
    void stoppedAtTheEndOfAnEpochResumesExactly() throws IOException {
        stopAndResume(4);
    }

    @Test
    void aCheckpointWithoutRgnSumsIsRefused() throws IOException {
        BatchSource train = new TrainerTest.Quadrants(64, 7), test = new TrainerTest.Quadrants(32, 8);
        Path ck = dir.resolve("pretrain.safetensors");
        Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet), new StopSignal());
        HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
        Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, train, test);
        StopSignal stop = new StopSignal();
        ResumeTest.StopAfter stopping = new ResumeTest.StopAfter(train, stop, 6, false);
        Experiment stopped = new Experiment(backend, quiet, Progress.quiet(quiet), stop);
        Experiment.TaskData stoppedData = new Experiment.TaskData(null, ResumeTest.RES, stopping, test);
        assertThrows(TrainingInterruptedException.class, () -> stopped.pretrain(ResumeTest.ARCH, base, stoppedData,
                ResumeTest.config(0), dir.resolve("out.safetensors"), java.util.Map.of("job", "rank"), ck, false));
        FormatException e = assertThrows(FormatException.class,
                () -> ex.rank(ResumeTest.ARCH, base, data, ResumeTest.config(0), null, ck, true));
        assertTrue(e.getMessage().contains("RGN"), e.getMessage());
    }
}
