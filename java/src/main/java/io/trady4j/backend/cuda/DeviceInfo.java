package io.trady4j.backend.cuda;

/**
 * Device facts read once at open, and the figure formats of CUDA messages. Free of JCuda (an
 * optional dependency), so the library's own runtime works without it on the class path.
 */
record DeviceInfo(int index, String name, int major, int minor, int multiprocessors, long totalMemory,
                  int runtimeVersion, int driverVersion) {
    String describe() {
        return String.format("%s (sm_%d%d, %d SMs, %.1f GiB, driver %s)", name, major, minor, multiprocessors,
                totalMemory / (1024.0 * 1024 * 1024), version(driverVersion));
    }

    /** A CUDA version number (e.g. 12060) as "12.6", or "none" for 0. */
    static String version(int v) {
        return v <= 0 ? "none" : (v / 1000) + "." + (v % 1000) / 10;
    }

    /** A byte count for messages: "512 B", "1.5 KiB (1536 bytes)", ... */
    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        if (b < 1024L * 1024) {
            return String.format("%.1f KiB (%d bytes)", b / 1024.0, b);
        }
        if (b < 1024L * 1024 * 1024) {
            return String.format("%.1f MiB (%d bytes)", b / (1024.0 * 1024), b);
        }
        return String.format("%.2f GiB (%d bytes)", b / (1024.0 * 1024 * 1024), b);
    }
}
