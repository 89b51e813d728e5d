package io.trady4j.nn;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.SgdStep;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An {@link Architecture} with its parameters on a backend, and the TraDy training pass:
 * the forward pass keeps only the selected input channels of trained layers (masked forward
 * with channel-gathered caching), the backward pass runs from the loss down to the deepest
 * trained layer and no further, and weight gradients are computed only for the selected slices.
 *
 * <p>Every tensor of a pass is freed as soon as it is dead, so the backend's {@code MemoryMeter}
 * peaks are the memory this scheme really needs.
 */
public final class Network implements AutoCloseable {
    private final Backend backend;
    private final Architecture architecture;
    private final List<ConvLayerSpec> layers;
    private final int[] blockStart;
    private final Tensor[] weights;
    private final Tensor[] biases;
    private final Tensor classifierWeight;
    private final Tensor classifierBias;

    private Network(Backend backend, Architecture architecture, Tensor[] weights, Tensor[] biases, Tensor cw, Tensor cb) {
        this.backend = backend;
        this.architecture = architecture;
        this.layers = architecture.convLayers();
        this.weights = weights;
        this.biases = biases;
        this.classifierWeight = cw;
        this.classifierBias = cb;
        this.blockStart = new int[architecture.blocks().size()];
        int li = 0;
        for (int b = 0; b < blockStart.length; b++) {
            blockStart[b] = li;
            BlockSpec block = architecture.blocks().get(b);
            li += block.convs().size() + (block.shortcut() == null ? 0 : 1);
        }
    }

    /**
     * Uploads parameters named {@code <layer>.weight} / {@code <layer>.bias} (BatchNorm already
     * folded; a conv bias may be absent) onto the backend.
     */
    public static Network create(Backend backend, Architecture architecture, Map<String, float[]> parameters) {
        List<ConvLayerSpec> convs = architecture.convLayers();
        for (BlockSpec b : architecture.blocks()) {
            if (b.shortcut() != null && b.shortcut().activation() != Activation.NONE) {
                throw new IllegalArgumentException("shortcut conv " + b.shortcut().name() + " must not have an activation");
            }
        }
        List<Tensor> made = new ArrayList<>();
        try {
            Tensor[] w = new Tensor[convs.size()];
            Tensor[] b = new Tensor[convs.size()];
            for (int i = 0; i < convs.size(); i++) {
                ConvLayerSpec c = convs.get(i);
                w[i] = upload(backend, parameters, c.name() + ".weight", c.conv().weightShape(), true, made);
                b[i] = upload(backend, parameters, c.name() + ".bias", Shape.of(c.conv().outChannels()), false, made);
            }
            LinearLayerSpec cls = architecture.classifier();
            Tensor cw = upload(backend, parameters, cls.name() + ".weight", Shape.of(cls.out(), cls.in()), true, made);
            Tensor cb = upload(backend, parameters, cls.name() + ".bias", Shape.of(cls.out()), false, made);
            if (cb == null) {
                cb = backend.upload(new float[cls.out()], Shape.of(cls.out()), MemoryCategory.PARAMETER);
            }
            return new Network(backend, architecture, w, b, cw, cb);
        } catch (RuntimeException e) {
            made.forEach(Tensor::close);
            throw e;
        }
    }

    private static Tensor upload(Backend backend, Map<String, float[]> params, String key, Shape shape, boolean required,
                                 List<Tensor> made) {
        float[] v = params.get(key);
        if (v == null) {
            if (required) {
                throw new IllegalArgumentException("parameter '" + key + "' is missing");
            }
            return null;
        }
        if (v.length != shape.numel()) {
            throw new IllegalArgumentException("parameter '" + key + "' has " + v.length + " values, expected " + shape);
        }
        Tensor t = backend.upload(v, shape, MemoryCategory.PARAMETER);
        made.add(t);
        return t;
    }

    public Backend backend() {
        return backend;
    }

    public Architecture architecture() {
        return architecture;
    }

