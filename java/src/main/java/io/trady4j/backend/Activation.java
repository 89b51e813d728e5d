package io.trady4j.backend;

import java.util.Locale;

/** Activation fused into a layer's output. Backward passes use the post-activation output y. */
public enum Activation {
    /** The identity. */
    NONE,
    /** max(0, x). */
    RELU,
    /** min(max(0, x), 6), MobileNetV2's activation. */
    RELU6;

    /** The activation; NaN stays NaN (as in PyTorch), so a poisoned input reaches the loss and stops the run. */
    public float apply(float v) {
        return switch (this) {
            case NONE -> v;
            case RELU -> v <= 0f ? 0f : v;
            case RELU6 -> v <= 0f ? 0f : (v >= 6f ? 6f : v);
        };
    }

    /** Derivative expressed through the output y = act(x), as PyTorch computes it. */
    public boolean passesGradient(float y) {
        return switch (this) {
            case NONE -> true;
            case RELU -> y > 0f;
            case RELU6 -> y > 0f && y < 6f;
        };
    }

    /** Code shared with the C ABI (TRADY4J_ACT_*). */
    public int code() {
        return ordinal();
    }

    /**
     * @param name "none", "relu" or "relu6" (any case)
     * @return the activation
     * @throws IllegalArgumentException for another name
     */
    public static Activation parse(String name) {
        for (Activation a : values()) {
            if (a.name().toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown activation '" + name + "' (expected none, relu or relu6)");
    }
}
