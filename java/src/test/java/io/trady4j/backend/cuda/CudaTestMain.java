package io.trady4j.backend.cuda;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs the CUDA tests (the test classes of package io.trady4j.backend.cuda) without Maven, for the GPU machine, which
 * has a JVM but no Maven: {@code java -cp <jars> io.trady4j.backend.cuda.CudaTestMain [result.json]}.
 * Prints JUnit's summary and failures, writes one JSON object with every test's outcome, and exits
 * 1 if any test failed (skipped tests are listed with their reason).
 */
public final class CudaTestMain {
    private CudaTestMain() {
    }

    record Outcome(String name, String status, long millis, String message) {
    }

    public static void main(String[] args) throws IOException {
        Path json = args.length > 0 ? Path.of(args[0]) : null;
        // Classes named one by one: scanning a package inside a jar needs the jdk.zipfs module,
        // which a minimal jlinked runtime may lack.
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(DiscoverySelectors.selectClass(CudaAvailabilityTest.class),
                        DiscoverySelectors.selectClass(CudaAbiSignatureTest.class),
                        DiscoverySelectors.selectClass(CudaNativeLibraryTest.class),
                        DiscoverySelectors.selectClass(CudaBackendTest.class))
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        List<Outcome> outcomes = new ArrayList<>();
        Map<String, Long> started = new ConcurrentHashMap<>();
        TestExecutionListener collector = new TestExecutionListener() {
            @Override
            public void executionStarted(TestIdentifier id) {
                started.put(id.getUniqueId(), System.nanoTime());
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (id.isTest()) {
                    outcomes.add(new Outcome(name(id), "SKIPPED", 0, reason));
                }
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) {
                    return;
                }
                long t0 = started.getOrDefault(id.getUniqueId(), System.nanoTime());
                String status = switch (result.getStatus()) {
                    case SUCCESSFUL -> "PASSED";
                    case ABORTED -> "SKIPPED";
                    case FAILED -> "FAILED";
                };
                String message = result.getThrowable().map(t -> t.getClass().getSimpleName() + ": " + t.getMessage())
                        .orElse("");
                outcomes.add(new Outcome(name(id), status, (System.nanoTime() - t0) / 1_000_000, message));
                System.out.printf("%-7s %s (%d ms)%s%n", status, name(id), (System.nanoTime() - t0) / 1_000_000,
                        message.isEmpty() ? "" : " -- " + message);
            }
        };
        String device;
        CudaBackend gpu = CudaTestSupport.gpuOrNull();
        device = gpu == null ? "none: " + CudaTestSupport.unavailableReason() : gpu.deviceDescription() + "; " + gpu.versions();
        System.out.println("device: " + device);
        launcher.execute(request, summary, collector);
        TestExecutionSummary s = summary.getSummary();
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        s.printTo(out);
        s.printFailuresTo(out, 30);
        if (json != null) {
            StringBuilder b = new StringBuilder();
            b.append("{\n  \"device\": ").append(quote(device))
                    .append(",\n  \"tests_found\": ").append(s.getTestsFoundCount())
                    .append(",\n  \"passed\": ").append(s.getTestsSucceededCount())
                    .append(",\n  \"failed\": ").append(s.getTestsFailedCount())
                    .append(",\n  \"skipped\": ").append(s.getTestsSkippedCount() + s.getTestsAbortedCount())
                    .append(",\n  \"tests\": [");
            for (int i = 0; i < outcomes.size(); i++) {
                Outcome o = outcomes.get(i);
                b.append(i == 0 ? "\n" : ",\n").append("    {\"name\": ").append(quote(o.name()))
                        .append(", \"status\": ").append(quote(o.status()))
                        .append(", \"ms\": ").append(o.millis())
                        .append(", \"message\": ").append(quote(o.message())).append('}');
            }
            b.append("\n  ]\n}\n");
            Files.writeString(json, b.toString());
        }
        System.exit(s.getTestsFailedCount() > 0 || s.getTestsFoundCount() == 0 ? 1 : 0);
    }

    private static String name(TestIdentifier id) {
        String legacy = id.getLegacyReportingName();
        String uid = id.getUniqueId();
        int cls = uid.indexOf("[class:");
        String owner = cls < 0 ? "" : uid.substring(cls + 7, uid.indexOf(']', cls));
        return owner.substring(owner.lastIndexOf('.') + 1) + "." + legacy;
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : (s == null ? "" : s).toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
