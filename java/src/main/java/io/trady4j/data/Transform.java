package io.trady4j.data;

import java.io.IOException;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Turns a data set sample into a model input: resize to {@code size × size} (bilinear, see
 * {@link Resize}; non-square images are stretched), convert channels (gray → 3 by repetition,
 * RGB → 1 by ITU-R 601 luma), then for training a random crop with zero padding (torchvision's
 * {@code RandomCrop(size, padding=p)}: shift by up to ±p pixels, uncovered pixels are 0 before
 * normalisation) and a random horizontal flip (probability ½), then per-channel normalisation.
 *
 * <p>Augmentation is a pure function of (seed, epoch, sample index): sample i of epoch e draws
 * from {@code new SplittableRandom(Seeds.derive(seed, Seeds.AUGMENT, e, i))}, whatever order or
 * thread it is processed in.
 */
public final class Transform {
    private final int size;
    private final int channels;
    private final Normalization normalization;
    private final float[] mean;
    private final float[] std;
    private final int padding;
    private final boolean flip;

    private Transform(Builder b) {
        this.size = b.size;
        this.channels = b.channels;
        this.normalization = (b.normalization == null ? Normalization.defaultFor(channels) : b.normalization)
                .expandTo(channels);
        this.mean = normalization.mean();
        this.std = normalization.std();
        this.padding = b.padding;
        this.flip = b.flip;
    }

    /**
     * A transform to {@code channels × size × size}; no augmentation and the default
     * normalisation for that channel count until set.
     */
    public static Builder builder(int size, int channels) {
        return new Builder(size, channels);
    }

    /** Evaluation transform for a data set: resize, channels, the data set's normalisation. */
    public static Transform eval(Dataset ds, int size, int channels) {
        return builder(size, channels).normalization(ds.normalization()).build();
    }

    /**
     * Training transform for a data set: as {@link #eval} plus a random crop with padding
     * {@code max(1, size/8)} (4 at 32 px) and, if {@code flip}, a horizontal flip.
     */
    public static Transform train(Dataset ds, int size, int channels, boolean flip) {
        return builder(size, channels).normalization(ds.normalization()).randomCrop(Math.max(1, size / 8))
                .horizontalFlip(flip).build();
    }

    public static final class Builder {
        private final int size;
        private final int channels;
        private Normalization normalization;
        private int padding;
        private boolean flip;

        private Builder(int size, int channels) {
            if (size < 1 || size > 4096) {
                throw new IllegalArgumentException("image size " + size + " is not in [1, 4096]");
            }
            if (channels != 1 && channels != 3) {
                throw new IllegalArgumentException("a model input has 1 or 3 channels, not " + channels);
            }
            this.size = size;
            this.channels = channels;
        }

        /** Per-channel mean/std (1-channel values are repeated for 3 channels). */
        public Builder normalization(Normalization n) {
            this.normalization = Objects.requireNonNull(n);
            return this;
        }

        /** Random crop after zero-padding by {@code padding} pixels per side (0 = off). */
        public Builder randomCrop(int padding) {
            if (padding < 0 || padding > size) {
                throw new IllegalArgumentException("crop padding " + padding + " is not in [0, " + size + "]");
            }
            this.padding = padding;
            return this;
        }

        public Builder horizontalFlip(boolean flip) {
            this.flip = flip;
            return this;
        }

        public Transform build() {
            return new Transform(this);
        }
    }

    public int size() {
        return size;
    }

    public int channels() {
        return channels;
    }

    /** Floats per output image: {@code channels·size·size}. */
    public int floatsPerImage() {
        return channels * size * size;
    }

    public Normalization normalization() {
        return normalization;
    }

    public int padding() {
        return padding;
    }

    public boolean flip() {
        return flip;
    }

    /** Whether this transform draws random numbers (crop or flip). */
    public boolean augments() {
        return padding > 0 || flip;
    }

    /** Checks that this transform can take images of {@code ds}. */
    public void check(Dataset ds) {
        int c = ds.channels();
        if (c != channels && !(c == 1 && channels == 3) && !(c == 3 && channels == 1)) {
            throw new IllegalArgumentException(ds.name() + " has " + c + "-channel images; a " + channels
                    + "-channel model input can be made from 1 or 3 channels only");
        }
    }

    /** Scratch space for one thread; not thread-safe. */
    public Worker worker() {
        return new Worker();
    }

    public final class Worker {
        private float[] src = new float[0];
        private float[] resized = new float[0];
        private float[] tmp = new float[0];
        private Resize.Coeffs ch;
        private Resize.Coeffs cw;

        private Worker() {
        }

        /**
         * Writes the transformed sample {@code index} of {@code ds} into
         * {@code dst[offset .. offset + floatsPerImage())}.
         */
        public void apply(Dataset ds, int index, long seed, int epoch, float[] dst, int offset) throws IOException {
            int c = ds.channels();
            int h = ds.height();
            int w = ds.width();
            int n = c * h * w;
            if (src.length < n) {
                src = new float[n];
            }
            ds.image(index, src, 0);
            float[] img = src;
            if (h != size || w != size) {
                if (ch == null || ch.in != h) {
                    ch = new Resize.Coeffs(h, size);
                }
                if (cw == null || cw.in != w) {
                    cw = new Resize.Coeffs(w, size);
                }
                if (tmp.length < c * h * size) {
                    tmp = new float[c * h * size];
                }
                if (resized.length < c * size * size) {
                    resized = new float[c * size * size];
                }
                Resize.resize(src, 0, c, h, w, resized, 0, size, size, ch, cw, tmp);
                img = resized;
            }
            int dy = 0;
            int dx = 0;
            boolean mirror = false;
            if (padding > 0 || flip) {
                SplittableRandom r = new SplittableRandom(Seeds.derive(seed, Seeds.AUGMENT, epoch, index));
                if (padding > 0) {
                    dy = r.nextInt(2 * padding + 1) - padding;
                    dx = r.nextInt(2 * padding + 1) - padding;
                }
                mirror = flip && r.nextBoolean();
            }
            write(img, c, dy, dx, mirror, dst, offset);
        }
    }

    /** Channel conversion, crop shift (dy, dx), mirror and normalisation from a C×size×size image. */
    private void write(float[] img, int c, int dy, int dx, boolean mirror, float[] dst, int offset) {
        int s = size;
        int plane = s * s;
        for (int oc = 0; oc < channels; oc++) {
            float m = mean[oc];
            float inv = 1f / std[oc];
            float zero = -m * inv;
            int o = offset + oc * plane;
            boolean luma = c == 3 && channels == 1;
            int p = c == channels ? oc * plane : 0;
            for (int y = 0; y < s; y++) {
                int sy = y + dy;
                int orow = o + y * s;
                if (sy < 0 || sy >= s) {
                    java.util.Arrays.fill(dst, orow, orow + s, zero);
                    continue;
                }
                int srow = p + sy * s;
                for (int x = 0; x < s; x++) {
                    int sx = (mirror ? s - 1 - x : x) + dx;
                    float v;
                    if (sx < 0 || sx >= s) {
                        v = 0f;
                    } else if (luma) {
                        int k = sy * s + sx;
                        v = 0.299f * img[k] + 0.587f * img[plane + k] + 0.114f * img[2 * plane + k];
                    } else {
                        v = img[srow + sx];
                    }
                    dst[orow + x] = (v - m) * inv;
                }
            }
        }
    }
}
