package io.trady4j.nn;

import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import io.trady4j.backend.Backend;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The BatchNorm of every conv layer that has one ({@link ConvLayerSpec#batchNorm()} not null), unfolded on a
 * backend for pretraining: γ and β (trained), the running mean and variance (updated by every training
 * forward pass with PyTorch's momentum 0.1). Host maps use the state-dict names
 * {@code <batchNorm>.weight/.bias/.running_mean/.running_var}, so {@link Network#parameters()} plus
 * {@link #toHost()} is a state dict that {@link HostWeights#fromStateDict} folds.
 */
final class BatchNormLayers implements AutoCloseable {
    /** PyTorch's default running-average momentum. */
    static final double MOMENTUM = 0.1;

    private final Backend backend;
    private final List<ConvLayerSpec> layers;
    private final Tensor[] gamma, beta, runningMean, runningVar;

    private BatchNormLayers(Backend backend, List<ConvLayerSpec> layers) {
        this.backend = backend;
        this.layers = layers;
        int n = layers.size();
        gamma = new Tensor[n];
        beta = new Tensor[n];
        runningMean = new Tensor[n];
        runningVar = new Tensor[n];
    }

    /** γ = 1, β = 0, running mean 0, running variance 1 for every BN of {@code arch}, named as {@link #toHost()} names them. */
    static Map<String, float[]> identity(Architecture arch) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (ConvLayerSpec c : arch.convLayers()) {
            if (c.batchNorm() != null) {
                int o = c.conv().outChannels();
                float[] ones = new float[o];
                java.util.Arrays.fill(ones, 1f);
                m.put(c.batchNorm() + ".weight", ones);
                m.put(c.batchNorm() + ".bias", new float[o]);
                m.put(c.batchNorm() + ".running_mean", new float[o]);
                m.put(c.batchNorm() + ".running_var", ones.clone());
            }
        }
        return m;
    }

    /** Uploads {@code state} (every BN's four vectors, as {@link #identity} names them); anything missing or misshapen is refused. */
    static BatchNormLayers upload(Backend backend, Architecture arch, Map<String, float[]> state) {
        BatchNormLayers b = new BatchNormLayers(backend, arch.convLayers());
        try {
            for (int i = 0; i < b.layers.size(); i++) {
                ConvLayerSpec c = b.layers.get(i);
                if (c.batchNorm() == null) {
                    continue;
                }
                Shape s = Shape.of(c.conv().outChannels());
                b.gamma[i] = vector(backend, state, c.batchNorm() + ".weight", s);
                b.beta[i] = vector(backend, state, c.batchNorm() + ".bias", s);
                b.runningMean[i] = vector(backend, state, c.batchNorm() + ".running_mean", s);
                b.runningVar[i] = vector(backend, state, c.batchNorm() + ".running_var", s);
            }
            return b;
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    private static Tensor vector(Backend backend, Map<String, float[]> state, String key, Shape s) {
        float[] v = state.get(key);
        if (v == null || v.length != s.numel()) {
            throw new IllegalArgumentException("BatchNorm parameter '" + key + "' is " + (v == null ? "missing"
                    : "of " + v.length + " values, expected " + s));
        }
        return backend.upload(v, s, MemoryCategory.PARAMETER);
    }

    /** Whether any conv layer has a BatchNorm. */
    boolean any() {
        return java.util.Arrays.stream(gamma).anyMatch(java.util.Objects::nonNull);
    }

    boolean has(int layer) {
        return gamma[layer] != null;
    }

    double eps(int layer) {
        return layers.get(layer).bnEps();
    }

    Tensor gamma(int layer) {
        return gamma[layer];
    }

    Tensor beta(int layer) {
        return beta[layer];
    }

    Tensor runningMean(int layer) {
        return runningMean[layer];
    }

    Tensor runningVar(int layer) {
        return runningVar[layer];
    }

    /** Every BN's four vectors copied to the host. */
    Map<String, float[]> toHost() {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            if (has(i)) {
                String bn = layers.get(i).batchNorm();
                m.put(bn + ".weight", backend.toFloatArray(gamma[i]));
                m.put(bn + ".bias", backend.toFloatArray(beta[i]));
                m.put(bn + ".running_mean", backend.toFloatArray(runningMean[i]));
                m.put(bn + ".running_var", backend.toFloatArray(runningVar[i]));
            }
        }
        return m;
    }

    /**
     * Folds the running statistics into conv weights (host copies of {@link Network#parameters()}): per output
     * channel s = γ/√(var + ε), W ← s·W, b ← β − s·mean. The conv's own bias is not used under BN (β takes its
     * place, as the batch mean removes any constant), so it is replaced.
     */
    void foldInto(Map<String, float[]> params) {
        Map<String, float[]> host = toHost();
        for (ConvLayerSpec c : layers) {
            if (c.batchNorm() == null) {
                continue;
            }
            float[] g = host.get(c.batchNorm() + ".weight"), be = host.get(c.batchNorm() + ".bias");
            float[] mean = host.get(c.batchNorm() + ".running_mean"), var = host.get(c.batchNorm() + ".running_var");
            float[] w = params.get(c.name() + ".weight").clone();
            int o = c.conv().outChannels(), per = w.length / o;
            float[] bias = new float[o];
            for (int k = 0; k < o; k++) {
                double s = g[k] / Math.sqrt((double) var[k] + c.bnEps());
                for (int e = k * per; e < (k + 1) * per; e++) {
                    w[e] = (float) (w[e] * s);
                }
                bias[k] = (float) (be[k] - s * mean[k]);
            }
            params.put(c.name() + ".weight", w);
            params.put(c.name() + ".bias", bias);
        }
    }

    List<Tensor> all() {
        List<Tensor> out = new ArrayList<>();
        for (Tensor[] a : new Tensor[][]{gamma, beta, runningMean, runningVar}) {
            for (Tensor t : a) {
                if (t != null) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        all().forEach(Tensor::close);
    }
}
