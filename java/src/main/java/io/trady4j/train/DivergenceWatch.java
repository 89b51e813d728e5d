package io.trady4j.train;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Divergence beyond NaN, checked after every epoch of a fine-tune: the run is flagged and stopped when its
 * mean training loss rises above {@link #LOSS_FACTOR} times its first epoch's, or when its training and test
 * top-1 both stay below {@link #CHANCE_MARGIN} times chance for {@link #CHANCE_EPOCHS} epochs in a row after
 * the warm-up. (Issue 15: runs whose loss rose to ~700 at chance accuracy had been reported as ordinary 20%
 * results.) The thresholds are ours: a healthy fine-tune's loss falls below its first epoch's, and a run that
 * cannot leave chance in three epochs after warm-up has not learned.
 */
public final class DivergenceWatch {
    /** The training loss may rise to this multiple of the first epoch's before the run is flagged. */
    public static final double LOSS_FACTOR = 3.0;
    /** "At chance": top-1 below this multiple of 1 / classes. */
    public static final double CHANCE_MARGIN = 1.25;
    /** Consecutive epochs at chance after the warm-up that flag a run. */
    public static final int CHANCE_EPOCHS = 3;

    private final int classes;
    private final int warmupEpochs;
    private double firstLoss = Double.NaN;
    private int epochsAtChance;

    /**
     * @param classes      the task's number of classes (chance = 1 / classes)
     * @param warmupEpochs epochs of learning-rate warm-up, not counted at chance
     */
    public DivergenceWatch(int classes, int warmupEpochs) {
        if (classes < 2) {
            throw new IllegalArgumentException("a classification task has >= 2 classes, got " + classes);
        }
        this.classes = classes;
        this.warmupEpochs = warmupEpochs;
    }

    /** Whether a final top-1 is near chance (below {@link #CHANCE_MARGIN} / classes). */
    public static boolean nearChance(double top1, int classes) {
        return top1 < CHANCE_MARGIN / classes;
    }

    /**
     * Replays the epochs of a resumed run (JSON objects as {@link RunReport#epochJson()} gives), so the
     * resumed run is judged as the uninterrupted one.
     */
    public void replay(List<Map<String, Object>> epochs) {
        for (Map<String, Object> e : epochs) {
            check(((Number) e.get("epoch")).intValue() - 1, num(e.get("train_loss")), num(e.get("train_top1")),
                    num(e.get("test_top1")));
        }
    }

    /** @return why the run diverged after this epoch (0-based), or null while it has not */
    public String check(int epoch, double trainLoss, double trainTop1, double testTop1) {
        if (Double.isNaN(firstLoss)) {
            firstLoss = trainLoss;
        } else if (trainLoss > LOSS_FACTOR * firstLoss) {
            return String.format(Locale.ROOT, "the training loss rose to %.4g at epoch %d, above %.1f times the first"
                    + " epoch's %.4g", trainLoss, epoch + 1, LOSS_FACTOR, firstLoss);
        }
        boolean atChance = nearChance(trainTop1, classes) && nearChance(testTop1, classes);
        epochsAtChance = epoch >= warmupEpochs && atChance ? epochsAtChance + 1 : 0;
        if (epochsAtChance >= CHANCE_EPOCHS) {
            return String.format(Locale.ROOT, "top-1 stayed at chance (train %.2f%%, test %.2f%%; chance %.2f%%) for %d"
                    + " epochs after the warm-up, to epoch %d", 100 * trainTop1, 100 * testTop1, 100.0 / classes,
                    CHANCE_EPOCHS, epoch + 1);
        }
        return null;
    }

    /** Checks a finished epoch. */
    public String check(EpochResult r) {
        return check(r.epoch(), r.trainLoss(), r.trainAccuracy(), r.testAccuracy());
    }

    private static double num(Object o) {
        return ((Number) o).doubleValue();
    }
}
