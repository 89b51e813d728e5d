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
    /** The unfolded BatchNorm being pretrained, or null: a fine-tuning network has BN folded into its convs. */
    private final BatchNormLayers batchNorm;

    private Network(Backend backend, Architecture architecture, Tensor[] weights, Tensor[] biases, Tensor cw, Tensor cb,
                    BatchNormLayers batchNorm) {
        this.backend = backend;
        this.batchNorm = batchNorm;
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
        return create(backend, architecture, parameters, null);
    }

    /**
     * A network that trains its BatchNorm (pretraining): every conv with a BN in the architecture runs
     * conv (without its bias) → BN → activation, with batch statistics in {@link #forwardBackward} and the
     * running averages in {@link #logits}/{@link #evaluate}; γ and β are trained with the conv weights.
     * {@code batchNorm} holds every BN's {@code .weight/.bias/.running_mean/.running_var}
     * ({@link #identityBatchNorm} for a fresh start, {@link #batchNormState} to resume).
     */
    public static Network createWithBatchNorm(Backend backend, Architecture architecture, Map<String, float[]> parameters,
                                              Map<String, float[]> batchNorm) {
        if (batchNorm == null) {
            throw new IllegalArgumentException("the BatchNorm state is missing (null)");
        }
        return create(backend, architecture, parameters, batchNorm);
    }

    /** γ = 1, β = 0, running mean 0 and variance 1 for every BatchNorm of {@code architecture}. */
    public static Map<String, float[]> identityBatchNorm(Architecture architecture) {
        return BatchNormLayers.identity(architecture);
    }

    private static Network create(Backend backend, Architecture architecture, Map<String, float[]> parameters,
                                  Map<String, float[]> batchNorm) {
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
            BatchNormLayers bn = batchNorm == null ? null : BatchNormLayers.upload(backend, architecture, batchNorm);
            return new Network(backend, architecture, w, b, cw, cb, bn);
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

    /** @return the backend this network computes on */
    public Backend backend() {
        return backend;
    }

    /** @return the network's layout */
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

    /** Whether this network trains BatchNorm ({@link #createWithBatchNorm} of an architecture with at least one BN). */
    public boolean trainsBatchNorm() {
        return batchNorm != null && batchNorm.any();
    }

    /** The BatchNorm state (γ, β, running mean and variance per BN, state-dict names) copied to the host; empty if folded. */
    public Map<String, float[]> batchNormState() {
        return batchNorm == null ? Map.of() : batchNorm.toHost();
    }

    /** {@link #parameters()} with the BatchNorm's running statistics folded into the convs (the same as {@link #parameters()} without BN). */
    public Map<String, float[]> foldedParameters() {
        Map<String, float[]> m = parameters();
        if (batchNorm != null) {
            batchNorm.foldInto(m);
        }
        return m;
    }

    /** The momentum-buffer key of BatchNorm γ (or β) of conv layer {@code layer} in {@link #applySgd}'s map. */
    public static int batchNormMomentumKey(int layer, boolean beta) {
        return -3 - 2 * layer - (beta ? 1 : 0);
    }

    /** The momentum-buffer key of conv layer {@code layer}'s bias in {@link #applySgd}'s map (below every BN key). */
    public int convBiasMomentumKey(int layer) {
        return convBiasMomentumKey(architecture, layer);
    }

    static int convBiasMomentumKey(Architecture architecture, int layer) {
        return -3 - 2 * architecture.convLayers().size() - layer;
    }

    /**
     * The shape of the momentum buffer {@code key} of {@link #applySgd}'s map (checkpoints save them by key): -1 / -2 the
     * classifier's weight / bias, 0.. a conv layer's selected weight slice ({@code selection} must train it), then
     * {@link #batchNormMomentumKey} and {@link #convBiasMomentumKey}; null for a key that names nothing.
     */
    public static Shape momentumShape(Architecture architecture, int key, Selection selection) {
        List<ConvLayerSpec> convs = architecture.convLayers();
        int n = convs.size();
        if (key == -1) {
            return Shape.of(architecture.classifier().out(), architecture.classifier().in());
        } else if (key == -2) {
            return Shape.of(architecture.classifier().out());
        } else if (key >= 0 && key < n) {
            ChannelIndex s = selection == null ? null : selection.layer(key);
            return s == null ? null : convs.get(key).conv().sparseWeightGradShape(s.size());
        } else if (key <= -3 && key > -3 - 2 * n) {
            return Shape.of(convs.get((-3 - key) / 2).conv().outChannels());
        } else if (key <= -3 - 2 * n && key > -3 - 3 * n) {
            return Shape.of(convs.get(-3 - 2 * n - key).conv().outChannels());
        }
        return null;
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
        for (int i = 0; i < layers.size(); i++) {
            if (g.convBias(i) != null) {
                backend.sgdUpdate(biases[i], g.convBias(i), buffer(momentum, convBiasMomentumKey(i), g.convBias(i), convStep),
                        convStep);
            }
        }
        for (int i = 0; batchNorm != null && i < layers.size(); i++) {
            if (g.batchNormGamma(i) != null) {
                backend.sgdUpdate(batchNorm.gamma(i), g.batchNormGamma(i),
                        buffer(momentum, batchNormMomentumKey(i, false), g.batchNormGamma(i), convStep), convStep);
                backend.sgdUpdate(batchNorm.beta(i), g.batchNormBeta(i),
                        buffer(momentum, batchNormMomentumKey(i, true), g.batchNormBeta(i), convStep), convStep);
            }
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
        if (batchNorm != null) {
            batchNorm.close();
        }
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
        /** Per conv layer under training-mode BatchNorm: the conv output (BN's input) and the batch statistics. */
        private final Tensor[] bnInput = new Tensor[layers.size()];
        private final Tensor[] bnMean = new Tensor[layers.size()];
        private final Tensor[] bnInvStd = new Tensor[layers.size()];
        private final Tensor[] bnGammaGrad = new Tensor[layers.size()];
        private final Tensor[] bnBetaGrad = new Tensor[layers.size()];
        private final Tensor[] convBiasGrad = new Tensor[layers.size()];

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
            boolean norm = batchNorm != null && batchNorm.has(li);
            boolean training = norm && sel != null;
            Tensor bias = norm ? null : biases[li];
            Activation act = norm ? Activation.NONE : c.activation();
            Tensor z = training ? alloc(y.shape(), MemoryCategory.ACTIVATION_CACHE) : y;
            Tensor g = null;
            if (s == null) {
                backend.conv2d(x, weights[li], bias, c.conv(), act, z);
            } else {
                Shape xs = x.shape();
                g = alloc(Shape.of(xs.dim(0), s.size(), xs.dim(2), xs.dim(3)), MemoryCategory.ACTIVATION_CACHE);
                backend.conv2dGather(x, weights[li], bias, c.conv(), act, s, z, g);
            }
            if (norm) {
                if (training) {
                    Shape cs = Shape.of(c.conv().outChannels());
                    bnInput[li] = z;
                    bnMean[li] = alloc(cs, MemoryCategory.ACTIVATION_CACHE);
                    bnInvStd[li] = alloc(cs, MemoryCategory.ACTIVATION_CACHE);
                    backend.batchNormTraining(z, batchNorm.gamma(li), batchNorm.beta(li), batchNorm.runningMean(li),
                            batchNorm.runningVar(li), BatchNormLayers.MOMENTUM, batchNorm.eps(li), y, bnMean[li],
                            bnInvStd[li]);
                } else {
                    backend.batchNormInference(y, batchNorm.gamma(li), batchNorm.beta(li), batchNorm.runningMean(li),
                            batchNorm.runningVar(li), batchNorm.eps(li), y);
                }
                if (c.activation() != Activation.NONE) {
                    backend.activation(c.activation(), y, y);
                }
            }
            return g;
        }

        /** Backward through conv layer li's training-mode BatchNorm: dn = d(BN input) from dz = d(BN output); keeps dγ, dβ. */
        private void batchNormBackward(int li, Tensor dz, Tensor dn) {
            Shape cs = bnMean[li].shape();
            bnGammaGrad[li] = backend.allocate(cs, MemoryCategory.WEIGHT_GRADIENT);
            bnBetaGrad[li] = backend.allocate(cs, MemoryCategory.WEIGHT_GRADIENT);
            backend.batchNormBackward(dz, bnInput[li], batchNorm.gamma(li), bnMean[li], bnInvStd[li], dn, bnGammaGrad[li],
                    bnBetaGrad[li]);
            bnInput[li].close();
            bnMean[li].close();
            bnInvStd[li].close();
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
                return new Gradients(grads, cdw, cdb, stats, bnGammaGrad, bnBetaGrad, convBiasGrad);
            } catch (RuntimeException | Error e) {
                if (stats != null) {
                    stats.close();
                }
                for (Tensor[] a : new Tensor[][]{bnGammaGrad, bnBetaGrad, convBiasGrad}) {
                    for (Tensor t : a) {
                        if (t != null) {
                            t.close();
                        }
                    }
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
                    Tensor gs = g;
                    if (bnInput[li] != null) {
                        gs = alloc(g.shape(), MemoryCategory.GRADIENT_PATH);
                        batchNormBackward(li, g, gs);
                    }
                    biasGrad(li, gs);
                    if (st.shortcutGathered != null) {
                        grads[li] = weightGrad(c, li, st.shortcutGathered, gs);
                        st.shortcutGathered.close();
                    }
                    if (needInputGrad) {
                        shortcutGrad = alloc(st.blockInput, MemoryCategory.GRADIENT_PATH);
                        backend.conv2dDx(gs, weights[li], c.conv(), shortcutGrad);
                    }
                    if (gs != g) {
                        gs.close();
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
                if (bnInput[li] != null) {
                    Tensor dn = dz == shortcutGrad ? alloc(dz.shape(), MemoryCategory.GRADIENT_PATH) : dz;
                    batchNormBackward(li, dz, dn);
                    dz = dn;
                }
                biasGrad(li, dz);
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

        /** db of conv layer li from dz (its pre-activation gradient), when the selection trains conv biases and it has one. */
        private void biasGrad(int li, Tensor dz) {
            if (sel.trainsConvBiases() && biases[li] != null && batchNorm == null) {
                convBiasGrad[li] = backend.allocate(Shape.of(layers.get(li).conv().outChannels()), MemoryCategory.WEIGHT_GRADIENT);
                backend.biasGrad(dz, convBiasGrad[li]);
            }
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
