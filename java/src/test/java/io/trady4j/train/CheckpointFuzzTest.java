package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.io.FormatException;
import io.trady4j.io.Fuzz;
import io.trady4j.io.Json;
import io.trady4j.io.SafeTensors;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.nn.NetworkTest;
import io.trady4j.tensor.MemoryCategory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile checkpoints: {@link Checkpoint#load} and {@link HostWeights#read} (the --weights path) either
 * succeed or throw FormatException, for mutated files and mutated run states.
 */
class CheckpointFuzzTest {
    @TempDir
    Path dir;

    private List<byte[]> seeds() throws Exception {
        Path a = dir.resolve("mid.safetensors"), b = dir.resolve("end.safetensors");
        try (Backend backend = new CpuBackend(1);
             Network net = Network.create(backend, ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 3))) {
            Map<Integer, int[]> sel = Map.of(1, new int[]{0, 3, 5}, 6, new int[]{2});
            int[] shape = ResumeTest.ARCH.convLayers().get(1).conv().sparseWeightGradShape(3).dims();
            Map<Integer, float[]> momentum = Map.of(1, new float[Arrays.stream(shape).reduce(1, (x, y) -> x * y)],
                    -1, new float[8 * 4], -2, new float[]{1, 2, 3, 4});
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("strategy", "su-rgn-fill");
            info.put("seed", 5L);
            info.put("epochs", List.of(Map.of("epoch", 1L, "test_top1", 0.5)));
            Checkpoint.save(a, net, new TrainingState(1, 3, sel, momentum, 4.5, 7, 48, 1.25,
                    Map.of(MemoryCategory.ACTIVATION_CACHE, 1024L)), info);
            info.put("epochs", List.of(Map.of("epoch", 1L), Map.of("epoch", 2L)));
            Checkpoint.save(b, net, new TrainingState(2, 0, sel, Map.of(), 0, 0, 0, 0, Map.of()), info);
        }
        Checkpoint.load(a, ResumeTest.ARCH);
        Checkpoint.load(b, ResumeTest.ARCH);
        return List.of(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    /** Mutates the run state JSON inside the metadata (half the cases) or the file itself. */
    @SuppressWarnings("unchecked")
    static Fuzz.Case mutate(byte[] valid, Random r) {
        if (r.nextBoolean()) {
            return Fuzz.mutate(valid, r);
        }
        long len = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        byte[] data = Arrays.copyOfRange(valid, 8 + (int) len, valid.length);
        try {
            Map<String, Object> header = (Map<String, Object>) Json.parse(new String(valid, 8, (int) len,
                    StandardCharsets.UTF_8).strip());
            Map<String, Object> md = new LinkedHashMap<>((Map<String, Object>) header.get("__metadata__"));
            Object state = Json.parse((String) md.get(Checkpoint.STATE_KEY));
            StringBuilder how = new StringBuilder("run state ");
            int edits = 1 + r.nextInt(3);
            for (int i = 0; i < edits; i++) {
                state = Fuzz.mutateJson(state, r, how.append(i > 0 ? ", " : ""));
            }
            md.put(Checkpoint.STATE_KEY, Json.write(state));
            header.put("__metadata__", md);
            return new Fuzz.Case(Fuzz.safetensors(Json.write(header), data), how.toString());
        } catch (FormatException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void mutatedCheckpointsOnlyRaiseFormatException() throws Exception {
        List<byte[]> seeds = seeds();
        int rejected = Fuzz.run(dir, seeds, 77L, 1500, CheckpointFuzzTest::mutate,
                p -> Checkpoint.load(p, ResumeTest.ARCH), FormatException.class);
        assertTrue(rejected > 300, "rejected " + rejected);
    }

    @Test
    void mutatedWeightFilesOnlyRaiseFormatException() throws Exception {
        int rejected = Fuzz.run(dir, seeds(), 78L, 1000, p -> HostWeights.read(ResumeTest.ARCH, p, 0),
                FormatException.class);
        assertTrue(rejected > 150, "rejected " + rejected);
    }
}
