package io.trady4j.trady;

import io.trady4j.nn.BackwardPlan;

import java.util.List;
import java.util.Map;

/**
 * The paper's figures for one selection (TRADY.md §2), per input sample: activation sparsity,
 * weight-derivative sparsity and dW FLOPs saved against full fine-tuning of all conv layers, plus
 * what the paper leaves out: the FLOPs of the activation-gradient path (conv input gradients from
 * the loss down to the deepest trained layer).
 */
public record SelectionMetrics(long selectedUnits, long budget, int trainedLayers, int selectedChannels,
                               double activationSparsity, double weightDerivativeSparsity, double dwFlopsSaved,
                               long dwFlops, long fullDwFlops, long gradientPathFlops, long fullGradientPathFlops) {

    /**
     * @param cost      the model's cost model
     * @param selection per trained layer index, its selected input channels
     * @param budget    the budget in units
     * @return the figures of that selection
     */
    public static SelectionMetrics of(CostModel cost, Map<Integer, int[]> selection, long budget) {
        List<CostModel.LayerCost> layers = cost.layers();
        long ca = 0, cw = 0, dw = 0, units = 0;
        int channels = 0;
        for (Map.Entry<Integer, int[]> e : selection.entrySet()) {
            CostModel.LayerCost l = layers.get(e.getKey());
            int n = e.getValue().length;
            ca += n * l.activationUnitsPerChannel();
            cw += n * l.weightUnitsPerChannel();
            dw += n * l.dwMacsPerChannel();
            units += n * l.spaceUnitsPerChannel();
            channels += n;
        }
        BackwardPlan plan = BackwardPlan.of(cost.architecture(), selection.keySet());
        long path = 0, fullPath = 0;
        BackwardPlan all = BackwardPlan.of(cost.architecture(), java.util.stream.IntStream.range(0, layers.size()).boxed()
                .collect(java.util.stream.Collectors.toSet()));
        for (int i = 0; i < layers.size(); i++) {
            // a conv's input gradient costs as many multiply-adds as its forward pass, which equals its dW count
            if (plan.computesInputGradient(i)) {
                path += layers.get(i).dwMacs();
            }
            if (all.computesInputGradient(i)) {
                fullPath += layers.get(i).dwMacs();
            }
        }
        return new SelectionMetrics(units, budget, selection.size(), channels,
                1 - (double) ca / cost.totalActivationUnits(),
                1 - (double) cw / cost.totalWeightUnits(),
                1 - (double) dw / cost.totalDwMacs(),
                2 * dw, 2 * cost.totalDwMacs(), 2 * path, 2 * fullPath);
    }
}
