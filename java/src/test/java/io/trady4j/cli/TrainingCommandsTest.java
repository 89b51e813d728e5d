package io.trady4j.cli;

import io.trady4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The training commands end to end on a tiny budget of real data, so the main job cannot rot. */
class TrainingCommandsTest {
    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {
    }

    private Result run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void assumeFashionMnist() {
        assumeTrue(Files.isDirectory(Path.of("/usr/share/datasets/fashion-mnist")), "Fashion-MNIST not installed");
    }

    @Test
    @SuppressWarnings("unchecked")
    void mainJobRunsEndToEndOnATinyBudget() throws Exception {
        assumeFashionMnist();
        String[] small = {"--backend", "cpu", "--work-dir", dir.toString(), "--resolution", "16", "--epochs", "2",
                "--batch-size", "16", "--train-per-class", "8", "--test-per-class", "4", "--pretrain-epochs", "1",
                "--pretrain-per-class", "8", "--rank-epochs", "1", "--rank-batches", "2", "--budget", "3000"};
        Result r = run(concat(new String[]{"finetune"}, small));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("strategy") && r.out().contains("trady") && r.out().contains("classifier")
                && r.out().contains("full"), r.out());
        Path folder = dir.resolve("finetune/mbv2-w0.35_r16_fmnist-5-9_trady_b3000_seed0");
        Path report = folder.resolve("trady.json");
        for (String file : List.of("classifier.json", "full.json", "curves.svg", "curves.png", "selection_trady.svg",
                "selection_trady.png")) {
            assertTrue(Files.size(folder.resolve(file)) > 0, file);
        }
        // classifier trains no conv channel and full trains every one: no selection map shows anything for them
        assertFalse(Files.exists(folder.resolve("selection_full.png")));
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(report));
        List<Map<String, Object>> epochs = (List<Map<String, Object>>) json.get("epochs");
        assertEquals(2, epochs.size());
        for (Map<String, Object> e : epochs) {
            long units = ((Number) e.get("selected_units")).longValue();
            assertTrue(units > 0 && units <= 3000, "units " + units);
            Map<String, Object> bytes = (Map<String, Object>) e.get("measured_peak_bytes");
            assertTrue(((Number) bytes.get("activation_cache")).longValue() > 0);
        }
        Map<String, Object> base = (Map<String, Object>) json.get("base_model");
        assertEquals("fmnist:0-4", base.get("pretrained_on"));
        double baseTop1 = ((Number) base.get("source_test_top1")).doubleValue();
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "%.2f%%", 100 * baseTop1)),
                "the report's base accuracy is the one pretraining printed: " + baseTop1 + "\n" + r.out());
        assertTrue(Files.exists(dir.resolve("rankings/mbv2-w0.35_r16.json")));
        assertTrue(Files.exists(dir.resolve("base/mbv2-w0.35_r16_fmnist-0-4.safetensors")));

        // a second run reuses the cached base model and ranking, and resumes a finished checkpoint without training
        Result again = run(concat(new String[]{"finetune", "--strategy", "trady", "--resume"}, small));
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("(cached"), again.out());
        assertTrue(again.out().contains("resuming from"), again.out());
    }

    @Test
    void badInputGetsOneLineAndStatusTwo() {
        for (String[] argv : List.of(
                new String[]{"finetune", "--strategy", "nope"},
                new String[]{"finetune", "--model", "alexnet"},
                new String[]{"finetune", "--budget", "0"},
                new String[]{"finetune", "--backend", "tpu"},
                new String[]{"finetune", "--epochs", "x"},
                new String[]{"finetune", "--frobnicate", "1"},
                new String[]{"finetune", "--task", "cifar10:/nonexistent"},
                new String[]{"pretrain", "--resolution", "2"},
                new String[]{"rank", "--work-dir", "/nonexistent/dir"})) {
            Result r = run(argv);
            assertEquals(2, r.status(), String.join(" ", argv) + " -> " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(!r.err().contains("\tat "), r.err());
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] c = new String[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
