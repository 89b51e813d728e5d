package io.trady4j.backend.cuda;

import io.trady4j.backend.BackendUnavailableException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link DeviceRuntime} through libtrady4j_cuda.so's own CUDA runtime (its device-runtime ABI), for
 * machines where JCuda's native library cannot load or its CUDA 12.6 runtime does not get along with
 * the library's CUDA 13 one. Chosen with {@code -Dtrady4j.cuda.runtime=native}, and automatically
 * when JCuda's native library cannot load. Call only after {@link NativeLibrary#load()}.
 */
final class NativeRuntime implements DeviceRuntime {
    private static final int NAME_LENGTH = 256;
    private final String device;

    NativeRuntime(String device) {
        this.device = device;
    }

    /** The facts of CUDA device {@code index}, or BackendUnavailableException saying why it cannot be used. */
    static DeviceInfo probe(int index) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            if (NativeCalls.DEVICE_COUNT.status(count) != Abi.OK) {
                throw new BackendUnavailableException("no usable CUDA device: " + NativeCalls.lastError());
            }
            int n = count.get(JAVA_INT, 0);
            if (n == 0) {
                throw new BackendUnavailableException("no usable CUDA device: the driver reports no GPU");
            }
            if (index < 0 || index >= n) {
                throw new BackendUnavailableException("CUDA device " + index + " does not exist (" + n + " device(s) visible)");
            }
            NativeCalls.SET_DEVICE.call(index);
            MemorySegment name = arena.allocate(NAME_LENGTH);
            MemorySegment major = arena.allocate(JAVA_INT), minor = arena.allocate(JAVA_INT);
            MemorySegment sms = arena.allocate(JAVA_INT), total = arena.allocate(JAVA_LONG);
            NativeCalls.DEVICE_PROPERTIES.call(index, name, NAME_LENGTH, major, minor, sms, total);
            MemorySegment runtime = arena.allocate(JAVA_INT), driver = arena.allocate(JAVA_INT);
            NativeCalls.VERSIONS.call(runtime, driver);
            return new DeviceInfo(index, name.getString(0, StandardCharsets.UTF_8), major.get(JAVA_INT, 0),
                    minor.get(JAVA_INT, 0), sms.get(JAVA_INT, 0), total.get(JAVA_LONG, 0), runtime.get(JAVA_INT, 0),
                    driver.get(JAVA_INT, 0));
        } catch (CudaException e) {
            throw new BackendUnavailableException("CUDA device " + index + " is not usable: " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return "libtrady4j_cuda.so's own CUDA runtime";
    }

    @Override
    public void bindThread(int index) {
        NativeCalls.SET_DEVICE.call(index);
    }

    @Override
    public long malloc(long bytes, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ptr = arena.allocate(ADDRESS);
            int st = NativeCalls.MALLOC.status(ptr, bytes);
            if (st == Abi.ERR_OUT_OF_MEMORY) {
                long[] info = memoryInfo();
                throw new CudaOutOfMemoryException(Abi.ERR_OUT_OF_MEMORY, "CUDA out of memory: cannot allocate "
                        + DeviceInfo.bytes(bytes) + " for " + what + " on " + device + "; " + DeviceInfo.bytes(info[0])
                        + " free of " + DeviceInfo.bytes(info[1]), bytes, info[0], info[1]);
            }
            if (st != Abi.OK) {
                throw NativeCalls.MALLOC.failure(st);
            }
            return ptr.get(ADDRESS, 0).address();
        }
    }

    @Override
    public void free(long address) {
        NativeCalls.FREE.call(address);
    }

    @Override
    public long createStream() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stream = arena.allocate(ADDRESS);
            NativeCalls.STREAM_CREATE.call(stream);
            return stream.get(ADDRESS, 0).address();
        }
    }

    @Override
    public void destroyStream(long stream) {
        NativeCalls.STREAM_DESTROY.call(stream);
    }

    @Override
    public void synchronize(long stream) {
        NativeCalls.STREAM_SYNCHRONIZE.call(stream);
    }

    @Override
    public long[] memoryInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG), total = arena.allocate(JAVA_LONG);
            NativeCalls.MEMORY_INFO.call(free, total);
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    @Override
    public float elapsedMillis(long stream, Runnable work) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment event = arena.allocate(ADDRESS);
            NativeCalls.EVENT_CREATE.call(event);
            long start = event.get(ADDRESS, 0).address();
            try {
                NativeCalls.EVENT_CREATE.call(event);
                long end = event.get(ADDRESS, 0).address();
                try {
                    NativeCalls.EVENT_RECORD.call(start, stream);
                    work.run();
                    NativeCalls.EVENT_RECORD.call(end, stream);
                    MemorySegment ms = arena.allocate(JAVA_FLOAT);
                    NativeCalls.EVENT_ELAPSED.call(start, end, ms);
                    return ms.get(JAVA_FLOAT, 0);
                } finally {
                    NativeCalls.EVENT_DESTROY.call(end);
                }
            } finally {
                NativeCalls.EVENT_DESTROY.call(start);
            }
        }
    }
}
