package io.trady4j.trady;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Chooses which input channels of which layers are trained under the memory budget, and says what it
 * needs to do so: a layer ranking or not, the layers it draws from, whether a budget can work.
 */
public interface ChannelStrategy {
    /** @return the strategy's name, as {@link Strategies#byName} takes it */
    String name();

    /** True for D- strategies: the selection is redrawn at the start of every epoch. */
    boolean dynamic();

    /** True when the budget does not apply (full fine-tuning, linear probe). */
    default boolean ignoresBudget() {
        return false;
    }

    /** True when the strategy draws from a layer ranking's top-K (the problem's {@code topLayers}). */
    default boolean needsRanking() {
        return false;
    }

    /** True when the strategy needs a contribution analysis (the problem's {@code contributions}): SU. */
    default boolean needsContributions() {
        return false;
    }

    /**
     * Whether the conv biases of every layer the backward pass reaches are trained beside the selected weights (SU as
     * Lin et al. publish it); no budget counts them: a bias gradient needs no cached activation.
     */
    default boolean updatesBiases() {
        return false;
    }

    /**
     * The layers this strategy draws channels from in {@code problem}: every layer unless it needs a ranking.
     *
     * @throws IllegalArgumentException if it needs a ranking and the problem has none
     */
    default List<Integer> candidateLayers(SelectionProblem problem) {
        if (!needsRanking()) {
            return IntStream.range(0, problem.layers()).boxed().toList();
        }
        if (problem.topLayers().isEmpty()) {
            throw new IllegalArgumentException("strategy " + name() + " needs a layer ranking (run `trady4j rank` first)");
        }
        return problem.topLayers();
    }

    /**
     * The one budget check of every run: a budget above full fine-tuning's units is a mistake, one below the
     * cheapest channel of the candidate layers trains nothing. Strategies that ignore the budget pass, and so does
     * one without candidate layers (SU when no layer's update gained: it trains the classifier alone).
     *
     * @param network what the problem describes, for the message (e.g. "mbv2-w0.35 at resolution 32")
     * @throws IllegalArgumentException (one sentence, naming the limit) if the budget cannot work
     */
    default void checkBudget(SelectionProblem problem, String network) {
        if (ignoresBudget()) {
            return;
        }
        long full = problem.totalUnits();
        if (problem.budget() > full) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "the budget of %d units exceeds full fine-tuning of"
                    + " %s (%d units); give --budget at most %d or --strategy full", problem.budget(), network, full, full));
        }
        List<Integer> layers = candidateLayers(problem);
        long cheapest = problem.cheapestChannel(layers);
        if (!layers.isEmpty() && problem.budget() < cheapest) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "the budget of %d units is smaller than the cheapest"
                    + " channel (%d units) of the layers of %s that %s draws from, so %s could train nothing; raise --budget"
                    + " to at least %d", problem.budget(), cheapest, network, name(), name(), cheapest));
        }
    }

    /** Layer index → sorted selected channels; layers not in the map stay frozen. */
    Map<Integer, int[]> select(SelectionProblem problem, int epoch, ChannelSignals signals);
}
