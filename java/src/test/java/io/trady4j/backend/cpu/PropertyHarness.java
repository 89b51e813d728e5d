package io.trady4j.backend.cpu;

import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.util.Random;

/**
 * Random-case driver for property tests: a fresh seed each run (printed on failure, and settable
 * with {@code -Dtrady4j.seed=N} to reproduce), case counts scaled by {@code -Dtrady4j.cases=F}
 * (default 1.0), random valid shapes, NaN-poisoned outputs and the relative-error check.
 */
final class PropertyHarness {
    static final double TOLERANCE = 1e-5;
    static final long SEED = Long.getLong("trady4j.seed", System.nanoTime());
    private static final double SCALE = Double.parseDouble(System.getProperty("trady4j.cases", "1"));

    private PropertyHarness() {
    }

    interface Case {
        /** Runs one case; appends what it drew to {@code desc} so that a failure says which shape broke. */
        void run(Random rnd, StringBuilder desc) throws Exception;
    }

    /** Runs {@code cases} (scaled) random cases of one property, each with its own derived seed. */
    static void forAll(String property, int cases, Case body) {
        int n = Math.max(1, (int) Math.round(cases * SCALE));
        long base = SEED * 0x9E3779B97F4A7C15L + property.hashCode();
        for (int i = 0; i < n; i++) {
            Random rnd = new Random(base + i * 0xBF58476D1CE4E5B9L);
            StringBuilder desc = new StringBuilder();
            try {
                body.run(rnd, desc);
            } catch (Throwable t) {
                throw new AssertionError(property + ": case " + i + " failed; reproduce with -Dtrady4j.seed=" + SEED
                        + "\n  case: " + desc + "\n  cause: " + t, t);
            }
        }
    }

