package io.trady4j.trady;

/**
 * Per-channel measurements some strategies need, computed on demand by the trainer at the current
 * weights: RGN from a full gradient (Det-RGN, an oracle that is not memory-feasible) and weight
 * norms ||W[:, c]|| (SU). Arrays are per conv layer, per input channel.
 */
public interface ChannelSignals {
    double[][] reweightedGradientNorms();

    double[][] weightNorms();

    ChannelSignals NONE = new ChannelSignals() {
        @Override
        public double[][] reweightedGradientNorms() {
            throw new IllegalStateException("this run provides no gradient signals");
        }

        @Override
        public double[][] weightNorms() {
            throw new IllegalStateException("this run provides no weight norms");
        }
    };
}
