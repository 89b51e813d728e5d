package io.trady4j.tensor;

import java.util.Arrays;

/** An immutable tensor shape (row-major, NCHW for images). Every dimension is at least 1. */
public final class Shape {
    private final int[] dims;
    private final long numel;

    private Shape(int[] dims) {
        if (dims.length == 0) {
            throw new IllegalArgumentException("a shape needs at least one dimension");
        }
        long n = 1;
        for (int d : dims) {
            if (d < 1) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has a dimension < 1");
            }
            n = Math.multiplyExact(n, d);
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has " + n
                    + " elements; at most " + (Integer.MAX_VALUE - 8) + " are supported per tensor");
        }
        this.dims = dims;
        this.numel = n;
    }

    /**
     * @param dims the dimensions, outermost first, each at least 1
     * @return the shape
     * @throws IllegalArgumentException if there is no dimension, one is below 1, or there are more than
     *                                  {@code Integer.MAX_VALUE - 8} elements
     */
    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    /** @return the number of dimensions */
    public int rank() {
        return dims.length;
    }

    /**
     * @param i a dimension index in [0, rank())
     * @return the size of dimension i
     */
    public int dim(int i) {
        return dims[i];
    }

    /** @return a copy of the dimensions */
    public int[] dims() {
        return dims.clone();
    }

    /** Number of elements; always fits an int (checked at construction). */
    public int numel() {
        return (int) numel;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) {
                sb.append('x');
            }
            sb.append(dims[i]);
        }
        return sb.append(']').toString();
    }
}
