package io.trady4j.train;

import io.trady4j.io.FormatException;
import io.trady4j.nn.Gradients;
import io.trady4j.nn.Network;
import io.trady4j.nn.Selection;

import java.io.IOException;

/** Hooks into a run: gradients of every step before they are applied, the end of every epoch, resumable states. */
public interface TrainingListener {
    default void gradients(Gradients gradients, Selection selection) {
    }

    default void epochEnded(EpochResult result, Network network) throws IOException {
    }

    /**
     * A point the run can resume from, with the network at that point: after every epoch (after
     * {@link #epochEnded}) and when a {@link StopSignal} stops the run between steps. A checkpoint
     * written here with the network's parameters resumes exactly.
     */
    default void checkpoint(TrainingState state, Network network) throws IOException {
    }

    /**
     * What this listener has gathered, as JSON values, for a checkpoint to keep (null: nothing); a run
     * resumed from that checkpoint hands it back to {@link #restore} before its first step.
     */
    default Object checkpointState() {
        return null;
    }

    /** Takes back what {@link #checkpointState} returned when the checkpoint was written. */
    default void restore(Object state) throws FormatException {
    }
}
