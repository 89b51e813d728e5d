package io.trady4j.nn;

/** Square max pooling (ResNet's stem). */
public record MaxPoolSpec(int kernel, int stride, int padding) {
}
