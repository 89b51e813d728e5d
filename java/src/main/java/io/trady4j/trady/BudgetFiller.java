package io.trady4j.trady;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Adds candidate channels in the given order while the running Σ Θspace stays within the budget;
 * a channel that would overshoot is skipped and the next one tried (TRADY.md §4, our choice), so the
 * budget is never exceeded.
 */
final class BudgetFiller {
    private BudgetFiller() {
    }

    /** A candidate: channel {@code channel} of layer {@code layer}. */
    record Candidate(int layer, int channel) {
    }

    static Map<Integer, int[]> fill(SelectionProblem p, List<Candidate> ordered) {
        long used = 0;
        long cheapest = Long.MAX_VALUE;
        for (Candidate c : ordered) {
            cheapest = Math.min(cheapest, p.unitsPerChannel()[c.layer()]);
        }
        Map<Integer, List<Integer>> chosen = new TreeMap<>();
        for (Candidate c : ordered) {
            long cost = p.unitsPerChannel()[c.layer()];
            if (used + cost <= p.budget()) {
                used += cost;
                chosen.computeIfAbsent(c.layer(), k -> new ArrayList<>()).add(c.channel());
            }
            if (p.budget() - used < cheapest) {
                break;
            }
        }
        Map<Integer, int[]> out = new TreeMap<>();
        chosen.forEach((layer, list) -> {
            int[] a = list.stream().mapToInt(Integer::intValue).toArray();
            Arrays.sort(a);
            out.put(layer, a);
        });
        return out;
    }

    /** Every channel of the given layers, in layer order. */
    static List<Candidate> allChannels(SelectionProblem p, List<Integer> layers) {
        List<Candidate> out = new ArrayList<>();
        for (int l : layers) {
            for (int c = 0; c < p.channels()[l]; c++) {
                out.add(new Candidate(l, c));
            }
        }
        return out;
    }

    /** Units a selection costs. */
    static long units(SelectionProblem p, Map<Integer, int[]> selection) {
        long u = 0;
        for (Map.Entry<Integer, int[]> e : selection.entrySet()) {
            u += p.unitsPerChannel()[e.getKey()] * e.getValue().length;
        }
        return u;
    }
}
