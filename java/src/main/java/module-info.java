/**
 * trady4j: CUDA kernels and a pure-Java reference for memory-constrained fine-tuning with TraDy
 * (masked forward with channel-gathered activation caching, sparse weight gradients, the rest of a
 * training step), the TraDy schedule, a trainer and models.
 *
 * <p>Start with {@link io.trady4j.backend.Backends#open(String)} and {@link io.trady4j.backend.Backend}.
 * The CUDA backend and DLPack call native code through the FFM API: run with
 * {@code --enable-native-access=io.trady4j} on the module path (or {@code ALL-UNNAMED} on the
 * class path). JCuda is optional ({@code requires static}): only
 * {@link io.trady4j.backend.cuda.JCudaInterop} and the JCuda device runtime need it.
 */
module io.trady4j {
    requires java.desktop;
    requires static jcuda;

    exports io.trady4j.tensor;
    exports io.trady4j.backend;
    exports io.trady4j.backend.cpu;
    exports io.trady4j.backend.cuda;
    exports io.trady4j.dlpack;
    exports io.trady4j.nn;
    exports io.trady4j.models;
    exports io.trady4j.trady;
    exports io.trady4j.train;
    exports io.trady4j.data;
    exports io.trady4j.io;
}
