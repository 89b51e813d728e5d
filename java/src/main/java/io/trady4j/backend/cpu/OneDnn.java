package io.trady4j.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * oneDNN's JIT-compiled float32 GEMM ({@code dnnl_sgemm}, the kernel behind oneDNN's own
 * plain-layout convolutions), bound with FFM.
 *
 * <p>Why sgemm and not oneDNN's convolution primitives: CPU tensors live in {@code float[]} on the
 * Java heap, and the im2col/col2im packing around the GEMM is ours either way (it is also what
 * oneDNN's gemm convolution does for plain NCHW data). The packed operands are written straight into
 * off-heap scratch ({@link NativeScratch}), which is all sgemm reads and writes. (Passing the Java
 * arrays themselves through a critical downcall would save those copies, but critical calls must be
 * short: a long one stalls the GC and crashed the JVM under JFR's sampler in our test.)
 *
 * <p>Each call runs on one OpenMP thread: the caller's own pool already splits the work, and one
 * thread setting ({@link CpuBackend#threads()}) then governs everything.
 *
 * <p>Loading: {@code -Dtrady4j.cpu.onednn=auto} (default: use it when it loads), {@code off} (pure
 * Java), {@code on} (required: a backend refuses to open without it); without the property, the
 * environment variable {@code TRADY4J_CPU_ONEDNN} says the same. The library is the one named by
 * {@code -Dtrady4j.onednn.library=PATH}, else {@code libdnnl.so.3} or {@code libdnnl.so.2} from the
 * system's library path (Debian/Ubuntu: package {@code libdnnl2}).
 */
final class OneDnn {
    /** What loading found: {@code sgemm} is null when oneDNN is not in use, and {@code reason} says why. */
    record Status(String mode, Sgemm sgemm, String version, String isa, String reason) {
        boolean available() {
            return sgemm != null;
        }

        String describe() {
            return available() ? "oneDNN " + version + " sgemm (" + isa + ")" : "pure-Java GEMM (" + reason + ")";
        }
    }

    private static volatile Status status;

    private OneDnn() {
    }

    /** Loads oneDNN once per JVM, as {@code -Dtrady4j.cpu.onednn} says; prints one warning when auto finds none. */
    static Status status() {
        Status s = status;
        if (s == null) {
            synchronized (OneDnn.class) {
                s = status;
                if (s == null) {
                    String env = System.getenv("TRADY4J_CPU_ONEDNN");
                    String mode = System.getProperty("trady4j.cpu.onednn", env == null || env.isBlank() ? "auto" : env);
                    s = load(mode.trim().toLowerCase(Locale.ROOT));
                    if (s.mode().equals("auto") && !s.available()) {
                        System.err.println("WARNING: oneDNN not loaded (" + s.reason()
                                + "); the CPU backend uses its pure-Java GEMM (-Dtrady4j.cpu.onednn=off silences this)");
                    }
                    status = s;
                }
            }
        }
        return s;
    }

    static Status load(String mode) {
        switch (mode) {
            case "off" -> {
                return new Status(mode, null, null, null, "off by -Dtrady4j.cpu.onednn=off");
            }
            case "auto", "on" -> {
            }
            default -> {
                return new Status(mode, null, null, null, "unknown -Dtrady4j.cpu.onednn=" + mode
                        + " (expected auto, on or off)");
            }
        }
        Module module = OneDnn.class.getModule();
        if (!module.isNativeAccessEnabled()) {
            return new Status(mode, null, null, null, "native access is not enabled for "
                    + (module.isNamed() ? module.getName() : "the class path") + " (add --enable-native-access="
                    + (module.isNamed() ? module.getName() : "ALL-UNNAMED") + " to the java command)");
        }
        String override = System.getProperty("trady4j.onednn.library");
        if (override != null && !override.isBlank() && !Files.isRegularFile(Path.of(override))) {
            return new Status(mode, null, null, null, "-Dtrady4j.onednn.library=" + override + ": no such file");
        }
        List<String> tried = new ArrayList<>();
        for (String name : candidates()) {
            try {
                return bind(mode, name);
            } catch (IllegalArgumentException | UnsatisfiedLinkError | IllegalStateException e) {
                tried.add(name + ": " + firstLine(e.getMessage()));
            }
        }
        return new Status(mode, null, null, null, "no usable oneDNN library (Debian/Ubuntu: apt-get install libdnnl2); tried "
                + String.join("; ", tried));
    }

    private static List<String> candidates() {
        String override = System.getProperty("trady4j.onednn.library");
        if (override != null && !override.isBlank()) {
            return List.of(override);
        }
        return List.of("libdnnl.so.3", "libdnnl.so.2");
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "failed";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    private static Status bind(String mode, String name) {
        Linker linker = Linker.nativeLinker();
        SymbolLookup dnnl = SymbolLookup.libraryLookup(name, Arena.global());
        MethodHandle versionFn = linker.downcallHandle(find(dnnl, "dnnl_version"), FunctionDescriptor.of(ValueLayout.ADDRESS));
        MethodHandle isaFn = linker.downcallHandle(find(dnnl, "dnnl_get_effective_cpu_isa"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT));
        MethodHandle sgemm = linker.downcallHandle(find(dnnl, "dnnl_sgemm"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_BYTE, ValueLayout.JAVA_BYTE,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        try {
            MemorySegment v = ((MemorySegment) versionFn.invokeExact()).reinterpret(32);
            int major = v.get(ValueLayout.JAVA_INT, 0), minor = v.get(ValueLayout.JAVA_INT, 4);
            int patch = v.get(ValueLayout.JAVA_INT, 8), runtime = v.get(ValueLayout.JAVA_INT, 24);
            String version = major + "." + minor + "." + patch;
            String isa = isaName(major, (int) isaFn.invokeExact());
            MethodHandle setThreads = runtime == 2 ? ompSetNumThreads(linker, dnnl) : null;
            Sgemm s = new Sgemm(sgemm, setThreads);
            s.selfTest();
            return new Status(mode, s, version, isa + ", " + runtimeName(runtime), null);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t.toString(), t);
        }
    }

    private static MemorySegment find(SymbolLookup lookup, String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new IllegalStateException("no symbol " + symbol));
    }

    /**
     * OpenMP's per-thread setting, from the OpenMP runtime oneDNN was linked with: looked up through
     * oneDNN's own handle (which searches its dependencies, e.g. a bundled libgomp), else libgomp.so.1.
     */
    private static MethodHandle ompSetNumThreads(Linker linker, SymbolLookup dnnl) {
        MemorySegment fn = dnnl.find("omp_set_num_threads")
                .orElseGet(() -> find(SymbolLookup.libraryLookup("libgomp.so.1", Arena.global()), "omp_set_num_threads"));
        return linker.downcallHandle(fn, FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT), Linker.Option.critical(false));
    }

    private static String runtimeName(int runtime) {
        return switch (runtime) {
            case 1 -> "sequential";
            case 2 -> "OpenMP";
            case 4 -> "TBB";
            case 8 -> "threadpool";
            default -> "runtime " + runtime;
        };
    }

    /** Names of dnnl_cpu_isa_t values (oneDNN 2.x; 3.x renumbered the newer ISAs). */
    private static String isaName(int major, int isa) {
        String common = switch (isa) {
            case 0x1 -> "sse41";
            case 0x3 -> "avx";
            case 0x7 -> "avx2";
            case 0x27 -> "avx512_core";
            case 0x67 -> "avx512_core_vnni";
            case 0xe7 -> "avx512_core_bf16";
            default -> null;
        };
        if (common != null) {
            return common;
        }
        String named = major == 2 ? switch (isa) {
            case 0x407 -> "avx2_vnni";
            case 0x3e7 -> "avx512_core_amx";
            default -> null;
        } : switch (isa) {
            case 0x17 -> "avx2_vnni";
            case 0x1ef -> "avx512_core_fp16";
            case 0xfef -> "avx512_core_amx";
            case 0x1fef -> "avx512_core_amx_fp16";
            default -> null;
        };
        return named != null ? named : "isa 0x" + Integer.toHexString(isa);
    }

    /**
     * Row-major {@code C[M×N] = op(A)·op(B) + (accumulate ? C : 0)} on off-heap operands, offsets in
     * floats: {@code A(i, k) = a[aOff + i·lda + k]} ({@code transA}: {@code a[aOff + k·lda + i]}),
     * likewise B, C rows {@code ldc} apart.
     */
    static final class Sgemm {
        private static final ThreadLocal<Boolean> SINGLE_THREADED = ThreadLocal.withInitial(() -> false);
        private final MethodHandle sgemm;
        private final MethodHandle setThreads;

        private Sgemm(MethodHandle sgemm, MethodHandle setThreads) {
            this.sgemm = sgemm;
            this.setThreads = setThreads;
        }

        void run(boolean transA, boolean transB, int m, int n, int k, MemorySegment a, long aOff, int lda,
                 MemorySegment b, long bOff, int ldb, boolean accumulate, MemorySegment c, long cOff, int ldc) {
            if (m == 0 || n == 0) {
                return;
            }
            if (k == 0) {
                if (!accumulate) {
                    for (int i = 0; i < m; i++) {
                        c.asSlice((cOff + (long) i * ldc) * 4, n * 4L).fill((byte) 0);
                    }
                }
                return;
            }
            int status;
            try {
                if (setThreads != null && !SINGLE_THREADED.get()) {
                    setThreads.invokeExact(1);
                    SINGLE_THREADED.set(true);
                }
                status = (int) sgemm.invokeExact(transA ? (byte) 'T' : (byte) 'N', transB ? (byte) 'T' : (byte) 'N',
                        (long) m, (long) n, (long) k, 1f, a.asSlice(aOff * 4), (long) lda, b.asSlice(bOff * 4),
                        (long) ldb, accumulate ? 1f : 0f, c.asSlice(cOff * 4), (long) ldc);
            } catch (Throwable t) {
                throw new IllegalStateException("dnnl_sgemm call failed: " + t, t);
            }
            if (status != 0) {
                throw new IllegalStateException("dnnl_sgemm returned status " + status + " for M=" + m + " N=" + n
                        + " K=" + k + " lda=" + lda + " ldb=" + ldb + " ldc=" + ldc);
            }
        }

        /** A 2×3·3×2 product with offsets and a transpose: a library that links but computes wrongly is not used. */
        private void selfTest() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment a = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 9, 1, 2, 3, 4, 5, 6); // [[1,2,3],[4,5,6]] at 1
                MemorySegment bt = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1, 3, 5, 2, 4, 6);   // [[1,2],[3,4],[5,6]]ᵀ
                MemorySegment c = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 7, 7, 7, 7, 7);
                run(false, true, 2, 2, 3, a, 1, 3, bt, 0, 3, false, c, 1, 2);
                float[] got = c.toArray(ValueLayout.JAVA_FLOAT);
                if (!java.util.Arrays.equals(got, new float[]{7, 22, 28, 49, 64})) {
                    throw new IllegalStateException("dnnl_sgemm self-test gave " + java.util.Arrays.toString(got));
                }
            }
        }
    }
}
