package io.trady4j.trady;

import io.trady4j.io.AtomicFiles;
import io.trady4j.io.FormatException;
import io.trady4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Layer scores S_i = Σ_c RGN(c) accumulated over epochs of full fine-tuning (TRADY.md §3), and the
 * top-K layers whose scores reach a fraction (97%) of the total. Saved as JSON per architecture.
 */
public record LayerRanking(String architecture, int resolution, String task, int epochs, List<String> layerNames,
                           double[] scores) {
    /** The fraction of the total score the top-K layers reach (the paper's 97%). */
    public static final double DEFAULT_MASS = 0.97;

    /**
     * Checks the ranking.
     *
     * @throws IllegalArgumentException unless there is one finite, non-negative score per layer
     */
    public LayerRanking {
        if (layerNames.size() != scores.length) {
            throw new IllegalArgumentException("one score per layer is needed");
        }
        for (double s : scores) {
            if (!Double.isFinite(s) || s < 0) {
                throw new IllegalArgumentException("layer scores must be finite and >= 0, got " + s);
            }
        }
        layerNames = List.copyOf(layerNames);
        scores = scores.clone();
    }

    /** Layer indices by decreasing score. */
    public List<Integer> order() {
        return IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -scores[i]).thenComparingInt(i -> i)).toList();
    }

    /** The smallest set of best-ranked layers whose scores sum to at least {@code mass} of the total, best first. */
    public List<Integer> topK(double mass) {
        if (!(mass > 0 && mass <= 1)) {
            throw new IllegalArgumentException("score mass must be in (0, 1], got " + mass);
        }
        double total = 0;
        for (double s : scores) {
            total += s;
        }
        List<Integer> out = new ArrayList<>();
        double acc = 0;
        for (int i : order()) {
            if (total > 0 && acc >= mass * total) {
                break;
            }
            out.add(i);
            acc += scores[i];
        }
        return out;
    }

    /**
     * Writes the ranking as JSON (atomically).
     *
     * @param path the file
     * @throws IOException if it cannot be written
     */
    public void save(Path path) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", architecture);
        m.put("resolution", resolution);
        m.put("task", task);
        m.put("epochs", epochs);
        List<Object> layers = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("index", i);
            l.put("name", layerNames.get(i));
            l.put("score", scores[i]);
            layers.add(l);
        }
        m.put("layers", layers);
        m.put("top_k_97", topK(DEFAULT_MASS));
        AtomicFiles.writeString(path, Json.writePretty(m));
    }

    /** Reads a ranking written by {@link #save}; anything else (or anything inconsistent) is a {@link FormatException}. */
    public static LayerRanking load(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            throw new FormatException(path + " is a directory, not a layer ranking");
        }
        String text;
        try {
            text = Files.readString(path);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new FormatException(path + ": not a layer ranking (the file is not UTF-8 text)");
        }
        Object root;
        try {
            root = Json.parse(text);
        } catch (FormatException e) {
            throw new FormatException(path + ": not a layer ranking (" + e.getMessage() + ")");
        }
        String what = path + ": not a trady4j layer ranking";
        if (!(root instanceof Map<?, ?> m) || !(m.get("layers") instanceof List<?> layers)
                || !(m.get("architecture") instanceof String arch) || !(m.get("task") instanceof String task)
                || !(m.get("resolution") instanceof Long res) || !(m.get("epochs") instanceof Long epochs)) {
            throw new FormatException(what + " (it needs architecture, resolution, task, epochs and layers)");
        }
        if (res < 1 || res > 1 << 16 || epochs < 0 || epochs > Integer.MAX_VALUE) {
            throw new FormatException(path + ": resolution " + res + " or epochs " + epochs + " is out of range");
        }
        if (layers.isEmpty()) {
            throw new FormatException(path + ": the ranking has no layers");
        }
        List<String> names = new ArrayList<>();
        double[] scores = new double[layers.size()];
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < scores.length; i++) {
            if (!(layers.get(i) instanceof Map<?, ?> l) || !(l.get("name") instanceof String name)
                    || !(l.get("score") instanceof Number score)) {
                throw new FormatException(what + " (layer " + i + " needs a name and a score)");
            }
            if (l.get("index") != null && !Long.valueOf(i).equals(l.get("index"))) {
                throw new FormatException(path + ": layer " + name + " is listed at position " + i + " with index "
                        + l.get("index"));
            }
            if (!seen.add(name)) {
                throw new FormatException(path + ": layer " + name + " is listed twice");
            }
            double v = score.doubleValue();
            if (!Double.isFinite(v) || v < 0) {
                throw new FormatException(path + ": layer " + name + " has score " + v + "; scores must be finite and >= 0");
            }
            names.add(name);
            scores[i] = v;
        }
        return new LayerRanking(arch, (int) (long) res, task, (int) (long) epochs, names, scores);
    }
}
