package io.trady4j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TasksTest {
    @TempDir
    Path dir;

    private Tasks.Options opts() {
        return Tasks.Options.defaults().withDataRoot(dir);
    }

    @Test
    void parsesClassLists() {
        assertArrayEquals(new int[]{0, 1, 2, 3, 4}, Tasks.parseClasses("0-4", 10, false));
        assertArrayEquals(new int[]{5, 7, 9}, Tasks.parseClasses("9,5,7", 10, false));
        assertArrayEquals(new int[]{0, 1, 2, 8}, Tasks.parseClasses("0-2,8", 10, false));
        assertArrayEquals(new int[]{0, 1, 2, 3, 4}, Tasks.parseClasses("A-E", 10, true));
        assertEquals("0-2,5,7-9", Tasks.formatClasses(new int[]{0, 1, 2, 5, 7, 8, 9}));
        assertThrows(IllegalArgumentException.class, () -> Tasks.parseClasses("0-10", 10, false));
        assertThrows(IllegalArgumentException.class, () -> Tasks.parseClasses("4-2", 10, false));
        assertThrows(IllegalArgumentException.class, () -> Tasks.parseClasses("1,1", 10, false));
        assertThrows(IllegalArgumentException.class, () -> Tasks.parseClasses("1,,2", 10, false));
    }

    @Test
    void mnistLikeTaskFromADirectoryRemapsClasses() throws IOException {
        Path d = dir.resolve("m");
        TestFiles.writeMnistLike(d, 40, 20, 6, 10);
        Task t = Tasks.parse("mnist:" + d + ":5,7,9", opts());
        assertEquals("mnist:" + d + ":5,7,9", t.spec());
        assertEquals(3, t.numClasses());
        assertArrayEquals(new int[]{5, 7, 9}, t.classes());
        assertEquals(List.of("5", "7", "9"), t.classNames());
        assertEquals(12, t.train().size()); // labels i % 10: 4 each
        assertEquals(6, t.test().size());
        for (int i = 0; i < t.train().size(); i++) {
            assertTrue(t.train().label(i) >= 0 && t.train().label(i) < 3);
        }
        assertEquals(0, t.train().label(0)); // sample 5 → class 5 → label 0
        assertEquals(Normalization.MNIST, t.normalization());
        assertFalse(t.augment().flip());
        // the data root: $ROOT/mnist
        TestFiles.writeMnistLike(dir.resolve("mnist"), 10, 10, 6, 10);
        assertEquals(10, Tasks.parse("mnist", opts()).train().size());
    }

    @Test
    void fashionMnistTasks() throws IOException {
        assumeTrue(Files.isDirectory(Tasks.FASHION_MNIST_DIR), "Fashion-MNIST not installed");
        Task src = Tasks.parse("fmnist:0-4", Tasks.Options.defaults().withDataRoot(null));
        Task dst = Tasks.parse("fmnist:5-9", Tasks.Options.defaults().withDataRoot(null));
        assertEquals(30000, src.train().size());
        assertEquals(5000, dst.test().size());
        assertEquals(List.of("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"), dst.classNames());
        assertEquals(Normalization.FASHION_MNIST, dst.normalization());
        assertTrue(dst.augment().flip());
        assertEquals(4, dst.train().label(0)); // fmnist train sample 0 is an ankle boot (9 → 4)
        // the target reuses the base data set loaded for the source (files read once)
        assertTrue(((Datasets.View) src.train()).base() == ((Datasets.View) dst.train()).base());
    }

    @Test
    void missingDataSaysHowToGetIt() {
        DatasetMissingException e = assertThrows(DatasetMissingException.class,
                () -> Tasks.parse("fmnist:" + dir.resolve("none") + ":0-4", opts()));
        assertTrue(e.getMessage().contains("apt-get install dataset-fashion-mnist"), e.getMessage());
        assertNull(e.aptPackage()); // an explicit directory: installing the package would not help
        e = assertThrows(DatasetMissingException.class, () -> Tasks.parse("mnist", Tasks.Options.defaults().withDataRoot(null)));
        assertTrue(e.getMessage().contains("mnist:DIR"), e.getMessage());
        e = assertThrows(DatasetMissingException.class, () -> Tasks.parse("cifar10:" + dir, opts()));
        assertTrue(e.getMessage().contains("binary version"), e.getMessage());
    }

    @Test
    void badSpecsAreClearErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tasks.parse("imagenet:0-4", opts()));
        assertTrue(e.getMessage().contains("unknown task"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tasks.parse("", opts()));
        assertThrows(IllegalArgumentException.class, () -> Tasks.parse("folder", opts()));
        assertThrows(IllegalArgumentException.class, () -> Tasks.parse("mnist:0-4:/x", opts()));
        assertThrows(IllegalArgumentException.class, () -> Tasks.parse("letters:/fonts", opts()));
    }

    @Test
    void cifarTask() throws IOException {
        Path d = dir.resolve("cifar-10-batches-bin");
        Files.createDirectories(d);
        for (int b = 1; b <= 5; b++) {
            Files.write(d.resolve("data_batch_" + b + ".bin"), TestFiles.cifarBatch(10, false, 10));
        }
        Files.write(d.resolve("test_batch.bin"), TestFiles.cifarBatch(10, false, 10));
        Task t = Tasks.parse("cifar10:0,1", opts()); // directory from the data root
        assertEquals(10, t.train().size());
        assertEquals(List.of("airplane", "automobile"), t.classNames());
        assertEquals(Normalization.IMAGENET, t.normalization());
        assertEquals(3, t.channels());
    }

    @Test
    void folderTaskWithAndWithoutSplitFolders() throws IOException {
        Path a = dir.resolve("split");
        for (String s : List.of("train", "test")) {
            for (String c : List.of("cat", "dog")) {
                for (int i = 0; i < 3; i++) {
                    ImageFolderTest.png(a.resolve(s).resolve(c).resolve(i + ".png"), 5, 5, true, i);
                }
            }
        }
        Task t = Tasks.parse("folder:" + a, opts().withImageSize(8));
        assertEquals(6, t.train().size());
        assertEquals(6, t.test().size());
        assertEquals(8, t.imageSize());
        assertEquals(List.of("cat", "dog"), t.classNames());
        Path b = dir.resolve("flat");
        for (String c : List.of("a", "b", "c")) {
            for (int i = 0; i < 20; i++) {
                ImageFolderTest.png(b.resolve(c).resolve(i + ".png"), 4, 4, false, i);
            }
        }
        Task u = Tasks.parse("folder:" + b + ":1-2", opts().withImageSize(4));
        assertEquals(2, u.numClasses());
        assertEquals(40, u.train().size() + u.test().size());
        assertTrue(u.test().size() > 0 && u.test().size() < 20, "test size " + u.test().size());
        // the split is a function of the split seed and the paths only
        Task v = Tasks.parse("folder:" + b + ":1-2", opts().withImageSize(4));
        assertEquals(u.test().size(), v.test().size());
        assertEquals(1, u.channels());
    }
}
