package io.trady4j.nn;

import io.trady4j.backend.Activation;

import io.trady4j.io.FormatException;
import io.trady4j.io.SafeTensors;
import io.trady4j.tensor.Shape;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The parameters of an {@link Architecture} in host memory, in the form the engine trains: BatchNorm
 * folded into every conv, so each conv layer has a weight [C', C/g, D, D] and a bias [C'] (zeros when
 * the layer has neither BN nor a bias), plus the classifier's weight [O, F] and bias [O] (null when the
 * classifier has no bias).
 *
 * <p>The arrays returned by {@link #convWeight}, {@link #convBias}, {@link #classifierWeight} and
 * {@link #classifierBias} are the live storage, not copies: an engine uploads them and, to save trained
 * weights, downloads into them. Layers are keyed by {@link ConvLayerSpec#name()}.
 *
 * <p>Three sources: {@link #random} (torchvision's init, for training from scratch),
 * {@link #fromStateDict} (a torchvision / MIT-zoo state dict, BN folded at load) and {@link #load} (our own
 * folded checkpoint written by {@link #save}); {@link #read} picks between the last two.
 */
public final class HostWeights {
    /** safetensors metadata key/value marking our folded checkpoints. */
    public static final String FORMAT_KEY = "format";
    /** The {@link #FORMAT_KEY} value of our folded checkpoints. */
    public static final String FORMAT_FOLDED = "trady4j-folded";
    /** safetensors metadata key naming the checkpoint's architecture. */
    public static final String ARCHITECTURE_KEY = "architecture";
    /**
     * Tensors whose names start with this prefix are not parameters (e.g. a checkpoint's optimizer
     * state): {@link #save(Path, Map, Map)} writes them beside the parameters and loading ignores them.
     */
    public static final String RESERVED_PREFIX = "trady4j.";

    private final Architecture arch;
    private final Map<String, float[]> weights = new LinkedHashMap<>();
    private final Map<String, float[]> biases = new LinkedHashMap<>();
    private final float[] classifierWeight;
    private final float[] classifierBias;
    private final List<String> notes;

    private HostWeights(Architecture arch, Map<String, float[]> w, Map<String, float[]> b, float[] cw, float[] cb,
                        List<String> notes) {
        this.arch = arch;
        this.weights.putAll(w);
        this.biases.putAll(b);
        this.classifierWeight = cw;
        this.classifierBias = cb;
        this.notes = List.copyOf(notes);
        for (ConvLayerSpec c : arch.convLayers()) {
            check(weights.get(c.name()), c.conv().weightShape().numel(), c.name() + ".weight");
            check(biases.get(c.name()), c.conv().outChannels(), c.name() + ".bias");
        }
        LinearLayerSpec cls = arch.classifier();
        check(cw, cls.out() * cls.in(), cls.name() + ".weight");
        if (cls.bias()) {
            check(cb, cls.out(), cls.name() + ".bias");
        } else if (cb != null) {
            throw new IllegalArgumentException("classifier " + cls.name() + " has no bias but one was given");
        }
    }

    private static void check(float[] a, int n, String what) {
        if (a == null || a.length != n) {
            throw new IllegalArgumentException(what + ": expected " + n + " values, got " + (a == null ? "none" : a.length));
        }
    }

    /** @return the layout these weights are for */
    public Architecture architecture() {
        return arch;
    }

    /** Folded weight of a conv layer, [C', C/g, D, D] row-major (live storage). */
    public float[] convWeight(String layer) {
        float[] w = weights.get(layer);
        if (w == null) {
            throw new IllegalArgumentException("no conv layer '" + layer + "' in " + arch.name());
        }
        return w;
    }

    /** Folded bias of a conv layer, [C'] (live storage). */
    public float[] convBias(String layer) {
        float[] b = biases.get(layer);
        if (b == null) {
            throw new IllegalArgumentException("no conv layer '" + layer + "' in " + arch.name());
        }
        return b;
    }

    /** Classifier weight [O, F] (live storage). */
    public float[] classifierWeight() {
        return classifierWeight;
    }

    /** Classifier bias [O], or null if the classifier has none (live storage). */
    public float[] classifierBias() {
        return classifierBias;
    }

    /** What loading had to adapt, e.g. a re-initialised classifier; empty when nothing. */
    public List<String> notes() {
        return notes;
    }

    /**
     * These weights in {@code arch} (the same network, perhaps with another number of classes) with a freshly initialised
     * classifier, as {@link #random}{@code (arch, seed)} draws it: a new task, or a ranking on the source, learns a new head.
     */
    public HostWeights withFreshClassifier(Architecture arch, long seed) {
        Map<String, float[]> p = new java.util.LinkedHashMap<>(parameters());
        Map<String, float[]> head = random(arch, seed).parameters();
        String name = arch.classifier().name();
        p.put(name + ".weight", head.get(name + ".weight"));
        p.put(name + ".bias", head.get(name + ".bias"));
        return fromParameters(arch, p);
    }

    /** A deep copy (same architecture, same notes). */
    public HostWeights copy() {
        Map<String, float[]> w = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        weights.forEach((k, v) -> w.put(k, v.clone()));
        biases.forEach((k, v) -> b.put(k, v.clone()));
        return new HostWeights(arch, w, b, classifierWeight.clone(),
                classifierBias == null ? null : classifierBias.clone(), notes);
    }

    // ---------------------------------------------------------------- random init

    /**
     * A seeded initialisation of a network used WITHOUT BatchNorm (plain convs, as a folded base model
     * runs; pretraining trains BN instead and starts from {@link #random}): fan-in scaling that keeps activations at unit
     * variance through the depth — He (√(2/fan_in)) before ReLU/ReLU6, LeCun (√(1/fan_in)) for linear
     * convs — and the last conv of every residual branch scaled by {@code 0.1} so that each block
     * starts close to the identity (after Fixup, Zhang et al. 2019). torchvision's fan-out init
     * ({@link #random}) relies on BatchNorm and leaves a 50-layer MobileNetV2 with vanishing activations.
     */
    public static HostWeights randomWithoutBatchNorm(Architecture arch, long seed) {
        Map<String, float[]> w = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        int index = 0;
        for (BlockSpec block : arch.blocks()) {
            List<ConvLayerSpec> convs = new ArrayList<>(block.convs());
            if (block.shortcut() != null) {
                convs.add(block.shortcut());
            }
            for (int k = 0; k < convs.size(); k++) {
                ConvLayerSpec c = convs.get(k);
                SplittableRandom rng = stream(seed, index++);
                Shape s = c.conv().weightShape();
                int fanIn = s.dim(1) * s.dim(2) * s.dim(3);
                double std = Math.sqrt((c.activation() == Activation.NONE ? 1.0 : 2.0) / fanIn);
                if (block.residual() && k == block.convs().size() - 1) {
                    std *= 0.1;
                }
                w.put(c.name(), gaussian(rng, s.numel(), std));
                b.put(c.name(), new float[c.conv().outChannels()]);
            }
        }
        float[][] cls = randomClassifier(arch.classifier(), stream(seed, index));
        return new HostWeights(arch, w, b, cls[0], cls[1], List.of());
    }

    /**
     * torchvision's initialisation, seeded: conv weights Kaiming-normal with mode fan_out for ReLU
     * (std = √(2 / (C'·D²))), BatchNorm identity (so folded biases are 0), classifier weight
     * normal(0, 0.01) and bias 0. Each layer draws from its own stream derived from the seed and its index.
     */
    public static HostWeights random(Architecture arch, long seed) {
        Map<String, float[]> w = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        int index = 0;
        for (ConvLayerSpec c : arch.convLayers()) {
            SplittableRandom rng = stream(seed, index++);
            Shape s = c.conv().weightShape();
            int fanOut = s.dim(0) * s.dim(2) * s.dim(3);
            w.put(c.name(), gaussian(rng, s.numel(), Math.sqrt(2.0 / fanOut)));
            b.put(c.name(), new float[c.conv().outChannels()]);
        }
        float[][] cls = randomClassifier(arch.classifier(), stream(seed, index));
        return new HostWeights(arch, w, b, cls[0], cls[1], List.of());
    }

    private static float[][] randomClassifier(LinearLayerSpec cls, SplittableRandom rng) {
        return new float[][]{gaussian(rng, cls.out() * cls.in(), 0.01), cls.bias() ? new float[cls.out()] : null};
    }

    private static SplittableRandom stream(long seed, int index) {
        // SplitMix64 finaliser of (seed, index): independent, reproducible streams per layer.
        long z = seed * 0x9E3779B97F4A7C15L + (index + 1) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return new SplittableRandom(z ^ (z >>> 31));
    }

    private static float[] gaussian(SplittableRandom rng, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rng.nextGaussian() * std);
        }
        return a;
    }

    // ---------------------------------------------------------------- torchvision / MIT state dicts

    /** {@link #fromStateDict(Architecture, SafeTensors, long)} with seed 0 for a re-initialised classifier. */
    public static HostWeights fromStateDict(Architecture arch, SafeTensors st) throws FormatException {
        return fromStateDict(arch, st, 0L);
    }

    /**
     * Loads a PyTorch state dict (as written by {@code safetensors.torch.save_file(model.state_dict())}) whose
     * names are the architecture's ({@link ConvLayerSpec#name()}{@code .weight}, the BN's
     * {@code .weight/.bias/.running_mean/.running_var}, the classifier's {@code .weight/.bias}), folding
     * BN into the convs: w' = w·γ/√(var+eps), b' = β + (b − mean)·γ/√(var+eps). {@code num_batches_tracked}
     * is ignored, as is a {@code module.} prefix on every name (DataParallel). The classifier is loaded
     * only if its shapes match; otherwise (e.g. fine-tuning to another number of classes) it is
     * re-initialised from {@code seed} as in {@link #random} and {@link #notes()} says so.
     *
     * @throws FormatException naming every missing key, every shape mismatch and every unused key
     */
    public static HostWeights fromStateDict(Architecture arch, SafeTensors st, long seed) throws FormatException {
        String prefix = commonModulePrefix(st.names());
        List<String> problems = new ArrayList<>();
        Set<String> used = new LinkedHashSet<>();
        Map<String, float[]> w = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        for (ConvLayerSpec c : arch.convLayers()) {
            int out = c.conv().outChannels();
            float[] wt = tensor(st, prefix + c.name() + ".weight", c.conv().weightShape(), problems, used);
            float[] bias = c.bias() ? tensor(st, prefix + c.name() + ".bias", Shape.of(out), problems, used) : null;
            float[] gamma = null, beta = null, mean = null, var = null;
            if (c.batchNorm() != null) {
                String bn = prefix + c.batchNorm();
                gamma = tensor(st, bn + ".weight", Shape.of(out), problems, used);
                beta = tensor(st, bn + ".bias", Shape.of(out), problems, used);
                mean = tensor(st, bn + ".running_mean", Shape.of(out), problems, used);
                var = tensor(st, bn + ".running_var", Shape.of(out), problems, used);
                used.add(bn + ".num_batches_tracked");
            }
            if (wt == null || (c.bias() && bias == null)
                    || (c.batchNorm() != null && (gamma == null || beta == null || mean == null || var == null))) {
                continue;
            }
            float[] fb = new float[out];
            if (c.batchNorm() != null) {
                int per = wt.length / out;
                for (int o = 0; o < out; o++) {
                    if (!(var[o] + c.bnEps() > 0)) {
                        problems.add(c.batchNorm() + ".running_var[" + o + "] = " + var[o] + " is not positive");
                        continue;
                    }
                    double scale = gamma[o] / Math.sqrt((double) var[o] + c.bnEps());
                    for (int i = o * per; i < (o + 1) * per; i++) {
                        wt[i] = (float) (wt[i] * scale);
                    }
                    fb[o] = (float) (beta[o] + ((bias == null ? 0.0 : bias[o]) - mean[o]) * scale);
                }
            } else if (bias != null) {
                System.arraycopy(bias, 0, fb, 0, out);
            }
            w.put(c.name(), wt);
            b.put(c.name(), fb);
        }

        List<String> notes = new ArrayList<>();
        LinearLayerSpec cls = arch.classifier();
        String cw = prefix + cls.name() + ".weight", cb = prefix + cls.name() + ".bias";
        Shape wantW = Shape.of(cls.out(), cls.in());
        float[] clsW = null, clsB = null;
        boolean present = st.contains(cw) && (!cls.bias() || st.contains(cb));
        used.add(cw);
        if (cls.bias()) {
            used.add(cb);
        }
        if (present && shapeOf(st, cw).equals(wantW) && (!cls.bias() || shapeOf(st, cb).equals(Shape.of(cls.out())))) {
            clsW = st.floats(cw);
            clsB = cls.bias() ? st.floats(cb) : null;
        } else {
            String found = !st.contains(cw) ? "no " + cw : cw + " is " + shapeText(st, cw)
                    + (cls.bias() && st.contains(cb) ? " and " + cb + " is " + shapeText(st, cb) : "");
            notes.add("classifier " + cls.name() + " re-initialised (seed " + seed + "): the model needs "
                    + cls.out() + "x" + cls.in() + ", the state dict has " + found);
            float[][] r = randomClassifier(cls, stream(seed, arch.convLayers().size()));
            clsW = r[0];
            clsB = r[1];
        }
        for (String n : st.names()) {
            if (!used.contains(n) && !n.endsWith(".num_batches_tracked") && !n.startsWith(RESERVED_PREFIX)) {
                problems.add("unexpected key " + n + " " + shapeText(st, n));
            }
        }
        if (!problems.isEmpty()) {
            int show = Math.min(problems.size(), 40);
            throw new FormatException(st.path() + " does not fit " + arch.name() + " (" + problems.size()
                    + " problem" + (problems.size() == 1 ? "" : "s") + "): " + String.join("; ", problems.subList(0, show))
                    + (show < problems.size() ? "; ... and " + (problems.size() - show) + " more" : ""));
        }
        return new HostWeights(arch, w, b, clsW, clsB, notes);
    }

    private static String commonModulePrefix(Set<String> names) {
        if (names.isEmpty()) {
            return "";
        }
        for (String n : names) {
            if (!n.startsWith("module.")) {
                return "";
            }
        }
        return "module.";
    }

    private static float[] tensor(SafeTensors st, String name, Shape want, List<String> problems, Set<String> used)
            throws FormatException {
        used.add(name);
        if (!st.contains(name)) {
            problems.add("missing key " + name + " " + want);
            return null;
        }
        if (!st.entry(name).dtype().isFloat()) {
            problems.add(name + " is " + st.entry(name).dtype() + ", expected a float tensor");
            return null;
        }
        Shape have = shapeOf(st, name);
        if (have == null || !have.equals(want)) {
            problems.add(name + " has shape " + shapeText(st, name) + ", expected " + want);
            return null;
        }
        return st.floats(name);
    }

    private static Shape shapeOf(SafeTensors st, String name) {
        try {
            return st.shape(name);
        } catch (FormatException e) {
            return null;
        }
    }

    private static String shapeText(SafeTensors st, String name) {
        try {
            return Arrays.toString(st.entry(name).dims()).replace(", ", "x");
        } catch (FormatException e) {
            return "?";
        }
    }

    // ---------------------------------------------------------------- our folded checkpoints

    /**
     * Writes the folded parameters as safetensors: {@code <conv>.weight}, {@code <conv>.bias} for every conv,
     * {@code <classifier>.weight} (and {@code .bias}), with metadata {@code format=trady4j-folded} and the
     * architecture's name (plus {@code extraMetadata}, may be empty).
     */
    public void save(Path path, Map<String, String> extraMetadata) throws IOException {
        save(path, extraMetadata, Map.of());
    }

    /**
     * As {@link #save(Path, Map)}, plus extra 1-D float tensors whose names must start with
     * {@link #RESERVED_PREFIX} (loading ignores them), all in one atomically written file.
     */
    public void save(Path path, Map<String, String> extraMetadata, Map<String, float[]> extraTensors) throws IOException {
        SafeTensors.Writer wr = new SafeTensors.Writer();
        for (Map.Entry<String, float[]> e : extraTensors.entrySet()) {
            if (!e.getKey().startsWith(RESERVED_PREFIX)) {
                throw new IllegalArgumentException("extra tensor '" + e.getKey() + "' must be named " + RESERVED_PREFIX + "...");
            }
            wr.put(e.getKey(), Shape.of(e.getValue().length), e.getValue());
        }
        wr.metadata(FORMAT_KEY, FORMAT_FOLDED).metadata(ARCHITECTURE_KEY, arch.name());
        extraMetadata.forEach(wr::metadata);
        for (ConvLayerSpec c : arch.convLayers()) {
            wr.put(c.name() + ".weight", c.conv().weightShape(), weights.get(c.name()));
            wr.put(c.name() + ".bias", Shape.of(c.conv().outChannels()), biases.get(c.name()));
        }
        LinearLayerSpec cls = arch.classifier();
        wr.put(cls.name() + ".weight", Shape.of(cls.out(), cls.in()), classifierWeight);
        if (classifierBias != null) {
            wr.put(cls.name() + ".bias", Shape.of(cls.out()), classifierBias);
        }
        wr.write(path);
    }

    /**
     * Writes a folded checkpoint without extra metadata ({@link #save(Path, Map)}).
     *
     * @param path the file to write (atomically)
     * @throws IOException if it cannot be written
     */
    public void save(Path path) throws IOException {
        save(path, Map.of());
    }

    /**
     * Reads a folded checkpoint written by {@link #save}. A classifier of another shape is re-initialised
     * from {@code seed} with a note, as in {@link #fromStateDict(Architecture, SafeTensors, long)}.
     */
    public static HostWeights load(Architecture arch, Path path, long seed) throws IOException {
        SafeTensors st = SafeTensors.read(path);
        if (!FORMAT_FOLDED.equals(st.metadata().get(FORMAT_KEY))) {
            throw new FormatException(path + " is not a trady4j folded checkpoint (metadata format="
                    + st.metadata().get(FORMAT_KEY) + "); load PyTorch state dicts with fromStateDict");
        }
        List<String> notes = new ArrayList<>();
        String savedArch = st.metadata().get(ARCHITECTURE_KEY);
        if (savedArch != null && !savedArch.equals(arch.name())) {
            notes.add("checkpoint was saved for architecture " + savedArch + ", loaded into " + arch.name());
        }
        List<ConvLayerSpec> convs = arch.convLayers();
        List<ConvLayerSpec> asState = new ArrayList<>();
        for (ConvLayerSpec c : convs) {
            // A folded layer reads as a conv with a bias and no BN.
            asState.add(new ConvLayerSpec(c.name(), c.conv(), c.activation(), null, 0.0, true));
        }
        List<BlockSpec> blocks = List.of(BlockSpec.plain("all", asState));
        // Only the names and shapes matter here, not the wiring: check against a flat view.
        Architecture flat = new Architecture(arch.name(), arch.inChannels(), blocks, arch.classifier());
        HostWeights h = fromStateDict(flat, st, seed);
        List<String> all = new ArrayList<>(notes);
        all.addAll(h.notes);
        return new HostWeights(arch, h.weights, h.biases, h.classifierWeight, h.classifierBias, all);
    }

    /** Our folded checkpoint ({@link #load}) or else a PyTorch state dict ({@link #fromStateDict}), by metadata. */
    public static HostWeights read(Architecture arch, Path path, long seed) throws IOException {
        SafeTensors st = SafeTensors.read(path);
        if (FORMAT_FOLDED.equals(st.metadata().get(FORMAT_KEY))) {
            return load(arch, path, seed);
        }
        return fromStateDict(arch, st, seed);
    }

    /** Parameters named as {@link Network#create} takes them: {@code <layer>.weight}, {@code <layer>.bias} (live storage). */
    public Map<String, float[]> parameters() {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (ConvLayerSpec c : arch.convLayers()) {
            m.put(c.name() + ".weight", weights.get(c.name()));
            m.put(c.name() + ".bias", biases.get(c.name()));
        }
        m.put(arch.classifier().name() + ".weight", classifierWeight);
        if (classifierBias != null) {
            m.put(arch.classifier().name() + ".bias", classifierBias);
        }
        return m;
    }

    /** The inverse of {@link #parameters()}: e.g. {@link Network#parameters()} of a trained network. */
    public static HostWeights fromParameters(Architecture arch, Map<String, float[]> params) {
        Map<String, float[]> w = new LinkedHashMap<>(), b = new LinkedHashMap<>();
        for (ConvLayerSpec c : arch.convLayers()) {
            w.put(c.name(), params.get(c.name() + ".weight"));
            b.put(c.name(), params.get(c.name() + ".bias"));
        }
        String cls = arch.classifier().name();
        return new HostWeights(arch, w, b, params.get(cls + ".weight"), params.get(cls + ".bias"), List.of());
    }

    /** Layer names in {@link Architecture#convLayers()} order. */
    public List<String> convLayerNames() {
        return Collections.unmodifiableList(new ArrayList<>(weights.keySet()));
    }
}
