// C ABI: BatchNorm for pretraining (training forward, backward, inference).
#include <climits>
#include <cmath>

#include "../../kernels/kernels.cuh"
#include "api_common.cuh"

using namespace trady4j;

namespace {
bool fits(int batch, int channels, int plane) {
    return batch >= 1 && channels >= 1 && plane >= 1 && (int64_t)batch * channels * plane <= INT_MAX;
}
}  // namespace

// The checks the three entry points share (each returns from the calling function with the error).
#define T4J_REQUIRE_SIZES(batch, channels, plane)                                                                     \
    T4J_REQUIRE(fits(batch, channels, plane), "sizes must be >= 1 with at most %d elements (batch %d, channels %d, plane %d)", \
                INT_MAX, batch, channels, plane)
#define T4J_REQUIRE_EPS(eps) T4J_REQUIRE(eps > 0.f && std::isfinite(eps), "eps must be a finite number > 0, got %g", (double)eps)

extern "C" {

TRADY4J_API int trady4j_batch_norm_training(int batch, int channels, int plane, const float* x, const float* gamma,
                                            const float* beta, float* running_mean, float* running_var,
                                            float momentum, float eps, float* y, float* save_mean,
                                            float* save_inv_std, void* stream) {
    T4J_REQUIRE_SIZES(batch, channels, plane);
    T4J_REQUIRE((int64_t)batch * plane >= 2, "training needs at least 2 values per channel (batch %d, plane %d)", batch,
                plane);
    T4J_REQUIRE(momentum >= 0.f && momentum <= 1.f, "momentum must be in [0, 1], got %g", (double)momentum);
    T4J_REQUIRE_EPS(eps);
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(gamma);
    T4J_NOT_NULL(beta);
    T4J_NOT_NULL(running_mean);
    T4J_NOT_NULL(running_var);
    T4J_NOT_NULL(y);
    T4J_NOT_NULL(save_mean);
    T4J_NOT_NULL(save_inv_std);
    return api::launched(__func__, batch_norm_training(batch, channels, plane, x, gamma, beta, running_mean, running_var,
                                                       momentum, eps, y, save_mean, save_inv_std, api::as_stream(stream)));
}

TRADY4J_API int trady4j_batch_norm_backward(int batch, int channels, int plane, const float* dy, const float* x,
                                            const float* gamma, const float* save_mean, const float* save_inv_std,
                                            float* dx, float* d_gamma, float* d_beta, void* stream) {
    T4J_REQUIRE_SIZES(batch, channels, plane);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(gamma);
    T4J_NOT_NULL(save_mean);
    T4J_NOT_NULL(save_inv_std);
    T4J_NOT_NULL(dx);
    T4J_NOT_NULL(d_gamma);
    T4J_NOT_NULL(d_beta);
    return api::launched(__func__, batch_norm_backward(batch, channels, plane, dy, x, gamma, save_mean, save_inv_std, dx,
                                                       d_gamma, d_beta, api::as_stream(stream)));
}

TRADY4J_API int trady4j_batch_norm_inference(int batch, int channels, int plane, const float* x, const float* gamma,
                                             const float* beta, const float* running_mean, const float* running_var,
                                             float eps, float* y, void* stream) {
    T4J_REQUIRE_SIZES(batch, channels, plane);
    T4J_REQUIRE_EPS(eps);
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(gamma);
    T4J_NOT_NULL(beta);
    T4J_NOT_NULL(running_mean);
    T4J_NOT_NULL(running_var);
    T4J_NOT_NULL(y);
    return api::launched(__func__, batch_norm_inference(batch, channels, plane, x, gamma, beta, running_mean, running_var,
                                                        eps, y, api::as_stream(stream)));
}

}  // extern "C"
