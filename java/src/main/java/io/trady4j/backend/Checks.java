package io.trady4j.backend;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

/** Argument checks shared by the backends: each failure is one IllegalArgumentException sentence. */
public final class Checks {
    private Checks() {
    }

    public static void need(Object o, String name) {
        if (o == null) {
            throw new IllegalArgumentException(name + " is missing (null)");
        }
    }

    public static void expect(Tensor t, Shape shape, String name) {
        if (t == null) {
            throw new IllegalArgumentException(name + " is missing (expected " + shape + ")");
        }
        if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException(name + " must be " + shape + ", got " + t.shape());
        }
    }

    public static void sameShape(Tensor a, Tensor b, String op) {
        need(a, op + " operand");
        need(b, op + " operand");
        if (!a.shape().equals(b.shape())) {
            throw new IllegalArgumentException(op + " needs equal shapes, got " + a.shape() + " and " + b.shape());
        }
    }

    /** The selection is open and drawn from a layer of {@code channels} input channels. */
    public static void checkSelection(ChannelIndex sel, int channels) {
        need(sel, "channel selection");
        if (sel.tensor().isClosed()) {
            throw new IllegalArgumentException("channel selection " + sel + " was already closed");
        }
        if (sel.bound() != channels) {
            throw new IllegalArgumentException("channel selection is over " + sel.bound() + " channels but the layer has "
                    + channels);
        }
    }

    /** The feature count F of a linear layer's input [B, F] or [B, F, 1, 1]. */
    public static int features(Tensor x, int batch, String name) {
        need(x, name);
        Shape s = x.shape();
        boolean ok = s.dim(0) == batch && (s.rank() == 2 || (s.rank() == 4 && s.dim(2) == 1 && s.dim(3) == 1));
        if (!ok) {
            throw new IllegalArgumentException(name + " must be [" + batch + ", F] or [" + batch + ", F, 1, 1], got " + s);
        }
        return s.dim(1);
    }

    /** An activation mask over {@code values}: I32 of shape [{@link Backend#maskWords}(values' element count)]. */
    public static void activationMask(Tensor mask, Tensor values, String op) {
        need(values, op + " operand");
        need(mask, op + " mask");
        if (values.dtype() != DType.F32) {
            throw new IllegalArgumentException(op + " needs a float tensor, got " + values.dtype());
        }
        Shape want = Shape.of(Backend.maskWords(values.numel()));
        if (mask.dtype() != DType.I32 || !mask.shape().equals(want)) {
            throw new IllegalArgumentException(op + " needs an I32 mask of shape " + want + " for " + values.shape()
                    + ", got " + mask.dtype() + " " + mask.shape());
        }
    }
}
