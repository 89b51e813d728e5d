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
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The study command on a tiny grid (one budget, one seed, few batches, 16×16 inputs), so it cannot rot. */
class StudyCommandTest {
    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {
    }

    private static Result run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    @SuppressWarnings("unchecked")
    void tinyGridRunsEndToEndAndResumesFromItsCache() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/usr/share/datasets/fashion-mnist")), "Fashion-MNIST not installed");
        try {
            io.trady4j.data.Tasks.parse("letters:A-C");
        } catch (Exception e) {
            assumeTrue(false, "the letters task cannot be built here (fonts?): " + e.getMessage());
        }
        Path out = dir.resolve("report");
        String[] argv = {"study", "--backend", "cpu", "--work-dir", dir.resolve("work").toString(), "--out", out.toString(),
                "--targets", "fmnist:5-9,letters:A-C", "--resolution", "16", "--epochs", "2", "--batch-size", "16",
                "--train-size", "40", "--test-size", "20", "--max-batches", "2", "--budgets", "5.3", "--seeds", "1",
                "--rank-epochs", "2", "--rank-batches", "2", "--pretrain-epochs", "2", "--pretrain-per-class", "8",
                "--strategies", "trady,s-topk-random,d-full-random,s-full-random,d-det-rgn,s-det-rgn,su-rgn-fill,classifier,full",
                "--lr", "0.25"};
        Result r = run(argv);
        assertEquals(0, r.status(), r.err() + r.out());
        for (String f : List.of("RESULTS.md", "study.json", "rankings.json", "accuracy_vs_budget.svg", "layer_rank_spearman.svg",
                "layer_rank_spearman_raw.svg", "layer_scores.svg", "sparsity_flops_per_epoch.svg", "heavy_tail.svg")) {
            assertTrue(Files.size(out.resolve(f)) > 200, f);
        }
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(out.resolve("study.json")));
        List<Object> runs = (List<Object>) json.get("runs");
        assertEquals(2 * 9, runs.size());   // 2 targets × (7 budgeted strategies × 1 budget + full + classifier) × 1 seed
        Map<String, Object> analyses = (Map<String, Object>) json.get("analyses");
        assertEquals(4, ((List<Object>) analyses.get("ranking_runs")).size());   // source, source seed 1, two targets
        assertEquals(4 * 2, ((List<Object>) analyses.get("heavy_tail")).size());  // per ranking run and epoch
        assertEquals(3, ((List<Object>) analyses.get("paired_tests")).stream()
                .filter(t -> ((Map<String, Object>) t).get("b").toString().startsWith("s-")).count());
        for (Object o : runs) {
            Map<String, Object> run = (Map<String, Object>) o;
            List<Map<String, Object>> epochs = (List<Map<String, Object>>) run.get("epochs");
            assertEquals(2, epochs.size());
            assertEquals(52, ((List<Object>) epochs.getFirst().get("selected_channels_by_layer")).size());
            if (run.get("budget_percent") != null) {
                long units = ((Number) epochs.getFirst().get("selected_units")).longValue();
                long budget = ((Number) epochs.getFirst().get("budget_units")).longValue();
                assertTrue(units > 0 && units <= budget, units + " units for a budget of " + budget);
            }
        }
        String md = Files.readString(out.resolve("RESULTS.md"));
        for (String section : List.of("## Accuracy", "## Dynamic vs static", "## Memory and compute", "## Layer rankings",
                "## Top channels", "## Heavy tails", "**")) {
            assertTrue(md.contains(section), section);
        }

        // a second run trains nothing: rankings and runs come from the cache
        Result again = run(argv);
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("18 runs") || again.out().contains("(cached)"), again.out());
        assertTrue(!again.out().contains("pretraining mbv2"), again.out());
        Map<String, Object> json2 = (Map<String, Object>) Json.parse(Files.readString(out.resolve("study.json")));
        assertEquals(0L, ((Number) json2.get("runs_trained")).longValue());
        assertEquals(18L, ((Number) json2.get("runs_cached")).longValue());
    }

    @Test
    @SuppressWarnings("unchecked")
    void learningRatesAreSearchedOnAValidationSplitAndSuGetsItsContributionAnalysisBothCached() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/usr/share/datasets/fashion-mnist")), "Fashion-MNIST not installed");
        Path out = dir.resolve("report-auto");
        String[] argv = {"study", "--backend", "cpu", "--work-dir", dir.resolve("work-auto").toString(), "--out", out.toString(),
                "--targets", "fmnist:5-9", "--resolution", "16", "--epochs", "2", "--warmup", "1", "--batch-size", "16",
                "--train-size", "40", "--test-size", "20", "--max-batches", "2", "--budgets", "5.3", "--seeds", "2",
                "--rank-epochs", "1", "--rank-batches", "1", "--pretrain-epochs", "2", "--pretrain-per-class", "8",
                "--strategies", "su,classifier"};
        // two single-threaded shards share the cache: su's group is shard 1's, classifier's shard 2's
        for (String shard : List.of("1/2", "2/2")) {
            String[] sharded = java.util.stream.Stream.concat(java.util.Arrays.stream(argv),
                    java.util.stream.Stream.of("--shard", shard, "--threads", "1")).toArray(String[]::new);
            Result s = run(sharded);
            assertEquals(0, s.status(), s.err() + s.out());
            assertTrue(s.out().contains("shard " + shard + " done") && s.out().contains("(2 runs trained, 0 cached)"), s.out());
            String mine = shard.equals("1/2") ? "su" : "classifier", other = shard.equals("1/2") ? "classifier" : "su";
            List<String> gridLines = s.out().lines().filter(l -> l.startsWith("[")).toList();
            assertEquals(2, gridLines.size(), s.out());
            assertTrue(gridLines.stream().allMatch(l -> l.contains(" " + mine + " ") && !l.contains(" " + other + " ")),
                    "shard " + shard + " trains only its group: " + s.out());
            assertTrue(!Files.exists(out.resolve("study.json")), "a shard writes no report");
            assertTrue(s.out().contains("backend: CPU, 1 thread,"), "--threads 1: " + s.out());
        }
        Result r = run(argv);
        assertEquals(0, r.status(), r.err() + r.out());
        assertTrue(r.out().contains("SU's contribution analysis: cached"), "shard 1 measured it: " + r.out());
        Path cache = dir.resolve("work-auto").resolve("cache");
        assertTrue(Files.exists(cache.resolve("contributions").resolve("fmnist0-4.json")));
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(out.resolve("study.json")));
        List<Object> runs = (List<Object>) json.get("runs");
        assertEquals(4, runs.size());
        assertEquals(0L, ((Number) json.get("runs_trained")).longValue(), "the shards trained every run");
        for (String slug : List.of("fmnist5-9_su_b5.30_seed0", "fmnist5-9_classifier_all_seed0")) {
            Map<String, Object> lr = (Map<String, Object>) Json.parse(Files.readString(cache.resolve("lr").resolve(slug + ".json")));
            Map<String, Object> search = (Map<String, Object>) lr.get("search");
            assertEquals(List.of(0.1, 0.25, 0.5, 1.0), search.get("grid"));
            assertTrue(((List<Object>) search.get("grid")).contains(search.get("chosen")), slug);
        }
        List<Object> searches = (List<Object>) json.get("learning_rate_searches");
        assertEquals(2, searches.size(), "one search per target and strategy, however many seeds");
        String md = Files.readString(out.resolve("RESULTS.md"));
        assertTrue(md.contains("## Learning rates") && md.contains("| fmnist:5-9 | su | 5.3% |"), md);
        Result again = run(argv);
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("SU's contribution analysis: cached"), again.out());
        assertTrue(!again.out().contains("learning rate for"), "the searches come from the cache: " + again.out());
        Map<String, Object> json2 = (Map<String, Object>) Json.parse(Files.readString(out.resolve("study.json")));
        assertEquals(4L, ((Number) json2.get("runs_cached")).longValue());
    }

    @Test
    void badInputGetsOneLineAndStatusTwo() {
        for (String[] argv : List.of(
                new String[]{"study", "--budgets", "0"},
                new String[]{"study", "--budgets", "x"},
                new String[]{"study", "--strategies", "nope"},
                new String[]{"study", "--targets", ","},
                new String[]{"study", "--seeds", "0"},
                new String[]{"study", "--momentum", "0.9"},
                new String[]{"study", "--model", "alexnet"},
                new String[]{"study", "--train-per-class", "5"},
                new String[]{"study", "--seed", "1"},
                new String[]{"study", "--train-size", "-1"},
                new String[]{"study", "--shard", "3/2"},
                new String[]{"study", "--shard", "1"},
                new String[]{"study", "--shard", "1/2", "--fresh"},
                new String[]{"study", "--threads", "-1"},
                new String[]{"study", "--frobnicate"})) {
            Result r = run(argv);
            assertEquals(2, r.status(), String.join(" ", argv) + " -> " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
