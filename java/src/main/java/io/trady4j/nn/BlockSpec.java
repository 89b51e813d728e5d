package io.trady4j.nn;

import io.trady4j.backend.Activation;

import java.util.List;

/**
 * A block: convs applied in order; if {@code residual}, the block input (through {@code shortcut}
 * when it is not null, e.g. ResNet's 1×1 downsample) is added to the last conv's output, and
 * {@code afterAdd} is applied to the sum. {@code maxPoolAfter} (nullable) pools the block output.
 * Without a residual, afterAdd must be NONE (the last conv carries its own fused activation).
 */
public record BlockSpec(String name, List<ConvLayerSpec> convs, ConvLayerSpec shortcut, boolean residual,
                        Activation afterAdd, MaxPoolSpec maxPoolAfter) {
    /**
     * Checks the block.
     *
     * @throws IllegalArgumentException if it has no conv, a shortcut or after-add activation without a residual
     */
    public BlockSpec {
        convs = List.copyOf(convs);
        if (convs.isEmpty()) {
            throw new IllegalArgumentException("block " + name + " has no conv");
        }
        if (shortcut != null && !residual) {
            throw new IllegalArgumentException("block " + name + " has a shortcut conv but no residual");
        }
        if (!residual && afterAdd != Activation.NONE) {
            throw new IllegalArgumentException("block " + name + " has an after-add activation but no residual");
        }
    }

    /**
     * A block without residual, shortcut or pooling.
     *
     * @param name  the block's name (parameter prefix)
     * @param convs its convolutions, in order
     * @return the block
     */
    public static BlockSpec plain(String name, List<ConvLayerSpec> convs) {
        return new BlockSpec(name, convs, null, false, Activation.NONE, null);
    }
}
