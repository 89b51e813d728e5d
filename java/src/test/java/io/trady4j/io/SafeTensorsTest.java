package io.trady4j.io;

import io.trady4j.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsFloatsIntsAndMetadata() throws IOException {
        Path p = dir.resolve("a.safetensors");
        float[] w = {1.5f, -2f, 3.25f, Float.MIN_VALUE, -0f, 1e30f};
        new SafeTensors.Writer().put("w", Shape.of(2, 3), w).putInts("idx", Shape.of(3), new int[]{0, 5, -7})
                .metadata("format", "pt").write(p);
        SafeTensors st = SafeTensors.read(p);
        assertEquals(Shape.of(2, 3), st.shape("w"));
        assertArrayEquals(w, st.floats("w"));
        assertArrayEquals(new int[]{0, 5, -7}, st.ints("idx"));
        assertEquals("pt", st.metadata().get("format"));
        assertThrows(FormatException.class, () -> st.ints("w"));
        assertThrows(FormatException.class, () -> st.floats("missing"));
    }

    @Test
    void readsHalfPrecisionAndInt64() throws IOException {
        // F16 1.0 = 0x3c00, BF16 -2.0 = 0xc000, I64 7
        ByteBuffer data = ByteBuffer.allocate(2 + 2 + 8).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3c00).putShort((short) 0xc000).putLong(7);
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[2,4]},"
                + "\"l\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]}}";
        Path p = raw(header, data.array());
        SafeTensors st = SafeTensors.read(p);
        assertArrayEquals(new float[]{1f}, st.floats("h"));
        assertArrayEquals(new float[]{-2f}, st.floats("b"));
        assertArrayEquals(new int[]{7}, st.ints("l"));
    }

    @Test
    void rejectsHostileHeaders() throws IOException {
        byte[] four = new byte[16];
        assertBad(raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", four), "holds 12 bytes");
        assertBad(raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,32]}}", four), "outside the data section");
        assertBad(raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", four), "overlap");
        assertBad(raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[4000000000,4000000000,4000000000],\"data_offsets\":[0,16]}}", four),
                "declares shape");
        assertBad(raw("{\"x\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "unsupported dtype");
        assertBad(raw("[1,2]", four), "not a JSON object");
        assertBad(raw("{\"x\":", four), "invalid JSON");
        Path huge = dir.resolve("huge.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).putLong(0);
        Files.write(huge, b.array());
        assertBad(huge, "does not fit the file");
        Path bad = dir.resolve("utf.safetensors");
        ByteBuffer u = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(4).put(new byte[]{'{', (byte) 0xff, (byte) 0xfe, '}'});
        Files.write(bad, u.array());
        assertBad(bad, "UTF-8");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[3]);
        assertBad(tiny, "not a safetensors file");
    }

    private void assertBad(Path p, String fragment) {
        FormatException e = assertThrows(FormatException.class, () -> SafeTensors.read(p));
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    private Path raw(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path p = Files.createTempFile(dir, "t", ".safetensors");
        Files.write(p, b.array());
        return p;
    }
}
