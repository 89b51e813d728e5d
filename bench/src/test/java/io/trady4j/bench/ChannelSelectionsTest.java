package io.trady4j.bench;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChannelSelectionsTest {
    private static final List<Double> DENSITIES = List.of(0.01, 0.05, 0.1, 0.25, 0.5, 1.0);

    @Test
    void sizesFollowTheRuleAndNeverDropBelowOneChannel() {
        Map<Double, int[]> s = ChannelSelections.forLayer("mbv2.mix", 112, DENSITIES, 1234);
        assertEquals(List.of(1, 6, 11, 28, 56, 112), s.values().stream().map(a -> a.length).toList());
        Map<Double, int[]> first = ChannelSelections.forLayer("mbv2.first", 3, DENSITIES, 1234);
        assertEquals(List.of(1, 1, 1, 1, 2, 3), first.values().stream().map(a -> a.length).toList());
    }

    @Test
    void selectionsAreSortedDistinctInRangeAndNested() {
        Map<Double, int[]> s = ChannelSelections.forLayer("resnet18.layer3.0.conv2", 256, DENSITIES, 7);
        int[] previous = new int[0];
        for (int[] sel : s.values()) {
            for (int i = 0; i < sel.length; i++) {
                assertTrue(sel[i] >= 0 && sel[i] < 256);
                assertTrue(i == 0 || sel[i] > sel[i - 1], "sorted and distinct");
            }
            for (int c : previous) {
                assertTrue(Arrays.binarySearch(sel, c) >= 0, "a lower density's channels stay selected");
            }
            previous = sel;
        }
        assertArrayEquals(java.util.stream.IntStream.range(0, 256).toArray(), s.get(1.0));
    }

    @Test
    void theSeedAndTheLayerNameFixTheSelection() {
        assertArrayEquals(ChannelSelections.forLayer("a", 96, DENSITIES, 1).get(0.25),
                ChannelSelections.forLayer("a", 96, DENSITIES, 1).get(0.25));
        assertFalse(Arrays.equals(ChannelSelections.forLayer("a", 96, DENSITIES, 1).get(0.25),
                ChannelSelections.forLayer("b", 96, DENSITIES, 1).get(0.25)));
        assertFalse(Arrays.equals(ChannelSelections.forLayer("a", 96, DENSITIES, 1).get(0.25),
                ChannelSelections.forLayer("a", 96, DENSITIES, 2).get(0.25)));
    }
}
