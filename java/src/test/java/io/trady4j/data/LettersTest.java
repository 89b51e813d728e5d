package io.trady4j.data;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class LettersTest {
    private static Letters.Split split;

    @BeforeAll
    static void render() throws IOException {
        try {
            split = Letters.render(Letters.DEFAULT_FONT_DIRS, 2, 0, 0.2);
        } catch (DatasetMissingException e) {
            split = null; // no fonts on this machine: the tests below are skipped
        }
    }

    @Test
    void splitsByFontFamilyWithBalancedLabels() {
        assumeTrue(split != null, "fewer than two font families installed (apt-get install fonts-dejavu-core)");
        Set<String> train = new HashSet<>(split.trainFamilies());
        for (String f : split.testFamilies()) {
            assertTrue(!train.contains(f), f + " is in both splits");
        }
        Set<Path> trainFiles = new HashSet<>();
        split.trainFaces().forEach(f -> trainFiles.add(f.file()));
        split.testFaces().forEach(f -> assertTrue(!trainFiles.contains(f.file()), f.file() + " in both splits"));
        assertEquals(split.trainFaces().size() * 10 * 2, split.train().size());
        int[] counts = Datasets.classCounts(split.train());
        for (int c : counts) {
            assertEquals(counts[0], c);
        }
        assertEquals(1, split.train().channels());
        assertEquals(28, split.train().height());
        assertEquals(Letters.CLASSES, split.train().classNames());
        assertEquals(split.train().normalization(), split.test().normalization());
        // glyphs are white on black: corners dark, some bright pixels
        byte[] b = split.train().imageBytes(0);
        assertEquals(0, b[0]);
        int bright = 0;
        for (byte v : b) {
            bright += (v & 0xFF) > 200 ? 1 : 0;
        }
        assertTrue(bright > 20, "only " + bright + " bright pixels");
    }

    @Test
    void renderingIsDeterministic() throws IOException {
        assumeTrue(split != null, "no fonts");
        Letters.Split again = Letters.render(Letters.DEFAULT_FONT_DIRS, 2, 0, 0.2);
        assertEquals(split.train().size(), again.train().size());
        for (int i = 0; i < split.train().size(); i += 7) {
            assertArrayEquals(split.train().imageBytes(i), again.train().imageBytes(i));
        }
        assertEquals(split.testFamilies(), again.testFamilies());
    }

    @Test
    void lettersTaskSelectsClassesByLetter() throws IOException {
        assumeTrue(split != null, "no fonts");
        Task t = Tasks.parse("letters:F-J", Tasks.Options.defaults().withLettersPerFont(2));
        assertEquals("letters:5-9", t.spec());
        assertEquals(List.of("F", "G", "H", "I", "J"), t.classNames());
        assertEquals(split.train().size() / 2, t.train().size());
        assertTrue(!t.augment().flip());
    }

    @Test
    void noFontsSaysWhatToInstall(@TempDir Path empty) {
        DatasetMissingException e = assertThrows(DatasetMissingException.class,
                () -> Letters.render(List.of(empty), 1, 0, 0.2));
        assertTrue(e.getMessage().contains("apt-get install fonts-dejavu-core"), e.getMessage());
    }

    @Test
    void familyKeysDropStyleWords() {
        assertEquals("DejaVu Sans", Letters.familyKey("DejaVu Sans Condensed"));
        assertEquals("DejaVu Sans Mono", Letters.familyKey("DejaVu Sans Mono"));
        assertEquals("Noto Serif", Letters.familyKey("Noto Serif Display"));
        assertEquals("Bold", Letters.familyKey("Bold"));
    }
}
