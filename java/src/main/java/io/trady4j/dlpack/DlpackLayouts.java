package io.trady4j.dlpack;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The C structs of dlpack.h (v1.x) as FFM layouts, with the byte offsets of the fields trady4j
 * reads and writes. DLPackLayoutTest checks the sizes and offsets against the header's C layout.
 */
final class DlpackLayouts {
    /** {@code DLDevice {int32 device_type; int32 device_id;}} */
    static final StructLayout DEVICE = MemoryLayout.structLayout(
            JAVA_INT.withName("device_type"), JAVA_INT.withName("device_id"));
    /** {@code DLDataType {uint8 code; uint8 bits; uint16 lanes;}} */
    static final StructLayout DATA_TYPE = MemoryLayout.structLayout(
            JAVA_BYTE.withName("code"), JAVA_BYTE.withName("bits"), JAVA_SHORT.withName("lanes"));
    /** {@code DLTensor}: data, device, ndim, dtype, shape, strides, byte_offset. */
    static final StructLayout TENSOR = MemoryLayout.structLayout(
            ADDRESS.withName("data"), DEVICE.withName("device"), JAVA_INT.withName("ndim"),
            DATA_TYPE.withName("dtype"), ADDRESS.withName("shape"), ADDRESS.withName("strides"),
            JAVA_LONG.withName("byte_offset"));
    /** {@code DLManagedTensorVersioned}: version, manager_ctx, deleter, flags, dl_tensor. */
    static final StructLayout MANAGED_VERSIONED = MemoryLayout.structLayout(
            MemoryLayout.structLayout(JAVA_INT.withName("major"), JAVA_INT.withName("minor")).withName("version"),
            ADDRESS.withName("manager_ctx"), ADDRESS.withName("deleter"), JAVA_LONG.withName("flags"),
            TENSOR.withName("dl_tensor"));
    /** {@code DLManagedTensor} (before DLPack 1.0): dl_tensor, manager_ctx, deleter. */
    static final StructLayout MANAGED_LEGACY = MemoryLayout.structLayout(
            TENSOR.withName("dl_tensor"), ADDRESS.withName("manager_ctx"), ADDRESS.withName("deleter"));

    static final long DATA = offset(TENSOR, "data");
    static final long DEVICE_TYPE = TENSOR.byteOffset(groupElement("device"), groupElement("device_type"));
    static final long DEVICE_ID = TENSOR.byteOffset(groupElement("device"), groupElement("device_id"));
    static final long NDIM = offset(TENSOR, "ndim");
    static final long DTYPE_CODE = TENSOR.byteOffset(groupElement("dtype"), groupElement("code"));
    static final long DTYPE_BITS = TENSOR.byteOffset(groupElement("dtype"), groupElement("bits"));
    static final long DTYPE_LANES = TENSOR.byteOffset(groupElement("dtype"), groupElement("lanes"));
    static final long SHAPE = offset(TENSOR, "shape");
    static final long STRIDES = offset(TENSOR, "strides");
    static final long BYTE_OFFSET = offset(TENSOR, "byte_offset");

    static final long VERSIONED_MAJOR = MANAGED_VERSIONED.byteOffset(groupElement("version"), groupElement("major"));
    static final long VERSIONED_MINOR = MANAGED_VERSIONED.byteOffset(groupElement("version"), groupElement("minor"));
    static final long VERSIONED_CONTEXT = offset(MANAGED_VERSIONED, "manager_ctx");
    static final long VERSIONED_DELETER = offset(MANAGED_VERSIONED, "deleter");
    static final long VERSIONED_FLAGS = offset(MANAGED_VERSIONED, "flags");
    static final long VERSIONED_TENSOR = offset(MANAGED_VERSIONED, "dl_tensor");

    static final long LEGACY_TENSOR = offset(MANAGED_LEGACY, "dl_tensor");
    static final long LEGACY_DELETER = offset(MANAGED_LEGACY, "deleter");

    private DlpackLayouts() {
    }

    private static long offset(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }
}
