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
    void anUnknownRankOnOrANumberlessLrIsRefused() {
        refused(tiny("--rank-on", "elsewhere"), "--rank-on must be source or target, got 'elsewhere'");
        refused(tiny("--lr", "fast"), "--lr must be");
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
        refused(tiny("--budget", "5", "--strategy", "classifier", "--compare", "su-rgn-fill"), "so su-rgn-fill could train nothing");
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

    /** A 4-class folder of 16×16 gray PNGs (class k bright in quadrant k), 6 per class. */
    private Path imageFolder() throws IOException {
        Path root = dir.resolve("images");
        java.util.Random r = new java.util.Random(5);
        for (int k = 0; k < 4; k++) {
            Files.createDirectories(root.resolve("c" + k));
            for (int i = 0; i < 6; i++) {
                java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(16, 16,
                        java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        int q = (y < 8 ? 0 : 2) + (x < 8 ? 0 : 1);
                        img.getRaster().setSample(x, y, 0, (q == k ? 200 : 40) + r.nextInt(30));
                    }
                }
                javax.imageio.ImageIO.write(img, "png", root.resolve("c" + k + "/" + i + ".png").toFile());
            }
        }
        return root;
    }

    @Test
    void aBadImageIsFoundBeforeAnyWorkOrSkippedWithAWarning() throws IOException {
        Path root = imageFolder();
        Path bad = root.resolve("c2/3.png");
        byte[] good = Files.readAllBytes(bad);
        Files.write(bad, java.util.Arrays.copyOf(good, good.length / 2));   // a truncated PNG
        String task = "folder:" + root;
        refused(tiny("--task", task), "3.png");
        refused(tiny("--task", task), "--skip-bad-images");
        Result ok = run(tiny("--task", task, "--skip-bad-images", "--epochs", "1", "--warmup", "0", "--train-per-class", "0",
                "--test-per-class", "0"));
        assertEquals(0, ok.status(), ok.err());
        List<String> warnings = ok.out().lines().filter(l -> l.startsWith("WARNING: skipping")).toList();
        assertEquals(1, warnings.size(), ok.out());
        assertTrue(warnings.getFirst().contains(bad.toString()), warnings.getFirst());
    }

    @Test
    void aTruncatedIdxFileIsNamedBeforeAnyWork() throws IOException {
        Path copy = dir.resolve("mnist-truncated");
        Files.createDirectories(copy);
        try (var files = Files.list(job.data())) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Path images = copy.resolve("train-images-idx3-ubyte");
        byte[] all = Files.readAllBytes(images);
        Files.write(images, java.util.Arrays.copyOf(all, all.length - 100));
        refused(tiny("--task", "mnist:" + copy + ":0-3"), "train-images-idx3-ubyte");
        refused(tiny("--task", "mnist:" + copy + ":0-3"), "truncated");
    }

    @Test
    void augmentTakesNoneCropFlip() {
        refused(tiny("--augment", "rotate"), "unknown augmentation 'rotate'");
        Result ok = run(tiny("--augment", "none", "--epochs", "1", "--warmup", "0", "--max-batches", "2"));
        assertEquals(0, ok.status(), ok.err());
    }

    @Test
    void runsWithOtherSettingsNeverOverwriteEachOther() throws IOException {
        Path work = dir.resolve("work");
        Result a = run(tiny("--epochs", "1", "--warmup", "0", "--max-batches", "2"));
        Result b = run(tiny("--epochs", "1", "--warmup", "0", "--max-batches", "2", "--lr", "0.01"));
        Result again = run(tiny("--epochs", "1", "--warmup", "0", "--max-batches", "2"));
        assertEquals(0, a.status() + b.status() + again.status(), a.err() + b.err() + again.err());
        Path first = work.resolve("finetune/" + job.runName("trady"));
        Path second = work.resolve("finetune/" + job.runName("trady") + "-2");
        assertTrue(Files.readString(first.resolve("trady.json")).contains("\"learning_rate\": 0.05"));
        assertTrue(Files.readString(second.resolve("trady.json")).contains("\"learning_rate\": 0.01"));
        assertFalse(Files.exists(work.resolve("finetune/" + job.runName("trady") + "-3")), "the same run again reuses its folder");
        assertTrue(again.out().contains("report (trady): " + first.resolve("trady.json")), again.out());
    }

    @Test
    void aFolderTaskTrainsWithTheFolderDefaults() throws IOException {
        List<String> argv = new ArrayList<>(tiny("--task", "folder:" + imageFolder(), "--max-batches", "1", "--compare", ""));
        for (String option : List.of("--epochs", "--momentum", "--warmup")) {
            int i = argv.indexOf(option);
            argv.subList(i, i + 2).clear();
        }
        Result ok = run(argv);
        assertEquals(0, ok.status(), ok.err());
        Path folder = Path.of(ok.out().lines().filter(l -> l.startsWith("report (trady): ")).findFirst().orElseThrow()
                .substring("report (trady): ".length())).getParent();
        String settings = Files.readString(folder.resolve("run.json"));
        assertTrue(settings.contains("\"epochs\": " + FinetuneCommand.FOLDER_DEFAULTS.epochs()), settings);
        assertTrue(settings.contains("\"momentum\": 0.9"), settings);
        assertTrue(ok.out().contains("epoch 1/30 "), ok.out());   // 21 images: may be stopped at chance before epoch 30
    }
}
