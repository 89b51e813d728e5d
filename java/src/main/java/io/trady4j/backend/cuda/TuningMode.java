package io.trady4j.backend.cuda;

import java.util.Locale;

/**
 * {@code -Dtrady4j.tune}: {@code off} takes the library's heuristic, {@code on} (the default on a
 * GPU) times the eligible implementations on the first call of a shape unless the disk cache
 * already knows it, {@code force} times them again and rewrites the cache.
 */
public enum TuningMode {
    /** The library's heuristic, no timing. */
    OFF,
    /** Time the eligible implementations on a shape's first call unless the cache knows it. */
    ON,
    /** Time them again and rewrite the cache. */
    FORCE;

    /** The system property choosing the mode: off, on or force. */
    public static final String PROPERTY = "trady4j.tune";

    /** The mode the property names; without it ON, or OFF where nothing can be measured (no driver: the emulator). */
    static TuningMode fromProperty(boolean measurable) {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            return measurable ? ON : OFF;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "off" -> OFF;
            case "on" -> ON;
            case "force" -> FORCE;
            default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be off, on or force, got '" + v + "'");
        };
    }
}
