package io.trady4j.nn;

import java.util.ArrayList;
import java.util.List;

/**
 * A CNN as data: blocks of convs, global average pooling, one linear classifier. Parameter-free,
 * so the cost model and the schedule can reason about it without a backend.
 */
public record Architecture(String name, int inChannels, List<BlockSpec> blocks, LinearLayerSpec classifier) {
    /** Copies the block list (the record is immutable). */
    public Architecture {
        blocks = List.copyOf(blocks);
    }

    /** Every conv in forward order (a block's convs, then its shortcut). */
    public List<ConvLayerSpec> convLayers() {
        List<ConvLayerSpec> out = new ArrayList<>();
        for (BlockSpec b : blocks) {
            out.addAll(b.convs());
            if (b.shortcut() != null) {
                out.add(b.shortcut());
            }
        }
        return out;
    }

    /** Input and output spatial sizes of every conv at a square input resolution, in {@link #convLayers()} order. */
    public List<LayerGeometry> geometry(int resolution) {
        List<LayerGeometry> out = new ArrayList<>();
        int size = resolution;
        int channels = inChannels;
        for (BlockSpec b : blocks) {
            int blockIn = size;
            int blockInChannels = channels;
            for (ConvLayerSpec c : b.convs()) {
                if (c.conv().inChannels() != channels) {
                    throw new IllegalStateException("conv " + c.name() + " expects " + c.conv().inChannels()
                            + " input channels but receives " + channels);
                }
                int o = c.conv().outSize(size);
                out.add(new LayerGeometry(c, size, size, o, o));
                size = o;
                channels = c.conv().outChannels();
            }
            if (b.shortcut() != null) {
                ConvLayerSpec s = b.shortcut();
                int o = s.conv().outSize(blockIn);
                out.add(new LayerGeometry(s, blockIn, blockIn, o, o));
                if (o != size || s.conv().outChannels() != channels) {
                    throw new IllegalStateException("shortcut " + s.name() + " does not match block " + b.name());
                }
            } else if (b.residual() && (blockIn != size || blockInChannels != channels)) {
                throw new IllegalStateException("identity residual of block " + b.name() + " changes shape");
            }
            if (b.maxPoolAfter() != null) {
                MaxPoolSpec p = b.maxPoolAfter();
                size = (size + 2 * p.padding() - p.kernel()) / p.stride() + 1;
            }
        }
        if (channels != classifier.in()) {
            throw new IllegalStateException("classifier expects " + classifier.in() + " features but receives " + channels);
        }
        return out;
    }

    /** The same network with a classifier of {@code classes} outputs. */
    public Architecture withClasses(int classes) {
        return new Architecture(name, inChannels, blocks,
                new LinearLayerSpec(classifier.name(), classifier.in(), classes, classifier.bias()));
    }
}
