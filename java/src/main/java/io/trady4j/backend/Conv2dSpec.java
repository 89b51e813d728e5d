package io.trady4j.backend;

import io.trady4j.tensor.Shape;

/**
 * Geometry of a 2-D convolution with a square D×D kernel: C input channels, C' output channels,
 * stride, zero padding, dilation and groups (groups = C = C' is depthwise).
 *
 * <p>Weights are [C', C/g, D, D]. The sparse weight gradient for a sorted selection S of input
 * channels is laid out as [C'/g, |S|, D, D] with
 * {@code dwSel[o, j] = dW[group(S_j)·C'/g + o, S_j mod (C/g)]}; for groups = 1 this is exactly
 * dW[:, S], and for a depthwise layer it is reported as [|S|, 1, D, D] (same memory order).
 */
public record Conv2dSpec(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation,
                         int groups) {

    /**
     * Checks the geometry.
     *
     * @throws IllegalArgumentException if a size is out of range or the channels are not divisible by groups
     */
    public Conv2dSpec {
        require(inChannels >= 1, "in_channels must be >= 1, got " + inChannels);
        require(outChannels >= 1, "out_channels must be >= 1, got " + outChannels);
        require(kernel >= 1, "kernel must be >= 1, got " + kernel);
        require(stride >= 1, "stride must be >= 1, got " + stride);
        require(padding >= 0, "padding must be >= 0, got " + padding);
        require(dilation >= 1, "dilation must be >= 1, got " + dilation);
        require(groups >= 1, "groups must be >= 1, got " + groups);
        require(inChannels % groups == 0, "in_channels " + inChannels + " is not divisible by groups " + groups);
        require(outChannels % groups == 0, "out_channels " + outChannels + " is not divisible by groups " + groups);
    }

    /**
     * A dense convolution (dilation 1, groups 1).
     *
     * @param in      input channels C
     * @param out     output channels C'
     * @param kernel  kernel size D
     * @param stride  stride
     * @param padding zero padding on each side
     * @return the spec
     */
    public static Conv2dSpec of(int in, int out, int kernel, int stride, int padding) {
        return new Conv2dSpec(in, out, kernel, stride, padding, 1, 1);
    }

    /**
     * A depthwise convolution (groups = C = C', dilation 1).
     *
     * @param channels the channels C
     * @param kernel   kernel size D
     * @param stride   stride
     * @param padding  zero padding on each side
     * @return the spec
     */
    public static Conv2dSpec depthwise(int channels, int kernel, int stride, int padding) {
        return new Conv2dSpec(channels, channels, kernel, stride, padding, 1, channels);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** @return input channels per group, C/g */
    public int inPerGroup() {
        return inChannels / groups;
    }

    /** @return output channels per group, C'/g */
    public int outPerGroup() {
        return outChannels / groups;
    }

    /** @return whether every group has one input channel (groups = C &gt; 1) */
    public boolean isDepthwise() {
        return groups == inChannels && groups > 1;
    }

    /** Extent of the dilated kernel. */
    public int effectiveKernel() {
        return dilation * (kernel - 1) + 1;
    }

    /** Output size along one spatial axis, or throws if the input is too small for the kernel. */
    public int outSize(int in) {
        int span = in + 2 * padding - effectiveKernel();
        if (span < 0) {
            throw new IllegalArgumentException("input size " + in + " with padding " + padding
                    + " is smaller than the dilated kernel " + effectiveKernel());
        }
        return span / stride + 1;
    }

    /** @return the weight shape [C', C/g, D, D] */
    public Shape weightShape() {
        return Shape.of(outChannels, inPerGroup(), kernel, kernel);
    }

    /**
     * @param input the input shape [B, C, H, W]
     * @return the output shape [B, C', H', W']
     * @throws IllegalArgumentException if the input does not fit (see {@link #checkInput})
     */
    public Shape outputShape(Shape input) {
        checkInput(input);
        return Shape.of(input.dim(0), outChannels, outSize(input.dim(2)), outSize(input.dim(3)));
    }

    /**
     * @param input an input shape
     * @throws IllegalArgumentException unless it is [B, C, H, W] with this spec's C
     */
    public void checkInput(Shape input) {
        if (input.rank() != 4 || input.dim(1) != inChannels) {
            throw new IllegalArgumentException("conv2d input must be [B, " + inChannels + ", H, W], got " + input);
        }
    }

    /** Shape of the sparse weight gradient for |S| = selected channels (see the class comment). */
    public Shape sparseWeightGradShape(int selected) {
        if (isDepthwise() && outChannels == inChannels) {
            return Shape.of(selected, 1, kernel, kernel);
        }
        return Shape.of(outPerGroup(), selected, kernel, kernel);
    }

    /** Number of weights that belong to one input channel: C'/g · D². */
    public int weightsPerInputChannel() {
        return outPerGroup() * kernel * kernel;
    }
}
