package io.trady4j.backend.cuda;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUstream;
import jcuda.runtime.cudaStream_t;

import java.lang.foreign.MemorySegment;

/**
 * The raw handles behind JCuda's objects, for a trainer that drives CUDA through JCuda and hands
 * trady4j its stream and device pointers. This is the only public class that needs JCuda on the
 * class or module path (JCuda is an optional dependency of trady4j: add {@code org.jcuda:jcuda} to
 * use it). JCuda keeps the handles in protected fields; these accessors read them through
 * subclasses, without reflection.
 */
public final class JCudaInterop {
    private JCudaInterop() {
    }

    /**
     * @param stream a runtime-API stream (null is the legacy default stream)
     * @return its raw {@code cudaStream_t}, for {@link CudaBackend#onStream(int, long)}
     */
    public static long handle(cudaStream_t stream) {
        return stream == null ? 0 : new Handle(stream).value();
    }

    /**
     * @param stream a driver-API stream (null is the legacy default stream)
     * @return its raw {@code CUstream}, which is also a valid {@code cudaStream_t}
     */
    public static long handle(CUstream stream) {
        return stream == null ? 0 : new Handle(stream).value();
    }

    /**
     * @param pointer a device pointer, e.g. a {@code CUdeviceptr} or a {@code Pointer} from
     *                {@code cudaMalloc}, with any byte offset JCuda's {@code withByteOffset} added
     * @return its raw device address (pointer plus byte offset)
     */
    public static long address(Pointer pointer) {
        return new Address(pointer).value();
    }

    /**
     * A tensor over JCuda-allocated device memory, without a copy ({@link CudaBackend#wrap}).
     *
     * @param backend the backend whose device the memory is on
     * @param pointer the device pointer (a {@code CUdeviceptr} or runtime {@code Pointer})
     * @param shape   the tensor's dimensions; the memory holds exactly its elements
     * @param dtype   the element type
     * @return a wrapped tensor; closing it leaves the memory to the caller
     */
    public static Tensor wrap(CudaBackend backend, Pointer pointer, Shape shape, DType dtype) {
        long bytes = (long) shape.numel() * dtype.bytes();
        return backend.wrap(MemorySegment.ofAddress(address(pointer)).reinterpret(bytes), shape, dtype);
    }

    /**
     * @param device the CUDA device index of the stream
     * @param stream the caller's JCuda stream (null is the legacy default stream)
     * @return a backend queuing its work on {@code stream} ({@link CudaBackend#onStream(int, long)})
     */
    public static CudaBackend onStream(int device, cudaStream_t stream) {
        return CudaBackend.onStream(device, handle(stream));
    }

    /** Reads the native pointer of any JCuda handle through its protected copy constructor. */
    private static final class Handle extends NativePointerObject {
        Handle(NativePointerObject other) {
            super(other);
        }

        long value() {
            return getNativePointer();
        }
    }

    /** Reads a JCuda pointer's native address and byte offset through its protected copy constructor. */
    private static final class Address extends Pointer {
        Address(Pointer other) {
            super(other);
        }

        long value() {
            return getNativePointer() + getByteOffset();
        }
    }
}
