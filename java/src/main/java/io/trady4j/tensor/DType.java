package io.trady4j.tensor;

/** Element types a tensor can hold: float32 for data, int32 for indices and labels. */
public enum DType {
    F32(4),
    I32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
