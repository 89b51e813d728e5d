package io.trady4j.backend.cpu;

/**
 * Per-thread scratch memory, grown on demand and then reused: packed GEMM panels, accumulator
 * rows, im2col and polyphase buffers. Kernels take it from {@link #get()} once per task, so a
 * training step allocates nothing after the first step at each shape.
 */
final class Workspace {
    private static final ThreadLocal<Workspace> LOCAL = ThreadLocal.withInitial(Workspace::new);

    /** Row sets, by purpose. */
    static final int PANEL = 0, ACC = 1, COLS = 2, TAPS = 3, PIX_IN = 4, PIX_OUT = 5, PHASES = 6;
    /** Flat buffers, by purpose. */
    static final int BUF_A = 0, BUF_B = 1, BUF_C = 2, BUF_D = 3, BUF_PART = 4;

    private final float[][][] rows = new float[7][][];
    private float[][] pointers = new float[0][];
    private float[] zero = new float[0];
    private final float[][] bufs = new float[5][];

    static Workspace get() {
        return LOCAL.get();
    }

    /**
     * At least {@code count} separate rows of at least {@code length} floats each (contents undefined).
     * Only the rows asked for are grown, so a call with many short rows and one with few long rows do
     * not together cost many long rows.
     */
    float[][] rows(int which, int count, int length) {
        float[][] r = rows[which];
        if (r == null || r.length < count) {
            r = r == null ? new float[count][] : java.util.Arrays.copyOf(r, count);
            rows[which] = r;
        }
        for (int i = 0; i < count; i++) {
            if (r[i] == null || r[i].length < length) {
                r[i] = new float[length];
            }
        }
        return r;
    }

    /** A table of at least {@code count} row references, for the caller to fill. */
    float[][] pointers(int count) {
        if (pointers.length < count) {
            pointers = new float[count][];
        }
        return pointers;
    }

    /** A row of at least {@code length} zeros; callers must never write to it. */
    float[] zeros(int length) {
        if (zero.length < length) {
            zero = new float[length];
        }
        return zero;
    }

    /** A flat buffer of at least {@code length} floats (contents undefined). */
    float[] buf(int which, int length) {
        float[] b = bufs[which];
        if (b == null || b.length < length) {
            b = new float[Math.max(length, b == null ? 0 : b.length + b.length / 4)];
            bufs[which] = b;
        }
        return b;
    }

    /** {@code count} separate arrays of at least {@code length} floats, for polyphase planes. */
    float[][] phases(int count, int length) {
        return rows(PHASES, count, length);
    }
}
