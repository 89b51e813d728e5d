package io.trady4j.backend;

import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.backend.cuda.CudaBackend;

import java.util.List;
import java.util.Locale;

/** Opens a backend by name: "cpu", "cuda", or "auto" (CUDA where it works, else CPU). */
public final class Backends {
    /** The names {@link #open} takes. */
    public static final List<String> NAMES = List.of("auto", "cpu", "cuda");

    private Backends() {
    }

    /**
     * Opens a backend.
     *
     * <p>The CUDA backend calls native code (FFM, and JNI through JCuda), which Java 25 allows only
     * with a warning unless native access is enabled for trady4j. So "auto" first asks whether it
     * is ({@code --enable-native-access=io.trady4j} on the module path, {@code =ALL-UNNAMED} on the
     * class path, or {@code Enable-Native-Access} in an executable jar's manifest): if not, it opens
     * the CPU backend without touching native code, and the JDK prints no warnings; "cuda" then
     * throws {@link BackendUnavailableException} saying which flag to add.
     *
     * @param name "cpu", "cuda" or "auto" (any case)
     * @return a new backend; close it when done
     * @throws IllegalArgumentException     for another name
     * @throws BackendUnavailableException for "cuda" where no GPU, driver or native library is
     *                                      usable, or native access is not enabled (the message says why)
     */
    public static Backend open(String name) {
        return open(name, 0);
    }

    /**
     * As {@link #open(String)}, with the CPU backend on {@code cpuThreads} threads (0: every processor); the CUDA
     * backend ignores it.
     *
     * @throws IllegalArgumentException also for a negative thread count
     */
    public static Backend open(String name, int cpuThreads) {
        if (cpuThreads < 0) {
            throw new IllegalArgumentException("the CPU thread count must be >= 0 (0 = every processor), got " + cpuThreads);
        }
        int threads = cpuThreads == 0 ? Runtime.getRuntime().availableProcessors() : cpuThreads;
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "cpu" -> new CpuBackend(threads);
            case "cuda" -> openCuda();
            case "auto" -> {
                try {
                    yield openCuda();
                } catch (BackendUnavailableException e) {
                    yield new CpuBackend(threads);
                }
            }
            default -> throw new IllegalArgumentException("unknown backend '" + name + "' (expected one of " + NAMES + ")");
        };
    }

    private static Backend openCuda() {
        try {
            return CudaBackend.open();
        } catch (BackendUnavailableException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new BackendUnavailableException("the CUDA backend failed to start: " + e, e);
        }
    }
}
