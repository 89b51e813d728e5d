package io.trady4j.bench;

import io.trady4j.cli.UsageException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelSweepOptionsTest {
    @Test
    void defaultsAreEveryOpAtTheIssuesDensities() {
        KernelSweepOptions o = KernelSweepOptions.parse("--out", "x.json");
        assertEquals(List.of(SweepOp.values()), o.ops());
        assertEquals(List.of(0.01, 0.1, 1.0), o.densities());
        assertEquals(0, o.batch());
        assertEquals(128, o.flushMiB());
    }

    @Test
    void badArgumentsAreRefusedWithTheirName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelSweepOptions.parse("--out", "x.json", "--ops", "conv2d_forwad"));
        assertTrue(e.getMessage().contains("unknown op 'conv2d_forwad'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KernelSweepOptions.parse("--out", "x", "--densities", "0,1"));
        assertThrows(IllegalArgumentException.class, () -> KernelSweepOptions.parse("--out", "x", "--densities", "a"));
        assertThrows(IllegalArgumentException.class, () -> KernelSweepOptions.parse("--out", "x", "--batch", "-1"));
        assertThrows(UsageException.class, () -> KernelSweepOptions.parse("--out", "x", "--bogus", "1"));
        assertThrows(UsageException.class, () -> KernelSweepOptions.parse("--batch", "1"));
    }

    @Test
    void relativeDifferenceFlagsNonFiniteOutputs() {
        float[] ref = {1, 2, 3};
        assertEquals(0.0, KernelSweep.relativeDifference(ref.clone(), ref));
        assertTrue(Double.isNaN(KernelSweep.relativeDifference(new float[] {1, Float.NaN, 3}, ref)));
        assertEquals(1.0 / Math.sqrt(14), KernelSweep.relativeDifference(new float[] {1, 3, 3}, ref), 1e-12);
    }
}
