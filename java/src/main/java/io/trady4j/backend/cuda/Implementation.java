package io.trady4j.backend.cuda;

/** One kernel implementation of an op: its id in the op's table (1, 2, ...) and its name ("v2_tiled"). */
public record Implementation(CudaOp op, int id, String name) {
    @Override
    public String toString() {
        return name;
    }
}
