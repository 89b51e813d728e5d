package io.trady4j.train;

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
}