    /** All parameters copied to the host, named as {@link #create} takes them. */
    public Map<String, float[]> parameters() {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            m.put(layers.get(i).name() + ".weight", backend.toFloatArray(weights[i]));
            if (biases[i] != null) {
                m.put(layers.get(i).name() + ".bias", backend.toFloatArray(biases[i]));
            }
        }
        m.put(architecture.classifier().name() + ".weight", backend.toFloatArray(classifierWeight));
        m.put(architecture.classifier().name() + ".bias", backend.toFloatArray(classifierBias));
        return m;
    }

    /** The weight tensor of conv layer {@code layer} (for norms and inspection; do not close). */
    public Tensor weight(int layer) {
        return weights[layer];
    }

    /** Eval-mode logits [B, classes] for a batch x [B, C, R, R]; the caller closes them. */
    public Tensor logits(Tensor x) {
        try (Pass p = new Pass(null)) {
            Tensor features = p.forward(x);
            Tensor logits = backend.allocate(Shape.of(x.shape().dim(0), architecture.classifier().out()), MemoryCategory.WORKSPACE);
            return closeOnFailure(logits, () -> backend.linear(features, classifierWeight, classifierBias, logits));
        }
    }

    /** Mean loss and number correct (F32 [2] on the backend) of a batch, without gradients. */
    public Tensor evaluate(Tensor x, Tensor labels) {
        try (Tensor logits = logits(x)) {
            Tensor stats = backend.allocate(Shape.of(2), MemoryCategory.WORKSPACE);
            return closeOnFailure(stats, () -> backend.softmaxCrossEntropy(logits, labels, stats, null));
        }
    }

    /** Runs {@code work} filling {@code result}; closes {@code result} if it fails. */
    private static Tensor closeOnFailure(Tensor result, Runnable work) {
        try {
            work.run();
            return result;
        } catch (RuntimeException | Error e) {
            result.close();
            throw e;
        }
    }

    /** Forward and backward under {@code selection}: gradients of the trained slices, nothing applied yet. */
    public Gradients forwardBackward(Tensor x, Tensor labels, Selection selection) {
        if (selection.architecture() != architecture && !selection.architecture().equals(architecture)) {
            throw new IllegalArgumentException("selection was made for another architecture");
        }
        try (Pass p = new Pass(selection)) {
            return p.forwardBackward(x, labels);
        }
    }

    /**
     * SGD on the trained slices and the classifier. {@code momentum} holds buffers keyed by layer
     * index (classifier: -1 weight, -2 bias); it is filled on first use and must be cleared when
     * the selection changes (the buffers have the selection's shape). It may be null without momentum.
     */
    public void applySgd(Gradients g, Selection selection, SgdStep convStep, SgdStep classifierStep,
                         Map<Integer, Tensor> momentum) {
        for (int i = 0; i < layers.size(); i++) {
            ChannelIndex s = selection.layer(i);
            if (s == null || g.layer(i) == null) {
                continue;
            }
            Tensor m = buffer(momentum, i, g.layer(i), convStep);
            backend.sgdUpdateSparse(weights[i], g.layer(i), s, layers.get(i).conv().groups(), m, convStep);
        }
        backend.sgdUpdate(classifierWeight, g.classifierWeight(), buffer(momentum, -1, g.classifierWeight(), classifierStep),
                classifierStep);
        backend.sgdUpdate(classifierBias, g.classifierBias(), buffer(momentum, -2, g.classifierBias(), classifierStep),
                classifierStep);
    }

    private Tensor buffer(Map<Integer, Tensor> momentum, int key, Tensor like, SgdStep step) {
        if (!step.usesMomentum()) {
            return null;
        }
        if (momentum == null) {
            throw new IllegalArgumentException("SGD with momentum needs a map for the momentum buffers");
        }
        return momentum.computeIfAbsent(key, k -> {
            Tensor t = backend.allocate(like.shape(), MemoryCategory.OPTIMIZER_STATE);
            backend.fill(t, 0f);
            return t;
        });
    }

    @Override
    public void close() {
        for (int i = 0; i < weights.length; i++) {
            weights[i].close();
            if (biases[i] != null) {
                biases[i].close();
            }
        }
        classifierWeight.close();
        classifierBias.close();
    }

    /** What the forward pass keeps of one block for the backward pass (activation masks as 1 bit per element). */
    private static final class BlockState {
        Tensor[] masks;
        Tensor[] gathered;
        Shape[] inputShapes;
        Tensor shortcutGathered;
        Shape blockInput;
        Tensor sumMask;
        Tensor argmax;
        Shape beforePool;
    }

    /** One forward (and optionally backward) pass; owns every tensor it allocates until close(). */
    private final class Pass implements AutoCloseable {
        private final Selection sel;
        private final BackwardPlan plan;
        private final int deepest;
        private final List<Tensor> owned = new ArrayList<>();
        private final BlockState[] states = new BlockState[architecture.blocks().size()];
        private Tensor input;
        private Shape lastFeatures;

        Pass(Selection sel) {
            this.sel = sel;
            this.plan = BackwardPlan.of(architecture, sel == null ? java.util.Set.of() : sel.toMap().keySet());
            this.deepest = plan.deepestBlock();
        }

        private Tensor alloc(Shape shape, MemoryCategory category) {
            Tensor t = backend.allocate(shape, category);
            owned.add(t);
            return t;
        }

        private void free(Tensor t) {
            if (t != null && t != input) {
                t.close();
            }
        }

        /** The bits of where {@code act} passes the gradient at output y, kept for the backward pass. */
        private Tensor mask(Activation act, Tensor y) {
            Tensor m = backend.allocate(Shape.of(Backend.maskWords(y.numel())), DType.I32, MemoryCategory.GRADIENT_PATH);
            owned.add(m);
            backend.activationMask(act, y, m);
            return m;
        }

        /** Runs the blocks; returns the pooled features [B, F] (owned by this pass). */
        Tensor forward(Tensor x) {
            input = x;
            if (x.shape().rank() != 4 || x.shape().dim(1) != architecture.inChannels()) {
                throw new IllegalArgumentException("input must be [B, " + architecture.inChannels() + ", H, W], got " + x.shape());
            }
            Tensor a = x;
            for (int b = 0; b < states.length; b++) {
                a = forwardBlock(b, a);
            }
            lastFeatures = a.shape();
            Tensor pooled = alloc(Shape.of(a.shape().dim(0), a.shape().dim(1)), MemoryCategory.ACTIVATION_CACHE);
            backend.globalAvgPool(a, pooled);
            free(a);
            return pooled;
        }

        private Tensor forwardBlock(int b, Tensor blockIn) {
            BlockSpec block = architecture.blocks().get(b);
            boolean onPath = b >= deepest;
            int first = plan.firstGradConv(b);
            BlockState st = new BlockState();
            int n = block.convs().size();
            st.masks = new Tensor[n];
            st.gathered = new Tensor[n];
            st.inputShapes = new Shape[n];
            st.blockInput = blockIn.shape();
            states[b] = st;
            Tensor h = blockIn;
            for (int j = 0; j < n; j++) {
                ConvLayerSpec c = block.convs().get(j);
                int li = blockStart[b] + j;
                boolean keepMask = onPath && j >= first && c.activation() != Activation.NONE;
                st.inputShapes[j] = h.shape();
                Tensor y = alloc(c.conv().outputShape(h.shape()), MemoryCategory.WORKSPACE);
                st.gathered[j] = conv(c, li, h, y);
                if (keepMask) {
                    st.masks[j] = mask(c.activation(), y);
                }
                if (h != blockIn || !block.residual()) {  // a residual block keeps its input until the add
                    free(h);
                }
                h = y;
            }
            if (block.residual()) {
                Tensor shortcut = blockIn;
                if (block.shortcut() != null) {
                    ConvLayerSpec c = block.shortcut();
                    shortcut = alloc(c.conv().outputShape(blockIn.shape()), MemoryCategory.WORKSPACE);
                    st.shortcutGathered = conv(c, blockStart[b] + n, blockIn, shortcut);
                }
                boolean keepSum = onPath && block.afterAdd() != Activation.NONE;
                Tensor out = alloc(h.shape(), MemoryCategory.WORKSPACE);
                backend.add(h, shortcut, out);
                if (block.afterAdd() != Activation.NONE) {
                    backend.activation(block.afterAdd(), out, out);
                }
                free(h);
                if (shortcut != blockIn) {
                    free(shortcut);
                }
                if (keepSum) {
                    st.sumMask = mask(block.afterAdd(), out);
                }
                h = out;
            }
            if (block.maxPoolAfter() != null) {
                MaxPoolSpec p = block.maxPoolAfter();
                Conv2dSpec g = new Conv2dSpec(1, 1, p.kernel(), p.stride(), p.padding(), 1, 1);
                Shape ps = Shape.of(h.shape().dim(0), h.shape().dim(1), g.outSize(h.shape().dim(2)), g.outSize(h.shape().dim(3)));
                Tensor pooled = alloc(ps, MemoryCategory.WORKSPACE);
                Tensor argmax = backend.allocate(ps, DType.I32, onPath ? MemoryCategory.GRADIENT_PATH : MemoryCategory.WORKSPACE);
                owned.add(argmax);
                backend.maxPool2d(h, p.kernel(), p.stride(), p.padding(), pooled, argmax);
                st.beforePool = h.shape();
                if (onPath) {
                    st.argmax = argmax;
                } else {
                    argmax.close();
                }
                free(h);
                h = pooled;
            }
            if (block.residual()) {
                free(blockIn);
            }
            return h;
        }

        /** Runs conv layer li on x into y; if the layer is trained, also returns its gathered input. */
        private Tensor conv(ConvLayerSpec c, int li, Tensor x, Tensor y) {
            ChannelIndex s = sel == null ? null : sel.layer(li);
            if (s == null) {
                backend.conv2d(x, weights[li], biases[li], c.conv(), c.activation(), y);
                return null;
            }
            Shape xs = x.shape();
            Tensor g = alloc(Shape.of(xs.dim(0), s.size(), xs.dim(2), xs.dim(3)), MemoryCategory.ACTIVATION_CACHE);
            backend.conv2dGather(x, weights[li], biases[li], c.conv(), c.activation(), s, y, g);
            return g;
        }

        Gradients forwardBackward(Tensor x, Tensor labels) {
            Tensor features = forward(x);
            int batch = x.shape().dim(0);
            LinearLayerSpec cls = architecture.classifier();
            Tensor logits = alloc(Shape.of(batch, cls.out()), MemoryCategory.WORKSPACE);
            backend.linear(features, classifierWeight, classifierBias, logits);
            Tensor[] grads = new Tensor[layers.size()];
            Tensor stats = null;
            Tensor cdw = null;
            Tensor cdb = null;
            try {
                stats = backend.allocate(Shape.of(2), MemoryCategory.WORKSPACE);
                Tensor dLogits = alloc(logits.shape(), MemoryCategory.GRADIENT_PATH);
                backend.softmaxCrossEntropy(logits, labels, stats, dLogits);
                logits.close();
                cdw = backend.allocate(Shape.of(cls.out(), cls.in()), MemoryCategory.WEIGHT_GRADIENT);
                backend.linearDwSparse(features, dLogits, sel.classifier(), cdw);
                cdb = backend.allocate(Shape.of(cls.out()), MemoryCategory.WEIGHT_GRADIENT);
                backend.biasGrad(dLogits, cdb);
                if (deepest != Integer.MAX_VALUE) {
                    Tensor dFeatures = alloc(features.shape(), MemoryCategory.GRADIENT_PATH);
                    backend.linearDx(dLogits, classifierWeight, dFeatures);
                    dLogits.close();
                    features.close();
                    Tensor g = alloc(lastFeatures, MemoryCategory.GRADIENT_PATH);
                    backend.globalAvgPoolBackward(dFeatures, g);
                    dFeatures.close();
                    for (int b = states.length - 1; b >= deepest; b--) {
                        g = backwardBlock(b, g, grads);
                    }
                }
                return new Gradients(grads, cdw, cdb, stats);
            } catch (RuntimeException | Error e) {
                if (stats != null) {
                    stats.close();
                }
                for (Tensor t : grads) {
                    if (t != null) {
                        t.close();
                    }
                }
                if (cdw != null) {
                    cdw.close();
                }
                if (cdb != null) {
                    cdb.close();
                }
                throw e;
            }
        }

        /** Backward through block b given the gradient at its output; returns the gradient at its input (or null). */
        private Tensor backwardBlock(int b, Tensor g, Tensor[] grads) {
            BlockSpec block = architecture.blocks().get(b);
            BlockState st = states[b];
            boolean needInputGrad = plan.needsBlockInputGradient(b);
            if (st.argmax != null) {
                Tensor gi = alloc(st.beforePool, MemoryCategory.GRADIENT_PATH);
                backend.maxPool2dBackward(g, st.argmax, gi);
                g.close();
                st.argmax.close();
                g = gi;
            }
            int n = block.convs().size();
            Tensor shortcutGrad = null;
            if (block.residual()) {
                if (st.sumMask != null) {
                    backend.activationBackwardMasked(st.sumMask, g, g);
                    st.sumMask.close();
                }
                if (block.shortcut() != null) {
                    ConvLayerSpec c = block.shortcut();
                    int li = blockStart[b] + n;
                    if (st.shortcutGathered != null) {
                        grads[li] = weightGrad(c, li, st.shortcutGathered, g);
                        st.shortcutGathered.close();
                    }
                    if (needInputGrad) {
                        shortcutGrad = alloc(st.blockInput, MemoryCategory.GRADIENT_PATH);
                        backend.conv2dDx(g, weights[li], c.conv(), shortcutGrad);
                    }
                } else if (needInputGrad) {
                    shortcutGrad = g;
                }
            }
            int first = plan.firstGradConv(b);
            Tensor dy = g;
            for (int j = n - 1; j >= first; j--) {
                ConvLayerSpec c = block.convs().get(j);
                int li = blockStart[b] + j;
                Tensor dz = dy;
                if (c.activation() != Activation.NONE) {
                    dz = dy == shortcutGrad ? alloc(dy.shape(), MemoryCategory.GRADIENT_PATH) : dy;
                    backend.activationBackwardMasked(st.masks[j], dy, dz);
                    st.masks[j].close();
                }
                if (st.gathered[j] != null) {
                    grads[li] = weightGrad(c, li, st.gathered[j], dz);
                    st.gathered[j].close();
                }
                boolean needDx = plan.computesInputGradient(li);
                Tensor dx = null;
                if (needDx) {
                    dx = alloc(st.inputShapes[j], MemoryCategory.GRADIENT_PATH);
                    backend.conv2dDx(dz, weights[li], c.conv(), dx);
                }
                if (dz != shortcutGrad) {
                    dz.close();
                }
                if (dy != shortcutGrad) {
                    dy.close();
                }
                dy = dx;
            }
            if (!needInputGrad) {
                if (dy != null && dy != shortcutGrad) {
                    dy.close();
                }
                g.close();
                return null;
            }
            if (shortcutGrad != null) {
                backend.add(dy, shortcutGrad, dy);
                shortcutGrad.close();
            }
            return dy;
        }

        private Tensor weightGrad(ConvLayerSpec c, int li, Tensor gathered, Tensor dz) {
            ChannelIndex s = sel.layer(li);
            Tensor dw = backend.allocate(c.conv().sparseWeightGradShape(s.size()), MemoryCategory.WEIGHT_GRADIENT);
            backend.conv2dDwSparse(gathered, dz, s, c.conv(), dw);
            return dw;
        }

        @Override
        public void close() {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }
}
