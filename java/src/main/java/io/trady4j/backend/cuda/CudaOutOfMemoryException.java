package io.trady4j.backend.cuda;

/** A device allocation failed for lack of memory; the message names the request and what was free. */
public final class CudaOutOfMemoryException extends CudaException {
    private final long requestedBytes;
    private final long freeBytes;
    private final long totalBytes;

    public CudaOutOfMemoryException(int status, String message, long requestedBytes, long freeBytes, long totalBytes) {
        super(status, message);
        this.requestedBytes = requestedBytes;
        this.freeBytes = freeBytes;
        this.totalBytes = totalBytes;
    }

    public long requestedBytes() {
        return requestedBytes;
    }

    /** Free device memory when the allocation failed (-1 if it could not be read). */
    public long freeBytes() {
        return freeBytes;
    }

    public long totalBytes() {
        return totalBytes;
    }
}
