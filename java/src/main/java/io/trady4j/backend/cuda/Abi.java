package io.trady4j.backend.cuda;

/**
 * The #defines of native/include/trady4j.h that Java needs, named as there without the TRADY4J_
 * prefix. Trady4jHeaderTest parses the header and fails when one of them drifts, or when the
 * header gains a status, option or implementation constant missing here.
 */
final class Abi {
    static final int OK = 0;
    static final int ERR_INVALID_ARGUMENT = 1;
    static final int ERR_CUDA = 2;
    static final int ERR_WORKSPACE = 3;
    static final int ERR_UNSUPPORTED = 4;
    static final int ERR_OUT_OF_MEMORY = 5;
    static final int OPT_TF32 = 2;
    static final int OPT_DEBUG_CHECKS = 3;
    static final int IMPL_HEURISTIC = 0;

    private Abi() {
    }
}
