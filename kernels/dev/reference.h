// CPU references in double precision for the dev harnesses: direct loops, written from the
// definitions in java/src/main/java/io/trady4j/backend/Backend.java (not from the kernels).
#pragma once

#include <math.h>
#include <stdint.h>

#include <vector>

#include "trady4j.h"

inline double ref_act(int act, double v) {
    if (act == TRADY4J_ACT_RELU) return v <= 0 ? 0 : v;
    if (act == TRADY4J_ACT_RELU6) return v <= 0 ? 0 : (v >= 6 ? 6 : v);
    return v;
}

inline int ref_out_size(int in, int k, int s, int p, int dil) { return (in + 2 * p - dil * (k - 1) - 1) / s + 1; }

inline trady4j_conv2d_shape ref_shape(int b, int c, int h, int w, int cout, int k, int s, int p, int dil, int g) {
    trady4j_conv2d_shape sh;
    sh.batch = b;
    sh.in_channels = c;
    sh.in_height = h;
    sh.in_width = w;
    sh.out_channels = cout;
    sh.out_height = ref_out_size(h, k, s, p, dil);
    sh.out_width = ref_out_size(w, k, s, p, dil);
    sh.kernel = k;
    sh.stride = s;
    sh.padding = p;
    sh.dilation = dil;
    sh.groups = g;
    return sh;
}

inline size_t ref_numel_x(const trady4j_conv2d_shape& s) {
    return (size_t)s.batch * s.in_channels * s.in_height * s.in_width;
}
inline size_t ref_numel_y(const trady4j_conv2d_shape& s) {
    return (size_t)s.batch * s.out_channels * s.out_height * s.out_width;
}
inline size_t ref_numel_w(const trady4j_conv2d_shape& s) {
    return (size_t)s.out_channels * (s.in_channels / s.groups) * s.kernel * s.kernel;
}

// y = act(conv2d(x, w) + bias)
inline std::vector<double> ref_conv2d_forward(const trady4j_conv2d_shape& s, const std::vector<float>& x,
                                              const std::vector<float>& w, const std::vector<float>* bias, int act) {
    const int cg = s.in_channels / s.groups, mg = s.out_channels / s.groups, k = s.kernel;
    std::vector<double> y(ref_numel_y(s));
    for (int b = 0; b < s.batch; ++b)
        for (int co = 0; co < s.out_channels; ++co) {
            const int g = co / mg;
            for (int oh = 0; oh < s.out_height; ++oh)
                for (int ow = 0; ow < s.out_width; ++ow) {
                    double acc = bias ? (*bias)[co] : 0.0;
                    for (int c = 0; c < cg; ++c)
                        for (int kh = 0; kh < k; ++kh)
                            for (int kw = 0; kw < k; ++kw) {
                                const int ih = oh * s.stride - s.padding + kh * s.dilation;
                                const int iw = ow * s.stride - s.padding + kw * s.dilation;
                                if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
                                const double xv =
                                    x[(((size_t)b * s.in_channels + g * cg + c) * s.in_height + ih) * s.in_width + iw];
                                const double wv = w[(((size_t)co * cg + c) * k + kh) * k + kw];
                                acc += xv * wv;
                            }
                    y[(((size_t)b * s.out_channels + co) * s.out_height + oh) * s.out_width + ow] = ref_act(act, acc);
                }
        }
    return y;
}

// x_sel = x[:, sel] for x [batch, channels, plane]
inline std::vector<double> ref_gather(const std::vector<float>& x, int batch, int channels, int plane,
                                      const std::vector<int32_t>& sel) {
    const int ns = (int)sel.size();
    std::vector<double> out((size_t)batch * ns * plane);
    for (int b = 0; b < batch; ++b)
        for (int j = 0; j < ns; ++j)
            for (int p = 0; p < plane; ++p)
                out[((size_t)b * ns + j) * plane + p] = x[((size_t)b * channels + sel[j]) * plane + p];
    return out;
}

