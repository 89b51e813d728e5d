package io.trady4j.data;

import java.util.Arrays;

/**
 * Per-channel normalisation {@code x' = (x − mean[c]) / std[c]} applied to pixel values in
 * [0, 1].
 *
 * <p>Defaults: {@link #IMAGENET} (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225) for RGB
 * images, as ImageNet-pretrained models expect; for gray images the data set's own statistics
 * (Fashion-MNIST train: 0.2860 / 0.3530, MNIST train: 0.1307 / 0.3081, computed for other
 * in-memory data sets by {@link Datasets#statistics}), or 0.5 / 0.5 when unknown. When a gray
 * data set feeds a 3-channel model the gray statistics are repeated on the three channels
 * ({@link #expandTo}).
 */
public record Normalization(float[] mean, float[] std) {
    public static final Normalization IMAGENET =
            new Normalization(new float[]{0.485f, 0.456f, 0.406f}, new float[]{0.229f, 0.224f, 0.225f});
    /** Fashion-MNIST training-set statistics (all 60,000 images). */
    public static final Normalization FASHION_MNIST = gray(0.2860f, 0.3530f);
    /** MNIST training-set statistics. */
    public static final Normalization MNIST = gray(0.1307f, 0.3081f);
    /** Identity: mean 0, std 1 on one channel (expandable to any count). */
    public static final Normalization NONE = gray(0f, 1f);

    public Normalization {
        if (mean.length != std.length || mean.length == 0) {
            throw new IllegalArgumentException("normalisation needs as many means as stds (got "
                    + mean.length + " and " + std.length + ")");
        }
        mean = mean.clone();
        std = std.clone();
        for (int c = 0; c < std.length; c++) {
            if (!(std[c] > 0) || !Float.isFinite(std[c]) || !Float.isFinite(mean[c])) {
                throw new IllegalArgumentException("normalisation channel " + c + ": mean " + mean[c]
                        + ", std " + std[c] + " (std must be finite and > 0)");
            }
        }
    }

    public static Normalization gray(float mean, float std) {
        return new Normalization(new float[]{mean}, new float[]{std});
    }

    /** ImageNet statistics for 3 channels, 0.5/0.5 for anything else. */
    public static Normalization defaultFor(int channels) {
        return channels == 3 ? IMAGENET : gray(0.5f, 0.5f).expandTo(channels);
    }

    public int channels() {
        return mean.length;
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /**
     * This normalisation for {@code channels} channels: unchanged if it already has that many, a
     * 1-channel one repeated, a 3-channel one averaged to 1 channel (for RGB data converted to
     * gray).
     */
    public Normalization expandTo(int channels) {
        if (channels == mean.length) {
            return this;
        }
        if (mean.length == 1) {
            float[] m = new float[channels];
            float[] s = new float[channels];
            Arrays.fill(m, mean[0]);
            Arrays.fill(s, std[0]);
            return new Normalization(m, s);
        }
        if (channels == 1) {
            float m = 0;
            float s = 0;
            for (int c = 0; c < mean.length; c++) {
                m += mean[c];
                s += std[c];
            }
            return gray(m / mean.length, s / mean.length);
        }
        throw new IllegalArgumentException("cannot turn a " + mean.length + "-channel normalisation into a "
                + channels + "-channel one");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Normalization n && Arrays.equals(mean, n.mean) && Arrays.equals(std, n.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "Normalization(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
    }
}
