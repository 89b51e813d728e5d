package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.data.Dataset;
import io.trady4j.data.InMemoryDataset;
import io.trady4j.data.Transform;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.NetworkTest;
import io.trady4j.trady.ContributionAnalysis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SU's contribution analysis, the fine-tune it plans, the validation split and the learning-rate search. */
class SparseUpdateRunTest {
    @TempDir
    Path dir;
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    @Test
    void theContributionAnalysisCoversEveryLayerAndRatioAndSuTrainsItsPlan() throws IOException {
        try (Backend backend = new CpuBackend(2)) {
            Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet));
            HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
            Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, new TrainerTest.Quadrants(64, 7),
                    new TrainerTest.Quadrants(32, 8));
            TrainConfig trial = ResumeTest.config(0).withWarmupEpochs(0).withEpochs(1).withMaxBatchesPerEpoch(2);
            ContributionAnalysis c = ex.analyseContributions(ResumeTest.ARCH, base, data, trial);
            assertEquals(ResumeTest.ARCH.convLayers().size(), c.gains().length);
            assertEquals(2, c.steps());
            c.save(dir.resolve("c.json"));
            ContributionAnalysis back = ContributionAnalysis.load(dir.resolve("c.json"));
            for (int l = 0; l < c.gains().length; l++) {
                assertArrayEquals(c.gains()[l], back.gains()[l], 0);
            }
            boolean anyPositive = java.util.Arrays.stream(c.gains()).flatMapToDouble(java.util.Arrays::stream).anyMatch(g -> g > 0);
            assertTrue(anyPositive, "updating some layer beats the classifier alone");
            Path ck = dir.resolve("su.safetensors");
            RunReport r = ex.finetune(new Experiment.FineTune(ResumeTest.ARCH, base, data, ResumeTest.config(0), "su",
                    ResumeTest.budget(), null, c, ck, false, Map.of("job", "test")));
            List<Map<String, Object>> epochs = r.epochJson();
            assertEquals(3, epochs.size());
            Object first = epochs.getFirst().get("selection").toString();
            for (Map<String, Object> e : epochs) {
                assertEquals(first, e.get("selection").toString(), "su is static");
                assertTrue(((Number) e.get("selected_units")).longValue() <= ResumeTest.budget());
            }
            // Lin et al.'s SU also trains the biases of every layer from its earliest updated one to the output
            Map<Integer, int[]> plan = Checkpoint.load(ck, ResumeTest.ARCH).training().selection();
            int earliest = plan.keySet().stream().mapToInt(i -> i).min().orElseThrow();
            Map<String, float[]> after = Checkpoint.load(ck, ResumeTest.ARCH).weights().parameters();
            List<io.trady4j.nn.ConvLayerSpec> layers = ResumeTest.ARCH.convLayers();
            for (int l = 0; l < layers.size(); l++) {
                String bias = layers.get(l).name() + ".bias";
                boolean moved = !java.util.Arrays.equals(base.parameters().get(bias), after.get(bias));
                assertEquals(l >= earliest, moved, bias + " (earliest updated layer " + earliest + ")");
            }
        }
    }

    private static LoaderSource images(int perClass) {
        int classes = 4, n = perClass * classes, side = ResumeTest.RES;
        byte[] pixels = new byte[n * 3 * side * side];
        int[] labels = new int[n];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < n; i++) {
            labels[i] = i % classes;
            for (int p = 0; p < 3 * side * side; p++) {
                pixels[i * 3 * side * side + p] = (byte) (r.nextInt(40) + 50 * labels[i]);
            }
        }
        Dataset ds = new InMemoryDataset("blobs", pixels, labels, 3, side, side, List.of("a", "b", "c", "d"), null);
        return new LoaderSource(ds, Transform.eval(ds, side, 3), Transform.eval(ds, side, 3), 0);
    }

    @Test
    void theValidationSplitIsStratifiedDisjointAndFixed() {
        LoaderSource all = images(10);
        LoaderSource[] parts = all.splitValidation(0.2);
        assertEquals(32, parts[0].size());
        assertEquals(8, parts[1].size());
        Set<String> seen = new HashSet<>();
        int[] perClass = new int[4];
        try (BatchStream it = parts[1].batches(0, 64, false)) {
            HostBatch b = it.next();
            for (int label : b.labels()) {
                perClass[label]++;
            }
            seen.add(java.util.Arrays.toString(b.images()));
        }
        assertArrayEquals(new int[]{2, 2, 2, 2}, perClass);
        LoaderSource[] again = all.splitValidation(0.2);
        try (BatchStream it = again[1].batches(0, 64, false)) {
            assertTrue(seen.contains(java.util.Arrays.toString(it.next().images())), "the same images every time");
        }
    }

    @Test
    void theSearchPicksTheBestValidationRateAndNeverATrialThatDiverged() {
        assertEquals(0.1, LearningRateSearch.choose(List.of(0.02, 0.05, 0.1), List.of(0.5, 0.6, 0.7),
                java.util.Arrays.asList(null, null, null)));
        assertEquals(0.05, LearningRateSearch.choose(List.of(0.02, 0.05, 0.1), List.of(0.5, 0.6, 0.9),
                java.util.Arrays.asList(null, null, "loss rose")));
        assertEquals(0.02, LearningRateSearch.choose(List.of(0.02, 0.05), List.of(0.6, 0.6),
                java.util.Arrays.asList(null, null)), "ties go to the smaller rate");
    }

    @Test
    void theSearchTrainsOnTheFitPartAndReportsTheGrid() throws IOException {
        try (Backend backend = new CpuBackend(2)) {
            Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet));
            HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
            Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, images(10), images(5));
            Experiment.FineTune f = new Experiment.FineTune(ResumeTest.ARCH, base, data, ResumeTest.config(0), "classifier", 0,
                    null, null, null, false, Map.of("job", "test"));
            LearningRateSearch s = LearningRateSearch.run(ex, f, List.of(0.1, 0.01));
            assertEquals(List.of(0.01, 0.1), s.grid());
            assertEquals(2, s.validationTop1().size());
            assertTrue(s.grid().contains(s.chosen()));
            assertEquals(s.chosen(), s.toJson().get("chosen"));
        }
    }
}
