package io.trady4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files written by AtomicFiles (checkpoints, reports, rankings) hold the old or the new content, never a mix. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void newFilesGetTheModeOfTheUmaskLikeAnyOtherProgramsOutput() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"),
                "no POSIX file modes here");
        Path plain = Files.createFile(dir.resolve("plain.txt"));   // 0666 minus the umask
        var expected = Files.getPosixFilePermissions(plain);
        org.junit.jupiter.api.Assumptions.assumeFalse(expected.equals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")),
                "the umask is 077: a private file is what it asks for");
        Path target = dir.resolve("report.json");
        AtomicFiles.writeString(target, "{}");
        assertEquals(java.nio.file.attribute.PosixFilePermissions.toString(expected),
                java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
    }

    @Test
    void aWriteThatFailsHalfwayLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path target = dir.resolve("report.json");
        AtomicFiles.writeString(target, "{\"version\": 1}");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, ch -> {
            ch.write(ByteBuffer.wrap("{\"version\": 2, \"half".getBytes(StandardCharsets.UTF_8)));
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertEquals("{\"version\": 1}", Files.readString(target));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(target), files.toList());
        }
        AtomicFiles.writeString(target, "{\"version\": 3}");
        assertEquals("{\"version\": 3}", Files.readString(target));
    }

    @Test
    void aDirectoryIsNotOverwritten() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertThrows(java.nio.file.FileSystemException.class, () -> AtomicFiles.writeString(sub, "x"));
        assertTrue(Files.isDirectory(sub));
    }

    /** Child JVM: rewrites a large JSON file forever, each version complete and self-describing. */
    public static void main(String[] args) throws IOException {
        Path target = Path.of(args[0]);
        String padding = "x".repeat(4 << 20);
        for (long i = 0; ; i++) {
            AtomicFiles.writeString(target, Json.write(Map.of("version", i, "padding", padding, "end", true)));
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aProcessKilledWhileWritingLeavesACompleteFile() throws Exception {
        Path target = dir.resolve("big.json");
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        long[] delays = {30, 120, 250};
        for (long delay : delays) {
            Process p = new ProcessBuilder(new ArrayList<>(List.of(java, "-Xmx256m", "-cp", cp, AtomicFilesTest.class.getName(),
                    target.toString()))).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(target) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            Thread.sleep(delay);
            assertTrue(p.isAlive(), () -> "the writer ended early: " + read(dir.resolve("child.log")));
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(target));
            assertEquals(Boolean.TRUE, json.get("end"), "incomplete file after a kill " + delay + " ms in");
            assertEquals(4 << 20, ((String) json.get("padding")).length());
            assertTrue(((Number) json.get("version")).longValue() >= 0);
            Files.delete(target);
        }
    }
}
