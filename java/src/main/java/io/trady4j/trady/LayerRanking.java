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
    public static final double DEFAULT_MASS = 0.97;

    public LayerRanking {
        if (layerNames.size() != scores.length) {
            throw new IllegalArgumentException("one score per layer is needed");
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

    public static LayerRanking load(Path path) throws IOException {
        Object root = Json.parse(Files.readString(path));
        try {
            Map<?, ?> m = (Map<?, ?>) root;
            List<?> layers = (List<?>) m.get("layers");
            List<String> names = new ArrayList<>();
            double[] scores = new double[layers.size()];
            for (int i = 0; i < scores.length; i++) {
                Map<?, ?> l = (Map<?, ?>) layers.get(i);
                names.add((String) l.get("name"));
                scores[i] = ((Number) l.get("score")).doubleValue();
            }
            return new LayerRanking((String) m.get("architecture"), ((Number) m.get("resolution")).intValue(),
                    (String) m.get("task"), ((Number) m.get("epochs")).intValue(), names, scores);
        } catch (ClassCastException | NullPointerException e) {
            throw new FormatException(path + ": not a trady4j layer ranking");
        }
    }
}
