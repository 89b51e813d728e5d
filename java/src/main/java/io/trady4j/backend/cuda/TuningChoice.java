package io.trady4j.backend.cuda;

import java.util.Map;

/**
 * The implementation an op takes for one (shape, selection-size bucket), and how it was chosen:
 * {@code pinned}, {@code heuristic} (tuning off), {@code tuned} (timed here: {@code millis} per
 * candidate name), {@code cached} (from the disk cache) or {@code only} (one eligible implementation).
 */
public record TuningChoice(CudaOp op, OpShape shape, int nselBucket, Implementation implementation, String source,
                           Map<String, Double> millis) {
}
