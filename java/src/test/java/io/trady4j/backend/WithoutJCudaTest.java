package io.trady4j.backend;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JCuda is an optional dependency: in a JVM whose class path lacks it, "auto" opens a backend and
 * "cuda" either opens (on the library's own runtime, where a GPU is usable) or throws
 * BackendUnavailableException, never a NoClassDefFoundError.
 */
class WithoutJCudaTest {

    /** Run in the child JVM. */
    public static void main(String[] args) {
        try (Backend b = Backends.open("auto")) {
            System.out.println("auto=" + b.name());
        }
        try (Backend b = Backends.open("cuda")) {
            System.out.println("cuda opened: " + b.deviceDescription());
        } catch (BackendUnavailableException e) {
            System.out.println("cuda unavailable: " + e.getMessage());
        }
    }

    @Test
    void the_backends_open_or_say_why_without_jcuda_on_the_class_path() throws IOException, InterruptedException {
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).getFileName().toString().startsWith("jcuda"))
                .collect(Collectors.joining(File.pathSeparator));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp", classPath,
                WithoutJCudaTest.class.getName())).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("auto="), out);
        assertTrue(out.contains("cuda opened: ") || out.contains("cuda unavailable: "), out);
    }
}
