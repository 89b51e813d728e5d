package io.trady4j.backend.cpu;

import io.trady4j.backend.BackendUnavailableException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** How the CPU backend finds, refuses and reports oneDNN (its numerics: CpuBackendPropertyTest, TorchFixtureTest). */
class OneDnnTest {
    @Test
    void offIsThePureJavaPathWithItsReason() {
        OneDnn.Status off = OneDnn.load("off");
        assertFalse(off.available());
        try (CpuBackend be = new CpuBackend(1, off)) {
            assertTrue(be.deviceDescription().contains("pure-Java GEMM (off by -Dtrady4j.cpu.onednn=off)"),
                    be.deviceDescription());
        }
    }

    @Test
    void anUnknownModeIsOneClearError() {
        OneDnn.Status bad = OneDnn.load("sometimes");
        assertFalse(bad.available());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CpuBackend(1, bad));
        assertTrue(e.getMessage().contains("expected auto, on or off"), e.getMessage());
    }

    @Test
    void requiredButMissingRefusesToOpen() {
        String before = System.getProperty("trady4j.onednn.library");
        System.setProperty("trady4j.onednn.library", "/nonexistent/libdnnl.so.2");
        try {
            OneDnn.Status missing = OneDnn.load("on");
            assertFalse(missing.available());
            assertTrue(missing.reason().contains("/nonexistent/libdnnl.so.2: no such file"), missing.reason());
            BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                    () -> new CpuBackend(1, missing));
            assertTrue(e.getMessage().startsWith("-Dtrady4j.cpu.onednn=on but"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty("trady4j.onednn.library");
            } else {
                System.setProperty("trady4j.onednn.library", before);
            }
        }
    }

    @Test
    void aLoadedLibraryNamesItsVersionAndIsa() {
        OneDnn.Status s = OneDnn.status();
        assumeTrue(s.available(), "oneDNN not in use here: " + s.reason());
        assertTrue(s.describe().matches("oneDNN \\d+\\.\\d+\\.\\d+ sgemm \\(.+\\)"), s.describe());
    }
}
