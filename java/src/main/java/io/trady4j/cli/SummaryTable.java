package io.trady4j.cli;

import io.trady4j.train.RunReport;
import io.trady4j.trady.CostModel;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The final comparison table of a fine-tuning job, one row per strategy, from the run reports. */
final class SummaryTable {
    private SummaryTable() {
    }

    @SuppressWarnings("unchecked")
    static void print(PrintStream out, Map<String, RunReport> reports, CostModel cost) {
        out.println();
        out.printf(Locale.ROOT, "%-14s %7s %15s %8s %8s %8s %11s %11s %11s %8s%n", "strategy", "top-1", "units (max)",
                "act.sp", "w.d.sp", "dW saved", "cache KiB", "dW KiB", "path KiB", "s/epoch");
        for (Map.Entry<String, RunReport> e : reports.entrySet()) {
            Map<String, Object> json = e.getValue().toJson();
            Map<String, Object> s = (Map<String, Object>) json.get("summary");
            List<Map<String, Object>> epochs = (List<Map<String, Object>>) json.get("epochs");
            long cache = 0, dw = 0, path = 0;
            for (Map<String, Object> ep : epochs) {
                Map<String, Object> b = (Map<String, Object>) ep.get("measured_peak_bytes");
                cache = Math.max(cache, num(b.get("activation_cache")));
                dw = Math.max(dw, num(b.get("weight_gradient")));
                path = Math.max(path, num(b.get("gradient_path")));
            }
            out.printf(Locale.ROOT, "%-14s %6.2f%% %,15d %7.1f%% %7.1f%% %7.1f%% %,11.1f %,11.1f %,11.1f %8.1f%n", e.getKey(),
                    100 * dbl(s.get("final_test_top1")), num(s.get("max_selected_units")),
                    100 * dbl(s.get("mean_activation_sparsity")), 100 * dbl(s.get("mean_weight_derivative_sparsity")),
                    100 * dbl(s.get("mean_dw_flops_saved")), cache / 1024.0, dw / 1024.0, path / 1024.0, medianSeconds(epochs));
        }
        reports.forEach((name, r) -> {
            if (r.diverged() != null) {
                out.println("flagged: " + name + " was stopped as diverged (" + r.diverged() + "); its top-1 is of its last epoch");
            } else if (r.nearChance()) {
                out.println("flagged: " + name + " ends near chance");
            }
        });
        out.printf(Locale.ROOT, "units: selected Θspace per sample (full fine-tuning: %,d); sparsities and dW saved vs full, "
                + "per the paper; KiB: peak bytes the engine held per step for the batch (cached inputs incl. classifier, "
                + "weight gradients incl. classifier, activation-gradient path); s/epoch: the median epoch's seconds "
                + "(training and evaluation), so the JIT warm-up of whichever strategy runs first, mostly in its first "
                + "epoch, does not count against it%n", cost.totalUnits());
    }

    /** The median of the epochs' seconds (the mean of the middle two for an even count); 0 without epochs. */
    static double medianSeconds(List<Map<String, Object>> epochs) {
        double[] t = epochs.stream().mapToDouble(e -> dbl(e.get("seconds"))).sorted().toArray();
        if (t.length == 0) {
            return 0;
        }
        return t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
    }

    private static long num(Object o) {
        return o == null ? 0 : ((Number) o).longValue();
    }

    private static double dbl(Object o) {
        return o == null ? 0 : ((Number) o).doubleValue();
    }
}
