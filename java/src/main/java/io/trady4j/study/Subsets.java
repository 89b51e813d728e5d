package io.trady4j.study;

import io.trady4j.data.Dataset;
import io.trady4j.data.Datasets;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Seeded random stratified subsets: the study's tasks are sampled, not truncated, because data sets in
 * file order (the letters task is rendered font by font) would give the first N samples of a class from
 * one or two fonts only.
 */
final class Subsets {
    private Subsets() {
    }

    /**
     * {@code total} samples (all if total is 0 or at least the size), as equal per class as the class sizes
     * allow (the remainder goes to the lowest labels), drawn uniformly without replacement within each class
     * from {@code seed}; returned in data set order.
     */
    static Dataset randomStratified(Dataset base, int total, long seed) {
        if (total <= 0 || total >= base.size()) {
            return base;
        }
        int k = base.numClasses();
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < base.size(); i++) {
            byClass.get(base.label(i)).add(i);
        }
        int[] quota = new int[k];
        int left = total;
        // water-filling: equal shares, classes too small to fill theirs give the rest to the others
        while (left > 0) {
            int open = 0;
            for (int c = 0; c < k; c++) {
                if (quota[c] < byClass.get(c).size()) {
                    open++;
                }
            }
            if (open == 0) {
                break;
            }
            int share = Math.max(1, left / open);
            for (int c = 0; c < k && left > 0; c++) {
                int add = Math.min(Math.min(share, byClass.get(c).size() - quota[c]), left);
                quota[c] += add;
                left -= add;
            }
        }
        List<Integer> chosen = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            List<Integer> idx = new ArrayList<>(byClass.get(c));
            Collections.shuffle(idx, new Random(seed * 1_000_003L + c));
            chosen.addAll(idx.subList(0, quota[c]));
        }
        int[] out = chosen.stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(out);
        return Datasets.subset(base, out, base.name() + "[" + out.length + " random, seed " + seed + "]");
    }
}
