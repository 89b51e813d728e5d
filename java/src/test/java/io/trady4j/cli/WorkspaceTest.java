package io.trady4j.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkspaceTest {
    @Test
    void taskSlugsAreReadableAndTellFoldersApart() {
        assertEquals("fmnist-5-9", Workspace.slug("fmnist:5-9"));
        assertEquals("letters-A-C+F", Workspace.slug("letters:A-C,F"));
        assertEquals("cifar10", Workspace.slug("cifar10"));
        String a = Workspace.slug("folder:/tmp/newcomer/digits/data");
        assertTrue(a.matches("folder-data-[0-9a-f]{6}"), a);
        assertNotEquals(a, Workspace.slug("folder:/tmp/other/data"), "two folders named data");
        String m = Workspace.slug("mnist:/data/mnist:0-4");
        assertTrue(m.matches("mnist-mnist-[0-9a-f]{6}-0-4"), m);
        assertTrue(Workspace.slug("folder:my data").matches("folder-my_data-[0-9a-f]{6}"), Workspace.slug("folder:my data"));
    }
}
