package io.trady4j.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationTest {
    @Test
    void matchesPyTorchIncludingNaNAndInfinities() {
        assertEquals(0f, Activation.RELU.apply(-1f));
        assertEquals(0f, Activation.RELU.apply(0f));
        assertEquals(2.5f, Activation.RELU.apply(2.5f));
        assertEquals(Float.POSITIVE_INFINITY, Activation.RELU.apply(Float.POSITIVE_INFINITY));
        assertEquals(6f, Activation.RELU6.apply(7f));
        assertEquals(6f, Activation.RELU6.apply(Float.POSITIVE_INFINITY));
        assertEquals(0f, Activation.RELU6.apply(Float.NEGATIVE_INFINITY));
        for (Activation a : Activation.values()) {
            assertTrue(Float.isNaN(a.apply(Float.NaN)), a + " must propagate NaN");
        }
    }
}
