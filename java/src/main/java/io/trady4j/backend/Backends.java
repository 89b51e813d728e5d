package io.trady4j.backend;

import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.backend.cuda.CudaBackend;

import java.util.List;
import java.util.Locale;

/** Opens a backend by name: "cpu", "cuda", or "auto" (CUDA where it works, else CPU). */
public final class Backends {
    public static final List<String> NAMES = List.of("auto", "cpu", "cuda");

    private Backends() {
    }

    public static Backend open(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "cpu" -> new CpuBackend();
            case "cuda" -> openCuda();
            case "auto" -> {
                try {
                    yield openCuda();
                } catch (BackendUnavailableException e) {
                    yield new CpuBackend();
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
