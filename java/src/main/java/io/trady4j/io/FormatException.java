package io.trady4j.io;

import java.io.IOException;

/** A file is not what its reader accepts (truncated, inconsistent header, wrong type, ...); the message says what. */
public final class FormatException extends IOException {
    public FormatException(String message) {
        super(message);
    }
}
