package io.trady4j.data;

import java.util.List;

/**
 * A transfer task: train and test splits of a data set restricted to some of its classes,
 * relabelled {@code 0 .. k−1} in ascending order of the original class numbers.
 *
 * @param spec          the canonical task string, e.g. {@code fmnist:0-4}
 * @param train         training split (labels 0..k−1)
 * @param test          test split (labels 0..k−1)
 * @param classes       the original class numbers, ascending; {@code classes[j]} became label j
 * @param normalization the statistics of the whole training set (all classes), so that a source
 *                      and a target task of the same data set feed a model alike
 * @param augment       the random augmentation of the training images (by default what suits the
 *                      data: no flip for letters, digits or folders, see {@link Augment#defaultFor})
 */
public record Task(String spec, Dataset train, Dataset test, int[] classes, Normalization normalization,
                   Augment augment) {
    public Task {
        classes = classes.clone();
    }

    @Override
    public int[] classes() {
        return classes.clone();
    }

    /** Number of classes k. */
    public int numClasses() {
        return classes.length;
    }

    public List<String> classNames() {
        return train.classNames();
    }

    /** Channels of the stored images (1 gray, 3 RGB). */
    public int channels() {
        return train.channels();
    }

    /** Side of the stored images (before any resize). */
    public int imageSize() {
        return train.height();
    }

    /** The same task with another training augmentation. */
    public Task withAugment(Augment a) {
        return new Task(spec, train, test, classes, normalization, a);
    }

    /**
     * The training transform for a model input of {@code channels × size × size}: resize,
     * channels, then as {@link #augment} says a random crop (padding size/8) and a horizontal flip,
     * then this task's normalisation.
     */
    public Transform trainTransform(int size, int channels) {
        return Transform.builder(size, channels).normalization(normalization)
                .randomCrop(augment.crop() ? Math.max(1, size / 8) : 0).horizontalFlip(augment.flip()).build();
    }

    /** The evaluation transform: resize, channels, normalisation; no randomness. */
    public Transform evalTransform(int size, int channels) {
        return Transform.builder(size, channels).normalization(normalization).build();
    }

    @Override
    public String toString() {
        return spec + " (" + numClasses() + " classes " + classNames() + ", " + train.size() + " train / " + test.size()
                + " test, " + channels() + "x" + imageSize() + "x" + imageSize() + ")";
    }
}
