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
 * Channel signals measured on the network at its current weights: RGN from the full gradient of a
 * few training batches (no update), and input-channel weight norms.
 */
final class NetworkSignals implements ChannelSignals {
    private final Network network;
    private final BatchSource source;
    private final long[] unitsPerChannel;
    private final int batchSize;
    private final int batches;
    private final int epoch;

    NetworkSignals(Network network, BatchSource source, long[] unitsPerChannel, int batchSize, int batches, int epoch) {
        this.network = network;
        this.source = source;
        this.unitsPerChannel = unitsPerChannel;
        this.batchSize = batchSize;
        this.batches = batches;
        this.epoch = epoch;
    }

    @Override
    public double[][] reweightedGradientNorms() {
        List<ConvLayerSpec> layers = network.architecture().convLayers();
        Conv2dSpec[] specs = layers.stream().map(ConvLayerSpec::conv).toArray(Conv2dSpec[]::new);
        RgnAccumulator acc = new RgnAccumulator(specs, unitsPerChannel);
        Map<Integer, int[]> all = new HashMap<>();
        for (int i = 0; i < specs.length; i++) {
            all.put(i, IntStream.range(0, specs[i].inChannels()).toArray());
        }
        var backend = network.backend();
        try (Selection full = Selection.of(backend, network.architecture(), all)) {
            try (BatchStream it = source.batches(epoch, batchSize, true)) {
            for (int b = 0; b < batches && it.hasNext(); b++) {
                HostBatch batch = it.next();
                try (Tensor x = backend.upload(batch.images(), batch.shape(), MemoryCategory.DATA);
                     Tensor y = backend.uploadInts(batch.labels(), io.trady4j.tensor.Shape.of(batch.size()), MemoryCategory.DATA);
                     Gradients g = network.forwardBackward(x, y, full)) {
                    for (int i = 0; i < specs.length; i++) {
                        acc.add(i, backend.toFloatArray(g.layer(i)));
                    }
                    acc.endStep();
                }
            }
            }
        }
        acc.endEpoch();
        return acc.channelScores();
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
