package io.trady4j.train;

import io.trady4j.io.FormatException;
import io.trady4j.io.Json;
import io.trady4j.io.SafeTensors;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.Network;
import io.trady4j.tensor.Shape;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training checkpoint: the network's parameters plus a JSON run state, in ONE safetensors file
 * (the state sits in the header's metadata), written atomically (temp file, fsync, rename). So a
 * process killed at any moment leaves either the previous checkpoint or the new one, never a mix.
 */
public final class Checkpoint {
    private static final String STATE_KEY = "trady4j.run_state";

    private Checkpoint() {
    }

    /** Writes {@code network}'s parameters and {@code state} (a JSON-able map) to {@code path}. */
    public static void save(Path path, Network network, Map<String, Object> state) throws IOException {
        save(path, network.architecture(), network.parameters(), state);
    }

    public static void save(Path path, Architecture architecture, Map<String, float[]> parameters, Map<String, Object> state)
            throws IOException {
        Map<String, Shape> shapes = Network.parameterShapes(architecture);
        SafeTensors.Writer w = new SafeTensors.Writer();
        for (Map.Entry<String, float[]> e : parameters.entrySet()) {
            Shape s = shapes.get(e.getKey());
            if (s == null) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' does not belong to " + architecture.name());
            }
            w.put(e.getKey(), s, e.getValue());
        }
        w.metadata("format", "trady4j");
        w.metadata("architecture", architecture.name());
        w.metadata(STATE_KEY, Json.write(state));
        w.write(path);
    }

    /** Parameters and run state of a checkpoint. */
    public record Loaded(Map<String, float[]> parameters, Map<String, Object> state) {
    }

    @SuppressWarnings("unchecked")
    public static Loaded load(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString(), null, "no checkpoint there");
        }
        SafeTensors st = SafeTensors.read(path);
        String json = st.metadata().get(STATE_KEY);
        if (json == null) {
            throw new FormatException(path + ": not a trady4j checkpoint (no run state in its metadata)");
        }
        Object state = Json.parse(json);
        if (!(state instanceof Map)) {
            throw new FormatException(path + ": run state is not a JSON object");
        }
        Map<String, float[]> params = new LinkedHashMap<>();
        for (String name : st.names()) {
            params.put(name, st.floats(name));
        }
        return new Loaded(params, (Map<String, Object>) state);
    }
}
