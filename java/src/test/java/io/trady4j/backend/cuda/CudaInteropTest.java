package io.trady4j.backend.cuda;

import io.trady4j.backend.Activation;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.runtime.cudaStream_t;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A trainer that owns its CUDA memory and stream: wrapped device pointers as inputs and outputs of
 * the masked forward and sparse weight gradient, a backend on the caller's stream that never
 * destroys it, and the raw handles behind JCuda's objects. GPU (or emulated library) tests are
 * skipped where no CUDA backend opens; the JCuda handle tests run everywhere.
 */
class CudaInteropTest {

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** A view of the device memory of {@code owner}, as a trainer would wrap its own cudaMalloc'd pointer. */
    private static Tensor view(CudaBackend g, Tensor owner) {
        MemorySegment p = MemorySegment.ofAddress(g.devicePointer(owner)).reinterpret(owner.byteSize());
        return g.wrap(p, owner.shape(), owner.dtype());
    }

    @Test
    void wrapped_device_pointers_are_inputs_and_outputs_without_a_copy() {
        CudaBackend g = CudaTestSupport.gpu();
        Conv2dSpec spec = new Conv2dSpec(6, 4, 3, 2, 1, 1, 1);
        Shape xs = Shape.of(3, 6, 7, 7);
        Shape ys = spec.outputShape(xs);
        int[] sel = {0, 2, 5};
        Shape xSelShape = Shape.of(3, sel.length, 7, 7);
        Shape dwShape = spec.sparseWeightGradShape(sel.length);
        float[] w = random(4 * 6 * 9, 2), dy = random(ys.numel(), 3);
        try (Tensor xOwn = g.upload(random(xs.numel(), 1), xs, MemoryCategory.DATA);
             Tensor wOwn = g.upload(w, Shape.of(4, 6, 3, 3), MemoryCategory.PARAMETER);
             Tensor yOwn = g.allocate(ys, MemoryCategory.WORKSPACE);
             Tensor xSelOwn = g.allocate(xSelShape, MemoryCategory.ACTIVATION_CACHE);
             Tensor dyOwn = g.upload(dy, ys, MemoryCategory.GRADIENT_PATH);
             Tensor dwOwn = g.allocate(dwShape, MemoryCategory.WEIGHT_GRADIENT);
             Tensor x = view(g, xOwn); Tensor wt = view(g, wOwn); Tensor y = view(g, yOwn);
             Tensor xSel = view(g, xSelOwn); Tensor dyt = view(g, dyOwn); Tensor dw = view(g, dwOwn);
             Tensor yRef = g.allocate(ys, MemoryCategory.WORKSPACE);
             Tensor xSelRef = g.allocate(xSelShape, MemoryCategory.ACTIVATION_CACHE);
             Tensor dwRef = g.allocate(dwShape, MemoryCategory.WEIGHT_GRADIENT);
             ChannelIndex s = g.channelIndex(sel, 6)) {
            assertTrue(x.isWrapped());
            // New input written into the memory after wrapping (through its owner): the view must see it.
            float[] input = random(xs.numel(), 4);
            try (Tensor fresh = g.upload(input, xs, MemoryCategory.DATA)) {
                g.copy(fresh, xOwn);
            }
            long metered = g.memory().liveBytes();
            g.conv2dGather(x, wt, null, spec, Activation.RELU6, s, y, xSel);
            g.conv2dDwSparse(xSel, dyt, s, spec, dw);
            g.conv2dGather(xOwn, wOwn, null, spec, Activation.RELU6, s, yRef, xSelRef);
            g.conv2dDwSparse(xSelRef, dyOwn, s, spec, dwRef);
            assertArrayEquals(g.toFloatArray(yRef), g.toFloatArray(yOwn), "forward output in the caller's memory");
            assertArrayEquals(g.toFloatArray(xSelRef), g.toFloatArray(xSelOwn), "x[:, S] in the caller's memory");
            assertArrayEquals(g.toFloatArray(dwRef), g.toFloatArray(dwOwn), "dW[:, S] in the caller's memory");
            assertEquals(input[5 * 49], g.toFloatArray(xSelOwn)[2 * 49], "xSel[0, 2] is channel 5 of sample 0, as written");
            assertEquals(metered, g.memory().liveBytes(), "wrapped memory is not metered");
            dw.close();
            assertArrayEquals(g.toFloatArray(dwRef), g.toFloatArray(dwOwn), "closing a view frees nothing");
        }
    }

