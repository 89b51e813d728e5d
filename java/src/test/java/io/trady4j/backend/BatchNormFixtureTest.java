package io.trady4j.backend;

import io.trady4j.io.SafeTensors;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The BatchNorm ops against PyTorch's {@code batch_norm} (fixtures by scripts/gen_batchnorm_fixtures.py):
 * training forward, saved statistics, running averages, backward for x, γ and β, and inference, each within
 * a relative error of 1e-5; outputs are poisoned with NaN first, so an element left unwritten fails.
 */
class BatchNormFixtureTest {
    static final double TOLERANCE = 1e-5;
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backends.open(System.getProperty("trady4j.test.backend", "cpu"));
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static Stream<Named<Path>> fixtures() throws Exception {
        URL url = BatchNormFixtureTest.class.getResource("/fixtures-batchnorm");
        assertNotNull(url, "fixtures-batchnorm is not on the test classpath");
        try (Stream<Path> s = Files.list(Path.of(url.toURI()))) {
            List<Path> files = s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
            assertTrue(files.size() >= 6, "expected the 6 BatchNorm fixtures, found " + files.size());
            return files.stream().map(p -> Named.of(p.getFileName().toString(), p)).toList().stream();
        }
    }

    private static Tensor up(SafeTensors st, String name) throws Exception {
        return backend.upload(st.floats(name), st.shape(name), MemoryCategory.WORKSPACE);
    }

    private static Tensor poisoned(Shape shape) {
        Tensor t = backend.allocate(shape, MemoryCategory.WORKSPACE);
        backend.fill(t, Float.NaN);
        return t;
    }

    private static void near(SafeTensors st, String ref, Tensor got) throws Exception {
        float[] want = st.floats(ref), have = backend.toFloatArray(got);
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            num += (double) (have[i] - want[i]) * (have[i] - want[i]);
            den += (double) want[i] * want[i];
        }
        double rel = Math.sqrt(num / Math.max(den, 1e-30));
        assertTrue(rel <= TOLERANCE, ref + ": relative error " + rel + " (got " + Arrays.toString(Arrays.copyOf(have, 4))
                + "..., want " + Arrays.toString(Arrays.copyOf(want, 4)) + "...)");
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void matchesPyTorch(Path file) throws Exception {
        SafeTensors st = SafeTensors.read(file);
        double momentum = Double.parseDouble(st.metadata().get("momentum"));
        double eps = Double.parseDouble(st.metadata().get("eps"));
        try (Tensor x = up(st, "x"); Tensor g = up(st, "gamma"); Tensor b = up(st, "beta");
             Tensor rm = up(st, "running_mean"); Tensor rv = up(st, "running_var"); Tensor dy = up(st, "dy");
             Tensor y = poisoned(x.shape()); Tensor mean = poisoned(g.shape()); Tensor inv = poisoned(g.shape());
             Tensor dx = poisoned(x.shape()); Tensor dg = poisoned(g.shape()); Tensor db = poisoned(g.shape());
             Tensor yEval = poisoned(x.shape());
             Tensor rm0 = up(st, "running_mean"); Tensor rv0 = up(st, "running_var")) {
            backend.batchNormInference(x, g, b, rm0, rv0, eps, yEval);
            near(st, "y_eval", yEval);
            backend.batchNormTraining(x, g, b, rm, rv, momentum, eps, y, mean, inv);
            near(st, "y", y);
            near(st, "save_mean", mean);
            near(st, "save_inv_std", inv);
            near(st, "running_mean_after", rm);
            near(st, "running_var_after", rv);
            backend.batchNormBackward(dy, x, g, mean, inv, dx, dg, db);
            near(st, "dx", dx);
            near(st, "dgamma", dg);
            near(st, "dbeta", db);
            // in place: dx may be dy, y may be x
            backend.batchNormBackward(dy, x, g, mean, inv, dy, dg, db);
            near(st, "dx", dy);
            backend.batchNormTraining(x, g, b, rm0, rv0, momentum, eps, x, mean, inv);
            near(st, "y", x);
        }
    }

    @Test
    void badArgumentsAreOneClearException() {
        try (Tensor x = backend.allocate(Shape.of(2, 3, 2, 2), MemoryCategory.WORKSPACE);
             Tensor c3 = backend.allocate(Shape.of(3), MemoryCategory.WORKSPACE);
             Tensor c4 = backend.allocate(Shape.of(4), MemoryCategory.WORKSPACE);
             Tensor one = backend.allocate(Shape.of(1, 3, 1, 1), MemoryCategory.WORKSPACE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> backend.batchNormTraining(x, c4, c3, c3, c3, 0.1, 1e-5, x, c3, c3));
            assertTrue(e.getMessage().contains("gamma"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> backend.batchNormTraining(one, c3, c3, c3, c3, 0.1, 1e-5, one, c3, c3));
            assertTrue(e.getMessage().contains("at least 2"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> backend.batchNormInference(x, c3, c3, c3, c3, 0, x));
            assertTrue(e.getMessage().contains("eps"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> backend.batchNormBackward(x, x, c3, c3, c3, x, c4, c3));
            assertTrue(e.getMessage().contains("gamma gradient"), e.getMessage());
        }
    }

    @Test
    void fixturesAreBatchNormCases() throws Exception {
        for (Named<Path> n : fixtures().toList()) {
            assertEquals("batch_norm", SafeTensors.read(n.getPayload()).metadata().get("kind"));
        }
    }
}
