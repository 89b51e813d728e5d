package io.trady4j.train;

import io.trady4j.io.FormatException;
import io.trady4j.io.Json;
import io.trady4j.io.SafeTensors;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.tensor.MemoryCategory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.nio.file.Path;

/**
 * A training checkpoint: the network's folded parameters ({@link HostWeights} format, so it also
 * loads as a base model) with the JSON run state in the same file's metadata and the SGD momentum
 * buffers as extra tensors ({@code trady4j.momentum.<key>}, ignored when the file is loaded as a base
 * model). One file, written atomically (temp file, fsync, rename): a process killed at any moment
 * leaves either the previous checkpoint or the new one, never a weights/state mix. A checkpoint never
 * holds non-finite parameters: {@link #save} refuses them with {@link TrainingDivergedException}.
 *
 * <p>The run state holds {@code epochs_done} and {@code step} (where to resume), the selection in
 * force, the partial statistics of an unfinished epoch, and whatever the caller adds (Experiment adds
 * the run's identity and the finished epochs' report entries). {@link #load} validates all of it:
 * any inconsistency is a {@link FormatException}.
 */
public final class Checkpoint {
    /** safetensors metadata key holding the run state (JSON). */
    public static final String STATE_KEY = "trady4j.run_state";
    /** Tensor-name prefix of the momentum buffers in a checkpoint. */
    public static final String MOMENTUM_PREFIX = HostWeights.RESERVED_PREFIX + "momentum.";
    /** Tensor-name prefix of a BatchNorm-training network's BatchNorm state (γ, β, running averages) in a checkpoint. */
    public static final String BATCH_NORM_PREFIX = HostWeights.RESERVED_PREFIX + "batchnorm.";
    /** Tensor-name prefix of a BatchNorm-training network's own (unfolded) parameters in a checkpoint. */
    public static final String UNFOLDED_PREFIX = HostWeights.RESERVED_PREFIX + "unfolded.";
    /** The run-state layout version written by this code. */
    public static final int VERSION = 1;

    private Checkpoint() {
    }

    /** Writes the network with a caller-defined state (no resumable position beyond what {@code state} says). */
    public static void save(Path path, Network network, Map<String, Object> state) throws IOException {
        write(path, network, state, Map.of());
    }

    /** Writes the network, the resumable training state and {@code info} (extra JSON entries of the state). */
    public static void save(Path path, Network network, TrainingState training, Map<String, Object> info) throws IOException {
        Map<String, Object> state = new LinkedHashMap<>(info);
        state.put("version", VERSION);
        state.put("epochs_done", training.epoch());
        state.put("step", training.step());
        if (training.selection() != null) {
            Map<String, Object> sel = new LinkedHashMap<>();
            training.selection().forEach((layer, channels) -> sel.put(Integer.toString(layer), channels));
            state.put("selection", sel);
        }
        if (training.step() > 0) {
            Map<String, Object> partial = new LinkedHashMap<>();
            partial.put("loss_sum", training.lossSum());
            partial.put("correct", training.correct());
            partial.put("images", training.images());
            partial.put("seconds", training.seconds());
            Map<String, Object> peaks = new LinkedHashMap<>();
            training.peakBytes().forEach((c, b) -> peaks.put(c.name().toLowerCase(Locale.ROOT), b));
            partial.put("peak_bytes", peaks);
            state.put("partial", partial);
        }
        Map<String, float[]> momentum = new TreeMap<>();
        training.momentum().forEach((k, v) -> momentum.put(MOMENTUM_PREFIX + k, v));
        write(path, network, state, momentum);
    }

    /**
     * A network that trains BatchNorm is saved folded (so the file still loads as a base model) with its own
     * parameters and BatchNorm state as extra tensors, from which {@link #load} resumes it exactly.
     */
    private static void write(Path path, Network network, Map<String, Object> state, Map<String, float[]> momentum)
            throws IOException {
        Map<String, float[]> params = network.parameters();
        Map<String, float[]> extra = new TreeMap<>(momentum);
        if (network.trainsBatchNorm()) {
            Map<String, float[]> unfolded = new LinkedHashMap<>(params);
            network.batchNormState().forEach((k, v) -> unfolded.put(BATCH_NORM_PREFIX + k, v));
            refuseNonFinite(path, unfolded);
            params.forEach((k, v) -> extra.put(UNFOLDED_PREFIX + k, v));
            network.batchNormState().forEach((k, v) -> extra.put(BATCH_NORM_PREFIX + k, v));
            params = network.foldedParameters();
        }
        refuseNonFinite(path, params);
        HostWeights.fromParameters(network.architecture(), params).save(path, Map.of(STATE_KEY, Json.write(state)), extra);
    }

