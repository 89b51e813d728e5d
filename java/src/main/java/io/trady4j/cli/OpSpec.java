package io.trady4j.cli;

import java.util.List;
import java.util.stream.Collectors;

/** One operation of the op runner: what it reads, which parameters it takes, what it writes. */
record OpSpec(String name, String summary, List<Tensor> inputs, List<Param> params, List<Tensor> outputs, Impl impl) {

    /** A named tensor: dtype, layout in words, optional (inputs only) and what it is. */
    record Tensor(String name, String dtype, String layout, boolean optional, String note) {
        static Tensor f32(String name, String layout) {
            return new Tensor(name, "F32", layout, false, "");
        }

        static Tensor i32(String name, String layout) {
            return new Tensor(name, "I32", layout, false, "");
        }

        static Tensor optional(String name, String layout, String note) {
            return new Tensor(name, "F32", layout, true, note);
        }

        Tensor note(String text) {
            return new Tensor(name, dtype, layout, optional, text);
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + layout + (optional ? " (optional)" : "") + (note.isEmpty() ? "" : ": " + note);
        }
    }

    /** A parameter (--name VALUE); a null default means it is required. */
    record Param(String name, String defaultValue, String note) {
        static Param of(String name, String defaultValue, String note) {
            return new Param(name, defaultValue, note);
        }

        static Param required(String name, String note) {
            return new Param(name, null, note);
        }

        @Override
        public String toString() {
            return "--" + name + (defaultValue == null ? " (required)" : defaultValue.isEmpty() ? " (optional)"
                    : " (default " + defaultValue + ")") + ": " + note;
        }
    }

    interface Impl {
        void run(OpContext ctx);
    }

    String inputNames() {
        return inputs.stream().map(t -> t.optional() ? t.name() + " (optional)" : t.name()).collect(Collectors.joining(", "));
    }

    String paramNames() {
        return params.isEmpty() ? "none" : params.stream().map(p -> "--" + p.name()).collect(Collectors.joining(", "));
    }

    /** Multi-line description for {@code op --list}. */
    String describe() {
        StringBuilder sb = new StringBuilder(name).append(": ").append(summary).append('\n');
        sb.append("    inputs:\n");
        for (Tensor t : inputs) {
            sb.append("      ").append(t).append('\n');
        }
        sb.append("    params:").append(params.isEmpty() ? " none\n" : "\n");
        for (Param p : params) {
            sb.append("      ").append(p).append('\n');
        }
        sb.append("    outputs:\n");
        for (Tensor t : outputs) {
            sb.append("      ").append(t).append('\n');
        }
        return sb.toString();
    }
}
