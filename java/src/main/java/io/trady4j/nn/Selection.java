package io.trady4j.nn;

import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which input channels of which conv layers are trained, with the indices already on the backend
 * (built once per selection, i.e. once per epoch under TraDy). Layers are numbered as in
 * {@link Architecture#convLayers()}. The classifier is always trained in full. With {@link #trainsConvBiases()}
 * the conv biases of every layer the backward pass reaches are trained too (Lin et al.'s sparse update: a bias gradient is one reduction of the gradient the pass computes anyway, and needs no activation).
 */
public final class Selection implements AutoCloseable {
    private final Architecture architecture;
    private final ChannelIndex[] perLayer;
    private final ChannelIndex classifier;
    private final boolean trainsConvBiases;

    private Selection(Architecture architecture, ChannelIndex[] perLayer, ChannelIndex classifier, boolean trainsConvBiases) {
        this.architecture = architecture;
        this.perLayer = perLayer;
        this.classifier = classifier;
        this.trainsConvBiases = trainsConvBiases;
    }

    /**
     * @param channels layer index → sorted channels to train (layers absent or with an empty array stay frozen)
     */
    public static Selection of(Backend backend, Architecture architecture, Map<Integer, int[]> channels) {
        return of(backend, architecture, channels, false);
    }

    /**
     * @param channels         as {@link #of(Backend, Architecture, Map)}
     * @param trainsConvBiases also train the conv biases of every layer the backward pass reaches
     */
    public static Selection of(Backend backend, Architecture architecture, Map<Integer, int[]> channels,
                               boolean trainsConvBiases) {
        List<ConvLayerSpec> layers = architecture.convLayers();
        ChannelIndex[] per = new ChannelIndex[layers.size()];
        List<ChannelIndex> made = new ArrayList<>();
        try {
            for (Map.Entry<Integer, int[]> e : new TreeMap<>(channels).entrySet()) {
                int li = e.getKey();
                if (li < 0 || li >= layers.size()) {
                    throw new IllegalArgumentException("layer index " + li + " is outside [0, " + layers.size() + ")");
                }
                if (e.getValue().length == 0) {
                    continue;
                }
                per[li] = backend.channelIndex(e.getValue(), layers.get(li).conv().inChannels());
                made.add(per[li]);
            }
            int[] all = new int[architecture.classifier().in()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            ChannelIndex cls = backend.channelIndex(all, all.length);
            return new Selection(architecture, per, cls, trainsConvBiases);
        } catch (RuntimeException e) {
            made.forEach(ChannelIndex::close);
            throw e;
        }
    }

    /** @return the layout this selection is for */
    public Architecture architecture() {
        return architecture;
    }

    /** The channels trained in layer {@code layer}, or null if it is frozen. */
    public ChannelIndex layer(int layer) {
        return perLayer[layer];
    }

    /** @return the classifier's trained input features */
    public ChannelIndex classifier() {
        return classifier;
    }

    /** Whether the conv biases of the layers the backward pass reaches are trained. */
    public boolean trainsConvBiases() {
        return trainsConvBiases;
    }

    /** @return the number of conv layers (trained or frozen) */
    public int layerCount() {
        return perLayer.length;
    }

    /** Host copy: layer index → selected channels, for reports. */
    public Map<Integer, int[]> toMap() {
        Map<Integer, int[]> m = new TreeMap<>();
        for (int i = 0; i < perLayer.length; i++) {
            if (perLayer[i] != null) {
                m.put(i, perLayer[i].toArray());
            }
        }
        return Collections.unmodifiableMap(m);
    }

    @Override
    public void close() {
        for (ChannelIndex c : perLayer) {
            if (c != null) {
                c.close();
            }
        }
        classifier.close();
    }
}
