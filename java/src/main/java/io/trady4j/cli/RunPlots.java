package io.trady4j.cli;

import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.report.BarChart;
import io.trady4j.report.Canvas;
import io.trady4j.report.LineChart;
import io.trady4j.report.SelectionMap;
import io.trady4j.trady.CostModel;
import io.trady4j.trady.LayerRanking;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The plots of the CLI's jobs, made from what they save: a finetune's run reports (JSON, one per
 * strategy), a layer ranking, a cost model.
 */
final class RunPlots {
    private RunPlots() {
    }

    /** Train loss, test loss and test top-1 per epoch, one line per strategy (reports as parsed JSON, by strategy). */
    static Canvas curves(String title, Map<String, Map<String, Object>> reports) {
        List<LineChart.Series> trainLoss = new ArrayList<>(), testLoss = new ArrayList<>(), top1 = new ArrayList<>();
        reports.forEach((strategy, report) -> {
            List<Map<String, Object>> epochs = epochs(report);
            double[] x = epochs.stream().mapToDouble(e -> number(e, "epoch")).toArray();
            trainLoss.add(new LineChart.Series(strategy, x, epochs.stream().mapToDouble(e -> number(e, "train_loss")).toArray(), null));
            testLoss.add(new LineChart.Series(strategy, x, epochs.stream().mapToDouble(e -> number(e, "test_loss")).toArray(), null));
            top1.add(new LineChart.Series(strategy, x, epochs.stream().mapToDouble(e -> 100 * number(e, "test_top1")).toArray(),
                    null));
        });
        return LineChart.render(title, List.of(
                new LineChart.Panel("training loss", "epoch", "mean cross-entropy", trainLoss),
                new LineChart.Panel("test loss", "epoch", "mean cross-entropy", testLoss),
                new LineChart.Panel("test top-1", "epoch", "top-1 accuracy (%)", top1)));
    }

    /**
     * The channels a run selected per layer and epoch, for the layers it ever trained (in network order), or null
     * when it trained no conv channel (classifier) or every channel every epoch (full: nothing to see).
     */
    static Canvas selection(String title, Map<String, Object> report, Architecture arch) {
        List<Map<String, Object>> epochs = epochs(report);
        Map<String, Integer> channels = new LinkedHashMap<>();
        for (ConvLayerSpec l : arch.convLayers()) {
            channels.put(l.name(), l.conv().inChannels());
        }
        Map<String, List<int[]>> byLayer = new LinkedHashMap<>();
        channels.keySet().forEach(n -> byLayer.put(n, new ArrayList<>()));
        boolean everyChannel = true;
        for (Map<String, Object> e : epochs) {
            Map<?, ?> sel = e.get("selection") instanceof Map<?, ?> m ? m : Map.of();
            for (Map.Entry<String, Integer> l : channels.entrySet()) {
                int[] s = sel.get(l.getKey()) instanceof List<?> list
                        ? list.stream().mapToInt(v -> ((Number) v).intValue()).toArray() : new int[0];
                byLayer.get(l.getKey()).add(s);
                everyChannel &= s.length == l.getValue();
            }
        }
        List<SelectionMap.Layer> layers = new ArrayList<>();
        byLayer.forEach((name, perEpoch) -> {
            if (perEpoch.stream().anyMatch(s -> s.length > 0)) {
                layers.add(new SelectionMap.Layer(name, channels.get(name), perEpoch));
            }
        });
        if (layers.isEmpty() || everyChannel) {
            return null;
        }
        long budget = epochs.isEmpty() ? 0 : (long) number(epochs.getFirst(), "budget_units");
        String subtitle = String.format(Locale.ROOT, "%d of %d conv layers trained; rows: epochs 1-%d (top to bottom); "
                + "dark: selected input channel; number: channels selected%s", layers.size(), channels.size(), epochs.size(),
                budget > 0 ? String.format(Locale.ROOT, "; budget %,d units", budget) : "");
        return SelectionMap.render(title, subtitle, layers, epochs.size());
    }

    /** Layer scores (share of the total), highest first, the top-K layers coloured and cut off from the rest. */
    static Canvas ranking(LayerRanking r) {
        List<Integer> top = r.topK(LayerRanking.DEFAULT_MASS);
        double total = java.util.Arrays.stream(r.scores()).sum();
        List<BarChart.Bar> bars = new ArrayList<>();
        for (int i : r.order()) {
            bars.add(new BarChart.Bar(r.layerNames().get(i), new double[]{100 * r.scores()[i] / Math.max(total, Double.MIN_VALUE)},
                    !top.contains(i)));
        }
        return BarChart.render(String.format(Locale.ROOT, "Layer ranking of %s at %dx%d by RGN on %s (%d epoch%s)",
                        r.architecture(), r.resolution(), r.resolution(), r.task(), r.epochs(), r.epochs() == 1 ? "" : "s"),
                "share of the total score (%)", List.of("layer score"), bars,
                new BarChart.Cut(top.size(), String.format(Locale.ROOT, "top-K = %d layers hold %.0f%% of the score", top.size(),
                        100 * LayerRanking.DEFAULT_MASS)));
    }

    /** Per conv layer (network order): weight units and activation units, stacked. */
    static Canvas cost(CostModel cost) {
        List<BarChart.Bar> bars = new ArrayList<>();
        for (CostModel.LayerCost l : cost.layers()) {
            bars.add(new BarChart.Bar(l.name(), new double[]{l.weightUnits(), l.activationUnits()}, false));
        }
        return BarChart.render(String.format(Locale.ROOT, "Cost of updating each layer in full: %s at %dx%d (%,d units in all)",
                        cost.architecture().name(), cost.resolution(), cost.resolution(), cost.totalUnits()),
                "memory units (4 bytes each)", List.of("weight units", "activation units"), bars, null);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> epochs(Map<String, Object> report) {
        Object e = report.get("epochs");
        if (!(e instanceof List<?> list)) {
            return List.of();
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : list) {
            if (o instanceof Map<?, ?> m) {
                out.add((Map<String, Object>) m);
            }
        }
        out.sort(Comparator.comparingDouble(m -> number(m, "epoch")));
        return out;
    }

    private static double number(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
