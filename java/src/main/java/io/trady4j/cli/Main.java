package io.trady4j.cli;

import io.trady4j.train.StopSignal;
import io.trady4j.train.TrainingDivergedException;
import io.trady4j.train.TrainingInterruptedException;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The trady4j launcher: {@code trady4j COMMAND [options]}. With no command it runs {@code finetune}. */
public final class Main {
    private Main() {
    }

    static Map<String, Command> commands() {
        Map<String, Command> m = new LinkedHashMap<>();
        for (Command c : List.<Command>of(
                new InfoCommand(),
                new CostCommand(),
                new OpCommand(),
                new FinetuneCommand(),
                new PretrainCommand(),
                new RankCommand(),
                new StudyCommand())) {
            m.put(c.name(), c);
        }
        return m;
    }

    public static void main(String[] argv) {
        System.exit(run(argv, System.out, System.err));
    }

    /**
     * Runs one command line; returns the exit status: 0 ok, 1 failure (e.g. training diverged), 2 bad
     * input (one line on {@code err}, no stack trace unless --debug), 130 stopped by a signal after
     * writing a checkpoint.
     */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        List<String> words = Arrays.asList(argv);
        boolean debug = words.contains("--debug");
        words = words.stream().filter(w -> !w.equals("--debug")).toList();
        Map<String, Command> commands = commands();
        if (!words.isEmpty() && (words.getFirst().equals("--help") || words.getFirst().equals("help"))) {
            printHelp(commands, out);
            return 0;
        }
        String name = words.isEmpty() || words.getFirst().startsWith("--") ? "finetune" : words.getFirst();
        List<String> rest = words.isEmpty() || words.getFirst().startsWith("--") ? words : words.subList(1, words.size());
        Command command = commands.get(name);
        if (command == null) {
            err.println("trady4j: unknown command '" + name + "'; commands: " + String.join(", ", commands.keySet()));
            return 2;
        }
        if (rest.contains("--help")) {
            out.println(command.usage());
            return 0;
        }
        if (!command.stopsOnSignal()) {
            return execute(command, rest, out, err, debug);
        }
        // A signal's shutdown hook waits for this hold: the interruption's line reaches stderr before the JVM halts.
        try (StopSignal.Hold hold = StopSignal.onShutdown().hold()) {
            return execute(command, rest, out, err, debug);
        }
    }

    private static int execute(Command command, List<String> rest, PrintStream out, PrintStream err, boolean debug) {
        String name = command.name();
        try {
            return command.run(Args.parse(rest), out);
        } catch (TrainingInterruptedException e) {
            err.println("trady4j " + name + ": interrupted: " + e.getMessage());
            err.flush();
            if (debug) {
                e.printStackTrace(err);
            }
            return 130;
        } catch (TrainingDivergedException e) {
            err.println("trady4j " + name + ": " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            }
            return 1;
        } catch (UsageException | IllegalArgumentException | io.trady4j.io.FormatException
                 | java.nio.file.FileSystemException | io.trady4j.backend.BackendUnavailableException e) {
            String message = e instanceof java.nio.file.FileSystemException f ? fileProblem(f) : e.getMessage();
            err.println("trady4j " + name + ": " + message);
            if (debug) {
                e.printStackTrace(err);
            }
            return 2;
        } catch (Exception | OutOfMemoryError e) {
            err.println("trady4j " + name + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            } else {
                err.println("(run again with --debug for the stack trace)");
            }
            return 1;
        }
    }

    /** One line for a file that cannot be used: missing, not readable or writable, not a directory, ... */
    static String fileProblem(java.nio.file.FileSystemException e) {
        String why = e instanceof java.nio.file.NoSuchFileException ? "no such file"
                : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                : e instanceof java.nio.file.NotDirectoryException ? "not a directory"
                : e instanceof java.nio.file.FileAlreadyExistsException ? "exists and is not a directory"
                : e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
        return (e.getFile() == null ? "" : e.getFile() + ": ") + why
                + (e.getOtherFile() == null ? "" : " (" + e.getOtherFile() + ")");
    }

    private static void printHelp(Map<String, Command> commands, PrintStream out) {
        out.println("usage: trady4j COMMAND [options]   (no command: finetune)");
        for (Command c : commands.values()) {
            out.printf("  %-10s %s%n", c.name(), c.summary());
        }
        out.println("trady4j COMMAND --help for its options; --debug prints stack traces.");
    }
}
