package io.trady4j.dlpack;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The tensors {@link DLPack#exportVersioned} handed over, keyed by the address of their struct, and
 * the one native deleter every export carries: it looks its struct up, closes the tensor and frees
 * the struct. A second call with the same struct finds nothing and does nothing.
 */
final class DlpackExports {
    /** What one export holds until its deleter runs. */
    private record Export(Tensor tensor, Arena arena) {
    }

    private static final Map<Long, Export> LIVE = new ConcurrentHashMap<>();

    private DlpackExports() {
    }

    /** The deleter's function pointer, made once per process. */
    private static final class Deleter {
        static final MemorySegment STUB = stub();

        private static MemorySegment stub() {
            try {
                var handle = MethodHandles.lookup().findStatic(DlpackExports.class, "delete",
                        MethodType.methodType(void.class, MemorySegment.class));
                return Linker.nativeLinker().upcallStub(handle, FunctionDescriptor.ofVoid(ADDRESS), Arena.global());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    static MemorySegment export(Tensor tensor, long deviceAddress, int deviceId) {
        int ndim = tensor.shape().rank();
        Arena arena = Arena.ofShared();
        MemorySegment m = arena.allocate(DlpackLayouts.MANAGED_VERSIONED);
        MemorySegment shape = arena.allocate(JAVA_LONG, ndim);
        MemorySegment strides = arena.allocate(JAVA_LONG, ndim);
        long stride = 1;
        for (int i = ndim - 1; i >= 0; i--) {
            shape.setAtIndex(JAVA_LONG, i, tensor.shape().dim(i));
            strides.setAtIndex(JAVA_LONG, i, stride);
            stride *= tensor.shape().dim(i);
        }
        m.set(JAVA_INT, DlpackLayouts.VERSIONED_MAJOR, DLPack.MAJOR_VERSION);
        m.set(JAVA_INT, DlpackLayouts.VERSIONED_MINOR, DLPack.MINOR_VERSION);
        m.set(ADDRESS, DlpackLayouts.VERSIONED_CONTEXT, m);
        m.set(ADDRESS, DlpackLayouts.VERSIONED_DELETER, Deleter.STUB);
        m.set(JAVA_LONG, DlpackLayouts.VERSIONED_FLAGS, 0L);
        MemorySegment t = m.asSlice(DlpackLayouts.VERSIONED_TENSOR, DlpackLayouts.TENSOR);
        t.set(ADDRESS, DlpackLayouts.DATA, MemorySegment.ofAddress(deviceAddress));
        t.set(JAVA_INT, DlpackLayouts.DEVICE_TYPE, DLPack.DEVICE_CUDA);
        t.set(JAVA_INT, DlpackLayouts.DEVICE_ID, deviceId);
        t.set(JAVA_INT, DlpackLayouts.NDIM, ndim);
        t.set(JAVA_BYTE, DlpackLayouts.DTYPE_CODE, (byte) (tensor.dtype() == DType.F32 ? 2 : 0));
        t.set(JAVA_BYTE, DlpackLayouts.DTYPE_BITS, (byte) 32);
        t.set(JAVA_SHORT, DlpackLayouts.DTYPE_LANES, (short) 1);
        t.set(ADDRESS, DlpackLayouts.SHAPE, shape);
        t.set(ADDRESS, DlpackLayouts.STRIDES, strides);
        t.set(JAVA_LONG, DlpackLayouts.BYTE_OFFSET, 0L);
        LIVE.put(m.address(), new Export(tensor, arena));
        // The consumer gets a plain pointer (global scope), as from C: the deleter frees what it points to.
        return MemorySegment.ofAddress(m.address()).reinterpret(DlpackLayouts.MANAGED_VERSIONED.byteSize());
    }

    /** The native deleter: called by the consumer with the struct's address. Never throws (it runs in native code). */
    private static void delete(MemorySegment managed) {
        Export e = LIVE.remove(managed.address());
        if (e == null) {
            return;
        }
        try {
            e.tensor().close();
        } catch (RuntimeException ex) {
            System.err.println("trady4j: closing a DLPack-exported tensor failed: " + ex);
        } finally {
            try {
                e.arena().close();
            } catch (IllegalStateException ex) {
                System.err.println("trady4j: freeing a DLPack export's struct failed: " + ex);
            }
        }
    }

    static int live() {
        return LIVE.size();
    }
}
