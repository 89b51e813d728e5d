package io.trady4j.backend;

import io.trady4j.io.SafeTensors;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import io.trady4j.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs a backend on every PyTorch fixture in {@code src/test/resources/fixtures} (written by
 * {@code scripts/gen_fixtures.py}) and requires a relative error ‖out−ref‖/‖ref‖ ≤ 1e-5 on every
 * output. Outputs are poisoned with NaN before each call, so an element a backend forgets to
 * write fails the comparison. The backend is CPU unless {@code -Dtrady4j.test.backend=cuda}.
 *
 * <p>A case checks every output it can and reports all mismatches at once, naming the operation,
 * the output, the relative error and the first differing element.
 */
class TorchFixtureTest {
    static final double TOLERANCE = 1e-5;
    static final String FIXTURES = "/fixtures";

    static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backends.open(System.getProperty("trady4j.test.backend", "cpu"));
    }

    @AfterAll
    static void close() {
        if (backend != null) {
            backend.close();
        }
    }

    static Path fixtureDir() throws URISyntaxException {
        URL url = TorchFixtureTest.class.getResource(FIXTURES);
        assertNotNull(url, "fixture directory " + FIXTURES + " is not on the test classpath");
        return Path.of(url.toURI());
    }

    static List<Path> fixtureFiles() throws IOException, URISyntaxException {
        try (Stream<Path> s = Files.list(fixtureDir())) {
            return s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    static Stream<Named<Path>> fixtures() throws IOException, URISyntaxException {
        return fixtureFiles().stream().map(p -> Named.of(p.getFileName().toString().replace(".safetensors", ""), p));
    }

    @Test
    void fixtureSetCoversEveryKind() throws Exception {
        Map<String, Integer> kinds = new TreeMap<>();
        for (Path p : fixtureFiles()) {
            kinds.merge(SafeTensors.read(p).metadata().get("kind"), 1, Integer::sum);
        }
        assertEquals(Set.of("conv2d", "linear", "softmax_cross_entropy", "global_avg_pool", "max_pool2d", "activation",
                "sgd", "sgd_sparse"), kinds.keySet(), "fixture kinds");
        assertTrue(kinds.get("conv2d") >= 40, "at least 40 conv cases, got " + kinds);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void matchesPyTorch(Path file) throws Exception {
        check(file, backend);
    }

    /**
     * The CPU backend again with 3 threads: batches and channels split unevenly across workers
     * (the default thread count is the machine's).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void matchesPyTorchOnThreeCpuThreads(Path file) throws Exception {
        Assumptions.assumeTrue(backend instanceof CpuBackend, "only for the CPU backend");
        try (CpuBackend three = new CpuBackend(3)) {
            check(file, three);
        }
    }

    static void check(Path file, Backend be) throws Exception {
        SafeTensors st = SafeTensors.read(file);
        try (Case c = new Case(st, be)) {
            switch (c.meta("kind")) {
                case "conv2d" -> conv(c);
                case "linear" -> linear(c);
                case "softmax_cross_entropy" -> softmax(c);
                case "global_avg_pool" -> avgPool(c);
                case "max_pool2d" -> maxPool(c);
                case "activation" -> activation(c);
                case "sgd" -> sgd(c);
                case "sgd_sparse" -> sgdSparse(c);
                default -> fail("unknown fixture kind " + c.meta("kind"));
            }
            c.assertNoFailures();
        }
    }

    // ------------------------------------------------------------------ the cases

    static void conv(Case c) throws IOException {
        Conv2dSpec spec = new Conv2dSpec(c.integer("in_channels"), c.integer("out_channels"), c.integer("kernel"),
                c.integer("stride"), c.integer("padding"), c.integer("dilation"), c.integer("groups"));
        Activation act = Activation.parse(c.meta("act"));
        Tensor x = c.input("x"), w = c.input("w"), b = c.optionalInput("b"), dy = c.input("dy");
        ChannelIndex sel = c.selection("idx", spec.inChannels());

        Tensor y = c.poisoned(c.shape("y"));
        c.be.conv2d(x, w, b, spec, act, y);
        c.compare("conv2d", "y", y);

        Tensor y2 = c.poisoned(c.shape("y"));
        Tensor xSel = c.poisoned(c.shape("x_sel"));
        c.be.conv2dGather(x, w, b, spec, act, sel, y2, xSel);
        c.compare("conv2dGather", "y", y2);
        c.compare("conv2dGather", "x_sel", xSel);

        Tensor xSelRef = c.input("x_sel");
        Tensor dwSel = c.poisoned(c.shape("dw_sel"));
        c.be.conv2dDwSparse(xSelRef, dy, sel, spec, dwSel);
        c.compare("conv2dDwSparse", "dw_sel", dwSel);

        // the full weight gradient, as the sparse gradient over all channels in its layout
        ChannelIndex all = c.allChannels(spec.inChannels());
        Tensor dwAll = c.poisoned(spec.sparseWeightGradShape(spec.inChannels()));
        c.be.conv2dDwSparse(x, dy, all, spec, dwAll);
        c.compareValues("conv2dDwSparse(all channels)", "dw", c.be.toFloatArray(dwAll),
                toSparseLayout(c.floats("dw"), spec), dwAll.shape());

        Tensor dx = c.poisoned(c.shape("dx"));
        c.be.conv2dDx(dy, w, spec, dx);
        c.compare("conv2dDx", "dx", dx);

        if (c.has("db")) {
            Tensor db = c.poisoned(c.shape("db"));
            c.be.biasGrad(dy, db);
            c.compare("biasGrad", "db", db);
        }
    }

    /** The full dW [C', C/g, D, D] rearranged as the sparse layout for S = all channels. */
    static float[] toSparseLayout(float[] dw, Conv2dSpec spec) {
        int cg = spec.inPerGroup(), mg = spec.outPerGroup(), c = spec.inChannels(), d2 = spec.kernel() * spec.kernel();
        float[] out = new float[dw.length];
        for (int o = 0; o < mg; o++) {
            for (int j = 0; j < c; j++) {
                int g = j / cg, local = j % cg;
                System.arraycopy(dw, ((g * mg + o) * cg + local) * d2, out, (o * c + j) * d2, d2);
            }
        }
        return out;
    }

    static void linear(Case c) throws IOException {
        Tensor x = c.input("x"), w = c.input("w"), b = c.optionalInput("b"), dy = c.input("dy");
        int features = c.integer("in_features");
        ChannelIndex sel = c.selection("idx", features);

        Tensor y = c.poisoned(c.shape("y"));
        c.be.linear(x, w, b, y);
        c.compare("linear", "y", y);

        Tensor dx = c.poisoned(c.shape("dx"));
        c.be.linearDx(dy, w, dx);
        c.compare("linearDx", "dx", dx);

        Tensor xSel = c.poisoned(c.shape("x_sel"));
        c.be.gatherChannels(x, sel, xSel);
        c.compare("gatherChannels", "x_sel", xSel);

        Tensor dwSel = c.poisoned(c.shape("dw_sel"));
        c.be.linearDwSparse(c.input("x_sel"), dy, sel, dwSel);
        c.compare("linearDwSparse", "dw_sel", dwSel);

        Tensor dw = c.poisoned(c.shape("dw"));
        c.be.linearDwSparse(x, dy, c.allChannels(features), dw);
        c.compare("linearDwSparse(all features)", "dw", dw);

        if (c.has("db")) {
            Tensor db = c.poisoned(c.shape("db"));
            c.be.biasGrad(dy, db);
            c.compare("biasGrad", "db", db);
        }
    }

    static void softmax(Case c) throws IOException {
        Tensor logits = c.input("logits"), labels = c.intInput("labels");
        Tensor stats = c.poisoned(Shape.of(2));
        Tensor dLogits = c.poisoned(c.shape("dlogits"));
        c.be.softmaxCrossEntropy(logits, labels, stats, dLogits);
        float[] s = c.be.toFloatArray(stats);
        c.compareValues("softmaxCrossEntropy", "loss", new float[]{s[0]}, c.floats("loss"), Shape.of(1));
        c.check(s[1] == c.ints("correct")[0], "softmaxCrossEntropy: correct = " + s[1] + ", expected " + c.ints("correct")[0]);
        c.compare("softmaxCrossEntropy", "dlogits", dLogits);

        Tensor stats2 = c.poisoned(Shape.of(2));
        c.be.softmaxCrossEntropy(logits, labels, stats2, null);
        c.compareValues("softmaxCrossEntropy(no gradient)", "loss", new float[]{c.be.toFloatArray(stats2)[0]},
                c.floats("loss"), Shape.of(1));
    }

    static void avgPool(Case c) throws IOException {
        Tensor y = c.poisoned(c.shape("y"));
        c.be.globalAvgPool(c.input("x"), y);
        c.compare("globalAvgPool", "y", y);
        Tensor dx = c.poisoned(c.shape("dx"));
        c.be.globalAvgPoolBackward(c.input("dy"), dx);
        c.compare("globalAvgPoolBackward", "dx", dx);
    }

    static void maxPool(Case c) throws IOException {
        int k = c.integer("kernel"), s = c.integer("stride"), p = c.integer("padding");
        Tensor y = c.poisoned(c.shape("y"));
        Tensor arg = c.poisonedInts(c.shape("argmax"));
        c.be.maxPool2d(c.input("x"), k, s, p, y, arg);
        c.compare("maxPool2d", "y", y);
        c.compareInts("maxPool2d", "argmax", arg);
        Tensor dx = c.poisoned(c.shape("dx"));
        c.be.maxPool2dBackward(c.input("dy"), c.intInput("argmax"), dx);
        c.compare("maxPool2dBackward", "dx", dx);
    }

    static void activation(Case c) throws IOException {
        Activation act = Activation.parse(c.meta("act"));
        Tensor y = c.poisoned(c.shape("y"));
        c.be.activation(act, c.input("x"), y);
        c.compare("activation", "y", y);
        Tensor dx = c.poisoned(c.shape("dx"));
        c.be.activationBackward(act, c.input("y"), c.input("dy"), dx);
        c.compare("activationBackward", "dx", dx);
        Tensor inPlace = c.input("dy");
        c.be.activationBackward(act, c.input("y"), inPlace, inPlace);
        c.compare("activationBackward(in place)", "dx", inPlace);
    }

    static SgdStep step(Case c) {
        return new SgdStep(Float.parseFloat(c.meta("lr")), Float.parseFloat(c.meta("momentum")),
                Float.parseFloat(c.meta("weight_decay")));
    }

    static void sgd(Case c) throws IOException {
        SgdStep step = step(c);
        Tensor param = c.input("param");
        Tensor momentum = c.optionalInput("momentum");
        c.be.sgdUpdate(param, c.input("grad"), momentum, step);
        c.compare("sgdUpdate", "param_out", param);
        c.compareDelta("sgdUpdate", "param_out", param, "param");
        if (momentum != null) {
            c.compare("sgdUpdate", "momentum_out", momentum);
        }
    }

    static void sgdSparse(Case c) throws IOException {
        SgdStep step = step(c);
        int groups = c.integer("groups");
        Tensor w = c.input("w");
        Shape ws = w.shape();
        int cg = ws.dim(1), cout = ws.dim(0), d2 = ws.numel() / (cout * cg);
        ChannelIndex sel = c.selection("idx", cg * groups);
        Tensor momentum = c.optionalInput("momentum");
        c.be.sgdUpdateSparse(w, c.input("dw_sel"), sel, groups, momentum, step);
        c.compare("sgdUpdateSparse", "w_out", w);
        c.compareDelta("sgdUpdateSparse", "w_out", w, "w");
        if (momentum != null) {
            c.compare("sgdUpdateSparse", "momentum_out", momentum);
        }
        // weights of unselected input channels must be untouched, bit for bit
        float[] got = c.be.toFloatArray(w), before = c.floats("w");
        boolean[] selected = new boolean[cg * groups];
        for (int i : sel.toArray()) {
            selected[i] = true;
        }
        int mg = cout / groups;
        for (int o = 0; o < cout; o++) {
            for (int l = 0; l < cg; l++) {
                int channel = (o / mg) * cg + l;
                if (selected[channel]) {
                    continue;
                }
                for (int t = 0; t < d2; t++) {
                    int at = (o * cg + l) * d2 + t;
                    if (Float.floatToRawIntBits(got[at]) != Float.floatToRawIntBits(before[at])) {
                        c.check(false, "sgdUpdateSparse changed unselected weight [" + o + ", " + l + "] (input channel "
                                + channel + "): " + before[at] + " -> " + got[at]);
                        return;
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ one fixture on the backend

    /** A fixture file, the tensors it put on the backend and the mismatches found so far. */
    static final class Case implements AutoCloseable {
        final SafeTensors st;
        final Backend be;
        final List<AutoCloseable> owned = new ArrayList<>();
        final List<String> failures = new ArrayList<>();

        Case(SafeTensors st, Backend be) {
            this.st = st;
            this.be = be;
        }

        String meta(String key) {
            String v = st.metadata().get(key);
            assertNotNull(v, st.path().getFileName() + ": metadata '" + key + "' is missing");
            return v;
        }

        int integer(String key) {
            return Integer.parseInt(meta(key));
        }

        boolean has(String name) {
            return st.contains(name);
        }

        Shape shape(String name) throws IOException {
            return st.shape(name);
        }

        float[] floats(String name) throws IOException {
            return st.floats(name);
        }

        int[] ints(String name) throws IOException {
            return st.ints(name);
        }

        <T extends AutoCloseable> T own(T t) {
            owned.add(t);
            return t;
        }

        /** A fresh copy of a stored float tensor on the backend (fresh, so in-place ops cannot spoil it). */
        Tensor input(String name) throws IOException {
            return own(be.upload(st.floats(name), st.shape(name), MemoryCategory.DATA));
        }

        Tensor optionalInput(String name) throws IOException {
            return st.contains(name) ? input(name) : null;
        }

        Tensor intInput(String name) throws IOException {
            return own(be.uploadInts(st.ints(name), st.shape(name), MemoryCategory.DATA));
        }

        ChannelIndex selection(String name, int bound) throws IOException {
            return own(be.channelIndex(st.ints(name), bound));
        }

        ChannelIndex allChannels(int bound) {
            int[] all = new int[bound];
            Arrays.setAll(all, i -> i);
            return own(be.channelIndex(all, bound));
        }

        Tensor poisoned(Shape shape) {
            Tensor t = own(be.allocate(shape, DType.F32, MemoryCategory.WORKSPACE));
            be.fill(t, Float.NaN);
            return t;
        }

        Tensor poisonedInts(Shape shape) {
            int[] junk = new int[shape.numel()];
            Arrays.fill(junk, Integer.MIN_VALUE);
            return own(be.uploadInts(junk, shape, MemoryCategory.WORKSPACE));
        }

        void check(boolean ok, String message) {
            if (!ok) {
                failures.add(message);
            }
        }

        void compare(String op, String refName, Tensor got) throws IOException {
            Shape expected = st.shape(refName);
            if (!got.shape().equals(expected)) {
                failures.add(op + " " + refName + ": shape " + got.shape() + ", expected " + expected);
                return;
            }
            compareValues(op, refName, be.toFloatArray(got), st.floats(refName), expected);
        }

        void compareValues(String op, String refName, float[] got, float[] ref, Shape shape) {
            String problem = relativeErrorProblem(got, ref, shape);
            if (problem != null) {
                failures.add(op + " " + refName + " " + shape + ": " + problem);
            }
        }

        /** The update itself, out − before, against ref − before (catches updates lost in the weights' size). */
        void compareDelta(String op, String refName, Tensor got, String beforeName) throws IOException {
            float[] g = be.toFloatArray(got), ref = st.floats(refName), before = st.floats(beforeName);
            float[] dg = new float[g.length], dr = new float[g.length];
            for (int i = 0; i < g.length; i++) {
                dg[i] = g[i] - before[i];
                dr[i] = ref[i] - before[i];
            }
            compareValues(op + " (update " + refName + " − " + beforeName + ")", refName, dg, dr, got.shape());
        }

        void compareInts(String op, String refName, Tensor got) throws IOException {
            int[] g = be.toIntArray(got), ref = st.ints(refName);
            for (int i = 0; i < ref.length; i++) {
                if (g[i] != ref[i]) {
                    failures.add(op + " " + refName + ": element " + index(st.shape(refName), i) + " is " + g[i]
                            + ", expected " + ref[i]);
                    return;
                }
            }
        }

        void assertNoFailures() {
            if (!failures.isEmpty()) {
                fail(st.path().getFileName() + ": " + failures.size() + " mismatch(es) against PyTorch:\n  "
                        + failures.stream().collect(Collectors.joining("\n  ")));
            }
        }

        @Override
        public void close() throws Exception {
            for (AutoCloseable t : owned) {
                t.close();
            }
        }
    }

    /** Null if ‖got−ref‖/‖ref‖ ≤ tolerance and nothing is NaN, else what is wrong. */
    static String relativeErrorProblem(float[] got, float[] ref, Shape shape) {
        if (got.length != ref.length) {
            return got.length + " values, expected " + ref.length;
        }
        double diff = 0, norm = 0, worst = -1;
        int nan = 0, worstAt = -1;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) got[i] - ref[i];
            if (Double.isNaN(d)) {
                nan++;
                if (worstAt < 0 || !Double.isNaN(worst)) {
                    worst = Double.NaN;
                    worstAt = i;
                }
                continue;
            }
            diff += d * d;
            norm += (double) ref[i] * ref[i];
            if (!Double.isNaN(worst) && Math.abs(d) > worst) {
                worst = Math.abs(d);
                worstAt = i;
            }
        }
        double rel = norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
        if (nan == 0 && rel <= TOLERANCE) {
            return null;
        }
        String where = worstAt < 0 ? "" : "; worst element " + index(shape, worstAt) + " = " + got[worstAt]
                + ", expected " + ref[worstAt];
        return (nan > 0 ? nan + " of " + ref.length + " values are NaN (unwritten?), " : "")
                + String.format("relative error %.3g (tolerance %.0e)", rel, TOLERANCE) + where;
    }

    static String index(Shape shape, int flat) {
        int[] at = new int[shape.rank()];
        for (int d = shape.rank() - 1; d >= 0; d--) {
            at[d] = flat % shape.dim(d);
            flat /= shape.dim(d);
        }
        return Arrays.toString(at);
    }
}
