package io.trady4j.backend;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backends.open in a JVM started without --enable-native-access: "auto" opens the CPU backend
 * without a single JDK warning, "cuda" says which flag to add.
 */
class NativeAccessTest {

    /** Run in the child JVM: opens "auto", then "cuda", and prints what happened on stdout. */
    public static void main(String[] args) {
        try (Backend b = Backends.open("auto")) {
            System.out.println("auto=" + b.name());
        }
        try (Backend b = Backends.open("cuda")) {
            System.out.println("cuda=" + b.name());
        } catch (BackendUnavailableException e) {
            System.out.println("cuda refused: " + e.getMessage());
        }
    }

    @Test
    void without_native_access_auto_is_the_cpu_and_the_jdk_prints_nothing() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder child = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                NativeAccessTest.class.getName()));
        // CI runs the suite with TRADY4J_CPU_ONEDNN=on; this child tests the default (auto) mode
        child.environment().remove("TRADY4J_CPU_ONEDNN");
        Process p = child.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), () -> out + err);
        // no restricted-method warning from the JDK; only the CPU backend's one line on why it runs without oneDNN
        assertTrue(err.isEmpty() || err.strip().lines().allMatch(l -> l.startsWith(
                "WARNING: oneDNN not loaded (native access is not enabled for the class path")), err);
        assertFalse(err.contains("restricted method"), err);
        assertTrue(out.contains("auto=cpu"), out);
        assertTrue(out.contains("cuda refused: the CUDA backend calls native code, which needs"
                + " --enable-native-access=ALL-UNNAMED on the java command line"), out);
        assertFalse(out.contains("cuda=cuda"), out);
    }
}
