package io.trady4j.backend;

/**
 * One SGD step: {@code buf = momentum·buf + (g + weightDecay·w); w -= lr·buf} (PyTorch's rule; with
 * momentum 0 no buffer is needed and {@code w -= lr·(g + weightDecay·w)}).
 */
public record SgdStep(float learningRate, float momentum, float weightDecay) {
    /**
     * Checks the hyper-parameters.
     *
     * @throws IllegalArgumentException if the learning rate or weight decay is negative or not finite, or
     *                                  momentum is outside [0, 1)
     */
    public SgdStep {
        if (!(learningRate >= 0f) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + learningRate);
        }
        if (!(momentum >= 0f && momentum < 1f)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        if (!(weightDecay >= 0f) || Float.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weight decay must be finite and >= 0, got " + weightDecay);
        }
    }

    /** @return whether a momentum buffer is needed (momentum &gt; 0) */
    public boolean usesMomentum() {
        return momentum > 0f;
    }
}
