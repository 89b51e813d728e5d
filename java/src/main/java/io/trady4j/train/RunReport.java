package io.trady4j.train;

import io.trady4j.io.AtomicFiles;
import io.trady4j.io.Json;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.SelectionMetrics;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON report of one run: settings, and per epoch the losses and accuracies, the selection
 * (channels per layer), the paper's figures for it (activation and weight-derivative sparsity, dW
 * FLOPs saved), the activation-gradient path's FLOPs, and the bytes the engine actually held
 * (peaks measured by the backend's meter during training steps); whether the run was stopped as diverged
 * ({@code diverged}: the reason, or null) and whether it ended near chance ({@code summary.near_chance}).
 */
public final class RunReport {
    private final Map<String, Object> settings;
    private final CostModel cost;
    private final long budget;
    private final List<EpochResult> epochs = new ArrayList<>();
    private final List<Map<String, Object>> epochJson = new ArrayList<>();
    private String diverged;
    private LearningRateSearch learningRateSearch;
    private Map<String, Object> baseModel;

    /**
     * @param settings the run's settings (written as given)
     * @param cost     the model's cost model (for the paper's figures per epoch)
     * @param budget   the run's budget in units
     */
    public RunReport(Map<String, Object> settings, CostModel cost, long budget) {
        this.settings = new LinkedHashMap<>(settings);
        this.cost = cost;
        this.budget = budget;
    }

    /** The run's settings as given (job, model, task, ...). */
    public Map<String, Object> settings() {
        return java.util.Collections.unmodifiableMap(settings);
    }

    /** @param r a finished epoch, appended to the report */
    public void add(EpochResult r) {
        epochs.add(r);
        epochJson.add(toJson(r));
    }

    /** Restores the epochs of an interrupted run from its checkpoint state (JSON objects as {@link #epochJson()} gives). */
    public void addSaved(List<Map<String, Object>> saved) {
        epochJson.addAll(saved);
    }

    /** @return the epochs as the JSON objects the report writes */
    public List<Map<String, Object>> epochJson() {
        return List.copyOf(epochJson);
    }

    /** Flags the run as diverged (it stopped early for {@code reason}, see {@link DivergenceWatch}). */
    public void flagDiverged(String reason) {
        diverged = reason;
    }

    /** Records what the run started from: the base model's file and, when trady4j pretrained it, its source test top-1. */
    public void recordBaseModel(Map<String, Object> baseModel) {
        this.baseModel = new LinkedHashMap<>(baseModel);
    }

    /** Records how the run's learning rate was chosen. */
    public void recordLearningRateSearch(LearningRateSearch search) {
        learningRateSearch = search;
    }

    /** @return why the run was stopped as diverged, or null if it was not */
    public String diverged() {
        return diverged;
    }

    /** @return whether the last epoch's test top-1 is near chance ({@link DivergenceWatch#nearChance}) */
    public boolean nearChance() {
        return !epochJson.isEmpty() && DivergenceWatch.nearChance(
                ((Number) epochJson.getLast().get("test_top1")).doubleValue(), classes());
    }

    private int classes() {
        return cost.architecture().classifier().out();
    }

    /** @return the epochs added in this process (not those restored by {@link #addSaved}) */
    public List<EpochResult> epochs() {
        return List.copyOf(epochs);
    }

    private Map<String, Object> toJson(EpochResult r) {
        SelectionMetrics m = SelectionMetrics.of(cost, r.selection(), budget);
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("epoch", r.epoch() + 1);
        e.put("train_loss", r.trainLoss());
        e.put("train_top1", r.trainAccuracy());
        e.put("test_loss", r.testLoss());
        e.put("test_top1", r.testAccuracy());
        e.put("steps", r.steps());
        e.put("images", r.images());
        e.put("seconds", r.seconds());
        Map<String, Object> sel = new LinkedHashMap<>();
        List<ConvLayerSpec> layers = cost.architecture().convLayers();
        r.selection().forEach((layer, channels) -> sel.put(layers.get(layer).name(), channels));
        e.put("selection", sel);
        e.put("selected_units", m.selectedUnits());
        e.put("budget_units", budget);
        e.put("trained_layers", m.trainedLayers());
        e.put("selected_channels", m.selectedChannels());
        e.put("activation_sparsity", m.activationSparsity());
        e.put("weight_derivative_sparsity", m.weightDerivativeSparsity());
        e.put("dw_flops_saved", m.dwFlopsSaved());
        e.put("dw_flops_per_sample", m.dwFlops());
        e.put("full_dw_flops_per_sample", m.fullDwFlops());
        e.put("gradient_path_flops_per_sample", m.gradientPathFlops());
        e.put("full_gradient_path_flops_per_sample", m.fullGradientPathFlops());
        Map<String, Object> bytes = new LinkedHashMap<>();
        for (MemoryCategory c : MemoryCategory.values()) {
            bytes.put(c.name().toLowerCase(Locale.ROOT), r.peakBytes().getOrDefault(c, 0L));
        }
        e.put("measured_peak_bytes", bytes);
        return e;
    }

    /** @return the whole report as JSON-ready maps and lists */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>(settings);
        m.put("full_finetuning_units", cost.totalUnits());
        m.put("classifier_units", cost.classifier().totalUnits());
        m.put("diverged", diverged);
        if (baseModel != null) {
            m.put("base_model", baseModel);
        }
        if (learningRateSearch != null) {
            m.put("learning_rate_search", learningRateSearch.toJson());
        }
        m.put("epochs", epochJson);
        if (!epochJson.isEmpty()) {
            Map<String, Object> last = epochJson.getLast();
            double seconds = epochJson.stream().mapToDouble(x -> ((Number) x.get("seconds")).doubleValue()).sum();
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("final_test_top1", last.get("test_top1"));
            s.put("chance_top1", 1.0 / classes());
            s.put("near_chance", nearChance());
            s.put("best_test_top1", epochJson.stream().mapToDouble(x -> ((Number) x.get("test_top1")).doubleValue()).max().orElse(0));
            s.put("mean_activation_sparsity", mean("activation_sparsity"));
            s.put("mean_weight_derivative_sparsity", mean("weight_derivative_sparsity"));
            s.put("mean_dw_flops_saved", mean("dw_flops_saved"));
            s.put("max_selected_units", epochJson.stream().mapToLong(x -> ((Number) x.get("selected_units")).longValue()).max().orElse(0));
            s.put("seconds", seconds);
            m.put("summary", s);
        }
        return m;
    }

    private double mean(String key) {
        return epochJson.stream().mapToDouble(x -> ((Number) x.get(key)).doubleValue()).average().orElse(0);
    }

    /**
     * Writes the report as JSON (atomically).
     *
     * @param path the file
     * @throws IOException if it cannot be written
     */
    public void save(Path path) throws IOException {
        AtomicFiles.writeString(path, Json.writePretty(toJson()));
    }
}
