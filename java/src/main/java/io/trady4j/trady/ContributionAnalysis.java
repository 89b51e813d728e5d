package io.trady4j.trady;

import io.trady4j.io.AtomicFiles;
import io.trady4j.io.FormatException;
import io.trady4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SU's contribution analysis (Lin et al. 2022, §3.2): per conv layer and per ratio of {@link #ratios()}, the
 * validation top-1 gained by fine-tuning that layer alone at that ratio (the first channels) with the classifier,
 * over fine-tuning the classifier alone, from the same base model for the same steps. Saved as JSON per
 * architecture and reused, like a layer ranking.
 *
 * @param gains layer × ratio, in top-1 fractions (may be negative)
 * @param steps training steps of every trial
 */
public record ContributionAnalysis(String architecture, int resolution, String task, int steps, List<String> layerNames,
                                   double[][] gains) {
    /** Checks the table: one finite row of {@link #ratios()}'s length per layer. */
    public ContributionAnalysis {
        if (gains.length != layerNames.size()) {
            throw new IllegalArgumentException("one row of gains per layer is needed");
        }
        for (double[] row : gains) {
            if (row.length != SparseUpdate.RATIOS.length) {
                throw new IllegalArgumentException("one gain per ratio " + java.util.Arrays.toString(SparseUpdate.RATIOS)
                        + " is needed");
            }
            for (double g : row) {
                if (!Double.isFinite(g)) {
                    throw new IllegalArgumentException("gains must be finite, got " + g);
                }
            }
        }
        layerNames = List.copyOf(layerNames);
        gains = java.util.Arrays.stream(gains).map(double[]::clone).toArray(double[][]::new);
    }

    /** @return the channel ratios a layer is tried at (1/8, 1/4, 1/2, 1) */
    public static double[] ratios() {
        return SparseUpdate.RATIOS.clone();
    }

    /** Channels updated at a ratio in a layer of {@code channels} input channels: the first ⌈ratio·channels⌉. */
    public static int channelsAt(int channels, double ratio) {
        return SparseUpdate.channelsAt(channels, ratio);
    }

    /**
     * The gains for {@code arch}'s layers.
     *
     * @throws IllegalArgumentException if the analysis was made for a network with other layers
     */
    public double[][] table(io.trady4j.nn.Architecture arch) {
        List<String> names = arch.convLayers().stream().map(l -> l.name()).toList();
        if (!names.equals(layerNames)) {
            throw new IllegalArgumentException("the contribution analysis was made for " + architecture
                    + " whose layers differ from " + arch.name() + "'s");
        }
        return java.util.Arrays.stream(gains).map(double[]::clone).toArray(double[][]::new);
    }

    /** Writes the analysis as JSON (atomically). */
    public void save(Path path) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", architecture);
        m.put("resolution", resolution);
        m.put("task", task);
        m.put("steps", steps);
        m.put("ratios", java.util.Arrays.stream(SparseUpdate.RATIOS).boxed().toList());
        List<Object> layers = new ArrayList<>();
        for (int i = 0; i < gains.length; i++) {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("name", layerNames.get(i));
            l.put("gains", java.util.Arrays.stream(gains[i]).boxed().toList());
            layers.add(l);
        }
        m.put("layers", layers);
        AtomicFiles.writeString(path, Json.writePretty(m));
    }

    /** Reads an analysis written by {@link #save}; anything else is a {@link FormatException}. */
    public static ContributionAnalysis load(Path path) throws IOException {
        Object root;
        try {
            root = Json.parse(Files.readString(path));
        } catch (FormatException | java.nio.charset.CharacterCodingException e) {
            throw new FormatException(path + ": not a contribution analysis (" + e.getMessage() + ")");
        }
        if (!(root instanceof Map<?, ?> m) || !(m.get("architecture") instanceof String arch)
                || !(m.get("task") instanceof String task) || !(m.get("resolution") instanceof Long res)
                || !(m.get("steps") instanceof Long steps) || !(m.get("layers") instanceof List<?> layers)) {
            throw new FormatException(path + ": not a trady4j contribution analysis");
        }
        List<String> names = new ArrayList<>();
        double[][] gains = new double[layers.size()][];
        for (int i = 0; i < gains.length; i++) {
            if (!(layers.get(i) instanceof Map<?, ?> l) || !(l.get("name") instanceof String name)
                    || !(l.get("gains") instanceof List<?> g) || g.size() != SparseUpdate.RATIOS.length) {
                throw new FormatException(path + ": layer " + i + " needs a name and " + SparseUpdate.RATIOS.length + " gains");
            }
            names.add(name);
            gains[i] = g.stream().mapToDouble(v -> ((Number) v).doubleValue()).toArray();
        }
        try {
            return new ContributionAnalysis(arch, (int) (long) res, task, (int) (long) steps, names, gains);
        } catch (IllegalArgumentException e) {
            throw new FormatException(path + ": " + e.getMessage());
        }
    }
}
