package io.trady4j.cli;

import io.trady4j.io.SafeTensors;
import io.trady4j.tensor.Shape;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code op} command end to end through {@link Main#run}: PyTorch fixtures in, outputs compared; every kind of bad input. */
class OpCommandTest {
    static final double TOLERANCE = 1e-5;

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
    }

    static Result run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Path fixtureDir() throws URISyntaxException {
        return Path.of(OpCommandTest.class.getResource("/fixtures").toURI());
    }

    static Path fixture(String name) throws URISyntaxException {
        return fixtureDir().resolve(name + ".safetensors");
    }

    static Stream<Named<Path>> fixturesOfKind(String kind) throws IOException, URISyntaxException {
        List<Named<Path>> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(fixtureDir())) {
            for (Path p : s.sorted().toList()) {
                if (kind.equals(SafeTensors.read(p).metadata().get("kind"))) {
                    out.add(Named.of(p.getFileName().toString().replace(".safetensors", ""), p));
                }
            }
        }
        return out.stream();
    }

    static Stream<Named<Path>> convFixtures() throws IOException, URISyntaxException {
        return fixturesOfKind("conv2d");
    }

    static Stream<Named<Path>> linearFixtures() throws IOException, URISyntaxException {
        return fixturesOfKind("linear");
    }

    /** Runs an op that must succeed and returns its output file. */
    Path ok(String op, Path in, String... params) throws IOException {
        Path out = Files.createTempFile(dir, op, ".safetensors");
        List<String> argv = new ArrayList<>(List.of("op", op, "--in", in.toString(), "--out", out.toString()));
        argv.addAll(List.of(params));
        Result r = run(argv.toArray(String[]::new));
        assertEquals(0, r.code, () -> "op " + op + " failed: " + r.err);
        assertTrue(r.out.startsWith(op + " on cpu: wrote "), r.out);
        assertEquals("", r.err);
        return out;
    }

    static void assertClose(Path outFile, String outName, Path refFile, String refName) throws IOException {
        SafeTensors o = SafeTensors.read(outFile), ref = SafeTensors.read(refFile);
        assertEquals(ref.shape(refName), o.shape(outName), outName + " shape");
        float[] got = o.floats(outName), want = ref.floats(refName);
        double diff = 0, norm = 0;
        for (int i = 0; i < want.length; i++) {
            double d = (double) got[i] - want[i];
            diff += d * d;
            norm += (double) want[i] * want[i];
        }
        double rel = norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
        assertTrue(rel <= TOLERANCE, outName + ": relative error " + rel + " against " + refFile.getFileName());
    }

    static String[] convParams(SafeTensors st, String... extra) {
        Map<String, String> m = st.metadata();
        List<String> p = new ArrayList<>(List.of("--stride", m.get("stride"), "--padding", m.get("padding"),
                "--dilation", m.get("dilation"), "--groups", m.get("groups")));
        p.addAll(List.of(extra));
        return p.toArray(String[]::new);
    }

    // ------------------------------------------------------------------ happy paths against PyTorch

    @ParameterizedTest(name = "{0}")
    @MethodSource("convFixtures")
    void convOpsMatchPyTorch(Path f) throws IOException {
        SafeTensors st = SafeTensors.read(f);
        Map<String, String> m = st.metadata();
        Path y = ok("conv2d", f, convParams(st, "--act", m.get("act")));
        assertClose(y, "y", f, "y");
        Path g = ok("conv2d_gather", f, convParams(st, "--act", m.get("act")));
        assertClose(g, "y", f, "y");
        assertClose(g, "x_sel", f, "x_sel");
        Path dw = ok("conv2d_dw_sparse", f, convParams(st, "--kernel", m.get("kernel"), "--in_channels", m.get("in_channels")));
        assertClose(dw, "dw_sel", f, "dw_sel");
        Path dx = ok("conv2d_dx", f, convParams(st, "--in_height", m.get("in_height"), "--in_width", m.get("in_width")));
        assertClose(dx, "dx", f, "dx");
        if (st.contains("db")) {
            assertClose(ok("bias_grad", f), "db", f, "db");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("linearFixtures")
    void linearOpsMatchPyTorch(Path f) throws IOException {
        SafeTensors st = SafeTensors.read(f);
        assertClose(ok("linear", f), "y", f, "y");
        // linear_dx writes [B, F]; the fixture may hold dx as [B, F, 1, 1]
        Path dx = ok("linear_dx", f);
        assertArrayEquals(st.floats("dx"), SafeTensors.read(dx).floats("dx"), 1e-5f);
        assertClose(ok("linear_dw_sparse", f), "dw_sel", f, "dw_sel");
        assertClose(ok("linear_dw_sparse", f, "--in_features", st.metadata().get("in_features")), "dw_sel", f, "dw_sel");
        assertClose(ok("gather_channels", f), "x_sel", f, "x_sel");
    }

    @Test
    void lossPoolingActivationOpsMatchPyTorch() throws Exception {
        Path sm = fixture("softmax_ce_b7_k100_scale30");
        Path o = ok("softmax_cross_entropy", sm);
        assertClose(o, "loss", sm, "loss");
        assertClose(o, "dlogits", sm, "dlogits");
        assertArrayEquals(SafeTensors.read(sm).ints("correct"), SafeTensors.read(o).ints("correct"));

        Path mp = fixture("maxpool_k3_s2_p1_b2_c4_11x11");
        o = ok("max_pool2d", mp, "--kernel", "3", "--stride", "2", "--padding", "1");
        assertClose(o, "y", mp, "y");
        assertArrayEquals(SafeTensors.read(mp).ints("argmax"), SafeTensors.read(o).ints("argmax"));
        assertClose(ok("max_pool2d_backward", mp, "--in_height", "11", "--in_width", "11"), "dx", mp, "dx");
        Path mp2 = fixture("maxpool_k2_s2_p0_b1_c2_6x5");
        assertClose(ok("max_pool2d", mp2, "--kernel", "2"), "y", mp2, "y"); // stride defaults to the kernel

        Path ap = fixture("avgpool_b2_c5_7x7");
        assertClose(ok("global_avg_pool", ap), "y", ap, "y");
        assertClose(ok("global_avg_pool_backward", ap, "--in_height", "7", "--in_width", "7"), "dx", ap, "dx");

        Path act = fixture("act_relu6_2x3x5x5");
        assertClose(ok("activation", act, "--act", "relu6"), "y", act, "y");
        assertClose(ok("activation_backward", act, "--act", "relu6"), "dx", act, "dx");
    }

    @Test
    void batchNormOpsMatchPyTorch() throws Exception {
        Path f = fixtureDir().resolveSibling("fixtures-batchnorm").resolve("batch_norm_2x3x4x5_mom0.1_eps1e-05.safetensors");
        Path o = ok("batch_norm_training", f, "--momentum", "0.1", "--eps", "1e-5");
        assertClose(o, "y", f, "y");
        assertClose(o, "save_mean", f, "save_mean");
        assertClose(o, "save_inv_std", f, "save_inv_std");
        assertClose(o, "running_mean", f, "running_mean_after");
        assertClose(o, "running_var", f, "running_var_after");
        o = ok("batch_norm_backward", f);
        assertClose(o, "dx", f, "dx");
        assertClose(o, "dgamma", f, "dgamma");
        assertClose(o, "dbeta", f, "dbeta");
        assertClose(ok("batch_norm_inference", f), "y", f, "y_eval");
    }

    @Test
    void addWritesTheSum() throws Exception {
        Path in = dir.resolve("add.safetensors");
        new SafeTensors.Writer().put("a", Shape.of(2, 3), new float[]{1, 2, 3, 4, 5, 6})
                .put("b", Shape.of(2, 3), new float[]{0.5f, -2, 0, 1e-3f, -5, 1}).write(in);
        SafeTensors o = SafeTensors.read(ok("add", in));
        assertEquals(Shape.of(2, 3), o.shape("out"));
        assertArrayEquals(new float[]{1.5f, 0, 3, 4.001f, 0, 7}, o.floats("out"));
    }

    @Test
    void sgdOpsMatchTorchOptim() throws Exception {
        Path f = fixture("sgd_6x4x3x3_lr0.1_mom0.9_wd0.0005");
        SafeTensors st = SafeTensors.read(f);
        Path in = dir.resolve("sgd_in.safetensors");
        new SafeTensors.Writer().put("param", st.shape("param"), st.floats("param"))
                .put("grad", st.shape("grad"), st.floats("grad"))
                .put("momentum_buf", st.shape("momentum"), st.floats("momentum")).write(in);
        Map<String, String> m = st.metadata();
        Path o = ok("sgd", in, "--lr", m.get("lr"), "--momentum", m.get("momentum"), "--weight_decay", m.get("weight_decay"));
        assertClose(o, "param", f, "param_out");
        assertClose(o, "momentum_buf", f, "momentum_out");

        Path fs = fixture("sgd_sparse_8x3x3x3_g2_sel-random_mom0.9_wd0.0005");
        SafeTensors ss = SafeTensors.read(fs);
        Path ins = dir.resolve("sgd_sparse_in.safetensors");
        new SafeTensors.Writer().put("w", ss.shape("w"), ss.floats("w")).put("dw_sel", ss.shape("dw_sel"), ss.floats("dw_sel"))
                .putInts("idx", ss.shape("idx"), ss.ints("idx"))
                .put("momentum_buf", ss.shape("momentum"), ss.floats("momentum")).write(ins);
        Map<String, String> ms = ss.metadata();
        o = ok("sgd_sparse", ins, "--groups", "2", "--lr", ms.get("lr"), "--momentum", ms.get("momentum"),
                "--weight_decay", ms.get("weight_decay"));
        assertClose(o, "w", fs, "w_out");
        assertClose(o, "momentum_buf", fs, "momentum_out");
    }

    @Test
    void acceptsInt64IndicesAndRecordsTheRunInMetadata() throws Exception {
        Path f = fixture("conv_k3_s1_p1_d1_g2_b2_c8to8_7x7_bias_relu_sel-random");
        SafeTensors st = SafeTensors.read(f);
        int[] idx = st.ints("idx");
        ByteBuffer i64 = ByteBuffer.allocate(8 * idx.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i : idx) {
            i64.putLong(i);
        }
        Path in = rawFile("i64.safetensors", List.of(
                new Raw("x", "F32", st.shape("x").dims(), floatsLE(st.floats("x"))),
                new Raw("w", "F32", st.shape("w").dims(), floatsLE(st.floats("w"))),
                new Raw("b", "F32", st.shape("b").dims(), floatsLE(st.floats("b"))),
                new Raw("idx", "I64", new int[]{idx.length}, i64.array())));
        Path o = ok("conv2d_gather", in, "--padding", "1", "--groups", "2", "--act", "relu");
        assertClose(o, "y", f, "y");
        assertClose(o, "x_sel", f, "x_sel");
        SafeTensors out = SafeTensors.read(o);
        assertEquals("conv2d_gather", out.metadata().get("op"));
        assertEquals("cpu", out.metadata().get("backend"));
        assertEquals("2", out.metadata().get("groups"));
    }

    @Test
    void listsEveryOpWithInputsParamsAndOutputs() {
        Result r = run("op", "--list");
        assertEquals(0, r.code);
        for (String op : List.of("conv2d", "conv2d_gather", "conv2d_dw_sparse", "conv2d_dx", "linear", "linear_dw_sparse",
                "linear_dx", "softmax_cross_entropy", "sgd_sparse")) {
            assertTrue(r.out.contains("\n" + op + ": ") || r.out.startsWith(op + ": "), op);
        }
        assertTrue(r.out.contains("--in_channels (required)"), r.out);
        assertTrue(r.out.contains("idx I32 [|S|]"), r.out);
        Result one = run("op", "--list", "conv2d_dx");
        assertEquals(0, one.code);
        assertTrue(one.out.startsWith("conv2d_dx: "), one.out);
        assertTrue(one.out.contains("--in_height (required)"), one.out);
        assertTrue(one.out.contains("dx F32 [B, C, H, W]"), one.out);
        Result help = run("op", "--help");
        assertEquals(0, help.code);
        assertTrue(help.out.contains("usage: trady4j op NAME"), help.out);
        assertTrue(run("--help").out.contains("op "));
    }

    // ------------------------------------------------------------------ bad input: exit 2, one line

    /** Runs argv, expects exit status 2 and a single stderr line containing every fragment. */
    static void bad(String[] argv, String... fragments) {
        Result r = run(argv);
        assertEquals(2, r.code, () -> "exit status for " + Arrays.toString(argv) + "; stderr: " + r.err + " stdout: " + r.out);
        String err = r.err.strip();
        assertFalse(err.contains("\n"), "more than one line: " + r.err);
        assertTrue(err.startsWith("trady4j op: "), err);
        assertFalse(err.contains("Exception"), "exception name leaked: " + err);
        for (String f : fragments) {
            assertTrue(err.contains(f), "'" + f + "' not in: " + err);
        }
    }

    String[] op(String name, Path in, String... params) {
        List<String> argv = new ArrayList<>(List.of("op", name, "--in", in.toString(), "--out",
                dir.resolve("out.safetensors").toString()));
        argv.addAll(List.of(params));
        return argv.toArray(String[]::new);
    }

    void badOp(String name, Path in, String[] params, String... fragments) {
        bad(op(name, in, params), fragments);
        assertFalse(Files.exists(dir.resolve("out.safetensors")), "an output file was written despite the error");
    }

    static String[] p(String... s) {
        return s;
    }

    static final String CONV = "conv_k3_s1_p1_d1_g2_b2_c8to8_7x7_bias_relu_sel-random";

    @Test
    void rejectsBadCommandLines() throws Exception {
        Path f = fixture(CONV);
        bad(new String[]{"op"}, "which op?");
        bad(new String[]{"op", "conv3d", "--in", f.toString(), "--out", "o"}, "unknown op 'conv3d'", "conv2d_dw_sparse");
        bad(new String[]{"op", "conv2d", "linear", "--in", f.toString()}, "expected one op name");
        bad(new String[]{"op", "conv2d", "--out", "o.safetensors"}, "missing required option --in");
        bad(new String[]{"op", "conv2d", "--in", f.toString()}, "missing required option --out");
        bad(new String[]{"op", "--list", "nope"}, "unknown op 'nope'");
        badOp("conv2d", f, p("--strides", "2"), "unknown option --strides", "--stride");
        badOp("linear", f, p("--stride", "2"), "unknown option --stride", "op linear takes --in, --out, --backend and none");
        badOp("conv2d", f, p("--stride", "1", "--stride", "2"), "--stride is given twice");
        badOp("conv2d_dw_sparse", f, p("--groups", "2", "--in_channels", "8"), "needs --kernel");
        badOp("conv2d_dx", f, p("--groups", "2", "--in_height", "7"), "needs --in_width");
        badOp("sgd", f, p(), "needs --lr");
        badOp("conv2d", f, p("--stride", "two", "--groups", "2"), "--stride must be an integer, got 'two'");
        badOp("conv2d", f, p("--stride", "0", "--groups", "2"), "--stride must be >= 1, got 0");
        badOp("conv2d", f, p("--padding", "-1", "--groups", "2"), "--padding must be >= 0");
        badOp("conv2d", f, p("--groups", "2", "--act", "gelu"), "--act", "unknown activation 'gelu'");
        badOp("conv2d", f, p("--groups", "3"), "not divisible by --groups 3");
        badOp("conv2d", f, p(), "tensor 'w' is [8, 4, 3, 3]", "--groups is 1", "w must be [C', 8, D, D]");
        if (!cudaWorksHere()) {
            badOp("conv2d", f, p("--groups", "2", "--backend", "cuda"), "backend 'cuda' is not available here");
        }
        badOp("conv2d", f, p("--groups", "2", "--backend", "tpu"), "--backend", "unknown backend 'tpu'");
        badOp("sgd", f, p("--lr", "nan"), "--lr must be a finite number");
        badOp("sgd", f, p("--lr", "0.1", "--momentum", "1.5"), "momentum must be in [0, 1)");
    }

    @Test
    void rejectsMissingTruncatedAndGarbageFiles() throws Exception {
        Path f = fixture(CONV);
        badOp("conv2d", dir.resolve("absent.safetensors"), p(), "input file", "absent.safetensors does not exist");
        badOp("conv2d", dir, p(), "is a directory");
        byte[] whole = Files.readAllBytes(f);
        Path truncated = Files.write(dir.resolve("truncated.safetensors"), Arrays.copyOf(whole, whole.length - 100));
        badOp("conv2d", truncated, p("--groups", "2"), "truncated.safetensors", "outside the data section");
        Path cutHeader = Files.write(dir.resolve("cut.safetensors"), Arrays.copyOf(whole, 40));
        badOp("conv2d", cutHeader, p("--groups", "2"), "cut.safetensors", "does not fit the file");
        byte[] junk = new byte[4096];
        new java.util.Random(7).nextBytes(junk);
        Path garbage = Files.write(dir.resolve("garbage.safetensors"), junk);
        badOp("conv2d", garbage, p(), "garbage.safetensors");
        Path tiny = Files.write(dir.resolve("tiny.safetensors"), new byte[3]);
        badOp("conv2d", tiny, p(), "not a safetensors file");
        ByteBuffer b = ByteBuffer.allocate(8 + 8).order(ByteOrder.LITTLE_ENDIAN).putLong(8);
        b.put("{\"x\":1} ".getBytes(StandardCharsets.UTF_8));
        Path wrongJson = Files.write(dir.resolve("json.safetensors"), b.array());
        badOp("conv2d", wrongJson, p(), "tensor 'x' is not described by an object");
        // the output path is a directory: refused before anything runs
        bad(new String[]{"op", "conv2d", "--in", f.toString(), "--out", dir.toString(), "--groups", "2"}, "is a directory");
        // an output that cannot be created (its parent is a file)
        bad(new String[]{"op", "conv2d", "--in", f.toString(), "--out", f.resolve("sub.safetensors").toString() + "x",
                "--groups", "2"}, "cannot write --out");
    }

    @Test
    void rejectsMissingTensorsAndWrongDtypes() throws Exception {
        SafeTensors st = SafeTensors.read(fixture(CONV));
        Path noW = new Fx(st).drop("w").write(dir.resolve("no_w.safetensors"));
        badOp("conv2d", noW, p("--groups", "2"), "has no tensor 'w'", "needs x, w, b (optional)");
        Path intX = new Fx(st).asInts("x").write(dir.resolve("int_x.safetensors"));
        badOp("conv2d", intX, p("--groups", "2"), "tensor 'x' is I32; op conv2d needs it as F32");
        Path floatIdx = new Fx(st).asFloats("idx").write(dir.resolve("float_idx.safetensors"));
        badOp("conv2d_gather", floatIdx, p("--groups", "2"), "tensor 'idx' is F32", "needs it as I32 (or I64)");
        Path noIdx = new Fx(st).drop("idx").write(dir.resolve("no_idx.safetensors"));
        badOp("conv2d_gather", noIdx, p("--groups", "2"), "has no tensor 'idx'");
        Path half = rawFile("f16.safetensors", List.of(new Raw("x", "F16", new int[]{2}, new byte[4])));
        badOp("activation", half, p(), "tensor 'x' is F16; op activation needs it as F32");
    }

    @Test
    void rejectsWrongShapes() throws Exception {
        SafeTensors st = SafeTensors.read(fixture(CONV));
        Path x3 = new Fx(st).reshape("x", 2, 8, 49).write(dir.resolve("x3.safetensors"));
        badOp("conv2d", x3, p("--groups", "2"), "tensor 'x' must be 4-D [B, C, H, W], got [2, 8, 49]");
        Path b7 = new Fx(st).replace("b", Shape.of(7), new float[7]).write(dir.resolve("b7.safetensors"));
        badOp("conv2d", b7, p("--groups", "2"), "tensor 'b' must be [8]", "got [7]");
        Path rect = new Fx(st).reshape("w", 8, 4, 1, 9).write(dir.resolve("rect.safetensors"));
        badOp("conv2d", rect, p("--groups", "2"), "only square kernels");
        badOp("conv2d", fixture(CONV), p("--groups", "2", "--dilation", "9"), "x is too small",
                "smaller than the dilated kernel");
        // sparse gradient: x_sel must hold |idx| channels, dy must match the conv output
        badOp("conv2d_dw_sparse", fixture(CONV), p("--groups", "2", "--kernel", "3", "--in_channels", "8"),
                "tensor 'dy' must be [2, 8, 5, 5]", "got [2, 8, 7, 7]"); // padding 0 instead of 1
        Path fewer = new Fx(st).replaceInts("idx", new int[]{1, 2}).write(dir.resolve("fewer.safetensors"));
        badOp("conv2d_dw_sparse", fewer, p("--groups", "2", "--padding", "1", "--kernel", "3", "--in_channels", "8"),
                "tensor 'x_sel' must be [2, 2, 7, 7] (idx selects 2 channels), got [2, 4, 7, 7]");
        badOp("conv2d_dx", fixture(CONV), p("--groups", "2", "--padding", "1", "--in_height", "9", "--in_width", "7"),
                "tensor 'dy' must be [2, 8, 9, 7]");
        Path lin = fixture("linear_b8_f64to10_x2d_bias_sel-random");
        SafeTensors ls = SafeTensors.read(lin);
        Path wT = new Fx(ls).reshape("w", 64, 10).write(dir.resolve("wT.safetensors"));
        badOp("linear", wT, p(), "tensor 'w' must be [64, 64] (x has F = 64 features), got [64, 10]");
        badOp("linear_dw_sparse", new Fx(ls).replaceInts("idx", new int[]{0}).write(dir.resolve("l1.safetensors")), p(),
                "tensor 'x_sel' has", "but idx selects 1");
        Path sm = fixture("softmax_ce_b4_k10_scale1");
        SafeTensors ss = SafeTensors.read(sm);
        badOp("softmax_cross_entropy", new Fx(ss).replaceInts("labels", new int[]{0, 1, 2}).write(dir.resolve("lab3.safetensors")),
                p(), "tensor 'labels' must be [4]");
        badOp("softmax_cross_entropy", new Fx(ss).replaceInts("labels", new int[]{0, 1, 10, 2}).write(dir.resolve("lab10.safetensors")),
                p(), "tensor 'labels' holds 10 at position 2, outside [0, 10)");
        Path mp = fixture("maxpool_k3_s2_p1_b2_c4_11x11");
        badOp("max_pool2d_backward", mp, p("--in_height", "5", "--in_width", "5"), "tensor 'argmax' holds", "outside the input plane");
        badOp("max_pool2d", mp, p("--kernel", "3", "--padding", "2"), "--padding 2 must be at most half the kernel 3");
        Path sgd = fixture("sgd_6x4x3x3_lr0.1_mom0.9_wd0.0005");
        badOp("sgd", sgd, p("--lr", "0.1", "--momentum", "0.9"), "needs the tensor 'momentum_buf'");
    }

    @Test
    void rejectsBadChannelSelections() throws Exception {
        SafeTensors st = SafeTensors.read(fixture(CONV));
        String[] gather = p("--groups", "2", "--padding", "1");
        badOp("conv2d_gather", new Fx(st).replaceInts("idx", new int[]{3, 1, 5}).write(dir.resolve("unsorted.safetensors")),
                gather, "tensor 'idx'", "sorted and unique", "position 1 holds 1 after 3");
        badOp("conv2d_gather", new Fx(st).replaceInts("idx", new int[]{1, 4, 4}).write(dir.resolve("dup.safetensors")),
                gather, "tensor 'idx'", "position 2 holds 4 after 4");
        badOp("conv2d_gather", new Fx(st).replaceInts("idx", new int[]{1, 8}).write(dir.resolve("range.safetensors")),
                gather, "tensor 'idx'", "channel index 8 at position 1 is out of range [0, 8)", "(C = 8)");
        badOp("conv2d_gather", new Fx(st).replaceInts("idx", new int[]{-1, 2}).write(dir.resolve("neg.safetensors")),
                gather, "channel index -1 at position 0 is out of range");
        Path empty = rawFile("empty_idx.safetensors", List.of(
                new Raw("x", "F32", st.shape("x").dims(), floatsLE(st.floats("x"))),
                new Raw("w", "F32", st.shape("w").dims(), floatsLE(st.floats("w"))),
                new Raw("idx", "I32", new int[]{0}, new byte[0])));
        badOp("conv2d_gather", empty, gather, "tensor 'idx' is empty");
        Path twoD = new Fx(st).replaceInts("idx", new int[]{1, 2}).reshape("idx", 1, 2).write(dir.resolve("idx2d.safetensors"));
        badOp("conv2d_gather", twoD, gather, "tensor 'idx' must be 1-D [|S|]", "got [1, 2]");
        badOp("conv2d_dw_sparse", new Fx(st).replaceInts("idx", new int[]{0, 1, 2, 9}).write(dir.resolve("dw9.safetensors")),
                p("--groups", "2", "--padding", "1", "--kernel", "3", "--in_channels", "8"),
                "channel index 9 at position 3 is out of range [0, 8)", "(--in_channels = 8)");
        Path lin = fixture("linear_b1_f8to5_x2d_bias_sel-random");
        SafeTensors ls = SafeTensors.read(lin);
        int[] idx = ls.ints("idx");
        badOp("linear_dw_sparse", lin, p("--in_features", String.valueOf(idx[idx.length - 1])), "is out of range",
                "(--in_features = " + idx[idx.length - 1] + ")");
    }

    /** Corrupted files and odd parameters never crash the runner: exit 0 or 2, at most one line on stderr. */
    @Test
    void survivesCorruptedFilesAndOddParameters() throws Exception {
        byte[] whole = Files.readAllBytes(fixture(CONV));
        long headerLen = ByteBuffer.wrap(whole).order(ByteOrder.LITTLE_ENDIAN).getLong();
        java.util.Random rnd = new java.util.Random(20260501);
        String[] values = {"0", "1", "2", "-1", "3", "8", "100", "2147483647", "-2147483648", "1e3", "", "x"};
        String[] keys = {"stride", "padding", "dilation", "groups"};
        for (int trial = 0; trial < 300; trial++) {
            byte[] b = whole.clone();
            int mode = rnd.nextInt(4);
            if (mode == 0) { // flip bytes inside the JSON header
                for (int k = 0; k < 1 + rnd.nextInt(3); k++) {
                    b[8 + rnd.nextInt((int) headerLen)] = (byte) rnd.nextInt(256);
                }
            } else if (mode == 1) { // replace a header character with a JSON-significant one
                b[8 + rnd.nextInt((int) headerLen)] = (byte) "{}[]\",:0123456789-e.tn ".charAt(rnd.nextInt(23));
            } else if (mode == 2) { // truncate
                b = Arrays.copyOf(b, rnd.nextInt(b.length));
            } else { // corrupt the header length
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, rnd.nextLong() >> rnd.nextInt(64));
            }
            Path in = Files.write(dir.resolve("fuzz.safetensors"), b);
            boolean sparse = rnd.nextBoolean();
            List<String> argv = new ArrayList<>(List.of("op", sparse ? "conv2d_dw_sparse" : "conv2d_gather",
                    "--in", in.toString(), "--out", dir.resolve("fuzz_out.safetensors").toString()));
            if (sparse) {
                argv.addAll(List.of("--kernel", "3", "--in_channels", "8"));
            }
            for (String k : keys) {
                if (rnd.nextInt(3) == 0) {
                    argv.addAll(List.of("--" + k, values[rnd.nextInt(values.length)]));
                } else if (k.equals("groups")) {
                    argv.addAll(List.of("--groups", "2"));
                }
            }
            Result r = run(argv.toArray(String[]::new));
            String detail = "trial " + trial + " " + argv + ": exit " + r.code + ", stderr " + r.err;
            assertTrue(r.code == 0 || r.code == 2, detail);
            assertTrue(r.err.isEmpty() || r.err.strip().lines().count() == 1, detail);
        }
    }

    // ------------------------------------------------------------------ building input files

    /** Copies a fixture's tensors with changes, then writes a new safetensors file. */
    static final class Fx {
        final Map<String, Object[]> t = new java.util.LinkedHashMap<>(); // name -> {Shape, float[] or int[]}

        Fx(SafeTensors st) throws IOException {
            for (String n : st.names()) {
                SafeTensors.Entry e = st.entry(n);
                t.put(n, new Object[]{st.shape(n), e.dtype().isFloat() ? st.floats(n) : st.ints(n)});
            }
        }

        Fx drop(String n) {
            t.remove(n);
            return this;
        }

        Fx asInts(String n) {
            float[] v = (float[]) t.get(n)[1];
            int[] i = new int[v.length];
            for (int k = 0; k < v.length; k++) {
                i[k] = (int) v[k];
            }
            t.get(n)[1] = i;
            return this;
        }

        Fx asFloats(String n) {
            int[] v = (int[]) t.get(n)[1];
            float[] f = new float[v.length];
            for (int k = 0; k < v.length; k++) {
                f[k] = v[k];
            }
            t.get(n)[1] = f;
            return this;
        }

        Fx reshape(String n, int... dims) {
            t.get(n)[0] = Shape.of(dims);
            return this;
        }

        Fx replace(String n, Shape s, float[] v) {
            t.put(n, new Object[]{s, v});
            return this;
        }

        Fx replaceInts(String n, int[] v) {
            t.put(n, new Object[]{Shape.of(v.length), v});
            return this;
        }

        Path write(Path p) throws IOException {
            SafeTensors.Writer w = new SafeTensors.Writer();
            t.forEach((n, v) -> {
                if (v[1] instanceof float[] f) {
                    w.put(n, (Shape) v[0], f);
                } else {
                    w.putInts(n, (Shape) v[0], (int[]) v[1]);
                }
            });
            w.write(p);
            return p;
        }
    }

    record Raw(String name, String dtype, int[] dims, byte[] data) {
    }

    static byte[] floatsLE(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    /** A safetensors file with any dtype names (the Writer only writes F32 and I32). */
    Path rawFile(String name, List<Raw> tensors) throws IOException {
        StringBuilder h = new StringBuilder("{");
        long off = 0;
        for (Raw r : tensors) {
            if (h.length() > 1) {
                h.append(',');
            }
            h.append('"').append(r.name).append("\":{\"dtype\":\"").append(r.dtype).append("\",\"shape\":")
                    .append(Arrays.toString(r.dims).replace(" ", "")).append(",\"data_offsets\":[").append(off).append(',')
                    .append(off + r.data.length).append("]}");
            off += r.data.length;
        }
        h.append('}');
        while (h.length() % 8 != 0) {
            h.append(' ');
        }
        byte[] head = h.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate((int) (8 + head.length + off)).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(head.length).put(head);
        for (Raw r : tensors) {
            b.put(r.data);
        }
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static boolean cudaWorksHere() {
        try (io.trady4j.backend.Backend b = io.trady4j.backend.Backends.open("cuda")) {
            return true;
        } catch (io.trady4j.backend.BackendUnavailableException e) {
            return false;
        }
    }
}
