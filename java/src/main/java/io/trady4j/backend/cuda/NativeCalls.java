package io.trady4j.backend.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM bindings to native/include/trady4j.h: one downcall handle per function, created once when
 * this class initializes. Initialize it only after {@link NativeLibrary#load()} succeeded (the
 * handles are resolved from that library). Device pointers and streams travel as raw addresses
 * (0 = NULL); every wrapper turns a non-zero status into a {@link CudaException} carrying
 * trady4j_last_error(), read on the same thread right after the failing call.
 */
final class NativeCalls {
    static final int OK = 0;
    static final int ERR_INVALID_ARGUMENT = 1;
    static final int ERR_CUDA = 2;
    static final int ERR_WORKSPACE = 3;
    static final int ERR_UNSUPPORTED = 4;
    static final int ERR_OUT_OF_MEMORY = 5;
    static final int OPT_KERNEL_VERSION = 1;
    static final int OPT_TF32 = 2;

    /** trady4j_conv2d_shape: 12 int32 fields. */
    static final StructLayout CONV_SHAPE = MemoryLayout.structLayout(
            JAVA_INT.withName("batch"), JAVA_INT.withName("in_channels"), JAVA_INT.withName("in_height"),
            JAVA_INT.withName("in_width"), JAVA_INT.withName("out_channels"), JAVA_INT.withName("out_height"),
            JAVA_INT.withName("out_width"), JAVA_INT.withName("kernel"), JAVA_INT.withName("stride"),
            JAVA_INT.withName("padding"), JAVA_INT.withName("dilation"), JAVA_INT.withName("groups"));

    private static final SymbolLookup LIB = NativeLibrary.load();
    private static final Linker LINKER = Linker.nativeLinker();

