package io.trady4j.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * trady4j_conv2d_shape: the geometry an implementation is chosen for. A linear op is the 1x1
 * convolution {@link #linear} describes, as in trady4j_impl_eligible.
 */
public record OpShape(int batch, int inChannels, int inHeight, int inWidth, int outChannels, int outHeight,
                      int outWidth, int kernel, int stride, int padding, int dilation, int groups) {
    /** The C struct: 12 int32 fields in this record's order. */
    static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("batch"), JAVA_INT.withName("in_channels"), JAVA_INT.withName("in_height"),
            JAVA_INT.withName("in_width"), JAVA_INT.withName("out_channels"), JAVA_INT.withName("out_height"),
            JAVA_INT.withName("out_width"), JAVA_INT.withName("kernel"), JAVA_INT.withName("stride"),
            JAVA_INT.withName("padding"), JAVA_INT.withName("dilation"), JAVA_INT.withName("groups"));

    /**
     * The shape of a linear layer, as a 1x1 convolution over a 1x1 plane.
     *
     * @param batch       B
     * @param inFeatures  F
     * @param outFeatures O
     * @return the shape
     */
    public static OpShape linear(int batch, int inFeatures, int outFeatures) {
        return new OpShape(batch, inFeatures, 1, 1, outFeatures, 1, 1, 1, 1, 0, 1, 1);
    }

    int[] fields() {
        return new int[] {batch, inChannels, inHeight, inWidth, outChannels, outHeight, outWidth, kernel, stride,
                padding, dilation, groups};
    }

    MemorySegment toSegment(Arena arena) {
        MemorySegment s = arena.allocate(LAYOUT);
        int[] v = fields();
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(JAVA_INT, i, v[i]);
        }
        return s;
    }

    /** "b,c,h,w,c',h',w',k,s,p,d,g": the form the tuning cache stores. */
    String key() {
        StringBuilder sb = new StringBuilder();
        for (int v : fields()) {
            sb.append(sb.isEmpty() ? "" : ",").append(v);
        }
        return sb.toString();
    }

    static OpShape parse(String key) {
        String[] p = key.split(",", -1);
        if (p.length != 12) {
            throw new IllegalArgumentException("a shape has 12 fields, got " + p.length + ": " + key);
        }
        int[] v = new int[12];
        for (int i = 0; i < 12; i++) {
            v[i] = Integer.parseInt(p[i]);
        }
        return new OpShape(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]);
    }
}
