package io.trady4j.trady;

import java.util.List;

/**
 * What a channel strategy chooses from: per conv layer (in Architecture#convLayers order) its number
 * of input channels and the memory units one of them costs (Θspace = weight units + activation
 * units, identical for every channel of a layer), the budget in units, and the ranked layers.
 *
 * @param topLayers layer indices of the ranking's top-K, best first (empty if no ranking is known)
 * @param seed      the run's seed; strategies derive their random draws from (seed, epoch) only
 */
public record SelectionProblem(int[] channels, long[] unitsPerChannel, long budget, List<Integer> topLayers, long seed) {
    /**
     * Checks and copies the arrays.
     *
     * @throws IllegalArgumentException if the arrays differ in length or the budget is negative
     */
    public SelectionProblem {
        if (channels.length != unitsPerChannel.length) {
            throw new IllegalArgumentException("channels and costs must have one entry per layer");
        }
        if (budget < 0) {
            throw new IllegalArgumentException("budget must be >= 0 units, got " + budget);
        }
        channels = channels.clone();
        unitsPerChannel = unitsPerChannel.clone();
        topLayers = List.copyOf(topLayers);
    }

    /** @return the number of conv layers */
    public int layers() {
        return channels.length;
    }

    /** Units of every channel of every layer: full fine-tuning's conv units. */
    public long totalUnits() {
        long total = 0;
        for (int l = 0; l < channels.length; l++) {
            total += channels[l] * unitsPerChannel[l];
        }
        return total;
    }

    /** This problem with other ranked layers (e.g. every layer, as an upper bound before a ranking exists). */
    public SelectionProblem withTopLayers(List<Integer> layers) {
        return new SelectionProblem(channels, unitsPerChannel, budget, layers, seed);
    }

    /** This problem with another budget. */
    public SelectionProblem withBudget(long units) {
        return new SelectionProblem(channels, unitsPerChannel, units, topLayers, seed);
    }

    /** The cheapest single channel of the given layers; a budget below it can select nothing. */
    public long cheapestChannel(List<Integer> layers) {
        long min = Long.MAX_VALUE;
        for (int l : layers) {
            min = Math.min(min, unitsPerChannel[l]);
        }
        return min;
    }
}
