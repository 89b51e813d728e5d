package io.trady4j.backend.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static io.trady4j.backend.cuda.NativeFunction.Param.F32;
import static io.trady4j.backend.cuda.NativeFunction.Param.HOST;
import static io.trady4j.backend.cuda.NativeFunction.Param.I32;
import static io.trady4j.backend.cuda.NativeFunction.Param.I64;
import static io.trady4j.backend.cuda.NativeFunction.Param.PTR;
import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * The functions of native/include/trady4j.h, each declared once by its parameters (in the header's
 * order; see {@link NativeFunction}) and called as {@code NativeCalls.CONV2D_DX.call(...)}.
 * Initialize this class only after {@link NativeLibrary#load()} succeeded. Its constants are in {@link Abi}.
 */
final class NativeCalls {

    private static final SymbolLookup LIB = NativeLibrary.load();
    private static final MethodHandle LAST_ERROR = Linker.nativeLinker().downcallHandle(
            LIB.find("trady4j_last_error").orElseThrow(), FunctionDescriptor.of(ADDRESS));

    // ---- library
    static final NativeFunction SET_DEVICE = fn("trady4j_set_device", I32);
    static final NativeFunction SET_OPTION = fn("trady4j_set_option", I32, I32);
    static final NativeFunction GET_OPTION = fn("trady4j_get_option", I32, HOST);
    static final NativeFunction VERSIONS = fn("trady4j_versions", HOST, HOST);
    // ---- implementations
    static final NativeFunction IMPL_COUNT = fn("trady4j_impl_count", I32, HOST);
    static final NativeFunction IMPL_NAME = fn("trady4j_impl_name", I32, I32, HOST);
    static final NativeFunction IMPL_ELIGIBLE = fn("trady4j_impl_eligible", I32, I32, HOST, I32, HOST);
    static final NativeFunction IMPL_HEURISTIC_OF = fn("trady4j_impl_heuristic", I32, HOST, I32, HOST);
    // ---- device runtime
    static final NativeFunction DEVICE_COUNT = fn("trady4j_device_count", HOST);
    static final NativeFunction DEVICE_PROPERTIES = fn("trady4j_device_properties", I32, HOST, I32, HOST, HOST, HOST,
            HOST);
    static final NativeFunction MEMORY_INFO = fn("trady4j_memory_info", HOST, HOST);
    static final NativeFunction MALLOC = fn("trady4j_malloc", HOST, I64);
    static final NativeFunction FREE = fn("trady4j_free", PTR);
    static final NativeFunction STREAM_CREATE = fn("trady4j_stream_create", HOST);
    static final NativeFunction STREAM_DESTROY = fn("trady4j_stream_destroy", PTR);
    static final NativeFunction EVENT_CREATE = fn("trady4j_event_create", HOST);
    static final NativeFunction EVENT_DESTROY = fn("trady4j_event_destroy", PTR);
    static final NativeFunction EVENT_RECORD = fn("trady4j_event_record", PTR, PTR);
    static final NativeFunction EVENT_ELAPSED = fn("trady4j_event_elapsed", PTR, PTR, HOST);
    // ---- memory
    static final NativeFunction COPY_TO_DEVICE = fn("trady4j_copy_to_device", PTR, HOST, I64, PTR);
    static final NativeFunction COPY_TO_HOST = fn("trady4j_copy_to_host", HOST, PTR, I64, PTR);
    static final NativeFunction COPY_DEVICE = fn("trady4j_copy_device", PTR, PTR, I64, PTR);
    static final NativeFunction FILL_F32 = fn("trady4j_fill_f32", PTR, F32, I64, PTR);
    static final NativeFunction FILL_I32 = fn("trady4j_fill_i32", PTR, I32, I64, PTR);
    static final NativeFunction STREAM_SYNCHRONIZE = fn("trady4j_stream_synchronize", PTR);
    // ---- convolution (shape: an OpShape segment; impl: an implementation id)
    static final NativeFunction CONV2D_FORWARD = fn("trady4j_conv2d_forward", HOST, PTR, PTR, PTR, I32, PTR, I32, PTR,
            PTR, I32, PTR);
    static final NativeFunction CONV2D_DW_SPARSE_WORKSPACE_SIZE = fn("trady4j_conv2d_dw_sparse_workspace_size", HOST,
            I32, I32, HOST);
    static final NativeFunction CONV2D_DW_SPARSE = fn("trady4j_conv2d_dw_sparse", HOST, PTR, PTR, PTR, I32, PTR, PTR,
            I64, I32, PTR);
    static final NativeFunction CONV2D_DX = fn("trady4j_conv2d_dx", HOST, PTR, PTR, PTR, I32, PTR);
    // ---- linear
    static final NativeFunction LINEAR_FORWARD = fn("trady4j_linear_forward", I32, I32, I32, PTR, PTR, PTR, PTR, I32,
            PTR);
    static final NativeFunction LINEAR_DX = fn("trady4j_linear_dx", I32, I32, I32, PTR, PTR, PTR, I32, PTR);
    static final NativeFunction LINEAR_DW_SPARSE = fn("trady4j_linear_dw_sparse", I32, I32, I32, PTR, PTR, PTR, I32,
            PTR);
    // ---- element-wise
    static final NativeFunction BIAS_GRAD = fn("trady4j_bias_grad", I32, I32, I32, PTR, PTR, PTR);
    static final NativeFunction GATHER_CHANNELS = fn("trady4j_gather_channels", I32, I32, I32, PTR, PTR, I32, PTR, PTR);
    static final NativeFunction ACTIVATION = fn("trady4j_activation", I32, I64, PTR, PTR, PTR);
    static final NativeFunction ACTIVATION_BACKWARD = fn("trady4j_activation_backward", I32, I64, PTR, PTR, PTR, PTR);
    static final NativeFunction ACTIVATION_MASK = fn("trady4j_activation_mask", I32, I64, PTR, PTR, PTR);
    static final NativeFunction ACTIVATION_BACKWARD_MASKED = fn("trady4j_activation_backward_masked", I64, PTR, PTR,
            PTR, PTR);
    static final NativeFunction ADD = fn("trady4j_add", I64, PTR, PTR, PTR, PTR);
    // ---- pooling
    static final NativeFunction GLOBAL_AVG_POOL = fn("trady4j_global_avg_pool", I32, I32, PTR, PTR, PTR);
    static final NativeFunction GLOBAL_AVG_POOL_BACKWARD = fn("trady4j_global_avg_pool_backward", I32, I32, PTR, PTR,
            PTR);
    static final NativeFunction MAX_POOL2D = fn("trady4j_max_pool2d", I32, I32, I32, I32, I32, I32, I32, I32, PTR, PTR,
            PTR, PTR);
    static final NativeFunction MAX_POOL2D_BACKWARD = fn("trady4j_max_pool2d_backward", I32, I32, I32, PTR, PTR, PTR,
            PTR);
    // ---- loss and optimizer
    static final NativeFunction SOFTMAX_CROSS_ENTROPY = fn("trady4j_softmax_cross_entropy", I32, I32, PTR, PTR, PTR,
            PTR, PTR, PTR);
    static final NativeFunction SGD_UPDATE = fn("trady4j_sgd_update", I64, PTR, PTR, PTR, F32, F32, F32, PTR);
    static final NativeFunction SGD_UPDATE_SPARSE = fn("trady4j_sgd_update_sparse", I32, I32, I32, I32, PTR, I32, PTR,
            PTR, PTR, F32, F32, F32, PTR);

    // ---- BatchNorm (pretraining)
    static final NativeFunction BATCH_NORM_TRAINING = fn("trady4j_batch_norm_training", I32, I32, I32, PTR, PTR, PTR, PTR,
            PTR, F32, F32, PTR, PTR, PTR, PTR);
    static final NativeFunction BATCH_NORM_BACKWARD = fn("trady4j_batch_norm_backward", I32, I32, I32, PTR, PTR, PTR, PTR,
            PTR, PTR, PTR, PTR, PTR);
    static final NativeFunction BATCH_NORM_INFERENCE = fn("trady4j_batch_norm_inference", I32, I32, I32, PTR, PTR, PTR,
            PTR, PTR, F32, PTR, PTR);

    private NativeCalls() {
    }

    private static NativeFunction fn(String name, NativeFunction.Param... params) {
        return NativeFunction.bind(LIB, name, NativeCalls::lastError, params);
    }

    /** The calling thread's last native error text. */
    static String lastError() {
        try {
            MemorySegment p = (MemorySegment) LAST_ERROR.invokeExact();
            return p.equals(MemorySegment.NULL) ? "" : p.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("calling trady4j_last_error failed: " + t, t);
        }
    }
}
