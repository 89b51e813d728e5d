package io.trady4j.cli;

import io.trady4j.models.ModelZoo;
import io.trady4j.nn.Architecture;
import io.trady4j.trady.CostModel;

import io.trady4j.io.Json;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code trady4j cost}: the per-layer cost table of a model and the units of full fine-tuning. */
public final class CostCommand implements Command {
    static final String DEFAULT_MODEL = "mbv2-w0.35";
    static final int DEFAULT_RESOLUTION = 128;

    @Override
    public String name() {
        return "cost";
    }

    @Override
    public String summary() {
        return "per-layer memory and dW FLOP costs of a model (TraDy cost model) and the total of full fine-tuning";
    }

    @Override
    public String usage() {
        return """
                usage: trady4j cost [--model NAME] [--resolution R] [--classes N] [--width W] [--json | --csv] [--plot FILE]

                Prints, for every conv layer of the model at an R x R input, one sample (batch-1 accounting as in
                the paper): input -> output channels, kernel, stride, groups, input size, weight units (C * C'/g * D^2),
                activation units (C * H * W), their total, and the weight-gradient MFLOPs (2 * D^2 * C'/g * H' * W' * C).
                A unit is one stored scalar (4 bytes in fp32). Ends with the classifier's cost (trained in full,
                outside the budget) and the line `total units: N` for full fine-tuning, classifier excluded.

                  --model NAME      default %s; one of:
                %s
                  --resolution R    input size in pixels, default %d
                  --classes N       classifier outputs, default %d
                  --width W         width multiplier (mobilenet_v2 only), default 1.0
                  --json            print the same figures as JSON instead of the table (per layer, classifier, totals)
                  --csv             print one CSV row per conv layer instead of the table (header first)
                  --plot FILE       also draw the per-layer cost bars to FILE.png and FILE.svg
                """.formatted(DEFAULT_MODEL, ModelZoo.help().indent(4).stripTrailing(), DEFAULT_RESOLUTION,
                ModelZoo.DEFAULT_CLASSES);
    }

    @Override
    public int run(Args args, PrintStream out) throws java.io.IOException {
        String model = args.string("model", DEFAULT_MODEL);
        int resolution = args.integer("resolution", DEFAULT_RESOLUTION);
        int classes = args.integer("classes", ModelZoo.DEFAULT_CLASSES);
        boolean hasWidth = args.has("width");
        double width = args.real("width", 1.0);
        boolean json = args.flag("json");
        boolean csv = args.flag("csv");
        String plot = args.string("plot", null);
        args.finish();
        if (json && csv) {
            throw new UsageException("give --json or --csv, not both");
        }
        if (plot != null) {
            Workspace.requireWritableFile(Path.of(plot + ".png"), "--plot");
        }
        if (resolution < 1) {
            throw new UsageException("--resolution must be >= 1, got " + resolution);
        }
        if (classes < 1) {
            throw new UsageException("--classes must be >= 1, got " + classes);
        }
        Architecture arch = build(model, classes, hasWidth, width);
        CostModel cost;
        try {
            cost = CostModel.of(arch, resolution);
        } catch (IllegalArgumentException e) {
            throw new UsageException("resolution " + resolution + " is too small for " + arch.name() + ": " + e.getMessage());
        }
        if (json) {
            out.println(Json.writePretty(toJson(cost)));
        } else if (csv) {
            printCsv(cost, out);
        } else {
            print(cost, out);
        }
        if (plot != null) {
            RunPlots.cost(cost).write(Path.of(plot));
            if (!json && !csv) {   // the machine-readable forms keep stdout to themselves
                out.println("plot: " + plot + ".png (and .svg)");
            }
        }
        return 0;
    }

