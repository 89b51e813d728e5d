package io.trady4j.tensor;

/**
 * What a block of backend memory is for. The engine meters live and peak bytes per category, so
 * that reports state the memory actually held (for cached activations, weight gradients, ...)
 * rather than figures computed from the cost model.
 */
public enum MemoryCategory {
    /** Weights and biases of the model. */
    PARAMETER,
    /** Channel-gathered inputs A[:, S] kept by the forward pass for the weight gradient. */
    ACTIVATION_CACHE,
    /** Sparse weight gradients dW[:, S] (and the classifier's gradient). */
    WEIGHT_GRADIENT,
    /** Momentum buffers. */
    OPTIMIZER_STATE,
    /**
     * What the activation-gradient path needs between the loss and the deepest selected layer:
     * activation masks and the activation gradients themselves (not counted by the paper).
     */
    GRADIENT_PATH,
    /** Layer outputs that live only during the forward pass, and other scratch space. */
    WORKSPACE,
    /** Input batches and labels. */
    DATA
}
