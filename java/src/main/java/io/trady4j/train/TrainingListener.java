package io.trady4j.train;

import io.trady4j.io.FormatException;
import io.trady4j.nn.Gradients;
import io.trady4j.nn.Network;
import io.trady4j.nn.Selection;

import java.io.IOException;

/** Hooks into a run: gradients of every step before they are applied, the end of every epoch, resumable states. */
public interface TrainingListener {
    /**
     * Called every step with its gradients, before they are applied (default: nothing).
     *
     * @param gradients the step's gradients, valid during the call
     * @param selection the selection in force
     */
    default void gradients(Gradients gradients, Selection selection) {
    }

    /**
     * Called at the end of every epoch (default: nothing).
     *
     * @param result  the epoch's figures
     * @param network the network after the epoch
     * @throws IOException if the listener's output fails (the run stops with it)
     */
    default void epochEnded(EpochResult result, Network network) throws IOException {
    }

    /**
     * Asked after {@link #epochEnded}: a reason stops the run there as diverged, without a checkpoint of that
     * epoch (default: null, never).
     */
    default String divergence(EpochResult result) {
        return null;
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
