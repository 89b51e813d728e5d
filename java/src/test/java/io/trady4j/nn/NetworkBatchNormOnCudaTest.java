package io.trady4j.nn;

import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.SgdStep;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two pretraining steps of a network that trains BatchNorm on the CUDA backend against the CPU backend: loss,
 * conv and γ/β gradients, the running averages and the inference logits after the updates. Skipped without a
 * CUDA device (runs on the emulated library with -Dtrady4j.cuda.emulator=true, see kernels/dev/README.md).
 */
class NetworkBatchNormOnCudaTest {
    private static final Architecture ARCH = NetworkBatchNormTest.ARCH;
    private static final double TOL = 1e-4;

    private static CudaBackend cuda() {
        if (Boolean.getBoolean("trady4j.cuda.emulator")) {
            System.setProperty(CudaBackend.RUNTIME_PROPERTY, "native");
        }
        try {
            return CudaBackend.open();
        } catch (BackendUnavailableException e) {
            assumeTrue(false, "no CUDA device here: " + e.getMessage());
            throw e;
        }
    }

    @Test
    void trainingStepsMatchTheCpu() {
        Map<String, float[]> params = NetworkTest.randomParameters(ARCH, 21);
        Map<String, float[]> bn = NetworkBatchNormTest.randomBatchNorm(22);
        Random r = new Random(23);
        int batch = 6;
        float[] x = new float[batch * 3 * 12 * 12];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        int[] labels = {0, 1, 2, 3, 1, 2};
        Map<Integer, int[]> all = new TreeMap<>();
        for (int l = 0; l < ARCH.convLayers().size(); l++) {
            all.put(l, IntStream.range(0, ARCH.convLayers().get(l).conv().inChannels()).toArray());
        }
        SgdStep step = new SgdStep(0.1f, 0f, 0f);
        try (CudaBackend gpu = cuda(); CpuBackend cpu = new CpuBackend(1)) {
            List<Backend> backends = List.of(cpu, gpu);
            List<Map<String, float[]>> seen = List.of(new HashMap<>(), new HashMap<>());
            for (int b = 0; b < 2; b++) {
                Backend be = backends.get(b);
                Map<String, float[]> out = seen.get(b);
                try (Network net = Network.createWithBatchNorm(be, ARCH, params, bn);
                     Selection sel = Selection.of(be, ARCH, all);
                     Tensor xt = be.upload(x, Shape.of(batch, 3, 12, 12), MemoryCategory.DATA);
                     Tensor yt = be.uploadInts(labels, Shape.of(batch), MemoryCategory.DATA)) {
                    for (int it = 0; it < 2; it++) {
                        try (Gradients g = net.forwardBackward(xt, yt, sel)) {
                            out.put("loss " + it, be.toFloatArray(g.stats()));
                            out.put("stem dW " + it, be.toFloatArray(g.layer(0)));
                            out.put("stem dgamma " + it, be.toFloatArray(g.batchNormGamma(0)));
                            out.put("last dbeta " + it, be.toFloatArray(g.batchNormBeta(ARCH.convLayers().size() - 1)));
                            net.applySgd(g, sel, step, step, null);
                        }
                    }
                    net.batchNormState().forEach((k, v) -> out.put(k, v));
                    try (Tensor logits = net.logits(xt)) {
                        out.put("logits", be.toFloatArray(logits));
                    }
                }
            }
            for (String key : seen.get(0).keySet()) {
                float[] want = seen.get(0).get(key), got = seen.get(1).get(key);
                double num = 0, den = 0;
                for (int i = 0; i < want.length; i++) {
                    num += (got[i] - (double) want[i]) * (got[i] - (double) want[i]);
                    den += (double) want[i] * want[i];
                }
                double rel = Math.sqrt(num / Math.max(den, 1e-30));
                assertTrue(rel <= TOL, key + ": CUDA vs CPU relative error " + rel);
            }
        }
    }
}
