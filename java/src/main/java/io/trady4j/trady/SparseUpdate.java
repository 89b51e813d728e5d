package io.trady4j.trady;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * SU: the sparse update of Lin et al. (2022, "On-Device Training Under 256KB Memory", §3.2), as trady4j runs it.
 *
 * <p>Taken from the paper: the layers and, per layer, the ratio of channels updated are fixed offline, once, from a
 * contribution analysis (the accuracy gained by updating that layer alone at that ratio, over a baseline), by the
 * search that maximises the summed contributions under the memory constraint; ratios are 1/8, 1/4, 1/2 or 1
 * (their configurations' {@code weight_update_ratio}); a layer with no positive contribution is not updated; the
 * update is static.
 *
 * <p>Simplified or changed: (1) the contributions are measured by short fine-tunes from the base model on a
 * validation split carved from a training split (the classifier always trained, as here), and summed as if
 * independent, which is the paper's assumption too; (2) the search is an exact knapsack over the budget in units
 * of {@code budget/4096} (costs rounded up, so the budget holds) instead of their evolutionary search; (3) the
 * channels are input channels (our engine's unit), the first ⌈r·C⌉ of the layer, as their code slices a prefix;
 * (4) biases: the paper updates the biases of the last k_b layers, k_b chosen by the same contribution search; here
 * k_b is the depth the weight updates already reach (every conv bias from the earliest updated layer to the output,
 * {@link #updatesBiases()}): the backward pass computes those layers' gradients anyway, a bias gradient is one
 * reduction of them and needs no cached activation, so no budget counts it.
 */
final class SparseUpdate implements ChannelStrategy {
    /** The channel ratios a layer may be updated at. */
    static final double[] RATIOS = {0.125, 0.25, 0.5, 1.0};
    /** Budget steps of the knapsack. */
    private static final int STEPS = 4096;

    @Override
    public String name() {
        return "su";
    }

    @Override
    public boolean dynamic() {
        return false;
    }

    @Override
    public boolean updatesBiases() {
        return true;
    }

    @Override
    public boolean needsContributions() {
        return true;
    }

    /** The layers with a positive contribution at some ratio; none when no update gained (then only the classifier trains). */
    @Override
    public List<Integer> candidateLayers(SelectionProblem p) {
        double[][] table = table(p);
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < table.length; l++) {
            for (double v : table[l]) {
                if (v > 0) {
                    out.add(l);
                    break;
                }
            }
        }
        return out;
    }

    /** Channels updated in a layer of {@code channels} input channels at ratio {@code ratio}. */
    static int channelsAt(int channels, double ratio) {
        return Math.max(1, (int) Math.ceil(ratio * channels));
    }

    @Override
    public Map<Integer, int[]> select(SelectionProblem p, int epoch, ChannelSignals signals) {
        int[] plan = plan(p);
        Map<Integer, int[]> m = new TreeMap<>();
        for (int l = 0; l < plan.length; l++) {
            if (plan[l] >= 0) {
                m.put(l, IntStream.range(0, channelsAt(p.channels()[l], RATIOS[plan[l]])).toArray());
            }
        }
        return m;
    }

    /** Per layer the index into {@link #RATIOS} chosen (−1: not updated): most summed contribution within the budget. */
    static int[] plan(SelectionProblem p) {
        double[][] table = table(p);
        int layers = p.layers();
        long step = Math.max(1, (p.budget() + STEPS - 1) / STEPS);
        int capacity = (int) (p.budget() / step);
        double[] best = new double[capacity + 1];
        byte[][] choice = new byte[layers][capacity + 1];
        for (int l = 0; l < layers; l++) {
            double[] next = best.clone();
            java.util.Arrays.fill(choice[l], (byte) -1);
            for (int r = 0; r < RATIOS.length; r++) {
                double gain = table[l][r];
                long units = channelsAt(p.channels()[l], RATIOS[r]) * p.unitsPerChannel()[l];
                long cost = (units + step - 1) / step;
                if (!(gain > 0) || cost > capacity) {
                    continue;
                }
                for (int c = capacity; c >= cost; c--) {
                    double v = best[(int) (c - cost)] + gain;
                    if (v > next[c]) {
                        next[c] = v;
                        choice[l][c] = (byte) r;
                    }
                }
            }
            best = next;
        }
        int[] plan = new int[layers];
        int c = capacity;
        for (int l = layers - 1; l >= 0; l--) {
            plan[l] = choice[l][c];
            if (plan[l] >= 0) {
                long units = channelsAt(p.channels()[l], RATIOS[plan[l]]) * p.unitsPerChannel()[l];
                c -= (int) ((units + step - 1) / step);
            }
        }
        return plan;
    }

    private static double[][] table(SelectionProblem p) {
        if (p.contributions().length == 0) {
            throw new IllegalArgumentException("strategy su needs a contribution analysis (fine-tunes of each layer alone)");
        }
        return p.contributions();
    }
}
