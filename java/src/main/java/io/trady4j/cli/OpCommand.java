package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.Backends;
import io.trady4j.io.FormatException;
import io.trady4j.io.SafeTensors;
import io.trady4j.tensor.DType;
import io.trady4j.tensor.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code trady4j op NAME --in in.safetensors --out out.safetensors [--backend cpu|cuda|auto] [--KEY VALUE ...]}:
 * runs one backend operation on named tensors from a safetensors file and writes its outputs by
 * name, so that other frameworks can check trady4j without writing Java (see docs/OPS.md).
 *
 * <p>Exit status: 0 done; 2 bad input (unknown op or parameter, missing or malformed file, missing
 * tensor, wrong dtype or shape, invalid indices, unwritable output) or a backend that cannot run
 * here, always as one line on stderr; 1 an internal failure.
 */
public final class OpCommand implements Command {

    @Override
    public String name() {
        return "op";
    }

    @Override
    public String summary() {
        return "run one operation on tensors from a safetensors file (differential testing)";
    }

    @Override
    public String usage() {
        return """
                usage: trady4j op NAME --in IN.safetensors --out OUT.safetensors [--backend cpu|cuda|auto] [--PARAM VALUE ...]
                       trady4j op --list [NAME]
                Runs one backend operation on the named tensors of IN (F32; indices and labels I32 or I64) and
                writes its outputs, by name, to OUT (F32 and I32; written atomically; outputs a backend did not
                write would read NaN). --backend defaults to cpu. Exit status 0 done, 2 bad input or a backend
                that cannot run here (one line on stderr), 1 internal failure. Details: docs/OPS.md.
                ops: """ + String.join(", ", Ops.ALL.keySet());
    }

    @Override
    public int run(Args args, PrintStream out) {
        List<String> words = args.positional();
        String list = args.stringOrBare("list", "");
        if (list != null) {
            if (!list.isEmpty()) {
                words = List.of(list);
            }
            args.finish();
            if (words.isEmpty()) {
                for (OpSpec op : Ops.ALL.values()) {
                    out.print(op.describe());
                }
            } else {
                for (String w : words) {
                    out.print(find(w).describe());
                }
            }
            return 0;
        }
        if (words.size() != 1) {
            throw new UsageException(words.isEmpty()
                    ? "which op? usage: trady4j op NAME --in IN --out OUT [--PARAM VALUE ...]; trady4j op --list lists the ops"
                    : "expected one op name, got " + words.size() + ": " + String.join(" ", words));
        }
        OpSpec op = find(words.getFirst());
        String in = args.required("in");
        String outName = args.required("out");
        String backendName = args.string("backend", "cpu");
        Map<String, String> params = new LinkedHashMap<>();
        for (OpSpec.Param p : op.params()) {
            String given = args.string(p.name(), null);
            if (given != null && given.isBlank()) {
                throw new UsageException("--" + p.name() + " needs a value (" + p.note() + ")");
            }
            String v = given != null ? given : p.defaultValue();
            params.put(p.name(), v == null || v.isEmpty() ? null : v);
        }
        try {
            args.finish();
        } catch (UsageException e) {
            throw new UsageException(e.getMessage().replace(" (see --help)", "") + "; op " + op.name()
                    + " takes --in, --out, --backend and " + op.paramNames());
        }
        for (OpSpec.Param p : op.params()) {
            if (p.defaultValue() == null && params.get(p.name()) == null) {
                throw new UsageException("op " + op.name() + " needs --" + p.name() + " (" + p.note() + ")");
            }
        }
        Path outPath = Path.of(outName);
        if (Files.isDirectory(outPath)) {
            throw new UsageException("--out " + outName + " is a directory; give a file name");
        }
        SafeTensors file = readInput(Path.of(in));
        try (Backend backend = open(backendName); OpContext ctx = new OpContext(op, file, params, backend)) {
            op.impl().run(ctx);
            backend.synchronize();
            SafeTensors.Writer writer = new SafeTensors.Writer();
            writer.metadata("op", op.name()).metadata("backend", backend.name())
                    .metadata("device", backend.deviceDescription());
            params.forEach((k, v) -> {
                if (v != null) {
                    writer.metadata(k, v);
                }
            });
            for (Map.Entry<String, Tensor> e : ctx.outputs().entrySet()) {
                Tensor t = e.getValue();
                if (t.dtype() == DType.F32) {
                    writer.put(e.getKey(), t.shape(), backend.toFloatArray(t));
                } else {
                    writer.putInts(e.getKey(), t.shape(), backend.toIntArray(t));
                }
            }
            try {
                writer.write(outPath);
            } catch (IOException e) {
                throw new UsageException("cannot write --out " + outName + ": " + describe(e));
            }
            out.println(op.name() + " on " + backend.name() + ": wrote " + ctx.outputs().entrySet().stream()
                    .map(e -> e.getKey() + " " + OpContext.dims(e.getValue().shape())).collect(Collectors.joining(", "))
                    + " to " + outName);
        }
        return 0;
    }

    private static OpSpec find(String name) {
        OpSpec op = Ops.ALL.get(name);
        if (op == null) {
            throw new UsageException("unknown op '" + name + "'; ops: " + String.join(", ", Ops.ALL.keySet()));
        }
        return op;
    }

    private static SafeTensors readInput(Path path) {
        if (Files.isDirectory(path)) {
            throw new UsageException("--in " + path + " is a directory, not a safetensors file");
        }
        try {
            return SafeTensors.read(path);
        } catch (NoSuchFileException e) {
            throw new UsageException("input file " + path + " does not exist");
        } catch (FormatException e) {
            throw new UsageException("input file " + e.getMessage());
        } catch (IOException e) {
            throw new UsageException("cannot read input file " + path + ": " + describe(e));
        }
    }

    private static Backend open(String name) {
        try {
            return Backends.open(name);
        } catch (BackendUnavailableException e) {
            throw new UsageException("backend '" + name + "' is not available here: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UsageException("--backend: " + e.getMessage());
        }
    }

    private static String describe(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
