package io.trady4j.train;

import io.trady4j.tensor.MemoryCategory;

import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a run stands, beyond its weights: enough to resume it so that it ends exactly as an
 * uninterrupted run (same weights, same per-epoch figures except wall time).
 *
 * @param epoch       the epoch in progress, i.e. the number of completed epochs
 * @param step        training steps already done in {@code epoch} (0 at an epoch boundary; equal to
 *                    the epoch's step count when only its evaluation is left)
 * @param selection   the selection in force (layer → sorted channels), or null; a resumed run reuses
 *                    it for a static strategy and for a partly done epoch, and redraws it otherwise
 * @param momentum    SGD momentum buffers keyed as in {@code Network#applySgd} (layer index, -1 and -2
 *                    for the classifier's weight and bias); empty without momentum
 * @param lossSum     Σ loss × batch size over the steps done in {@code epoch}
 * @param correct     correct predictions over those steps
 * @param images      images over those steps
 * @param seconds     wall time spent on {@code epoch} so far
 * @param peakBytes   peak bytes per category measured over those steps
 */
public record TrainingState(int epoch, int step, Map<Integer, int[]> selection, Map<Integer, float[]> momentum,
                            double lossSum, long correct, int images, double seconds,
                            Map<MemoryCategory, Long> peakBytes) {
    /**
     * Checks the counters.
     *
     * @throws IllegalArgumentException if one is negative
     */
    public TrainingState {
        if (epoch < 0 || step < 0 || correct < 0 || images < 0) {
            throw new IllegalArgumentException("training state needs epoch, step, correct and images >= 0; got epoch "
                    + epoch + ", step " + step + ", correct " + correct + ", images " + images);
        }
        selection = selection == null ? null : Collections.unmodifiableMap(new TreeMap<>(selection));
        momentum = Collections.unmodifiableMap(new HashMap<>(momentum == null ? Map.of() : momentum));
        peakBytes = Collections.unmodifiableMap(peakBytes == null || peakBytes.isEmpty()
                ? new EnumMap<>(MemoryCategory.class) : new EnumMap<>(peakBytes));
    }

    /** The start of {@code epoch} with nothing carried over (a new run, or an old checkpoint without state). */
    public static TrainingState start(int epoch) {
        return new TrainingState(epoch, 0, null, Map.of(), 0, 0, 0, 0, Map.of());
    }
}
