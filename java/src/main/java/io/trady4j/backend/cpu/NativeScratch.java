package io.trady4j.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Per-thread off-heap scratch for the operands native code reads and writes (oneDNN's sgemm), grown
 * on demand and then reused, like {@link Workspace} on the heap. Freed by the GC with its thread.
 */
final class NativeScratch {
    private static final ThreadLocal<NativeScratch> LOCAL = ThreadLocal.withInitial(NativeScratch::new);

    /** Segments, by purpose. */
    static final int WEIGHT = 0, B = 1, C = 2, A = 3;

    private final MemorySegment[] segments = new MemorySegment[4];

    private NativeScratch() {
    }

    /** At least {@code floats} floats of this thread's segment for {@code which} (contents undefined). */
    static MemorySegment get(int which, long floats) {
        NativeScratch s = LOCAL.get();
        MemorySegment seg = s.segments[which];
        if (seg == null || seg.byteSize() < floats * 4) {
            long grown = Math.max(floats, seg == null ? 0 : seg.byteSize() / 4 + seg.byteSize() / 16);
            seg = Arena.ofAuto().allocate(grown * 4, 64);
            s.segments[which] = seg;
        }
        return seg;
    }

    /** dst[dstOff .. dstOff + len) = src[srcOff .. srcOff + len), offsets in floats. */
    static void put(float[] src, int srcOff, MemorySegment dst, long dstOff, int len) {
        MemorySegment.copy(src, srcOff, dst, ValueLayout.JAVA_FLOAT, dstOff * 4, len);
    }

    /** dst[dstOff .. dstOff + len) = src[srcOff .. srcOff + len), offsets in floats. */
    static void take(MemorySegment src, long srcOff, float[] dst, int dstOff, int len) {
        MemorySegment.copy(src, ValueLayout.JAVA_FLOAT, srcOff * 4, dst, dstOff, len);
    }
}
