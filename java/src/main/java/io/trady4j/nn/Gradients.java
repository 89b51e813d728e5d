package io.trady4j.nn;

import io.trady4j.tensor.Tensor;

/**
 * What one forward/backward pass leaves for the optimizer: the sparse weight gradient of every
 * trained conv layer (null for frozen layers), the classifier's gradients, and the loss
 * statistics (F32 [2]: mean loss, number correct) still on the backend.
 */
public final class Gradients implements AutoCloseable {
    private final Tensor[] layers;
    private final Tensor classifierWeight;
    private final Tensor classifierBias;
    private final Tensor stats;
    private final Tensor[] batchNormGamma;
    private final Tensor[] batchNormBeta;
    private final Tensor[] convBiases;

    Gradients(Tensor[] layers, Tensor classifierWeight, Tensor classifierBias, Tensor stats, Tensor[] batchNormGamma,
              Tensor[] batchNormBeta, Tensor[] convBiases) {
        this.convBiases = convBiases;
        this.batchNormGamma = batchNormGamma;
        this.batchNormBeta = batchNormBeta;
        this.layers = layers;
        this.classifierWeight = classifierWeight;
        this.classifierBias = classifierBias;
        this.stats = stats;
    }

    /** dW[:, S] of conv layer {@code layer} in the layout of Conv2dSpec#sparseWeightGradShape, or null if frozen. */
    public Tensor layer(int layer) {
        return layers[layer];
    }

    /** @return the classifier's weight gradient dW [K, |S|] over its selected input features */
    public Tensor classifierWeight() {
        return classifierWeight;
    }

    /** @return the classifier's bias gradient [K] */
    public Tensor classifierBias() {
        return classifierBias;
    }

    /** @return the loss statistics, F32 [2]: mean loss, number of correct predictions (still on the backend) */
    public Tensor stats() {
        return stats;
    }

    /** dγ of conv layer {@code layer}'s BatchNorm when the network trains BN and the backward pass reached it, else null. */
    public Tensor batchNormGamma(int layer) {
        return batchNormGamma[layer];
    }

    /** dβ, as {@link #batchNormGamma}. */
    public Tensor batchNormBeta(int layer) {
        return batchNormBeta[layer];
    }

    /** db [outChannels] of conv layer {@code layer} when the selection trains conv biases and the pass reached it, else null. */
    public Tensor convBias(int layer) {
        return convBiases[layer];
    }

    @Override
    public void close() {
        for (Tensor t : layers) {
            if (t != null) {
                t.close();
            }
        }
        for (Tensor[] a : new Tensor[][]{batchNormGamma, batchNormBeta, convBiases}) {
            for (Tensor t : a) {
                if (t != null) {
                    t.close();
                }
            }
        }
        classifierWeight.close();
        classifierBias.close();
        stats.close();
    }
}
