package io.trady4j.bench;

import io.trady4j.cli.Args;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/** The command line of {@link KernelSweep}. */
public record KernelSweepOptions(Path shapes, Path out, List<SweepOp> ops, List<Double> densities,
                                 List<String> layerPrefixes, int batch, int maxSize, double maxSeconds,
                                 Repetitions repetitions, int flushMiB, long seed) {

    public static final String USAGE = """
            usage: KernelSweep --out FILE.json [options]   (the CUDA backend; on the emulator build, too)
              --shapes FILE             layer shapes (default bench/model/shapes.json)
              --ops a,b                 of conv2d_forward, conv2d_gather, conv2d_dx, conv2d_dw_sparse (default all)
              --densities 0.01,0.1,1    |S|/C of the selective ops (gather, dW); forward and dx rows carry 1.0
              --layers PREFIX,...       only layers whose name starts with one of these (default all)
              --batch N                 every shape at batch N instead of its own (dry runs)
              --max-size N              input planes at most N on a side (dry runs on the emulator)
              --max-seconds N           start no new shape after N seconds (default 150)
              --warmup N                untimed calls before each measurement (default 3)
              --min-reps N --max-reps N timed calls per measurement (default 5 and 50)
              --target-ms MS            timed calls fill about this much time, within the rep bounds (default 30)
              --flush-mib N             overwrite N MiB before each call to flush L2; 0 = no flush (default 128)
              --seed N                  inputs and channel selections (default 1234)""";

    public static KernelSweepOptions parse(String... argv) {
        Args a = Args.parse(List.of(argv));
        if (a.flag("help")) {
            throw new IllegalArgumentException(USAGE);
        }
        Path out = Path.of(a.required("out"));
        Path shapes = Path.of(a.string("shapes", "bench/model/shapes.json"));
        List<SweepOp> ops = split(a.string("ops", "conv2d_forward,conv2d_gather,conv2d_dx,conv2d_dw_sparse")).stream()
                .map(SweepOp::byAbiName).distinct().toList();
        List<Double> densities = split(a.string("densities", "0.01,0.1,1")).stream().map(v -> number(v, "--densities"))
                .toList();
        List<String> prefixes = split(a.string("layers", ""));
        int batch = a.integer("batch", 0);
        int maxSize = a.integer("max-size", 0);
        double maxSeconds = a.real("max-seconds", 150);
        Repetitions reps = new Repetitions(a.integer("warmup", 3), a.integer("min-reps", 5), a.integer("max-reps", 50),
                a.real("target-ms", 30));
        int flushMiB = a.integer("flush-mib", 128);
        long seed = a.longValue("seed", 1234);
        a.finish();
        TreeSet<Double> sorted = new TreeSet<>(densities);
        if (ops.isEmpty() || sorted.isEmpty() || sorted.first() <= 0 || sorted.last() > 1) {
            throw new IllegalArgumentException("need at least one op and densities in (0, 1], got " + ops + " and "
                    + densities);
        }
        if (batch < 0 || maxSize < 0 || flushMiB < 0 || !(maxSeconds > 0)) {
            throw new IllegalArgumentException("--batch, --max-size and --flush-mib must be >= 0 and --max-seconds > 0");
        }
        return new KernelSweepOptions(shapes, out, ops, List.copyOf(sorted), prefixes, batch, maxSize, maxSeconds, reps,
                flushMiB, seed);
    }

    /** Whether --layers selects this layer (every layer without --layers). */
    public boolean wants(SweepShape shape) {
        return layerPrefixes.isEmpty() || layerPrefixes.stream().anyMatch(p -> shape.layer().startsWith(p));
    }

    private static List<String> split(String v) {
        return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static double number(String v, String option) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs numbers, got '" + v + "'");
        }
    }
}
