// C ABI: convolution forward (with the fused channel gather), sparse weight gradient, input gradient.
#include "../../kernels/kernels.cuh"
#include "api_common.cuh"

using namespace trady4j;

extern "C" {

TRADY4J_API int trady4j_conv2d_forward(const trady4j_conv2d_shape* shape, const float* x, const float* w,
                                       const float* bias, int activation, const int32_t* sel, int nsel,
                                       float* x_sel, float* y, int impl, void* stream) {
    int st = api::check_conv_shape(__func__, shape);
    if (st != TRADY4J_OK) return st;
    T4J_NOT_NULL(x);
    T4J_NOT_NULL(w);
    T4J_NOT_NULL(y);
    T4J_REQUIRE(activation >= TRADY4J_ACT_NONE && activation <= TRADY4J_ACT_RELU6, "unknown activation code %d",
                activation);
    T4J_REQUIRE(nsel >= 0 && nsel <= shape->in_channels, "nsel must be in [0, %d], got %d", shape->in_channels, nsel);
    if (nsel > 0) {
        T4J_NOT_NULL(sel);
        T4J_NOT_NULL(x_sel);
        st = api::check_selection(__func__, sel, nsel, shape->in_channels, api::as_stream(stream));
        if (st != TRADY4J_OK) return st;
    }
    st = api::resolve_impl(__func__, TRADY4J_OP_CONV2D_FORWARD, *shape, nsel, impl, &impl);
    if (st != TRADY4J_OK) return st;
    return api::launched(__func__, conv2d_forward(*shape, x, w, bias, activation, sel, nsel, x_sel, y, impl,
                                                  api::as_stream(stream)));
}

TRADY4J_API int trady4j_conv2d_dw_sparse_workspace_size(const trady4j_conv2d_shape* shape, int nsel, int impl,
                                                        size_t* bytes) {
    int st = api::check_conv_shape(__func__, shape);
    if (st != TRADY4J_OK) return st;
    T4J_NOT_NULL(bytes);
    T4J_REQUIRE(nsel >= 1 && nsel <= shape->in_channels, "nsel must be in [1, %d], got %d", shape->in_channels, nsel);
    st = api::resolve_impl(__func__, TRADY4J_OP_CONV2D_DW_SPARSE, *shape, nsel, impl, &impl);
    if (st != TRADY4J_OK) return st;
    int sms = 0;
    st = api::sm_count(&sms);
    if (st != TRADY4J_OK) return st;
    *bytes = conv2d_dw_sparse_workspace(*shape, nsel, sms, impl);
    return TRADY4J_OK;
}

TRADY4J_API int trady4j_conv2d_dw_sparse(const trady4j_conv2d_shape* shape, const float* x_sel, const float* dy,
                                         const int32_t* sel, int nsel, float* dw_sel, void* workspace,
                                         size_t workspace_bytes, int impl, void* stream) {
    int st = api::check_conv_shape(__func__, shape);
    if (st != TRADY4J_OK) return st;
    T4J_NOT_NULL(x_sel);
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(sel);
    T4J_NOT_NULL(dw_sel);
    T4J_REQUIRE(nsel >= 1 && nsel <= shape->in_channels, "nsel must be in [1, %d], got %d", shape->in_channels, nsel);
    st = api::check_selection(__func__, sel, nsel, shape->in_channels, api::as_stream(stream));
    if (st != TRADY4J_OK) return st;
    st = api::resolve_impl(__func__, TRADY4J_OP_CONV2D_DW_SPARSE, *shape, nsel, impl, &impl);
    if (st != TRADY4J_OK) return st;
    int sms = 0;
    st = api::sm_count(&sms);
    if (st != TRADY4J_OK) return st;
    const size_t need = conv2d_dw_sparse_workspace(*shape, nsel, sms, impl);
    if (need > 0 && (workspace == nullptr || workspace_bytes < need))
        return api::fail(TRADY4J_ERR_WORKSPACE, __func__, "needs %zu bytes of workspace, got %zu%s", need,
                         workspace_bytes, workspace == nullptr ? " (null)" : "");
    return api::launched(__func__, conv2d_dw_sparse(*shape, x_sel, dy, sel, nsel, dw_sel,
                                                    static_cast<float*>(workspace), workspace_bytes, sms, impl,
                                                    api::as_stream(stream)));
}

TRADY4J_API int trady4j_conv2d_dx(const trady4j_conv2d_shape* shape, const float* dy, const float* w, float* dx,
                                  int impl, void* stream) {
    int st = api::check_conv_shape(__func__, shape);
    if (st != TRADY4J_OK) return st;
    T4J_NOT_NULL(dy);
    T4J_NOT_NULL(w);
    T4J_NOT_NULL(dx);
    st = api::resolve_impl(__func__, TRADY4J_OP_CONV2D_DX, *shape, 0, impl, &impl);
    if (st != TRADY4J_OK) return st;
    return api::launched(__func__, conv2d_dx(*shape, dy, w, dx, impl, api::as_stream(stream)));
}

}  // extern "C"
