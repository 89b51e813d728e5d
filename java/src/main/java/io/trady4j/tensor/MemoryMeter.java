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

    public void allocated(MemoryCategory category, long bytes) {
        bump(category.ordinal(), bytes);
        bump(TOTAL, bytes);
    }

    public void freed(MemoryCategory category, long bytes) {
        live.addAndGet(category.ordinal(), -bytes);
        live.addAndGet(TOTAL, -bytes);
    }

    private void bump(int slot, long bytes) {
        long now = live.addAndGet(slot, bytes);
        peak.accumulateAndGet(slot, now, Math::max);
    }

    public long liveBytes(MemoryCategory category) {
        return live.get(category.ordinal());
    }

    public long peakBytes(MemoryCategory category) {
        return peak.get(category.ordinal());
    }

    public long liveBytes() {
        return live.get(TOTAL);
    }

    public long peakBytes() {
        return peak.get(TOTAL);
    }

    /** Starts a new peak measurement: every peak becomes the current live value. */
    public void resetPeaks() {
        for (int i = 0; i <= TOTAL; i++) {
            peak.set(i, live.get(i));
        }
    }

    public Map<MemoryCategory, Long> peakByCategory() {
        Map<MemoryCategory, Long> m = new EnumMap<>(MemoryCategory.class);
        for (MemoryCategory c : CATEGORIES) {
            m.put(c, peakBytes(c));
        }
        return m;
    }
}
