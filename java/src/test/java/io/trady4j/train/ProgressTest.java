package io.trady4j.train;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {
    private long now;

    @Test
    void plainLinesCarryTheEpochAndThePhaseEtaAndNoCarriageReturns() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, true, 0, () -> now);
        p.phase("pretraining");
        p.begin("epoch 1/3", 10);
        for (int b = 1; b <= 10; b++) {
            now += 1_000_000_000L;   // 1 s a batch
            p.step(b, 1.0, 8);
        }
        p.end("done");
        p.begin("epoch 2/3", 10);
        now += 4_000_000_000L;
        p.step(4, 1.0, 8);
        String text = bytes.toString(StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        assertEquals("epoch 1/3 1/10 batches, loss 1.0000, 8 img/s, ETA 0m09s (pretraining 0m29s)", lines.getFirst());
        // epoch 2: 6 s left in it, then one more epoch at the 10 s the first took
        assertEquals("epoch 2/3 4/10 batches, loss 1.0000, 2 img/s, ETA 0m06s (pretraining 0m16s)", lines.getLast());
        assertTrue(lines.contains("epoch 1/3 done"), text);
        assertFalse(text.contains("\r") || text.contains("\u001b"), text);
    }

    @Test
    void theLastEpochShowsOnlyItsOwnEta() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, true, 0, () -> now);
        p.begin("epoch 3/3", 4);
        now += 2_000_000_000L;
        p.step(1, 0.5, 4);
        assertEquals("epoch 3/3 1/4 batches, loss 0.5000, 2 img/s, ETA 0m06s", bytes.toString(StandardCharsets.UTF_8).strip());
    }
}
