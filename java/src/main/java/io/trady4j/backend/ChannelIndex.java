package io.trady4j.backend;

import io.trady4j.tensor.Tensor;

import java.util.Arrays;

/**
 * A validated, sorted set S of selected input channels out of {@code bound}, with its copy on the
 * backend. It is created once per selection (once per epoch under TraDy) and handed to every
 * gather, sparse-gradient and sparse-update call, so indices reach a GPU once, not per step.
 *
 * <p>A trainer with its own selection creates one with {@link Backend#channelIndex(int[], int)}:
 * the caller's array is validated once, on the host (sorted, unique, in range, with one
 * {@link IllegalArgumentException} naming the first offending position), and copied, so the
 * caller may reuse its array afterwards. Close it to free its backend copy.
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

    /**
     * Checks a selection without creating one.
     *
     * @param indices the selected channels
     * @param bound   the number of channels they select from
     * @return a copy of {@code indices}
     * @throws IllegalArgumentException unless the indices are sorted, unique and in [0, bound)
     */
    public static int[] validate(int[] indices, int bound) {
        if (indices == null) {
            throw new IllegalArgumentException("channel selection is null");
        }
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

    /** @return |S|, the number of selected channels */
    public int size() {
        return indices.length;
    }

    /** @return the number of channels S selects from */
    public int bound() {
        return bound;
    }

    /**
     * @param i a position in [0, size())
     * @return the i-th selected channel (ascending)
     */
    public int get(int i) {
        return indices[i];
    }

    /** @return a copy of the selected channels, ascending */
    public int[] toArray() {
        return indices.clone();
    }

    /** @return the int32 [|S|] copy on the owning backend */
    public Tensor tensor() {
        return device;
    }

    /** @return whether every channel is selected */
    public boolean isAll() {
        return indices.length == bound;
    }

    /** Frees the backend copy. */
    @Override
    public void close() {
        device.close();
    }

    @Override
    public String toString() {
        return "ChannelIndex" + Arrays.toString(indices) + " of " + bound;
    }
}
