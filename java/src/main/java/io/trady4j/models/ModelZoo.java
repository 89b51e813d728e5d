package io.trady4j.models;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.io.FormatException;
import io.trady4j.io.Json;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.BlockSpec;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.LinearLayerSpec;
import io.trady4j.nn.MaxPoolSpec;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The named architectures of trady4j, with the parameter names of the state dicts they load:
 * <ul>
 *   <li>{@code mbv2-w0.35}, {@code mcunet-in1}, {@code proxyless-w0.3}: the paper's three networks as MIT's
 *       model zoo defines them (MIT names, see {@link CompactModels}), built from the bundled
 *       {@code paper-models.json}. {@code mbv2-w0.35} is the tiny-training MobileNetV2 (last 1×1 conv
 *       make_divisible(1280 × 0.35, 8) = 448).</li>
 *   <li>{@code mbv2-w<W>} for another width W: the same tiny-training MobileNetV2 family (MIT's
 *       {@code MobileNetV2(width_mult=W, disable_keep_last_channel=True)}), generated in the compact
 *       format and built by the same builder.</li>
 *   <li>{@code mobilenet_v2}: torchvision's layout and names ({@code features.N...}, {@code classifier.1}),
 *       any width multiplier; the last conv keeps 1280 channels for widths ≤ 1, as torchvision does.</li>
 *   <li>{@code resnet18}, {@code resnet34}, {@code resnet50}: torchvision's layout and names.</li>
 * </ul>
 * Every architecture takes 3-channel input; the classifier has 1000 outputs unless asked otherwise.
 */
public final class ModelZoo {
    /** Names accepted by {@link #build} (plus {@code mbv2-w<W>} for any width W). */
    public static final List<String> NAMES = List.of("mbv2-w0.35", "mcunet-in1", "proxyless-w0.3", "mobilenet_v2",
            "resnet18", "resnet34", "resnet50");
    public static final int DEFAULT_CLASSES = 1000;
    private static final String PAPER_RESOURCE = "paper-models.json";
    private static volatile Map<String, Map<String, ?>> paperModels;

    private ModelZoo() {
    }

    /** One line per model for `--model` help texts. */
    public static String help() {
        return """
                  mbv2-w0.35      MobileNetV2 width 0.35, tiny-training variant (last conv 448), MIT names (paper)
                  mcunet-in1      MCUNet-in1 (mcunet-5fps), MIT names (paper)
                  proxyless-w0.3  ProxylessNAS-Mobile width 0.3, MIT names (paper)
                  mbv2-w<W>       tiny-training MobileNetV2 at another width W, e.g. mbv2-w0.5
                  mobilenet_v2    torchvision MobileNetV2 (--width W, default 1.0; last conv keeps 1280 for W <= 1)
                  resnet18, resnet34, resnet50   torchvision ResNets""";
    }

    /** Whether {@code name} takes a {@code width} argument (only {@code mobilenet_v2}). */
    public static boolean takesWidth(String name) {
        return name.equals("mobilenet_v2");
    }

    /** {@link #build(String, int, double)} with 1000 classes and width 1. */
    public static Architecture build(String name) {
        return build(name, DEFAULT_CLASSES, 1.0);
    }

    /** {@link #build(String, int, double)} with width 1. */
    public static Architecture build(String name, int classes) {
        return build(name, classes, 1.0);
    }

    /**
     * The architecture called {@code name} with a classifier of {@code classes} outputs; {@code width} is the
     * width multiplier of {@code mobilenet_v2} and must be 1 for every other model.
     *
     * @throws IllegalArgumentException for an unknown name (the message lists the known ones) or bad arguments
     */
    public static Architecture build(String name, int classes, double width) {
        if (classes < 1) {
            throw new IllegalArgumentException("the number of classes must be >= 1, got " + classes);
        }
        if (!(width > 0) || !Double.isFinite(width)) {
            throw new IllegalArgumentException("width must be a positive number, got " + width);
        }
        if (!takesWidth(name) && width != 1.0) {
            throw new IllegalArgumentException("model " + name + " has no width option (only mobilenet_v2 has)");
        }
        Map<String, Map<String, ?>> paper = paperModels();
        if (paper.containsKey(name)) {
            return CompactModels.build(name, paper.get(name), classes, true);
        }
        if (name.startsWith("mbv2-w")) {
            double w;
            try {
                w = Double.parseDouble(name.substring("mbv2-w".length()));
            } catch (NumberFormatException e) {
                throw unknown(name);
            }
            if (!(w > 0) || !Double.isFinite(w)) {
                throw unknown(name);
            }
            return CompactModels.build(name, tinyMobileNetV2Description(w), classes, true);
        }
        return switch (name) {
            case "mobilenet_v2" -> torchvisionMobileNetV2(width, classes);
            case "resnet18" -> resnet(18, classes);
            case "resnet34" -> resnet(34, classes);
            case "resnet50" -> resnet(50, classes);
            default -> throw unknown(name);
        };
    }

