package io.trady4j.data;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoaderTest {
    private static List<Batch> all(Loader l, int epoch, int from) throws IOException {
        List<Batch> out = new ArrayList<>();
        try (Loader.Epoch it = l.epoch(epoch, from)) {
            while (it.hasNext()) {
                out.add(it.next());
            }
        }
        return out;
    }

    private static Loader loader(Dataset ds, long seed, boolean prefetch) {
        Transform t = Transform.builder(10, 3).randomCrop(2).horizontalFlip(true).build();
        return Loader.builder(ds, t).batchSize(16).seed(seed).prefetch(prefetch).build();
    }

    @Test
    void sameSeedAndEpochGiveTheSameBytes() throws IOException {
        InMemoryDataset ds = TransformTest.tiny(50, 1, 8);
        try (Loader a = loader(ds, 3, true); Loader b = loader(ds, 3, false)) {
            List<Batch> x = all(a, 2, 0);
            List<Batch> y = all(b, 2, 0);
            assertEquals(4, x.size());
            assertEquals(2, x.get(3).size()); // last partial batch kept
            for (int i = 0; i < x.size(); i++) {
                assertArrayEquals(x.get(i).images(), y.get(i).images());
                assertArrayEquals(x.get(i).labels(), y.get(i).labels());
                assertArrayEquals(x.get(i).indices(), y.get(i).indices());
                assertEquals(16 * 3 * 10 * 10, x.get(0).images().length);
            }
            // every sample exactly once per epoch, labels match the data set
            int[] seen = new int[50];
            for (Batch bt : x) {
                for (int k = 0; k < bt.size(); k++) {
                    seen[bt.indices()[k]]++;
                    assertEquals(ds.label(bt.indices()[k]), bt.labels()[k]);
                }
            }
            for (int s : seen) {
                assertEquals(1, s);
            }
            // another epoch: another order; another seed: another order
            assertFalse(Arrays.equals(a.order(2), a.order(3)));
            try (Loader c = loader(ds, 4, true)) {
                assertFalse(Arrays.equals(a.order(2), c.order(2)));
            }
        }
    }

    @Test
    void resumesMidEpochExactly() throws IOException {
        InMemoryDataset ds = TransformTest.tiny(70, 3, 12);
        try (Loader l = loader(ds, 9, true)) {
            List<Batch> full = all(l, 1, 0);
            List<Batch> rest = all(l, 1, 2);
            assertEquals(full.size() - 2, rest.size());
            for (int i = 0; i < rest.size(); i++) {
                assertEquals(full.get(i + 2).index(), rest.get(i).index());
                assertArrayEquals(full.get(i + 2).images(), rest.get(i).images());
            }
            assertArrayEquals(full.get(1).images(), l.batch(1, 1).images());
        }
    }

    @Test
    void dropLastLimitAndNoShuffle() throws IOException {
        InMemoryDataset ds = TransformTest.tiny(50, 1, 8);
        Transform t = Transform.eval(ds, 8, 1);
        try (Loader l = Loader.builder(ds, t).batchSize(16).dropLast(true).shuffle(false).build()) {
            assertEquals(3, l.batchesPerEpoch());
            List<Batch> b = all(l, 0, 0);
            assertEquals(3, b.size());
            assertEquals(0, b.get(0).indices()[0]);
            assertEquals(47, b.get(2).indices()[15]);
            assertEquals(48, l.samplesPerEpoch());
        }
        try (Loader l = Loader.builder(ds, t).batchSize(16).maxBatchesPerEpoch(2).build()) {
            assertEquals(2, all(l, 5, 0).size());
            assertEquals(32, l.samplesPerEpoch());
        }
        assertThrows(IllegalArgumentException.class, () -> Loader.builder(ds, t).batchSize(64).dropLast(true).build());
    }

    @Test
    void stratifiedSubsets() {
        InMemoryDataset ds = TransformTest.tiny(50, 1, 4); // labels i % 3: 17, 17, 16
        Dataset first = Datasets.firstPerClass(ds, 5);
        assertArrayEquals(new int[]{5, 5, 5}, Datasets.classCounts(first));
        assertEquals(0, first.label(0));
        Dataset s = Datasets.stratified(ds, 10);
        assertEquals(10, s.size());
        int[] c = Datasets.classCounts(s);
        assertTrue(Arrays.stream(c).max().getAsInt() - Arrays.stream(c).min().getAsInt() <= 1, Arrays.toString(c));
        assertSame(ds, Datasets.stratified(ds, 100));
        Transform t = Transform.eval(ds, 4, 1);
        try (Loader l = Loader.builder(ds, t).samplesPerClass(2).build()) {
            assertEquals(6, l.dataset().size());
        }
        try (Loader l = Loader.builder(ds, t).subset(7).batchSize(4).build()) {
            assertEquals(7, l.dataset().size());
            assertEquals(2, l.batchesPerEpoch());
        }
    }

    @Test
    void backgroundFailuresReachTheCaller() throws IOException {
        InMemoryDataset ok = TransformTest.tiny(20, 1, 4);
        Dataset failing = new Datasets.View("failing", ok, new int[]{0, 1, 2, 3, 4, 5}, null, ok.classNames()) {
            @Override
            public void image(int i, float[] dst, int offset) throws IOException {
                if (i == 4) {
                    throw new IOException("sample 4 is unreadable");
                }
                super.image(i, dst, offset);
            }
        };
        try (Loader l = Loader.builder(failing, Transform.eval(failing, 4, 1)).batchSize(2).shuffle(false).build();
             Loader.Epoch it = l.epoch(0)) {
            it.next();
            it.next();
            IOException e = assertThrows(IOException.class, it::next);
            assertEquals("sample 4 is unreadable", e.getMessage());
        }
    }

    @Test
    void classSelectionRemapsLabels() throws IOException {
        InMemoryDataset ds = TransformTest.tiny(30, 1, 4);
        Dataset sel = Datasets.selectClasses(ds, new int[]{1, 2}, "sel");
        assertEquals(20, sel.size());
        assertEquals(List.of("b", "c"), sel.classNames());
        float[] a = new float[16];
        float[] b = new float[16];
        for (int i = 0; i < sel.size(); i++) {
            int orig = ((Datasets.View) sel).baseIndex(i);
            assertEquals(ds.label(orig) - 1, sel.label(i));
            sel.image(i, a, 0);
            ds.image(orig, b, 0);
            assertArrayEquals(b, a);
        }
        assertThrows(IllegalArgumentException.class, () -> Datasets.selectClasses(ds, new int[]{1, 1}, "x"));
        assertThrows(IllegalArgumentException.class, () -> Datasets.selectClasses(ds, new int[]{3}, "x"));
    }
}
