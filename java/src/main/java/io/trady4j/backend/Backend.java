package io.trady4j.backend;

import io.trady4j.tensor.DType;
import io.trady4j.tensor.MemoryCategory;
import io.trady4j.tensor.MemoryMeter;
import io.trady4j.tensor.Shape;
import io.trady4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The operations trady4j trains with, implemented by the pure-Java CPU backend and the CUDA
 * backend. Every operation writes into caller-allocated outputs, so a training step allocates
 * nothing and, on a GPU, copies nothing to the host but the loss statistics.
 *
 * <p>Conventions: float32 NCHW tensors; a {@code null} bias means no bias. Operations validate
 * shapes and throw {@link IllegalArgumentException} with one clear sentence before any work.
 * Outputs are overwritten unless a method says it accumulates. Activations are fused into the
 * producing layer; their backward takes the post-activation output y.
 */
public interface Backend extends AutoCloseable {

    /** "cpu" or "cuda". */
    String name();

    /** Human-readable device, e.g. "CPU, 2 threads" or "NVIDIA H100 80GB HBM3 (sm_90)". */
    String deviceDescription();

    /** @return the live and peak bytes this backend holds, per {@link MemoryCategory} */
    MemoryMeter memory();

    /** Whether tensors live in host memory, so reading one back costs a copy rather than a device synchronization. */
    default boolean hostMemory() {
        return false;
    }

    // ---- memory ----

    /** A new tensor with undefined contents. */
    Tensor allocate(Shape shape, DType dtype, MemoryCategory category);

    /**
     * A new float32 tensor with undefined contents.
     *
     * @param shape    its dimensions
     * @param category what it is for (metered there)
     * @return the tensor; close it to free its memory
     */
    default Tensor allocate(Shape shape, MemoryCategory category) {
        return allocate(shape, DType.F32, category);
    }

    /**
     * A view, without a copy, of memory the caller owns, usable as input and output of every
     * operation: results land in the caller's memory. Closing the tensor ends the view and never
     * frees the memory; the caller keeps the memory alive (its arena open, its array reachable)
     * until the tensor is closed and, on a GPU, until the queued work using it is done.
     *
     * <p>What can be wrapped depends on where the backend computes:
     * <ul>
     *   <li>CPU backend: a heap segment over a whole {@code float[]} (F32) or {@code int[]} (I32),
     *       {@code MemorySegment.ofArray(array)}: the kernels compute on Java arrays, so native
     *       memory cannot be computed on in place (copy it in with {@link #upload} instead);</li>
     *   <li>CUDA backend: a native segment whose address is device memory of this backend's device
     *       (or managed memory), {@code MemorySegment.ofAddress(devicePointer).reinterpret(bytes)}.</li>
     * </ul>
     * Wrapped memory is not counted in {@link #memory()}: the caller allocated it.
     *
     * @param data  the caller's memory; exactly {@code shape.numel() * dtype.bytes()} bytes, aligned
     *              to the element size, alive and writable
     * @param shape the tensor's dimensions (row-major, contiguous)
     * @param dtype the element type the memory holds
     * @return a tensor over {@code data}; {@link Tensor#isWrapped()} is true
     * @throws IllegalArgumentException (one sentence) if the segment's size, alignment, kind (heap
     *                                  or native) or device does not fit this backend
     */
    Tensor wrap(MemorySegment data, Shape shape, DType dtype);

    /**
     * A new float32 tensor holding a copy of {@code data} (for the caller's memory without a copy, see {@link #wrap}).
     *
     * @param data     row-major values, exactly {@code shape.numel()} of them
     * @param shape    its dimensions
     * @param category what it is for (metered there)
     * @return the tensor; close it to free its memory
     * @throws IllegalArgumentException if the length does not match the shape
     */
    Tensor upload(float[] data, Shape shape, MemoryCategory category);

    /**
     * A new int32 tensor holding a copy of {@code data} (labels, indices).
     *
     * @param data     row-major values, exactly {@code shape.numel()} of them
     * @param shape    its dimensions
     * @param category what it is for (metered there)
     * @return the tensor; close it to free its memory
     * @throws IllegalArgumentException if the length does not match the shape
     */
    Tensor uploadInts(int[] data, Shape shape, MemoryCategory category);

