package io.trady4j.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Stream-ordered caching of device memory (the scheme of PyTorch's caching allocator, for one
 * stream): a freed block goes back to a free list of its size class without synchronizing,
 * because every later kernel that reuses it is queued on the same stream after every earlier
 * kernel that used it. cudaMalloc/cudaFree — which synchronize the device — then happen only
 * while the cache warms up, and the training engine can free each tensor the moment it is dead.
 * On out-of-memory the cache is emptied (after a synchronize) and the allocation retried.
 */
final class DeviceBlockCache {
    private static final long SMALL = 1L << 20;
    private static final long SMALL_ROUND = 512;
    private static final long LARGE_ROUND = 2L << 20;

    private final DeviceRuntime device;
    private final Map<Long, ArrayDeque<Long>> freeBlocks = new HashMap<>();
    private long cachedBytes;
    private long reservedBytes;
    private long peakReservedBytes;

    DeviceBlockCache(DeviceRuntime device) {
        this.device = device;
    }

    /** The size class a request of {@code bytes} is served from. */
    static long sizeClass(long bytes) {
        long b = Math.max(bytes, 1);
        long round = b <= SMALL ? SMALL_ROUND : LARGE_ROUND;
        return (b + round - 1) / round * round;
    }

    /** A block of at least {@code bytes}; {@code synchronize} is run before cached blocks are returned to the driver. */
    synchronized long acquire(long bytes, String what, Runnable synchronize) {
        long size = sizeClass(bytes);
        ArrayDeque<Long> blocks = freeBlocks.get(size);
        if (blocks != null && !blocks.isEmpty()) {
            cachedBytes -= size;
            return blocks.pop();
        }
        long address;
        try {
            address = device.malloc(size, what);
        } catch (CudaOutOfMemoryException e) {
            if (cachedBytes == 0) {
                throw e;
            }
            synchronize.run();
            releaseAll();
            address = device.malloc(size, what);
        }
        reservedBytes += size;
        peakReservedBytes = Math.max(peakReservedBytes, reservedBytes);
        return address;
    }

    /** Returns a block acquired for {@code bytes}; it is reused by later allocations on the same stream. */
    synchronized void release(long address, long bytes) {
        long size = sizeClass(bytes);
        freeBlocks.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
        cachedBytes += size;
    }

    /** Frees every cached block to the driver; the caller has synchronized the stream. */
    synchronized void releaseAll() {
        for (Map.Entry<Long, ArrayDeque<Long>> e : freeBlocks.entrySet()) {
            for (long address : e.getValue()) {
                device.free(address);
                reservedBytes -= e.getKey();
            }
        }
        freeBlocks.clear();
        cachedBytes = 0;
    }

    /** Device memory currently obtained from the driver for tensors (in use plus cached). */
    synchronized long reservedBytes() {
        return reservedBytes;
    }

    synchronized long peakReservedBytes() {
        return peakReservedBytes;
    }

    synchronized void resetPeak() {
        peakReservedBytes = reservedBytes;
    }
}