    @Test
    void on_the_emulator_a_write_through_the_segment_reaches_the_kernel() {
        assumeTrue(CudaTestSupport.emulated(), "only the emulated library's device memory is host memory");
        CudaBackend g = CudaTestSupport.gpu();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(4 * Float.BYTES, 16);
            try (Tensor t = g.wrap(mem, Shape.of(4), DType.F32)) {
                mem.copyFrom(MemorySegment.ofArray(new float[] {1, -2, 3, -4}));
                g.activation(Activation.RELU, t, t);
                g.synchronize();
                assertArrayEquals(new float[] {1, 0, 3, 0}, mem.toArray(ValueLayout.JAVA_FLOAT));
            }
        }
    }

    @Test
    void unfit_segments_are_refused_with_one_clear_sentence() {
        CudaBackend g = CudaTestSupport.gpu();
        refused("wraps device memory, got a heap segment over a float[]",
                () -> g.wrap(MemorySegment.ofArray(new float[4]), Shape.of(4), DType.F32));
        refused("the null device address", () -> g.wrap(MemorySegment.NULL.reinterpret(16), Shape.of(4), DType.F32));
        refused("does not hold F32[4] (16 bytes)",
                () -> g.wrap(MemorySegment.ofAddress(4096).reinterpret(12), Shape.of(4), DType.F32));
        refused("is not aligned to the 4 bytes",
                () -> g.wrap(MemorySegment.ofAddress(4098).reinterpret(16), Shape.of(4), DType.F32));
    }

    /** Records destroyStream calls of the library's own runtime. */
    private static final class RecordingRuntime implements DeviceRuntime {
        final NativeRuntime inner;
        final AtomicInteger destroyed = new AtomicInteger();

        RecordingRuntime(NativeRuntime inner) {
            this.inner = inner;
        }

        @Override public void bindThread(int device) { inner.bindThread(device); }
        @Override public long malloc(long bytes, String what) { return inner.malloc(bytes, what); }
        @Override public void free(long address) { inner.free(address); }
        @Override public long createStream() { return inner.createStream(); }
        @Override public void destroyStream(long stream) { destroyed.incrementAndGet(); inner.destroyStream(stream); }
        @Override public void synchronize(long stream) { inner.synchronize(stream); }
        @Override public long[] memoryInfo() { return inner.memoryInfo(); }
        @Override public float elapsedMillis(long stream, Runnable work) { return inner.elapsedMillis(stream, work); }
        @Override public String describe() { return inner.describe(); }
    }

    @Test
    void a_backend_on_the_callers_stream_queues_there_and_leaves_the_stream_alive() {
        CudaBackend shared = CudaTestSupport.gpu();
        NativeRuntime nativeRuntime = new NativeRuntime("test");
        long stream = nativeRuntime.createStream();
        try {
            try (CudaBackend b = CudaBackend.onStream(shared.deviceIndex(), stream);
                 Tensor t = b.upload(new float[] {-1, 2}, Shape.of(2), MemoryCategory.DATA)) {
                assertEquals(stream, b.stream());
                b.activation(Activation.RELU, t, t);
                assertArrayEquals(new float[] {0, 2}, b.toFloatArray(t));
            }
            RecordingRuntime recording = new RecordingRuntime(nativeRuntime);
            DeviceInfo info = NativeRuntime.probe(shared.deviceIndex());
            try (CudaBackend b = new CudaBackend(info, recording, stream)) {
                assertEquals(stream, b.stream());
            }
            assertEquals(0, recording.destroyed.get(), "close never destroys the caller's stream");
            try (CudaBackend own = new CudaBackend(info, recording)) {
                assertTrue(own.stream() != stream);
            }
            assertEquals(1, recording.destroyed.get(), "a backend's own stream is destroyed at close");
            NativeCalls.STREAM_SYNCHRONIZE.call(stream);  // still a valid stream
        } finally {
            nativeRuntime.destroyStream(stream);
        }
    }

    @Test
    void jcuda_objects_give_their_raw_handles() {
        assertEquals(0, JCudaInterop.handle((cudaStream_t) null));
        assertEquals(0, JCudaInterop.handle((CUstream) null));
        assertEquals(0, JCudaInterop.handle(new cudaStream_t()));
        assertEquals(0, JCudaInterop.address(new CUdeviceptr()));
        assertEquals(256, JCudaInterop.address(new CUdeviceptr().withByteOffset(256)), "byte offset included");
        assertEquals(512, JCudaInterop.address(new CUdeviceptr().withByteOffset(256).withByteOffset(256)));
    }

    private static void refused(String part, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), () -> "expected '" + part + "' in: " + e.getMessage());
    }
}
