package io.trady4j.nn;

import io.trady4j.backend.Backend;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Eval-mode forward pass of an {@link Architecture} with folded {@link HostWeights} on any {@link Backend}:
 * blocks in order (convs with fused activations; residual add through the shortcut conv or identity,
 * then the after-add activation; optional max pooling), global average pooling, the classifier. It keeps
 * no activations for a backward pass: it is the reference the training engine's forward must agree with.
 *
 * <p>The weights are uploaded once (category PARAMETER) and freed by {@link #close()}.
 */
public final class InferenceRunner implements AutoCloseable {
    private final Backend backend;
    private final Architecture arch;
    private final Map<String, Tensor> weights = new LinkedHashMap<>();
    private final Map<String, Tensor> biases = new LinkedHashMap<>();
    private final Tensor classifierWeight;
    private final Tensor classifierBias;

    public InferenceRunner(Backend backend, HostWeights hostWeights) {
        this.backend = backend;
        this.arch = hostWeights.architecture();
        for (ConvLayerSpec c : arch.convLayers()) {
            weights.put(c.name(), backend.upload(hostWeights.convWeight(c.name()), c.conv().weightShape(),
                    MemoryCategory.PARAMETER));
            biases.put(c.name(), backend.upload(hostWeights.convBias(c.name()), Shape.of(c.conv().outChannels()),
                    MemoryCategory.PARAMETER));
        }
        LinearLayerSpec cls = arch.classifier();
        classifierWeight = backend.upload(hostWeights.classifierWeight(), Shape.of(cls.out(), cls.in()),
                MemoryCategory.PARAMETER);
        classifierBias = hostWeights.classifierBias() == null ? null
                : backend.upload(hostWeights.classifierBias(), Shape.of(cls.out()), MemoryCategory.PARAMETER);
    }

    public Architecture architecture() {
        return arch;
    }

    /** Logits [B, classes] (row-major) of a batch of images x [B, inChannels, H, W] (row-major). */
    public float[] logits(float[] input, int batch, int height, int width) {
        Shape inShape = Shape.of(batch, arch.inChannels(), height, width);
        Tensor x = backend.upload(input, inShape, MemoryCategory.DATA);
        try (Tensor out = logits(x)) {
            return backend.toFloatArray(out);
        } finally {
            x.close();
        }
    }

    /** Logits [B, classes] of x [B, inChannels, H, W] already on the backend; the caller closes the result. */
    public Tensor logits(Tensor input) {
        if (input.shape().rank() != 4 || input.shape().dim(1) != arch.inChannels()) {
            throw new IllegalArgumentException("input must be [B, " + arch.inChannels() + ", H, W], got " + input.shape());
        }
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor x = input;
            for (BlockSpec b : arch.blocks()) {
                Tensor blockIn = x;
                for (ConvLayerSpec c : b.convs()) {
                    Tensor y = backend.allocate(c.conv().outputShape(x.shape()), MemoryCategory.WORKSPACE);
                    owned.add(y);
                    backend.conv2d(x, weights.get(c.name()), biases.get(c.name()), c.conv(), c.activation(), y);
                    x = y;
                }
                if (b.residual()) {
                    Tensor skip = blockIn;
                    if (b.shortcut() != null) {
                        ConvLayerSpec s = b.shortcut();
                        skip = backend.allocate(s.conv().outputShape(blockIn.shape()), MemoryCategory.WORKSPACE);
                        owned.add(skip);
                        backend.conv2d(blockIn, weights.get(s.name()), biases.get(s.name()), s.conv(), s.activation(), skip);
                    }
                    if (!skip.shape().equals(x.shape())) {
                        throw new IllegalStateException("residual of block " + b.name() + " adds " + skip.shape()
                                + " to " + x.shape());
                    }
                    backend.add(x, skip, x);
                    backend.activation(b.afterAdd(), x, x);
                }
                if (b.maxPoolAfter() != null) {
                    MaxPoolSpec p = b.maxPoolAfter();
                    Shape s = x.shape();
                    int oh = (s.dim(2) + 2 * p.padding() - p.kernel()) / p.stride() + 1;
                    int ow = (s.dim(3) + 2 * p.padding() - p.kernel()) / p.stride() + 1;
                    Shape os = Shape.of(s.dim(0), s.dim(1), oh, ow);
                    Tensor y = backend.allocate(os, MemoryCategory.WORKSPACE);
                    owned.add(y);
                    try (Tensor argmax = backend.allocate(os, DType.I32, MemoryCategory.WORKSPACE)) {
                        backend.maxPool2d(x, p.kernel(), p.stride(), p.padding(), y, argmax);
                    }
                    x = y;
                }
                // Free what this block no longer needs (everything but its output).
                for (int i = owned.size() - 1; i >= 0; i--) {
                    if (owned.get(i) != x) {
                        owned.remove(i).close();
                    }
                }
            }
            int batch = x.shape().dim(0);
            LinearLayerSpec cls = arch.classifier();
            try (Tensor pooled = backend.allocate(Shape.of(batch, x.shape().dim(1)), MemoryCategory.WORKSPACE)) {
                backend.globalAvgPool(x, pooled);
                Tensor out = backend.allocate(Shape.of(batch, cls.out()), MemoryCategory.WORKSPACE);
                backend.linear(pooled, classifierWeight, classifierBias, out);
                return out;
            }
        } finally {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }

    @Override
    public void close() {
        weights.values().forEach(Tensor::close);
        biases.values().forEach(Tensor::close);
        classifierWeight.close();
        if (classifierBias != null) {
            classifierBias.close();
        }
    }
}
