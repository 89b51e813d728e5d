package io.trady4j.models;

import io.trady4j.backend.Activation;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.BlockSpec;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.LinearLayerSpec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds an {@link Architecture} from one entry of the compact format of {@code paper-models.json}
 * (documented in that file's {@code _doc}): a stem conv, inverted-residual (MBConv) blocks, an
 * optional 1×1 feature-mix conv, global average pooling and a linear classifier.
 *
 * <p>Parameter names are those of MIT's model zoo (mit-han-lab/mcunet, {@code ProxylessNASNets} with
 * {@code MobileInvertedResidualBlock}s of {@code MBInvertedConvLayer}s):
 * {@code first_conv.conv}/{@code first_conv.bn};
 * {@code blocks.N.mobile_inverted_conv.{inverted_bottleneck,depth_conv,point_linear}.conv}/{@code .bn}
 * (no {@code inverted_bottleneck} when the expand ratio is 1); {@code feature_mix_layer.conv}/{@code .bn};
 * {@code classifier.linear}. Block indices N are those of the upstream block list: blocks listed in
 * {@code zero_blocks_dropped} (identity-only {@code ZeroLayer} blocks, which hold no parameters) still
 * take an index there, so the blocks after them are numbered past them.
 */
public final class CompactModels {
    private CompactModels() {
    }

    /**
     * The architecture of one compact description.
     *
     * @param name        the architecture's name
     * @param desc        the parsed JSON object of one model
     * @param classes     classifier outputs, or 0 to keep the description's {@code classifier_out}
     * @param featureMix  whether to build the feature-mix conv when the description has one; false gives
     *                    the variant shipped in tiny-training's int8 models (classifier on the last block)
     */
    public static Architecture build(String name, Map<String, ?> desc, int classes, boolean featureMix) {
        String where = "model description '" + name + "'";
        int inCh = integer(desc, "in_ch", where);
        Activation act = Activation.parse(string(desc, "act", where));
        boolean convBias = bool(desc, "conv_bias", where);
        boolean bn = bool(desc, "bn", where);
        double eps = bn ? number(desc, "bn_eps", where) : 0.0;
        List<?> first = list(desc, "first_conv", where);
        if (first.size() != 3) {
            throw new IllegalArgumentException(where + ": first_conv must be [out_ch, kernel, stride]");
        }
        Set<Integer> dropped = new HashSet<>();
        if (desc.get("zero_blocks_dropped") != null) {
            for (Object o : list(desc, "zero_blocks_dropped", where)) {
                dropped.add(toInt(o, where + " zero_blocks_dropped"));
            }
        }

        List<BlockSpec> blocks = new ArrayList<>();
        int c = inCh;
        int out0 = toInt(first.get(0), where), k0 = toInt(first.get(1), where), s0 = toInt(first.get(2), where);
        blocks.add(BlockSpec.plain("first_conv",
                List.of(conv("first_conv", Conv2dSpec.of(c, out0, k0, s0, k0 / 2), act, bn, eps, convBias))));
        c = out0;

        int upstream = 0;
        int i = 0;
        for (Object o : list(desc, "blocks", where)) {
            while (dropped.contains(upstream)) {
                upstream++;
            }
            String bw = where + " block " + i;
            if (!(o instanceof List<?> b) || b.size() != 5) {
                throw new IllegalArgumentException(bw + " must be [expand_ratio, dw_kernel, dw_stride, out_ch, residual]");
            }
            int expand = toInt(b.get(0), bw), k = toInt(b.get(1), bw), s = toInt(b.get(2), bw);
            int out = toInt(b.get(3), bw);
            boolean residual = toInt(b.get(4), bw) != 0;
            if (residual && (s != 1 || c != out)) {
                throw new IllegalArgumentException(bw + " has a residual but changes shape (stride " + s + ", "
                        + c + " -> " + out + " channels)");
            }
            String prefix = "blocks." + upstream + ".mobile_inverted_conv.";
            int mid = c * expand;
            List<ConvLayerSpec> convs = new ArrayList<>();
            if (expand != 1) {
                convs.add(conv(prefix + "inverted_bottleneck", Conv2dSpec.of(c, mid, 1, 1, 0), act, bn, eps, convBias));
            }
            convs.add(conv(prefix + "depth_conv", Conv2dSpec.depthwise(mid, k, s, k / 2), act, bn, eps, convBias));
            convs.add(conv(prefix + "point_linear", Conv2dSpec.of(mid, out, 1, 1, 0), Activation.NONE, bn, eps, convBias));
            blocks.add(new BlockSpec("blocks." + upstream, convs, null, residual, Activation.NONE, null));
            c = out;
            upstream++;
            i++;
        }

        Object fm = desc.get("feature_mix");
        if (fm != null && featureMix) {
            int f = toInt(fm, where + " feature_mix");
            blocks.add(BlockSpec.plain("feature_mix_layer",
                    List.of(conv("feature_mix_layer", Conv2dSpec.of(c, f, 1, 1, 0), act, bn, eps, convBias))));
            c = f;
        }
        int declaredIn = integer(desc, fm != null && !featureMix && desc.containsKey("classifier_in_tiny_training_pkl")
                ? "classifier_in_tiny_training_pkl" : "classifier_in", where);
        if (declaredIn != c) {
            throw new IllegalArgumentException(where + ": classifier_in is " + declaredIn + " but the blocks end with "
                    + c + " channels");
        }
        int outClasses = classes > 0 ? classes : integer(desc, "classifier_out", where);
        boolean clsBias = bool(desc, "classifier_bias", where);
        return new Architecture(name, inCh, blocks, new LinearLayerSpec("classifier.linear", c, outClasses, clsBias));
    }

    private static ConvLayerSpec conv(String prefix, Conv2dSpec spec, Activation act, boolean bn, double eps,
                                      boolean bias) {
        return new ConvLayerSpec(prefix + ".conv", spec, act, bn ? prefix + ".bn" : null, eps, bias);
    }

    private static Object field(Map<String, ?> m, String key, String where) {
        if (!m.containsKey(key) || m.get(key) == null) {
            throw new IllegalArgumentException(where + " has no '" + key + "'");
        }
        return m.get(key);
    }

    private static int integer(Map<String, ?> m, String key, String where) {
        return toInt(field(m, key, where), where + " '" + key + "'");
    }

    private static double number(Map<String, ?> m, String key, String where) {
        if (!(field(m, key, where) instanceof Number n)) {
            throw new IllegalArgumentException(where + ": '" + key + "' is not a number");
        }
        return n.doubleValue();
    }

    private static String string(Map<String, ?> m, String key, String where) {
        if (!(field(m, key, where) instanceof String s)) {
            throw new IllegalArgumentException(where + ": '" + key + "' is not a string");
        }
        return s;
    }

    private static boolean bool(Map<String, ?> m, String key, String where) {
        if (!(field(m, key, where) instanceof Boolean b)) {
            throw new IllegalArgumentException(where + ": '" + key + "' is not true or false");
        }
        return b;
    }

    private static List<?> list(Map<String, ?> m, String key, String where) {
        if (!(field(m, key, where) instanceof List<?> l)) {
            throw new IllegalArgumentException(where + ": '" + key + "' is not a list");
        }
        return l;
    }

    private static int toInt(Object o, String where) {
        if ((o instanceof Long || o instanceof Integer) && ((Number) o).longValue() >= 0
                && ((Number) o).longValue() <= Integer.MAX_VALUE) {
            return ((Number) o).intValue();
        }
        throw new IllegalArgumentException(where + ": expected a non-negative integer, got " + o);
    }
}
