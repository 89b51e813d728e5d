package io.trady4j.backend.cpu;

import io.trady4j.backend.BatchNormChecks;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

/**
 * The CPU reference of BatchNorm over NCHW (per channel, statistics over batch and space), as
 * PyTorch's {@code batch_norm} computes it: training mode normalises with the batch mean and the
 * biased batch variance and moves the running averages towards the batch mean and the unbiased
 * variance by {@code momentum}; inference mode normalises with the running averages. Sums are
 * accumulated in double. Checked against PyTorch in BatchNormFixtureTest.
 */
final class BatchNormKernels {
    private BatchNormKernels() {
    }

    private static float[] f(Tensor t) {
        if (!(t instanceof CpuTensor c)) {
            throw new IllegalArgumentException("BatchNorm: " + t + " is not a CPU tensor (it belongs to another backend)");
        }
        return c.floats();
    }

    /** batch_norm_training: y = γ·(x − μ_B)/√(σ²_B + ε) + β; saves μ_B and 1/√(σ²_B + ε); updates the running averages. y may be x. */
    static void training(Tensor xt, Tensor gt, Tensor bt, Tensor rmt, Tensor rvt, double momentum, double eps, Tensor yt,
                         Tensor smt, Tensor sit) {
        BatchNormChecks.training(xt, gt, bt, rmt, rvt, momentum, eps, yt, smt, sit);
        Shape s = xt.shape();
        int batch = s.dim(0), c = s.dim(1), plane = s.dim(2) * s.dim(3);
        long n = (long) batch * plane;
        float[] x = f(xt), g = f(gt), b = f(bt), rm = f(rmt), rv = f(rvt), y = f(yt), sm = f(smt), si = f(sit);
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int bi = 0; bi < batch; bi++) {
                int off = (bi * c + ch) * plane;
                for (int p = 0; p < plane; p++) {
                    sum += x[off + p];
                }
            }
            double mean = sum / n;
            double sq = 0;
            for (int bi = 0; bi < batch; bi++) {
                int off = (bi * c + ch) * plane;
                for (int p = 0; p < plane; p++) {
                    double d = x[off + p] - mean;
                    sq += d * d;
                }
            }
            double var = sq / n;
            double inv = 1 / Math.sqrt(var + eps);
            double scale = g[ch] * inv, shift = b[ch] - mean * scale;
            for (int bi = 0; bi < batch; bi++) {
                int off = (bi * c + ch) * plane;
                for (int p = 0; p < plane; p++) {
                    y[off + p] = (float) (x[off + p] * scale + shift);
                }
            }
            sm[ch] = (float) mean;
            si[ch] = (float) inv;
            rm[ch] = (float) ((1 - momentum) * rm[ch] + momentum * mean);
            rv[ch] = (float) ((1 - momentum) * rv[ch] + momentum * sq / (n - 1));
        }
    }

    /**
     * batch_norm_backward: with x̂ = (x − μ)·inv, dβ = Σ dy, dγ = Σ dy·x̂ and
     * dx = γ·inv/N · (N·dy − dβ − x̂·dγ) (the batch statistics depend on x). dx may be dy.
     */
    static void backward(Tensor dyt, Tensor xt, Tensor gt, Tensor smt, Tensor sit, Tensor dxt, Tensor dgt, Tensor dbt) {
        BatchNormChecks.backward(dyt, xt, gt, smt, sit, dxt, dgt, dbt);
        Shape s = xt.shape();
        int batch = s.dim(0), c = s.dim(1), plane = s.dim(2) * s.dim(3);
        long n = (long) batch * plane;
        float[] dy = f(dyt), x = f(xt), g = f(gt), sm = f(smt), si = f(sit), dx = f(dxt), dg = f(dgt), db = f(dbt);
        for (int ch = 0; ch < c; ch++) {
            double mean = sm[ch], inv = si[ch];
            double sumDy = 0, sumDyXhat = 0;
            for (int bi = 0; bi < batch; bi++) {
                int off = (bi * c + ch) * plane;
                for (int p = 0; p < plane; p++) {
                    double d = dy[off + p];
                    sumDy += d;
                    sumDyXhat += d * (x[off + p] - mean) * inv;
                }
            }
            double k = g[ch] * inv / n;
            for (int bi = 0; bi < batch; bi++) {
                int off = (bi * c + ch) * plane;
                for (int p = 0; p < plane; p++) {
                    double xhat = (x[off + p] - mean) * inv;
                    dx[off + p] = (float) (k * (n * (double) dy[off + p] - sumDy - xhat * sumDyXhat));
                }
            }
            dg[ch] = (float) sumDyXhat;
            db[ch] = (float) sumDy;
        }
    }

    /** batch_norm_inference: y = γ·(x − running mean)/√(running var + ε) + β. y may be x. */
    static void inference(Tensor xt, Tensor gt, Tensor bt, Tensor rmt, Tensor rvt, double eps, Tensor yt) {
        BatchNormChecks.inference(xt, gt, bt, rmt, rvt, eps, yt);
        Shape s = xt.shape();
        int batch = s.dim(0), c = s.dim(1), plane = s.dim(2) * s.dim(3);
        float[] x = f(xt), g = f(gt), b = f(bt), rm = f(rmt), rv = f(rvt), y = f(yt);
        for (int ch = 0; ch < c; ch++) {
            double scale = g[ch] / Math.sqrt((double) rv[ch] + eps), shift = b[ch] - rm[ch] * scale;
            for (int bi = 0; bi < batch; bi++) {
                int off = (bi * c + ch) * plane;
                for (int p = 0; p < plane; p++) {
                    y[off + p] = (float) (x[off + p] * scale + shift);
                }
            }
        }
    }
}
