package io.trady4j.data;

import io.trady4j.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class CifarTest {
    @TempDir
    Path dir;

    @Test
    void readsCifar10Batches() throws IOException {
        Path d = dir.resolve("cifar-10-batches-bin");
        Files.createDirectories(d);
        for (int b = 1; b <= 5; b++) {
            Files.write(d.resolve("data_batch_" + b + ".bin"), TestFiles.cifarBatch(3, false, 10));
        }
        Files.write(d.resolve("test_batch.bin"), TestFiles.cifarBatch(4, false, 10));
        InMemoryDataset train = Cifar.cifar10(dir, true); // the parent directory works too
        InMemoryDataset test = Cifar.cifar10(d, false);
        assertEquals(15, train.size());
        assertEquals(4, test.size());
        assertEquals(3, train.channels());
        assertEquals(32, train.height());
        assertEquals(Cifar.CIFAR10_CLASSES, train.classNames());
        assertEquals(2, test.label(2));
        float[] x = new float[3072];
        test.image(3, x, 0);
        // record 3, pixel j = (3 + j) mod 256; channel 1 (green) starts at 1024
        assertEquals(((3 + 1024 + 5) & 0xFF) / 255f, x[1024 + 5], 0);
        assertEquals(Normalization.IMAGENET, train.normalization());
    }

    @Test
    void readsCifar100FineAndCoarse() throws IOException {
        Path d = dir.resolve("cifar-100-binary");
        Files.createDirectories(d);
        Files.write(d.resolve("train.bin"), TestFiles.cifarBatch(120, true, 100));
        Files.write(d.resolve("test.bin"), TestFiles.cifarBatch(10, true, 100));
        InMemoryDataset fine = Cifar.cifar100(dir, true, Cifar.Labels.FINE);
        InMemoryDataset coarse = Cifar.cifar100(dir, true, Cifar.Labels.COARSE);
        assertEquals(100, fine.numClasses());
        assertEquals(20, coarse.numClasses());
        assertEquals(57, fine.label(57));
        assertEquals(57 % 20, coarse.label(57));
        assertEquals(110 % 100, fine.label(110));
    }

    @Test
    void rejectsBadBatches() throws IOException {
        Path p = dir.resolve("bad.bin");
        Files.write(p, new byte[3073 * 2 + 5]);
        FormatException e = assertThrows(FormatException.class,
                () -> Cifar.read("x", List.of(p), Cifar.Labels.CIFAR10, Cifar.CIFAR10_CLASSES));
        assertTrue(e.getMessage().contains("not a whole"), e.getMessage());
        Files.write(p, new byte[0]);
        assertThrows(FormatException.class, () -> Cifar.read("x", List.of(p), Cifar.Labels.CIFAR10, Cifar.CIFAR10_CLASSES));
        // a CIFAR-100 file read as CIFAR-10 is detected
        Files.write(p, TestFiles.cifarBatch(2, true, 100));
        e = assertThrows(FormatException.class,
                () -> Cifar.read("x", List.of(p), Cifar.Labels.CIFAR10, Cifar.CIFAR10_CLASSES));
        assertTrue(e.getMessage().contains("CIFAR-100"), e.getMessage());
        byte[] b = TestFiles.cifarBatch(3, false, 10);
        b[3073] = 10;
        Files.write(p, b);
        e = assertThrows(FormatException.class,
                () -> Cifar.read("x", List.of(p), Cifar.Labels.CIFAR10, Cifar.CIFAR10_CLASSES));
        assertTrue(e.getMessage().contains("record 1 has label 10"), e.getMessage());
        assertThrows(DatasetMissingException.class, () -> Cifar.cifar10(dir.resolve("nowhere"), true));
    }

    @Test
    void fuzzedBatchesOnlyRaiseFormatException() throws IOException {
        byte[] good = TestFiles.cifarBatch(4, false, 10);
        SplittableRandom r = new SplittableRandom(7);
        Path p = dir.resolve("fuzz.bin");
        for (int trial = 0; trial < 200; trial++) {
            byte[] m = good.clone();
            switch (r.nextInt(3)) {
                case 0 -> m[3073 * r.nextInt(4)] = (byte) r.nextInt(256);
                case 1 -> m = Arrays.copyOf(m, r.nextInt(m.length));
                default -> m = Arrays.copyOf(m, m.length + 1 + r.nextInt(4000));
            }
            Files.write(p, m);
            try {
                Cifar.read("fuzz", List.of(p), Cifar.Labels.CIFAR10, Cifar.CIFAR10_CLASSES);
            } catch (FormatException e) {
                assertTrue(e.getMessage().contains("fuzz.bin"), e.getMessage());
            } catch (Exception e) {
                fail(e);
            }
        }
    }
}
