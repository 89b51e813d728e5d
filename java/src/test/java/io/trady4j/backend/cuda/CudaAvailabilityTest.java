package io.trady4j.backend.cuda;

import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.Backends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs everywhere: without a GPU "cuda" must fail with a clear message and "auto" must give the CPU. */
class CudaAvailabilityTest {

    /** Whether a real CUDA device works here (the emulator used by some test runs does not count). */
    private static boolean realGpu() {
        try (CudaBackend b = CudaBackend.open()) {
            return b != null;
        } catch (BackendUnavailableException e) {
            return false;
        }
    }

    @Test
    void cudaOpensOrSaysClearlyWhyNot() {
        if (realGpu()) {
            try (Backend b = Backends.open("cuda")) {
                assertEquals("cuda", b.name());
                assertFalse(b.deviceDescription().isBlank());
            }
            return;
        }
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Backends.open("cuda"));
        String m = e.getMessage();
        assertTrue(m != null && !m.isBlank(), "the exception needs a message");
        assertFalse(m.contains("\n"), "one line, not a stack trace: " + m);
        assertTrue(m.contains("CUDA") || m.contains("libtrady4j_cuda.so"),
                "the message should say what is missing: " + m);
        // Asking again gives the same answer, not a crash or a linkage error.
        assertThrows(BackendUnavailableException.class, () -> Backends.open("CUDA"));
    }

    @Test
    void autoFallsBackToTheCpu() {
        try (Backend b = Backends.open("auto")) {
            if (!realGpu()) {
                assertEquals("cpu", b.name());
            } else {
                assertEquals("cuda", b.name());
            }
        }
    }

    @Test
    void isAvailableAgreesWithOpen() {
        assertEquals(realGpu(), CudaBackend.isAvailable());
    }
}
