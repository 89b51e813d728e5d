package io.trady4j.backend.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;

import static io.trady4j.backend.cuda.NativeFunction.Param.F32;
import static io.trady4j.backend.cuda.NativeFunction.Param.I32;
import static io.trady4j.backend.cuda.NativeFunction.Param.I64;
import static io.trady4j.backend.cuda.NativeFunction.Param.PTR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The binder without a native library: a Java method stands in for the C function. */
class NativeFunctionTest {
    private static final List<Object> SEEN = new ArrayList<>();

    /** Returns {@code status}; records what it was passed. */
    static int fake(int status, long n, float f, MemorySegment p) {
        SEEN.add(n);
        SEEN.add(f);
        SEEN.add(p.address());
        return status;
    }

    private static NativeFunction bound(String lastError) throws ReflectiveOperationException {
        var h = MethodHandles.lookup().findStatic(NativeFunctionTest.class, "fake",
                MethodType.methodType(int.class, int.class, long.class, float.class, MemorySegment.class));
        return NativeFunction.of("trady4j_fake", h, () -> lastError, I32, I64, F32, PTR);
    }

    @Test
    void passesConvertedArgumentsAndReturnsOnOk() throws ReflectiveOperationException {
        SEEN.clear();
        bound("").call(0, 7, 2.5, 4096L);  // an int for the int64, a double for the float
        assertEquals(List.of(7L, 2.5f, 4096L), SEEN);
        SEEN.clear();
        bound("").call(0, 1L, 1f, 0);      // 0 is NULL
        assertEquals(0L, SEEN.get(2));
    }

    @Test
    void badStatusThrowsWithTheNativeText() throws ReflectiveOperationException {
        CudaException e = assertThrows(CudaException.class,
                () -> bound("trady4j_fake: n must be >= 0, got -3").call(Abi.ERR_INVALID_ARGUMENT, -3, 0f, 0));
        assertEquals(Abi.ERR_INVALID_ARGUMENT, e.status());
        assertEquals("trady4j_fake: n must be >= 0, got -3", e.getMessage());
        assertEquals(Abi.ERR_CUDA, bound("x").status(Abi.ERR_CUDA, 0, 0f, 0));
    }

    @Test
    void outOfMemoryIsItsOwnException() throws ReflectiveOperationException {
        CudaException e = assertThrows(CudaException.class,
                () -> bound("trady4j_malloc: out of memory").call(Abi.ERR_OUT_OF_MEMORY, 0, 0f, 0));
        assertInstanceOf(CudaOutOfMemoryException.class, e);
        assertEquals("trady4j_malloc: out of memory", e.getMessage());
    }

    @Test
    void emptyErrorTextStillNamesTheFunction() throws ReflectiveOperationException {
        CudaException e = assertThrows(CudaException.class, () -> bound("").call(4, 0, 0f, 0));
        assertEquals("trady4j_fake failed with status 4", e.getMessage());
    }

    @Test
    void wrongArgumentCountOrHandleIsRefused() throws ReflectiveOperationException {
        assertThrows(IllegalArgumentException.class, () -> bound("").call(0, 1L));
        var h = MethodHandles.lookup().findStatic(NativeFunctionTest.class, "fake",
                MethodType.methodType(int.class, int.class, long.class, float.class, MemorySegment.class));
        assertThrows(IllegalArgumentException.class, () -> NativeFunction.of("f", h, () -> "", I32, I64));
    }
}
