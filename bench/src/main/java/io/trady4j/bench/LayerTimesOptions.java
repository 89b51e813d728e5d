package io.trady4j.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/** The command line of {@link LayerTimes}. */
public record LayerTimesOptions(String backend, List<Integer> batches, List<Double> densities, List<String> layerPrefixes,
                                Path out, double maxSeconds, Repetitions repetitions, int flushMiB, long seed,
                                int hostWarmupCalls) {

    public static final String USAGE = """
            usage: LayerTimes --out FILE.json [options]
              --backend cpu|cuda        default cuda (cpu: wall time, for smoke tests only)
              --batch 32,128            batch sizes
              --densities 0.01,...,1    densities |S|/C; 1 (the dense weight gradient) is always added
              --layers PREFIX...        layers whose name starts with one of these (space or comma separated; default all)
              --max-seconds N           start no new layer after N seconds (default 420)
              --warmup N                untimed calls before each measurement (default 3)
              --min-reps N --max-reps N timed calls per measurement (default 10 and 100)
              --target-ms MS            timed calls fill about this much time, within the rep bounds (default 50)
              --flush-mib N             cuda: overwrite N MiB before each call to flush L2; 0 = no flush (default 128)
              --seed N                  channel selection seed (default 1234)
              --host-warmup N           untimed calls of each op on the first layer at batch 1, so that the JIT has
                                        compiled the launch path before anything is timed (default 300)""";

    public static LayerTimesOptions parse(String... args) {
        String backend = "cuda";
        List<Integer> batches = List.of(32, 128);
        List<Double> densities = List.of(0.01, 0.05, 0.1, 0.25, 0.5, 1.0);
        List<String> prefixes = new ArrayList<>();
        Path out = null;
        double maxSeconds = 420;
        int warmup = 3;
        int minReps = 10;
        int maxReps = 100;
        double targetMs = 50;
        int flushMiB = 128;
        long seed = 1234;
        int hostWarmup = 300;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--layers")) {
                while (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                    prefixes.addAll(split(args[++i]));
                }
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value (or is unknown)\n" + USAGE);
            }
            String v = args[++i];
            try {
                switch (a) {
                    case "--backend" -> backend = v.toLowerCase(Locale.ROOT);
                    case "--batch" -> batches = split(v).stream().map(Integer::parseInt).toList();
                    case "--densities" -> densities = split(v).stream().map(Double::parseDouble).toList();
                    case "--out" -> out = Path.of(v);
                    case "--max-seconds" -> maxSeconds = Double.parseDouble(v);
                    case "--warmup" -> warmup = Integer.parseInt(v);
                    case "--min-reps" -> minReps = Integer.parseInt(v);
                    case "--max-reps" -> maxReps = Integer.parseInt(v);
                    case "--target-ms" -> targetMs = Double.parseDouble(v);
                    case "--flush-mib" -> flushMiB = Integer.parseInt(v);
                    case "--seed" -> seed = Long.parseLong(v);
                    case "--host-warmup" -> hostWarmup = Integer.parseInt(v);
                    default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(a + " needs a number, got '" + v + "'");
            }
        }
        if (out == null) {
            throw new IllegalArgumentException("--out FILE is required\n" + USAGE);
        }
        if (!backend.equals("cpu") && !backend.equals("cuda")) {
            throw new IllegalArgumentException("--backend must be cpu or cuda, got '" + backend + "'");
        }
        if (batches.isEmpty() || batches.stream().anyMatch(b -> b < 1)) {
            throw new IllegalArgumentException("--batch needs positive sizes, got " + batches);
        }
        TreeSet<Double> dens = new TreeSet<>(densities);
        dens.add(1.0);
        if (dens.first() <= 0 || dens.last() > 1) {
            throw new IllegalArgumentException("densities must lie in (0, 1], got " + densities);
        }
        if (flushMiB < 0 || hostWarmup < 0) {
            throw new IllegalArgumentException("--flush-mib and --host-warmup must be >= 0");
        }
        return new LayerTimesOptions(backend, List.copyOf(batches), List.copyOf(dens),
                List.copyOf(prefixes), out, maxSeconds, new Repetitions(warmup, minReps, maxReps, targetMs), flushMiB,
                seed, hostWarmup);
    }

    private static List<String> split(String v) {
        return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    /** Whether the layer is selected by --layers (all layers when no prefix was given). */
    public boolean wants(Layers.Layer layer) {
        return layerPrefixes.isEmpty() || layerPrefixes.stream().anyMatch(p -> layer.name().startsWith(p));
    }
}
