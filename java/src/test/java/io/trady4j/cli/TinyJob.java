package io.trady4j.cli;

import io.trady4j.models.ModelZoo;
import io.trady4j.nn.Architecture;
import io.trady4j.nn.ConvLayerSpec;
import io.trady4j.nn.HostWeights;
import io.trady4j.trady.LayerRanking;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A tiny fine-tuning job for CLI tests: an MNIST-like 4-class task, a random base model and a layer ranking. */
record TinyJob(Path data, Path base, Path ranking) {
    static final String MODEL = "mbv2-w0.35";
    static final int CLASSES = 4;

    static TinyJob create(Path dir) throws IOException {
        Path data = dir.resolve("mnist");
        writeIdx(data, "train", 60 * CLASSES, 1);
        writeIdx(data, "t10k", 10 * CLASSES, 2);
        Architecture arch = ModelZoo.build(MODEL, CLASSES);
        Path base = dir.resolve("base.safetensors");
        HostWeights.randomWithoutBatchNorm(arch, 11).save(base);
        List<String> names = arch.convLayers().stream().map(ConvLayerSpec::name).toList();
        double[] scores = new double[names.size()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = 1 + (i * 7919 % 13);
        }
        Path ranking = dir.resolve("ranking.json");
        new LayerRanking(arch.name(), 16, "test", 1, names, scores).save(ranking);
        return new TinyJob(data, base, ranking);
    }

    /** MNIST-like IDX files: class k has a bright quadrant k, plus noise. */
    static void writeIdx(Path dir, String split, int n, long seed) throws IOException {
        Files.createDirectories(dir);
        Random r = new Random(seed);
        ByteBuffer img = ByteBuffer.allocate(16 + n * 28 * 28).putInt(0x803).putInt(n).putInt(28).putInt(28);
        ByteBuffer lab = ByteBuffer.allocate(8 + n).putInt(0x801).putInt(n);
        for (int i = 0; i < n; i++) {
            int k = i % CLASSES;
            lab.put((byte) k);
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    int q = (y < 14 ? 0 : 2) + (x < 14 ? 0 : 1);
                    img.put((byte) Math.max(0, Math.min(255, (q == k ? 180 : 40) + (int) (r.nextGaussian() * 30))));
                }
            }
        }
        Files.write(dir.resolve(split + "-images-idx3-ubyte"), img.array());
        Files.write(dir.resolve(split + "-labels-idx1-ubyte"), lab.array());
    }

    String task() {
        return "mnist:" + data + ":0-3";
    }

    /** finetune on the tiny task: 4 epochs of 15 steps at 16×16, momentum 0.9, seed 3. */
    List<String> args(Path workDir, String strategy) {
        return new ArrayList<>(List.of("finetune", "--backend", "cpu", "--model", MODEL, "--task", task(),
                "--strategy", strategy, "--weights", base.toString(), "--ranking", ranking.toString(), "--budget", "20000",
                "--epochs", "4", "--warmup", "1", "--batch-size", "16", "--momentum", "0.9", "--resolution", "16",
                "--train-per-class", "60", "--test-per-class", "10", "--seed", "3", "--work-dir", workDir.toString()));
    }

    /** The run's name: model and resolution, task slug, strategy, budget, seed. */
    String runName(String strategy) {
        return MODEL + "_r16_" + Workspace.slug(task()) + "_" + strategy + "_b20000_seed3";
    }

    Path checkpoint(Path workDir, String strategy) {
        return workDir.resolve("checkpoints/" + runName(strategy) + ".safetensors");
    }

    /** The report of a run started with {@link #args} (its own folder, as it is the run's main strategy). */
    Path report(Path workDir, String strategy) {
        return workDir.resolve("finetune/" + runName(strategy) + "/" + strategy + ".json");
    }
}
