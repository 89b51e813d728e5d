package io.trady4j.dlpack;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.tensor.Tensor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * DLPack, the tensor exchange format of PyTorch, JAX, CuPy, TVM and others: import a foreign
 * tensor as a trady4j tensor without a copy, and export a trady4j tensor the same way.
 *
 * <p><b>Import</b> ({@link #importVersioned}, {@link #importLegacy}) takes the address of a
 * {@code DLManagedTensorVersioned} (DLPack 1.x) or of a legacy {@code DLManagedTensor} and returns
 * a wrapped tensor ({@link Backend#wrap}) over its data. It checks the major version (1), the
 * flags (a read-only tensor is refused, since operations may write into any tensor), the dtype
 * (float32 or int32, one lane), the strides (contiguous row-major; NULL strides mean that too) and
 * the device (kDLCUDA or kDLCUDAManaged of the backend's device for the CUDA backend). On success
 * the tensor owns the DLPack tensor: closing it calls the producer's deleter, exactly once. On a
 * refusal ({@link IllegalArgumentException}) the deleter is not called and the caller still owns
 * the struct. The CPU backend computes on Java arrays and cannot wrap native memory, so it refuses
 * every DLPack import (kDLCPU data is native memory): import onto the CUDA backend.
 *
 * <p><b>Export</b> ({@link #exportVersioned}) builds a {@code DLManagedTensorVersioned} (version
 * 1.0, explicit row-major strides, flags 0) over a CUDA backend tensor's device memory and hands
 * the tensor over to the consumer: the consumer calls the deleter once when done, and the deleter
 * closes the tensor and frees the struct. Until then, do not close the tensor yourself. The
 * consumer must order its reads after the work queued on the backend's stream (its
 * {@code stream()}, e.g. by synchronizing it before handing the pointer over).
 */
public final class DLPack {
    /** The DLPack major version this class reads and writes. */
    public static final int MAJOR_VERSION = 1;
    /** The minor version written by {@link #exportVersioned}. */
    public static final int MINOR_VERSION = 0;
    /** {@code DLPACK_FLAG_BITMASK_READ_ONLY}: the consumer must not write the data. */
    public static final long FLAG_READ_ONLY = 1L;
    /** {@code DLPACK_FLAG_BITMASK_IS_COPIED}: the producer made a copy for this exchange. */
    public static final long FLAG_IS_COPIED = 1L << 1;
    /** {@code kDLCPU}. */
    public static final int DEVICE_CPU = 1;
    /** {@code kDLCUDA}. */
    public static final int DEVICE_CUDA = 2;
    /** {@code kDLCUDAHost} (pinned host memory). */
    public static final int DEVICE_CUDA_HOST = 3;
    /** {@code kDLCUDAManaged} (unified memory). */
    public static final int DEVICE_CUDA_MANAGED = 13;

    private static final MethodHandle DELETER_CALL = Linker.nativeLinker()
            .downcallHandle(FunctionDescriptor.ofVoid(ADDRESS));

    private DLPack() {
    }

    /**
     * Imports a DLPack 1.x tensor without a copy.
     *
     * @param backend the backend to compute on (its device must hold the data)
     * @param managed the address of a {@code DLManagedTensorVersioned}, e.g.
     *                {@code MemorySegment.ofAddress(pointerFromThePythonCapsule)}
     * @return a wrapped tensor whose close calls the struct's deleter (if not NULL) exactly once
     * @throws IllegalArgumentException if the version, flags, dtype, strides or device do not fit;
     *                                  the deleter is then not called
     */
    public static Tensor importVersioned(Backend backend, MemorySegment managed) {
        MemorySegment m = struct(managed, DlpackLayouts.MANAGED_VERSIONED.byteSize());
        int major = m.get(JAVA_INT, DlpackLayouts.VERSIONED_MAJOR);
        if (major != MAJOR_VERSION) {
            throw new IllegalArgumentException("DLPack version " + major + "." + m.get(JAVA_INT, DlpackLayouts.VERSIONED_MINOR)
                    + " is not supported: trady4j reads major version " + MAJOR_VERSION);
        }
        long flags = m.get(JAVA_LONG, DlpackLayouts.VERSIONED_FLAGS);
        if ((flags & FLAG_READ_ONLY) != 0) {
            throw new IllegalArgumentException("the DLPack tensor is read-only (flags 0x" + Long.toHexString(flags)
                    + "); trady4j operations may write into any tensor, so hand over a writable one or a copy");
        }
        DlTensorView view = DlTensorView.read(m.asSlice(DlpackLayouts.VERSIONED_TENSOR, DlpackLayouts.TENSOR.byteSize()));
        return wrap(backend, view, m, m.get(ADDRESS, DlpackLayouts.VERSIONED_DELETER));
    }

    /**
     * Imports a legacy (pre-1.0) DLPack tensor without a copy; the same checks as
     * {@link #importVersioned} except version and flags, which the legacy struct lacks.
     *
     * @param backend the backend to compute on
     * @param managed the address of a {@code DLManagedTensor}
     * @return a wrapped tensor whose close calls the struct's deleter (if not NULL) exactly once
     * @throws IllegalArgumentException if the dtype, strides or device do not fit (deleter not called)
     */
    public static Tensor importLegacy(Backend backend, MemorySegment managed) {
        MemorySegment m = struct(managed, DlpackLayouts.MANAGED_LEGACY.byteSize());
        DlTensorView view = DlTensorView.read(m.asSlice(DlpackLayouts.LEGACY_TENSOR, DlpackLayouts.TENSOR.byteSize()));
        return wrap(backend, view, m, m.get(ADDRESS, DlpackLayouts.LEGACY_DELETER));
    }

    /**
     * Exports a CUDA backend tensor as a {@code DLManagedTensorVersioned} without a copy, handing it
     * over to the consumer (see the class comment).
     *
     * @param backend the CUDA backend that owns {@code tensor}
     * @param tensor  an open tensor of that backend (allocated or wrapped)
     * @return the address of the struct, for the consumer (e.g. a Python capsule named "dltensor_versioned")
     * @throws IllegalArgumentException if the backend is not a CUDA backend (the CPU backend's
     *                                  tensors are Java arrays, without a stable address) or the
     *                                  tensor is not its
     */
    public static MemorySegment exportVersioned(Backend backend, Tensor tensor) {
        if (!(backend instanceof CudaBackend cuda)) {
            throw new IllegalArgumentException("DLPack export needs memory with a stable native address: the "
                    + backend.name() + " backend's tensors are Java arrays; export from the CUDA backend");
        }
        return DlpackExports.export(tensor, cuda.devicePointer(tensor), cuda.deviceIndex());
    }

    private static MemorySegment struct(MemorySegment managed, long bytes) {
        if (managed == null || managed.address() == 0) {
            throw new IllegalArgumentException("the DLPack managed tensor pointer is NULL");
        }
        // A pointer's view of its own, in the global scope: the deleter may free the memory behind it.
        return MemorySegment.ofAddress(managed.address()).reinterpret(bytes);
    }

    private static Tensor wrap(Backend backend, DlTensorView view, MemorySegment managed, MemorySegment deleter) {
        checkDevice(backend, view);
        long bytes = (long) view.shape().numel() * view.dtype().bytes();
        Tensor t;
        try {
            t = backend.wrap(MemorySegment.ofAddress(view.address()).reinterpret(bytes), view.shape(), view.dtype());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot import the DLPack tensor: " + e.getMessage(), e);
        }
        if (deleter.address() != 0) {
            t.onClose(() -> callDeleter(deleter, managed));
        }
        return t;
    }

    private static void checkDevice(Backend backend, DlTensorView view) {
        int type = view.deviceType();
        if (backend instanceof CudaBackend cuda) {
            if ((type != DEVICE_CUDA && type != DEVICE_CUDA_MANAGED) || view.deviceId() != cuda.deviceIndex()) {
                throw new IllegalArgumentException("the DLPack tensor is on " + device(type, view.deviceId())
                        + "; this CUDA backend computes on kDLCUDA device " + cuda.deviceIndex());
            }
        } else if (type != DEVICE_CPU && type != DEVICE_CUDA_HOST) {
            throw new IllegalArgumentException("the DLPack tensor is on " + device(type, view.deviceId())
                    + "; the " + backend.name() + " backend computes on host memory");
        }
    }

    private static String device(int type, int id) {
        String name = switch (type) {
            case DEVICE_CPU -> "kDLCPU";
            case DEVICE_CUDA -> "kDLCUDA";
            case DEVICE_CUDA_HOST -> "kDLCUDAHost";
            case DEVICE_CUDA_MANAGED -> "kDLCUDAManaged";
            default -> "device type " + type;
        };
        return name + " device " + id;
    }

    private static void callDeleter(MemorySegment deleter, MemorySegment managed) {
        try {
            DELETER_CALL.invokeExact(deleter, managed);
        } catch (Throwable e) {
            throw new IllegalStateException("the DLPack deleter failed: " + e, e);
        }
    }

    /** @return how many exported tensors the consumers have not deleted yet */
    public static int liveExports() {
        return DlpackExports.live();
    }
}
