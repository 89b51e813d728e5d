package io.trady4j.bench;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cuda.CudaBackend;
import io.trady4j.backend.cuda.OpShape;
import io.trady4j.backend.cuda.TuningChoice;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Which kernel implementation each (op, shape, selection bucket) ran with, and how it was chosen, for a result JSON. */
final class TuningRecord {
    private TuningRecord() {
    }

    /** One entry per choice the CUDA backend made so far; empty on other backends (they have one implementation per op). */
    static List<Map<String, Object>> of(Backend backend) {
        List<Map<String, Object>> rows = new ArrayList<>();
        if (!(backend instanceof CudaBackend cuda)) {
            return rows;
        }
        for (TuningChoice c : cuda.tuningChoices()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("op", c.op().name().toLowerCase(java.util.Locale.ROOT));
            row.put("shape", shape(c.shape()));
            row.put("nsel_bucket", c.nselBucket());
            row.put("implementation", c.implementation().name());
            row.put("source", c.source());
            row.put("millis", c.millis());
            rows.add(row);
        }
        return rows;
    }

    private static String shape(OpShape s) {
        return s.batch() + "x" + s.inChannels() + "x" + s.inHeight() + "x" + s.inWidth() + " -> " + s.outChannels() + "x"
                + s.outHeight() + "x" + s.outWidth() + " k" + s.kernel() + " s" + s.stride() + " p" + s.padding() + " d"
                + s.dilation() + " g" + s.groups();
    }
}