// Full dW [C', C/g, k, k] from the full input, then sliced: dw_sel[o, j] = dW[group(S_j)·mg + o, S_j mod cg].
inline std::vector<double> ref_conv2d_dw_sparse(const trady4j_conv2d_shape& s, const std::vector<float>& x,
                                                const std::vector<float>& dy, const std::vector<int32_t>& sel) {
    const int cg = s.in_channels / s.groups, mg = s.out_channels / s.groups, k = s.kernel, k2 = k * k;
    std::vector<double> dw(ref_numel_w(s), 0.0);
    for (int b = 0; b < s.batch; ++b)
        for (int co = 0; co < s.out_channels; ++co) {
            const int g = co / mg;
            for (int oh = 0; oh < s.out_height; ++oh)
                for (int ow = 0; ow < s.out_width; ++ow) {
                    const double gv = dy[(((size_t)b * s.out_channels + co) * s.out_height + oh) * s.out_width + ow];
                    for (int c = 0; c < cg; ++c)
                        for (int kh = 0; kh < k; ++kh)
                            for (int kw = 0; kw < k; ++kw) {
                                const int ih = oh * s.stride - s.padding + kh * s.dilation;
                                const int iw = ow * s.stride - s.padding + kw * s.dilation;
                                if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
                                dw[(((size_t)co * cg + c) * k + kh) * k + kw] +=
                                    gv * x[(((size_t)b * s.in_channels + g * cg + c) * s.in_height + ih) * s.in_width + iw];
                            }
                }
        }
    const int ns = (int)sel.size();
    std::vector<double> out((size_t)mg * ns * k2);
    for (int o = 0; o < mg; ++o)
        for (int j = 0; j < ns; ++j) {
            const int c = sel[j], g = c / cg, local = c % cg;
            for (int r = 0; r < k2; ++r) out[((size_t)o * ns + j) * k2 + r] = dw[(((size_t)(g * mg + o)) * cg + local) * k2 + r];
        }
    return out;
}

// dx as the transpose of the forward: scatter every output gradient back through the window.
inline std::vector<double> ref_conv2d_dx(const trady4j_conv2d_shape& s, const std::vector<float>& dy,
                                         const std::vector<float>& w) {
    const int cg = s.in_channels / s.groups, mg = s.out_channels / s.groups, k = s.kernel;
    std::vector<double> dx(ref_numel_x(s), 0.0);
    for (int b = 0; b < s.batch; ++b)
        for (int co = 0; co < s.out_channels; ++co) {
            const int g = co / mg;
            for (int oh = 0; oh < s.out_height; ++oh)
                for (int ow = 0; ow < s.out_width; ++ow) {
                    const double gv = dy[(((size_t)b * s.out_channels + co) * s.out_height + oh) * s.out_width + ow];
                    for (int c = 0; c < cg; ++c)
                        for (int kh = 0; kh < k; ++kh)
                            for (int kw = 0; kw < k; ++kw) {
                                const int ih = oh * s.stride - s.padding + kh * s.dilation;
                                const int iw = ow * s.stride - s.padding + kw * s.dilation;
                                if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
                                dx[(((size_t)b * s.in_channels + g * cg + c) * s.in_height + ih) * s.in_width + iw] +=
                                    gv * w[(((size_t)co * cg + c) * k + kh) * k + kw];
                            }
                }
        }
    return dx;
}

inline std::vector<double> ref_linear(int batch, int in_f, int out_f, const std::vector<float>& x,
                                      const std::vector<float>& w, const std::vector<float>* bias) {
    std::vector<double> y((size_t)batch * out_f);
    for (int b = 0; b < batch; ++b)
        for (int o = 0; o < out_f; ++o) {
            double acc = bias ? (*bias)[o] : 0.0;
            for (int f = 0; f < in_f; ++f) acc += (double)x[(size_t)b * in_f + f] * w[(size_t)o * in_f + f];
            y[(size_t)b * out_f + o] = acc;
        }
    return y;
}

inline std::vector<double> ref_linear_dx(int batch, int in_f, int out_f, const std::vector<float>& dy,
                                         const std::vector<float>& w) {
    std::vector<double> dx((size_t)batch * in_f, 0.0);
    for (int b = 0; b < batch; ++b)
        for (int o = 0; o < out_f; ++o)
            for (int f = 0; f < in_f; ++f) dx[(size_t)b * in_f + f] += (double)dy[(size_t)b * out_f + o] * w[(size_t)o * in_f + f];
    return dx;
}

