package io.trady4j.data;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;

import static org.junit.jupiter.api.Assertions.assertThrows;

class DatasetInstallerTest {
    @Test
    void refusesAnythingButAPackageName() {
        PrintStream log = new PrintStream(new ByteArrayOutputStream());
        assertThrows(IllegalArgumentException.class, () -> DatasetInstaller.install("x; rm -rf /", log));
        assertThrows(IllegalArgumentException.class, () -> DatasetInstaller.install("-y", log));
        DatasetInstaller.canInstall(); // answers without side effects
    }
}
