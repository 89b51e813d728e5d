// C ABI: linear layers, element-wise ops, pooling, loss, SGD.
#include <climits>

#include "../../kernels/kernels.cuh"
#include "api_common.cuh"

using namespace trady4j;

namespace {
bool fits_int(int64_t a, int64_t b) { return a >= 1 && b >= 1 && a * b <= INT_MAX; }
}  // namespace

extern "C" {

// ---- linear

TRADY4J_API int trady4j_linear_forward(int batch, int in_features, int out_features, const float* x,
                                       const float* w, const float* bias, float* y, int impl, void* stream) {
    T4J_REQUIRE(batch >= 1 && in_features >= 1 && out_features >= 1, "sizes must be >= 1 (batch %d, in %d, out %d)",
                batch, in_features, out_features);
    T4J_REQUIRE(fits_int(batch, in_features) && fits_int(batch, out_features) && fits_int(out_features, in_features),
                "a tensor has more than %d elements", INT_MAX);
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(w);
    T4J_NOT_NULL(y);
    const int st = api::resolve_impl(__func__, TRADY4J_OP_LINEAR_FORWARD,
                                     api::linear_shape(batch, in_features, out_features), 0, impl, &impl);
    if (st != TRADY4J_OK) return st;
    return api::launched(__func__, linear_forward(batch, in_features, out_features, x, w, bias, y, impl,
                                                  api::as_stream(stream)));
}

TRADY4J_API int trady4j_linear_dx(int batch, int in_features, int out_features, const float* dy, const float* w,
                                  float* dx, int impl, void* stream) {
    T4J_REQUIRE(batch >= 1 && in_features >= 1 && out_features >= 1, "sizes must be >= 1 (batch %d, in %d, out %d)",
                batch, in_features, out_features);
    T4J_REQUIRE(fits_int(batch, in_features) && fits_int(batch, out_features) && fits_int(out_features, in_features),
                "a tensor has more than %d elements", INT_MAX);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(w);
    T4J_NOT_NULL(dx);
    const int st = api::resolve_impl(__func__, TRADY4J_OP_LINEAR_DX, api::linear_shape(batch, in_features, out_features),
                                     0, impl, &impl);
    if (st != TRADY4J_OK) return st;
    return api::launched(__func__, linear_dx(batch, in_features, out_features, dy, w, dx, impl, api::as_stream(stream)));
}

TRADY4J_API int trady4j_linear_dw_sparse(int batch, int nsel, int out_features, const float* x_sel,
                                         const float* dy, float* dw_sel, int impl, void* stream) {
    T4J_REQUIRE(batch >= 1 && nsel >= 1 && out_features >= 1, "sizes must be >= 1 (batch %d, nsel %d, out %d)", batch,
                nsel, out_features);
    T4J_REQUIRE(fits_int(batch, nsel) && fits_int(batch, out_features) && fits_int(out_features, nsel),
                "a tensor has more than %d elements", INT_MAX);
    T4J_NOT_NULL(x_sel);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(dw_sel);
    // The table sees the gradient's own problem: nsel selected inputs of a [out, nsel] weight slice.
    const int st = api::resolve_impl(__func__, TRADY4J_OP_LINEAR_DW_SPARSE, api::linear_shape(batch, nsel, out_features),
                                     nsel, impl, &impl);
    if (st != TRADY4J_OK) return st;
    return api::launched(__func__, linear_dw_sparse(batch, nsel, out_features, x_sel, dy, dw_sel, impl,
                                                    api::as_stream(stream)));
}

// ---- element-wise

TRADY4J_API int trady4j_bias_grad(int batch, int channels, int plane, const float* dy, float* db, void* stream) {
    T4J_REQUIRE(batch >= 1 && channels >= 1 && plane >= 1, "sizes must be >= 1 (batch %d, channels %d, plane %d)",
                batch, channels, plane);
    T4J_REQUIRE((int64_t)batch * channels * plane <= INT_MAX, "dy has more than %d elements", INT_MAX);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(db);
    return api::launched(__func__, bias_grad(batch, channels, plane, dy, db, api::as_stream(stream)));
}

TRADY4J_API int trady4j_gather_channels(int batch, int channels, int plane, const float* x, const int32_t* sel,
                                        int nsel, float* x_sel, void* stream) {
    T4J_REQUIRE(batch >= 1 && channels >= 1 && plane >= 1, "sizes must be >= 1 (batch %d, channels %d, plane %d)",
                batch, channels, plane);
    T4J_REQUIRE(nsel >= 1 && nsel <= channels, "nsel must be in [1, %d], got %d", channels, nsel);
    T4J_REQUIRE((int64_t)batch * channels * plane <= INT_MAX, "x has more than %d elements", INT_MAX);
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(sel);
    T4J_NOT_NULL(x_sel);
    const int st = api::check_selection(__func__, sel, nsel, channels, api::as_stream(stream));
    if (st != TRADY4J_OK) return st;
    return api::launched(__func__, gather_channels(batch, channels, plane, x, sel, nsel, x_sel, api::as_stream(stream)));
}

TRADY4J_API int trady4j_activation(int activation, int64_t n, const float* x, float* y, void* stream) {
    T4J_REQUIRE(activation >= TRADY4J_ACT_NONE && activation <= TRADY4J_ACT_RELU6, "unknown activation code %d",
                activation);
    T4J_REQUIRE(n >= 0, "n must be >= 0, got %lld", (long long)n);
    if (n == 0) return TRADY4J_OK;
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(y);
    return api::launched(__func__, activation_forward(activation, n, x, y, api::as_stream(stream)));
}

TRADY4J_API int trady4j_activation_backward(int activation, int64_t n, const float* y, const float* dy, float* dx,
                                            void* stream) {
    T4J_REQUIRE(activation >= TRADY4J_ACT_NONE && activation <= TRADY4J_ACT_RELU6, "unknown activation code %d",
                activation);
    T4J_REQUIRE(n >= 0, "n must be >= 0, got %lld", (long long)n);
    if (n == 0) return TRADY4J_OK;
    T4J_NOT_NULL(y);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(dx);
    return api::launched(__func__, activation_backward(activation, n, y, dy, dx, api::as_stream(stream)));
}

TRADY4J_API int trady4j_activation_mask(int activation, int64_t n, const float* y, uint32_t* mask, void* stream) {
    T4J_REQUIRE(activation >= TRADY4J_ACT_NONE && activation <= TRADY4J_ACT_RELU6, "unknown activation code %d",
                activation);
    T4J_REQUIRE(n >= 0, "n must be >= 0, got %lld", (long long)n);
    if (n == 0) return TRADY4J_OK;
    T4J_NOT_NULL(y);
    T4J_NOT_NULL(mask);
    return api::launched(__func__, activation_mask(activation, n, y, mask, api::as_stream(stream)));
}

TRADY4J_API int trady4j_activation_backward_masked(int64_t n, const uint32_t* mask, const float* dy, float* dx,
                                                   void* stream) {
    T4J_REQUIRE(n >= 0, "n must be >= 0, got %lld", (long long)n);
    if (n == 0) return TRADY4J_OK;
    T4J_NOT_NULL(mask);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(dx);
    return api::launched(__func__, activation_backward_masked(n, mask, dy, dx, api::as_stream(stream)));
}

TRADY4J_API int trady4j_add(int64_t n, const float* a, const float* b, float* out, void* stream) {
    T4J_REQUIRE(n >= 0, "n must be >= 0, got %lld", (long long)n);
    if (n == 0) return TRADY4J_OK;
    T4J_NOT_NULL(a);
    T4J_NOT_NULL(b);
    T4J_NOT_NULL(out);
    return api::launched(__func__, add(n, a, b, out, api::as_stream(stream)));
}

// ---- pooling

TRADY4J_API int trady4j_global_avg_pool(int planes, int plane, const float* x, float* y, void* stream) {
    T4J_REQUIRE(fits_int(planes, plane), "planes %d and plane %d must be >= 1 with at most %d elements", planes, plane,
                INT_MAX);
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(y);
    return api::launched(__func__, global_avg_pool(planes, plane, x, y, api::as_stream(stream)));
}

TRADY4J_API int trady4j_global_avg_pool_backward(int planes, int plane, const float* dy, float* dx, void* stream) {
    T4J_REQUIRE(fits_int(planes, plane), "planes %d and plane %d must be >= 1 with at most %d elements", planes, plane,
                INT_MAX);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(dx);
    return api::launched(__func__, global_avg_pool_backward(planes, plane, dy, dx, api::as_stream(stream)));
}

TRADY4J_API int trady4j_max_pool2d(int planes, int height, int width, int kernel, int stride, int padding,
                                   int out_height, int out_width, const float* x, float* y, int32_t* argmax,
                                   void* stream) {
    T4J_REQUIRE(planes >= 1 && height >= 1 && width >= 1, "sizes must be >= 1 (planes %d, %dx%d)", planes, height,
                width);
    T4J_REQUIRE(kernel >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= kernel,
                "max pooling needs kernel >= 1, stride >= 1 and 0 <= padding <= kernel/2; got %d, %d, %d", kernel,
                stride, padding);
    const int64_t span_h = (int64_t)height + 2LL * padding - kernel;
    const int64_t span_w = (int64_t)width + 2LL * padding - kernel;
    T4J_REQUIRE(span_h >= 0 && span_w >= 0, "input %dx%d is smaller than the window %d", height, width, kernel);
    T4J_REQUIRE(span_h / stride + 1 == out_height && span_w / stride + 1 == out_width,
                "output must be %lldx%lld, got %dx%d", (long long)(span_h / stride + 1),
                (long long)(span_w / stride + 1), out_height, out_width);
    T4J_REQUIRE((int64_t)planes * height * width <= INT_MAX, "x has more than %d elements", INT_MAX);
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(y);
    T4J_NOT_NULL(argmax);
    return api::launched(__func__, max_pool2d(planes, height, width, kernel, stride, padding, out_height, out_width, x,
                                              y, argmax, api::as_stream(stream)));
}

TRADY4J_API int trady4j_max_pool2d_backward(int planes, int in_plane, int out_plane, const float* dy,
                                            const int32_t* argmax, float* dx, void* stream) {
    T4J_REQUIRE(fits_int(planes, in_plane) && fits_int(planes, out_plane),
                "planes %d, in_plane %d, out_plane %d must be >= 1 with at most %d elements", planes, in_plane,
                out_plane, INT_MAX);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(argmax);
    T4J_NOT_NULL(dx);
    return api::launched(__func__,
                         max_pool2d_backward(planes, in_plane, out_plane, dy, argmax, dx, api::as_stream(stream)));
}

// ---- loss

TRADY4J_API int trady4j_softmax_cross_entropy(int batch, int classes, const float* logits, const int32_t* labels,
                                              float* stats, float* d_logits, int32_t* label_error, void* stream) {
    T4J_REQUIRE(fits_int(batch, classes), "batch %d and classes %d must be >= 1 with at most %d elements", batch,
                classes, INT_MAX);
    T4J_NOT_NULL(logits);
    T4J_NOT_NULL(labels);
    T4J_NOT_NULL(stats);
    T4J_NOT_NULL(label_error);
    return api::launched(__func__, softmax_cross_entropy(batch, classes, logits, labels, stats, d_logits, label_error,
                                                         api::as_stream(stream)));
}

// ---- SGD

static int check_step(const char* fn, float lr, float momentum, float weight_decay, const float* momentum_buf) {
    if (!(lr >= 0.f) || lr == INFINITY)
        return api::fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "learning rate must be finite and >= 0, got %g", lr);
    if (!(momentum >= 0.f && momentum < 1.f))
        return api::fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "momentum must be in [0, 1), got %g", momentum);
    if (!(weight_decay >= 0.f) || weight_decay == INFINITY)
        return api::fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "weight decay must be finite and >= 0, got %g",
                         weight_decay);
    if (momentum > 0.f && momentum_buf == nullptr)
        return api::fail(TRADY4J_ERR_INVALID_ARGUMENT, fn, "sgd with momentum needs a momentum buffer");
    return TRADY4J_OK;
}

