package io.trady4j.train;

import io.trady4j.tensor.MemoryCategory;

import java.util.Map;

/**
 * One epoch of a run: losses and top-1 accuracies, the selection trained (layer → channels) and
 * its units, the peak bytes the engine held per memory category during training steps, time.
 */
public record EpochResult(int epoch, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy,
                          Map<Integer, int[]> selection, long selectedUnits, Map<MemoryCategory, Long> peakBytes,
                          int steps, int images, double seconds) {
}
