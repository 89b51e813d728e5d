package io.trady4j.dlpack;

import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * DLPack import and export with structs built by hand at the byte offsets of dlpack.h's C layout
 * (not from the implementation's layouts), a counting native deleter, and round trips. The
 * refusals run on the CPU backend everywhere; imports, exports and round trips need the CUDA
 * backend (a GPU, or the emulated library: -Dtrady4j.cuda.emulator=true
 * -Dtrady4j.native.path=native/build-emu) and are skipped otherwise.
 */
class DLPackTest {
    private static final List<Long> DELETED = new ArrayList<>();
    private static MemorySegment countingDeleter;
    private static CpuBackend cpu;
    private static CudaBackend gpu;
    private static String gpuMissing;

    @BeforeAll
    static void setUp() throws ReflectiveOperationException {
        MethodHandle h = MethodHandles.lookup().findStatic(DLPackTest.class, "deleted",
                MethodType.methodType(void.class, MemorySegment.class));
        countingDeleter = Linker.nativeLinker().upcallStub(h, FunctionDescriptor.ofVoid(ADDRESS), Arena.global());
        cpu = new CpuBackend(1);
        if (Boolean.getBoolean("trady4j.cuda.emulator")) {
            System.setProperty(CudaBackend.RUNTIME_PROPERTY, "native");
        }
        try {
            gpu = CudaBackend.open();
        } catch (BackendUnavailableException e) {
            gpuMissing = e.getMessage();
        }
    }

    @AfterAll
    static void tearDown() {
        cpu.close();
        if (gpu != null) {
            gpu.close();
        }
    }

    @BeforeEach
    void forget() {
        DELETED.clear();
    }

    private static void deleted(MemorySegment self) {
        DELETED.add(self.address());
    }

    private static CudaBackend gpu() {
        assumeTrue(gpu != null, () -> "no CUDA backend here: " + gpuMissing);
        return gpu;
    }

    /** A DLTensor at {@code t} (48 bytes), written at dlpack.h's offsets. */
    private static void dlTensor(Arena arena, MemorySegment t, long data, int deviceType, int code, long[] shape,
                                 long[] strides, long byteOffset) {
        t.set(ADDRESS, 0, MemorySegment.ofAddress(data));
        t.set(JAVA_INT, 8, deviceType);
        t.set(JAVA_INT, 12, 0);
        t.set(JAVA_INT, 16, shape.length);
        t.set(JAVA_BYTE, 20, (byte) code);
        t.set(JAVA_BYTE, 21, (byte) 32);
        t.set(JAVA_SHORT, 22, (short) 1);
        t.set(ADDRESS, 24, arena.allocateFrom(JAVA_LONG, shape));
        t.set(ADDRESS, 32, strides == null ? MemorySegment.NULL : arena.allocateFrom(JAVA_LONG, strides));
        t.set(JAVA_LONG, 40, byteOffset);
    }

    /** A DLManagedTensorVersioned (80 bytes): version at 0, manager_ctx 8, deleter 16, flags 24, dl_tensor 32. */
    private static MemorySegment versioned(Arena arena, int major, long flags, long data, int deviceType, int code,
                                           long[] shape, long[] strides) {
        MemorySegment m = arena.allocate(80, 8);
        m.set(JAVA_INT, 0, major);
        m.set(JAVA_INT, 4, 0);
        m.set(ADDRESS, 8, MemorySegment.NULL);
        m.set(ADDRESS, 16, countingDeleter);
        m.set(JAVA_LONG, 24, flags);
        dlTensor(arena, m.asSlice(32, 48), data, deviceType, code, shape, strides, 0);
        return m;
    }

    /** A legacy DLManagedTensor (64 bytes): dl_tensor at 0, manager_ctx 48, deleter 56. */
    private static MemorySegment legacy(Arena arena, long data, int deviceType, long[] shape) {
        MemorySegment m = arena.allocate(64, 8);
        dlTensor(arena, m.asSlice(0, 48), data, deviceType, 2, shape, null, 0);
        m.set(ADDRESS, 48, MemorySegment.NULL);
        m.set(ADDRESS, 56, countingDeleter);
        return m;
    }

    @Test
    void layouts_match_dlpack_h() {
        assertEquals(48, DlpackLayouts.TENSOR.byteSize());
        assertEquals(64, DlpackLayouts.MANAGED_LEGACY.byteSize());
        assertEquals(80, DlpackLayouts.MANAGED_VERSIONED.byteSize());
        assertEquals(List.of(0L, 8L, 12L, 16L, 20L, 21L, 22L, 24L, 32L, 40L),
                List.of(DlpackLayouts.DATA, DlpackLayouts.DEVICE_TYPE, DlpackLayouts.DEVICE_ID, DlpackLayouts.NDIM,
                        DlpackLayouts.DTYPE_CODE, DlpackLayouts.DTYPE_BITS, DlpackLayouts.DTYPE_LANES,
                        DlpackLayouts.SHAPE, DlpackLayouts.STRIDES, DlpackLayouts.BYTE_OFFSET));
        assertEquals(List.of(0L, 4L, 8L, 16L, 24L, 32L, 0L, 56L),
                List.of(DlpackLayouts.VERSIONED_MAJOR, DlpackLayouts.VERSIONED_MINOR, DlpackLayouts.VERSIONED_CONTEXT,
                        DlpackLayouts.VERSIONED_DELETER, DlpackLayouts.VERSIONED_FLAGS, DlpackLayouts.VERSIONED_TENSOR,
                        DlpackLayouts.LEGACY_TENSOR, DlpackLayouts.LEGACY_DELETER));
    }

    @Test
    void a_view_adds_the_byte_offset_and_accepts_any_stride_of_a_size_one_dimension() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(48, 8);
            dlTensor(arena, t, 0x1000, DLPack.DEVICE_CUDA, 2, new long[] {2, 1, 3}, new long[] {3, 99, 1}, 64);
            DlTensorView v = DlTensorView.read(t);
            assertEquals(0x1040, v.address());
            assertEquals(Shape.of(2, 1, 3), v.shape());
            assertEquals(DType.F32, v.dtype());
            dlTensor(arena, t, 0x1000, DLPack.DEVICE_CUDA, 0, new long[] {5}, null, 0);
            assertEquals(DType.I32, DlTensorView.read(t).dtype());
        }
    }

    @Test
    void unfit_tensors_are_refused_and_stay_the_callers() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(24, 16);
            long[] shape = {2, 3};
            refused("DLPack version 2.0 is not supported",
                    () -> DLPack.importVersioned(cpu, versioned(arena, 2, 0, data.address(), 1, 2, shape, null)));
            refused("read-only", () -> DLPack.importVersioned(cpu,
                    versioned(arena, 1, DLPack.FLAG_READ_ONLY, data.address(), 1, 2, shape, null)));
            refused("not contiguous row-major", () -> DLPack.importVersioned(cpu,
                    versioned(arena, 1, 0, data.address(), 1, 2, shape, new long[] {1, 2})));
            refused("(code 1, bits 32, lanes 1) is not one trady4j computes on", () -> DLPack.importVersioned(cpu,
                    versioned(arena, 1, 0, data.address(), 1, 1, shape, null)));
            refused("dimension 1 is 0", () -> DLPack.importVersioned(cpu,
                    versioned(arena, 1, 0, data.address(), 1, 2, new long[] {2, 0}, null)));
            refused("data pointer is NULL", () -> DLPack.importVersioned(cpu,
                    versioned(arena, 1, 0, 0, 1, 2, shape, null)));
            refused("is on kDLCUDA device 0; the cpu backend computes on host memory",
                    () -> DLPack.importLegacy(cpu, legacy(arena, data.address(), DLPack.DEVICE_CUDA, shape)));
            refused("cannot import the DLPack tensor: the CPU backend computes on Java arrays",
                    () -> DLPack.importLegacy(cpu, legacy(arena, data.address(), DLPack.DEVICE_CPU, shape)));
            refused("managed tensor pointer is NULL", () -> DLPack.importVersioned(cpu, MemorySegment.NULL));
            try (Tensor t = cpu.allocate(Shape.of(2), MemoryCategory.DATA)) {
                refused("the cpu backend's tensors are Java arrays", () -> DLPack.exportVersioned(cpu, t));
            }
        }
        assertEquals(List.of(), DELETED, "a refused tensor's deleter is not called");
    }

    @Test
    void a_refused_device_on_the_cuda_backend() {
        CudaBackend g = gpu();
        try (Arena arena = Arena.ofConfined(); Tensor owner = g.allocate(Shape.of(6), MemoryCategory.DATA)) {
            long p = g.devicePointer(owner);
            refused("is on kDLCPU device 0; this CUDA backend computes on kDLCUDA device " + g.deviceIndex(),
                    () -> DLPack.importVersioned(g, versioned(arena, 1, 0, p, DLPack.DEVICE_CPU, 2, new long[] {6}, null)));
        }
        assertEquals(List.of(), DELETED);
    }

    @Test
    void an_imported_tensor_is_computed_on_in_place_and_its_close_calls_the_deleter_once() {
        CudaBackend g = gpu();
        try (Arena arena = Arena.ofConfined();
             Tensor owner = g.upload(new float[] {1, 2, 3, 4, 5, 6}, Shape.of(6), MemoryCategory.DATA)) {
            MemorySegment m = versioned(arena, 1, 0, g.devicePointer(owner), DLPack.DEVICE_CUDA, 2,
                    new long[] {2, 3}, new long[] {3, 1});
            Tensor in = DLPack.importVersioned(g, m);
            assertTrue(in.isWrapped());
            assertEquals(Shape.of(2, 3), in.shape());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, g.toFloatArray(in));
            g.add(in, in, in);  // results land in the producer's memory
            assertArrayEquals(new float[] {2, 4, 6, 8, 10, 12}, g.toFloatArray(owner));
            in.close();
            in.close();
            assertEquals(List.of(m.address()), DELETED, "deleter called exactly once, with the struct");

            MemorySegment l = legacy(arena, g.devicePointer(owner), DLPack.DEVICE_CUDA, new long[] {6});
            try (Tensor old = DLPack.importLegacy(g, l)) {
                assertArrayEquals(new float[] {2, 4, 6, 8, 10, 12}, g.toFloatArray(old));
            }
            assertEquals(List.of(m.address(), l.address()), DELETED);
            assertArrayEquals(new float[] {2, 4, 6, 8, 10, 12}, g.toFloatArray(owner), "the memory stays the producer's");
        }
    }

    @Test
    void an_export_describes_our_tensor_and_round_trips_with_one_deletion() throws Throwable {
        CudaBackend g = gpu();
        Tensor ours = g.upload(new float[] {1, -2, 3, -4, 5, -6, 7, -8}, Shape.of(2, 4), MemoryCategory.DATA);
        int before = DLPack.liveExports();
        MemorySegment m = DLPack.exportVersioned(g, ours);
        assertEquals(before + 1, DLPack.liveExports());
        assertEquals(1, m.get(JAVA_INT, 0));
        assertEquals(0L, m.get(JAVA_LONG, 24), "flags");
        MemorySegment t = m.asSlice(32, 48);
        assertEquals(g.devicePointer(ours), t.get(ADDRESS, 0).address());
        assertEquals(DLPack.DEVICE_CUDA, t.get(JAVA_INT, 8));
        assertEquals(g.deviceIndex(), t.get(JAVA_INT, 12));
        assertEquals(2, t.get(JAVA_INT, 16));
        assertEquals(2, t.get(JAVA_BYTE, 20));
        assertEquals(32, t.get(JAVA_BYTE, 21));
        assertEquals(1, t.get(JAVA_SHORT, 22));
        assertArrayEquals(new long[] {2, 4}, t.get(ADDRESS, 24).reinterpret(16).toArray(JAVA_LONG));
        assertArrayEquals(new long[] {4, 1}, t.get(ADDRESS, 32).reinterpret(16).toArray(JAVA_LONG));
        assertEquals(0L, t.get(JAVA_LONG, 40));

        MemorySegment deleter = m.get(ADDRESS, 16);
        Tensor back = DLPack.importVersioned(g, m);
        assertArrayEquals(g.toFloatArray(ours), g.toFloatArray(back));
        assertTrue(!ours.isClosed(), "the export stays alive until its consumer deletes it");
        back.close();  // the consumer is done: our deleter closes our tensor and frees the struct
        assertTrue(ours.isClosed());
        assertEquals(before, DLPack.liveExports());
        // A second deletion of the same struct (a consumer bug) finds nothing to do.
        MethodHandle call = Linker.nativeLinker().downcallHandle(FunctionDescriptor.ofVoid(ADDRESS));
        call.invokeExact(deleter, MemorySegment.ofAddress(m.address()));
        assertEquals(before, DLPack.liveExports());
    }

    private static void refused(String part, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), () -> "expected '" + part + "' in: " + e.getMessage());
    }
}
