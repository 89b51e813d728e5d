package io.trady4j.train;

import io.trady4j.tensor.Shape;

/** One batch on the host: images [B, C, R, R] (row-major) and labels [B]. */
public record HostBatch(float[] images, int[] labels, Shape shape) {
    /**
     * Checks that the arrays match the shape.
     *
     * @throws IllegalArgumentException if they do not
     */
    public HostBatch {
        if (shape.rank() != 4 || shape.numel() != images.length || labels.length != shape.dim(0)) {
            throw new IllegalArgumentException("batch of " + images.length + " values and " + labels.length
                    + " labels does not match shape " + shape);
        }
    }

    /** @return the batch size B */
    public int size() {
        return labels.length;
    }
}
