package io.trady4j.backend.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Device services for running CudaBackend on the CPU emulator build of libtrady4j_cuda.so
 * ({@code make -C kernels/dev emu-lib}): "device" memory is host memory from malloc, the stream is
 * the null stream, and launches complete before they return. Selected by
 * {@code -Dtrady4j.cuda.emulator=true} together with {@code -Dtrady4j.native.path=native/build-emu}.
 */
final class EmulatedDevice implements DeviceRuntime {
    static final String PROPERTY = "trady4j.cuda.emulator";
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MALLOC = LINKER.downcallHandle(
            LINKER.defaultLookup().find("malloc").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    private static final MethodHandle FREE = LINKER.downcallHandle(
            LINKER.defaultLookup().find("free").orElseThrow(), FunctionDescriptor.ofVoid(ADDRESS));
    private long live;

    static boolean requested() {
        return Boolean.getBoolean(PROPERTY);
    }

    static CudaBackend open() {
        NativeLibrary.load();
        JCudaBridge.DeviceInfo info = new JCudaBridge.DeviceInfo(0, "CPU emulator of the trady4j kernels", 0, 0, 4,
                1L << 34, 0, 0);
        return new CudaBackend(info, new EmulatedDevice());
    }

    @Override
    public void bindThread(int device) {
    }

    @Override
    public long malloc(long bytes, String what) {
        try {
            MemorySegment p = (MemorySegment) MALLOC.invokeExact(Math.max(bytes, 1L));
            if (p.equals(MemorySegment.NULL)) {
                throw new CudaOutOfMemoryException(2, "emulator: malloc(" + bytes + ") failed for " + what, bytes, -1, -1);
            }
            live += bytes;
            return p.address();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void free(long address) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(address));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public long createStream() {
        return 0;
    }

    @Override
    public void destroyStream(long stream) {
    }

    @Override
    public void synchronize(long stream) {
    }

    @Override
    public long[] memoryInfo() {
        return new long[] {(1L << 34) - live, 1L << 34};
    }

    @Override
    public float elapsedMillis(long stream, Runnable work) {
        long t0 = System.nanoTime();
        work.run();
        return (System.nanoTime() - t0) / 1e6f;
    }
}