TRADY4J_API int trady4j_sgd_update(int64_t n, float* param, const float* grad, float* momentum_buf, float lr,
                                   float momentum, float weight_decay, void* stream) {
    T4J_REQUIRE(n >= 0, "n must be >= 0, got %lld", (long long)n);
    int st = check_step(__func__, lr, momentum, weight_decay, momentum_buf);
    if (st != TRADY4J_OK) return st;
    if (n == 0) return TRADY4J_OK;
    T4J_NOT_NULL(param);
    T4J_NOT_NULL(grad);
    return api::launched(__func__, sgd_update(n, param, grad, momentum_buf, lr, momentum, weight_decay,
                                              api::as_stream(stream)));
}

TRADY4J_API int trady4j_sgd_update_sparse(int out_channels, int in_per_group, int k2, int groups,
                                          const int32_t* sel, int nsel, float* w, const float* dw_sel,
                                          float* momentum_buf, float lr, float momentum, float weight_decay,
                                          void* stream) {
    T4J_REQUIRE(out_channels >= 1 && in_per_group >= 1 && k2 >= 1 && groups >= 1,
                "sizes must be >= 1 (out %d, in/group %d, k2 %d, groups %d)", out_channels, in_per_group, k2, groups);
    T4J_REQUIRE(out_channels % groups == 0, "groups %d does not divide the %d output channels", groups, out_channels);
    T4J_REQUIRE((int64_t)out_channels * in_per_group * k2 <= INT_MAX, "w has more than %d elements", INT_MAX);
    T4J_REQUIRE(nsel >= 1 && (int64_t)nsel <= (int64_t)in_per_group * groups, "nsel must be in [1, %lld], got %d",
                (long long)in_per_group * groups, nsel);
    int st = check_step(__func__, lr, momentum, weight_decay, momentum_buf);
    if (st != TRADY4J_OK) return st;
    T4J_NOT_NULL(sel);
    T4J_NOT_NULL(w);
    T4J_NOT_NULL(dw_sel);
    st = api::check_selection(__func__, sel, nsel, in_per_group * groups, api::as_stream(stream));
    if (st != TRADY4J_OK) return st;
    return api::launched(__func__, sgd_update_sparse(out_channels, in_per_group, k2, groups, sel, nsel, w, dw_sel,
                                                     momentum_buf, lr, momentum, weight_decay,
                                                     api::as_stream(stream)));
}

}  // extern "C"