    private static void refuseNonFinite(Path path, Map<String, float[]> params) {
        for (Map.Entry<String, float[]> e : params.entrySet()) {
            for (float v : e.getValue()) {
                if (!Float.isFinite(v)) {
                    throw new TrainingDivergedException("training diverged: parameter " + e.getKey() + " holds " + v
                            + ", so it was not saved to " + path);
                }
            }
        }
    }

    /**
     * Parameters, run state (as JSON values), the resumable training state and the finished epochs'
     * report entries of a checkpoint; for a network that trained BatchNorm also its unfolded parameters and
     * BatchNorm state (as {@link Network#createWithBatchNorm} takes them; both empty otherwise).
     */
    public record Loaded(HostWeights weights, Map<String, Object> state, TrainingState training,
                         List<Map<String, Object>> epochs, Map<String, float[]> unfoldedParameters,
                         Map<String, float[]> batchNorm) {
        /** Whether the checkpoint was written by a network that trains BatchNorm. */
        public boolean trainsBatchNorm() {
            return !batchNorm.isEmpty();
        }
    }

    /** Reads and validates a checkpoint of {@code architecture}; any problem is a {@link FormatException}. */
    @SuppressWarnings("unchecked")
    public static Loaded load(Path path, Architecture architecture) throws IOException {
        SafeTensors st = SafeTensors.read(path);
        String json = st.metadata().get(STATE_KEY);
        if (json == null) {
            throw new FormatException(path + ": not a trady4j training checkpoint (no run state in its metadata)");
        }
        Object parsed;
        try {
            parsed = Json.parse(json);
        } catch (FormatException e) {
            throw new FormatException(path + ": run state is " + e.getMessage());
        }
        if (!(parsed instanceof Map)) {
            throw new FormatException(path + ": run state is not a JSON object");
        }
        Map<String, Object> state = (Map<String, Object>) parsed;
        String where = path + ": run state";
        int epochsDone = integer(state, "epochs_done", where, true);
        int step = state.containsKey("step") ? integer(state, "step", where, true) : 0;
        Map<Integer, int[]> selection = selection(state.get("selection"), architecture, where);
        if (step > 0 && selection == null) {
            throw new FormatException(where + " stops in the middle of an epoch but has no selection");
        }
        double lossSum = 0;
        long correct = 0;
        int images = 0;
        double seconds = 0;
        Map<MemoryCategory, Long> peaks = new EnumMap<>(MemoryCategory.class);
        if (step > 0) {
            if (!(state.get("partial") instanceof Map<?, ?> p)) {
                throw new FormatException(where + " stops in the middle of an epoch but has no partial statistics");
            }
            Map<String, Object> partial = (Map<String, Object>) p;
            lossSum = real(partial, "loss_sum", where);
            seconds = real(partial, "seconds", where);
            correct = integer(partial, "correct", where, true);
            images = integer(partial, "images", where, true);
            if (lossSum < 0 || seconds < 0 || correct > images) {
                throw new FormatException(where + " has inconsistent partial statistics");
            }
            if (partial.get("peak_bytes") instanceof Map<?, ?> pb) {
                for (MemoryCategory c : MemoryCategory.values()) {
                    Object v = pb.get(c.name().toLowerCase(Locale.ROOT));
                    if (v != null) {
                        if (!(v instanceof Long b) || b < 0) {
                            throw new FormatException(where + " has an invalid peak byte count for " + c);
                        }
                        peaks.put(c, b);
                    }
                }
            } else if (partial.containsKey("peak_bytes")) {
                throw new FormatException(where + ": peak_bytes is not an object");
            }
        }
        List<Map<String, Object>> epochs = new ArrayList<>();
        Object e = state.get("epochs");
        if (e != null) {
            if (!(e instanceof List<?> list)) {
                throw new FormatException(where + ": epochs is not a list");
            }
            for (Object o : list) {
                if (!(o instanceof Map<?, ?> m)) {
                    throw new FormatException(where + ": an entry of epochs is not an object");
                }
                epochs.add((Map<String, Object>) m);
            }
            if (epochs.size() != epochsDone) {
                throw new FormatException(where + " has " + epochs.size() + " epoch entries for " + epochsDone
                        + " finished epochs");
            }
        }
        Map<Integer, float[]> momentum = new TreeMap<>();
        for (String name : st.names()) {
            if (!name.startsWith(MOMENTUM_PREFIX)) {
                continue;
            }
            int key;
            try {
                key = Integer.parseInt(name.substring(MOMENTUM_PREFIX.length()));
            } catch (NumberFormatException ex) {
                throw new FormatException(path + ": tensor '" + name + "' is not a momentum buffer of a layer");
            }
            if (key <= -3 - 3 * architecture.convLayers().size() || key >= architecture.convLayers().size()) {
                throw new FormatException(path + ": momentum buffer " + key + " names no layer of " + architecture.name());
            }
            if (key >= 0 && (selection == null || !selection.containsKey(key))) {
                throw new FormatException(path + ": momentum buffer " + key + " belongs to a layer outside the selection");
            }
            momentum.put(key, st.floats(name));
        }
        HostWeights weights;
        try {
            weights = HostWeights.load(architecture, path, 0);
        } catch (IllegalArgumentException ex) {
            throw new FormatException(path + ": " + ex.getMessage());
        }
        for (String note : weights.notes()) {
            if (note.contains("re-initialised")) {
                throw new FormatException(path + " does not fit " + architecture.name() + ": " + note);
            }
        }
        TrainingState training;
        try {
            training = new TrainingState(epochsDone, step, selection, momentum, lossSum, correct, images, seconds, peaks);
        } catch (IllegalArgumentException ex) {
            throw new FormatException(where + ": " + ex.getMessage());
        }
        Map<String, float[]> unfolded = new LinkedHashMap<>(), batchNorm = new LinkedHashMap<>();
        for (String name : st.names()) {
            if (name.startsWith(UNFOLDED_PREFIX)) {
                unfolded.put(name.substring(UNFOLDED_PREFIX.length()), st.floats(name));
            } else if (name.startsWith(BATCH_NORM_PREFIX)) {
                batchNorm.put(name.substring(BATCH_NORM_PREFIX.length()), st.floats(name));
            }
        }
        if (unfolded.isEmpty() != batchNorm.isEmpty()) {
            throw new FormatException(path + " holds " + (unfolded.isEmpty()
                    ? "BatchNorm state without the unfolded parameters" : "unfolded parameters without BatchNorm state"));
        }
        return new Loaded(weights, state, training, epochs, unfolded, batchNorm);
    }

