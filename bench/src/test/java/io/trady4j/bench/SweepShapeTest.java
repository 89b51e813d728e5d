package io.trady4j.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sweep's shape list (bench/model/shapes.json) and its parsing and shrinking. */
class SweepShapeTest {
    private static final Path SHAPES = Path.of("..", "bench", "model", "shapes.json");

    @TempDir
    Path dir;

    @Test
    void theCommittedShapesAreLayersOfTheBenchmarkedNetworks() {
        List<SweepShape> shapes = SweepShape.read(SHAPES);
        assertTrue(shapes.size() >= 10 && shapes.size() <= 16, "about 12 shapes, got " + shapes.size());
        Set<String> names = new HashSet<>();
        for (SweepShape s : shapes) {
            assertTrue(names.add(s.layer()), "layer named twice: " + s.layer());
            // Each is a conv layer of Layers' MobileNetV2-w0.35 or ResNet-18 at 128x128, with that geometry.
            boolean found = Layers.all().stream().anyMatch(l -> l.in() == s.inChannels() && l.out() == s.outChannels()
                    && l.kernel() == s.kernel() && l.stride() == s.stride() && l.padding() == s.padding()
                    && l.groups() == s.groups() && l.size() == s.height() && s.height() == s.width()
                    && l.net().equals(s.layer().substring(0, s.layer().indexOf('.'))));
            assertTrue(found, s.layer() + " is no conv layer of the benchmarked networks: " + s);
            assertEquals(s.network().startsWith("mbv2") ? 128 : 32, s.batch(), s.layer());
        }
        assertTrue(shapes.stream().anyMatch(s -> s.depthwise() && s.stride() == 1), "a depthwise s1 layer");
        assertTrue(shapes.stream().anyMatch(s -> s.depthwise() && s.stride() == 2), "a depthwise s2 layer");
        assertTrue(shapes.stream().anyMatch(s -> s.network().equals("resnet18") && s.kernel() == 1), "the 1x1 downsample");
    }

    @Test
    void shrinkingKeepsTheGeometryAndWhatTheKernelNeeds() {
        SweepShape s = new SweepShape("x", "n", 128, 48, 48, 64, 64, 3, 2, 1, 48);
        SweepShape small = s.shrunk(1, 4);
        assertEquals(1, small.batch());
        assertEquals(4, small.height());
        assertEquals(2, small.outHeight());
        assertEquals(s.spec(), small.spec());
        assertEquals(s, s.shrunk(0, 0));
        SweepShape wide = new SweepShape("y", "n", 2, 3, 64, 16, 16, 7, 2, 1, 1);
        assertEquals(5, wide.shrunk(0, 2).height(), "a 7x7 kernel with padding 1 needs 5 input rows");
    }

    @Test
    void aBadShapesFileIsOneClearError() throws Exception {
        Path f = dir.resolve("shapes.json");
        Files.writeString(f, "{\"shapes\": [{\"layer\": \"a\", \"network\": \"n\", \"batch\": 1, \"in_channels\": 3}]}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SweepShape.read(f));
        assertTrue(e.getMessage().contains("layer a: field out_channels"), e.getMessage());
        Files.writeString(f, "{\"shapes\": []}");
        assertThrows(IllegalArgumentException.class, () -> SweepShape.read(f));
        Files.writeString(f, """
                {"shapes": [{"layer": "g", "network": "n", "batch": 1, "in_channels": 6, "out_channels": 4, "height": 8,
                  "width": 8, "kernel": 3, "stride": 1, "padding": 1, "groups": 4}]}""");
        e = assertThrows(IllegalArgumentException.class, () -> SweepShape.read(f));
        assertTrue(e.getMessage().contains("layer g: impossible geometry"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SweepShape.read(dir.resolve("missing.json")));
        assertTrue(e.getMessage().startsWith("cannot read the shapes file"), e.getMessage());
    }
}
