package io.trady4j.train;

import io.trady4j.nn.Gradients;
import io.trady4j.nn.Network;
import io.trady4j.nn.Selection;

import java.io.IOException;

/** Hooks into a run: gradients of every step before they are applied, and the end of every epoch. */
public interface TrainingListener {
    default void gradients(Gradients gradients, Selection selection) {
    }

    default void epochEnded(EpochResult result, Network network) throws IOException {
    }
}
