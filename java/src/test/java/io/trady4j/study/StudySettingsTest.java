package io.trady4j.study;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StudySettingsTest {
    private static StudySettings withBudgets(List<Double> budgets, boolean auto) {
        return new StudySettings("mbv2", 0.35, 32, "fmnist:0-4", List.of("fmnist:5-9"), List.of("trady"), budgets, 1, 2, 16,
                0.25, 1, 40, 20, 2, 1, 1, 0.1, auto);
    }

    @Test
    void theSearchBudgetIsTheMiddleOfTheStudysBudgets() {
        assertEquals(5.3, withBudgets(List.of(7.5, 2.2, 5.3), true).searchBudgetPercent());
        assertEquals(2.2, withBudgets(List.of(5.3, 2.2), true).searchBudgetPercent(), "the lower middle of an even count");
        assertEquals(4.0, withBudgets(List.of(4.0), true).searchBudgetPercent());
        assertTrue(Double.isNaN(withBudgets(List.of(), true).searchBudgetPercent()));
    }

    @Test
    void theReportNamesTheSearchGridAndBudgetOnlyWhenItSearches() {
        Map<String, Object> auto = withBudgets(List.of(2.2, 5.3, 7.5), true).toJson();
        assertEquals(Study.LEARNING_RATE_GRID, auto.get("learning_rate_grid"));
        assertEquals(5.3, auto.get("learning_rate_search_budget_percent"));
        Map<String, Object> fixed = withBudgets(List.of(2.2, 5.3, 7.5), false).toJson();
        assertFalse(fixed.containsKey("learning_rate_grid"));
        assertFalse(fixed.containsKey("learning_rate_search_budget_percent"));
    }
}
