package io.trady4j.bench;

import io.trady4j.backend.Conv2dSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The conv layer shapes the CPU benchmarks run, the single source of truth for both sides:
 * {@code java -cp benchmarks.jar io.trady4j.bench.Layers} prints them as JSON for the PyTorch script.
 *
 * <p>MobileNetV2-w0.35, tiny-training variant (first conv 3→16 k3 s2; the 17 inverted-residual
 * blocks of {@code shared/archs/paper-models.json} key "mbv2-w0.35", read from
 * mit-han-lab/tinyml mbv2-w0.35-r144_imagenet.json; final 1×1 conv 112→448), 128×128 input.
 * ResNet-18 (torchvision layout) at 128×128. Layers with the same geometry are benchmarked once;
 * {@link Layer#count} says how many layers of the network share it.
 */
public final class Layers {
    /** One benchmarked conv shape: H = W = input size; batch is a benchmark parameter. */
    public record Layer(String name, String net, int in, int out, int kernel, int stride, int padding, int groups,
                        int size, int count, List<String> members) {
        public Conv2dSpec spec() {
            return new Conv2dSpec(in, out, kernel, stride, padding, 1, groups);
        }

        public int outSize() {
            return spec().outSize(size);
        }

        /** Multiply-adds of the forward (equal to those of the dense weight gradient) for one sample. */
        public long macsPerSample() {
            long o = outSize();
            return (long) out * (in / groups) * kernel * kernel * o * o;
        }

        String key() {
            return net + ":" + in + ":" + out + ":" + kernel + ":" + stride + ":" + padding + ":" + groups + ":" + size;
        }
    }

    /** [expand ratio, dw kernel, dw stride, out channels, residual] as in paper-models.json. */
    private static final int[][] MBV2_W035_BLOCKS = {
            {1, 3, 1, 8, 0}, {6, 3, 2, 8, 0}, {6, 3, 1, 8, 1}, {6, 3, 2, 16, 0}, {6, 3, 1, 16, 1},
            {6, 3, 1, 16, 1}, {6, 3, 2, 24, 0}, {6, 3, 1, 24, 1}, {6, 3, 1, 24, 1}, {6, 3, 1, 24, 1},
            {6, 3, 1, 32, 0}, {6, 3, 1, 32, 1}, {6, 3, 1, 32, 1}, {6, 3, 2, 56, 0}, {6, 3, 1, 56, 1},
            {6, 3, 1, 56, 1}, {6, 3, 1, 112, 0}};

    private Layers() {
    }

    private record Raw(String name, int in, int out, int k, int s, int p, int g, int size) {
    }

    static List<Raw> mbv2Raw(int resolution) {
        List<Raw> raw = new ArrayList<>();
        int size = resolution, ch = 3;
        raw.add(new Raw("first", ch, 16, 3, 2, 1, 1, size));
        size = (size + 2 - 3) / 2 + 1;
        ch = 16;
        for (int b = 0; b < MBV2_W035_BLOCKS.length; b++) {
            int[] blk = MBV2_W035_BLOCKS[b];
            int mid = ch * blk[0];
            String p = String.format(Locale.ROOT, "b%02d.", b);
            if (blk[0] > 1) {
                raw.add(new Raw(p + "expand", ch, mid, 1, 1, 0, 1, size));
            }
            raw.add(new Raw(p + "dw", mid, mid, blk[1], blk[2], blk[1] / 2, mid, size));
            size = (size + 2 * (blk[1] / 2) - blk[1]) / blk[2] + 1;
            raw.add(new Raw(p + "project", mid, blk[3], 1, 1, 0, 1, size));
            ch = blk[3];
        }
        raw.add(new Raw("mix", ch, 448, 1, 1, 0, 1, size));
        return raw;
    }

    static List<Raw> resnet18Raw(int resolution) {
        List<Raw> raw = new ArrayList<>();
        int size = resolution;
        raw.add(new Raw("conv1", 3, 64, 7, 2, 3, 1, size));
        size = (size + 6 - 7) / 2 + 1;
        size = (size + 2 - 3) / 2 + 1; // max pool 3x3 s2 p1
        int ch = 64;
        int[] widths = {64, 128, 256, 512};
        for (int l = 0; l < 4; l++) {
            for (int blk = 0; blk < 2; blk++) {
                int s = (l > 0 && blk == 0) ? 2 : 1, w = widths[l];
                String p = "layer" + (l + 1) + "." + blk + ".";
                raw.add(new Raw(p + "conv1", ch, w, 3, s, 1, 1, size));
                int o = (size + 2 - 3) / s + 1;
                raw.add(new Raw(p + "conv2", w, w, 3, 1, 1, 1, o));
                if (s != 1 || ch != w) {
                    raw.add(new Raw(p + "downsample", ch, w, 1, s, 0, 1, size));
                }
                size = o;
                ch = w;
            }
        }
        return raw;
    }

    private static List<Layer> unique(String net, List<Raw> raw) {
        Map<String, List<Raw>> byKey = new LinkedHashMap<>();
        for (Raw r : raw) {
            String key = r.in + ":" + r.out + ":" + r.k + ":" + r.s + ":" + r.p + ":" + r.g + ":" + r.size;
            byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(r);
        }
        List<Layer> out = new ArrayList<>();
        for (List<Raw> group : byKey.values()) {
            Raw r = group.get(0);
            List<String> names = group.stream().map(Raw::name).toList();
            out.add(new Layer(net + "." + r.name, net, r.in, r.out, r.k, r.s, r.p, r.g, r.size, group.size(), names));
        }
        return out;
    }

    public static List<Layer> mbv2() {
        return unique("mbv2", mbv2Raw(128));
    }

    public static List<Layer> resnet18() {
        return unique("resnet18", resnet18Raw(128));
    }

    public static List<Layer> all() {
        List<Layer> all = new ArrayList<>(mbv2());
        all.addAll(resnet18());
        return all;
    }

    public static Layer byName(String name) {
        for (Layer l : all()) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown layer " + name);
    }

    /** |S| = max(1, round(d·C)). */
    public static int selected(double density, int channels) {
        return Math.max(1, (int) Math.round(density * channels));
    }

    public static void main(String[] args) {
        StringBuilder sb = new StringBuilder("[\n");
        List<Layer> all = all();
        for (int i = 0; i < all.size(); i++) {
            Layer l = all.get(i);
            sb.append(String.format(Locale.ROOT,
                    "  {\"name\": \"%s\", \"net\": \"%s\", \"in\": %d, \"out\": %d, \"kernel\": %d, \"stride\": %d, "
                            + "\"padding\": %d, \"groups\": %d, \"size\": %d, \"out_size\": %d, \"count\": %d, "
                            + "\"macs_per_sample\": %d, \"members\": [%s]}%s%n",
                    l.name(), l.net(), l.in(), l.out(), l.kernel(), l.stride(), l.padding(), l.groups(), l.size(),
                    l.outSize(), l.count(), l.macsPerSample(),
                    String.join(", ", l.members().stream().map(m -> "\"" + m + "\"").toList()),
                    i + 1 < all.size() ? "," : ""));
        }
        System.out.print(sb.append("]\n"));
    }
}
