package io.trady4j.bench;

import io.trady4j.backend.Conv2dSpec;
import io.trady4j.io.FormatException;
import io.trady4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One layer shape of the GPU kernel sweep, as {@code bench/model/shapes.json} lists it (the file
 * the static performance model predicts for): the layer's name and network, its batch size, and
 * its geometry with {@code height}/{@code width} the layer's input spatial size.
 */
public record SweepShape(String layer, String network, int batch, int inChannels, int outChannels, int height,
                         int width, int kernel, int stride, int padding, int groups) {
    private static final String[] INT_KEYS = {"batch", "in_channels", "out_channels", "height", "width", "kernel",
            "stride", "padding", "groups"};

    public SweepShape {
        if (batch < 1 || inChannels < 1 || outChannels < 1 || height < 1 || width < 1 || kernel < 1 || stride < 1
                || padding < 0 || groups < 1 || inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("layer " + layer + ": impossible geometry (batch " + batch + ", "
                    + inChannels + " -> " + outChannels + ", " + height + "x" + width + ", k" + kernel + " s" + stride
                    + " p" + padding + " g" + groups + ")");
        }
        if (height + 2 * padding < kernel || width + 2 * padding < kernel) {
            throw new IllegalArgumentException("layer " + layer + ": the " + kernel + "x" + kernel + " kernel does not fit a "
                    + height + "x" + width + " input with padding " + padding);
        }
    }

    public Conv2dSpec spec() {
        return new Conv2dSpec(inChannels, outChannels, kernel, stride, padding, 1, groups);
    }

    public int outHeight() {
        return (height + 2 * padding - kernel) / stride + 1;
    }

    public int outWidth() {
        return (width + 2 * padding - kernel) / stride + 1;
    }

    public boolean depthwise() {
        return groups > 1 && groups == inChannels && groups == outChannels;
    }

    /**
     * The same layer at another batch size and with its input planes at most {@code maxSize} on a side
     * (never below what the kernel needs), for runs where the real sizes would take too long (the dry run
     * on the CPU emulator); {@code batch} or {@code maxSize} 0 keeps the shape's own.
     */
    public SweepShape shrunk(int batchOverride, int maxSize) {
        int b = batchOverride > 0 ? batchOverride : batch;
        int floor = Math.max(1, kernel - 2 * padding);
        int h = maxSize > 0 ? Math.max(floor, Math.min(height, maxSize)) : height;
        int w = maxSize > 0 ? Math.max(floor, Math.min(width, maxSize)) : width;
        return new SweepShape(layer, network, b, inChannels, outChannels, h, w, kernel, stride, padding, groups);
    }

    /** The shape as a benchmark layer (square planes only), for its analytic FLOPs and bytes ({@link ConvCost}). */
    Layers.Layer asLayer() {
        if (height != width) {
            throw new IllegalArgumentException("layer " + layer + ": the sweep's cost model takes square planes, got "
                    + height + "x" + width);
        }
        return new Layers.Layer(layer, network, inChannels, outChannels, kernel, stride, padding, groups, height, 1,
                List.of(layer));
    }

    /** The fields of the shapes file, for a result row. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layer", layer);
        m.put("network", network);
        m.put("batch", batch);
        m.put("in_channels", inChannels);
        m.put("out_channels", outChannels);
        m.put("height", height);
        m.put("width", width);
        m.put("kernel", kernel);
        m.put("stride", stride);
        m.put("padding", padding);
        m.put("groups", groups);
        return m;
    }

    /** Reads {@code {"shapes": [{...}, ...]}}; a missing or malformed file is an IllegalArgumentException naming it. */
    public static List<SweepShape> read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the shapes file " + file + ": " + e.getMessage());
        }
        try {
            return parse(Json.parse(text));
        } catch (FormatException | IllegalArgumentException | ClassCastException e) {
            throw new IllegalArgumentException("the shapes file " + file + " is not a valid shape list: " + e.getMessage());
        }
    }

    static List<SweepShape> parse(Object json) throws FormatException {
        if (!(json instanceof Map<?, ?> root) || !(root.get("shapes") instanceof List<?> list) || list.isEmpty()) {
            throw new FormatException("expected {\"shapes\": [ ... ]} with at least one shape");
        }
        List<SweepShape> shapes = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m) || !(m.get("layer") instanceof String layer)
                    || !(m.get("network") instanceof String network)) {
                throw new FormatException("shape " + (shapes.size() + 1) + " needs string fields layer and network");
            }
            int[] v = new int[INT_KEYS.length];
            for (int i = 0; i < INT_KEYS.length; i++) {
                if (!(m.get(INT_KEYS[i]) instanceof Long n) || n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
                    throw new FormatException("layer " + layer + ": field " + INT_KEYS[i] + " must be an integer, got "
                            + m.get(INT_KEYS[i]));
                }
                v[i] = n.intValue();
            }
            shapes.add(new SweepShape(layer, network, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]));
        }
        return shapes;
    }
}