    private static final MethodHandle LAST_ERROR = h("trady4j_last_error", FunctionDescriptor.of(ADDRESS));
    private static final MethodHandle SET_DEVICE = h("trady4j_set_device", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SET_OPTION = h("trady4j_set_option",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle GET_OPTION = h("trady4j_get_option",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle DEVICE_COUNT = h("trady4j_device_count", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle DEVICE_PROPERTIES = h("trady4j_device_properties",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle MEMORY_INFO = h("trady4j_memory_info",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle MALLOC = h("trady4j_malloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle FREE = h("trady4j_free", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle STREAM_CREATE = h("trady4j_stream_create", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle STREAM_DESTROY = h("trady4j_stream_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle EVENT_CREATE = h("trady4j_event_create", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle EVENT_DESTROY = h("trady4j_event_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle EVENT_RECORD = h("trady4j_event_record",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle EVENT_ELAPSED = h("trady4j_event_elapsed",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle VERSIONS = h("trady4j_versions",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle COPY_TO_DEVICE = h("trady4j_copy_to_device",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle COPY_TO_HOST = h("trady4j_copy_to_host",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle COPY_DEVICE = h("trady4j_copy_device",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle FILL_F32 = h("trady4j_fill_f32",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_FLOAT, JAVA_LONG, ADDRESS));
    private static final MethodHandle FILL_I32 = h("trady4j_fill_i32",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle STREAM_SYNCHRONIZE = h("trady4j_stream_synchronize",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle CONV2D_FORWARD = h("trady4j_conv2d_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS,
                    ADDRESS, ADDRESS));
    private static final MethodHandle CONV2D_DW_SPARSE_WORKSPACE = h("trady4j_conv2d_dw_sparse_workspace_size",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    private static final MethodHandle CONV2D_DW_SPARSE = h("trady4j_conv2d_dw_sparse",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG,
                    ADDRESS));
    private static final MethodHandle CONV2D_DX = h("trady4j_conv2d_dx",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle LINEAR_FORWARD = h("trady4j_linear_forward",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle LINEAR_DX = h("trady4j_linear_dx",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle LINEAR_DW_SPARSE = h("trady4j_linear_dw_sparse",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle BIAS_GRAD = h("trady4j_bias_grad",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle GATHER_CHANNELS = h("trady4j_gather_channels",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIVATION = h("trady4j_activation",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIVATION_BACKWARD = h("trady4j_activation_backward",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIVATION_MASK = h("trady4j_activation_mask",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIVATION_BACKWARD_MASKED = h("trady4j_activation_backward_masked",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ADD = h("trady4j_add",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle GLOBAL_AVG_POOL = h("trady4j_global_avg_pool",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle GLOBAL_AVG_POOL_BACKWARD = h("trady4j_global_avg_pool_backward",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle MAX_POOL2D = h("trady4j_max_pool2d",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                    JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle MAX_POOL2D_BACKWARD = h("trady4j_max_pool2d_backward",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle SOFTMAX_CROSS_ENTROPY = h("trady4j_softmax_cross_entropy",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle SGD_UPDATE = h("trady4j_sgd_update",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT,
                    ADDRESS));
    private static final MethodHandle SGD_UPDATE_SPARSE = h("trady4j_sgd_update_sparse",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                    ADDRESS, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, ADDRESS));

    private NativeCalls() {
    }

    private static MethodHandle h(String name, FunctionDescriptor fd) {
        MemorySegment fn = LIB.find(name).orElseThrow(() -> new IllegalStateException(
                "the trady4j native library lacks " + name + ": it was built from other sources than this jar"));
        return LINKER.downcallHandle(fn, fd);
    }

    private static MemorySegment a(long address) {
        return address == 0 ? MemorySegment.NULL : MemorySegment.ofAddress(address);
    }

    private static RuntimeException unexpected(String fn, Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("calling " + fn + " failed: " + t, t);
    }

    /** The calling thread's last native error text. */
    static String lastError() {
        try {
            MemorySegment p = (MemorySegment) LAST_ERROR.invokeExact();
            return p.equals(MemorySegment.NULL) ? "" : p.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw unexpected("trady4j_last_error", t);
        }
    }

    static void check(int status) {
        if (status != OK) {
            throw new CudaException(status, lastError());
        }
    }

    // ---- library

    static void setDevice(int device) {
        int st;
        try {
            st = (int) SET_DEVICE.invokeExact(device);
        } catch (Throwable t) {
            throw unexpected("trady4j_set_device", t);
        }
        check(st);
    }

    static void setOption(int option, int value) {
        int st;
        try {
            st = (int) SET_OPTION.invokeExact(option, value);
        } catch (Throwable t) {
            throw unexpected("trady4j_set_option", t);
        }
        check(st);
    }

    static int getOption(int option, MemorySegment out) {
        int st;
        try {
            st = (int) GET_OPTION.invokeExact(option, out);
        } catch (Throwable t) {
            throw unexpected("trady4j_get_option", t);
        }
        check(st);
        return out.get(JAVA_INT, 0);
    }

    /** {runtime version, driver version}, e.g. {13000, 13000}; the driver's is 0 without a driver. */
    static void versions(MemorySegment runtime, MemorySegment driver) {
        int st;
        try {
            st = (int) VERSIONS.invokeExact(runtime, driver);
        } catch (Throwable t) {
            throw unexpected("trady4j_versions", t);
        }
        check(st);
    }

    // ---- device runtime (NativeRuntime); out-parameters are segments the caller allocates

    /** trady4j_device_count; a status, not an exception, so that "no device" can be told apart. */
    static int deviceCount(MemorySegment count) {
        try {
            return (int) DEVICE_COUNT.invokeExact(count);
        } catch (Throwable t) {
            throw unexpected("trady4j_device_count", t);
        }
    }

    static void deviceProperties(int device, MemorySegment name, int nameLength, MemorySegment major, MemorySegment minor,
                                 MemorySegment multiprocessors, MemorySegment totalMemory) {
        int st;
        try {
            st = (int) DEVICE_PROPERTIES.invokeExact(device, name, nameLength, major, minor, multiprocessors, totalMemory);
        } catch (Throwable t) {
            throw unexpected("trady4j_device_properties", t);
        }
        check(st);
    }

    static void memoryInfo(MemorySegment free, MemorySegment total) {
        int st;
        try {
            st = (int) MEMORY_INFO.invokeExact(free, total);
        } catch (Throwable t) {
            throw unexpected("trady4j_memory_info", t);
        }
        check(st);
    }

    /** trady4j_malloc's status (OK or ERR_OUT_OF_MEMORY; other failures throw); the pointer lands in {@code ptr}. */
    static int malloc(MemorySegment ptr, long bytes) {
        int st;
        try {
            st = (int) MALLOC.invokeExact(ptr, bytes);
        } catch (Throwable t) {
            throw unexpected("trady4j_malloc", t);
        }
        if (st != ERR_OUT_OF_MEMORY) {
            check(st);
        }
        return st;
    }

    static void free(long address) {
        int st;
        try {
            st = (int) FREE.invokeExact(a(address));
        } catch (Throwable t) {
            throw unexpected("trady4j_free", t);
        }
        check(st);
    }

    static void streamCreate(MemorySegment stream) {
        int st;
        try {
            st = (int) STREAM_CREATE.invokeExact(stream);
        } catch (Throwable t) {
            throw unexpected("trady4j_stream_create", t);
        }
        check(st);
    }

    static void streamDestroy(long stream) {
        int st;
        try {
            st = (int) STREAM_DESTROY.invokeExact(a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_stream_destroy", t);
        }
        check(st);
    }

    static void eventCreate(MemorySegment event) {
        int st;
        try {
            st = (int) EVENT_CREATE.invokeExact(event);
        } catch (Throwable t) {
            throw unexpected("trady4j_event_create", t);
        }
        check(st);
    }

    static void eventDestroy(long event) {
        int st;
        try {
            st = (int) EVENT_DESTROY.invokeExact(a(event));
        } catch (Throwable t) {
            throw unexpected("trady4j_event_destroy", t);
        }
        check(st);
    }

    static void eventRecord(long event, long stream) {
        int st;
        try {
            st = (int) EVENT_RECORD.invokeExact(a(event), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_event_record", t);
        }
        check(st);
    }

    static void eventElapsed(long start, long end, MemorySegment ms) {
        int st;
        try {
            st = (int) EVENT_ELAPSED.invokeExact(a(start), a(end), ms);
        } catch (Throwable t) {
            throw unexpected("trady4j_event_elapsed", t);
        }
        check(st);
    }

    // ---- memory

    static void copyToDevice(long dst, MemorySegment src, long bytes, long stream) {
        int st;
        try {
            st = (int) COPY_TO_DEVICE.invokeExact(a(dst), src, bytes, a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_copy_to_device", t);
        }
        check(st);
    }

    static void copyToHost(MemorySegment dst, long src, long bytes, long stream) {
        int st;
        try {
            st = (int) COPY_TO_HOST.invokeExact(dst, a(src), bytes, a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_copy_to_host", t);
        }
        check(st);
    }

    static void copyDevice(long dst, long src, long bytes, long stream) {
        int st;
        try {
            st = (int) COPY_DEVICE.invokeExact(a(dst), a(src), bytes, a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_copy_device", t);
        }
        check(st);
    }

    static void fillF32(long dst, float value, long n, long stream) {
        int st;
        try {
            st = (int) FILL_F32.invokeExact(a(dst), value, n, a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_fill_f32", t);
        }
        check(st);
    }

    static void fillI32(long dst, int value, long n, long stream) {
        int st;
        try {
            st = (int) FILL_I32.invokeExact(a(dst), value, n, a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_fill_i32", t);
        }
        check(st);
    }

    static void streamSynchronize(long stream) {
        int st;
        try {
            st = (int) STREAM_SYNCHRONIZE.invokeExact(a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_stream_synchronize", t);
        }
        check(st);
    }

    // ---- convolution

    static void conv2dForward(MemorySegment shape, long x, long w, long bias, int act, long sel, int nsel, long xSel,
                              long y, long stream) {
        int st;
        try {
            st = (int) CONV2D_FORWARD.invokeExact(shape, a(x), a(w), a(bias), act, a(sel), nsel, a(xSel), a(y),
                    a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_conv2d_forward", t);
        }
        check(st);
    }

    static long conv2dDwSparseWorkspace(MemorySegment shape, int nsel, MemorySegment bytesOut) {
        int st;
        try {
            st = (int) CONV2D_DW_SPARSE_WORKSPACE.invokeExact(shape, nsel, bytesOut);
        } catch (Throwable t) {
            throw unexpected("trady4j_conv2d_dw_sparse_workspace_size", t);
        }
        check(st);
        return bytesOut.get(JAVA_LONG, 0);
    }

    static void conv2dDwSparse(MemorySegment shape, long xSel, long dy, long sel, int nsel, long dw, long workspace,
                               long workspaceBytes, long stream) {
        int st;
        try {
            st = (int) CONV2D_DW_SPARSE.invokeExact(shape, a(xSel), a(dy), a(sel), nsel, a(dw), a(workspace),
                    workspaceBytes, a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_conv2d_dw_sparse", t);
        }
        check(st);
    }

    static void conv2dDx(MemorySegment shape, long dy, long w, long dx, long stream) {
        int st;
        try {
            st = (int) CONV2D_DX.invokeExact(shape, a(dy), a(w), a(dx), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_conv2d_dx", t);
        }
        check(st);
    }

    // ---- linear

    static void linearForward(int batch, int in, int out, long x, long w, long bias, long y, long stream) {
        int st;
        try {
            st = (int) LINEAR_FORWARD.invokeExact(batch, in, out, a(x), a(w), a(bias), a(y), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_linear_forward", t);
        }
        check(st);
    }

    static void linearDx(int batch, int in, int out, long dy, long w, long dx, long stream) {
        int st;
        try {
            st = (int) LINEAR_DX.invokeExact(batch, in, out, a(dy), a(w), a(dx), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_linear_dx", t);
        }
        check(st);
    }

    static void linearDwSparse(int batch, int nsel, int out, long xSel, long dy, long dw, long stream) {
        int st;
        try {
            st = (int) LINEAR_DW_SPARSE.invokeExact(batch, nsel, out, a(xSel), a(dy), a(dw), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_linear_dw_sparse", t);
        }
        check(st);
    }

    // ---- element-wise

    static void biasGrad(int batch, int channels, int plane, long dy, long db, long stream) {
        int st;
        try {
            st = (int) BIAS_GRAD.invokeExact(batch, channels, plane, a(dy), a(db), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_bias_grad", t);
        }
        check(st);
    }

    static void gatherChannels(int batch, int channels, int plane, long x, long sel, int nsel, long xSel,
                               long stream) {
        int st;
        try {
            st = (int) GATHER_CHANNELS.invokeExact(batch, channels, plane, a(x), a(sel), nsel, a(xSel), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_gather_channels", t);
        }
        check(st);
    }

    static void activation(int act, long n, long x, long y, long stream) {
        int st;
        try {
            st = (int) ACTIVATION.invokeExact(act, n, a(x), a(y), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_activation", t);
        }
        check(st);
    }

    static void activationBackward(int act, long n, long y, long dy, long dx, long stream) {
        int st;
        try {
            st = (int) ACTIVATION_BACKWARD.invokeExact(act, n, a(y), a(dy), a(dx), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_activation_backward", t);
        }
        check(st);
    }

    static void activationMask(int act, long n, long y, long mask, long stream) {
        int st;
        try {
            st = (int) ACTIVATION_MASK.invokeExact(act, n, a(y), a(mask), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_activation_mask", t);
        }
        check(st);
    }

    static void activationBackwardMasked(long n, long mask, long dy, long dx, long stream) {
        int st;
        try {
            st = (int) ACTIVATION_BACKWARD_MASKED.invokeExact(n, a(mask), a(dy), a(dx), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_activation_backward_masked", t);
        }
        check(st);
    }

    static void add(long n, long x, long y, long out, long stream) {
        int st;
        try {
            st = (int) ADD.invokeExact(n, a(x), a(y), a(out), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_add", t);
        }
        check(st);
    }

    // ---- pooling

    static void globalAvgPool(int planes, int plane, long x, long y, long stream) {
        int st;
        try {
            st = (int) GLOBAL_AVG_POOL.invokeExact(planes, plane, a(x), a(y), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_global_avg_pool", t);
        }
        check(st);
    }

    static void globalAvgPoolBackward(int planes, int plane, long dy, long dx, long stream) {
        int st;
        try {
            st = (int) GLOBAL_AVG_POOL_BACKWARD.invokeExact(planes, plane, a(dy), a(dx), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_global_avg_pool_backward", t);
        }
        check(st);
    }

    static void maxPool2d(int planes, int h, int w, int k, int s, int p, int ho, int wo, long x, long y, long argmax,
                          long stream) {
        int st;
        try {
            st = (int) MAX_POOL2D.invokeExact(planes, h, w, k, s, p, ho, wo, a(x), a(y), a(argmax), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_max_pool2d", t);
        }
        check(st);
    }

    static void maxPool2dBackward(int planes, int inPlane, int outPlane, long dy, long argmax, long dx, long stream) {
        int st;
        try {
            st = (int) MAX_POOL2D_BACKWARD.invokeExact(planes, inPlane, outPlane, a(dy), a(argmax), a(dx), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_max_pool2d_backward", t);
        }
        check(st);
    }

    // ---- loss

    static void softmaxCrossEntropy(int batch, int classes, long logits, long labels, long stats, long dLogits,
                                    long labelError, long stream) {
        int st;
        try {
            st = (int) SOFTMAX_CROSS_ENTROPY.invokeExact(batch, classes, a(logits), a(labels), a(stats), a(dLogits),
                    a(labelError), a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_softmax_cross_entropy", t);
        }
        check(st);
    }

    // ---- optimizer

    static void sgdUpdate(long n, long p, long g, long m, float lr, float mu, float wd, long stream) {
        int st;
        try {
            st = (int) SGD_UPDATE.invokeExact(n, a(p), a(g), a(m), lr, mu, wd, a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_sgd_update", t);
        }
        check(st);
    }

    static void sgdUpdateSparse(int cout, int cg, int k2, int groups, long sel, int nsel, long w, long dw, long m,
                                float lr, float mu, float wd, long stream) {
        int st;
        try {
            st = (int) SGD_UPDATE_SPARSE.invokeExact(cout, cg, k2, groups, a(sel), nsel, a(w), a(dw), a(m), lr, mu, wd,
                    a(stream));
        } catch (Throwable t) {
            throw unexpected("trady4j_sgd_update_sparse", t);
        }
        check(st);
    }
}
