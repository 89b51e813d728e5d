package io.trady4j.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The input channels a per-layer benchmark selects at each density: |S| = max(1, round(d·C))
 * ({@link Layers#selected}), uniformly at random with a fixed seed. The channels come from one
 * random permutation per layer, so the selection at a lower density is part of the one at a
 * higher density and a density sweep changes only |S|, not which channels.
 */
public final class ChannelSelections {
    private ChannelSelections() {
    }

    /** Sorted selections per density, in the order of {@code densities}; the seed mixes in the layer name. */
    public static Map<Double, int[]> forLayer(String layerName, int channels, List<Double> densities, long seed) {
        int[] permutation = permutation(channels, new Random(seed * 31 + layerName.hashCode()));
        Map<Double, int[]> out = new LinkedHashMap<>();
        for (double d : densities) {
            int[] s = Arrays.copyOf(permutation, Layers.selected(d, channels));
            Arrays.sort(s);
            out.put(d, s);
        }
        return out;
    }

    private static int[] permutation(int n, Random rnd) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
