package io.trady4j.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** Views of data sets (subsets, class selections) and statistics. Views share the base's data. */
public final class Datasets {
    private Datasets() {
    }

    /** The samples {@code indices} of {@code base}, in that order, labels unchanged. */
    public static Dataset subset(Dataset base, int[] indices, String name) {
        int n = base.size();
        for (int i : indices) {
            Objects.checkIndex(i, n);
        }
        return new View(name, base, indices.clone(), null, base.classNames());
    }

    /**
     * The samples of {@code base} whose label is one of {@code classes} (original labels, distinct),
     * relabelled {@code classes[j] → j}: the j-th selected class becomes label j.
     */
    public static Dataset selectClasses(Dataset base, int[] classes, String name) {
        int k = base.numClasses();
        int[] map = new int[k];
        Arrays.fill(map, -1);
        List<String> names = new ArrayList<>();
        for (int j = 0; j < classes.length; j++) {
            int c = classes[j];
            if (c < 0 || c >= k) {
                throw new IllegalArgumentException("class " + c + " is not in [0, " + k + ") for " + base.name());
            }
            if (map[c] >= 0) {
                throw new IllegalArgumentException("class " + c + " selected twice");
            }
            map[c] = j;
            names.add(base.classNames().get(c));
        }
        if (classes.length == 0) {
            throw new IllegalArgumentException("no class selected");
        }
        int n = base.size();
        int[] idx = new int[n];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (map[base.label(i)] >= 0) {
                idx[m++] = i;
            }
        }
        return new View(name, base, Arrays.copyOf(idx, m), map, names);
    }

    /** The first {@code perClass} samples of every class (fewer where a class has fewer), in data set order. */
    public static Dataset firstPerClass(Dataset base, int perClass) {
        if (perClass < 1) {
            throw new IllegalArgumentException("samples per class must be >= 1, got " + perClass);
        }
        int[] taken = new int[base.numClasses()];
        int[] idx = new int[base.size()];
        int m = 0;
        for (int i = 0; i < base.size(); i++) {
            int l = base.label(i);
            if (taken[l] < perClass) {
                taken[l]++;
                idx[m++] = i;
            }
        }
        return new View(base.name() + "[" + perClass + "/class]", base, Arrays.copyOf(idx, m), null,
                base.classNames());
    }

    /**
     * A stratified subset of at most {@code total} samples: the first {@code ceil(total / k)} of
     * each of the k classes, trimmed to {@code total} (dataset order kept).
     */
    public static Dataset stratified(Dataset base, int total) {
        if (total < 1) {
            throw new IllegalArgumentException("subset size must be >= 1, got " + total);
        }
        if (total >= base.size()) {
            return base;
        }
        int k = base.numClasses();
        int per = (total + k - 1) / k;
        Dataset d = firstPerClass(base, per);
        if (d.size() <= total) {
            return d;
        }
        // drop from the largest classes' tails until the total fits
        int[] counts = classCounts(d);
        int excess = d.size() - total;
        while (excess > 0) {
            int best = 0;
            for (int c = 1; c < k; c++) {
                if (counts[c] > counts[best]) {
                    best = c;
                }
            }
            counts[best]--;
            excess--;
        }
        int[] taken = new int[k];
        int[] idx = new int[total];
        int m = 0;
        for (int i = 0; i < base.size() && m < total; i++) {
            int l = base.label(i);
            if (taken[l] < counts[l]) {
                taken[l]++;
                idx[m++] = i;
            }
        }
        return new View(base.name() + "[" + total + "]", base, Arrays.copyOf(idx, m), null, base.classNames());
    }

    /** Number of samples per class. */
    public static int[] classCounts(Dataset ds) {
        int[] c = new int[ds.numClasses()];
        for (int i = 0; i < ds.size(); i++) {
            c[ds.label(i)]++;
        }
        return c;
    }

    /** Per-channel mean and standard deviation of the pixel values in [0, 1] over the whole data set. */
    public static Normalization statistics(Dataset ds) throws IOException {
        int c = ds.channels();
        int plane = ds.height() * ds.width();
        double[] sum = new double[c];
        double[] sq = new double[c];
        float[] buf = new float[c * plane];
        for (int i = 0; i < ds.size(); i++) {
            ds.image(i, buf, 0);
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                double q = 0;
                for (int j = ch * plane, e = j + plane; j < e; j++) {
                    s += buf[j];
                    q += (double) buf[j] * buf[j];
                }
                sum[ch] += s;
                sq[ch] += q;
            }
        }
        double n = (double) ds.size() * plane;
        float[] mean = new float[c];
        float[] std = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double m = sum[ch] / n;
            mean[ch] = (float) m;
            std[ch] = (float) Math.max(Math.sqrt(Math.max(sq[ch] / n - m * m, 0)), 1e-3);
        }
        return new Normalization(mean, std);
    }

    /** A re-indexed, optionally relabelled view. */
    static class View implements Dataset {
        private final String name;
        private final Dataset base;
        private final int[] indices;
        private final int[] labelMap;
        private final List<String> classNames;

        View(String name, Dataset base, int[] indices, int[] labelMap, List<String> classNames) {
            this.name = name;
            this.base = base;
            this.indices = indices;
            this.labelMap = labelMap;
            this.classNames = List.copyOf(classNames);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int size() {
            return indices.length;
        }

        @Override
        public int channels() {
            return base.channels();
        }

        @Override
        public int height() {
            return base.height();
        }

        @Override
        public int width() {
            return base.width();
        }

        @Override
        public int numClasses() {
            return classNames.size();
        }

        @Override
        public List<String> classNames() {
            return classNames;
        }

        @Override
        public int label(int i) {
            int l = base.label(indices[i]);
            return labelMap == null ? l : labelMap[l];
        }

        @Override
        public void image(int i, float[] dst, int offset) throws IOException {
            base.image(indices[i], dst, offset);
        }

        @Override
        public Normalization normalization() {
            return base.normalization();
        }

        Dataset base() {
            return base;
        }

        /** Index in the base data set of sample i. */
        int baseIndex(int i) {
            return indices[i];
        }

        @Override
        public String toString() {
            return name + " (" + indices.length + " of " + base.name() + ")";
        }
    }
}