    static float[] randoms(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextFloat() * 2f - 1f;
        }
        return a;
    }

    static int[] randomSelection(Random rnd, int channels) {
        int kind = rnd.nextInt(4);
        int size = switch (kind) {
            case 0 -> 1;
            case 1 -> channels;
            default -> 1 + rnd.nextInt(channels);
        };
        boolean[] pick = new boolean[channels];
        int picked = 0;
        while (picked < size) {
            int c = rnd.nextInt(channels);
            if (!pick[c]) {
                pick[c] = true;
                picked++;
            }
        }
        int[] sel = new int[size];
        for (int c = 0, j = 0; c < channels; c++) {
            if (pick[c]) {
                sel[j++] = c;
            }
        }
        return sel;
    }

    /** A random valid convolution geometry with its input size. */
    record ConvCase(Conv2dSpec spec, int batch, int h, int w) {
        @Override
        public String toString() {
            return spec + " input [" + batch + "," + spec.inChannels() + "," + h + "," + w + "]";
        }
    }

    static ConvCase randomConv(Random rnd) {
        int[] kernels = {1, 3, 5, 7};
        int d = kernels[rnd.nextInt(kernels.length)];
        int stride = 1 + rnd.nextInt(2);
        int pad = rnd.nextInt(4);
        int dil = 1 + rnd.nextInt(2);
        int in, out, groups;
        switch (rnd.nextInt(5)) {
            case 0, 1 -> {
                groups = 1;
                in = 1 + rnd.nextInt(9);
                out = 1 + rnd.nextInt(9);
            }
            case 2 -> {
                groups = 2;
                in = 2 * (1 + rnd.nextInt(4));
                out = 2 * (1 + rnd.nextInt(4));
            }
            case 3 -> {
                in = 1 + rnd.nextInt(10);
                groups = in;
                out = in;
            }
            default -> {
                in = 1 + rnd.nextInt(6);
                groups = in;
                out = in * (2 + rnd.nextInt(2));
            }
        }
        Conv2dSpec spec = new Conv2dSpec(in, out, d, stride, pad, dil, groups);
        int min = Math.max(1, spec.effectiveKernel() - 2 * pad);
        int h = min + rnd.nextInt(12), w = min + rnd.nextInt(12);
        int batch = 1 + rnd.nextInt(3);
        return new ConvCase(spec, batch, h, w);
    }

    /**
     * Larger layer-like shapes that reach the kernels' blocking paths the small shapes miss: depthwise
     * planes big enough to be processed a few samples at a time, many channels (reduction chunks,
     * many register tiles), long column ranges.
     */
    static ConvCase randomLargeConv(Random rnd) {
        int batch = 1 + rnd.nextInt(4);
        Conv2dSpec spec;
        int h;
        switch (rnd.nextInt(7)) {
            case 6 -> { // pointwise on planes of >= 256 pixels: oneDNN's sgemm runs one sample's GEMM in place
                int groups = 1 + rnd.nextInt(2);
                spec = new Conv2dSpec(groups * (1 + rnd.nextInt(24)), groups * (1 + rnd.nextInt(24)), 1, 1, 0, 1, groups);
                h = 16 + rnd.nextInt(10);
            }
            case 5 -> { // many input channels, small planes (ResNet's last stages): channel-chunked col2im
                int groups = 1 + rnd.nextInt(2);
                spec = new Conv2dSpec(groups * (16 + rnd.nextInt(40)), groups * (1 + rnd.nextInt(12)),
                        1 + 2 * rnd.nextInt(2), 1 + rnd.nextInt(2), rnd.nextInt(2), 1, groups);
                h = 3 + rnd.nextInt(6);
            }
            case 0 -> { // depthwise 3x3 (MobileNet), maybe with a multiplier, planes > 2048 pixels
                int c = 1 + rnd.nextInt(5);
                spec = new Conv2dSpec(c, c * (1 + rnd.nextInt(2)), 3, 1 + rnd.nextInt(2), 1, 1, c);
                h = 40 + rnd.nextInt(40);
            }
            case 1 -> { // depthwise 5x5 / 7x7, dilation, odd padding
                int c = 1 + rnd.nextInt(3);
                int d = 5 + 2 * rnd.nextInt(2);
                spec = new Conv2dSpec(c, c, d, 1 + rnd.nextInt(2), rnd.nextInt(4), 1 + rnd.nextInt(2), c);
                h = 30 + rnd.nextInt(40);
            }
            case 2 -> { // pointwise, many inputs (reduction chunks)
                spec = new Conv2dSpec(100 + rnd.nextInt(200), 1 + rnd.nextInt(24), 1, 1, 0, 1, 1);
                h = 2 + rnd.nextInt(8);
            }
            case 3 -> { // pointwise, many outputs
                spec = new Conv2dSpec(1 + rnd.nextInt(24), 100 + rnd.nextInt(200), 1, 1, 0, 1, 1);
                h = 2 + rnd.nextInt(12);
            }
            default -> { // dense 3x3 with a long column range, maybe grouped
                int groups = 1 + rnd.nextInt(2);
                spec = new Conv2dSpec(groups * (1 + rnd.nextInt(12)), groups * (1 + rnd.nextInt(20)), 3,
                        1 + rnd.nextInt(2), rnd.nextInt(2), 1, groups);
                h = 16 + rnd.nextInt(30);
            }
        }
        int w = Math.max(spec.effectiveKernel(), h + rnd.nextInt(9) - 4);
        return new ConvCase(spec, batch, h, w);
    }

    /** Mostly small random shapes; one case in `everyLarge` is a large one. */
    static ConvCase randomConv(Random rnd, int everyLarge) {
        return rnd.nextInt(everyLarge) == 0 ? randomLargeConv(rnd) : randomConv(rnd);
    }

    static Tensor upload(Backend be, float[] data, int... dims) {
        return be.upload(data, Shape.of(dims), MemoryCategory.WORKSPACE);
    }

    static Tensor uploadInts(Backend be, int[] data, int... dims) {
        return be.uploadInts(data, Shape.of(dims), MemoryCategory.WORKSPACE);
    }

    /** A float output filled with NaN, so that any element the operation forgets to write fails the check. */
    static Tensor poisoned(Backend be, int... dims) {
        Tensor t = be.allocate(Shape.of(dims), DType.F32, MemoryCategory.WORKSPACE);
        be.fill(t, Float.NaN);
        return t;
    }

    /** An int output filled with a value no valid operation writes. */
    static Tensor poisonedInts(Backend be, int... dims) {
        int[] fill = new int[Shape.of(dims).numel()];
        java.util.Arrays.fill(fill, Integer.MIN_VALUE);
        return be.uploadInts(fill, Shape.of(dims), MemoryCategory.WORKSPACE);
    }

    static ChannelIndex selection(Backend be, int[] sel, int bound) {
        return be.channelIndex(sel, bound);
    }

    /** ‖out − ref‖ / ‖ref‖ (‖out‖ itself when ref is zero); NaN if out holds a NaN. */
    static double relativeError(double[] out, double[] ref) {
        if (out.length != ref.length) {
            throw new AssertionError("length " + out.length + " != reference length " + ref.length);
        }
        double num = 0.0, den = 0.0;
        for (int i = 0; i < out.length; i++) {
            double e = out[i] - ref[i];
            num += e * e;
            den += ref[i] * ref[i];
        }
        return den == 0.0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    static void assertClose(String what, float[] out, double[] ref) {
        assertClose(what, toDouble(out), ref, null);
    }

    /**
     * Passes when ‖out − ref‖ ≤ 1e-5·‖ref‖ + ROUNDING·‖refAbs‖. refAbs (may be null: no allowance)
     * is the same computation on the absolute values of the inputs, i.e. the size of the terms that
     * were summed: when a sum cancels to almost nothing (e.g. a one-element weight gradient), float32
     * rounding of the terms alone exceeds 1e-5 of the tiny result, and that is not a bug. For
     * outputs that do not cancel, the allowance is smaller than the relative tolerance.
     */
    static final double ROUNDING = 0x1p-22;

    static void assertClose(String what, double[] out, double[] ref, double[] refAbs) {
        for (int i = 0; i < out.length; i++) {
            if (Double.isNaN(out[i]) && !Double.isNaN(ref[i])) {
                throw new AssertionError(what + ": element " + i + " of " + out.length
                        + " is NaN (not written, or wrong); reference " + ref[i]);
            }
        }
        if (out.length != ref.length) {
            throw new AssertionError(what + ": length " + out.length + " != reference length " + ref.length);
        }
        double num = 0.0, den = 0.0, abs = 0.0;
        for (int i = 0; i < out.length; i++) {
            double e = out[i] - ref[i];
            num += e * e;
            den += ref[i] * ref[i];
            if (refAbs != null) {
                abs += refAbs[i] * refAbs[i];
            }
        }
        double allowed = TOLERANCE * Math.sqrt(den) + ROUNDING * Math.sqrt(abs);
        if (!(Math.sqrt(num) <= allowed)) {
            int worst = 0;
            double worstErr = -1;
            for (int i = 0; i < out.length; i++) {
                double e = Math.abs(out[i] - ref[i]);
                if (e > worstErr) {
                    worstErr = e;
                    worst = i;
                }
            }
            throw new AssertionError(what + ": relative error " + relativeError(out, ref) + " > " + TOLERANCE
                    + (refAbs == null ? "" : " (with rounding allowance " + allowed + " absolute)")
                    + "; worst element " + worst + " is " + out[worst] + ", reference " + ref[worst]);
        }
    }

    static void assertClose(String what, Backend be, Tensor out, double[] ref) {
        assertClose(what, be, out, ref, null);
    }

    static void assertClose(String what, Backend be, Tensor out, double[] ref, double[] refAbs) {
        assertClose(what, toDouble(be.toFloatArray(out)), ref, refAbs);
    }

    static float[] abs(float[] a) {
        if (a == null) {
            return null;
        }
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.abs(a[i]);
        }
        return r;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}