    private static int integer(Map<String, Object> m, String key, String where, boolean required) throws FormatException {
        Object v = m.get(key);
        if (v == null && !required) {
            return 0;
        }
        if (!(v instanceof Long l) || l < 0 || l > Integer.MAX_VALUE) {
            throw new FormatException(where + ": " + key + " must be an integer >= 0, got " + v);
        }
        return (int) (long) l;
    }

    private static double real(Map<String, Object> m, String key, String where) throws FormatException {
        if (!(m.get(key) instanceof Number n) || !Double.isFinite(n.doubleValue())) {
            throw new FormatException(where + ": " + key + " must be a finite number, got " + m.get(key));
        }
        return n.doubleValue();
    }

    /** layer index (a string key) → sorted unique channels in range, validated against the architecture. */
    private static Map<Integer, int[]> selection(Object value, Architecture arch, String where) throws FormatException {
        if (value == null) {
            return null;
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw new FormatException(where + ": selection is not an object");
        }
        List<ConvLayerSpec> layers = arch.convLayers();
        Map<Integer, int[]> out = new TreeMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            int layer;
            try {
                layer = Integer.parseInt((String) e.getKey());
            } catch (NumberFormatException ex) {
                throw new FormatException(where + ": selection key '" + e.getKey() + "' is not a layer index");
            }
            if (layer < 0 || layer >= layers.size()) {
                throw new FormatException(where + ": selection names layer " + layer + " but " + arch.name() + " has "
                        + layers.size());
            }
            if (!(e.getValue() instanceof List<?> list)) {
                throw new FormatException(where + ": the selection of layer " + layer + " is not a list");
            }
            int bound = layers.get(layer).conv().inChannels();
            if (list.size() > bound) {
                throw new FormatException(where + ": the selection of layer " + layer + " has more than " + bound + " channels");
            }
            int[] ch = new int[list.size()];
            for (int i = 0; i < ch.length; i++) {
                if (!(list.get(i) instanceof Long c) || c < 0 || c >= bound || i > 0 && c <= ch[i - 1]) {
                    throw new FormatException(where + ": the selection of layer " + layer
                            + " must be sorted unique channels in [0, " + bound + ")");
                }
                ch[i] = (int) (long) c;
            }
            out.put(layer, ch);
        }
        return out;
    }
}
