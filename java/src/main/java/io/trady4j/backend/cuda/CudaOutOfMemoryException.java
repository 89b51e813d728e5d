package io.trady4j.backend.cuda;

/** A device allocation failed for lack of memory; the message names the request and what was free. */
public final class CudaOutOfMemoryException extends CudaException {
    private final long requestedBytes;
    private final long freeBytes;
    private final long totalBytes;

    /**
     * @param status         the trady4j status code
     * @param message        the request and the free memory, in one sentence
     * @param requestedBytes the bytes asked for
     * @param freeBytes      free device memory at the failure (-1 if unknown)
     * @param totalBytes     the device's memory
     */
    public CudaOutOfMemoryException(int status, String message, long requestedBytes, long freeBytes, long totalBytes) {
        super(status, message);
        this.requestedBytes = requestedBytes;
        this.freeBytes = freeBytes;
        this.totalBytes = totalBytes;
    }

    /** @return the bytes the failed allocation asked for */
    public long requestedBytes() {
        return requestedBytes;
    }

    /** Free device memory when the allocation failed (-1 if it could not be read). */
    public long freeBytes() {
        return freeBytes;
    }

    /** @return the device's total memory in bytes */
    public long totalBytes() {
        return totalBytes;
    }
}
