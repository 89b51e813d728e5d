package io.trady4j.bench;

import io.trady4j.backend.Activation;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.backend.Conv2dSpec;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * A development timer, not the benchmark of record (that is JMH, {@link ConvBenchmark}): median
 * wall time of conv forward, dense and sparse dW and dx per layer, for quick before/after checks.
 * Usage: java -cp benchmarks.jar io.trady4j.bench.Quick [layer-name-prefix] [batch] [reps] [threads] [min|median]
 * With 1 thread the backend runs on the calling thread and the timer is that thread's CPU time, which
 * other processes on a shared machine cannot inflate.
 */
public final class Quick {
    private Quick() {
    }

    public static void main(String[] args) {
        String prefix = args.length > 0 ? args[0] : "mbv2";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : Runtime.getRuntime().availableProcessors();
        useMin = args.length > 4 && args[4].equals("min");
        cpuTime = threads == 1;
        double[] densities = {0.01, 0.1, 1.0};
        try (CpuBackend be = new CpuBackend(threads)) {
            System.out.printf(Locale.ROOT, "%-28s %9s %9s %9s %9s %9s %9s%n", "layer (ms)", "fwd", "gather10", "dw1%",
                    "dw10%", "dw100%", "dx");
            double[] tot = new double[6];
            for (Layers.Layer l : Layers.all()) {
                if (!l.name().startsWith(prefix)) {
                    continue;
                }
                Conv2dSpec s = l.spec();
                int h = l.size(), o = l.outSize();
                Random rnd = new Random(1);
                Tensor x = rand(be, rnd, batch, l.in(), h, h);
                Tensor w = rand(be, rnd, s.weightShape().dims());
                Tensor y = be.allocate(Shape.of(batch, l.out(), o, o), MemoryCategory.WORKSPACE);
                Tensor dy = rand(be, rnd, batch, l.out(), o, o);
                Tensor dx = be.allocate(Shape.of(batch, l.in(), h, h), MemoryCategory.WORKSPACE);
                double[] t = new double[6];
                t[0] = time(reps, () -> be.conv2d(x, w, null, s, Activation.RELU6, y));
                ChannelIndex s10 = sel(be, rnd, 0.1, l.in());
                Tensor xs10 = be.allocate(Shape.of(batch, s10.size(), h, h), MemoryCategory.WORKSPACE);
                t[1] = time(reps, () -> be.conv2dGather(x, w, null, s, Activation.RELU6, s10, y, xs10));
                for (int di = 0; di < densities.length; di++) {
                    ChannelIndex sel = sel(be, rnd, densities[di], l.in());
                    Tensor xs = rand(be, rnd, batch, sel.size(), h, h);
                    Tensor dw = be.allocate(s.sparseWeightGradShape(sel.size()), MemoryCategory.WORKSPACE);
                    t[2 + di] = time(reps, () -> be.conv2dDwSparse(xs, dy, sel, s, dw));
                }
                t[5] = time(reps, () -> be.conv2dDx(dy, w, s, dx));
                for (int i = 0; i < 6; i++) {
                    tot[i] += t[i] * l.count();
                }
                System.out.printf(Locale.ROOT, "%-28s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f%n", l.name(), t[0], t[1], t[2],
                        t[3], t[4], t[5]);
            }
            System.out.printf(Locale.ROOT, "%-28s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f%n", "TOTAL (x count)", tot[0],
                    tot[1], tot[2], tot[3], tot[4], tot[5]);
        }
    }

    static Tensor rand(CpuBackend be, Random rnd, int... dims) {
        float[] a = new float[Shape.of(dims).numel()];
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() * 2 - 1;
        }
        return be.upload(a, Shape.of(dims), MemoryCategory.WORKSPACE);
    }

    static ChannelIndex sel(CpuBackend be, Random rnd, double density, int channels) {
        int n = Layers.selected(density, channels);
        int[] perm = new int[channels];
        for (int i = 0; i < channels; i++) {
            perm[i] = i;
        }
        for (int i = channels - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        int[] s = Arrays.copyOf(perm, n);
        Arrays.sort(s);
        return be.channelIndex(s, channels);
    }

    static boolean useMin, cpuTime;
    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();

    private static long now() {
        return cpuTime ? MX.getCurrentThreadCpuTime() : System.nanoTime();
    }

    static double time(int reps, Runnable r) {
        long warm = now() + 400_000_000L; // C2 needs a while on the first layer that uses a path
        for (int i = 0; i < 3 || now() < warm; i++) {
            r.run();
        }
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = now();
            r.run();
            t[i] = (now() - t0) / 1e6;
        }
        Arrays.sort(t);
        return useMin ? t[0] : t[reps / 2];
    }
}
