package io.trady4j.trady;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * {@code medyate}: the options MeDyate (Quélennec et al., arXiv 2510.20979) adds to TraDy, redrawn every epoch:
 * (1) LaRa, layers ranked by their score S_i = Σ_c RGN(c) divided by the layer's total cost C_i·Θspace_i;
 * (2) K chosen from the budget: the fewest best-LaRa layers whose channels together cost at least the budget;
 * (3) channels of those layers sampled without replacement with probability proportional to their RGN
 * (Efraimidis–Spirakis keys u^(1/w)), added while they fit the budget.
 *
 * <p>Our simplification: the RGN comes from the run's channel signals, i.e. the full gradient at the current
 * weights measured by one pass over the training split, as Det-RGN's; MeDyate's own, memory-feasible source of
 * gradient norms is not reproduced, so this strategy is an oracle like Det-RGN.
 */
final class MeDyate implements ChannelStrategy {
    @Override
    public String name() {
        return "medyate";
    }

    @Override
    public boolean dynamic() {
        return true;
    }

    @Override
    public Map<Integer, int[]> select(SelectionProblem p, int epoch, ChannelSignals signals) {
        double[][] rgn = signals.reweightedGradientNorms();
        List<Integer> layers = layersForBudget(p, rgn);
        Random random = Strategies.random(p.seed(), epoch);
        List<BudgetFiller.Candidate> pool = new ArrayList<>(BudgetFiller.allChannels(p, layers));
        double[] keys = new double[pool.size()];
        for (int i = 0; i < keys.length; i++) {
            BudgetFiller.Candidate c = pool.get(i);
            double w = rgn[c.layer()][c.channel()];
            // log of u^(1/w); a channel without gradient comes last
            keys[i] = w > 0 ? Math.log(random.nextDouble()) / w : Double.NEGATIVE_INFINITY;
        }
        List<Integer> order = IntStream.range(0, keys.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -keys[i]).thenComparingInt(i -> i)).toList();
        return BudgetFiller.fill(p, order.stream().map(pool::get).toList());
    }

    /** LaRa order, cut at the fewest layers whose channels cost at least the budget. */
    static List<Integer> layersForBudget(SelectionProblem p, double[][] rgn) {
        double[] lara = new double[p.layers()];
        for (int l = 0; l < lara.length; l++) {
            double s = 0;
            for (double v : rgn[l]) {
                s += v;
            }
            lara[l] = s / ((double) p.channels()[l] * p.unitsPerChannel()[l]);
        }
        List<Integer> order = IntStream.range(0, lara.length).boxed()
                .sorted(Comparator.comparingDouble((Integer l) -> -lara[l]).thenComparingInt(l -> l)).toList();
        List<Integer> out = new ArrayList<>();
        long units = 0;
        for (int l : order) {
            if (units >= p.budget()) {
                break;
            }
            out.add(l);
            units += (long) p.channels()[l] * p.unitsPerChannel()[l];
        }
        return out;
    }
}