    private static IllegalArgumentException unknown(String name) {
        return new IllegalArgumentException("unknown model '" + name + "'; known models: " + String.join(", ", NAMES)
                + " (and mbv2-w<W> for another width W)");
    }

    /**
     * The paper's network as the compact description says, optionally without its feature-mix conv (the
     * variant in tiny-training's shipped int8 models, whose classifier takes the last block's channels).
     */
    public static Architecture paperModel(String name, int classes, boolean featureMix) {
        Map<String, ?> d = paperModels().get(name);
        if (d == null) {
            throw new IllegalArgumentException("no paper model '" + name + "'; paper models: "
                    + String.join(", ", paperModels().keySet()));
        }
        return CompactModels.build(featureMix ? name : name + "-nofm", d, classes, featureMix);
    }

    /** The parsed descriptions of the bundled paper-models.json, by name. */
    public static Map<String, Map<String, ?>> paperModels() {
        Map<String, Map<String, ?>> m = paperModels;
        if (m == null) {
            try (InputStream in = ModelZoo.class.getResourceAsStream(PAPER_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("resource io/trady4j/models/" + PAPER_RESOURCE + " is missing");
                }
                Object root = Json.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                if (!(root instanceof Map<?, ?> all)) {
                    throw new FormatException(PAPER_RESOURCE + " is not a JSON object");
                }
                Map<String, Map<String, ?>> out = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : all.entrySet()) {
                    String key = (String) e.getKey();
                    if (key.startsWith("_")) {
                        continue;
                    }
                    if (!(e.getValue() instanceof Map<?, ?> d)) {
                        throw new FormatException(PAPER_RESOURCE + ": entry '" + key + "' is not an object");
                    }
                    @SuppressWarnings("unchecked")
                    Map<String, ?> desc = (Map<String, ?>) d;
                    out.put(key, desc);
                }
                m = java.util.Collections.unmodifiableMap(out);
                paperModels = m;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the bundled " + PAPER_RESOURCE, e);
            }
        }
        return m;
    }

    /** make_divisible of torchvision and MIT's code: round to the nearest multiple, never below 90% of v. */
    public static int makeDivisible(double v, int divisor) {
        int newV = Math.max(divisor, (int) (v + divisor / 2.0) / divisor * divisor);
        if (newV < 0.9 * v) {
            newV += divisor;
        }
        return newV;
    }

    private static final int[][] MBV2_SETTING = {
            // t, c, n, s
            {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

    /**
     * The compact description of MIT's tiny-training MobileNetV2 at width {@code width}: stem
     * make_divisible(32w, 8), the standard block settings with make_divisible(c·w, 8) outputs, residual only
     * for expanding stride-1 blocks with equal channels, last 1×1 conv make_divisible(1280·w, 8), BN eps 1e-3.
     */
    public static Map<String, Object> tinyMobileNetV2Description(double width) {
        int c = makeDivisible(32 * width, 8);
        List<Object> blocks = new ArrayList<>();
        for (int[] st : MBV2_SETTING) {
            int out = makeDivisible(st[1] * width, 8);
            for (int i = 0; i < st[2]; i++) {
                int s = i == 0 ? st[3] : 1;
                boolean residual = st[0] > 1 && s == 1 && c == out;
                blocks.add(List.of((long) st[0], 3L, (long) s, (long) out, residual ? 1L : 0L));
                c = out;
            }
        }
        int last = makeDivisible(1280 * width, 8);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("in_ch", 3L);
        d.put("act", "relu6");
        d.put("conv_bias", false);
        d.put("bn", true);
        d.put("bn_eps", 1e-3);
        d.put("first_conv", List.of((long) makeDivisible(32 * width, 8), 3L, 2L));
        d.put("blocks", blocks);
        d.put("feature_mix", (long) last);
        d.put("classifier_in", (long) last);
        d.put("classifier_out", (long) DEFAULT_CLASSES);
        d.put("classifier_bias", true);
        return d;
    }

    // ---------------------------------------------------------------- torchvision MobileNetV2

    /** torchvision's {@code mobilenet_v2(width_mult=width, num_classes=classes)}: ReLU6, BN eps 1e-5. */
    public static Architecture torchvisionMobileNetV2(double width, int classes) {
        double eps = 1e-5;
        Activation r6 = Activation.RELU6;
        int c = makeDivisible(32 * width, 8);
        int last = makeDivisible(1280 * Math.max(1.0, width), 8);
        List<BlockSpec> blocks = new ArrayList<>();
        blocks.add(BlockSpec.plain("features.0",
                List.of(new ConvLayerSpec("features.0.0", Conv2dSpec.of(3, c, 3, 2, 1), r6, "features.0.1", eps, false))));
        int f = 1;
        for (int[] st : MBV2_SETTING) {
            int out = makeDivisible(st[1] * width, 8);
            for (int i = 0; i < st[2]; i++) {
                int s = i == 0 ? st[3] : 1;
                int hidden = (int) Math.round(c * (double) st[0]);
                String p = "features." + f + ".conv.";
                List<ConvLayerSpec> convs = new ArrayList<>();
                int j = 0;
                if (st[0] != 1) {
                    convs.add(new ConvLayerSpec(p + j + ".0", Conv2dSpec.of(c, hidden, 1, 1, 0), r6, p + j + ".1", eps, false));
                    j++;
                }
                convs.add(new ConvLayerSpec(p + j + ".0", Conv2dSpec.depthwise(hidden, 3, s, 1), r6, p + j + ".1", eps, false));
                j++;
                convs.add(new ConvLayerSpec(p + j, Conv2dSpec.of(hidden, out, 1, 1, 0), Activation.NONE, p + (j + 1), eps,
                        false));
                boolean residual = s == 1 && c == out;
                blocks.add(new BlockSpec("features." + f, convs, null, residual, Activation.NONE, null));
                c = out;
                f++;
            }
        }
        String p = "features." + f;
        blocks.add(BlockSpec.plain(p,
                List.of(new ConvLayerSpec(p + ".0", Conv2dSpec.of(c, last, 1, 1, 0), r6, p + ".1", eps, false))));
        String name = width == 1.0 ? "mobilenet_v2" : "mobilenet_v2-w" + formatWidth(width);
        return new Architecture(name, 3, blocks, new LinearLayerSpec("classifier.1", last, classes, true));
    }

    private static String formatWidth(double w) {
        String s = String.format(Locale.ROOT, "%s", w);
        return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
    }

    // ---------------------------------------------------------------- torchvision ResNet

    /** torchvision's {@code resnet18/34/50(num_classes=classes)} (ResNet-50 is v1.5: stride on the 3×3 conv). */
    public static Architecture resnet(int depth, int classes) {
        int[] layers;
        boolean bottleneck;
        switch (depth) {
            case 18 -> { layers = new int[]{2, 2, 2, 2}; bottleneck = false; }
            case 34 -> { layers = new int[]{3, 4, 6, 3}; bottleneck = false; }
            case 50 -> { layers = new int[]{3, 4, 6, 3}; bottleneck = true; }
            default -> throw new IllegalArgumentException("no ResNet of depth " + depth + " (18, 34 or 50)");
        }
        double eps = 1e-5;
        Activation relu = Activation.RELU;
        List<BlockSpec> blocks = new ArrayList<>();
        blocks.add(new BlockSpec("stem",
                List.of(new ConvLayerSpec("conv1", Conv2dSpec.of(3, 64, 7, 2, 3), relu, "bn1", eps, false)),
                null, false, Activation.NONE, new MaxPoolSpec(3, 2, 1)));
        int expansion = bottleneck ? 4 : 1;
        int in = 64;
        for (int l = 0; l < 4; l++) {
            int planes = 64 << l;
            for (int b = 0; b < layers[l]; b++) {
                int s = b == 0 && l > 0 ? 2 : 1;
                String p = "layer" + (l + 1) + "." + b + ".";
                List<ConvLayerSpec> convs = new ArrayList<>();
                if (bottleneck) {
                    convs.add(new ConvLayerSpec(p + "conv1", Conv2dSpec.of(in, planes, 1, 1, 0), relu, p + "bn1", eps, false));
                    convs.add(new ConvLayerSpec(p + "conv2", Conv2dSpec.of(planes, planes, 3, s, 1), relu, p + "bn2", eps, false));
                    convs.add(new ConvLayerSpec(p + "conv3", Conv2dSpec.of(planes, planes * 4, 1, 1, 0), Activation.NONE,
                            p + "bn3", eps, false));
                } else {
                    convs.add(new ConvLayerSpec(p + "conv1", Conv2dSpec.of(in, planes, 3, s, 1), relu, p + "bn1", eps, false));
                    convs.add(new ConvLayerSpec(p + "conv2", Conv2dSpec.of(planes, planes, 3, 1, 1), Activation.NONE,
                            p + "bn2", eps, false));
                }
                int out = planes * expansion;
                ConvLayerSpec down = null;
                if (s != 1 || in != out) {
                    down = new ConvLayerSpec(p + "downsample.0", Conv2dSpec.of(in, out, 1, s, 0), Activation.NONE,
                            p + "downsample.1", eps, false);
                }
                blocks.add(new BlockSpec("layer" + (l + 1) + "." + b, convs, down, true, relu, null));
                in = out;
            }
        }
        return new Architecture("resnet" + depth, 3, blocks, new LinearLayerSpec("fc", in, classes, true));
    }
}
