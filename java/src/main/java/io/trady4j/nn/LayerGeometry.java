package io.trady4j.nn;

/** A conv layer with the spatial sizes of its input (H, W) and output (H', W') at some resolution. */
public record LayerGeometry(ConvLayerSpec layer, int inHeight, int inWidth, int outHeight, int outWidth) {
}
