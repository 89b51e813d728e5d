/*
 * Smoke test of the C ABI that needs no GPU: the version, argument checks and their error text,
 * options, and (where no GPU is usable) that a kernel launch fails with a CUDA error text rather
 * than crashing. On a GPU machine it only reports the versions: the GPU checks live in the Java
 * tests and kernels/dev.
 */
#include <stdio.h>
#include <string.h>

#include "trady4j.h"

static int failures = 0;

#define CHECK(cond, what)                                                                       \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "FAIL line %d: %s (last error: '%s')\n", __LINE__, what, trady4j_last_error()); \
            failures++;                                                                         \
        }                                                                                       \
    } while (0)

static int contains(const char* text, const char* part) { return strstr(text, part) != NULL; }

int main(void) {
    CHECK(trady4j_abi_version() == TRADY4J_ABI_VERSION, "ABI version");

    trady4j_conv2d_shape s = {2, 3, 5, 5, 4, 5, 5, 3, 1, 1, 1, 1};
    float* fake = (float*)(size_t)4096; /* never dereferenced: every call below fails validation */
    int st = trady4j_conv2d_forward(&s, NULL, fake, NULL, TRADY4J_ACT_NONE, NULL, 0, NULL, fake, TRADY4J_IMPL_HEURISTIC, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT, "null x is rejected");
    CHECK(contains(trady4j_last_error(), "trady4j_conv2d_forward") && contains(trady4j_last_error(), "x is null"),
          "error names the function and the argument");

    s.out_height = 4;
    st = trady4j_conv2d_forward(&s, fake, fake, NULL, TRADY4J_ACT_NONE, NULL, 0, NULL, fake, TRADY4J_IMPL_HEURISTIC, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "output must be 5x5"),
          "wrong output size is rejected");
    s.out_height = 5;
    s.groups = 2;
    st = trady4j_conv2d_dx(&s, fake, fake, fake, TRADY4J_IMPL_HEURISTIC, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "groups 2 must divide"),
          "groups must divide the channels");
    s.groups = 1;
    st = trady4j_conv2d_forward(&s, fake, fake, NULL, 7, NULL, 0, NULL, fake, TRADY4J_IMPL_HEURISTIC, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "activation"), "bad activation");
    st = trady4j_conv2d_forward(&s, fake, fake, NULL, TRADY4J_ACT_RELU, NULL, 2, fake, fake, TRADY4J_IMPL_HEURISTIC, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "sel is null"), "selection needs sel");
    st = trady4j_sgd_update(4, fake, fake, NULL, 0.1f, 0.9f, 0.f, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "momentum buffer"),
          "momentum needs a buffer");
    st = trady4j_softmax_cross_entropy(4, 10, fake, (int32_t*)fake, fake, NULL, NULL, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "label_error is null"),
          "the loss needs its label error record");
    st = trady4j_max_pool2d(1, 4, 4, 2, 2, 2, 3, 3, fake, fake, (int32_t*)fake, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT, "pool padding over kernel/2");
    st = trady4j_batch_norm_training(0, 3, 4, fake, fake, fake, fake, fake, 0.1f, 1e-5f, fake, fake, fake, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "trady4j_batch_norm_training")
              && contains(trady4j_last_error(), "sizes must be >= 1"), "batch norm: a zero batch is rejected");
    st = trady4j_batch_norm_training(1, 3, 1, fake, fake, fake, fake, fake, 0.1f, 1e-5f, fake, fake, fake, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "at least 2 values per channel"),
          "batch norm: training needs 2 values per channel");
    st = trady4j_batch_norm_training(2, 3, 4, fake, fake, fake, fake, fake, 1.5f, 1e-5f, fake, fake, fake, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "momentum must be in [0, 1]"),
          "batch norm: running-average momentum in [0, 1]");
    st = trady4j_batch_norm_training(2, 3, 4, fake, fake, fake, NULL, fake, 0.1f, 1e-5f, fake, fake, fake, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "running_mean is null"),
          "batch norm: null running mean");
    st = trady4j_batch_norm_backward(2, 3, 4, fake, fake, fake, fake, fake, fake, fake, NULL, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "trady4j_batch_norm_backward")
              && contains(trady4j_last_error(), "d_beta is null"), "batch norm backward: null d_beta");
    st = trady4j_batch_norm_inference(2, 3, 4, fake, fake, fake, fake, fake, 0.f, fake, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "eps must be a finite number > 0"),
          "batch norm inference: eps > 0");
    st = trady4j_set_option(99, 0);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT, "unknown option");
    st = trady4j_set_option(TRADY4J_OPT_TF32, 1);
    CHECK(st == TRADY4J_ERR_UNSUPPORTED, "tf32 is not built");
    int count = 0;
    const char* name = NULL;
    CHECK(trady4j_impl_count(TRADY4J_OP_CONV2D_FORWARD, &count) == TRADY4J_OK && count >= 2, "implementations listed");
    CHECK(trady4j_impl_name(TRADY4J_OP_CONV2D_FORWARD, 1, &name) == TRADY4J_OK && strcmp(name, "v1_naive") == 0,
          "implementation 1 is the naive kernel");
    CHECK(trady4j_impl_count(99, &count) == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "unknown op"),
          "unknown op");
    st = trady4j_conv2d_forward(&s, fake, fake, NULL, TRADY4J_ACT_NONE, NULL, 0, NULL, fake, count + 1, NULL);
    CHECK(st == TRADY4J_ERR_INVALID_ARGUMENT && contains(trady4j_last_error(), "unknown implementation"),
          "unknown implementation id");

    int runtime = 0, driver = 0;
    st = trady4j_versions(&runtime, &driver);
    printf("abi %d, CUDA runtime %d, driver %d (status %d)\n", trady4j_abi_version(), runtime, driver, st);
    const int gpu = st == TRADY4J_OK && driver > 0 && trady4j_set_device(0) == TRADY4J_OK;
    if (!gpu) {
        st = trady4j_fill_f32(fake, 1.f, 4, NULL);
        CHECK(st == TRADY4J_ERR_CUDA && contains(trady4j_last_error(), "CUDA error"),
              "without a GPU a launch fails with a CUDA error text");
        printf("no usable GPU: launch failed cleanly with: %s\n", trady4j_last_error());
    }
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("abi smoke test passed\n");
    return 0;
}
