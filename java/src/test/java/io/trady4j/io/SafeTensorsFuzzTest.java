package io.trady4j.io;

import io.trady4j.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile safetensors files: reading them succeeds or throws FormatException, and never allocates a declared shape. */
class SafeTensorsFuzzTest {
    @TempDir
    Path dir;

    static List<byte[]> seeds(Path dir) throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        Path a = dir.resolve("a.safetensors");
        float[] w = new float[24];
        for (int i = 0; i < w.length; i++) {
            w[i] = i * 0.5f - 3;
        }
        new SafeTensors.Writer().put("conv.weight", Shape.of(2, 3, 2, 2), w).put("conv.bias", Shape.of(2), new float[]{1, 2})
                .putInts("index", Shape.of(3), new int[]{0, 4, 9}).metadata("format", "trady4j-folded")
                .metadata("note", "ünïcödé").write(a);
        seeds.add(Files.readAllBytes(a));
        ByteBuffer data = ByteBuffer.allocate(2 * 4 + 2 * 2 + 8 * 3).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3c00).putShort((short) 0x4000).putShort((short) 0xc000).putShort((short) 0x7bff);
        data.putShort((short) 0x3f80).putShort((short) 0x4040);
        data.putLong(7).putLong(-3).putLong(1L << 40);
        seeds.add(Fuzz.safetensors("{\"__metadata__\":{\"a\":\"b\"},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                + "\"l\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[12,36]},"
                + "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[12,20]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[36,36]}}", data.array()));
        return seeds;
    }

    /** Reads everything a caller could: names, metadata, every shape and every tensor as floats and ints. */
    static void readAll(Path p) throws Exception {
        SafeTensors st = SafeTensors.read(p);
        st.metadata().forEach((k, v) -> {
        });
        for (String n : st.names()) {
            st.entry(n).shapeText();
            st.shape(n);
            if (st.entry(n).dtype().isFloat()) {
                st.floats(n);
            } else {
                st.ints(n);
            }
        }
    }

    @Test
    void twoThousandMutatedFilesOnlyRaiseFormatException() throws Exception {
        int rejected = Fuzz.run(dir, seeds(dir), 20260101L, 2000, SafeTensorsFuzzTest::readAll, FormatException.class);
        // most mutations are caught, some (e.g. a flipped data byte) are harmless
        assertTrue(rejected > 1000 && rejected < 2000, "rejected " + rejected);
    }
}
