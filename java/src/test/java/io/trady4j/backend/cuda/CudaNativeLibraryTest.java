package io.trady4j.backend.cuda;

import io.trady4j.backend.BackendUnavailableException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The FFM bindings against the built libtrady4j_cuda.so. Needs the library (./scripts/build-native)
 * but no GPU: it checks that every symbol resolves with the declared signature, that argument
 * errors come back as CudaException with the native text, and (without a GPU) that a kernel
 * launch fails with a CUDA error text instead of crashing.
 */
class CudaNativeLibraryTest {
    private static String missing;

    @BeforeAll
    static void load() {
        try {
            NativeLibrary.load();
        } catch (BackendUnavailableException e) {
            missing = e.getMessage();
        }
    }

    private static void needLibrary() {
        assumeTrue(missing == null, () -> "libtrady4j_cuda.so is not built: " + missing);
    }

    private static MemorySegment shape(Arena arena, int... v) {
        MemorySegment s = arena.allocate(OpShape.LAYOUT);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(ValueLayout.JAVA_INT, i, v[i]);
        }
        return s;
    }

    @Test
    void everySymbolResolvesAndTheAbiMatches() {
        needLibrary();
        assertTrue(Files.isRegularFile(NativeLibrary.loadedFrom()));
        // Initializing NativeCalls resolves every downcall handle; a missing symbol fails here.
        assertEquals("", NativeCalls.lastError().isEmpty() ? "" : "");
    }

    @Test
    void argumentErrorsCarryTheNativeText() {
        needLibrary();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = shape(arena, 2, 3, 5, 5, 4, 5, 5, 3, 1, 1, 1, 1);
            CudaException e = assertThrows(CudaException.class,
                    () -> NativeCalls.CONV2D_FORWARD.call(s, 0, 4096, 0, 0, 0, 0, 0, 4096, 0, 0));
            assertEquals(Abi.ERR_INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("trady4j_conv2d_forward") && e.getMessage().contains("x is null"),
                    e.getMessage());

            MemorySegment bad = shape(arena, 2, 3, 5, 5, 4, 4, 5, 3, 1, 1, 1, 1);
            e = assertThrows(CudaException.class, () -> NativeCalls.CONV2D_DX.call(bad, 4096, 4096, 4096, 0, 0));
            assertTrue(e.getMessage().contains("output must be 5x5"), e.getMessage());

            e = assertThrows(CudaException.class,
                    () -> NativeCalls.SGD_UPDATE.call(4, 4096, 4096, 0, 0.1f, 0.9f, 0f, 0));
            assertTrue(e.getMessage().contains("momentum buffer"), e.getMessage());

            e = assertThrows(CudaException.class,
                    () -> NativeCalls.MAX_POOL2D.call(1, 4, 4, 2, 2, 2, 3, 3, 4096, 4096, 4096, 0));
            assertEquals(Abi.ERR_INVALID_ARGUMENT, e.status());

            e = assertThrows(CudaException.class, () -> NativeCalls.SET_OPTION.call(Abi.OPT_TF32, 1));
            assertEquals(Abi.ERR_UNSUPPORTED, e.status());
        }
    }

    @Test
    void kernelVersionRoundTrips() {
        int before = CudaBackend.kernelVersion();
        try {
            CudaBackend.setKernelVersion(1);
            assertEquals(1, CudaBackend.kernelVersion());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> CudaBackend.setKernelVersion(7));
            assertEquals("kernel version must be 0, 1 or 2, got 7", e.getMessage());
            assertEquals(1, CudaBackend.kernelVersion());
        } finally {
            CudaBackend.setKernelVersion(before);
        }
    }

    @Test
    void withoutAGpuALaunchFailsWithTheCudaErrorText() {
        needLibrary();
        assumeTrue(!libraryReportsADevice(), "the library reports a device (a GPU, or its CPU emulator build): "
                + "launching on a fake pointer would fault");
        CudaException e = assertThrows(CudaException.class, () -> NativeCalls.FILL_F32.call(4096, 1f, 4, 0));
        assertEquals(Abi.ERR_CUDA, e.status());
        assertTrue(e.getMessage().startsWith("trady4j_fill_f32: CUDA error "), e.getMessage());
    }

    /** What the loaded library itself says, whichever runtime the backend would take. */
    private static boolean libraryReportsADevice() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            return NativeCalls.DEVICE_COUNT.status(count) == Abi.OK && count.get(ValueLayout.JAVA_INT, 0) > 0;
        }
    }

    @Test
    void anExplicitPathThatDoesNotExistIsNamed() {
        String before = System.getProperty(NativeLibrary.PATH_PROPERTY);
        try {
            System.setProperty(NativeLibrary.PATH_PROPERTY, "/nonexistent/trady4j/libtrady4j_cuda.so");
            BackendUnavailableException e = assertThrows(BackendUnavailableException.class, NativeLibrary::locate);
            assertTrue(e.getMessage().contains("/nonexistent/trady4j/libtrady4j_cuda.so"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(NativeLibrary.PATH_PROPERTY);
            } else {
                System.setProperty(NativeLibrary.PATH_PROPERTY, before);
            }
        }
    }

    @Test
    void aDirectoryPathFindsTheLibraryInIt() {
        needLibrary();
        Path dir = NativeLibrary.loadedFrom().getParent();
        String before = System.getProperty(NativeLibrary.PATH_PROPERTY);
        try {
            System.setProperty(NativeLibrary.PATH_PROPERTY, dir.toString());
            assertEquals(dir.resolve(NativeLibrary.FILE_NAME).toAbsolutePath(), NativeLibrary.locate());
        } finally {
            if (before == null) {
                System.clearProperty(NativeLibrary.PATH_PROPERTY);
            } else {
                System.setProperty(NativeLibrary.PATH_PROPERTY, before);
            }
        }
    }
}
