package io.trady4j.cli;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parsed command-line arguments: positional words and {@code --key value} / {@code --flag} options.
 * Commands read what they know; {@link #finish()} rejects any option nobody read, so a typo is an
 * error rather than a silently ignored setting.
 */
public final class Args {
    private final List<String> positional = new ArrayList<>();
    private final Map<String, String> options = new LinkedHashMap<>();
    private final Set<String> read = new HashSet<>();
    /** Options given bare (no value): flags, or a value the user forgot. */
    private final Set<String> bare = new HashSet<>();
    private boolean positionalRead;

    private Args() {
    }

    /** Parses {@code --key value}, {@code --key=value} and bare {@code --flag} (followed by another option or nothing). */
    public static Args parse(List<String> argv) {
        Args a = new Args();
        for (int i = 0; i < argv.size(); i++) {
            String s = argv.get(i);
            if (s.startsWith("--") && s.length() > 2) {
                String key = s.substring(2);
                String value;
                int eq = key.indexOf('=');
                if (eq >= 0) {
                    value = key.substring(eq + 1);
                    key = key.substring(0, eq);
                } else if (i + 1 < argv.size() && !isOption(argv.get(i + 1))) {
                    value = argv.get(++i);
                } else {
                    value = "true";
                    a.bare.add(key);
                }
                if (a.options.put(key, value) != null) {
                    throw new UsageException("option --" + key + " is given twice");
                }
            } else {
                a.positional.add(s);
            }
        }
        return a;
    }

    private static boolean isOption(String s) {
        return s.startsWith("--") && s.length() > 2;
    }

    public List<String> positional() {
        positionalRead = true;
        return List.copyOf(positional);
    }

    public boolean has(String key) {
        read.add(key);
        return options.containsKey(key);
    }

    public boolean flag(String key) {
        read.add(key);
        if (bare.contains(key)) {
            return true;
        }
        String v = options.get(key);
        if (v == null) {
            return false;
        }
        if (v.equals("true") || v.equals("false")) {
            return Boolean.parseBoolean(v);
        }
        throw new UsageException("--" + key + " is a flag and takes no value (got '" + v + "')");
    }

    public String string(String key, String def) {
        String v = value(key);
        return v == null ? def : v;
    }

    /** For an option whose value is optional: its value, {@code ifBare} when given bare, null when absent. */
    public String stringOrBare(String key, String ifBare) {
        read.add(key);
        return bare.contains(key) ? ifBare : options.get(key);
    }

    /** The value given for {@code key}, null if the option is absent; a bare option that needs a value is an error. */
    private String value(String key) {
        read.add(key);
        if (bare.contains(key)) {
            throw new UsageException("option --" + key + " needs a value");
        }
        return options.get(key);
    }

    public String required(String key) {
        String v = value(key);
        if (v == null) {
            throw new UsageException("missing required option --" + key);
        }
        return v;
    }

    public int integer(String key, int def) {
        String v = value(key);
        if (v == null) {
            return def;
        }
        try {
            return Integer.parseInt(v.replace("_", "").replace(",", ""));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " must be an integer, got '" + v + "'");
        }
    }

    public long longValue(String key, long def) {
        String v = value(key);
        if (v == null) {
            return def;
        }
        try {
            return Long.parseLong(v.replace("_", "").replace(",", ""));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " must be an integer, got '" + v + "'");
        }
    }

    public double real(String key, double def) {
        String v = value(key);
        if (v == null) {
            return def;
        }
        try {
            double d = Double.parseDouble(v);
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " must be a finite number, got '" + v + "'");
        }
    }

    /** Rejects options that no one read, and words if the command takes none. */
    public void finish() {
        if (!positionalRead && !positional.isEmpty()) {
            throw new UsageException("unexpected argument '" + positional.getFirst() + "' (options start with --; see --help)");
        }
        for (String k : options.keySet()) {
            if (!read.contains(k)) {
                throw new UsageException("unknown option --" + k + " (see --help)");
            }
        }
    }
}
