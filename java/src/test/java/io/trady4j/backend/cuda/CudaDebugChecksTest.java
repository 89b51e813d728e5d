package io.trady4j.backend.cuda;

import io.trady4j.backend.BackendUnavailableException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * -Dtrady4j.cuda.debugChecks sets the library's TRADY4J_OPT_DEBUG_CHECKS when a CUDA backend opens (the checks
 * themselves are kernels/dev/api_debug_checks.c's, on the emulated library). Needs the library, not a GPU.
 */
class CudaDebugChecksTest {
    @AfterEach
    void reset() {
        System.clearProperty(CudaBackend.DEBUG_CHECKS_PROPERTY);
        try {
            NativeCalls.SET_OPTION.call(Abi.OPT_DEBUG_CHECKS, 0);
        } catch (RuntimeException | LinkageError e) {
            // no library: nothing was set
        }
    }

    private static int option() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            NativeCalls.GET_OPTION.call(Abi.OPT_DEBUG_CHECKS, v);
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    @Test
    void thePropertySwitchesTheLibrarysChecksAndABadValueIsOneClearError() {
        try {
            NativeLibrary.load();
        } catch (BackendUnavailableException e) {
            assumeTrue(false, "libtrady4j_cuda.so is not built: " + e.getMessage());
        }
        CudaBackend.applyDebugChecksProperty();
        assertEquals(0, option(), "absent: the library's default (off) stays");
        System.setProperty(CudaBackend.DEBUG_CHECKS_PROPERTY, "true");
        CudaBackend.applyDebugChecksProperty();
        assertEquals(1, option());
        System.setProperty(CudaBackend.DEBUG_CHECKS_PROPERTY, " FALSE ");
        CudaBackend.applyDebugChecksProperty();
        assertEquals(0, option());
        System.setProperty(CudaBackend.DEBUG_CHECKS_PROPERTY, "yes");
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, CudaBackend::applyDebugChecksProperty);
        assertTrue(e.getMessage().contains("-Dtrady4j.cuda.debugChecks must be true or false, got 'yes'"), e.getMessage());
        assertEquals(0, option(), "a bad value changes nothing");
    }
}
