package io.trady4j.backend;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

/** Argument checks of the BatchNorm ops, shared by every backend (one clear IllegalArgumentException before any work). */
public final class BatchNormChecks {
    private BatchNormChecks() {
    }

    /** The checks of {@link Backend#batchNormTraining}; parameters as there. */
    public static void training(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        Shape s = input(x, "x");
        if (s.dim(0) * s.dim(2) * s.dim(3) < 2) {
            throw new IllegalArgumentException("BatchNorm training needs at least 2 values per channel (B·H·W >= 2), got "
                    + s);
        }
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("BatchNorm momentum must be in [0, 1], got " + momentum);
        }
        epsilon(eps);
        Shape c = Shape.of(s.dim(1));
        for (Object[] t : new Object[][]{{gamma, "gamma"}, {beta, "beta"}, {runningMean, "running mean"},
                {runningVar, "running var"}, {saveMean, "saved mean"}, {saveInvStd, "saved inverse std"}}) {
            vector((Tensor) t[0], c, (String) t[1]);
        }
        same(y, s, "y");
    }

    /** The checks of {@link Backend#batchNormBackward}; parameters as there. */
    public static void backward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                Tensor dGamma, Tensor dBeta) {
        Shape s = input(x, "x");
        same(dy, s, "dy");
        same(dx, s, "dx");
        Shape c = Shape.of(s.dim(1));
        for (Object[] t : new Object[][]{{gamma, "gamma"}, {saveMean, "saved mean"}, {saveInvStd, "saved inverse std"},
                {dGamma, "gamma gradient"}, {dBeta, "beta gradient"}}) {
            vector((Tensor) t[0], c, (String) t[1]);
        }
    }

    /** The checks of {@link Backend#batchNormInference}; parameters as there. */
    public static void inference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps,
                                 Tensor y) {
        Shape s = input(x, "x");
        epsilon(eps);
        Shape c = Shape.of(s.dim(1));
        for (Object[] t : new Object[][]{{gamma, "gamma"}, {beta, "beta"}, {runningMean, "running mean"},
                {runningVar, "running var"}}) {
            vector((Tensor) t[0], c, (String) t[1]);
        }
        same(y, s, "y");
    }

    private static Shape input(Tensor x, String name) {
        open(x, name);
        if (x.shape().rank() != 4) {
            throw new IllegalArgumentException("BatchNorm needs " + name + " [B, C, H, W], got " + x.shape());
        }
        return x.shape();
    }

    private static void epsilon(double eps) {
        if (!(eps > 0) || !Double.isFinite(eps)) {
            throw new IllegalArgumentException("BatchNorm eps must be a finite number > 0, got " + eps);
        }
    }

    private static void vector(Tensor t, Shape c, String name) {
        same(t, c, name);
    }

    private static void same(Tensor t, Shape shape, String name) {
        open(t, name);
        if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException("BatchNorm " + name + " must be " + shape + ", got " + t.shape());
        }
    }

    private static void open(Tensor t, String name) {
        if (t == null) {
            throw new IllegalArgumentException("BatchNorm " + name + " is missing (null)");
        }
        if (t.isClosed()) {
            throw new IllegalArgumentException("BatchNorm " + name + " " + t.dtype() + t.shape() + " was already closed");
        }
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("BatchNorm " + name + " must be a float32 tensor, got " + t.dtype() + t.shape());
        }
    }
}
