package io.trady4j.train;

import io.trady4j.backend.Backend;
import io.trady4j.backend.cpu.CpuBackend;
import io.trady4j.nn.HostWeights;
import io.trady4j.nn.Network;
import io.trady4j.nn.NetworkTest;
import io.trady4j.trady.CostModel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Det-RGN's full gradient: one pass over the whole training split, the same as one batch holding all of it. */
class NetworkSignalsTest {
    /** Counts the batches served for evaluation-mode passes (the signals' pass) over a training split. */
    static final class Counting implements BatchSource {
        private final BatchSource inner;
        final AtomicInteger evalBatches = new AtomicInteger();

        Counting(BatchSource inner) {
            this.inner = inner;
        }

        @Override
        public int size() {
            return inner.size();
        }

        @Override
        public int classes() {
            return inner.classes();
        }

        @Override
        public BatchStream batches(int epoch, int batchSize, boolean training) {
            BatchStream s = inner.batches(epoch, batchSize, training);
            if (training) {
                return s;
            }
            return new BatchStream() {
                @Override
                public boolean hasNext() {
                    return s.hasNext();
                }

                @Override
                public HostBatch next() {
                    evalBatches.incrementAndGet();
                    return s.next();
                }

                @Override
                public void close() {
                    s.close();
                }
            };
        }
    }

    @Test
    void theFullGradientOfFourBatchesIsThatOfOneBatchOfAllImages() {
        try (Backend backend = new CpuBackend(2);
             Network net = Network.create(backend, ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 3))) {
            long[] units = Experiment.unitsPerChannel(CostModel.of(ResumeTest.ARCH, ResumeTest.RES));
            BatchSource data = new TrainerTest.Quadrants(64, 7);
            double[][] batched = new NetworkSignals(net, data, units, 16, 4).reweightedGradientNorms();
            double[][] whole = new NetworkSignals(net, data, units, 64, 1).reweightedGradientNorms();
            for (int l = 0; l < whole.length; l++) {
                for (int c = 0; c < whole[l].length; c++) {
                    assertEquals(whole[l][c], batched[l][c], 1e-4 * Math.abs(whole[l][c]) + 1e-9, "layer " + l + " channel " + c);
                }
            }
        }
    }

    @Test
    void detRgnPassesOverTheWholeTrainingSplitBeforeEverySelection() throws IOException {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        for (String strategy : new String[]{"d-det-rgn", "s-det-rgn"}) {
            try (Backend backend = new CpuBackend(2)) {
                Experiment ex = new Experiment(backend, quiet, Progress.quiet(quiet));
                HostWeights base = HostWeights.fromParameters(ResumeTest.ARCH, NetworkTest.randomParameters(ResumeTest.ARCH, 42));
                Counting train = new Counting(new TrainerTest.Quadrants(64, 7));
                Experiment.TaskData data = new Experiment.TaskData(null, ResumeTest.RES, train, new TrainerTest.Quadrants(32, 8));
                ex.finetune(ResumeTest.ARCH, base, data, ResumeTest.config(0), strategy, ResumeTest.budget(),
                        ResumeTest.ranking(), null, false, Map.of("job", "test"));
                int selections = strategy.startsWith("d-") ? 3 : 1;
                assertEquals(selections * 4, train.evalBatches.get(), strategy + ": 64 images in batches of 16 per selection");
            }
        }
    }
}