inline std::vector<double> ref_linear_dw(int batch, int nsel, int out_f, const std::vector<float>& x_sel,
                                         const std::vector<float>& dy) {
    std::vector<double> dw((size_t)out_f * nsel, 0.0);
    for (int b = 0; b < batch; ++b)
        for (int o = 0; o < out_f; ++o)
            for (int j = 0; j < nsel; ++j) dw[(size_t)o * nsel + j] += (double)dy[(size_t)b * out_f + o] * x_sel[(size_t)b * nsel + j];
    return dw;
}

// BatchNorm over [batch, channels, plane] in double (PyTorch's batch_norm in training mode).
struct RefBatchNorm {
    std::vector<double> y, mean, inv_std, running_mean, running_var;
};

inline RefBatchNorm ref_batch_norm_training(int batch, int c, int plane, const std::vector<float>& x,
                                            const std::vector<float>& gamma, const std::vector<float>& beta,
                                            const std::vector<float>& running_mean, const std::vector<float>& running_var,
                                            double momentum, double eps) {
    RefBatchNorm r;
    r.y.assign(x.size(), 0.0);
    const double n = (double)batch * plane;
    for (int ch = 0; ch < c; ++ch) {
        double sum = 0.0, sq = 0.0;
        for (int b = 0; b < batch; ++b)
            for (int p = 0; p < plane; ++p) sum += x[((size_t)b * c + ch) * plane + p];
        const double mean = sum / n;
        for (int b = 0; b < batch; ++b)
            for (int p = 0; p < plane; ++p) {
                const double d = x[((size_t)b * c + ch) * plane + p] - mean;
                sq += d * d;
            }
        const double inv = 1.0 / sqrt(sq / n + eps);
        for (int b = 0; b < batch; ++b)
            for (int p = 0; p < plane; ++p) {
                const size_t at = ((size_t)b * c + ch) * plane + p;
                r.y[at] = gamma[ch] * (x[at] - mean) * inv + beta[ch];
            }
        r.mean.push_back(mean);
        r.inv_std.push_back(inv);
        r.running_mean.push_back((1 - momentum) * running_mean[ch] + momentum * mean);
        r.running_var.push_back((1 - momentum) * running_var[ch] + momentum * sq / (n - 1));
    }
    return r;
}

// dx, dγ, dβ of the training-mode BatchNorm at (mean, inv_std) for the output gradient dy.
inline void ref_batch_norm_backward(int batch, int c, int plane, const std::vector<float>& dy,
                                    const std::vector<float>& x, const std::vector<float>& gamma,
                                    const std::vector<float>& mean, const std::vector<float>& inv_std,
                                    std::vector<double>& dx, std::vector<double>& d_gamma, std::vector<double>& d_beta) {
    const double n = (double)batch * plane;
    dx.assign(x.size(), 0.0);
    d_gamma.assign(c, 0.0);
    d_beta.assign(c, 0.0);
    for (int ch = 0; ch < c; ++ch) {
        for (int b = 0; b < batch; ++b)
            for (int p = 0; p < plane; ++p) {
                const size_t at = ((size_t)b * c + ch) * plane + p;
                d_beta[ch] += dy[at];
                d_gamma[ch] += (double)dy[at] * (x[at] - (double)mean[ch]) * inv_std[ch];
            }
        const double k = gamma[ch] * (double)inv_std[ch] / n;
        for (int b = 0; b < batch; ++b)
            for (int p = 0; p < plane; ++p) {
                const size_t at = ((size_t)b * c + ch) * plane + p;
                const double xhat = (x[at] - (double)mean[ch]) * inv_std[ch];
                dx[at] = k * (n * dy[at] - d_beta[ch] - xhat * d_gamma[ch]);
            }
    }
}

inline std::vector<double> ref_batch_norm_inference(int batch, int c, int plane, const std::vector<float>& x,
                                                    const std::vector<float>& gamma, const std::vector<float>& beta,
                                                    const std::vector<float>& running_mean,
                                                    const std::vector<float>& running_var, double eps) {
    std::vector<double> y(x.size());
    for (int b = 0; b < batch; ++b)
        for (int ch = 0; ch < c; ++ch)
            for (int p = 0; p < plane; ++p) {
                const size_t at = ((size_t)b * c + ch) * plane + p;
                y[at] = gamma[ch] * (x[at] - (double)running_mean[ch]) / sqrt(running_var[ch] + eps) + beta[ch];
            }
    return y;
}
