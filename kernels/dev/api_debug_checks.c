/*
 * TRADY4J_OPT_DEBUG_CHECKS through the C ABI, on the emulated library (make emu-lib), where device
 * memory is host memory: a selection that is unsorted, repeated or out of range passes unchecked
 * by default and fails with TRADY4J_ERR_INVALID_ARGUMENT, naming the entry, once the option is on.
 *   make emu_api_debug_checks && ./emu_api_debug_checks
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trady4j.h"

static int failures = 0, checks = 0;

static void expect(int cond, const char* what) {
    ++checks;
    if (!cond) ++failures;
    printf("  %-4s %-60s %s\n", cond ? "ok" : "FAIL", what, cond ? "" : trady4j_last_error());
}

static int contains(const char* text, const char* part) { return strstr(text, part) != NULL; }

/* 1x1 convolution, 3 -> 2 channels on 4x4 planes: the gathered forward and the sparse dW. */
static const trady4j_conv2d_shape kShape = {1, 3, 4, 4, 2, 4, 4, 1, 1, 0, 1, 1};
static float x[48], w[6], y[32], x_sel[48], dy[32], dw_sel[6];
static float workspace[1 << 16];

static int forward(const int32_t* sel, int nsel) {
    return trady4j_conv2d_forward(&kShape, x, w, NULL, TRADY4J_ACT_NONE, sel, nsel, x_sel, y, TRADY4J_IMPL_HEURISTIC,
                                  NULL);
}

static int dw_sparse(const int32_t* sel, int nsel) {
    size_t need = 0;
    if (trady4j_conv2d_dw_sparse_workspace_size(&kShape, nsel, TRADY4J_IMPL_HEURISTIC, &need) != TRADY4J_OK ||
        need > sizeof workspace)
        return -1;
    return trady4j_conv2d_dw_sparse(&kShape, x_sel, dy, sel, nsel, dw_sel, workspace, sizeof workspace,
                                    TRADY4J_IMPL_HEURISTIC, NULL);
}

int main(void) {
    for (int i = 0; i < 48; ++i) x[i] = x_sel[i] = (float)(i % 7) - 3.f;
    for (int i = 0; i < 32; ++i) dy[i] = (float)(i % 5) - 2.f;
    for (int i = 0; i < 6; ++i) w[i] = 0.5f * (float)i;
    const int32_t sorted[] = {0, 2}, unsorted[] = {2, 1}, repeated[] = {1, 1}, outside[] = {0, 3};
    int value = -1;

    expect(trady4j_get_option(TRADY4J_OPT_DEBUG_CHECKS, &value) == TRADY4J_OK && value == 0, "off by default");
    expect(forward(unsorted, 2) == TRADY4J_OK, "off: an unsorted selection is not checked");
    expect(trady4j_set_option(TRADY4J_OPT_DEBUG_CHECKS, 2) == TRADY4J_ERR_INVALID_ARGUMENT &&
               contains(trady4j_last_error(), "takes 0 or 1, got 2"),
           "the option takes 0 or 1");

    expect(trady4j_set_option(TRADY4J_OPT_DEBUG_CHECKS, 1) == TRADY4J_OK, "switched on");
    expect(trady4j_get_option(TRADY4J_OPT_DEBUG_CHECKS, &value) == TRADY4J_OK && value == 1, "reads back 1");
    expect(forward(sorted, 2) == TRADY4J_OK, "forward: a valid selection passes");
    expect(forward(unsorted, 2) == TRADY4J_ERR_INVALID_ARGUMENT &&
               contains(trady4j_last_error(), "trady4j_conv2d_forward: debug checks: sel[1] = 1 after sel[0] = 2 (not sorted)"),
           "forward: unsorted");
    expect(forward(repeated, 2) == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "(not unique)"),
           "forward: repeated");
    expect(forward(outside, 2) == TRADY4J_ERR_INVALID_ARGUMENT &&
               contains(trady4j_last_error(), "sel[1] = 3 is outside [0, 3)"),
           "forward: out of range");
    expect(dw_sparse(sorted, 2) == TRADY4J_OK, "dW: a valid selection passes");
    expect(dw_sparse(unsorted, 2) == TRADY4J_ERR_INVALID_ARGUMENT &&
               contains(trady4j_last_error(), "trady4j_conv2d_dw_sparse: debug checks: sel[1] = 1 after sel[0] = 2"),
           "dW: unsorted");
    expect(dw_sparse(outside, 2) == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "outside [0, 3)"),
           "dW: out of range");

    expect(trady4j_gather_channels(1, 3, 16, x, sorted, 2, x_sel, NULL) == TRADY4J_OK, "gather: a valid selection passes");
    expect(trady4j_gather_channels(1, 3, 16, x, repeated, 2, x_sel, NULL) == TRADY4J_ERR_INVALID_ARGUMENT &&
               contains(trady4j_last_error(), "trady4j_gather_channels: debug checks: sel[1] = 1 after sel[0] = 1 (not unique)"),
           "gather: repeated");
    /* the 1x1 conv's weight [2, 3]: its slice for two selected input channels is [2, 2] */
    expect(trady4j_sgd_update_sparse(2, 3, 1, 1, sorted, 2, w, dw_sel, NULL, 0.1f, 0.f, 0.f, NULL) == TRADY4J_OK,
           "sgd: a valid selection passes");
    expect(trady4j_sgd_update_sparse(2, 3, 1, 1, outside, 2, w, dw_sel, NULL, 0.1f, 0.f, 0.f, NULL) ==
                   TRADY4J_ERR_INVALID_ARGUMENT &&
               contains(trady4j_last_error(), "trady4j_sgd_update_sparse: debug checks: sel[1] = 3 is outside [0, 3)"),
           "sgd: out of range");
    expect(trady4j_set_option(TRADY4J_OPT_DEBUG_CHECKS, 0) == TRADY4J_OK && forward(unsorted, 2) == TRADY4J_OK,
           "switched off again");
    printf("api_debug_checks: %d of %d checks passed (CPU emulation)\n", checks - failures, checks);
    return failures == 0 ? 0 : 1;
}
