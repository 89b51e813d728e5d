package io.trady4j.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The caching allocator on a fake device (no GPU needed). */
class DeviceBlockCacheTest {
    /** Hands out addresses from a counter, with a capacity, and counts driver calls. */
    private static final class FakeDevice implements DeviceRuntime {
        @Override
        public String describe() {
            return "a fake device";
        }

        long next = 4096;
        long capacity;
        long used;
        int mallocs;
        int frees;
        final java.util.Map<Long, Long> sizes = new java.util.HashMap<>();

        FakeDevice(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public void bindThread(int device) {
        }

        @Override
        public float elapsedMillis(long stream, Runnable work) {
            work.run();
            return 0;
        }

        @Override
        public long malloc(long bytes, String what) {
            if (used + bytes > capacity) {
                throw new CudaOutOfMemoryException(2, "fake out of memory for " + what, bytes, capacity - used, capacity);
            }
            mallocs++;
            used += bytes;
            long a = next;
            next += bytes;
            sizes.put(a, bytes);
            return a;
        }

        @Override
        public void free(long address) {
            frees++;
            used -= sizes.remove(address);
        }

        @Override
        public long createStream() {
            return 1;
        }

        @Override
        public void destroyStream(long stream) {
        }

        @Override
        public void synchronize(long stream) {
        }

        @Override
        public long[] memoryInfo() {
            return new long[]{capacity - used, capacity};
        }
    }

    @Test
    void freedBlocksAreReusedWithoutDriverCalls() {
        FakeDevice dev = new FakeDevice(1L << 30);
        DeviceBlockCache cache = new DeviceBlockCache(dev);
        for (int step = 0; step < 50; step++) {
            List<long[]> live = new ArrayList<>();
            for (long bytes : new long[]{100, 4000, 70_000, 3_000_000, 4000}) {
                live.add(new long[]{cache.acquire(bytes, "t", () -> { }), bytes});
            }
            Set<Long> distinct = new HashSet<>();
            live.forEach(b -> distinct.add(b[0]));
            assertEquals(5, distinct.size(), "two live tensors share a block");
            live.forEach(b -> cache.release(b[0], b[1]));
        }
        assertEquals(5, dev.mallocs, "after the first step every block comes from the cache");
        assertEquals(0, dev.frees);
        cache.releaseAll();
        assertEquals(5, dev.frees);
        assertEquals(0, cache.reservedBytes());
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetries() {
        FakeDevice dev = new FakeDevice(8L << 20);
        DeviceBlockCache cache = new DeviceBlockCache(dev);
        long a = cache.acquire(6L << 20, "a", () -> { });
        cache.release(a, 6L << 20);
        int[] syncs = {0};
        long b = cache.acquire(4L << 20, "b", () -> syncs[0]++);
        assertTrue(b > 0);
        assertEquals(1, syncs[0], "the stream must be synchronized before cached blocks go back to the driver");
        assertEquals(1, dev.frees);
        assertThrows(CudaOutOfMemoryException.class, () -> cache.acquire(6L << 20, "c", () -> { }));
    }

    @Test
    void sizeClassesRoundUp() {
        assertEquals(512, DeviceBlockCache.sizeClass(1));
        assertEquals(1024, DeviceBlockCache.sizeClass(513));
        assertEquals(2L << 20, DeviceBlockCache.sizeClass((1L << 20) + 1));
    }
}
