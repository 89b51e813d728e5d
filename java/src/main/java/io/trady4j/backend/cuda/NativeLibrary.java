package io.trady4j.backend.cuda;

import io.trady4j.backend.BackendUnavailableException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds and loads {@code libtrady4j_cuda.so}, once per JVM. Lookup order:
 * <ol>
 *   <li>an explicit path: system property {@value #PATH_PROPERTY}, else environment variable
 *       {@value #PATH_ENV} (a file, or a directory holding the library); if set, it must exist;</li>
 *   <li>the build tree: {@code native/build/libtrady4j_cuda.so} in the working directory or any
 *       of its parents (what {@code ./scripts/build-native} produces);</li>
 *   <li>the jar: resource {@value #RESOURCE}, extracted to a temporary file.</li>
 * </ol>
 * The library links the CUDA runtime statically, so loading it needs no GPU and no driver: a
 * machine without CUDA can load it and get clear error statuses back.
 */
public final class NativeLibrary {
    /** System property naming the library file or its directory. */
    public static final String PATH_PROPERTY = "trady4j.native.path";
    /** Environment variable naming the library file or its directory (when the property is not set). */
    public static final String PATH_ENV = "TRADY4J_NATIVE_PATH";
    /** The library's file name. */
    public static final String FILE_NAME = "libtrady4j_cuda.so";
    /** Where the jar carries the library (extracted once to a temporary file). */
    public static final String RESOURCE = "/native/linux-x86_64/" + FILE_NAME;
    /** The ABI version this Java code was written against (TRADY4J_ABI_VERSION in trady4j.h). */
    public static final int ABI_VERSION = 4;

    private static SymbolLookup lookup;
    private static Path loadedFrom;
    private static String fingerprint;
    private static String failure;

    private NativeLibrary() {
    }

    /** Loads the library if not yet done; throws BackendUnavailableException (every time) if it cannot. */
    public static synchronized SymbolLookup load() {
        if (lookup != null) {
            return lookup;
        }
        if (failure != null) {
            throw new BackendUnavailableException(failure);
        }
        try {
            Path path = locate();
            SymbolLookup found = SymbolLookup.libraryLookup(path, Arena.global());
            int abi = abiVersion(found);
            if (abi != ABI_VERSION) {
                throw new BackendUnavailableException("the native library " + path + " has ABI version " + abi
                        + " but this trady4j expects " + ABI_VERSION + "; rebuild it with ./scripts/build-native");
            }
            lookup = found;
            loadedFrom = path;
            return found;
        } catch (BackendUnavailableException e) {
            failure = e.getMessage();
            throw e;
        } catch (RuntimeException | LinkageError e) {
            failure = "cannot load the trady4j native library: " + e;
            throw new BackendUnavailableException(failure, e);
        }
    }

    /** Where the library was loaded from, or null if it is not loaded. */
    public static synchronized Path loadedFrom() {
        return loadedFrom;
    }

    /**
     * What the loaded library's kernels are: "abi4-" and the first 16 hex digits of the file's SHA-256
     * (the tuning cache is valid for one build only).
     */
    public static synchronized String fingerprint() {
        if (fingerprint == null) {
            Path p = loadedFrom;
            if (p == null) {
                throw new IllegalStateException("the native library is not loaded");
            }
            try (InputStream in = Files.newInputStream(p)) {
                java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    sha.update(buf, 0, n);
                }
                fingerprint = "abi" + ABI_VERSION + "-" + java.util.HexFormat.of().formatHex(sha.digest(), 0, 8);
            } catch (IOException | java.security.NoSuchAlgorithmException e) {
                fingerprint = "abi" + ABI_VERSION + "-unreadable";
            }
        }
        return fingerprint;
    }

    private static int abiVersion(SymbolLookup lib) {
        MemorySegment fn = lib.find("trady4j_abi_version").orElseThrow(() -> new BackendUnavailableException(
                "the library has no trady4j_abi_version symbol: it is not a trady4j native library"));
        MethodHandle h = Linker.nativeLinker().downcallHandle(fn, FunctionDescriptor.of(ValueLayout.JAVA_INT));
        try {
            return (int) h.invokeExact();
        } catch (Throwable t) {
            throw new BackendUnavailableException("calling trady4j_abi_version failed: " + t, t);
        }
    }

    /** Resolves the library file by the documented lookup order, without loading it. */
    static Path locate() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new BackendUnavailableException("the CUDA backend is built for Linux x86-64 only; this is "
                    + os + " " + arch);
        }
        String explicit = System.getProperty(PATH_PROPERTY);
        String origin = "-D" + PATH_PROPERTY;
        if (explicit == null || explicit.isBlank()) {
            explicit = System.getenv(PATH_ENV);
            origin = PATH_ENV;
        }
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit);
            if (Files.isDirectory(p)) {
                p = p.resolve(FILE_NAME);
            }
            if (!Files.isRegularFile(p)) {
                throw new BackendUnavailableException(origin + " points at " + p + ", which does not exist");
            }
            return p.toAbsolutePath();
        }
        List<Path> looked = new ArrayList<>();
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("native").resolve("build").resolve(FILE_NAME);
            looked.add(candidate);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        Path extracted = extractFromJar();
        if (extracted != null) {
            return extracted;
        }
        throw new BackendUnavailableException(FILE_NAME + " was not found (no -D" + PATH_PROPERTY + " or " + PATH_ENV
                + ", not in the build tree at " + looked.getFirst() + " or its parents' native/build, not in the jar);"
                + " build it with ./scripts/build-native (needs nvcc and CMake), or point " + PATH_ENV + " at it");
    }

    private static Path extractFromJar() {
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return null;
            }
            Path tmp = Files.createTempFile("libtrady4j_cuda-", ".so");
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        } catch (IOException e) {
            throw new BackendUnavailableException("cannot extract " + RESOURCE + " from the jar: " + e, e);
        }
    }
}
