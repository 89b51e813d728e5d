package io.trady4j.cli;

import io.trady4j.models.ModelZoo;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.trady.LayerRanking;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad command lines are refused before any work (no pretraining, ranking or training): one line on
 * stderr naming the problem, exit status 2, no stack trace.
 */
class BadInputTest {
    @TempDir
    static Path shared;
    @TempDir
    Path dir;
    static TinyJob job;

    @BeforeAll
    static void files() throws IOException {
        job = TinyJob.create(shared);
    }

    private record Result(int status, String out, String err) {
    }

    static Result run(List<String> argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The tiny job with {@code override} options replacing (or adding to) its own. */
    private List<String> tiny(String... override) {
        List<String> base = job.args(dir.resolve("work"), "trady");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < base.size(); i++) {
            String w = base.get(i);
            if (w.startsWith("--") && List.of(override).contains(w)) {
                i++;
                continue;
            }
            out.add(w);
        }
        out.addAll(List.of(override));
        return out;
    }

    private void refused(List<String> argv, String fragment) {
        Result r = run(argv);
        String where = String.join(" ", argv) + " -> " + r.err();
        assertEquals(2, r.status(), where);
        assertEquals(1, r.err().strip().lines().count(), where);
        assertTrue(r.err().contains(fragment), where);
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), where);
        assertFalse(r.out().contains("epoch ") || r.out().contains("pretraining") || r.out().contains("ranking "),
                "work was done before the refusal: " + r.out());
    }

    @Test
    void wordsAndOptionsNobodyReads() {
        refused(tiny("extra-word"), "unexpected argument 'extra-word'");
        refused(List.of("info", "extra"), "unexpected argument 'extra'");
        refused(tiny("--frobnicate", "1"), "unknown option --frobnicate");
        refused(tiny("--resume=yes"), "--resume is a flag");
    }

    @Test
    void numbersOutOfRange() {
        refused(tiny("--lr", "0"), "learning rate must be a finite number > 0");
        refused(tiny("--lr", "nan"), "--lr must be a finite number");
        refused(tiny("--momentum", "1"), "momentum must be in [0, 1)");
        refused(tiny("--warmup", "4"), "warm-up epochs must be in [0, epochs)");
        refused(tiny("--pretrain-per-class", "-3"), "--pretrain-per-class must be >= 0");
        refused(tiny("--rank-epochs", "0"), "--rank-epochs must be >= 1");
        refused(tiny("--rank-batches", "-1"), "--rank-batches must be >= 0");
        refused(tiny("--budget", "0"), "--budget must be >= 1");
        refused(tiny("--width", "0.5", "--model", "mcunet-in1"), "no width option");
    }

    @Test
    void oneEpochRunsWithTheDefaultWarmUp() {
        List<String> argv = new ArrayList<>(tiny("--epochs", "1"));
        int w = argv.indexOf("--warmup");
        argv.subList(w, w + 2).clear();
        Result ok = run(argv);
        assertEquals(0, ok.status(), ok.err());
        refused(tiny("--epochs", "1", "--warmup", "1"), "warm-up epochs must be in [0, epochs)");
    }

    @Test
    void anOptionMissingItsValueIsRefused() {
        refused(tiny("--budget"), "option --budget needs a value");
        refused(tiny("--lr", "--epochs", "1"), "option --lr needs a value");
        refused(tiny("--task"), "option --task needs a value");
    }

    @Test
    void aBudgetAboveFullFineTuningIsRefusedWithBothNumbers() {
        refused(tiny("--budget", "999999999999"), "the budget of 999999999999 units exceeds full fine-tuning of");
        refused(tiny("--budget", "999999999999"), "give --budget at most");
        Result ok = run(tiny("--budget", "999999999999", "--strategy", "full", "--epochs", "1", "--warmup", "0"));
        assertEquals(0, ok.status(), ok.err());
    }

    @Test
    void aBudgetBelowTheCheapestChannelIsRefusedBeforeAnyWork() {
        refused(tiny("--budget", "5"), "raise --budget to at least 10");
        refused(tiny("--budget", "5", "--strategy", "classifier", "--compare", "su"), "so su could train nothing");
        Result ok = run(tiny("--budget", "5", "--strategy", "classifier", "--epochs", "1", "--warmup", "0"));
        assertEquals(0, ok.status(), ok.err());
        assertTrue(ok.out().contains("WARNING: --budget does not apply to classifier"), ok.out());
        Result budgeted = run(tiny("--epochs", "1", "--warmup", "0"));
        assertEquals(0, budgeted.status(), budgeted.err());
        assertFalse(budgeted.out().contains("WARNING: --budget"), budgeted.out());
    }

    @Test
    void badFiles() throws IOException {
        Path notUtf8 = dir.resolve("bad.json");
        Files.write(notUtf8, new byte[]{'{', (byte) 0xff, '}'});
        refused(tiny("--ranking", notUtf8.toString()), "not UTF-8");
        Path empty = dir.resolve("empty.json");
        Files.writeString(empty, "{}");
        refused(tiny("--ranking", empty.toString()), "not a trady4j layer ranking");
        refused(tiny("--ranking", dir.resolve("missing.json").toString()), "missing.json: no such file");
        var mcunet = ModelZoo.build("mcunet-in1", 4);
        Path other = dir.resolve("mcunet.json");
        List<String> names = mcunet.convLayers().stream().map(ConvLayerSpec::name).toList();
        new LayerRanking(mcunet.name(), 16, "x", 1, names, new double[names.size()]).save(other);
        refused(tiny("--ranking", other.toString()), "rank this model first");
        refused(tiny("--weights", dir.toString()), "is a directory, not a safetensors file");
        refused(tiny("--weights", empty.toString()), "not a safetensors file");
        refused(tiny("--weights", dir.resolve("none.safetensors").toString()), "none.safetensors: no such file");
        Path file = dir.resolve("plain-file");
        Files.writeString(file, "x");
        refused(tiny("--work-dir", file.toString()), "is a file");
        refused(tiny("--work-dir", file.resolve("sub").toString()), "is a file");
        refused(List.of("pretrain", "--out", file.resolve("base.safetensors").toString(), "--work-dir", dir.toString()),
                "is a file");
        refused(List.of("pretrain", "--out", dir.toString(), "--work-dir", dir.toString()), "is a directory");
        refused(List.of("rank", "--weights", dir.resolve("none.safetensors").toString(), "--task", job.task(),
                "--model", TinyJob.MODEL, "--resolution", "16", "--work-dir", dir.toString()), "no such file");
        refused(tiny("--task", "mnist:" + dir.resolve("nothing-here") + ":0-3"), "MNIST");
    }

    @Test
    void resumingAnotherRunsCheckpointIsRefused() {
        List<String> first = tiny("--epochs", "1", "--warmup", "0", "--max-batches", "2");
        Result r = run(first);
        assertEquals(0, r.status(), r.err());
        List<String> other = tiny("--epochs", "1", "--warmup", "0", "--max-batches", "2", "--lr", "0.01", "--resume");
        Result again = run(other);
        assertEquals(2, again.status(), again.err());
        assertTrue(again.err().contains("belongs to another run (learning_rate 0.05 there, 0.01 here"), again.err());
        assertTrue(again.err().contains("delete it or run without --resume"), again.err());
    }
}
