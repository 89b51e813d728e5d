package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.backend.ChannelIndex;
import io.trady4j.io.FormatException;
import io.trady4j.io.SafeTensors;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one op invocation sees: its input file, its parameter values and the backend. Every
 * problem with the caller's input is thrown as a {@link UsageException} naming the tensor or the
 * parameter, so the op runner answers bad input with one line and exit status 2.
 */
final class OpContext implements AutoCloseable {
    private final OpSpec op;
    private final SafeTensors file;
    private final Map<String, String> params;
    private final Backend backend;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final Map<String, Tensor> outputs = new LinkedHashMap<>();

    OpContext(OpSpec op, SafeTensors file, Map<String, String> params, Backend backend) {
        this.op = op;
        this.file = file;
        this.params = params;
        this.backend = backend;
    }

    Backend backend() {
        return backend;
    }

    // ------------------------------------------------------------------ parameters

    String param(String name) {
        String v = params.get(name);
        if (v == null) {
            throw new IllegalStateException("op " + op.name() + " reads undeclared parameter " + name);
        }
        return v;
    }

    int intParam(String name) {
        String v = param(name);
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    /** A parameter that must be at least {@code min}. */
    int intParam(String name, int min) {
        int v = intParam(name);
        if (v < min) {
            throw new UsageException("--" + name + " must be >= " + min + ", got " + v);
        }
        return v;
    }

    float floatParam(String name) {
        String v = param(name);
        try {
            float f = Float.parseFloat(v.strip());
            if (!Float.isFinite(f)) {
                throw new NumberFormatException();
            }
            return f;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a finite number, got '" + v + "'");
        }
    }

    boolean hasParam(String name) {
        return params.get(name) != null;
    }

    // ------------------------------------------------------------------ inputs

    boolean has(String tensor) {
        return file.contains(tensor);
    }

    private SafeTensors.Entry entry(String tensor) {
        if (!file.contains(tensor)) {
            throw new UsageException("input file " + file.path() + " has no tensor '" + tensor + "' (op " + op.name()
                    + " needs " + op.inputNames() + "; the file has " + String.join(", ", file.names()) + ")");
        }
        try {
            return file.entry(tensor);
        } catch (FormatException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The shape of an input, whatever its dtype (a scalar reads as [1]). */
    Shape shape(String tensor) {
        entry(tensor);
        try {
            return file.shape(tensor);
        } catch (FormatException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The shape of an input that must have {@code rank} dimensions, described by {@code layout} in errors. */
    Shape shape(String tensor, int rank, String layout) {
        Shape s = shape(tensor);
        if (s.rank() != rank) {
            throw new UsageException("tensor '" + tensor + "' must be " + rank + "-D " + layout + ", got " + dims(s));
        }
        return s;
    }

    /** A float32 input on the backend (uploaded once; ops that update in place get that copy). */
    Tensor f32(String tensor) {
        SafeTensors.Entry e = entry(tensor);
        if (e.dtype() != SafeTensors.Dtype.F32) {
            throw new UsageException("tensor '" + tensor + "' is " + e.dtype() + "; op " + op.name() + " needs it as F32");
        }
        Shape s = shape(tensor);
        try {
            return own(backend.upload(file.floats(tensor), s, MemoryCategory.DATA));
        } catch (FormatException ex) {
            throw new UsageException(ex.getMessage());
        }
    }

    Tensor optionalF32(String tensor) {
        return has(tensor) ? f32(tensor) : null;
    }

    /** An integer input (I32, or I64 whose values fit int32). */
    int[] ints(String tensor) {
        SafeTensors.Entry e = entry(tensor);
        if (e.dtype() != SafeTensors.Dtype.I32 && e.dtype() != SafeTensors.Dtype.I64) {
            throw new UsageException("tensor '" + tensor + "' is " + e.dtype() + "; op " + op.name()
                    + " needs it as I32 (or I64)");
        }
        try {
            return file.ints(tensor);
        } catch (FormatException ex) {
            throw new UsageException(ex.getMessage());
        }
    }

    Tensor i32(String tensor) {
        int[] v = ints(tensor);
        return own(backend.uploadInts(v, shape(tensor), MemoryCategory.DATA));
    }

    /** A channel selection: 1-D, sorted, unique, in [0, bound). */
    ChannelIndex selection(String tensor, int bound, String boundName) {
        Shape s = shape(tensor);
        if (s.rank() != 1) {
            throw new UsageException("tensor '" + tensor + "' must be 1-D [|S|] (the selected channels), got " + dims(s));
        }
        int[] v = ints(tensor);
        try {
            return own(backend.channelIndex(v, bound));
        } catch (IllegalArgumentException e) {
            throw new UsageException("tensor '" + tensor + "': " + e.getMessage()
                    + (boundName == null ? "" : " (" + boundName + " = " + bound + ")"));
        }
    }

    // ------------------------------------------------------------------ checks

    void expect(String tensor, Shape got, Shape expected, String why) {
        if (!got.equals(expected)) {
            throw new UsageException("tensor '" + tensor + "' must be " + dims(expected) + " (" + why + "), got " + dims(got));
        }
    }

    static String dims(Shape s) {
        return Arrays.toString(s.dims());
    }

    // ------------------------------------------------------------------ outputs

    /** A float32 output, filled with NaN so that anything a backend leaves unwritten shows. */
    Tensor output(String name, Shape shape) {
        Tensor t = own(backend.allocate(shape, DType.F32, MemoryCategory.WORKSPACE));
        backend.fill(t, Float.NaN);
        outputs.put(name, t);
        return t;
    }

    Tensor intOutput(String name, Shape shape) {
        int[] junk = new int[shape.numel()];
        Arrays.fill(junk, Integer.MIN_VALUE);
        Tensor t = own(backend.uploadInts(junk, shape, MemoryCategory.WORKSPACE));
        outputs.put(name, t);
        return t;
    }

    /** An output computed on the host (small results such as a loss). */
    void outputValues(String name, Shape shape, float[] values) {
        outputs.put(name, own(backend.upload(values, shape, MemoryCategory.WORKSPACE)));
    }

    void outputInts(String name, Shape shape, int[] values) {
        outputs.put(name, own(backend.uploadInts(values, shape, MemoryCategory.WORKSPACE)));
    }

    /** Writes an input tensor that the op updated in place under {@code name}. */
    void outputInPlace(String name, Tensor t) {
        outputs.put(name, t);
    }

    Map<String, Tensor> outputs() {
        return outputs;
    }

    <T extends AutoCloseable> T own(T t) {
        owned.add(t);
        return t;
    }

    @Override
    public void close() {
        for (AutoCloseable t : owned) {
            try {
                t.close();
            } catch (Exception ignored) {
                // tensors do not fail to close
            }
        }
    }
}
