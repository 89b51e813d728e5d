package io.trady4j.data;

/**
 * One batch on the host: {@code images} holds {@code size × channels × height × width} floats
 * (NCHW, transformed and normalised), {@code labels} the {@code size} labels, {@code indices}
 * the data set indices of the samples (for debugging and resumption checks). The arrays belong
 * to the receiver: the loader never touches them again.
 */
public record Batch(int epoch, int index, int size, int channels, int height, int width,
                    float[] images, int[] labels, int[] indices) {
    /** Floats per sample: {@code channels·height·width}. */
    public int sampleFloats() {
        return channels * height * width;
    }
}
