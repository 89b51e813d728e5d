package io.trady4j.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of an epoch: a live bar (batches, loss, images/s, ETA) redrawn in place on a terminal,
 * plain lines every few seconds otherwise (logs, CI).
 */
public final class Progress {
    private final PrintStream out;
    private final boolean terminal;
    private final long intervalNanos;
    private final boolean showSteps;
    private String label = "";
    private int total;
    private long start;
    private long lastPrint;
    private long images;

    private Progress(PrintStream out, boolean terminal, boolean showSteps) {
        this.out = out;
        this.terminal = terminal;
        this.showSteps = showSteps;
        this.intervalNanos = terminal ? 200_000_000L : 10_000_000_000L;
    }

    /**
     * @param out      where to print
     * @param terminal redraw a live bar in place (else plain lines every few seconds)
     */
    public Progress(PrintStream out, boolean terminal) {
        this(out, terminal, true);
    }

    /** A progress that prints only the epoch lines (tests). */
    public static Progress quiet(PrintStream out) {
        return new Progress(out, false, false);
    }

    /**
     * @param out where to print
     * @return a progress with a live bar when a terminal is attached, plain lines otherwise
     */
    public static Progress forConsole(PrintStream out) {
        return new Progress(out, System.console() != null && System.getenv("TERM") != null && !"dumb".equals(System.getenv("TERM")));
    }

    /**
     * Starts an epoch (or evaluation).
     *
     * @param label   what runs, e.g. "epoch 3/10"
     * @param batches how many batches it has
     */
    public void begin(String label, int batches) {
        this.label = label;
        this.total = batches;
        this.start = System.nanoTime();
        this.lastPrint = start;
        this.images = 0;
    }

    /**
     * Reports a finished batch (printed at most every few seconds, or redrawn on a terminal).
     *
     * @param done        batches done so far
     * @param loss        the running loss
     * @param batchImages images in this batch
     */
    public void step(int done, double loss, int batchImages) {
        images += batchImages;
        long now = System.nanoTime();
        if (!showSteps || now - lastPrint < intervalNanos && done < total) {
            return;
        }
        lastPrint = now;
        double secs = (now - start) / 1e9;
        double rate = images / Math.max(secs, 1e-9);
        double eta = done == 0 ? 0 : secs * (total - done) / done;
        if (terminal) {
            int width = 24;
            int filled = (int) Math.round(width * (double) done / Math.max(1, total));
            out.printf(Locale.ROOT, "\r%s [%s%s] %d/%d loss %.4f  %.0f img/s  ETA %s   ", label, "#".repeat(filled),
                    ".".repeat(width - filled), done, total, loss, rate, duration(eta));
            out.flush();
        } else if (done < total) {
            out.printf(Locale.ROOT, "%s %d/%d batches, loss %.4f, %.0f img/s, ETA %s%n", label, done, total, loss, rate, duration(eta));
        }
    }

    /** Ends the bar with a summary line. */
    public void end(String summary) {
        if (terminal) {
            out.print("\r" + " ".repeat(100) + "\r");
        }
        out.println(label + " " + summary);
    }

    /**
     * @param seconds a duration
     * @return it as "1h02m", "3m05s" or "12s"
     */
    public static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
