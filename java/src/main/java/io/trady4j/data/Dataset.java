package io.trady4j.data;

import java.io.IOException;
import java.util.List;

/**
 * A labelled image data set, read on the host. Every image has the same shape
 * {@code channels() × height() × width()}; pixel values are floats in [0, 1] (before any
 * normalisation), laid out channel-major (CHW), as one sample of an NCHW batch.
 *
 * <p>Implementations are safe for concurrent reads of different or equal indices (the
 * {@link Loader} reads from a background thread).
 */
public interface Dataset {
    /** A short human-readable name, e.g. {@code fmnist/train}. */
    String name();

    /** Number of samples. */
    int size();

    int channels();

    int height();

    int width();

    /** Number of classes; every {@link #label(int)} is in {@code [0, numClasses())}. */
    int numClasses();

    /** One name per class, index = label. */
    List<String> classNames();

    /** The label of sample {@code i}, in {@code [0, numClasses())}. */
    int label(int i);

    /**
     * Writes sample {@code i} as {@code channels()·height()·width()} floats in [0, 1], CHW order,
     * into {@code dst[offset ...]}.
     *
     * @throws IOException when the sample has to be read or decoded and that fails (in-memory
     *                     data sets never throw)
     */
    void image(int i, float[] dst, int offset) throws IOException;

    /** Floats per image: {@code channels()·height()·width()}. */
    default int imageFloats() {
        return channels() * height() * width();
    }

    /**
     * The normalisation this data set's images are meant to be fed with: the dataset's own
     * per-channel statistics where known (Fashion-MNIST, MNIST, rendered letters), else
     * ImageNet's mean/std for RGB and mean 0.5 / std 0.5 for gray. See {@link Normalization}.
     */
    default Normalization normalization() {
        return Normalization.defaultFor(channels());
    }

    /** All labels, in order (a copy). */
    default int[] labels() {
        int[] l = new int[size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = label(i);
        }
        return l;
    }
}
