package io.trady4j.data;

import java.io.IOException;

/**
 * A data set's files are not where they were looked for. The message says where it looked and
 * how to get the data; {@link #aptPackage()} names the Debian package that provides it, when one
 * does (see {@link DatasetInstaller}).
 */
public final class DatasetMissingException extends IOException {
    private final String aptPackage;

    public DatasetMissingException(String message, String aptPackage) {
        super(message);
        this.aptPackage = aptPackage;
    }

    /** The Debian package that installs this data set, or null. */
    public String aptPackage() {
        return aptPackage;
    }
}
