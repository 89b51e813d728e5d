package io.trady4j.study;

import io.trady4j.io.Json;
import io.trady4j.trady.LayerRanking;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One ranking run of the study: the layer ranking, and per epoch the per-channel RGN (conv layer × input
 * channel, mean over the epoch's steps of ||dW[:, c]||₂ / Θspace(c)) from which the analyses take gradient
 * norms (RGN × Θspace), channel ranks and tail indices.
 */
public record RankingRun(String label, String task, long seed, Map<String, Object> settings, LayerRanking ranking,
                         List<String> layerNames, long[] unitsPerChannel, List<double[][]> epochRgn, double seconds) {

    /** RGN summed over epochs (the ranking's channel scores). */
    public double[][] channelRgn() {
        double[][] sum = new double[layerNames.size()][];
        for (int l = 0; l < sum.length; l++) {
            sum[l] = new double[epochRgn.getFirst()[l].length];
            for (double[][] e : epochRgn) {
                for (int c = 0; c < sum[l].length; c++) {
                    sum[l][c] += e[l][c];
                }
            }
        }
        return sum;
    }

    /** Σ_c ‖dW[:, c]‖₂ per layer, summed over epochs: the layer score without the Θspace reweighting. */
    public double[] rawLayerScores() {
        double[][] rgn = channelRgn();
        double[] out = new double[rgn.length];
        for (int l = 0; l < rgn.length; l++) {
            for (double v : rgn[l]) {
                out[l] += v * unitsPerChannel[l];
            }
        }
        return out;
    }

    /** C_i / Θspace_i per layer: what S_i would be if every channel's gradient norm were 1 (architecture only). */
    public double[] architectureOnlyScores() {
        double[][] rgn = channelRgn();
        double[] out = new double[rgn.length];
        for (int l = 0; l < rgn.length; l++) {
            out[l] = (double) rgn[l].length / unitsPerChannel[l];
        }
        return out;
    }

    /** Mean gradient norms ||dW[:, c]||₂ of epoch {@code epoch} (0-based), every channel of every layer, in layer order. */
    public double[] pooledNorms(int epoch) {
        double[][] e = epochRgn.get(epoch);
        List<Double> all = new ArrayList<>();
        for (int l = 0; l < e.length; l++) {
            for (double v : e[l]) {
                all.add(v * unitsPerChannel[l]);
            }
        }
        return all.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** RGN of epoch {@code epoch}, every channel of every layer, in layer order. */
    public double[] pooledRgn(int epoch) {
        double[][] e = epochRgn.get(epoch);
        List<Double> all = new ArrayList<>();
        for (double[] layer : e) {
            for (double v : layer) {
                all.add(v);
            }
        }
        return all.stream().mapToDouble(Double::doubleValue).toArray();
    }

    Map<String, Object> toJson(boolean withEpochChannels) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("label", label);
        m.put("task", task);
        m.put("seed", seed);
        m.put("settings", settings);
        m.put("seconds", seconds);
        m.put("layer_names", layerNames);
        List<Object> units = new ArrayList<>();
        for (long u : unitsPerChannel) {
            units.add(u);
        }
        m.put("units_per_channel", units);
        m.put("layer_scores", ranking.scores());
        m.put("top_k_97", ranking.topK(LayerRanking.DEFAULT_MASS));
        if (withEpochChannels) {
            List<Object> epochs = new ArrayList<>();
            for (double[][] e : epochRgn) {
                epochs.add(matrix(e));
            }
            m.put("epoch_channel_rgn", epochs);
        } else {
            m.put("channel_rgn", matrix(channelRgn()));
        }
        return m;
    }

    private static List<Object> matrix(double[][] e) {
        List<Object> rows = new ArrayList<>();
        for (double[] row : e) {
            List<Object> r = new ArrayList<>();
            for (double v : row) {
                r.add(round(v));
            }
            rows.add(r);
        }
        return rows;
    }

    /** Six significant digits: plenty for ranks and tails, and a third of the bytes. */
    static double round(double v) {
        if (v == 0 || !Double.isFinite(v)) {
            return v;
        }
        return new java.math.BigDecimal(v).round(new java.math.MathContext(6)).doubleValue();
    }

    void save(Path file) throws IOException {
        Study.writeJson(file, toJson(true));
    }

    /** The cached run at {@code file} if it exists and was made with exactly these settings, else null. */
    @SuppressWarnings("unchecked")
    static RankingRun loadIfMatching(Path file, Map<String, Object> settings, String label) throws IOException {
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
        List<String> names = (List<String>) m.get("layer_names");
        long[] units = ((List<Object>) m.get("units_per_channel")).stream().mapToLong(o -> ((Number) o).longValue()).toArray();
        double[] scores = ((List<Object>) m.get("layer_scores")).stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
        List<double[][]> epochs = new ArrayList<>();
        for (Object e : (List<Object>) m.get("epoch_channel_rgn")) {
            List<Object> rows = (List<Object>) e;
            double[][] a = new double[rows.size()][];
            for (int l = 0; l < a.length; l++) {
                a[l] = ((List<Object>) rows.get(l)).stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
            }
            epochs.add(a);
        }
        Map<String, Object> st = (Map<String, Object>) m.get("settings");
        LayerRanking r = new LayerRanking((String) st.get("model"), ((Number) st.get("resolution")).intValue(), (String) m.get("task"),
                epochs.size(), names, scores);
        return new RankingRun(label, (String) m.get("task"), ((Number) m.get("seed")).longValue(), settings, r, names, units,
                epochs, ((Number) m.get("seconds")).doubleValue());
    }
}
