package io.trady4j.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The documentation says what the code does: every option a command's --help lists is described in
 * docs/CLI.md (in that command's section, or in the shared one for the training commands), every option
 * the README and docs name exists, and the README's count of ops is the code's.
 */
class DocsDriftTest {
    private static final Set<String> TRAINING = Set.of("finetune", "pretrain", "rank", "study");
    private static final String SHARED = "Options of the training commands";
    /** An option defined in a help text: first on its line, or after a wide gap (two options on one line). */
    private static final Pattern DEFINED = Pattern.compile("(?m)(?:^\\s*|\\s{3,})(--[a-z][a-z0-9-]*)");
    private static final Pattern NAMED = Pattern.compile("(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*");

    private static String run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(0, status, String.join(" ", argv));
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The options a help defines: in its option lines, and in its synopsis lines ({@code usage: trady4j ...}). */
    private static Set<String> defined(String help) {
        Set<String> out = new TreeSet<>();
        Matcher m = DEFINED.matcher(help);
        while (m.find()) {
            out.add(m.group(1));
        }
        help.lines().filter(l -> l.strip().startsWith("usage: trady4j") || l.strip().startsWith("trady4j "))
                .forEach(l -> out.addAll(named(l)));
        return out;
    }

    private static Set<String> named(String text) {
        Set<String> out = new TreeSet<>();
        Matcher m = NAMED.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    private static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("README.md"))) {
            p = p.getParent();
        }
        assertTrue(p != null, "no README.md above " + Path.of("").toAbsolutePath());
        return p;
    }

    /** The sections of a markdown file by their "## " title. */
    private static Map<String, String> sections(String markdown) {
        Map<String, String> out = new LinkedHashMap<>();
        String title = "";
        StringBuilder body = new StringBuilder();
        for (String line : markdown.split("\n")) {
            if (line.startsWith("## ")) {
                out.put(title, body.toString());
                title = line.substring(3).trim();
                body.setLength(0);
            } else {
                body.append(line).append('\n');
            }
        }
        out.put(title, body.toString());
        return out;
    }

    private static List<String> ops() {
        String list = run("op", "--help");
        String line = list.lines().filter(l -> l.startsWith("ops:")).findFirst().orElseThrow();
        return List.of(line.substring(4).split(",\\s*"));
    }

    @Test
    void everyOptionOfEveryHelpIsDescribedInItsSection() throws IOException {
        Map<String, String> doc = sections(Files.readString(root().resolve("docs/CLI.md")));
        List<String> missing = new ArrayList<>();
        for (Command c : Main.commands().values()) {
            String section = doc.get(c.name());
            assertTrue(section != null, "docs/CLI.md has no '## " + c.name() + "' section");
            String shared = doc.entrySet().stream().filter(e -> e.getKey().startsWith(SHARED)).map(Map.Entry::getValue)
                    .findFirst().orElseThrow();
            String where = section + (TRAINING.contains(c.name()) ? shared : "");
            for (String option : defined(run(c.name(), "--help"))) {
                if (!named(where).contains(option)) {
                    missing.add(c.name() + " " + option);
                }
            }
        }
        assertEquals(List.of(), missing, "options in --help but not described in docs/CLI.md");
    }

    @Test
    void everyOptionTheDocsNameExists() throws IOException {
        Set<String> known = new TreeSet<>(Set.of("--help", "--debug", "--key"));   // --key: "parameters are --key value"
        for (Command c : Main.commands().values()) {
            known.addAll(defined(run(c.name(), "--help")));
        }
        for (String op : ops()) {
            known.addAll(defined(run("op", "--list", op)));
        }
        Path root = root();
        known.add("--enable-native-access");                                       // the java launcher's
        known.addAll(named(Files.readString(root.resolve("bench/gpu/prove.sh"))));  // the GPU proof's own options
        List<Path> docs = new ArrayList<>(List.of(root.resolve("README.md")));
        try (var files = Files.list(root.resolve("docs"))) {
            files.filter(f -> f.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        List<String> unknown = new ArrayList<>();
        for (Path d : docs) {
            for (String option : named(Files.readString(d))) {
                if (!known.contains(option)) {
                    unknown.add(root.relativize(d) + ": " + option);
                }
            }
        }
        assertEquals(List.of(), unknown, "options the docs name that no command takes");
    }

    @Test
    void theReadmeCountsTheOps() throws IOException {
        String readme = Files.readString(root().resolve("README.md"));
        Matcher m = Pattern.compile("lists all (\\d+)").matcher(readme);
        assertTrue(m.find(), "the README says how many ops `op --list` lists");
        assertEquals(ops().size(), Integer.parseInt(m.group(1)), "ops in the README vs `op --list`");
        Matcher any = Pattern.compile("(\\d+) ops\\b").matcher(readme);
        while (any.find()) {
            assertEquals(ops().size(), Integer.parseInt(any.group(1)), "'" + any.group() + "' in the README");
        }
    }
}
