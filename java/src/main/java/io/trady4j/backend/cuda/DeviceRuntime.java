package io.trady4j.backend.cuda;

/**
 * The device services CudaBackend needs besides the kernels: memory, a stream, thread binding,
 * memory figures and event timing. {@link JCudaRuntime} provides them through JCuda on a real GPU;
 * the tests can substitute a host-memory implementation to run the whole backend on the CPU
 * emulator build of the kernels (see kernels/dev/README.md).
 */
interface DeviceRuntime {
    /** Makes the device current for the calling thread (in JCuda's runtime; the kernels' runtime is bound separately). */
    void bindThread(int device);

    /** Device memory of at least `bytes`; throws CudaOutOfMemoryException naming the request. */
    long malloc(long bytes, String what);

    void free(long address);

    /** A new stream handle (0 is the legacy default stream). */
    long createStream();

    void destroyStream(long stream);

    void synchronize(long stream);

    /** {free, total} device memory in bytes. */
    long[] memoryInfo();

    /** Device milliseconds of the work `work` queues on `stream`. */
    float elapsedMillis(long stream, Runnable work);

    /** Who serves these calls, for reports (e.g. "JCuda's CUDA 12.6 runtime"). */
    String describe();
}
