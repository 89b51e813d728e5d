package io.trady4j.train;

import io.trady4j.backend.Conv2dSpec;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.Gradients;
import io.trady4j.nn.Network;
import io.trady4j.nn.Selection;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Tensor;
import io.trady4j.trady.ChannelSignals;
import io.trady4j.trady.RgnAccumulator;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Channel signals measured on the network at its current weights: RGN from the full gradient, i.e. one
 * pass over the whole training split (as many batches as a training epoch takes, without augmentation
 * and without updates), and input-channel weight norms. A Det-RGN strategy thus pays one extra
 * forward-backward epoch per selection: it is the oracle the paper compares against, not a method that
 * fits in the budget.
 */
final class NetworkSignals implements ChannelSignals {
    private final Network network;
    private final BatchSource source;
    private final long[] unitsPerChannel;
    private final int batchSize;
    private final int batches;

    /** @param batches the batches of a training epoch (the whole split unless the run caps its epochs) */
    NetworkSignals(Network network, BatchSource source, long[] unitsPerChannel, int batchSize, int batches) {
        this.network = network;
        this.source = source;
        this.unitsPerChannel = unitsPerChannel;
        this.batchSize = batchSize;
        this.batches = batches;
    }

    /**
     * RGN(c) = ||dW[:, c]||₂ / Θspace(c) of the full gradient: the loss's gradient over the pass, i.e. the
     * batch gradients (each a mean over its batch) weighted by their batch sizes and summed, over the images.
     */
    @Override
    public double[][] reweightedGradientNorms() {
        List<ConvLayerSpec> layers = network.architecture().convLayers();
        Conv2dSpec[] specs = layers.stream().map(ConvLayerSpec::conv).toArray(Conv2dSpec[]::new);
        double[][] sum = new double[specs.length][];
        Map<Integer, int[]> all = new HashMap<>();
        for (int i = 0; i < specs.length; i++) {
            all.put(i, IntStream.range(0, specs[i].inChannels()).toArray());
            sum[i] = new double[specs[i].sparseWeightGradShape(specs[i].inChannels()).numel()];
        }
        var backend = network.backend();
        long images = 0;
        try (Selection full = Selection.of(backend, network.architecture(), all);
             BatchStream it = source.batches(0, batchSize, false)) {
            for (int b = 0; b < batches && it.hasNext(); b++) {
                HostBatch batch = it.next();
                try (Tensor x = backend.upload(batch.images(), batch.shape(), MemoryCategory.DATA);
                     Tensor y = backend.uploadInts(batch.labels(), io.trady4j.tensor.Shape.of(batch.size()), MemoryCategory.DATA);
                     Gradients g = network.forwardBackward(x, y, full)) {
                    for (int i = 0; i < specs.length; i++) {
                        float[] dw = backend.toFloatArray(g.layer(i));
                        for (int k = 0; k < dw.length; k++) {
                            sum[i][k] += (double) dw[k] * batch.size();
                        }
                    }
                }
                images += batch.size();
            }
        }
        double[][] rgn = new double[specs.length][];
        for (int i = 0; i < specs.length; i++) {
            float[] mean = new float[sum[i].length];
            for (int k = 0; k < mean.length; k++) {
                mean[k] = (float) (sum[i][k] / Math.max(1, images));
            }
            rgn[i] = RgnAccumulator.channelNorms(specs[i], mean);
            for (int c = 0; c < rgn[i].length; c++) {
                rgn[i][c] /= unitsPerChannel[i];
            }
        }
        return rgn;
    }

    @Override
    public double[][] weightNorms() {
        List<ConvLayerSpec> layers = network.architecture().convLayers();
        double[][] out = new double[layers.size()][];
        for (int i = 0; i < layers.size(); i++) {
            Conv2dSpec s = layers.get(i).conv();
            float[] w = network.backend().toFloatArray(network.weight(i));
            int cg = s.inPerGroup(), mg = s.outPerGroup(), d2 = s.kernel() * s.kernel();
            double[] n = new double[s.inChannels()];
            for (int o = 0; o < s.outChannels(); o++) {
                int g = o / mg;
                for (int cl = 0; cl < cg; cl++) {
                    int off = (o * cg + cl) * d2;
                    for (int k = 0; k < d2; k++) {
                        n[g * cg + cl] += (double) w[off + k] * w[off + k];
                    }
                }
            }
            for (int c = 0; c < n.length; c++) {
                n[c] = Math.sqrt(n[c]);
            }
            out[i] = n;
        }
        return out;
    }
}
