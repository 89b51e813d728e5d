package io.trady4j.backend;

import io.trady4j.tensor.Tensor;

import java.util.Arrays;

/**
 * A validated, sorted set S of selected input channels out of {@code bound}, with its copy on the
 * backend. It is created once per selection (once per epoch under TraDy) and handed to every
 * gather, sparse-gradient and sparse-update call, so indices reach a GPU once, not per step.
 */
public final class ChannelIndex implements AutoCloseable {
    private final int[] indices;
    private final int bound;
    private final Tensor device;

    ChannelIndex(int[] indices, int bound, Tensor device) {
        this.indices = indices;
        this.bound = bound;
        this.device = device;
    }

    /** Throws IllegalArgumentException unless the indices are sorted, unique and in [0, bound). */
    public static int[] validate(int[] indices, int bound) {
        if (bound < 1) {
            throw new IllegalArgumentException("channel count must be >= 1, got " + bound);
        }
        if (indices.length == 0) {
            throw new IllegalArgumentException("channel selection is empty");
        }
        for (int i = 0; i < indices.length; i++) {
            int c = indices[i];
            if (c < 0 || c >= bound) {
                throw new IllegalArgumentException("channel index " + c + " at position " + i
                        + " is out of range [0, " + bound + ")");
            }
            if (i > 0 && c <= indices[i - 1]) {
                throw new IllegalArgumentException("channel indices must be sorted and unique; position " + i
                        + " holds " + c + " after " + indices[i - 1]);
            }
        }
        return indices.clone();
    }

    public int size() {
        return indices.length;
    }

    public int bound() {
        return bound;
    }

    public int get(int i) {
        return indices[i];
    }

    public int[] toArray() {
        return indices.clone();
    }

    /** The int32 [|S|] copy on the owning backend. */
    public Tensor tensor() {
        return device;
    }

    public boolean isAll() {
        return indices.length == bound;
    }

    @Override
    public void close() {
        device.close();
    }

    @Override
    public String toString() {
        return "ChannelIndex" + Arrays.toString(indices) + " of " + bound;
    }
}
