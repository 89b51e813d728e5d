package io.trady4j.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** The implementation tables of the loaded libtrady4j_cuda.so (trady4j_impl_*), listed once. */
final class NativeImplementationTable implements ImplementationTable {
    static final NativeImplementationTable INSTANCE = new NativeImplementationTable();

    private final Map<CudaOp, List<Implementation>> lists = new EnumMap<>(CudaOp.class);

    private NativeImplementationTable() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment name = arena.allocate(ValueLayout.ADDRESS);
            for (CudaOp op : CudaOp.values()) {
                NativeCalls.IMPL_COUNT.call(op.code(), count);
                List<Implementation> list = new ArrayList<>();
                for (int id = 1; id <= count.get(ValueLayout.JAVA_INT, 0); id++) {
                    NativeCalls.IMPL_NAME.call(op.code(), id, name);
                    list.add(new Implementation(op, id, name.get(ValueLayout.ADDRESS, 0).reinterpret(256).getString(0)));
                }
                lists.put(op, List.copyOf(list));
            }
        }
    }

    @Override
    public List<Implementation> implementations(CudaOp op) {
        return lists.get(op);
    }

    @Override
    public boolean eligible(Implementation impl, OpShape shape, int nsel) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeCalls.IMPL_ELIGIBLE.call(impl.op().code(), impl.id(), shape.toSegment(arena), nsel, out);
            return out.get(ValueLayout.JAVA_INT, 0) != 0;
        }
    }

    @Override
    public int heuristic(CudaOp op, OpShape shape, int nsel) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            NativeCalls.IMPL_HEURISTIC_OF.call(op.code(), shape.toSegment(arena), nsel, out);
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }
}
