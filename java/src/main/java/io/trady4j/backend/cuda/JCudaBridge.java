package io.trady4j.backend.cuda;

import io.trady4j.backend.BackendUnavailableException;
import jcuda.Pointer;
import jcuda.runtime.JCuda;
import jcuda.runtime.cudaDeviceProp;
import jcuda.runtime.cudaError;
import jcuda.runtime.cudaEvent_t;
import jcuda.runtime.cudaStream_t;

/**
 * What trady4j takes from JCuda (org.jcuda:jcuda): device discovery and selection, device memory
 * (cudaMalloc/cudaFree), streams, events and cudaMemGetInfo. The kernels themselves run through
 * the FFM bindings of libtrady4j_cuda.so, which receive JCuda's device pointers and stream as raw
 * addresses: JCuda keeps those in a protected field, so tiny subclasses expose them.
 *
 * <p>JCuda's runtime (a statically linked CUDA 12.6 runtime inside its JNI library) and the CUDA 13
 * runtime inside libtrady4j_cuda.so both work in the device's primary context, so pointers and
 * streams are valid across the two.
 */
final class JCudaBridge {
    private JCudaBridge() {
    }

    /** A device pointer from cudaMalloc, with its raw address. */
    static final class DevicePointer extends Pointer {
        DevicePointer() {
        }

        DevicePointer(long address) {
            super(address);
        }

        long address() {
            return getNativePointer();
        }
    }

    /** A stream from cudaStreamCreate, with its raw handle. */
    static final class Stream extends cudaStream_t {
        long handle() {
            return getNativePointer();
        }
    }

    /** {@link DeviceRuntime} over JCuda, for one device. */
    static final class JCudaRuntime implements DeviceRuntime {
        private final String device;
        private final java.util.Map<Long, Stream> streams = new java.util.concurrent.ConcurrentHashMap<>();

        JCudaRuntime(String device) {
            this.device = device;
        }

        @Override
        public String describe() {
            int[] runtime = {0};
            JCuda.cudaRuntimeGetVersion(runtime);
            return "JCuda's CUDA " + DeviceInfo.version(runtime[0]) + " runtime";
        }

        @Override
        public void bindThread(int index) {
            setDevice(index);
        }

        @Override
        public long malloc(long bytes, String what) {
            return JCudaBridge.malloc(bytes, what, device).address();
        }

        @Override
        public void free(long address) {
            JCudaBridge.free(new DevicePointer(address));
        }

        @Override
        public long createStream() {
            Stream s = JCudaBridge.createStream();
            streams.put(s.handle(), s);
            return s.handle();
        }

        @Override
        public void destroyStream(long stream) {
            Stream s = streams.remove(stream);
            if (s != null) {
                JCudaBridge.destroyStream(s);
            }
        }

        @Override
        public void synchronize(long stream) {
            JCudaBridge.synchronize(stream(stream));
        }

        @Override
        public long[] memoryInfo() {
            return JCudaBridge.memoryInfo();
        }

        @Override
        public float elapsedMillis(long stream, Runnable work) {
            return JCudaBridge.elapsedMillis(stream(stream), work);
        }

        private Stream stream(long handle) {
            Stream s = streams.get(handle);
            if (s == null) {
                throw new IllegalStateException("stream " + Long.toHexString(handle) + " was not created here");
            }
            return s;
        }
    }

    static String errorText(int status) {
        String name;
        String text;
        try {
            name = cudaError.stringFor(status);
            text = JCuda.cudaGetErrorString(status);
        } catch (RuntimeException | LinkageError e) {
            name = "error";
            text = String.valueOf(status);
        }
        return name + " (" + status + "): " + text;
    }

    static void check(int status, String what) {
        if (status != cudaError.cudaSuccess) {
            JCuda.cudaGetLastError();  // clear a non-sticky error so that it is not reported twice
            throw new CudaException(status, what + " failed: " + errorText(status));
        }
    }