    /**
     * Copies a float32 tensor into a host array; on a GPU this waits for the queued work (the one synchronizing call).
     *
     * @param src a float32 tensor of this backend
     * @param dst exactly {@code src.numel()} floats
     * @throws IllegalArgumentException if the dtype or length does not match
     */
    void download(Tensor src, float[] dst);

    /**
     * Copies an int32 tensor into a host array (waits for queued work on a GPU).
     *
     * @param src an int32 tensor of this backend
     * @param dst exactly {@code src.numel()} ints
     * @throws IllegalArgumentException if the dtype or length does not match
     */
    void downloadInts(Tensor src, int[] dst);

    /**
     * @param t a float32 tensor of this backend
     * @return a new array with its values (see {@link #download})
     */
    default float[] toFloatArray(Tensor t) {
        float[] out = new float[t.numel()];
        download(t, out);
        return out;
    }

    /**
     * @param t an int32 tensor of this backend
     * @return a new array with its values (see {@link #downloadInts})
     */
    default int[] toIntArray(Tensor t) {
        int[] out = new int[t.numel()];
        downloadInts(t, out);
        return out;
    }

    /**
     * Sets every element of a float32 tensor.
     *
     * @param t     the tensor
     * @param value the value
     */
    void fill(Tensor t, float value);

    /** Copies src into dst; both must have the same number of elements and dtype. */
    void copy(Tensor src, Tensor dst);

    /** Waits until all queued work is done (no-op on the CPU). */
    void synchronize();

    /** Validates {@code indices} (sorted, unique, in [0, bound)) and puts them on this backend. */
    default ChannelIndex channelIndex(int[] indices, int bound) {
        int[] valid = ChannelIndex.validate(indices, bound);
        return new ChannelIndex(valid, bound, uploadInts(valid, Shape.of(valid.length), MemoryCategory.PARAMETER));
    }

    // ---- convolution ----

    /** y = act(conv2d(x, w) + bias). x [B,C,H,W], w [C',C/g,D,D], bias [C'] or null, y [B,C',H',W']. */
    void conv2d(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, Tensor y);

    /**
     * Masked forward with channel-gathered caching: the same y as {@link #conv2d}, and in the same
     * pass the compact copy xSel = x[:, S] ([B,|S|,H,W]) of the selected input channels.
     */
    void conv2dGather(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec, Activation act, ChannelIndex selection,
                      Tensor y, Tensor xSel);

    /**
     * Sparse weight gradient from the gathered input: dwSel = dW restricted to the selected input
     * channels, shaped {@link Conv2dSpec#sparseWeightGradShape(int)}. xSel [B,|S|,H,W], dy [B,C',H',W'].
     */
    void conv2dDwSparse(Tensor xSel, Tensor dy, ChannelIndex selection, Conv2dSpec spec, Tensor dwSel);

    /** Input gradient dx [B,C,H,W] of conv2d from dy [B,C',H',W'] (dy taken after the activation's backward). */
    void conv2dDx(Tensor dy, Tensor w, Conv2dSpec spec, Tensor dx);

    // ---- linear (input features are the channels; x may be [B,F] or [B,F,1,1]) ----

    /** y [B,O] = x [B,F] · wᵀ ([O,F]) + bias [O] (bias may be null). */
    void linear(Tensor x, Tensor w, Tensor bias, Tensor y);

    /** dx [B,F] = dy [B,O] · w [O,F]. */
    void linearDx(Tensor dy, Tensor w, Tensor dx);

    /** dwSel [O,|S|] = dyᵀ · xSel, where xSel [B,|S|] holds the selected input features. */
    void linearDwSparse(Tensor xSel, Tensor dy, ChannelIndex selection, Tensor dwSel);

    /** Bias gradient: db [C] = Σ over batch (and space) of dy [B,C] or [B,C,H,W]. */
    void biasGrad(Tensor dy, Tensor db);

    // ---- element-wise, pooling, loss ----

