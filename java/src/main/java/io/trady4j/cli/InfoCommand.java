package io.trady4j.cli;

import io.trady4j.backend.Backend;
import io.trady4j.backend.BackendUnavailableException;
import io.trady4j.backend.Backends;
import io.trady4j.backend.cuda.CudaBackend;

import java.io.PrintStream;

/** {@code trady4j info}: Java runtime, the CPU backend, and whether the CUDA backend can run here (and why not). */
final class InfoCommand implements Command {
    @Override
    public String name() {
        return "info";
    }

    @Override
    public String summary() {
        return "show the Java runtime and which backends (cpu, cuda) work here";
    }

    @Override
    public String usage() {
        return """
                usage: trady4j info
                Prints the Java version, the CPU backend's threads, and the CUDA backend's device or the
                reason it is unavailable (no driver, no GPU, native library not found).""";
    }

    @Override
    public int run(Args args, PrintStream out) {
        args.finish();
        out.println("trady4j " + version());
        out.println("java    " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        try (Backend cpu = Backends.open("cpu")) {
            out.println("cpu     " + cpu.deviceDescription());
        }
        try (Backend cuda = Backends.open("cuda")) {
            out.println("cuda    " + cuda.deviceDescription());
            if (cuda instanceof CudaBackend c) {
                c.implementationSummary().forEach(line -> out.println("        " + line));
            }
        } catch (BackendUnavailableException e) {
            out.println("cuda    unavailable: " + e.getMessage());
        }
        return 0;
    }

    static String version() {
        String v = InfoCommand.class.getPackage().getImplementationVersion();
        return v == null ? "(development build)" : v;
    }
}
