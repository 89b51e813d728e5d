package io.trady4j.cli;

import io.trady4j.io.Json;
import io.trady4j.io.SafeTensors;
import io.trady4j.models.ModelZoo;
import io.trady4j.train.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The main job survives its process being killed: a child JVM runs {@code finetune} and is killed
 * with SIGKILL (no chance to react) or stopped with SIGTERM (the shutdown hook makes it checkpoint at
 * the next step) after its first checkpoint; {@code --resume} then ends with exactly the weights and
 * per-epoch report of an uninterrupted run.
 */
class InterruptionTest {
    static final String MODEL = TinyJob.MODEL;
    static final int CLASSES = TinyJob.CLASSES;

    @TempDir
    static Path shared;
    @TempDir
    Path dir;

    static TinyJob job;

    @BeforeAll
    static void files() throws IOException {
        job = TinyJob.create(shared);
    }

    static List<String> args(Path workDir, String strategy) {
        return job.args(workDir, strategy);
    }

    static int runHere(List<String> argv, StringBuilder log) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        log.append(out.toString(StandardCharsets.UTF_8)).append(err.toString(StandardCharsets.UTF_8));
        return status;
    }

    /** Starts Main in a child JVM with this test's classpath. */
    static Process spawn(List<String> argv, Path log) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-XX:TieredStopAtLevel=1", "-cp", cp, Main.class.getName()));
        cmd.addAll(argv);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Waits until the child has written its first checkpoint. */
    static void awaitCheckpoint(Process p, Path checkpoint, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(checkpoint)) {
            if (!p.isAlive()) {
                fail("the child ended (status " + p.exitValue() + ") before its first checkpoint:\n" + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                fail("no checkpoint after 120 s:\n" + Files.readString(log));
            }
            Thread.sleep(2);
        }
    }

    static Path checkpointOf(Path workDir, String strategy) {
        return job.checkpoint(workDir, strategy);
    }

    static Path reportOf(Path workDir, String strategy) {
        return job.report(workDir, strategy);
    }

    @SuppressWarnings("unchecked")
    static String epochsWithoutTime(Path report) throws IOException {
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(report));
        List<Object> out = new ArrayList<>();
        for (Object o : (List<Object>) json.get("epochs")) {
            Map<String, Object> e = new LinkedHashMap<>((Map<String, Object>) o);
            e.remove("seconds");
            out.add(e);
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

    private void killAndResume(String strategy, boolean gently) throws Exception {
        Path plain = dir.resolve("plain"), killed = dir.resolve("killed");
        StringBuilder log = new StringBuilder();
        assertEquals(0, runHere(args(plain, strategy), log), log.toString());

        Path childLog = dir.resolve("child.log");
        Process p = spawn(args(killed, strategy), childLog);
        Path ck = checkpointOf(killed, strategy);
        awaitCheckpoint(p, ck, childLog);
        if (gently) {
            p.destroy();          // SIGTERM: the shutdown hook has the trainer checkpoint at the next step
        } else {
            p.destroyForcibly();  // SIGKILL: the last epoch checkpoint must do
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child did not end");
        String childOut = Files.readString(childLog);
        assertEquals(gently ? 143 : 137, p.exitValue(), childOut);
        Checkpoint.Loaded saved = Checkpoint.load(ck, ModelZoo.build(MODEL, CLASSES));
        int done = saved.training().epoch();
        assertTrue(done >= 1 && done < 4, "checkpoint after epoch " + done);
        if (gently) {
            // the launcher's line on stderr is never lost to the JVM's halt
            assertTrue(childOut.contains("trady4j finetune: interrupted: "), childOut);
        }
        if (gently) {
            // (SIGKILL during a write may leave a temporary file beside the intact checkpoint; SIGTERM must not)
            try (var files = Files.list(ck.getParent())) {
                assertTrue(files.allMatch(f -> f.toString().endsWith(".safetensors")), "a temporary file was left behind");
            }
        }

        List<String> resume = args(killed, strategy);
        resume.add("--resume");
        StringBuilder log2 = new StringBuilder();
        assertEquals(0, runHere(resume, log2), log2.toString());
        assertTrue(log2.toString().contains("resuming from"), log2.toString());
        assertSameTensors(checkpointOf(plain, strategy), ck);
        assertEquals(epochsWithoutTime(reportOf(plain, strategy)), epochsWithoutTime(reportOf(killed, strategy)));
    }

    @Test
    void aDivergingRunEndsWithOneLineAndStatusOne() throws Exception {
        List<String> argv = args(dir, "full");
        argv.addAll(List.of("--lr", "1e38", "--compare", ""));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String e = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, status, e);
        assertEquals(1, e.strip().lines().count(), e);
        assertTrue(e.startsWith("trady4j finetune: training diverged: "), e);
        Path ck = checkpointOf(dir, "full");
        if (Files.exists(ck)) {
            assertTrue(e.contains("the last good checkpoint is " + ck), e);
            Checkpoint.load(ck, ModelZoo.build(MODEL, CLASSES));
        }
    }

    @Test
    void aRunKilledWithSigkillResumesToTheSameWeightsAndReport() throws Exception {
        killAndResume("su-rgn-fill", false);
    }

    @Test
    void aRunStoppedWithSigtermCheckpointsAtTheNextStepAndResumesExactly() throws Exception {
        killAndResume("trady", true);
    }
}
