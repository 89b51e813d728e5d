package io.trady4j.trady;

import java.util.Map;

/** Chooses which input channels of which layers are trained under the memory budget. */
public interface ChannelStrategy {
    /** @return the strategy's name, as {@link Strategies#byName} takes it */
    String name();

    /** True for D- strategies: the selection is redrawn at the start of every epoch. */
    boolean dynamic();

    /** True when the budget does not apply (full fine-tuning, linear probe). */
    default boolean ignoresBudget() {
        return false;
    }

    /** Layer index → sorted selected channels; layers not in the map stay frozen. */
    Map<Integer, int[]> select(SelectionProblem problem, int epoch, ChannelSignals signals);
}
