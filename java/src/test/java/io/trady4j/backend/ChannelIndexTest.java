package io.trady4j.backend;

import io.trady4j.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A channel selection from a caller's int array: validated once on the host, kept as a copy. */
class ChannelIndexTest {

    @Test
    void a_valid_selection_is_copied_once() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            int[] mine = {0, 3, 7};
            try (ChannelIndex s = cpu.channelIndex(mine, 8)) {
                mine[1] = 5;  // the caller reuses its array: the selection does not change
                assertArrayEquals(new int[] {0, 3, 7}, s.toArray());
                assertArrayEquals(new int[] {0, 3, 7}, cpu.toIntArray(s.tensor()));
                assertEquals(8, s.bound());
            }
        }
    }

    @Test
    void unfit_selections_get_one_sentence_naming_the_position() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            assertEquals("channel indices must be sorted and unique; position 2 holds 1 after 4",
                    message(() -> cpu.channelIndex(new int[] {0, 4, 1}, 8)));
            assertEquals("channel indices must be sorted and unique; position 1 holds 4 after 4",
                    message(() -> cpu.channelIndex(new int[] {4, 4}, 8)));
            assertEquals("channel index 8 at position 1 is out of range [0, 8)",
                    message(() -> cpu.channelIndex(new int[] {2, 8}, 8)));
            assertEquals("channel index -1 at position 0 is out of range [0, 8)",
                    message(() -> cpu.channelIndex(new int[] {-1}, 8)));
            assertEquals("channel selection is empty", message(() -> cpu.channelIndex(new int[0], 8)));
            assertEquals("channel count must be >= 1, got 0", message(() -> cpu.channelIndex(new int[] {0}, 0)));
        }
    }

    private static String message(org.junit.jupiter.api.function.Executable call) {
        return assertThrows(IllegalArgumentException.class, call).getMessage();
    }
}
