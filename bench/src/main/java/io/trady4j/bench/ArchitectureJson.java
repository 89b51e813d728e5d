package io.trady4j.bench;

import io.trady4j.backend.Conv2dSpec;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.BlockSpec;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.MaxPoolSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An architecture as plain JSON, enough for another framework to build the same network (every conv
 * carries its folded bias; the blocks run in order, then global average pooling, then the classifier).
 * bench/step/torch_step.py builds its PyTorch model from it.
 */
final class ArchitectureJson {
    private ArchitectureJson() {
    }

    static Map<String, Object> of(Architecture arch) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", arch.name());
        m.put("in_channels", arch.inChannels());
        List<Object> blocks = new ArrayList<>();
        for (BlockSpec b : arch.blocks()) {
            Map<String, Object> block = new LinkedHashMap<>();
            block.put("name", b.name());
            block.put("convs", b.convs().stream().map(ArchitectureJson::conv).toList());
            block.put("shortcut", b.shortcut() == null ? null : conv(b.shortcut()));
            block.put("residual", b.residual());
            block.put("after_add", b.afterAdd().name().toLowerCase(java.util.Locale.ROOT));
            MaxPoolSpec p = b.maxPoolAfter();
            block.put("max_pool_after", p == null ? null : Map.of("kernel", p.kernel(), "stride", p.stride(),
                    "padding", p.padding()));
            blocks.add(block);
        }
        m.put("blocks", blocks);
        m.put("classifier", Map.of("name", arch.classifier().name(), "in", arch.classifier().in(),
                "out", arch.classifier().out(), "bias", arch.classifier().bias()));
        m.put("conv_layers", arch.convLayers().stream().map(ConvLayerSpec::name).toList());
        return m;
    }

    private static Map<String, Object> conv(ConvLayerSpec c) {
        Conv2dSpec s = c.conv();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", c.name());
        m.put("in", s.inChannels());
        m.put("out", s.outChannels());
        m.put("kernel", s.kernel());
        m.put("stride", s.stride());
        m.put("padding", s.padding());
        m.put("dilation", s.dilation());
        m.put("groups", s.groups());
        m.put("activation", c.activation().name().toLowerCase(java.util.Locale.ROOT));
        return m;
    }
}
