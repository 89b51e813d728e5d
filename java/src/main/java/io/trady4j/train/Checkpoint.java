package io.trady4j.train;

import io.trady4j.io.FormatException;
import io.trady4j.io.Json;
import io.trady4j.io.SafeTensors;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A training checkpoint: the network's folded parameters ({@link HostWeights} format, so it also
 * loads as a base model) with the JSON run state in the same file's metadata. One file, written
 * atomically (temp file, fsync, rename): a process killed at any moment leaves either the previous
 * checkpoint or the new one, never a weights/state mix.
 */
public final class Checkpoint {
    private static final String STATE_KEY = "trady4j.run_state";

    private Checkpoint() {
    }

    public static void save(Path path, Network network, Map<String, Object> state) throws IOException {
        HostWeights.fromParameters(network.architecture(), network.parameters()).save(path, Map.of(STATE_KEY, Json.write(state)));
    }

    /** Parameters and run state of a checkpoint. */
    public record Loaded(HostWeights weights, Map<String, Object> state) {
    }

    @SuppressWarnings("unchecked")
    public static Loaded load(Path path, Architecture architecture) throws IOException {
        String json = SafeTensors.read(path).metadata().get(STATE_KEY);
        if (json == null) {
            throw new FormatException(path + ": not a trady4j training checkpoint (no run state in its metadata)");
        }
        Object state = Json.parse(json);
        if (!(state instanceof Map)) {
            throw new FormatException(path + ": run state is not a JSON object");
        }
        return new Loaded(HostWeights.load(architecture, path, 0), (Map<String, Object>) state);
    }
}
