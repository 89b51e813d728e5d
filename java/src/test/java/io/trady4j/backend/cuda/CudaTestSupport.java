package io.trady4j.backend.cuda;

import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;

import static org.junit.jupiter.api.Assertions.fail;

/** Opens one CUDA backend for all GPU tests, or says why not (the tests then report as skipped). */
final class CudaTestSupport {
    private static CudaBackend gpu;
    private static String unavailable;
    private static boolean tried;

    private CudaTestSupport() {
    }

    /**
     * Whether this run uses the CPU emulator build of libtrady4j_cuda.so ({@code make -C kernels/dev emu-lib}):
     * {@code -Dtrady4j.cuda.emulator=true} with {@code -Dtrady4j.native.path=native/build-emu}. The backend then
     * runs on the library's own runtime ({@link NativeRuntime}), whose emulated device memory is host memory and
     * whose launches complete before they return.
     */
    static boolean emulated() {
        return Boolean.getBoolean("trady4j.cuda.emulator");
    }

    static synchronized CudaBackend gpuOrNull() {
        if (!tried) {
            tried = true;
            try {
                if (emulated()) {
                    System.setProperty(CudaBackend.RUNTIME_PROPERTY, "native");
                }
                gpu = CudaBackend.open();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        gpu.close();
                    } catch (RuntimeException ignored) {
                        // the process is ending
                    }
                }));
            } catch (BackendUnavailableException e) {
                unavailable = e.getMessage();
            }
        }
        return gpu;
    }

    static String unavailableReason() {
        gpuOrNull();
        return unavailable;
    }

    /** The shared backend, or skips the calling test (JUnit "skipped", with the reason). */
    static CudaBackend gpu() {
        CudaBackend b = gpuOrNull();
        Assumptions.assumeTrue(b != null, () -> "no CUDA device here: " + unavailable);
        return b;
    }

    /** ‖g − c‖ / ‖c‖ of two tensors holding the same function, one per backend; fails on a non-finite output. */
    static double relError(Backend cpu, Tensor c, Backend g, Tensor gt, String what) {
        float[] a = cpu.toFloatArray(c);
        float[] b = g.toFloatArray(gt);
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(b[i]) && Float.isFinite(a[i])) {
                fail(what + ": element " + i + " of " + a.length + " is " + b[i] + " (the CPU has " + a[i]
                        + "): not written or not finite");
            }
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) a[i] * a[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
