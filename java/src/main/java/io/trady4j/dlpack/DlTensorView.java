package io.trady4j.dlpack;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.Shape;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * What a {@code DLTensor} describes, once checked: the address of its first element (data plus
 * byte_offset), its device, and a contiguous row-major shape of a dtype trady4j computes on.
 *
 * @param address    data + byte_offset
 * @param deviceType DLDeviceType (1 CPU, 2 CUDA, ...)
 * @param deviceId   the device index
 * @param shape      the dimensions
 * @param dtype      F32 (float, 32 bits, 1 lane) or I32 (int, 32 bits, 1 lane)
 */
record DlTensorView(long address, int deviceType, int deviceId, Shape shape, DType dtype) {
    private static final int CODE_INT = 0;
    private static final int CODE_FLOAT = 2;

    /** Reads and checks the DLTensor at {@code tensor} (at least {@code DlpackLayouts.TENSOR} bytes). */
    static DlTensorView read(MemorySegment tensor) {
        long data = tensor.get(ADDRESS, DlpackLayouts.DATA).address();
        if (data == 0) {
            throw new IllegalArgumentException("the DLPack tensor's data pointer is NULL");
        }
        int ndim = tensor.get(JAVA_INT, DlpackLayouts.NDIM);
        if (ndim < 1 || ndim > 32) {
            throw new IllegalArgumentException("the DLPack tensor has ndim " + ndim
                    + "; trady4j takes 1 to 32 dimensions (a scalar is shape [1])");
        }
        DType dtype = dtype(Byte.toUnsignedInt(tensor.get(JAVA_BYTE, DlpackLayouts.DTYPE_CODE)),
                Byte.toUnsignedInt(tensor.get(JAVA_BYTE, DlpackLayouts.DTYPE_BITS)),
                Short.toUnsignedInt(tensor.get(JAVA_SHORT, DlpackLayouts.DTYPE_LANES)));
        MemorySegment shapeArray = array(tensor.get(ADDRESS, DlpackLayouts.SHAPE), ndim, "shape");
        int[] dims = new int[ndim];
        for (int i = 0; i < ndim; i++) {
            long d = shapeArray.getAtIndex(JAVA_LONG, i);
            if (d < 1 || d > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("the DLPack tensor's dimension " + i + " is " + d
                        + "; trady4j takes sizes from 1 to " + Integer.MAX_VALUE);
            }
            dims[i] = (int) d;
        }
        MemorySegment strides = tensor.get(ADDRESS, DlpackLayouts.STRIDES);
        if (strides.address() != 0) {
            checkRowMajor(dims, array(strides, ndim, "strides"));
        }
        long byteOffset = tensor.get(JAVA_LONG, DlpackLayouts.BYTE_OFFSET);
        if (byteOffset < 0) {
            throw new IllegalArgumentException("the DLPack tensor's byte_offset " + Long.toUnsignedString(byteOffset)
                    + " is out of range");
        }
        return new DlTensorView(data + byteOffset, tensor.get(JAVA_INT, DlpackLayouts.DEVICE_TYPE),
                tensor.get(JAVA_INT, DlpackLayouts.DEVICE_ID), Shape.of(dims), dtype);
    }

    private static DType dtype(int code, int bits, int lanes) {
        if (bits == 32 && lanes == 1 && code == CODE_FLOAT) {
            return DType.F32;
        }
        if (bits == 32 && lanes == 1 && code == CODE_INT) {
            return DType.I32;
        }
        throw new IllegalArgumentException("the DLPack tensor's dtype (code " + code + ", bits " + bits + ", lanes "
                + lanes + ") is not one trady4j computes on: float32 (code 2, bits 32, lanes 1) or int32 (code 0, bits 32, lanes 1)");
    }

    private static MemorySegment array(MemorySegment pointer, int ndim, String what) {
        if (pointer.address() == 0) {
            throw new IllegalArgumentException("the DLPack tensor's " + what + " pointer is NULL");
        }
        return pointer.reinterpret((long) ndim * Long.BYTES);
    }

    /** Strides (in elements) must be those of the contiguous row-major layout; a size-1 dimension's stride is free. */
    private static void checkRowMajor(int[] dims, MemorySegment strides) {
        long expected = 1;
        long[] given = new long[dims.length];
        boolean ok = true;
        for (int i = dims.length - 1; i >= 0; i--) {
            given[i] = strides.getAtIndex(JAVA_LONG, i);
            if (dims[i] != 1 && given[i] != expected) {
                ok = false;
            }
            expected *= dims[i];
        }
        if (!ok) {
            throw new IllegalArgumentException("the DLPack tensor's strides " + Arrays.toString(given) + " for shape "
                    + Arrays.toString(dims) + " are not contiguous row-major; make it contiguous before handing it over");
        }
    }
}
