package io.trady4j.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java mirrors of trady4j.h's #defines are checked against the header itself: a constant that
 * drifts, or a status, option or op the header gains without a Java counterpart, fails here.
 */
class Trady4jHeaderTest {
    private static final Pattern DEFINE = Pattern.compile("^#define TRADY4J_(\\w+) (-?\\d+)\\b", Pattern.MULTILINE);

    static Map<String, Integer> headerConstants() throws IOException {
        Path header = null;
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("native/include/trady4j.h");
            if (Files.isRegularFile(p)) {
                header = p;
                break;
            }
        }
        assertTrue(header != null, "native/include/trady4j.h not found above " + Path.of("").toAbsolutePath());
        Map<String, Integer> defines = new TreeMap<>();
        Matcher m = DEFINE.matcher(Files.readString(header));
        while (m.find()) {
            defines.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return defines;
    }

    @Test
    void abiConstantsMatchTheHeader() throws IOException, IllegalAccessException {
        Map<String, Integer> h = headerConstants();
        assertFalse(h.isEmpty());
        int mirrored = 0;
        for (Field f : Abi.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                assertTrue(h.containsKey(f.getName()), "Abi." + f.getName() + " has no TRADY4J_" + f.getName());
                f.setAccessible(true);
                assertEquals(h.get(f.getName()), f.getInt(null), "Abi." + f.getName());
                mirrored++;
            }
        }
        for (String name : h.keySet()) {
            if (name.startsWith("ERR_") || name.startsWith("OPT_") || name.equals("OK") || name.startsWith("IMPL_")) {
                assertTrue(hasField(name), "TRADY4J_" + name + " has no Abi." + name);
            }
        }
        assertTrue(mirrored >= 8, "mirrored " + mirrored);
    }

    @Test
    void abiVersionMatchesTheHeader() throws IOException {
        assertEquals(headerConstants().get("ABI_VERSION"), NativeLibrary.ABI_VERSION);
    }

    @Test
    void opCodesMatchTheHeader() throws IOException {
        Map<String, Integer> h = headerConstants();
        for (CudaOp op : CudaOp.values()) {
            assertEquals(h.get("OP_" + op.name()), op.code(), "TRADY4J_OP_" + op.name());
        }
        long ops = h.keySet().stream().filter(n -> n.startsWith("OP_")).count();
        assertEquals(ops, CudaOp.values().length, "every TRADY4J_OP_* has a CudaOp");
    }

    private static boolean hasField(String name) {
        try {
            return Abi.class.getDeclaredField(name).getType() == int.class;
        } catch (NoSuchFieldException e) {
            return false;
        }
    }
}
