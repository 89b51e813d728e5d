package io.trady4j.backend.cuda;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
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

import static io.trady4j.backend.Checks.checkSelection;
import static io.trady4j.backend.Checks.expect;
import static io.trady4j.backend.Checks.features;
import static io.trady4j.backend.Checks.need;
import static io.trady4j.backend.Checks.sameShape;

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
 * a kernel cannot report without a host round trip: a label outside [0, K) gives a NaN loss (and
 * NaN gradient row) instead of an exception, and a max-pooling arg-max outside the plane is
 * skipped. Results match the CPU backend to fp32 rounding (relative error well under 1e-5), are
 * deterministic (no floating-point atomics), but are not bit-identical to the CPU's, since sums
 * run in other orders.
 *
 * <p>A backend is meant to be driven from one thread at a time (like the CPU backend's callers);
 * each calling thread is bound to the device on first use.
 */
public final class CudaBackend implements Backend {
    /** System property choosing the device index for {@link #open()}. */
    public static final String DEVICE_PROPERTY = "trady4j.cuda.device";

    private final JCudaBridge.DeviceInfo info;
    private final DeviceRuntime device;
    private final DeviceBlockCache blocks;
    private final MemoryMeter meter = new MemoryMeter();
    private final long streamHandle;
    private final ThreadLocal<Boolean> bound = new ThreadLocal<>();
    private long workspace;
    private long workspaceBytes;
    private boolean closed;

    /** A backend over the given device services; {@link #open} passes JCuda's. */
    CudaBackend(JCudaBridge.DeviceInfo info, DeviceRuntime device) {
        this.info = info;
        this.device = device;
        this.blocks = new DeviceBlockCache(device);
        bindThread();
        this.streamHandle = device.createStream();
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
        JCudaBridge.DeviceInfo info = JCudaBridge.probe(device);
        NativeLibrary.load();
        try {
            return new CudaBackend(info, new JCudaBridge.JCudaRuntime(info.name() + " (device " + device + ")"));
        } catch (CudaException e) {
            String hint = e.getMessage().contains("cudaErrorInsufficientDriver")
                    ? " (libtrady4j_cuda.so carries the CUDA 13 runtime: it needs an NVIDIA driver of the 580 series"
                    + " or newer; this one is CUDA " + JCudaBridge.version(info.driverVersion()) + ")"
                    : "";
            throw new BackendUnavailableException("cannot start the CUDA backend on device " + device + ": "
                    + e.getMessage() + hint, e);
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            throw new BackendUnavailableException("the trady4j native library does not match this jar: " + e, e);
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

    public int deviceIndex() {
        return info.index();
    }

    /** CUDA runtime version of libtrady4j_cuda.so and driver version, e.g. "runtime 13.0, driver 13.0". */
    public String versions() {
        bindThread();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rt = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment drv = arena.allocate(ValueLayout.JAVA_INT);
            NativeCalls.versions(rt, drv);
            return "runtime " + JCudaBridge.version(rt.get(ValueLayout.JAVA_INT, 0)) + ", driver "
                    + JCudaBridge.version(drv.get(ValueLayout.JAVA_INT, 0)) + " (JCuda runtime "
                    + JCudaBridge.version(info.runtimeVersion()) + ")";
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
     * Selects the kernels for the whole process: 0 = the tiled kernels (default), 1 = the simple
     * reference kernels (one thread per output), for testing and debugging.
     */
    public static void setKernelVersion(int version) {
        NativeLibrary.load();
        NativeCalls.setOption(NativeCalls.OPT_KERNEL_VERSION, version);
    }

    public static int kernelVersion() {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            return NativeCalls.getOption(NativeCalls.OPT_KERNEL_VERSION, arena.allocate(ValueLayout.JAVA_INT));
        }
    }

    /** Device milliseconds of the work that {@code work} queues on this backend (CUDA events). */
    public float elapsedMillis(Runnable work) {
        bindThread();
        return device.elapsedMillis(streamHandle, work);
    }

    private void bindThread() {
        if (bound.get() == null) {
            device.bindThread(info.index());
            NativeCalls.setDevice(info.index());
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

    @Override
    public Tensor upload(float[] data, Shape shape, MemoryCategory category) {
        requireLength(data.length, shape);
        live();
        CudaTensor t = new CudaTensor(this, shape, DType.F32, category);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_FLOAT, data);
            NativeCalls.copyToDevice(t.address("upload"), host, t.byteSize(), streamHandle);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    @Override
    public Tensor uploadInts(int[] data, Shape shape, MemoryCategory category) {
        requireLength(data.length, shape);
        live();
        CudaTensor t = new CudaTensor(this, shape, DType.I32, category);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_INT, data);
            NativeCalls.copyToDevice(t.address("upload"), host, t.byteSize(), streamHandle);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    @Override
    public void download(Tensor src, float[] dst) {
        long s = f32(src, "src");
        requireLength(dst.length, src.shape());
        live();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(src.byteSize(), 16);
            NativeCalls.copyToHost(host, s, src.byteSize(), streamHandle);
            MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, 0, dst, 0, dst.length);
        }
    }

    @Override
    public void downloadInts(Tensor src, int[] dst) {
        long s = i32(src, "src");
        requireLength(dst.length, src.shape());
        live();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(src.byteSize(), 16);
            NativeCalls.copyToHost(host, s, src.byteSize(), streamHandle);
            MemorySegment.copy(host, ValueLayout.JAVA_INT, 0, dst, 0, dst.length);
        }
    }

    @Override
    public void fill(Tensor t, float value) {
        long p = f32(t, "tensor");
        live();
        NativeCalls.fillF32(p, value, t.numel(), streamHandle);
    }

    /** Fills an int32 tensor (e.g. to poison an arg-max buffer in tests). */
    public void fillInts(Tensor t, int value) {
        long p = i32(t, "tensor");
        live();
        NativeCalls.fillI32(p, value, t.numel(), streamHandle);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (src.numel() != dst.numel() || src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("copy needs equal sizes and dtypes, got " + src + " and " + dst);
        }
        long s = dev(src, "src");
        long d = dev(dst, "dst");
        live();
        NativeCalls.copyDevice(d, s, src.byteSize(), streamHandle);
    }

    @Override
    public void synchronize() {
        live();
        NativeCalls.streamSynchronize(streamHandle);
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

    /** Device memory held for tensors, in use or cached for reuse (what the driver has given this backend). */
    public long reservedBytes() {
        return blocks.reservedBytes();
    }

    /** Peak of {@link #reservedBytes()} since the last {@link #resetReservedPeak()}. */
    public long peakReservedBytes() {
        return blocks.peakReservedBytes();
    }

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
            device.destroyStream(streamHandle);
        }
    }

    // ---------------------------------------------------------------- convolution

    @Override
    public void conv2d(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, Tensor y) {
        convForward(x, w, bias, spec, act, null, y, null);
    }

    @Override
    public void conv2dGather(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, ChannelIndex sel,
                             Tensor y, Tensor xSel) {
        need(sel, "channel selection");
        need(xSel, "gathered input");
        convForward(x, w, bias, spec, act, sel, y, xSel);
    }

    private void convForward(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, ChannelIndex sel,
                             Tensor y, Tensor xSel) {
        need(x, "input");
        need(spec, "conv spec");
        need(act, "activation");
        Shape xs = x.shape();
        spec.checkInput(xs);
        expect(w, spec.weightShape(), "weight");
        if (bias != null) {
            expect(bias, Shape.of(spec.outChannels()), "bias");
        }
        Shape ys = spec.outputShape(xs);
        expect(y, ys, "output");
        long selAddr = 0;
        long xSelAddr = 0;
        int nsel = 0;
        if (sel != null) {
            checkSelection(sel, spec.inChannels());
            expect(xSel, Shape.of(xs.dim(0), sel.size(), xs.dim(2), xs.dim(3)), "gathered input");
            selAddr = selection(sel);
            xSelAddr = f32(xSel, "gathered input");
            nsel = sel.size();
        }
        long xa = f32(x, "input");
        long wa = f32(w, "weight");
        long ba = bias == null ? 0 : f32(bias, "bias");
        long ya = f32(y, "output");
        live();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment shape = convShape(arena, spec, xs.dim(0), xs.dim(2), xs.dim(3), ys.dim(2), ys.dim(3));
            NativeCalls.conv2dForward(shape, xa, wa, ba, act.code(), selAddr, nsel, xSelAddr, ya, streamHandle);
        }
    }

    @Override
    public void conv2dDwSparse(Tensor xSel, Tensor dy, ChannelIndex sel, Conv2dSpec spec, Tensor dwSel) {
        need(spec, "conv spec");
        need(xSel, "gathered input");
        need(sel, "channel selection");
        checkSelection(sel, spec.inChannels());
        Shape xs = xSel.shape();
        if (xs.rank() != 4 || xs.dim(1) != sel.size()) {
            throw new IllegalArgumentException("gathered input must be [B, " + sel.size() + ", H, W], got " + xs);
        }
        int batch = xs.dim(0);
        int ho = spec.outSize(xs.dim(2));
        int wo = spec.outSize(xs.dim(3));
        expect(dy, Shape.of(batch, spec.outChannels(), ho, wo), "output gradient");
        expect(dwSel, spec.sparseWeightGradShape(sel.size()), "sparse weight gradient");
        long xa = f32(xSel, "gathered input");
        long dya = f32(dy, "output gradient");
        long dwa = f32(dwSel, "sparse weight gradient");
        long sa = selection(sel);
        live();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment shape = convShape(arena, spec, batch, xs.dim(2), xs.dim(3), ho, wo);
            long need = NativeCalls.conv2dDwSparseWorkspace(shape, sel.size(), arena.allocate(ValueLayout.JAVA_LONG));
            long ws = workspace(need);
            NativeCalls.conv2dDwSparse(shape, xa, dya, sa, sel.size(), dwa, ws, need <= 0 ? 0 : workspaceBytes,
                    streamHandle);
        }
    }

    @Override
    public void conv2dDx(Tensor dy, Tensor w, Conv2dSpec spec, Tensor dx) {
        need(spec, "conv spec");
        need(dx, "input gradient");
        Shape dxs = dx.shape();
        spec.checkInput(dxs);
        expect(w, spec.weightShape(), "weight");
        Shape ys = spec.outputShape(dxs);
        expect(dy, ys, "output gradient");
        long dya = f32(dy, "output gradient");
        long wa = f32(w, "weight");
        long dxa = f32(dx, "input gradient");
        live();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment shape = convShape(arena, spec, dxs.dim(0), dxs.dim(2), dxs.dim(3), ys.dim(2), ys.dim(3));
            NativeCalls.conv2dDx(shape, dya, wa, dxa, streamHandle);
        }
    }

    private static MemorySegment convShape(Arena arena, Conv2dSpec spec, int batch, int h, int w, int ho, int wo) {
        MemorySegment s = arena.allocate(NativeCalls.CONV_SHAPE);
        int[] v = {batch, spec.inChannels(), h, w, spec.outChannels(), ho, wo, spec.kernel(), spec.stride(),
                spec.padding(), spec.dilation(), spec.groups()};
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(ValueLayout.JAVA_INT, i, v[i]);
        }
        return s;
    }

    // ---------------------------------------------------------------- linear

    @Override
    public void linear(Tensor x, Tensor w, Tensor bias, Tensor y) {
        need(x, "linear input");
        need(w, "linear weight");
        if (w.shape().rank() != 2) {
            throw new IllegalArgumentException("linear weight must be [O, F], got " + w.shape());
        }
        int batch = x.shape().dim(0);
        int o = w.shape().dim(0);
        int fin = w.shape().dim(1);
        if (features(x, batch, "linear input") != fin) {
            throw new IllegalArgumentException("linear input " + x.shape() + " does not match weight " + w.shape());
        }
        expect(y, Shape.of(batch, o), "linear output");
        if (bias != null) {
            expect(bias, Shape.of(o), "linear bias");
        }
        long xa = f32(x, "linear input");
        long wa = f32(w, "linear weight");
        long ba = bias == null ? 0 : f32(bias, "linear bias");
        long ya = f32(y, "linear output");
        live();
        NativeCalls.linearForward(batch, fin, o, xa, wa, ba, ya, streamHandle);
    }

    @Override
    public void linearDx(Tensor dy, Tensor w, Tensor dx) {
        need(dy, "linear output gradient");
        need(w, "linear weight");
        need(dx, "linear input gradient");
        if (w.shape().rank() != 2) {
            throw new IllegalArgumentException("linear weight must be [O, F], got " + w.shape());
        }
        int batch = dy.shape().dim(0);
        int o = w.shape().dim(0);
        int fin = w.shape().dim(1);
        expect(dy, Shape.of(batch, o), "linear output gradient");
        if (features(dx, batch, "linear input gradient") != fin) {
            throw new IllegalArgumentException("linear input gradient " + dx.shape() + " does not match weight " + w.shape());
        }
        long dya = f32(dy, "linear output gradient");
        long wa = f32(w, "linear weight");
        long dxa = f32(dx, "linear input gradient");
        live();
        NativeCalls.linearDx(batch, fin, o, dya, wa, dxa, streamHandle);
    }

    @Override
    public void linearDwSparse(Tensor xSel, Tensor dy, ChannelIndex sel, Tensor dwSel) {
        need(xSel, "gathered linear input");
        need(dy, "linear output gradient");
        need(sel, "channel selection");
        if (dy.shape().rank() != 2) {
            throw new IllegalArgumentException("linear output gradient must be [B, O], got " + dy.shape());
        }
        int batch = dy.shape().dim(0);
        int o = dy.shape().dim(1);
        int ns = sel.size();
        if (features(xSel, batch, "gathered linear input") != ns) {
            throw new IllegalArgumentException("gathered linear input must have " + ns + " features, got " + xSel.shape());
        }
        expect(dwSel, Shape.of(o, ns), "sparse linear weight gradient");
        long xa = f32(xSel, "gathered linear input");
        long dya = f32(dy, "linear output gradient");
        long dwa = f32(dwSel, "sparse linear weight gradient");
        live();
        NativeCalls.linearDwSparse(batch, ns, o, xa, dya, dwa, streamHandle);
    }

    @Override
    public void biasGrad(Tensor dy, Tensor db) {
        need(dy, "dy");
        Shape s = dy.shape();
        if (s.rank() != 2 && s.rank() != 4) {
            throw new IllegalArgumentException("bias gradient needs dy [B, C] or [B, C, H, W], got " + s);
        }
        int batch = s.dim(0);
        int c = s.dim(1);
        int plane = s.numel() / (batch * c);
        expect(db, Shape.of(c), "bias gradient");
        long dya = f32(dy, "dy");
        long dba = f32(db, "db");
        live();
        NativeCalls.biasGrad(batch, c, plane, dya, dba, streamHandle);
    }

    // ---------------------------------------------------------------- element-wise, pooling, loss

    @Override
    public void gatherChannels(Tensor x, ChannelIndex sel, Tensor xSel) {
        need(x, "x");
        need(sel, "channel selection");
        Shape s = x.shape();
        if (s.rank() != 2 && s.rank() != 4) {
            throw new IllegalArgumentException("gather needs [B, C] or [B, C, H, W], got " + s);
        }
        int batch = s.dim(0);
        int c = s.dim(1);
        int plane = s.numel() / (batch * c);
        checkSelection(sel, c);
        int[] dims = s.dims();
        dims[1] = sel.size();
        expect(xSel, Shape.of(dims), "gathered input");
        long xa = f32(x, "x");
        long xsa = f32(xSel, "xSel");
        long sa = selection(sel);
        live();
        NativeCalls.gatherChannels(batch, c, plane, xa, sa, sel.size(), xsa, streamHandle);
    }

    @Override
    public void activation(Activation act, Tensor x, Tensor y) {
        need(act, "activation");
        sameShape(x, y, "activation");
        long xa = f32(x, "x");
        long ya = f32(y, "y");
        live();
        NativeCalls.activation(act.code(), x.numel(), xa, ya, streamHandle);
    }

    @Override
    public void activationBackward(Activation act, Tensor y, Tensor dy, Tensor dx) {
        need(act, "activation");
        sameShape(y, dy, "activation backward");
        sameShape(dy, dx, "activation backward");
        long ya = f32(y, "y");
        long dya = f32(dy, "dy");
        long dxa = f32(dx, "dx");
        live();
        NativeCalls.activationBackward(act.code(), y.numel(), ya, dya, dxa, streamHandle);
    }

    @Override
    public void activationMask(Activation act, Tensor y, Tensor mask) {
        need(act, "activation");
        Checks.activationMask(mask, y, "activation mask");
        long ya = f32(y, "y");
        long ma = i32(mask, "mask");
        live();
        NativeCalls.activationMask(act.code(), y.numel(), ya, ma, streamHandle);
    }

    @Override
    public void activationBackwardMasked(Tensor mask, Tensor dy, Tensor dx) {
        Checks.activationMask(mask, dy, "masked activation backward");
        sameShape(dy, dx, "masked activation backward");
        long ma = i32(mask, "mask");
        long dya = f32(dy, "dy");
        long dxa = f32(dx, "dx");
        live();
        NativeCalls.activationBackwardMasked(dy.numel(), ma, dya, dxa, streamHandle);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        sameShape(a, b, "add");
        sameShape(a, out, "add");
        long aa = f32(a, "a");
        long ba = f32(b, "b");
        long oa = f32(out, "out");
        live();
        NativeCalls.add(a.numel(), aa, ba, oa, streamHandle);
    }

    @Override
    public void globalAvgPool(Tensor x, Tensor y) {
        need(x, "x");
        Shape s = x.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("global average pooling needs [B, C, H, W], got " + s);
        }
        expect(y, Shape.of(s.dim(0), s.dim(1)), "pooled output");
        long xa = f32(x, "x");
        long ya = f32(y, "y");
        live();
        NativeCalls.globalAvgPool(s.dim(0) * s.dim(1), s.dim(2) * s.dim(3), xa, ya, streamHandle);
    }

    @Override
    public void globalAvgPoolBackward(Tensor dy, Tensor dx) {
        need(dx, "dx");
        Shape s = dx.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("global average pooling gradient needs dx [B, C, H, W], got " + s);
        }
        expect(dy, Shape.of(s.dim(0), s.dim(1)), "pooled gradient");
        long dya = f32(dy, "dy");
        long dxa = f32(dx, "dx");
        live();
        NativeCalls.globalAvgPoolBackward(s.dim(0) * s.dim(1), s.dim(2) * s.dim(3), dya, dxa, streamHandle);
    }

    @Override
    public void maxPool2d(Tensor x, int kernel, int stride, int padding, Tensor y, Tensor argmax) {
        need(x, "x");
        Shape s = x.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("max pooling needs [B, C, H, W], got " + s);
        }
        if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel) {
            throw new IllegalArgumentException("max pooling needs kernel >= 1, stride >= 1 and 0 <= padding <= kernel/2; got "
                    + kernel + ", " + stride + ", " + padding);
        }
        Conv2dSpec geometry = new Conv2dSpec(1, 1, kernel, stride, padding, 1, 1);
        int h = s.dim(2);
        int w = s.dim(3);
        int ho = geometry.outSize(h);
        int wo = geometry.outSize(w);
        Shape ys = Shape.of(s.dim(0), s.dim(1), ho, wo);
        expect(y, ys, "pooled output");
        expect(argmax, ys, "pooling arg-max");
        long xa = f32(x, "x");
        long ya = f32(y, "y");
        long aa = i32(argmax, "argmax");
        live();
        NativeCalls.maxPool2d(s.dim(0) * s.dim(1), h, w, kernel, stride, padding, ho, wo, xa, ya, aa, streamHandle);
    }

    @Override
    public void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        need(dy, "dy");
        need(dx, "dx");
        Shape ds = dy.shape();
        Shape xs = dx.shape();
        expect(argmax, ds, "pooling arg-max");
        if (xs.rank() != 4 || ds.rank() != 4 || xs.dim(0) != ds.dim(0) || xs.dim(1) != ds.dim(1)) {
            throw new IllegalArgumentException("max pooling gradient shapes do not match: dy " + ds + ", dx " + xs);
        }
        long dya = f32(dy, "dy");
        long aa = i32(argmax, "argmax");
        long dxa = f32(dx, "dx");
        live();
        NativeCalls.maxPool2dBackward(xs.dim(0) * xs.dim(1), xs.dim(2) * xs.dim(3), ds.dim(2) * ds.dim(3), dya, aa,
                dxa, streamHandle);
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor stats, Tensor dLogits) {
        need(logits, "logits");
        Shape s = logits.shape();
        if (s.rank() != 2) {
            throw new IllegalArgumentException("logits must be [B, K], got " + s);
        }
        int batch = s.dim(0);
        int k = s.dim(1);
        expect(labels, Shape.of(batch), "labels");
        expect(stats, Shape.of(2), "loss statistics");
        if (dLogits != null) {
            expect(dLogits, s, "logit gradient");
        }
        long za = f32(logits, "logits");
        long la = i32(labels, "labels");
        long sa = f32(stats, "stats");
        long ga = dLogits == null ? 0 : f32(dLogits, "dLogits");
        live();
        NativeCalls.softmaxCrossEntropy(batch, k, za, la, sa, ga, streamHandle);
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void sgdUpdate(Tensor param, Tensor grad, Tensor momentum, SgdStep step) {
        need(step, "sgd step");
        sameShape(param, grad, "sgd update");
        long m = 0;
        if (step.usesMomentum()) {
            if (momentum == null) {
                throw new IllegalArgumentException("sgd with momentum needs a momentum buffer");
            }
            sameShape(param, momentum, "sgd momentum");
            m = f32(momentum, "momentum");
        }
        long p = f32(param, "param");
        long g = f32(grad, "grad");
        live();
        NativeCalls.sgdUpdate(param.numel(), p, g, m, step.learningRate(), step.momentum(), step.weightDecay(),
                streamHandle);
    }

    @Override
    public void sgdUpdateSparse(Tensor w, Tensor dwSel, ChannelIndex sel, int groups, Tensor momentum, SgdStep step) {
        need(w, "weight");
        need(dwSel, "sparse gradient");
        need(sel, "channel selection");
        need(step, "sgd step");
        Shape ws = w.shape();
        if (ws.rank() != 2 && ws.rank() != 4) {
            throw new IllegalArgumentException("sparse sgd needs a weight [C', C/g, D, D] or [O, F], got " + ws);
        }
        if (groups < 1 || ws.dim(0) % groups != 0) {
            throw new IllegalArgumentException("groups " + groups + " does not divide the " + ws.dim(0) + " output channels");
        }
        int cout = ws.dim(0);
        int cg = ws.dim(1);
        int mg = cout / groups;
        int d2 = ws.numel() / (cout * cg);
        int ns = sel.size();
        checkSelection(sel, cg * groups);
        if (dwSel.numel() != mg * ns * d2) {
            throw new IllegalArgumentException("sparse gradient " + dwSel.shape() + " does not match weight " + ws
                    + " with " + ns + " selected channels");
        }
        long m = 0;
        if (step.usesMomentum()) {
            if (momentum == null) {
                throw new IllegalArgumentException("sgd with momentum needs a momentum buffer");
            }
            sameShape(dwSel, momentum, "sgd momentum");
            m = f32(momentum, "momentum");
        }
        long wa = f32(w, "weight");
        long ga = f32(dwSel, "sparse gradient");
        long sa = selection(sel);
        live();
        NativeCalls.sgdUpdateSparse(cout, cg, d2, groups, sa, ns, wa, ga, m, step.learningRate(), step.momentum(),
                step.weightDecay(), streamHandle);
    }

    // ---------------------------------------------------------------- helpers

    private static void requireLength(int length, Shape shape) {
        if (length != shape.numel()) {
            throw new IllegalArgumentException("array of " + length + " elements does not fit shape " + shape);
        }
    }

    private long dev(Tensor t, String name) {
        if (!(t instanceof CudaTensor c) || c.owner() != this) {
            throw new IllegalArgumentException(name + " is not a tensor of this CUDA backend: " + t);
        }
        return c.address(name);
    }

    private long f32(Tensor t, String name) {
        long a = dev(t, name);
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("expected a float32 tensor for " + name + ", got " + t.dtype() + t.shape());
        }
        return a;
    }

    private long i32(Tensor t, String name) {
        long a = dev(t, name);
        if (t.dtype() != DType.I32) {
            throw new IllegalArgumentException("expected an int32 tensor for " + name + ", got " + t.dtype() + t.shape());
        }
        return a;
    }

    private long selection(ChannelIndex sel) {
        Tensor t = sel.tensor();
        if (!(t instanceof CudaTensor)) {
            throw new IllegalArgumentException("the channel selection was created by another backend; create it with "
                    + "this backend's channelIndex(...)");
        }
        return i32(t, "channel selection");
    }
}
