package io.trady4j.study;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LearningRateFallbackTest {
    private static final List<Double> GRID = List.of(0.1, 0.25, 0.5, 1.0);
    private static final GridRun.Key KEY = new GridRun.Key("fmnist:5-9", "trady", 7.5, 0);

    /** A one-epoch run at {@code lr} that diverged when lr ≥ {@code divergesFrom}. */
    private static GridRun fake(double lr, double divergesFrom) {
        Map<String, Object> epoch = new LinkedHashMap<>();
        epoch.put("test_top1", lr >= divergesFrom ? 0.2 : 0.9 - lr / 10);
        epoch.put("seconds", 10.0);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("epochs", List.of(epoch));
        if (lr >= divergesFrom) {
            report.put("diverged", "the training loss rose at lr " + lr);
        }
        return new GridRun(KEY, Map.of("learning_rate", lr), report);
    }

    @Test
    void theNextSmallerRateOfTheGrid() {
        assertEquals(0.5, LearningRateFallback.lower(1.0, GRID));
        assertEquals(0.1, LearningRateFallback.lower(0.25, GRID));
        assertTrue(Double.isNaN(LearningRateFallback.lower(0.1, GRID)));
        assertEquals(0.25, LearningRateFallback.lower(0.3, GRID));   // a rate off the grid falls to the grid
    }

    @Test
    void aRunThatHoldsIsTrainedOnceAndCarriesNoFallbacks() throws Exception {
        List<Double> tried = new ArrayList<>();
        GridRun run = LearningRateFallback.run(0.5, GRID, (lr, retry) -> {
            tried.add(lr);
            return fake(lr, 1.0);
        });
        assertEquals(List.of(0.5), tried);
        assertTrue(run.fallbacks().isEmpty());
        assertNull(run.diverged());
    }

    @Test
    void aDivergedRunIsTrainedAgainAtSmallerRatesUntilOneHolds() throws Exception {
        List<String> tried = new ArrayList<>();
        GridRun run = LearningRateFallback.run(1.0, GRID, (lr, retry) -> {
            tried.add(lr + "#" + retry);
            return fake(lr, 0.5);
        });
        assertEquals(List.of("1.0#0", "0.5#1", "0.25#2"), tried);
        assertNull(run.diverged());
        assertEquals(0.25, run.learningRate());
        assertEquals(List.of(1.0, 0.5), run.fallbacks().stream().map(a -> a.get("learning_rate")).toList());
        assertEquals("the training loss rose at lr 1.0", run.fallbacks().getFirst().get("diverged"));
        assertEquals(10.0, run.fallbacks().getFirst().get("seconds"));
    }

    @Test
    void theGridsSmallestRateEndsTheFallbackEvenIfItDivergesToo() throws Exception {
        GridRun run = LearningRateFallback.run(0.25, GRID, (lr, retry) -> fake(lr, 0.0));
        assertEquals(0.1, run.learningRate());
        assertTrue(run.diverged() != null, "the last attempt's flag is kept");
        assertEquals(1, run.fallbacks().size());
    }
}
