package io.trady4j.trady;

import io.trady4j.backend.Conv2dSpec;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.LayerGeometry;
import io.trady4j.nn.LinearLayerSpec;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The paper's cost model (TRADY.md §2), per conv layer and per input channel, for one input sample
 * (batch-1 accounting), in memory units (one stored scalar; 4 bytes in fp32):
 * <pre>
 *   weight cost      Cw = C'/g · D²           (depthwise: D²)
 *   activation cost  Ca = H · W               (the layer's input spatial size)
 *   space cost       Θspace = Cw + Ca
 *   dW cost          Θtime = D² · C'/g · H' · W'   multiply-adds (×2 for FLOPs)
 * </pre>
 * All channels of a layer cost the same, so a layer is described by its per-channel costs and its
 * channel count C; layer totals are C × per-channel. Full fine-tuning = every input channel of every
 * conv layer. The classifier (trained in full, outside the budget) is reported on its own: per input
 * feature Cw = O, Ca = 1, Θtime = O (the 1×1, H = W = 1 case), plus its bias (O units)
 * <b>(our choice: the bias is counted with the classifier's weights since it is trained too)</b>.
 *
 * <p>Check against the paper: {@code mbv2-w0.35} at 128×128 gives exactly the paper's 1,252,320 units
 * (288,864 weight + 963,456 activation units over 52 conv layers, the stem conv and the 112→448
 * feature-mix conv included), i.e. the paper counts MIT's fp model with its feature-mix layer. The
 * variant of tiny-training's shipped int8 model, without feature mix ({@code ModelZoo.paperModel(name,
 * classes, false)}), gives 1,200,352, and no other resolution gives the figure (144: 1,520,056).
 * At 128, mcunet-in1 gives 1,309,808 and proxyless-w0.3 1,162,032 (1,123,632 without feature mix).
 */
public final class CostModel {
    /** Bytes of one memory unit (one float32 value). */
    public static final int BYTES_PER_UNIT = 4;

    /** Costs of one conv layer at the model's resolution; per-channel figures and totals over its C inputs. */
    public record LayerCost(int index, ConvLayerSpec layer, int inHeight, int inWidth, int outHeight, int outWidth) {
        /** @return the layer's name */
        public String name() {
            return layer.name();
        }

        /** @return the layer's convolution */
        public Conv2dSpec conv() {
            return layer.conv();
        }

        /** C: the number of input channels (the units of selection). */
        public int channels() {
            return conv().inChannels();
        }

        /** Cw = C'/g · D² of one input channel. */
        public long weightUnitsPerChannel() {
            return (long) conv().outPerGroup() * conv().kernel() * conv().kernel();
        }

        /** Ca = H · W of one input channel. */
        public long activationUnitsPerChannel() {
            return (long) inHeight * inWidth;
        }

        /** Θspace = Cw + Ca of one input channel. */
        public long spaceUnitsPerChannel() {
            return weightUnitsPerChannel() + activationUnitsPerChannel();
        }

        /** Θtime = D² · C'/g · H' · W' multiply-adds of one input channel's weight gradient, per sample. */
        public long dwMacsPerChannel() {
            return weightUnitsPerChannel() * outHeight * outWidth;
        }

        /** @return C · Cw: the layer's weight units */
        public long weightUnits() {
            return channels() * weightUnitsPerChannel();
        }

        /** @return C · Ca: the units of the layer's cached input */
        public long activationUnits() {
            return channels() * activationUnitsPerChannel();
        }

        /** Σ Θspace over all input channels: the units full fine-tuning of this layer needs. */
        public long totalUnits() {
            return channels() * spaceUnitsPerChannel();
        }

        /** @return C · Θtime: multiply-adds of the layer's full weight gradient, per sample */
        public long dwMacs() {
            return channels() * dwMacsPerChannel();
        }

        /** 2 × {@link #dwMacs()}. */
        public long dwFlops() {
            return 2 * dwMacs();
        }
    }

    /** The classifier's cost: F input features, O outputs, trained in full. */
    public record ClassifierCost(LinearLayerSpec layer) {
        /** Weights O·F plus the bias O if any. */
        public long weightUnits() {
            return (long) layer.out() * layer.in() + (layer.bias() ? layer.out() : 0);
        }

        /** The F pooled features it keeps for its weight gradient. */
        public long activationUnits() {
            return layer.in();
        }

        /** @return weights plus cached features, the units training the classifier needs */
        public long totalUnits() {
            return weightUnits() + activationUnits();
        }

        /** O·F multiply-adds for its weight gradient, per sample. */
        public long dwMacs() {
            return (long) layer.out() * layer.in();
        }
    }

    private final Architecture arch;
    private final int resolution;
    private final List<LayerCost> layers;
    private final Map<String, LayerCost> byName = new LinkedHashMap<>();
    private final ClassifierCost classifier;

    private CostModel(Architecture arch, int resolution) {
        this.arch = arch;
        this.resolution = resolution;
        List<LayerCost> out = new ArrayList<>();
        int i = 0;
        for (LayerGeometry g : arch.geometry(resolution)) {
            LayerCost c = new LayerCost(i++, g.layer(), g.inHeight(), g.inWidth(), g.outHeight(), g.outWidth());
            out.add(c);
            byName.put(c.name(), c);
        }
        this.layers = Collections.unmodifiableList(out);
        this.classifier = new ClassifierCost(arch.classifier());
    }

    /** The cost model of {@code arch} at a square input of {@code resolution} pixels. */
    public static CostModel of(Architecture arch, int resolution) {
        if (resolution < 1) {
            throw new IllegalArgumentException("resolution must be >= 1, got " + resolution);
        }
        return new CostModel(arch, resolution);
    }

    /** @return the architecture costed */
    public Architecture architecture() {
        return arch;
    }

    /** @return the square input resolution in pixels */
    public int resolution() {
        return resolution;
    }

    /** Every conv layer in {@link Architecture#convLayers()} order. */
    public List<LayerCost> layers() {
        return layers;
    }

    /**
     * @param name a conv layer's name
     * @return its costs
     * @throws IllegalArgumentException if the architecture has no such layer
     */
    public LayerCost layer(String name) {
        LayerCost c = byName.get(name);
        if (c == null) {
            throw new IllegalArgumentException("no conv layer '" + name + "' in " + arch.name());
        }
        return c;
    }

    /** @return the classifier's costs */
    public ClassifierCost classifier() {
        return classifier;
    }

    /** Σ over all conv layers of C·Cw. */
    public long totalWeightUnits() {
        return layers.stream().mapToLong(LayerCost::weightUnits).sum();
    }

    /** Σ over all conv layers of C·Ca. */
    public long totalActivationUnits() {
        return layers.stream().mapToLong(LayerCost::activationUnits).sum();
    }

    /** Full fine-tuning of every conv layer, classifier excluded (the paper's 1,252,320 for MobileNetV2-w0.35 at 128). */
    public long totalUnits() {
        return layers.stream().mapToLong(LayerCost::totalUnits).sum();
    }

    /** @return Σ over all conv layers of their full weight gradients' multiply-adds, per sample */
    public long totalDwMacs() {
        return layers.stream().mapToLong(LayerCost::dwMacs).sum();
    }

    /**
     * @param units memory units
     * @return their bytes ({@value #BYTES_PER_UNIT} per unit)
     */
    public static long bytes(long units) {
        return units * BYTES_PER_UNIT;
    }
}
