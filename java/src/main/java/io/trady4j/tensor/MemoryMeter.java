package io.trady4j.tensor;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/** Live and peak bytes per {@link MemoryCategory}, counted by the backend at every allocation and free. */
public final class MemoryMeter {
    private static final MemoryCategory[] CATEGORIES = MemoryCategory.values();
    private final AtomicLongArray live = new AtomicLongArray(CATEGORIES.length + 1);
    private final AtomicLongArray peak = new AtomicLongArray(CATEGORIES.length + 1);
    private static final int TOTAL = CATEGORIES.length;

    /**
     * Counts an allocation (backends call it).
     *
     * @param category what the memory is for
     * @param bytes    its size
     */
    public void allocated(MemoryCategory category, long bytes) {
        bump(category.ordinal(), bytes);
        bump(TOTAL, bytes);
    }

    /**
     * Counts a release (backends call it).
     *
     * @param category what the memory was for
     * @param bytes    its size
     */
    public void freed(MemoryCategory category, long bytes) {
        live.addAndGet(category.ordinal(), -bytes);
        live.addAndGet(TOTAL, -bytes);
    }

    private void bump(int slot, long bytes) {
        long now = live.addAndGet(slot, bytes);
        peak.accumulateAndGet(slot, now, Math::max);
    }

    /**
     * @param category a category
     * @return the bytes of that category held now
     */
    public long liveBytes(MemoryCategory category) {
        return live.get(category.ordinal());
    }

    /**
     * @param category a category
     * @return the most bytes of that category held at once since the last {@link #resetPeaks()}
     */
    public long peakBytes(MemoryCategory category) {
        return peak.get(category.ordinal());
    }

    /** @return the bytes held now, all categories together */
    public long liveBytes() {
        return live.get(TOTAL);
    }

    /** @return the most bytes held at once since the last {@link #resetPeaks()}, all categories together */
    public long peakBytes() {
        return peak.get(TOTAL);
    }

    /** Starts a new peak measurement: every peak becomes the current live value. */
    public void resetPeaks() {
        for (int i = 0; i <= TOTAL; i++) {
            peak.set(i, live.get(i));
        }
    }

    /** @return every category's peak bytes, in declaration order */
    public Map<MemoryCategory, Long> peakByCategory() {
        Map<MemoryCategory, Long> m = new EnumMap<>(MemoryCategory.class);
        for (MemoryCategory c : CATEGORIES) {
            m.put(c, peakBytes(c));
        }
        return m;
    }
}
