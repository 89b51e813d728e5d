package io.trady4j.study;

import io.trady4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One fine-tuning run of the grid: its key and its run report, compacted (per epoch the number of channels
 * selected per layer instead of the channel lists).
 */
public record GridRun(Key key, Map<String, Object> settings, Map<String, Object> report) {

    /** target × strategy × budget (NaN for strategies without one: full, classifier) × seed. */
    public record Key(String target, String strategy, double budgetPercent, int seed) {
        public String budgetLabel() {
            return Double.isNaN(budgetPercent) ? "-" : String.format(Locale.ROOT, "%.1f%%", budgetPercent);
        }

        String slug() {
            String b = Double.isNaN(budgetPercent) ? "all" : String.format(Locale.ROOT, "b%.2f", budgetPercent);
            return GridRun.slug(target) + "_" + strategy + "_" + b + "_seed" + seed;
        }
    }

    static String slug(String text) {
        return text.replaceAll("[^A-Za-z0-9.-]+", "");
    }

    @SuppressWarnings("unchecked")
    static GridRun of(Key key, Map<String, Object> settings, Map<String, Object> fullReport) {
        Map<String, Object> r = new LinkedHashMap<>(fullReport);
        List<Object> epochs = new ArrayList<>();
        for (Object o : (List<Object>) fullReport.get("epochs")) {
            Map<String, Object> e = new LinkedHashMap<>((Map<String, Object>) o);
            Map<String, Object> sel = (Map<String, Object>) e.remove("selection");
            Map<String, Object> counts = new LinkedHashMap<>();
            if (sel != null) {
                sel.forEach((layer, channels) -> counts.put(layer, channels instanceof int[] a ? a.length : ((List<?>) channels).size()));
            }
            e.put("selected_channels_per_layer", counts);
            epochs.add(e);
        }
        r.put("epochs", epochs);
        return new GridRun(key, settings, r);
    }

    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> epochs() {
        return (List<Map<String, Object>>) report.get("epochs");
    }

    /** The last epoch's test top-1; 0 for a run that diverged before finishing an epoch. */
    public double finalTop1() {
        return epochs().isEmpty() ? 0 : num(epochs().getLast().get("test_top1"));
    }

    /** Why the run was stopped as diverged (NaN loss, loss blow-up or stuck at chance), or null if it was not. */
    public String diverged() {
        return report.get("diverged") instanceof String reason ? reason : null;
    }

    /**
     * The attempts abandoned because they diverged before this run was trained at a smaller learning rate
     * ({@link LearningRateFallback}); empty when the searched rate held.
     */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> fallbacks() {
        return report.get("learning_rate_fallbacks") instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
    }

    GridRun withFallbacks(List<Map<String, Object>> abandoned) {
        Map<String, Object> r = new LinkedHashMap<>(report);
        r.put("learning_rate_fallbacks", List.copyOf(abandoned));
        return new GridRun(key, settings, r);
    }

    /** The learning rate this run was trained at. */
    public double learningRate() {
        return num(settings.get("learning_rate"));
    }

    public double seconds() {
        return epochs().stream().mapToDouble(e -> num(e.get("seconds"))).sum();
    }

    /** Mean over epochs of a per-epoch number. */
    public double meanOverEpochs(String field) {
        return epochs().stream().mapToDouble(e -> num(e.get(field))).average().orElse(Double.NaN);
    }

    /** Per-epoch values of a field. */
    public double[] perEpoch(String field) {
        return epochs().stream().mapToDouble(e -> num(e.get(field))).toArray();
    }

    /** 1 − (activation-gradient path FLOPs / those of full fine-tuning), per epoch. */
    public double[] gradientPathSaved() {
        return epochs().stream().mapToDouble(e -> 1 - num(e.get("gradient_path_flops_per_sample"))
                / num(e.get("full_gradient_path_flops_per_sample"))).toArray();
    }

    /** Mean over epochs of a measured peak byte count (activation_cache, weight_gradient, gradient_path, ...). */
    @SuppressWarnings("unchecked")
    public double meanPeakBytes(String category) {
        return epochs().stream().mapToDouble(e -> num(((Map<String, Object>) e.get("measured_peak_bytes")).get(category)))
                .average().orElse(Double.NaN);
    }

    static double num(Object o) {
        return o == null ? Double.NaN : ((Number) o).doubleValue();
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("target", key.target());
        m.put("strategy", key.strategy());
        m.put("budget_percent", Double.isNaN(key.budgetPercent()) ? null : key.budgetPercent());
        m.put("seed", key.seed());
        m.put("settings", settings);
        m.put("report", report);
        return m;
    }

    void save(Path file) throws IOException {
        Study.writeJson(file, toJson());
    }

    @SuppressWarnings("unchecked")
    static GridRun loadIfMatching(Path file, Map<String, Object> settings) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        Map<String, Object> m;
        try {
            m = (Map<String, Object>) Json.parse(Files.readString(file));
        } catch (RuntimeException | IOException e) {
            return null;
        }
        if (!Json.write(m.get("settings")).equals(Json.write(settings))) {
            return null;
        }
        Object b = m.get("budget_percent");
        Key key = new Key((String) m.get("target"), (String) m.get("strategy"), b == null ? Double.NaN : ((Number) b).doubleValue(),
                ((Number) m.get("seed")).intValue());
        return new GridRun(key, settings, (Map<String, Object>) m.get("report"));
    }
}
