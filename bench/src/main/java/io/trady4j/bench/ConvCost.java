package io.trady4j.bench;

/**
 * Analytic cost of one conv layer's operations at a batch size: floating-point operations (a
 * multiply-add counts 2) and the fewest bytes an implementation must move through device memory
 * (each float32 input read once, each output written once). The activation gradient dx counts
 * the same multiply-adds as the forward, as a transposed convolution of dy with W.
 */
public record ConvCost(Layers.Layer layer, int batch) {
    private static final long FLOAT_BYTES = 4;

    private long inputElements() {
        return (long) batch * layer.in() * layer.size() * layer.size();
    }

    private long outputElements() {
        return (long) batch * layer.out() * layer.outSize() * layer.outSize();
    }

    private long weightElements() {
        return (long) layer.out() * (layer.in() / layer.groups()) * layer.kernel() * layer.kernel();
    }

    /** Forward y = conv(x, W): 2·B·C'·(C/g)·D²·H'·W'. */
    public long forwardFlops() {
        return 2L * batch * layer.macsPerSample();
    }

    /** The full weight gradient: as many multiply-adds as the forward. */
    public long denseWeightGradFlops() {
        return forwardFlops();
    }

    /** The input gradient dx: as many multiply-adds as the forward. */
    public long inputGradFlops() {
        return forwardFlops();
    }

    /** The weight gradient for |S| selected input channels: 2·B·(C'/g)·|S|·D²·H'·W'. */
    public long sparseWeightGradFlops(int selected) {
        long o = layer.outSize();
        return 2L * batch * (layer.out() / layer.groups()) * selected * layer.kernel() * layer.kernel() * o * o;
    }

    /** Bytes of the channel-gathered cache x[:, S] that the gather-fused forward writes. */
    public long cacheBytes(int selected) {
        return FLOAT_BYTES * batch * selected * layer.size() * layer.size();
    }

    /** Reads x and W, writes y. */
    public long forwardBytes() {
        return FLOAT_BYTES * (inputElements() + weightElements() + outputElements());
    }

    /** The forward's bytes plus the cache it writes. */
    public long gatherForwardBytes(int selected) {
        return forwardBytes() + cacheBytes(selected);
    }

    /**
     * Reads x[:, S] and the output channels of dy that S feeds (all C' for groups = 1, at most
     * (C'/g)·|S| otherwise), writes the |S| slices of dW.
     */
    public long sparseWeightGradBytes(int selected) {
        long dyChannels = layer.groups() == 1 ? layer.out()
                : Math.min(layer.out(), (long) (layer.out() / layer.groups()) * selected);
        long dyElements = batch * dyChannels * layer.outSize() * layer.outSize();
        long dwElements = (long) (layer.out() / layer.groups()) * selected * layer.kernel() * layer.kernel();
        return cacheBytes(selected) + FLOAT_BYTES * (dyElements + dwElements);
    }

    /** Reads dy and W, writes dx. */
    public long inputGradBytes() {
        return forwardBytes();
    }
}
