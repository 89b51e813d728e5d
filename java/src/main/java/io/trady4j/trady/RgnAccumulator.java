package io.trady4j.trady;

import io.trady4j.backend.Conv2dSpec;

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

    public void endStep() {
        steps++;
    }

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

    public int epochs() {
        return epochs;
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
