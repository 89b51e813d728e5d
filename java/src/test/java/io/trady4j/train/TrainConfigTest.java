package io.trady4j.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TrainConfigTest {
    @Test
    void eachCopyWithMethodChangesOnlyItsSetting() {
        TrainConfig base = TrainConfig.defaults().withEpochs(8);
        assertEquals(new TrainConfig(8, 64, 0.05, 0, 0, 0, 0, 0, 0, true), base);
        assertEquals(new TrainConfig(8, 32, 0.05, 0, 0, 0, 0, 0, 0, true), base.withBatchSize(32));
        assertEquals(new TrainConfig(8, 64, 0.2, 0, 0, 0, 0, 0, 0, true), base.withLearningRate(0.2));
        assertEquals(new TrainConfig(8, 64, 0.05, 3, 0, 0, 0, 0, 0, true), base.withWarmupEpochs(3));
        assertEquals(new TrainConfig(8, 64, 0.05, 0, 0.9, 0, 0, 0, 0, true), base.withMomentum(0.9));
        assertEquals(new TrainConfig(8, 64, 0.05, 0, 0, 1e-4, 0, 0, 0, true), base.withWeightDecay(1e-4));
        assertEquals(new TrainConfig(8, 64, 0.05, 0, 0, 0, 7, 0, 0, true), base.withSeed(7));
        assertEquals(new TrainConfig(8, 64, 0.05, 0, 0, 0, 0, 5, 0, true), base.withMaxBatchesPerEpoch(5));
        assertEquals(new TrainConfig(8, 64, 0.05, 0, 0, 0, 0, 0, 6, true), base.withMaxEvalBatches(6));
    }

    @Test
    void copiesAreValidatedLikeTheConstructor() {
        TrainConfig c = TrainConfig.defaults().withEpochs(3).withWarmupEpochs(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.withEpochs(2));
        assertEquals("warm-up epochs must be in [0, epochs), got 2 with 2 epochs", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.withLearningRate(0));
    }
}
