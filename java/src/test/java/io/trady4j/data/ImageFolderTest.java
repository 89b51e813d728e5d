package io.trady4j.data;

import io.trady4j.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageFolderTest {
    @TempDir
    Path dir;

    /** Writes a w×h PNG: gray value or RGB from (x, y, seed). */
    static void png(Path p, int w, int h, boolean rgb, int seed) throws IOException {
        Files.createDirectories(p.getParent());
        BufferedImage img = new BufferedImage(w, h, rgb ? BufferedImage.TYPE_INT_RGB : BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = (seed * 40 + x * 16 + y * 4) & 0xFF;
                if (rgb) {
                    img.setRGB(x, y, (v << 16) | ((255 - v) << 8) | (seed * 50 & 0xFF));
                } else {
                    img.getRaster().setSample(x, y, 0, v);
                }
            }
        }
        ImageIO.write(img, "png", p.toFile());
    }

    @Test
    void readsClassFoldersSortedWithExactPixels() throws IOException {
        png(dir.resolve("zebra/b.png"), 4, 4, false, 1);
        png(dir.resolve("zebra/a.png"), 4, 4, false, 2);
        png(dir.resolve("ant/x.png"), 4, 4, false, 3);
        Files.writeString(dir.resolve("ant/notes.txt"), "ignored");
        Files.createDirectories(dir.resolve(".hidden"));
        ImageFolder f = ImageFolder.open(dir, 4, 0);
        assertEquals(List.of("ant", "zebra"), f.classNames());
        assertEquals(3, f.size());
        assertEquals(1, f.channels()); // all gray
        assertEquals(0, f.label(0));
        assertEquals("a.png", f.file(1).getFileName().toString());
        float[] x = new float[16];
        f.image(1, x, 0); // zebra/a.png, seed 2
        for (int y = 0; y < 4; y++) {
            for (int xx = 0; xx < 4; xx++) {
                assertEquals(((2 * 40 + xx * 16 + y * 4) & 0xFF) / 255f, x[y * 4 + xx], 1e-6f);
            }
        }
    }

    @Test
    void rgbAndGrayMixResizedToTheRequestedSize() throws IOException {
        png(dir.resolve("a/1.png"), 8, 6, true, 1);
        png(dir.resolve("b/1.png"), 5, 5, false, 2);
        ImageFolder f = ImageFolder.open(dir, 4, 0);
        assertEquals(3, f.channels());
        float[] x = new float[3 * 16];
        f.image(1, x, 0); // gray → three equal planes
        for (int j = 0; j < 16; j++) {
            assertEquals(x[j], x[16 + j], 0);
            assertEquals(x[j], x[32 + j], 0);
        }
        f.image(0, x, 0);
        ImageFolder.Decoded d = ImageFolder.decode(dir.resolve("a/1.png"));
        float[] want = Resize.bilinear(d.pixels(), 3, 6, 8, 4, 4);
        for (int j = 0; j < 48; j++) {
            assertEquals(Math.round(want[j] * 255) / 255f, x[j], 1e-6f);
        }
        ImageFolder gray = ImageFolder.open(dir, 4, 1);
        assertEquals(1, gray.channels());
        gray.checked(false, w -> { });
    }

    @Test
    void largeImagesAreSubsampledWhileDecoding() throws IOException {
        png(dir.resolve("a/big.png"), 200, 100, true, 1);
        ImageFolder.Decoded full = ImageFolder.decode(dir.resolve("a/big.png"));
        ImageFolder.Decoded sub = ImageFolder.decode(dir.resolve("a/big.png"), 10);
        assertEquals(200, full.width());
        assertEquals(100, sub.width()); // step 100 / 40 = 2
        assertEquals(50, sub.height());
        assertEquals(full.pixels()[2 * 200 + 4], sub.pixels()[1 * 100 + 2], 0);
    }

    @Test
    void badImagesAreFormatExceptions() throws IOException {
        png(dir.resolve("a/ok.png"), 4, 4, false, 1);
        Files.write(dir.resolve("a/bad.png"), "this is not a png".getBytes());
        ImageFolder f = ImageFolder.open(dir, 4, 1);
        FormatException e = assertThrows(FormatException.class, () -> f.checked(false, w -> { }));
        assertTrue(e.getMessage().contains("bad.png") && e.getMessage().contains("--skip-bad-images"), e.getMessage());
        List<String> warnings = new ArrayList<>();
        ImageFolder kept = ImageFolder.open(dir, 4, 1).checked(true, warnings::add);
        assertEquals(1, kept.size());
        assertEquals(dir.resolve("a/ok.png"), kept.file(0));
        assertEquals(1, warnings.size());
        assertTrue(warnings.getFirst().startsWith("WARNING: skipping ") && warnings.getFirst().contains("bad.png"), warnings.getFirst());
        // a truncated PNG
        byte[] good = Files.readAllBytes(dir.resolve("a/ok.png"));
        Files.write(dir.resolve("a/bad.png"), Arrays.copyOf(good, good.length / 2));
        assertThrows(FormatException.class, () -> ImageFolder.decode(dir.resolve("a/bad.png")));
        // a PNG declaring 100000×100000 pixels: rejected from the header, nothing allocated
        Files.write(dir.resolve("a/bad.png"), hugePng());
        e = assertThrows(FormatException.class, () -> ImageFolder.decode(dir.resolve("a/bad.png")));
        assertTrue(e.getMessage().contains("100000x100000"), e.getMessage());
    }

    @Test
    void missingAndEmptyFolders() throws IOException {
        assertThrows(IOException.class, () -> ImageFolder.open(dir.resolve("nope"), 4, 0));
        FormatException e = assertThrows(FormatException.class, () -> ImageFolder.open(dir, 4, 0));
        assertTrue(e.getMessage().contains("no class sub-folders"), e.getMessage());
        Files.createDirectories(dir.resolve("empty"));
        e = assertThrows(FormatException.class, () -> ImageFolder.open(dir, 4, 0));
        assertTrue(e.getMessage().contains("has no image"), e.getMessage());
    }

    /** Seeded mutations of a PNG and a JPEG: decoding either works or is a FormatException naming the file. */
    @Test
    void fuzzedImagesOnlyRaiseFormatException() throws IOException {
        png(dir.resolve("src/a.png"), 12, 9, true, 3);
        BufferedImage rgb = ImageIO.read(dir.resolve("src/a.png").toFile());
        ImageIO.write(rgb, "jpg", dir.resolve("src/a.jpg").toFile());
        byte[][] bases = {Files.readAllBytes(dir.resolve("src/a.png")), Files.readAllBytes(dir.resolve("src/a.jpg"))};
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        Path p = dir.resolve("fuzz.img");
        int rejected = 0;
        for (int trial = 0; trial < 300; trial++) {
            byte[] m = IdxTest.mutate(bases[trial % 2], r);
            if (r.nextBoolean() && m.length > 40) { // also hit the middle of the file
                m[20 + r.nextInt(m.length - 20)] = (byte) r.nextInt(256);
            }
            Files.write(p, m);
            try {
                ImageFolder.Decoded d = ImageFolder.decode(p);
                assertTrue(d.width() > 0 && d.height() > 0);
            } catch (FormatException e) {
                rejected++;
                assertTrue(e.getMessage().contains("fuzz.img"), e.getMessage());
            } catch (Exception e) {
                org.junit.jupiter.api.Assertions.fail("trial " + trial + ": " + e, e);
            }
        }
        assertTrue(rejected > 30, rejected + " rejected");
    }

    static byte[] hugePng() {
        ByteBuffer ihdr = ByteBuffer.allocate(13);
        ihdr.putInt(100_000).putInt(100_000).put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(o, "IHDR", ihdr.array());
        chunk(o, "IDAT", new byte[]{0x78, 0x01, 0x01, 0x00, 0x00, (byte) 0xff, (byte) 0xff, 0, 0, 0, 1});
        chunk(o, "IEND", new byte[0]);
        return o.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream o, String type, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(12 + data.length);
        b.putInt(data.length).put(type.getBytes()).put(data);
        CRC32 crc = new CRC32();
        crc.update(type.getBytes());
        crc.update(data);
        b.putInt((int) crc.getValue());
        o.writeBytes(b.array());
    }
}
