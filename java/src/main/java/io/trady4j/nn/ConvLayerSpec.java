package io.trady4j.nn;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Conv2dSpec;

/**
 * A convolution of the architecture: its geometry, the activation fused after it, and the
 * parameter names it loads from (torchvision state-dict prefixes: {@code name + ".weight"}, and the
 * BatchNorm that follows it, {@code batchNorm + ".weight/.bias/.running_mean/.running_var"}, folded
 * into weight and bias at load time). {@code batchNorm} is null for a conv without BN.
 */
public record ConvLayerSpec(String name, Conv2dSpec conv, Activation activation, String batchNorm, double bnEps,
                            boolean bias) {
}
