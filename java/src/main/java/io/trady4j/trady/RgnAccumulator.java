package io.trady4j.trady;

import io.trady4j.backend.Conv2dSpec;
import io.trady4j.io.FormatException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Accumulates RGN(c) = ||dW[:, c]||₂ / Θspace(c) per conv layer and input channel from full weight
 * gradients: averaged over the steps of an epoch, then summed over epochs (TRADY.md §3).
 */
public final class RgnAccumulator {
    private final Conv2dSpec[] specs;
    private final long[] unitsPerChannel;
    private final double[][] epochSum;
    private final double[][] total;
    private int steps;
    private int epochs;

    /**
     * @param specs           the conv layers, in Architecture#convLayers order
     * @param unitsPerChannel Θspace of one input channel of each layer
     */
    public RgnAccumulator(Conv2dSpec[] specs, long[] unitsPerChannel) {
        this.specs = specs.clone();
        this.unitsPerChannel = unitsPerChannel.clone();
        this.epochSum = new double[specs.length][];
        this.total = new double[specs.length][];
        for (int i = 0; i < specs.length; i++) {
            epochSum[i] = new double[specs[i].inChannels()];
            total[i] = new double[specs[i].inChannels()];
        }
    }

    /**
     * Per-channel gradient norms of a full-selection weight gradient laid out as
     * [C'/g, C, D, D] (Conv2dSpec#sparseWeightGradShape with every channel selected).
     */
    public static double[] channelNorms(Conv2dSpec spec, float[] fullGrad) {
        int c = spec.inChannels(), mg = spec.outPerGroup(), d2 = spec.kernel() * spec.kernel();
        if (fullGrad.length != mg * c * d2) {
            throw new IllegalArgumentException("gradient of " + fullGrad.length + " values does not match " + spec);
        }
        double[] norms = new double[c];
        for (int o = 0; o < mg; o++) {
            for (int ch = 0; ch < c; ch++) {
                int off = (o * c + ch) * d2;
                double s = 0;
                for (int k = 0; k < d2; k++) {
                    s += (double) fullGrad[off + k] * fullGrad[off + k];
                }
                norms[ch] += s;
            }
        }
        for (int ch = 0; ch < c; ch++) {
            norms[ch] = Math.sqrt(norms[ch]);
        }
        return norms;
    }

    /** Adds one step's full gradient of layer {@code layer}. Call {@link #endStep()} after all layers. */
    public void add(int layer, float[] fullGrad) {
        double[] n = channelNorms(specs[layer], fullGrad);
        for (int c = 0; c < n.length; c++) {
            epochSum[layer][c] += n[c] / unitsPerChannel[layer];
        }
    }

    /** Ends a step: every layer's gradient of this step was added. */
    public void endStep() {
        steps++;
    }

    /** Ends an epoch: adds the epoch's per-step mean to the totals (nothing if it had no steps). */
    public void endEpoch() {
        if (steps == 0) {
            return;
        }
        for (int l = 0; l < specs.length; l++) {
            for (int c = 0; c < epochSum[l].length; c++) {
                total[l][c] += epochSum[l][c] / steps;
                epochSum[l][c] = 0;
            }
        }
        steps = 0;
        epochs++;
    }

    /** @return the epochs accumulated so far */
    public int epochs() {
        return epochs;
    }

    /** Everything gathered so far (completed epochs and the current one's steps), as JSON values for a checkpoint. */
    public Map<String, Object> state() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epochs", epochs);
        m.put("steps", steps);
        m.put("total", rows(total));
        m.put("epoch_sum", rows(epochSum));
        return m;
    }

    /** Takes back what {@link #state()} wrote, for the same layers; anything else is a FormatException. */
    public void restore(Object state) throws FormatException {
        if (!(state instanceof Map<?, ?> m) || !(m.get("epochs") instanceof Number e) || !(m.get("steps") instanceof Number s)
                || e.longValue() < 0 || e.longValue() > Integer.MAX_VALUE || s.longValue() < 0
                || s.longValue() > Integer.MAX_VALUE) {
            throw new FormatException("RGN sums: expected epochs, steps, total and epoch_sum");
        }
        double[][] t = matrix(m.get("total"), "total"), es = matrix(m.get("epoch_sum"), "epoch_sum");
        for (int l = 0; l < specs.length; l++) {
            total[l] = t[l];
            epochSum[l] = es[l];
        }
        epochs = e.intValue();
        steps = s.intValue();
    }

    private static List<List<Double>> rows(double[][] values) {
        List<List<Double>> out = new ArrayList<>();
        for (double[] row : values) {
            out.add(Arrays.stream(row).boxed().toList());
        }
        return out;
    }

    private double[][] matrix(Object value, String name) throws FormatException {
        if (!(value instanceof List<?> rows) || rows.size() != specs.length) {
            throw new FormatException("RGN sums: " + name + " must hold one row per conv layer (" + specs.length + ")");
        }
        double[][] out = new double[specs.length][];
        for (int l = 0; l < specs.length; l++) {
            if (!(rows.get(l) instanceof List<?> row) || row.size() != specs[l].inChannels()) {
                throw new FormatException("RGN sums: " + name + " row " + l + " must hold " + specs[l].inChannels()
                        + " channels");
            }
            out[l] = new double[row.size()];
            for (int c = 0; c < row.size(); c++) {
                if (!(row.get(c) instanceof Number v) || !Double.isFinite(v.doubleValue()) || v.doubleValue() < 0) {
                    throw new FormatException("RGN sums: " + name + "[" + l + "][" + c + "] is not a finite number >= 0");
                }
                out[l][c] = v.doubleValue();
            }
        }
        return out;
    }

    /** Per-channel RGN summed over completed epochs. */
    public double[][] channelScores() {
        double[][] out = new double[total.length][];
        for (int l = 0; l < total.length; l++) {
            out[l] = total[l].clone();
        }
        return out;
    }

    /** S_i = Σ_c RGN(c) per layer, over completed epochs. */
    public double[] layerScores() {
        double[] s = new double[total.length];
        for (int l = 0; l < total.length; l++) {
            for (double v : total[l]) {
                s[l] += v;
            }
        }
        return s;
    }
}
