package io.trady4j.trady;

import java.util.List;

/**
 * What a channel strategy chooses from: per conv layer (in Architecture#convLayers order) its number
 * of input channels and the memory units one of them costs (Θspace = weight units + activation
 * units, identical for every channel of a layer), the budget in units, and the ranked layers.
 *
 * @param topLayers     layer indices of the ranking's top-K, best first (empty if no ranking is known)
 * @param seed          the run's seed; strategies derive their random draws from (seed, epoch) only
 * @param contributions SU's contribution analysis: per layer, the top-1 gained by updating that layer at each
 *                      of {@link ContributionAnalysis#ratios()} (empty if none was measured)
 */
public record SelectionProblem(int[] channels, long[] unitsPerChannel, long budget, List<Integer> topLayers, long seed,
                               double[][] contributions) {
    /** A problem without a contribution analysis. */
    public SelectionProblem(int[] channels, long[] unitsPerChannel, long budget, List<Integer> topLayers, long seed) {
        this(channels, unitsPerChannel, budget, topLayers, seed, new double[0][]);
    }

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
        if (contributions.length != 0 && contributions.length != channels.length) {
            throw new IllegalArgumentException("the contribution analysis needs one row per layer");
        }
        channels = channels.clone();
        unitsPerChannel = unitsPerChannel.clone();
        topLayers = List.copyOf(topLayers);
        contributions = java.util.Arrays.stream(contributions).map(double[]::clone).toArray(double[][]::new);
    }

    /** This problem with a contribution analysis (layer × {@link ContributionAnalysis#ratios()}). */
    public SelectionProblem withContributions(double[][] table) {
        return new SelectionProblem(channels, unitsPerChannel, budget, topLayers, seed, table);
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
        return new SelectionProblem(channels, unitsPerChannel, budget, layers, seed, contributions);
    }

    /** This problem with another budget. */
    public SelectionProblem withBudget(long units) {
        return new SelectionProblem(channels, unitsPerChannel, units, topLayers, seed, contributions);
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