    /** xSel [B,|S|,H,W] = x[:, S] (a gather without a convolution, e.g. for linear layers). */
    void gatherChannels(Tensor x, ChannelIndex selection, Tensor xSel);

    /** y = act(x); y may be x. */
    void activation(Activation act, Tensor x, Tensor y);

    /** dx = dy where act passes the gradient at output y, else 0; dx may be dy. */
    void activationBackward(Activation act, Tensor y, Tensor dy, Tensor dx);

    /**
     * Packs where {@code act} passes the gradient at output y into bits, for the backward pass to keep
     * 1 bit per element instead of y's 32: bit {@code e % 32} of {@code mask[e / 32]} (I32, shape
     * [{@link #maskWords}(y's element count)]) is set iff the gradient passes at {@code y[e]}; unused
     * bits of the last word are 0. A NaN output passes no gradient, as in {@link #activationBackward}.
     */
    void activationMask(Activation act, Tensor y, Tensor mask);

    /** dx = dy where the bit of {@link #activationMask}'s mask is set, else 0; dx may be dy. */
    void activationBackwardMasked(Tensor mask, Tensor dy, Tensor dx);

    /** The I32 words of an activation mask over {@code elements} elements. */
    static int maskWords(int elements) {
        return (int) ((elements + 31L) / 32);
    }

    /** out = a + b (same shapes); out may alias a or b. */
    void add(Tensor a, Tensor b, Tensor out);

    /** y [B,C] = mean over H,W of x [B,C,H,W]. */
    void globalAvgPool(Tensor x, Tensor y);

    /** dx [B,C,H,W] = dy [B,C] / (H·W) broadcast. */
    void globalAvgPoolBackward(Tensor dy, Tensor dx);

    /** Max pooling (square window, -inf padding); argmax (I32, same shape as y) holds flat input offsets per plane. */
    void maxPool2d(Tensor x, int kernel, int stride, int padding, Tensor y, Tensor argmax);

    /** dx = scatter-add of dy at argmax; dx is overwritten. */
    void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx);

    /**
     * Mean softmax cross-entropy of logits [B,K] against int32 labels [B]. Writes stats (F32 [2]):
     * {mean loss, number of correct arg-max predictions}; dLogits ([B,K], may be null) receives the
     * gradient of the mean loss, (softmax − onehot)/B.
     */
    void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor stats, Tensor dLogits);

    // ---- BatchNorm (pretraining; fine-tuning folds BN into the convolutions) ----

    /**
     * batch_norm_training over x [B,C,H,W]: y = γ·(x − μ)/√(σ² + ε) + β with the batch mean μ and biased
     * variance σ² per channel; writes saveMean = μ and saveInvStd = 1/√(σ² + ε) ([C]) for the backward pass
     * and moves runningMean/runningVar towards μ and the unbiased variance by {@code momentum} (PyTorch's
     * convention). y may be x.
     */
    void batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                           double momentum, double eps, Tensor y, Tensor saveMean, Tensor saveInvStd);

    /** batch_norm_backward: dx [B,C,H,W], dGamma and dBeta [C] of {@link #batchNormTraining}'s output gradient dy; dx may be dy. */
    void batchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                           Tensor dGamma, Tensor dBeta);

    /** batch_norm_inference: y = γ·(x − runningMean)/√(runningVar + ε) + β; y may be x. */
    void batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, double eps,
                            Tensor y);

    // ---- optimizer ----

    /** Dense SGD step on a whole parameter (classifier weights and biases). momentum may be null if unused. */
    void sgdUpdate(Tensor param, Tensor grad, Tensor momentum, SgdStep step);

    /**
     * SGD step on the selected slice only: W[:, S] (layout as in {@link Conv2dSpec}) is updated from
     * dwSel; other weights are untouched. w is [C', C/g, D, D] (or [O,F] for linear, groups 1);
     * momentum, if used, has dwSel's shape.
     */
    void sgdUpdateSparse(Tensor w, Tensor dwSel, ChannelIndex selection, int groups, Tensor momentum, SgdStep step);

    @Override
    void close();
}
