package io.trady4j.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Installs a data set's Debian package with apt-get, for a caller (the CLI) that has decided to:
 * nothing in the data package calls this by itself. Works only as root with apt-get on the PATH
 * ({@link #canInstall()}); runs {@code apt-get install -y PACKAGE}, and on failure
 * {@code apt-get update} then the install once more.
 *
 * <pre>{@code
 * try { task = Tasks.parse("fmnist:0-4"); }
 * catch (DatasetMissingException e) {
 *     if (e.aptPackage() == null || !DatasetInstaller.canInstall()) throw e;
 *     DatasetInstaller.install(e.aptPackage(), System.err);
 *     task = Tasks.parse("fmnist:0-4");
 * }
 * }</pre>
 */
public final class DatasetInstaller {
    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9.+-]+");
    private static final long TIMEOUT_MINUTES = 15;

    private DatasetInstaller() {
    }

    /** True when running as root and apt-get is on the PATH. */
    public static boolean canInstall() {
        return isRoot() && aptGet() != null;
    }

    static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Uid:")) {
                    String[] f = line.substring(4).trim().split("\\s+");
                    return f.length > 1 && f[1].equals("0");
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: fall through
        }
        return "root".equals(System.getProperty("user.name"));
    }

    private static Path aptGet() {
        String path = System.getenv("PATH");
        if (path == null) {
            path = "/usr/bin:/bin:/usr/sbin:/sbin";
        }
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, "apt-get");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Installs {@code aptPackage}, echoing apt's output to {@code log}; throws with apt's exit status on failure. */
    public static void install(String aptPackage, PrintStream log) throws IOException {
        if (!PACKAGE.matcher(aptPackage).matches()) {
            throw new IllegalArgumentException("not a Debian package name: " + aptPackage);
        }
        if (!isRoot()) {
            throw new IOException("installing " + aptPackage + " needs root: run `sudo apt-get install " + aptPackage + "`");
        }
        Path apt = aptGet();
        if (apt == null) {
            throw new IOException("apt-get not found: install the data set " + aptPackage + " by hand");
        }
        log.println("installing " + aptPackage + " with apt-get ...");
        if (run(List.of(apt.toString(), "install", "-y", "-q", aptPackage), log) == 0) {
            return;
        }
        log.println("apt-get install failed; running apt-get update and trying again ...");
        run(List.of(apt.toString(), "update", "-q"), log);
        int rc = run(List.of(apt.toString(), "install", "-y", "-q", aptPackage), log);
        if (rc != 0) {
            throw new IOException("apt-get install " + aptPackage + " failed (exit status " + rc + ")");
        }
    }

    private static int run(List<String> cmd, PrintStream log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        Process p = pb.start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                log.println("  " + line);
            }
        }
        try {
            if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish in " + TIMEOUT_MINUTES + " minutes");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while running " + String.join(" ", cmd));
        }
        return p.exitValue();
    }
}
