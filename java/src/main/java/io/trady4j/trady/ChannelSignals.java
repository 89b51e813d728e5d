package io.trady4j.trady;

/**
 * Per-channel measurements some strategies need, computed on demand by the trainer at the current
 * weights: RGN from a full gradient (Det-RGN, an oracle that is not memory-feasible) and weight
 * norms ||W[:, c]|| (SU). Arrays are per conv layer, per input channel.
 */
public interface ChannelSignals {
    /** @return RGN(c) per conv layer and input channel, from a full gradient at the current weights */
    double[][] reweightedGradientNorms();

    /** @return ||W[:, c]|| per conv layer and input channel at the current weights */
    double[][] weightNorms();

    /** Signals of a run that provides none: both methods throw IllegalStateException. */
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
