package io.trady4j.train;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Progress of an epoch: a live bar (batches, loss, images/s, ETA of the epoch and of the whole phase —
 * pretraining, ranking, a strategy's run) redrawn in place on a terminal, plain lines every few seconds
 * otherwise (logs, CI: no carriage returns or escapes). The phase's ETA counts the epochs still to come
 * (read from the trainer's "epoch N/M" label) at the mean duration of this phase's finished epochs.
 */
public final class Progress {
    private static final Pattern EPOCH = Pattern.compile("epoch (\\d+)/(\\d+)");

    private final PrintStream out;
    private final boolean terminal;
    private final long intervalNanos;
    private final boolean showSteps;
    private final LongSupplier clock;
    private String label = "";
    private int total;
    private long start;
    private long lastPrint;
    private long images;
    private String phase = "";
    private int epochsAfterThis;
    private double finishedEpochSeconds;
    private int finishedEpochs;

    Progress(PrintStream out, boolean terminal, boolean showSteps, long intervalNanos, LongSupplier clock) {
        this.out = out;
        this.terminal = terminal;
        this.showSteps = showSteps;
        this.intervalNanos = intervalNanos;
        this.clock = clock;
    }

    /**
     * @param out      where to print
     * @param terminal redraw a live bar in place (else plain lines every few seconds)
     */
    public Progress(PrintStream out, boolean terminal) {
        this(out, terminal, true, terminal ? 200_000_000L : 10_000_000_000L, System::nanoTime);
    }

    /** A progress that prints only the epoch lines (tests). */
    public static Progress quiet(PrintStream out) {
        return new Progress(out, false, false, Long.MAX_VALUE, System::nanoTime);
    }

    /**
     * A live bar when standard output is a terminal, plain lines otherwise. (Since JDK 22 {@code System.console()}
     * exists even when output is redirected; {@code isTerminal()} tells.)
     *
     * @param out where to print
     * @return a progress with a live bar when a terminal is attached, plain lines otherwise
     */
    public static Progress forConsole(PrintStream out) {
        java.io.Console console = System.console();
        String term = System.getenv("TERM");
        return new Progress(out, console != null && console.isTerminal() && term != null && !"dumb".equals(term));
    }

    /** Starts a phase (e.g. "pretraining", "trady"): its ETA covers the epochs from here to the phase's last. */
    public void phase(String name) {
        this.phase = name;
        this.finishedEpochSeconds = 0;
        this.finishedEpochs = 0;
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
        this.start = clock.getAsLong();
        this.lastPrint = start;
        this.images = 0;
        Matcher m = EPOCH.matcher(label);
        this.epochsAfterThis = m.find() ? Math.max(0, Integer.parseInt(m.group(2)) - Integer.parseInt(m.group(1))) : 0;
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
        long now = clock.getAsLong();
        if (!showSteps || now - lastPrint < intervalNanos && done < total) {
            return;
        }
        lastPrint = now;
        double secs = (now - start) / 1e9;
        double rate = images / Math.max(secs, 1e-9);
        double eta = done == 0 ? 0 : secs * (total - done) / done;
        String eta2 = eta(eta, secs);
        if (terminal) {
            int width = 24;
            int filled = (int) Math.round(width * (double) done / Math.max(1, total));
            out.printf(Locale.ROOT, "\r%s [%s%s] %d/%d loss %.4f  %.0f img/s  ETA %s   ", label, "#".repeat(filled),
                    ".".repeat(width - filled), done, total, loss, rate, eta2);
            out.flush();
        } else if (done < total) {
            out.printf(Locale.ROOT, "%s %d/%d batches, loss %.4f, %.0f img/s, ETA %s%n", label, done, total, loss, rate, eta2);
        }
    }

    /** The epoch's ETA, then the phase's when epochs remain after this one. */
    private String eta(double epochEta, double epochSecs) {
        if (epochsAfterThis == 0 || epochSecs + epochEta <= 0) {
            return duration(epochEta);
        }
        double perEpoch = finishedEpochs > 0 ? finishedEpochSeconds / finishedEpochs : epochSecs + epochEta;
        return duration(epochEta) + (phase.isEmpty() ? " (all epochs " : " (" + phase + " ")
                + duration(epochEta + epochsAfterThis * perEpoch) + ")";
    }

    /** Ends the bar with a summary line. */
    public void end(String summary) {
        finishedEpochSeconds += (clock.getAsLong() - start) / 1e9;
        finishedEpochs++;
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
