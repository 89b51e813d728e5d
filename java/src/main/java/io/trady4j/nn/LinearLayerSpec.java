package io.trady4j.nn;

/** A fully connected layer: {@code name + ".weight"} [out, in] and, if {@code bias}, {@code name + ".bias"}. */
public record LinearLayerSpec(String name, int in, int out, boolean bias) {
}