    /**
     * Checks that JCuda loads and a CUDA device with this index is usable; returns its facts or
     * throws BackendUnavailableException saying why not (never UnsatisfiedLinkError).
     */
    static DeviceInfo probe(int device) {
        try {
            int[] count = {0};
            int st = JCuda.cudaGetDeviceCount(count);
            int[] driver = {0};
            JCuda.cudaDriverGetVersion(driver);
            if (st != cudaError.cudaSuccess) {
                JCuda.cudaGetLastError();
                String hint = st == cudaError.cudaErrorInsufficientDriver && driver[0] == 0
                        ? "no NVIDIA driver is installed (or /dev/nvidia* is not visible)"
                        : st == cudaError.cudaErrorInsufficientDriver
                                ? "the NVIDIA driver (CUDA " + DeviceInfo.version(driver[0]) + ") is older than JCuda's CUDA 12.6"
                                : st == cudaError.cudaErrorNoDevice ? "no CUDA-capable GPU is visible" : "CUDA is unusable";
                throw new BackendUnavailableException("no usable CUDA device: cudaGetDeviceCount failed with "
                        + errorText(st) + "; " + hint);
            }
            if (count[0] == 0) {
                throw new BackendUnavailableException("no usable CUDA device: the driver reports no GPU");
            }
            if (device < 0 || device >= count[0]) {
                throw new BackendUnavailableException("CUDA device " + device + " does not exist (" + count[0]
                        + " device(s) visible)");
            }
            st = JCuda.cudaSetDevice(device);
            if (st != cudaError.cudaSuccess) {
                JCuda.cudaGetLastError();
                throw new BackendUnavailableException("cannot use CUDA device " + device + ": " + errorText(st));
            }
            cudaDeviceProp prop = new cudaDeviceProp();
            check(JCuda.cudaGetDeviceProperties(prop, device), "cudaGetDeviceProperties");
            int[] runtime = {0};
            JCuda.cudaRuntimeGetVersion(runtime);
            return new DeviceInfo(device, prop.getName(), prop.major, prop.minor, prop.multiProcessorCount,
                    prop.totalGlobalMem, runtime[0], driver[0]);
        } catch (BackendUnavailableException e) {
            throw e;
        } catch (CudaException e) {
            throw new BackendUnavailableException("CUDA device " + device + " is not usable: " + e.getMessage(), e);
        } catch (LinkageError | RuntimeException e) {
            throw new BackendUnavailableException("JCuda cannot start (" + e
                    + "); the CUDA backend needs JCuda's native library for linux-x86_64 and an NVIDIA driver", e);
        }
    }

    static void setDevice(int device) {
        check(JCuda.cudaSetDevice(device), "cudaSetDevice(" + device + ")");
    }

    /** {free, total} device memory in bytes. */
    static long[] memoryInfo() {
        long[] free = {0};
        long[] total = {0};
        check(JCuda.cudaMemGetInfo(free, total), "cudaMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    /** cudaMalloc; throws CudaOutOfMemoryException naming the request and the free memory. */
    static DevicePointer malloc(long bytes, String what, String device) {
        DevicePointer p = new DevicePointer();
        int st = JCuda.cudaMalloc(p, Math.max(bytes, 1));
        if (st == cudaError.cudaErrorMemoryAllocation) {
            JCuda.cudaGetLastError();
            long free = -1;
            long total = -1;
            try {
                long[] info = memoryInfo();
                free = info[0];
                total = info[1];
            } catch (CudaException ignored) {
                // the figures stay unknown
            }
            throw new CudaOutOfMemoryException(st, "CUDA out of memory: cannot allocate " + DeviceInfo.bytes(bytes) + " for "
                    + what + " on " + device + "; " + (free < 0 ? "free memory unknown"
                    : DeviceInfo.bytes(free) + " free of " + DeviceInfo.bytes(total)), bytes, free, total);
        }
        check(st, "cudaMalloc(" + bytes + " bytes for " + what + ")");
        return p;
    }

    static void free(DevicePointer p) {
        check(JCuda.cudaFree(p), "cudaFree");
    }

    static Stream createStream() {
        Stream s = new Stream();
        check(JCuda.cudaStreamCreate(s), "cudaStreamCreate");
        return s;
    }

    static void destroyStream(Stream s) {
        check(JCuda.cudaStreamDestroy(s), "cudaStreamDestroy");
    }

    static void synchronize(Stream s) {
        check(JCuda.cudaStreamSynchronize(s), "cudaStreamSynchronize");
    }

    /** Milliseconds of device time that work() queues on the stream, measured with CUDA events. */
    static float elapsedMillis(Stream s, Runnable work) {
        cudaEvent_t start = new cudaEvent_t();
        cudaEvent_t stop = new cudaEvent_t();
        check(JCuda.cudaEventCreate(start), "cudaEventCreate");
        try {
            check(JCuda.cudaEventCreate(stop), "cudaEventCreate");
            try {
                check(JCuda.cudaEventRecord(start, s), "cudaEventRecord");
                work.run();
                check(JCuda.cudaEventRecord(stop, s), "cudaEventRecord");
                check(JCuda.cudaEventSynchronize(stop), "cudaEventSynchronize");
                float[] ms = {0f};
                check(JCuda.cudaEventElapsedTime(ms, start, stop), "cudaEventElapsedTime");
                return ms[0];
            } finally {
                JCuda.cudaEventDestroy(stop);
            }
        } finally {
            JCuda.cudaEventDestroy(start);
        }
    }
}
