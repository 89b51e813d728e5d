package io.trady4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SummaryTableTest {
    @Test
    void theTimeColumnIsTheMedianEpochSoAColdFirstEpochDoesNotCount() {
        java.util.function.Function<double[], java.util.List<java.util.Map<String, Object>>> epochs = t -> java.util.Arrays
                .stream(t).mapToObj(v -> java.util.Map.<String, Object>of("seconds", v)).toList();
        assertEquals(2.0, SummaryTable.medianSeconds(epochs.apply(new double[]{9, 2, 2.5, 1.5, 2})), 0);
        assertEquals(2.25, SummaryTable.medianSeconds(epochs.apply(new double[]{9, 2, 2.5, 1.5})), 0);
        assertEquals(0, SummaryTable.medianSeconds(java.util.List.of()), 0);
    }
}
