package io.trady4j.backend.cuda;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.BatchNormChecks;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Checks;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.MemoryMeter;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * The CUDA backend: every tensor lives in device memory and every operation is a kernel of
 * libtrady4j_cuda.so queued on this backend's stream. Nothing synchronizes with the host except
 * {@link #download}, {@link #downloadInts} and {@link #synchronize} (and freeing memory), so a
 * training step runs without host round trips until its loss statistics are read.
 *
 * <p>Open it with {@link #open()} (device from system property {@code trady4j.cuda.device},
 * default 0) or through {@code Backends.open("cuda")}; where no driver, GPU or native library is
 * present that throws {@link io.trady4j.backend.BackendUnavailableException} with the reason.
 *
 * <p>Semantics follow {@link Backend} and the CPU reference with two device-side differences that
 * a kernel cannot report by itself. A label outside [0, K) is reported when the loss statistics
 * are downloaded, not when {@link #softmaxCrossEntropy} is called: the kernel makes the loss NaN
 * and records the first bad sample, and {@link #download} of those statistics throws the CPU
 * backend's exception (loss statistics that are never downloaded report nothing). A max-pooling
 * arg-max outside the plane is skipped. Results match the CPU backend to fp32 rounding (relative error well under 1e-5), are
 * deterministic (no floating-point atomics), but are not bit-identical to the CPU's, since sums
 * run in other orders.
 *
 * <p>A backend is meant to be driven from one thread at a time (like the CPU backend's callers);
 * each calling thread is bound to the device on first use.
 */
public final class CudaBackend implements Backend {
    /** System property choosing the device index for {@link #open()}. */
    public static final String DEVICE_PROPERTY = "trady4j.cuda.device";
    /**
     * System property choosing who serves device memory, streams and events: {@code jcuda} (the
     * default; JCuda's CUDA 12.6 runtime) or {@code native} (libtrady4j_cuda.so's own CUDA 13 runtime,
     * also taken when JCuda's native library cannot load).
     */
    public static final String RUNTIME_PROPERTY = "trady4j.cuda.runtime";
    /**
     * System property: {@code true} switches the library's debug checks on when a backend opens (every call that takes
     * a channel selection first checks it on the host: sorted, unique, in range; a host round trip per call),
     * {@code false} off; absent: the library's setting is left as it is (off unless someone set it).
     */
    public static final String DEBUG_CHECKS_PROPERTY = "trady4j.cuda.debugChecks";

    private final DeviceInfo info;
    private final DeviceRuntime device;
    private final DeviceBlockCache blocks;
    private final MemoryMeter meter = new MemoryMeter();
    private final long streamHandle;
    /** False when the stream is the caller's ({@link #onStream}): close then leaves it alone. */
    private final boolean ownsStream;
    private final ThreadLocal<Boolean> bound = new ThreadLocal<>();
    private final KernelTuner tuner;
    private long workspace;
    private long workspaceBytes;
    private boolean closed;
    private static volatile int processKernelVersion;

    /** System property naming the tuning cache directory (default ~/.cache/trady4j). */
    public static final String TUNE_CACHE_PROPERTY = "trady4j.tune.cache";
    private static final int TIMED_RUNS = 5;

    /** A backend over the given device services ({@link #open} passes JCuda's or the library's own) on a stream of its own. */
    CudaBackend(DeviceInfo info, DeviceRuntime device) {
        this(info, device, null);
    }

    /** A backend on the caller's stream {@code callerStream}, or on a new stream of its own when that is null. */
    CudaBackend(DeviceInfo info, DeviceRuntime device, Long callerStream) {
        this.info = info;
        this.device = device;
        this.blocks = new DeviceBlockCache(device);
        // The tuner first: a bad -Dtrady4j.tune fails before any device resource exists.
        this.tuner = new KernelTuner(NativeImplementationTable.INSTANCE,
                TuningMode.fromProperty(info.driverVersion() > 0), this::timeImplementation, tuneCacheDirectory(),
                new KernelTuner.Context(info.name(), info.driverVersion(), NativeLibrary.fingerprint()),
                System.err::println);
        bindThread();
        this.ownsStream = callerStream == null;
        this.streamHandle = ownsStream ? device.createStream() : callerStream;
    }

    /** Sets the library's debug option from {@link #DEBUG_CHECKS_PROPERTY} (when it is set); {@link #open(int)} calls it. */
    static void applyDebugChecksProperty() {
        String v = System.getProperty(DEBUG_CHECKS_PROPERTY);
        if (v == null) {
            return;
        }
        String value = v.trim().toLowerCase(java.util.Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            throw new BackendUnavailableException("-D" + DEBUG_CHECKS_PROPERTY + " must be true or false, got '" + v + "'");
        }
        NativeCalls.SET_OPTION.call(Abi.OPT_DEBUG_CHECKS, value.equals("true") ? 1 : 0);
    }

    private static java.nio.file.Path tuneCacheDirectory() {
        String dir = System.getProperty(TUNE_CACHE_PROPERTY);
        if (dir != null && !dir.isBlank()) {
            return java.nio.file.Path.of(dir);
        }
        return java.nio.file.Path.of(System.getProperty("user.home"), ".cache", "trady4j");
    }

    /** One warm-up run, then the median of {@value #TIMED_RUNS} CUDA-event timings. */
    private double timeImplementation(Implementation impl, Runnable launch) {
        launch.run();
        double[] ms = new double[TIMED_RUNS];
        for (int i = 0; i < ms.length; i++) {
            ms[i] = device.elapsedMillis(streamHandle, launch);
        }
        java.util.Arrays.sort(ms);
        return ms[ms.length / 2];
    }

    /** Opens the device named by {@value #DEVICE_PROPERTY} (default 0). */
    public static CudaBackend open() {
        String d = System.getProperty(DEVICE_PROPERTY, "0").trim();
        int device;
        try {
            device = Integer.parseInt(d);
        } catch (NumberFormatException e) {
            throw new BackendUnavailableException("-D" + DEVICE_PROPERTY + " must be a device index, got '" + d + "'");
        }
        return open(device);
    }

    /**
     * Opens a CUDA device. Throws BackendUnavailableException (never a linkage error) when JCuda
     * cannot start, no driver or GPU is present, or libtrady4j_cuda.so cannot be found or loaded.
     */
    public static CudaBackend open(int device) {
        requireNativeAccess();
        String runtime = System.getProperty(RUNTIME_PROPERTY, "jcuda").trim().toLowerCase(java.util.Locale.ROOT);
        if (!runtime.equals("jcuda") && !runtime.equals("native")) {
            throw new BackendUnavailableException("-D" + RUNTIME_PROPERTY + " must be jcuda or native, got '" + runtime + "'");
        }
        DeviceInfo info = null;
        String jcudaProblem = null;
        if (runtime.equals("jcuda")) {
            try {
                info = JCudaBridge.probe(device);
            } catch (BackendUnavailableException e) {
                if (!(e.getCause() instanceof LinkageError)) {
                    throw e;
                }
                jcudaProblem = e.getMessage();  // JCuda's JNI library cannot load here: try the library's own runtime
            } catch (LinkageError e) {
                // JCuda (an optional dependency) is not on the class or module path: JCudaBridge cannot load.
                jcudaProblem = "JCuda is not on the class or module path (" + e + ")";
            }
        }
        NativeLibrary.load();
        applyDebugChecksProperty();
        try {
            if (info == null) {
                try {
                    info = NativeRuntime.probe(device);
                } catch (BackendUnavailableException e) {
                    throw jcudaProblem == null ? e : new BackendUnavailableException(jcudaProblem
                            + "; with libtrady4j_cuda.so's own runtime instead: " + e.getMessage(), e);
                }
                return new CudaBackend(info, new NativeRuntime(info.name() + " (device " + device + ")"));
            }
            return new CudaBackend(info, new JCudaBridge.JCudaRuntime(info.name() + " (device " + device + ")"));
        } catch (CudaException e) {
            String hint = e.getMessage().contains("cudaErrorInsufficientDriver")
                    ? " (libtrady4j_cuda.so carries the CUDA 13 runtime: it needs an NVIDIA driver of the 580 series"
                    + " or newer; this one is CUDA " + DeviceInfo.version(info.driverVersion()) + ")"
                    : "";
            throw new BackendUnavailableException("cannot start the CUDA backend on device " + device + ": "
                    + e.getMessage() + hint, e);
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            throw new BackendUnavailableException("the trady4j native library does not match this jar: " + e, e);
        }
    }

    /**
     * A backend that queues all its work on the caller's CUDA stream, for a trainer that owns the
     * CUDA context and streams (its own CUDA code, JCuda, or another library in the same process).
     * Device memory, streams and events are then served by libtrady4j_cuda.so's own runtime, which
     * shares the device's primary context with the caller's runtime, so the caller's device
     * pointers ({@link #wrap}) and stream are valid here.
     *
     * <p>Ordering rules:
     * <ul>
     *   <li>every operation is queued on {@code stream} in call order and returns before the GPU has
     *       run it; work the caller queues on the same stream afterwards sees its results, work on
     *       other streams needs the caller's own event or synchronization;</li>
     *   <li>only {@link #download}, {@link #downloadInts}, {@link #synchronize} and {@link #close}
     *       wait for the stream (and allocation, rarely, when the block cache must give memory back);</li>
     *   <li>the caller keeps wrapped memory alive and unchanged by other streams until the work
     *       queued on it is done (e.g. {@link #synchronize}); closing a wrapped tensor never frees it;</li>
     *   <li>a tensor this backend allocated returns to a stream-ordered block cache when closed: only
     *       work queued on {@code stream} after the close may reuse it, so never hand such memory
     *       to other streams;</li>
     *   <li>{@link #close} waits for the stream and frees this backend's memory, but never destroys
     *       the stream, which stays the caller's.</li>
     * </ul>
     *
     * @param device the CUDA device index the stream and memory belong to
     * @param stream the raw {@code cudaStream_t} (or {@code CUstream}) handle; 0 is the legacy default
     *               stream. From JCuda objects: {@link JCudaInterop#handle(jcuda.runtime.cudaStream_t)}.
     * @return a backend whose {@link #stream()} is {@code stream}
     * @throws BackendUnavailableException if the native library or device cannot be used
     */
    public static CudaBackend onStream(int device, long stream) {
        requireNativeAccess();
        NativeLibrary.load();
        DeviceInfo info = NativeRuntime.probe(device);
        try {
            return new CudaBackend(info, new NativeRuntime(info.name() + " (device " + device + ")"), stream);
        } catch (CudaException e) {
            throw new BackendUnavailableException("cannot start the CUDA backend on device " + device
                    + " and stream 0x" + Long.toHexString(stream) + ": " + e.getMessage(), e);
        }
    }

    /**
     * The device address of a tensor of this backend, for the caller's own kernels or for another
     * framework (see also {@code io.trady4j.dlpack.DLPack#export}). It stays valid until the tensor
     * is closed; work queued on {@link #stream()} before that point may still be using it.
     *
     * @param t an open tensor of this backend (allocated or wrapped)
     * @return its device address
     * @throws IllegalArgumentException if {@code t} belongs to another backend
     * @throws IllegalStateException    if {@code t} was closed
     */
    public long devicePointer(Tensor t) {
        return address(t, "tensor");
    }

    /** @return the raw {@code cudaStream_t} this backend queues its work on (its own, or the caller's from {@link #onStream}) */
    public long stream() {
        return streamHandle;
    }

    /**
     * Refuses to start before any native call when native access is not enabled for trady4j, so the
     * JDK prints no restricted-method warnings and the caller learns which flag to add.
     */
    private static void requireNativeAccess() {
        Module m = CudaBackend.class.getModule();
        if (!m.isNativeAccessEnabled()) {
            String flag = m.isNamed() ? m.getName() : "ALL-UNNAMED";
            throw new BackendUnavailableException("the CUDA backend calls native code, which needs"
                    + " --enable-native-access=" + flag + " on the java command line");
        }
    }

    /** True if {@link #open()} would succeed (it opens and closes a backend to find out). */
    public static boolean isAvailable() {
        try (CudaBackend b = open()) {
            return b != null;
        } catch (BackendUnavailableException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- identity, options, timing

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String deviceDescription() {
        return info.describe();
    }

    /** @return the CUDA device index this backend runs on */
    public int deviceIndex() {
        return info.index();
    }

    /** CUDA runtime version of libtrady4j_cuda.so and driver version, e.g. "runtime 13.0, driver 13.0". */
    public String versions() {
        bindThread();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rt = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment drv = arena.allocate(ValueLayout.JAVA_INT);
            NativeCalls.VERSIONS.call(rt, drv);
            return "runtime " + DeviceInfo.version(rt.get(ValueLayout.JAVA_INT, 0)) + ", driver "
                    + DeviceInfo.version(drv.get(ValueLayout.JAVA_INT, 0)) + " (device memory, streams and events: "
                    + device.describe() + ")";
        }
    }

    @Override
    public MemoryMeter memory() {
        return meter;
    }

    /** {free, total} device memory in bytes (cudaMemGetInfo). */
    public long[] deviceMemoryInfo() {
        bindThread();
        return device.memoryInfo();
    }

    /**
     * Pins every op of every backend in this process to implementation {@code version} (1 = the
     * simple reference kernels v1_naive, 2 = v2_tiled; every op has both), for testing and
     * debugging; 0 hands the choice back to each backend's pins and tuner.
     */
    public static void setKernelVersion(int version) {
        if (version < 0 || version > 2) {
            throw new IllegalArgumentException("kernel version must be 0, 1 or 2, got " + version);
        }
        processKernelVersion = version;
    }

    /** @return the process-wide implementation pin of {@link #setKernelVersion} (0: none) */
    public static int kernelVersion() {
        return processKernelVersion;
    }

    // ---------------------------------------------------------------- implementations and tuning

    /** The op's implementations (kernels/versions.cu) in id order. */
    public java.util.List<Implementation> implementations(CudaOp op) {
        return NativeImplementationTable.INSTANCE.implementations(op);
    }

    /** Whether {@code impl} can serve this shape and selection size. */
    public boolean eligible(Implementation impl, OpShape shape, int nsel) {
        return NativeImplementationTable.INSTANCE.eligible(impl, shape, nsel);
    }

    /**
     * Runs {@code op} with the named implementation from now on, whatever the tuner would choose
     * (reproducible runs, tests); a shape that implementation cannot serve then fails with its error.
     */
    public void pin(CudaOp op, String implementationName) {
        for (Implementation impl : implementations(op)) {
            if (impl.name().equals(implementationName)) {
                tuner.pin(impl);
                return;
            }
        }
        throw new IllegalArgumentException(op + " has no implementation '" + implementationName + "'; it has "
                + implementations(op));
    }

    /**
     * Hands {@code op}'s choice back to the tuner (undoes {@link #pin}).
     *
     * @param op the op
     */
    public void unpin(CudaOp op) {
        tuner.unpin(op);
    }

    /** @return how this backend chooses implementations ({@value TuningMode#PROPERTY}) */
    public TuningMode tuningMode() {
        return tuner.mode();
    }

    /** The choice made for an op on this shape and selection size, once the op was called with them. */
    public java.util.Optional<TuningChoice> chosenImplementation(CudaOp op, OpShape shape, int nsel) {
        return tuner.choice(op, shape, nsel);
    }

    /** Every choice made so far, in first-use order (benchmark JSON, {@code info}). */
    public java.util.List<TuningChoice> tuningChoices() {
        return tuner.choices();
    }

    /** Per op, how many (shape, bucket) keys ran each implementation: "v2_tiled" -> 12. */
    public java.util.Map<CudaOp, java.util.Map<String, Integer>> implementationsUsed() {
        java.util.Map<CudaOp, java.util.Map<String, Integer>> used = new java.util.EnumMap<>(CudaOp.class);
        for (TuningChoice c : tuner.choices()) {
            used.computeIfAbsent(c.op(), k -> new java.util.TreeMap<>())
                    .merge(c.implementation().name(), 1, Integer::sum);
        }
        return used;
    }

    /**
     * For {@code info} and logs: the tuning state, then per op its implementations, the pinned one
     * marked, and how many shapes ran each so far.
     */
    public java.util.List<String> implementationSummary() {
        java.util.List<String> lines = new java.util.ArrayList<>();
        int version = processKernelVersion;
        lines.add("tuning " + tuner.mode().name().toLowerCase(java.util.Locale.ROOT)
                + (version != 0 ? " (overridden: every op runs implementation " + version + ")" : "")
                + (tuner.cacheFile() == null ? "" : ", cache " + tuner.cacheFile()));
        java.util.Map<CudaOp, java.util.Map<String, Integer>> used = implementationsUsed();
        for (CudaOp op : CudaOp.values()) {
            java.util.Optional<Implementation> pin = tuner.pinned(op);
            java.util.Map<String, Integer> counts = used.getOrDefault(op, java.util.Map.of());
            StringBuilder sb = new StringBuilder(op.name().toLowerCase(java.util.Locale.ROOT)).append(':');
            for (Implementation impl : implementations(op)) {
                sb.append(' ').append(impl.name());
                if (pin.isPresent() && pin.get().equals(impl)) {
                    sb.append(" (pinned)");
                }
                if (counts.containsKey(impl.name())) {
                    sb.append(" (").append(counts.get(impl.name())).append(" shapes)");
                }
            }
            lines.add(sb.toString());
        }
        return lines;
    }

    /** Where tuned choices persist, or null without a disk cache. */
    public java.nio.file.Path tuningCacheFile() {
        return tuner.cacheFile();
    }

    /** The implementation id for this call: the process-wide kernel version, a pin, or the tuner's choice. */
    private int implementation(CudaOp op, OpShape shape, int nsel, java.util.function.IntConsumer launch) {
        int version = processKernelVersion;
        return version != 0 ? version : tuner.choose(op, shape, nsel, launch);
    }

    /** Device milliseconds of the work that {@code work} queues on this backend (CUDA events). */
    public float elapsedMillis(Runnable work) {
        bindThread();
        return device.elapsedMillis(streamHandle, work);
    }

    private void bindThread() {
        if (bound.get() == null) {
            device.bindThread(info.index());
            NativeCalls.SET_DEVICE.call(info.index());
            bound.set(Boolean.TRUE);
        }
    }

    private void live() {
        if (closed) {
            throw new IllegalStateException("the CUDA backend was closed");
        }
        bindThread();
    }

    // ---------------------------------------------------------------- memory

    @Override
    public Tensor allocate(Shape shape, DType dtype, MemoryCategory category) {
        live();
        return new CudaTensor(this, shape, dtype, category);
    }

    /**
     * {@inheritDoc}
     *
     * <p>On this backend {@code data} is a native segment over device memory of this backend's
     * device: {@code MemorySegment.ofAddress(devicePointer).reinterpret(bytes)}, e.g. from
     * {@code cudaMalloc}, another framework's tensor, or {@link JCudaInterop#address(jcuda.Pointer)}.
     * The address cannot be checked for belonging to this device (the C ABI has no pointer query):
     * a host address fails in the first kernel that touches it.
     */
    @Override
    public Tensor wrap(MemorySegment data, Shape shape, DType dtype) {
        Checks.wrap(data, shape, dtype);
        if (!data.isNative()) {
            throw new IllegalArgumentException("the CUDA backend wraps device memory, got a heap segment over a "
                    + data.heapBase().map(b -> b.getClass().getSimpleName()).orElse("Java array")
                    + ": copy it to the device with upload(...), or wrap MemorySegment.ofAddress(devicePointer)"
                    + ".reinterpret(bytes)");
        }
        if (data.address() == 0) {
            throw new IllegalArgumentException("cannot wrap the null device address");
        }
        live();
        return new CudaTensor(this, data.address(), shape, dtype);
    }

    @Override
    public Tensor upload(float[] data, Shape shape, MemoryCategory category) {
        Checks.upload(data, shape);
        return upload(shape, DType.F32, category, arena -> arena.allocateFrom(ValueLayout.JAVA_FLOAT, data));
    }

    @Override
    public Tensor uploadInts(int[] data, Shape shape, MemoryCategory category) {
        Checks.uploadInts(data, shape);
        return upload(shape, DType.I32, category, arena -> arena.allocateFrom(ValueLayout.JAVA_INT, data));
    }

    /** A new tensor holding the host copy that {@code staged} makes of the caller's array. */
    private Tensor upload(Shape shape, DType dtype, MemoryCategory category, Function<Arena, MemorySegment> staged) {
        live();
        CudaTensor t = new CudaTensor(this, shape, dtype, category);
        try (Arena arena = Arena.ofConfined()) {
            NativeCalls.COPY_TO_DEVICE.call(t.address("upload"), staged.apply(arena), t.byteSize(), streamHandle);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    @Override
    public void download(Tensor src, float[] dst) {
        Checks.download(src, dst);
        copyToHost(address(src, "download source"), src.byteSize(),
                host -> MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, 0, dst, 0, dst.length));
        if (Float.isNaN(dst[0])) {
            throwIfLossHadBadLabel((CudaTensor) src);
        }
    }

    @Override
    public void downloadInts(Tensor src, int[] dst) {
        Checks.downloadInts(src, dst);
        copyToHost(address(src, "download source"), src.byteSize(),
                host -> MemorySegment.copy(host, ValueLayout.JAVA_INT, 0, dst, 0, dst.length));
    }

    /** Copies device memory to the host (the synchronizing call) and hands the host copy to {@code unpack}. */
    private void copyToHost(long device, long bytes, Consumer<MemorySegment> unpack) {
        live();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(bytes, 16);
            NativeCalls.COPY_TO_HOST.call(host, device, bytes, streamHandle);
            unpack.accept(host);
        }
    }

    /**
     * A NaN loss is either a diverged run or a label outside [0, K), which the loss kernel recorded
     * (see {@link #softmaxCrossEntropy}). The record is read only here, on a NaN loss, so a training
     * step still makes one host round trip, the loss download.
     */
    private void throwIfLossHadBadLabel(CudaTensor stats) {
        long record = stats.labelErrorRecord();
        if (record == 0) {
            return;
        }
        int[] sampleAndLabel = new int[2];
        copyToHost(record, CudaTensor.LABEL_ERROR_BYTES,
                host -> MemorySegment.copy(host, ValueLayout.JAVA_INT, 0, sampleAndLabel, 0, 2));
        if (sampleAndLabel[0] >= 0) {
            throw Checks.labelOutsideClasses(sampleAndLabel[0], sampleAndLabel[1], stats.lossClasses());
        }
    }

    @Override
    public void fill(Tensor t, float value) {
        Checks.fill(t, DType.F32);
        long p = address(t, "filled tensor");
        live();
        NativeCalls.FILL_F32.call(p, value, t.numel(), streamHandle);
    }

    /** Fills an int32 tensor (e.g. to poison an arg-max buffer in tests). */
    public void fillInts(Tensor t, int value) {
        Checks.fill(t, DType.I32);
        long p = address(t, "filled tensor");
        live();
        NativeCalls.FILL_I32.call(p, value, t.numel(), streamHandle);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Checks.copy(src, dst);
        long s = address(src, "copy source");
        long d = address(dst, "copy destination");
        live();
        NativeCalls.COPY_DEVICE.call(d, s, src.byteSize(), streamHandle);
    }

    @Override
    public void synchronize() {
        live();
        NativeCalls.STREAM_SYNCHRONIZE.call(streamHandle);
    }

    long deviceMalloc(long bytes, String what) {
        live();
        return blocks.acquire(bytes, what, () -> device.synchronize(streamHandle));
    }

    /**
     * Frees a tensor's memory without waiting: the block goes back to the stream-ordered cache, so
     * only kernels queued after this point (which run after every kernel that used it) can reuse it.
     */
    void freeDeviceMemory(long address, MemoryCategory category, long bytes) {
        if (closed) {
            bindThread();
            device.free(address);
        } else {
            blocks.release(address, bytes);
        }
        meter.freed(category, bytes);
    }

    /**
     * Device memory this backend holds (what the driver has given it): blocks for tensors, in use or
     * cached for reuse, plus the kernels' scratch workspace.
     */
    public long reservedBytes() {
        return blocks.reservedBytes() + workspaceBytes;
    }

    /**
     * Peak of {@link #reservedBytes()} since the last {@link #resetReservedPeak()}. The workspace only
     * grows in between, so it counts at its present size: an upper bound when it grew after the peak.
     */
    public long peakReservedBytes() {
        return blocks.peakReservedBytes() + workspaceBytes;
    }

    /** Starts a new {@link #peakReservedBytes()} measurement. */
    public void resetReservedPeak() {
        blocks.resetPeak();
    }

    /** The backend-owned scratch buffer, grown (rarely) to at least `bytes`; 0 if none is needed. */
    private long workspace(long bytes) {
        if (bytes <= 0) {
            return 0;
        }
        if (bytes > workspaceBytes) {
            long grown = Math.max(bytes, workspaceBytes + workspaceBytes / 2);
            grown = (grown + (1 << 20) - 1) & ~((1L << 20) - 1);  // whole MiB
            releaseWorkspace();
            workspace = device.malloc(grown, "kernel workspace");
            workspaceBytes = grown;
            meter.allocated(MemoryCategory.WORKSPACE, grown);
        }
        return workspace;
    }

    private void releaseWorkspace() {
        if (workspace != 0) {
            device.synchronize(streamHandle);
            device.free(workspace);
            meter.freed(MemoryCategory.WORKSPACE, workspaceBytes);
            workspace = 0;
            workspaceBytes = 0;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        bindThread();
        try {
            releaseWorkspace();
            device.synchronize(streamHandle);
            blocks.releaseAll();
        } finally {
            closed = true;
            if (ownsStream) {
                device.destroyStream(streamHandle);
            }
        }
    }

    // ---------------------------------------------------------------- convolution

    @Override
    public void conv2d(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, Tensor y) {
        Checks.conv2d(x, w, bias, spec, act, y);
        convForward(x, w, bias, spec, act, null, y, null);
    }

    @Override
    public void conv2dGather(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, ChannelIndex sel,
                             Tensor y, Tensor xSel) {
        Checks.conv2dGather(x, w, bias, spec, act, sel, y, xSel);
        convForward(x, w, bias, spec, act, sel, y, xSel);
    }

    /** The forward pass of {@link #conv2d} (sel == null) or {@link #conv2dGather}, on validated arguments. */
    private void convForward(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, ChannelIndex sel,
                             Tensor y, Tensor xSel) {
        Shape xs = x.shape();
        Shape ys = y.shape();
        long selAddr = sel == null ? 0 : selection(sel);
        long xSelAddr = sel == null ? 0 : address(xSel, "gathered input");
        int nsel = sel == null ? 0 : sel.size();
        long xa = address(x, "input");
        long wa = address(w, "weight");
        long ba = bias == null ? 0 : address(bias, "bias");
        long ya = address(y, "output");
        live();
        OpShape shape = convShape(spec, xs.dim(0), xs.dim(2), xs.dim(3), ys.dim(2), ys.dim(3));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = shape.toSegment(arena);
            IntConsumer run = impl -> NativeCalls.CONV2D_FORWARD.call(s, xa, wa, ba, act.code(), selAddr, nsel,
                    xSelAddr, ya, impl, streamHandle);
            run.accept(implementation(CudaOp.CONV2D_FORWARD, shape, nsel, run));
        }
    }

    @Override
    public void conv2dDwSparse(Tensor xSel, Tensor dy, ChannelIndex sel, Conv2dSpec spec, Tensor dwSel) {
        Checks.conv2dDwSparse(xSel, dy, sel, spec, dwSel);
        Shape xs = xSel.shape();
        int batch = xs.dim(0);
        int ho = dy.shape().dim(2);
        int wo = dy.shape().dim(3);
        long xa = address(xSel, "gathered input");
        long dya = address(dy, "output gradient");
        long dwa = address(dwSel, "sparse weight gradient");
        long sa = selection(sel);
        live();
        int nsel = sel.size();
        OpShape shape = convShape(spec, batch, xs.dim(2), xs.dim(3), ho, wo);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = shape.toSegment(arena);
            MemorySegment bytes = arena.allocate(ValueLayout.JAVA_LONG);
            IntConsumer run = impl -> {
                NativeCalls.CONV2D_DW_SPARSE_WORKSPACE_SIZE.call(s, nsel, impl, bytes);
                long need = bytes.get(ValueLayout.JAVA_LONG, 0);
                long ws = workspace(need);
                NativeCalls.CONV2D_DW_SPARSE.call(s, xa, dya, sa, nsel, dwa, ws, need <= 0 ? 0 : workspaceBytes, impl,
                        streamHandle);
            };
            run.accept(implementation(CudaOp.CONV2D_DW_SPARSE, shape, nsel, run));
        }
    }

    @Override
    public void conv2dDx(Tensor dy, Tensor w, Conv2dSpec spec, Tensor dx) {
        Checks.conv2dDx(dy, w, spec, dx);
        Shape dxs = dx.shape();
        Shape ys = dy.shape();
        long dya = address(dy, "output gradient");
        long wa = address(w, "weight");
        long dxa = address(dx, "input gradient");
        live();
        OpShape shape = convShape(spec, dxs.dim(0), dxs.dim(2), dxs.dim(3), ys.dim(2), ys.dim(3));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = shape.toSegment(arena);
            IntConsumer run = impl -> NativeCalls.CONV2D_DX.call(s, dya, wa, dxa, impl, streamHandle);
            run.accept(implementation(CudaOp.CONV2D_DX, shape, 0, run));
        }
    }

    private static OpShape convShape(Conv2dSpec spec, int batch, int h, int w, int ho, int wo) {
        return new OpShape(batch, spec.inChannels(), h, w, spec.outChannels(), ho, wo, spec.kernel(), spec.stride(),
                spec.padding(), spec.dilation(), spec.groups());
    }

    // ---------------------------------------------------------------- linear

    @Override
    public void linear(Tensor x, Tensor w, Tensor bias, Tensor y) {
        Checks.linear(x, w, bias, y);
        int batch = x.shape().dim(0);
        int o = w.shape().dim(0);
        int fin = w.shape().dim(1);
        long xa = address(x, "linear input");
        long wa = address(w, "linear weight");
        long ba = bias == null ? 0 : address(bias, "linear bias");
        long ya = address(y, "linear output");
        live();
        IntConsumer run = impl -> NativeCalls.LINEAR_FORWARD.call(batch, fin, o, xa, wa, ba, ya, impl, streamHandle);
        run.accept(implementation(CudaOp.LINEAR_FORWARD, OpShape.linear(batch, fin, o), 0, run));
    }

    @Override
    public void linearDx(Tensor dy, Tensor w, Tensor dx) {
        Checks.linearDx(dy, w, dx);
        int batch = dy.shape().dim(0);
        int o = w.shape().dim(0);
        int fin = w.shape().dim(1);
        long dya = address(dy, "linear output gradient");
        long wa = address(w, "linear weight");
        long dxa = address(dx, "linear input gradient");
        live();
        IntConsumer run = impl -> NativeCalls.LINEAR_DX.call(batch, fin, o, dya, wa, dxa, impl, streamHandle);
        run.accept(implementation(CudaOp.LINEAR_DX, OpShape.linear(batch, fin, o), 0, run));
    }

    @Override
    public void linearDwSparse(Tensor xSel, Tensor dy, ChannelIndex sel, Tensor dwSel) {
        Checks.linearDwSparse(xSel, dy, sel, dwSel);
        int batch = dy.shape().dim(0);
        int o = dy.shape().dim(1);
        int ns = sel.size();
        long xa = address(xSel, "gathered linear input");
        long dya = address(dy, "linear output gradient");
        long dwa = address(dwSel, "sparse linear weight gradient");
        live();
        IntConsumer run = impl -> NativeCalls.LINEAR_DW_SPARSE.call(batch, ns, o, xa, dya, dwa, impl, streamHandle);
        run.accept(implementation(CudaOp.LINEAR_DW_SPARSE, OpShape.linear(batch, ns, o), ns, run));
    }

    @Override
    public void biasGrad(Tensor dy, Tensor db) {
        Checks.biasGrad(dy, db);
        Shape s = dy.shape();
        int batch = s.dim(0);
        int c = s.dim(1);
        int plane = s.numel() / (batch * c);
        long dya = address(dy, "dy");
        long dba = address(db, "bias gradient");
        live();
        NativeCalls.BIAS_GRAD.call(batch, c, plane, dya, dba, streamHandle);
    }

    // ---------------------------------------------------------------- element-wise, pooling, loss

    @Override
    public void gatherChannels(Tensor x, ChannelIndex sel, Tensor xSel) {
        Checks.gatherChannels(x, sel, xSel);
        Shape s = x.shape();
        int batch = s.dim(0);
        int c = s.dim(1);
        int plane = s.numel() / (batch * c);
        long xa = address(x, "x");
        long xsa = address(xSel, "gathered input");
        long sa = selection(sel);
        live();
        NativeCalls.GATHER_CHANNELS.call(batch, c, plane, xa, sa, sel.size(), xsa, streamHandle);
    }

    @Override
    public void activation(Activation act, Tensor x, Tensor y) {
        Checks.activation(act, x, y);
        long xa = address(x, "activation input");
        long ya = address(y, "activation output");
        live();
        NativeCalls.ACTIVATION.call(act.code(), x.numel(), xa, ya, streamHandle);
    }

    @Override
    public void activationBackward(Activation act, Tensor y, Tensor dy, Tensor dx) {
        Checks.activationBackward(act, y, dy, dx);
        long ya = address(y, "activation output");
        long dya = address(dy, "activation output gradient");
        long dxa = address(dx, "activation input gradient");
        live();
        NativeCalls.ACTIVATION_BACKWARD.call(act.code(), y.numel(), ya, dya, dxa, streamHandle);
    }

    @Override
    public void activationMask(Activation act, Tensor y, Tensor mask) {
        Checks.activationMask(act, y, mask);
        long ya = address(y, "activation output");
        long ma = address(mask, "activation mask");
        live();
        NativeCalls.ACTIVATION_MASK.call(act.code(), y.numel(), ya, ma, streamHandle);
    }

    @Override
    public void activationBackwardMasked(Tensor mask, Tensor dy, Tensor dx) {
        Checks.activationBackwardMasked(mask, dy, dx);
        long ma = address(mask, "activation mask");
        long dya = address(dy, "activation output gradient");
        long dxa = address(dx, "activation input gradient");
        live();
        NativeCalls.ACTIVATION_BACKWARD_MASKED.call(dy.numel(), ma, dya, dxa, streamHandle);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        Checks.add(a, b, out);
        long aa = address(a, "first addend");
        long ba = address(b, "second addend");
        long oa = address(out, "sum");
        live();
        NativeCalls.ADD.call(a.numel(), aa, ba, oa, streamHandle);
    }

    @Override
    public void globalAvgPool(Tensor x, Tensor y) {
        Checks.globalAvgPool(x, y);
        Shape s = x.shape();
        long xa = address(x, "x");
        long ya = address(y, "pooled output");
        live();
        NativeCalls.GLOBAL_AVG_POOL.call(s.dim(0) * s.dim(1), s.dim(2) * s.dim(3), xa, ya, streamHandle);
    }

    @Override
    public void globalAvgPoolBackward(Tensor dy, Tensor dx) {
        Checks.globalAvgPoolBackward(dy, dx);
        Shape s = dx.shape();
        long dya = address(dy, "pooled gradient");
        long dxa = address(dx, "dx");
        live();
        NativeCalls.GLOBAL_AVG_POOL_BACKWARD.call(s.dim(0) * s.dim(1), s.dim(2) * s.dim(3), dya, dxa, streamHandle);
    }

    @Override
    public void maxPool2d(Tensor x, int kernel, int stride, int padding, Tensor y, Tensor argmax) {
        Checks.maxPool2d(x, kernel, stride, padding, y, argmax);
        Shape s = x.shape();
        int h = s.dim(2);
        int w = s.dim(3);
        int ho = y.shape().dim(2);
        int wo = y.shape().dim(3);
        long xa = address(x, "x");
        long ya = address(y, "pooled output");
        long aa = address(argmax, "pooling arg-max");
        live();
        NativeCalls.MAX_POOL2D.call(s.dim(0) * s.dim(1), h, w, kernel, stride, padding, ho, wo, xa, ya, aa, streamHandle);
    }

    @Override
    public void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        Checks.maxPool2dBackward(dy, argmax, dx);
        Shape ds = dy.shape();
        Shape xs = dx.shape();
        long dya = address(dy, "dy");
        long aa = address(argmax, "pooling arg-max");
        long dxa = address(dx, "dx");
        live();
        NativeCalls.MAX_POOL2D_BACKWARD.call(xs.dim(0) * xs.dim(1), xs.dim(2) * xs.dim(3), ds.dim(2) * ds.dim(3), dya, aa,
                dxa, streamHandle);
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor stats, Tensor dLogits) {
        Checks.softmaxCrossEntropy(logits, labels, stats, dLogits);
        int batch = logits.shape().dim(0);
        int k = logits.shape().dim(1);
        long za = address(logits, "logits");
        long la = address(labels, "labels");
        long sa = address(stats, "loss statistics");
        long ga = dLogits == null ? 0 : address(dLogits, "logit gradient");
        live();
        long labelError = ((CudaTensor) stats).labelErrorRecord(k);
        NativeCalls.SOFTMAX_CROSS_ENTROPY.call(batch, k, za, la, sa, ga, labelError, streamHandle);
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void sgdUpdate(Tensor param, Tensor grad, Tensor momentum, SgdStep step) {
        Checks.sgdUpdate(param, grad, momentum, step);
        long m = step.usesMomentum() ? address(momentum, "momentum buffer") : 0;
        long p = address(param, "parameter");
        long g = address(grad, "gradient");
        live();
        NativeCalls.SGD_UPDATE.call(param.numel(), p, g, m, step.learningRate(), step.momentum(), step.weightDecay(),
                streamHandle);
    }

    @Override
    public void sgdUpdateSparse(Tensor w, Tensor dwSel, ChannelIndex sel, int groups, Tensor momentum, SgdStep step) {
        Checks.sgdUpdateSparse(w, dwSel, sel, groups, momentum, step);
        Shape ws = w.shape();
        int cout = ws.dim(0);
        int cg = ws.dim(1);
        int d2 = ws.numel() / (cout * cg);
        int ns = sel.size();
        long m = step.usesMomentum() ? address(momentum, "momentum buffer") : 0;
        long wa = address(w, "weight");
        long ga = address(dwSel, "sparse gradient");
        long sa = selection(sel);
        live();
        NativeCalls.SGD_UPDATE_SPARSE.call(cout, cg, d2, groups, sa, ns, wa, ga, m, step.learningRate(), step.momentum(),
                step.weightDecay(), streamHandle);
    }

    // ---------------------------------------------------------------- BatchNorm (pretraining)

    @Override
    public void batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                  double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        BatchNormChecks.training(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
        Shape s = x.shape();
        long xa = address(x, "x"), ga = address(gamma, "gamma"), ba = address(beta, "beta");
        long rma = address(runningMean, "running mean"), rva = address(runningVar, "running var");
        long ya = address(y, "y"), sma = address(saveMean, "saved mean"), sia = address(saveInvStd, "saved inverse std");
        live();
        NativeCalls.BATCH_NORM_TRAINING.call(s.dim(0), s.dim(1), s.dim(2) * s.dim(3), xa, ga, ba, rma, rva, momentum, eps,
                ya, sma, sia, streamHandle);
    }

    @Override
    public void batchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                  Tensor dGamma, Tensor dBeta) {
        BatchNormChecks.backward(dy, x, gamma, saveMean, saveInvStd, dx, dGamma, dBeta);
        Shape s = x.shape();
        long dya = address(dy, "dy"), xa = address(x, "x"), ga = address(gamma, "gamma");
        long sma = address(saveMean, "saved mean"), sia = address(saveInvStd, "saved inverse std");
        long dxa = address(dx, "dx"), dga = address(dGamma, "gamma gradient"), dba = address(dBeta, "beta gradient");
        live();
        NativeCalls.BATCH_NORM_BACKWARD.call(s.dim(0), s.dim(1), s.dim(2) * s.dim(3), dya, xa, ga, sma, sia, dxa, dga, dba,
                streamHandle);
    }

    @Override
    public void batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps,
                                   Tensor y) {
        BatchNormChecks.inference(x, gamma, beta, runningMean, runningVar, eps, y);
        Shape s = x.shape();
        long xa = address(x, "x"), ga = address(gamma, "gamma"), ba = address(beta, "beta");
        long rma = address(runningMean, "running mean"), rva = address(runningVar, "running var"), ya = address(y, "y");
        live();
        NativeCalls.BATCH_NORM_INFERENCE.call(s.dim(0), s.dim(1), s.dim(2) * s.dim(3), xa, ga, ba, rma, rva, eps, ya,
                streamHandle);
    }

    // ---------------------------------------------------------------- helpers

    /** The device address of a tensor the op's check has validated; only its owner is left to check. */
    private long address(Tensor t, String name) {
        if (!(t instanceof CudaTensor c) || c.owner() != this) {
            throw new IllegalArgumentException(name + " is not a tensor of this CUDA backend: " + t);
        }
        return c.address(name);
    }

    private long selection(ChannelIndex sel) {
        if (!(sel.tensor() instanceof CudaTensor c) || c.owner() != this) {
            throw new IllegalArgumentException("the channel selection was created by another backend; create it with "
                    + "this backend's channelIndex(...)");
        }
        return c.address("channel selection");
    }
}