    static Architecture build(String model, int classes, boolean hasWidth, double width) {
        if (hasWidth && !ModelZoo.takesWidth(model)) {
            throw new UsageException("--width applies to mobilenet_v2 only, not to " + model);
        }
        if (hasWidth && !(width > 0)) {
            throw new UsageException("--width must be > 0, got " + width);
        }
        try {
            return ModelZoo.build(model, classes, width);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static void print(CostModel cost, PrintStream out) {
        Architecture arch = cost.architecture();
        int nameWidth = "layer".length();
        for (CostModel.LayerCost l : cost.layers()) {
            nameWidth = Math.max(nameWidth, l.name().length());
        }
        out.printf(Locale.ROOT, "%s at %dx%d, %d classes: %d conv layers (per sample; 1 unit = %d bytes)%n",
                arch.name(), cost.resolution(), cost.resolution(), arch.classifier().out(), cost.layers().size(),
                CostModel.BYTES_PER_UNIT);
        String fmt = "%-" + nameWidth + "s  %11s  %2s  %2s  %4s  %9s  %12s  %12s  %12s  %10s%n";
        out.printf(Locale.ROOT, fmt, "layer", "C->C'", "k", "s", "g", "HxW in", "weight units", "act units",
                "total units", "dW MFLOPs");
        for (CostModel.LayerCost l : cost.layers()) {
            out.printf(Locale.ROOT, fmt, l.name(), l.conv().inChannels() + "->" + l.conv().outChannels(),
                    l.conv().kernel(), l.conv().stride(), l.conv().groups(), l.inHeight() + "x" + l.inWidth(),
                    group(l.weightUnits()), group(l.activationUnits()), group(l.totalUnits()),
                    String.format(Locale.ROOT, "%.3f", l.dwFlops() / 1e6));
        }
        out.printf(Locale.ROOT, fmt, "all conv layers", "", "", "", "", "", group(cost.totalWeightUnits()),
                group(cost.totalActivationUnits()), group(cost.totalUnits()),
                String.format(Locale.ROOT, "%.3f", 2 * cost.totalDwMacs() / 1e6));
        CostModel.ClassifierCost c = cost.classifier();
        out.printf(Locale.ROOT, "classifier %s (%d->%d, trained in full, outside the budget): %s units "
                        + "(%s weights%s + %s activations), %s bytes, %.3f dW MFLOPs%n",
                c.layer().name(), c.layer().in(), c.layer().out(), group(c.totalUnits()),
                group((long) c.layer().in() * c.layer().out()),
                c.layer().bias() ? " + " + group(c.layer().out()) + " bias" : "",
                group(c.activationUnits()), group(CostModel.bytes(c.totalUnits())), 2 * c.dwMacs() / 1e6);
        out.printf(Locale.ROOT, "total units: %d (%s bytes = %.1f KiB at %d B/unit; full fine-tuning of all conv layers, "
                        + "classifier excluded)%n",
                cost.totalUnits(), group(CostModel.bytes(cost.totalUnits())), CostModel.bytes(cost.totalUnits()) / 1024.0,
                CostModel.BYTES_PER_UNIT);
    }

    static Map<String, Object> toJson(CostModel cost) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", cost.architecture().name());
        m.put("resolution", cost.resolution());
        m.put("classes", cost.architecture().classifier().out());
        m.put("bytes_per_unit", CostModel.BYTES_PER_UNIT);
        List<Object> layers = new ArrayList<>();
        for (CostModel.LayerCost l : cost.layers()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("name", l.name());
            x.put("in_channels", l.conv().inChannels());
            x.put("out_channels", l.conv().outChannels());
            x.put("kernel", l.conv().kernel());
            x.put("stride", l.conv().stride());
            x.put("groups", l.conv().groups());
            x.put("in_height", l.inHeight());
            x.put("in_width", l.inWidth());
            x.put("weight_units", l.weightUnits());
            x.put("activation_units", l.activationUnits());
            x.put("total_units", l.totalUnits());
            x.put("units_per_channel", l.spaceUnitsPerChannel());
            x.put("dw_flops", l.dwFlops());
            layers.add(x);
        }
        m.put("layers", layers);
        CostModel.ClassifierCost c = cost.classifier();
        Map<String, Object> cl = new LinkedHashMap<>();
        cl.put("name", c.layer().name());
        cl.put("in_features", c.layer().in());
        cl.put("out_features", c.layer().out());
        cl.put("weight_units", c.weightUnits());
        cl.put("activation_units", c.activationUnits());
        cl.put("total_units", c.totalUnits());
        cl.put("dw_flops", 2 * c.dwMacs());
        m.put("classifier", cl);
        m.put("total_weight_units", cost.totalWeightUnits());
        m.put("total_activation_units", cost.totalActivationUnits());
        m.put("total_units", cost.totalUnits());
        m.put("total_dw_flops", 2 * cost.totalDwMacs());
        return m;
    }

    static void printCsv(CostModel cost, PrintStream out) {
        out.println("layer,in_channels,out_channels,kernel,stride,groups,in_height,in_width,weight_units,activation_units,"
                + "total_units,units_per_channel,dw_flops");
        for (CostModel.LayerCost l : cost.layers()) {
            out.println(String.join(",", l.name(), "" + l.conv().inChannels(), "" + l.conv().outChannels(),
                    "" + l.conv().kernel(), "" + l.conv().stride(), "" + l.conv().groups(), "" + l.inHeight(), "" + l.inWidth(),
                    "" + l.weightUnits(), "" + l.activationUnits(), "" + l.totalUnits(), "" + l.spaceUnitsPerChannel(),
                    "" + l.dwFlops()));
        }
    }

    private static String group(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }
}
