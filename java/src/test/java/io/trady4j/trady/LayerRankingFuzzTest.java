package io.trady4j.trady;

import io.trady4j.io.FormatException;
import io.trady4j.io.Fuzz;
import io.trady4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile layer-ranking files: {@link LayerRanking#load} succeeds with a usable ranking or throws FormatException. */
class LayerRankingFuzzTest {
    @TempDir
    Path dir;

    static Fuzz.Case mutate(byte[] valid, Random r) {
        if (r.nextInt(3) == 0) {
            return Fuzz.mutate(valid, r);
        }
        try {
            Object root = Json.parse(new String(valid, StandardCharsets.UTF_8));
            StringBuilder how = new StringBuilder();
            int edits = 1 + r.nextInt(3);
            for (int i = 0; i < edits; i++) {
                root = Fuzz.mutateJson(root, r, how.append(i > 0 ? ", " : ""));
            }
            return new Fuzz.Case(Json.writePretty(root).getBytes(StandardCharsets.UTF_8), how.toString());
        } catch (FormatException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Loads and uses the ranking as finetune does. */
    static void load(Path p) throws Exception {
        LayerRanking r = LayerRanking.load(p);
        List<Integer> top = r.topK(LayerRanking.DEFAULT_MASS);
        assertTrue(!top.isEmpty() && top.size() <= r.scores().length);
        r.order();
    }

    @Test
    void mutatedRankingsOnlyRaiseFormatException() throws Exception {
        Path a = dir.resolve("r.json");
        new LayerRanking("tiny", 16, "fmnist:0-4", 2, List.of("stem", "b1.expand", "b1.dw", "b1.project"),
                new double[]{0.5, 3, 1e-9, 0}).save(a);
        load(a);
        int rejected = Fuzz.run(dir, List.of(Files.readAllBytes(a)), 99L, 1500, LayerRankingFuzzTest::mutate,
                LayerRankingFuzzTest::load, FormatException.class);
        assertTrue(rejected > 500, "rejected " + rejected);
    }

    @Test
    void namedProblemsAreExplained() throws Exception {
        Path p = dir.resolve("bad.json");
        Files.write(p, new byte[]{'{', (byte) 0xff, '}'});
        FormatException e = assertThrows(FormatException.class, () -> LayerRanking.load(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        Files.writeString(p, "{\"architecture\":\"a\",\"resolution\":16,\"task\":\"t\",\"epochs\":1,"
                + "\"layers\":[{\"index\":0,\"name\":\"x\",\"score\":-1.0}]}");
        e = assertThrows(FormatException.class, () -> LayerRanking.load(p));
        assertEquals(p + ": layer x has score -1.0; scores must be finite and >= 0", e.getMessage());
    }
}
