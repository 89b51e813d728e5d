package io.trady4j.tensor;

/** Element types a tensor can hold: float32 for data, int32 for indices and labels. */
public enum DType {
    /** 32-bit IEEE float: activations, weights, gradients. */
    F32(4),
    /** 32-bit signed integer: channel indices, labels, activation masks, arg-max offsets. */
    I32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** @return the bytes one element takes */
    public int bytes() {
        return bytes;
    }
}
