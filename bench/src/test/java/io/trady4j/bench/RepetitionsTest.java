package io.trady4j.bench;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RepetitionsTest {

    /** Returns the given times in turn and counts the calls it ran. */
    private static final class ScriptedTimer implements CallTimer {
        private final double[] times;
        private int next;

        ScriptedTimer(double... times) {
            this.times = times;
        }

        @Override
        public double millis(Runnable op) {
            op.run();
            return times[next++ % times.length];
        }

        @Override
        public String method() {
            return "scripted";
        }

        @Override
        public void close() {
        }
    }

    @Test
    void repetitionsFillTheTargetWithinTheBounds() {
        Repetitions r = new Repetitions(2, 10, 100, 50);
        assertEquals(50, r.repsFor(1.0));
        assertEquals(10, r.repsFor(20.0), "slow calls get the minimum");
        assertEquals(100, r.repsFor(0.001), "fast calls get the maximum");
        assertEquals(100, r.repsFor(0.0));
    }

    @Test
    void warmupCallsAreUntimedAndTheMedianAndMinimumAreReported() {
        AtomicInteger calls = new AtomicInteger();
        // warm-up: 9 then 10 ms (estimate 10 -> 3 reps at target 30), then the timed calls: 4, 2, 3
        ScriptedTimer timer = new ScriptedTimer(9, 10, 4, 2, 3);
        Repetitions.Timing t = new Repetitions(2, 3, 10, 30).time(timer, calls::incrementAndGet);
        assertEquals(5, calls.get());
        assertEquals(3, t.reps());
        assertEquals(3.0, t.medianMillis());
        assertEquals(2.0, t.minMillis());
    }

    @Test
    void anEvenNumberOfSamplesAveragesTheMiddleTwo() {
        assertEquals(2.5, Repetitions.Timing.of(new double[] {4, 1, 2, 3}).medianMillis());
    }

    @Test
    void rejectsUnusableSettings() {
        assertThrows(IllegalArgumentException.class, () -> new Repetitions(0, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new Repetitions(1, 5, 4, 1));
        assertThrows(IllegalArgumentException.class, () -> new Repetitions(1, 1, 1, 0));
    }
}
