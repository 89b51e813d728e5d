package io.trady4j.nn;

import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.io.SafeTensors;
import io.trady4j.models.ModelZoo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Loads state dicts exported from PyTorch (torchvision models, and a re-implementation of MIT's
 * ProxylessNASNets module tree with its parameter names) with randomised BatchNorm statistics, folds BN,
 * and checks the eval-mode logits of {@link Network#logits} on the CPU backend against PyTorch's.
 *
 * <p>mobilenet_v2 (width 0.35) and proxyless-w0.3 (F16) are committed under test resources; the others are
 * generated here with scripts/gen_torchvision_checkpoint.py when /usr/bin/python3 has torch (else skipped).
 */
class TorchCheckpointTest {
    private static CpuBackend backend;

    @TempDir
    static Path generated;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @Test
    void torchvisionMobileNetV2() throws Exception {
        check(committed("mobilenet_v2-w0.35"), ModelZoo.build("mobilenet_v2", 10, 0.35));
    }

    @Test
    void mitProxylessWithZeroBlocksHalfPrecision() throws Exception {
        check(committed("proxyless-w0.3"), ModelZoo.build("proxyless-w0.3", 10));
    }

    @Test
    void mitMobileNetV2TinyTraining() throws Exception {
        check(generate("mbv2-w0.35"), ModelZoo.build("mbv2-w0.35", 10));
    }

    @Test
    void mitMcunet() throws Exception {
        check(generate("mcunet-in1"), ModelZoo.build("mcunet-in1", 10));
    }

    @Test
    void torchvisionResNet18() throws Exception {
        check(generate("resnet18"), ModelZoo.build("resnet18", 10));
    }

    @Test
    void torchvisionResNet50() throws Exception {
        check(generate("resnet50", "--resolution", "32", "--batch", "1"), ModelZoo.build("resnet50", 10));
    }

    /** Loads NAME.safetensors into arch and compares the logits on NAME.expected.safetensors. */
    private static void check(Path stateDict, Architecture arch) throws IOException {
        SafeTensors st = SafeTensors.read(stateDict);
        HostWeights w = HostWeights.fromStateDict(arch, st);
        assertEquals(List.of(), w.notes());

        // Every key of the state dict is one the architecture names, and the other way round.
        Set<String> expected = new TreeSet<>();
        for (ConvLayerSpec c : arch.convLayers()) {
            expected.add(c.name() + ".weight");
            for (String s : new String[]{".weight", ".bias", ".running_mean", ".running_var", ".num_batches_tracked"}) {
                expected.add(c.batchNorm() + s);
            }
        }
        expected.add(arch.classifier().name() + ".weight");
        expected.add(arch.classifier().name() + ".bias");
        assertEquals(expected, new TreeSet<>(st.names()));

        Path exp = stateDict.resolveSibling(stateDict.getFileName().toString().replace(".safetensors", ".expected.safetensors"));
        SafeTensors io = SafeTensors.read(exp);
        int[] in = io.shape("input").dims();
        float[] want = io.floats("logits");
        float[] got;
        try (Network net = Network.create(backend, arch, w.parameters());
             Tensor x = backend.upload(io.floats("input"), Shape.of(in),
                     MemoryCategory.DATA);
             Tensor logits = net.logits(x)) {
            got = backend.toFloatArray(logits);
        }
        assertEquals(want.length, got.length);
        double maxAbs = 0, maxDiff = 0;
        for (int i = 0; i < want.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(want[i]));
            maxDiff = Math.max(maxDiff, Math.abs(want[i] - got[i]));
        }
        assertTrue(maxAbs > 1e-3, "degenerate expected logits");
        assertTrue(maxDiff <= 1e-4 * maxAbs, arch.name() + ": max |logit difference| " + maxDiff
                + " exceeds 1e-4 x max |logit| " + maxAbs);

        // Folding matters: the raw (unfolded) conv weights would give other logits.
        ConvLayerSpec first = arch.convLayers().getFirst();
        float[] raw = st.floats(first.name() + ".weight");
        float[] folded = w.convWeight(first.name());
        double d = 0;
        for (int i = 0; i < raw.length; i++) {
            d = Math.max(d, Math.abs(raw[i] - folded[i]));
        }
        assertTrue(d > 1e-3, "BN statistics were not randomised");
    }

    private static Path committed(String name) throws URISyntaxException {
        URL u = TorchCheckpointTest.class.getResource("checkpoints/" + name + ".safetensors");
        assertTrue(u != null, "missing test resource checkpoints/" + name + ".safetensors");
        return Path.of(u.toURI());
    }

    /** Runs the generator with /usr/bin/python3; skips the test if torch is not there. */
    private static Path generate(String model, String... extra) throws Exception {
        Path python = Path.of("/usr/bin/python3");
        assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
        Path script = findScript();
        assumeTrue(script != null, "scripts/gen_torchvision_checkpoint.py not found");
        Process probe = new ProcessBuilder(python.toString(), "-c", "import torch, torchvision, numpy")
                .redirectErrorStream(true).start();
        probe.getInputStream().readAllBytes();
        assumeTrue(probe.waitFor(120, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "torch/torchvision/numpy not importable by /usr/bin/python3");
        List<String> cmd = new ArrayList<>(List.of(python.toString(), script.toString(), model, generated.toString()));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "generator timed out");
        assertEquals(0, p.exitValue(), "generator failed: " + log);
        return generated.resolve(model + ".safetensors");
    }

    private static Path findScript() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path s = d.resolve("scripts/gen_torchvision_checkpoint.py");
            if (Files.isRegularFile(s)) {
                return s;
            }
        }
        return null;
    }
}
