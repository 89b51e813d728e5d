package io.trady4j.nn;

import java.util.Set;

/**
 * Which parts of the backward pass run when the given conv layers are trained: the output
 * gradient dz is needed from the loss down to the deepest trained layer, and the input gradient dx
 * only where a trained layer lies further upstream. The engine follows this plan and reports
 * count its cost from it, so the two cannot disagree.
 */
public final class BackwardPlan {
    private final Architecture architecture;
    private final int deepestBlock;
    private final int[] firstGradConv;
    private final boolean[] computesInputGradient;

    private BackwardPlan(Architecture architecture, int deepestBlock, int[] firstGradConv, boolean[] dx) {
        this.architecture = architecture;
        this.deepestBlock = deepestBlock;
        this.firstGradConv = firstGradConv;
        this.computesInputGradient = dx;
    }

    /** @param trained indices (Architecture#convLayers order) of layers with at least one selected channel */
    public static BackwardPlan of(Architecture architecture, Set<Integer> trained) {
        int blocks = architecture.blocks().size();
        int deepest = Integer.MAX_VALUE;
        int[] start = new int[blocks];
        int li = 0;
        for (int b = 0; b < blocks; b++) {
            start[b] = li;
            BlockSpec block = architecture.blocks().get(b);
            int n = block.convs().size() + (block.shortcut() == null ? 0 : 1);
            for (int k = 0; k < n; k++) {
                if (trained.contains(li + k)) {
                    deepest = Math.min(deepest, b);
                }
            }
            li += n;
        }
        int[] first = new int[blocks];
        boolean[] dx = new boolean[li];
        for (int b = 0; b < blocks; b++) {
            BlockSpec block = architecture.blocks().get(b);
            int n = block.convs().size();
            if (b > deepest) {
                first[b] = 0;
            } else if (b < deepest) {
                first[b] = n;
            } else {
                first[b] = n;
                for (int j = 0; j < n; j++) {
                    if (trained.contains(start[b] + j)) {
                        first[b] = j;
                        break;
                    }
                }
            }
            for (int j = first[b]; j < n; j++) {
                dx[start[b] + j] = j > first[b] || b > deepest;
            }
            if (block.shortcut() != null) {
                dx[start[b] + n] = b > deepest;
            }
        }
        return new BackwardPlan(architecture, deepest, first, dx);
    }

    /** @return the network layout this plan is for */
    public Architecture architecture() {
        return architecture;
    }

    /** Earliest block holding a trained conv; Integer.MAX_VALUE if only the classifier trains. */
    public int deepestBlock() {
        return deepestBlock;
    }

    /** Smallest main-path conv index of block b whose output gradient is computed (the block's conv count if none). */
    public int firstGradConv(int block) {
        return firstGradConv[block];
    }

    /** Whether the gradient reaches block b's input (i.e. a trained layer lies upstream of it). */
    public boolean needsBlockInputGradient(int block) {
        return block > deepestBlock;
    }

    /** Whether conv layer {@code layer} computes its input gradient dx. */
    public boolean computesInputGradient(int layer) {
        return computesInputGradient[layer];
    }
}
