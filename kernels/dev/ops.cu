// Dev harness: element-wise ops, pooling, softmax cross-entropy, SGD (dense and sparse).
//   nvcc -O3 -std=c++17 -arch=sm_90 -I../../native/include -I.. ops.cu -o ops
//   make emu_ops && ./emu_ops
#include "dev_common.h"
#include "reference.h"

#include "../elementwise.cu"
#include "../pooling.cu"
#include "../sgd.cu"
#include "../softmax_cross_entropy.cu"

static std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

static void check_elementwise(Checker& ck, Rng& rng, int64_t n) {
    char what[128];
    std::vector<float> x = rng.floats(n), y2 = rng.floats(n);
    for (auto& v : x) v *= 8.f;  // reach past ReLU6's upper bound
    DeviceBuffer<float> dx(x), d2(y2), out(n);
    for (int act = 0; act <= 2; ++act) {
        out.poison();
        CUDA_CHECK(trady4j::activation_forward(act, n, dx.p, out.p, nullptr));
        std::vector<double> ref(n), refb(n);
        for (int64_t i = 0; i < n; ++i) ref[i] = ref_act(act, x[i]);
        snprintf(what, sizeof what, "activation %d n=%lld", act, (long long)n);
        ck.expect(what, out.download(), ref, 0.0);
        // backward through y = act(x): gradient passes where 0 < y (< 6 for ReLU6)
        DeviceBuffer<float> yv(std::vector<float>(ref.begin(), ref.end()));
        out.poison();
        CUDA_CHECK(trady4j::activation_backward(act, n, yv.p, d2.p, out.p, nullptr));
        for (int64_t i = 0; i < n; ++i) {
            const double yy = ref[i];
            const bool pass = act == 0 || (act == 1 ? yy > 0 : (yy > 0 && yy < 6));
            refb[i] = pass ? y2[i] : 0.0;
        }
        snprintf(what, sizeof what, "activation backward %d n=%lld", act, (long long)n);
        ck.expect(what, out.download(), refb, 0.0);
        // the same gradient through a 1-bit mask of y (a NaN output passes nothing)
        std::vector<float> ym(ref.begin(), ref.end());
        if (n > 2) ym[n / 2] = NAN;
        const int64_t words = (n + 31) / 32;
        std::vector<int32_t> bits(words, 0);
        for (int64_t i = 0; i < n; ++i) {
            const float yy = ym[i];
            const bool pass = act == 0 || (act == 1 ? yy > 0.f : (yy > 0.f && yy < 6.f));
            if (pass) bits[i / 32] |= (int32_t)(1u << (i % 32));
            refb[i] = pass ? y2[i] : 0.0;
        }
        DeviceBuffer<float> ymd(ym);
        DeviceBuffer<int32_t> mask(words);
        mask.poison();
        CUDA_CHECK(trady4j::activation_mask(act, n, ymd.p, reinterpret_cast<uint32_t*>(mask.p), nullptr));
        snprintf(what, sizeof what, "activation mask %d n=%lld", act, (long long)n);
        ck.expect_equal(what, mask.download(), bits);
        out.poison();
        CUDA_CHECK(trady4j::activation_backward_masked(n, reinterpret_cast<const uint32_t*>(mask.p), d2.p, out.p, nullptr));
        snprintf(what, sizeof what, "masked activation backward %d n=%lld", act, (long long)n);
        ck.expect(what, out.download(), refb, 0.0);
    }
    out.poison();
    CUDA_CHECK(trady4j::add(n, dx.p, d2.p, out.p, nullptr));
    std::vector<double> sum(n);
    for (int64_t i = 0; i < n; ++i) sum[i] = (double)(x[i] + y2[i]);
    snprintf(what, sizeof what, "add n=%lld", (long long)n);
    ck.expect(what, out.download(), sum, 0.0);
    out.poison();
    CUDA_CHECK(trady4j::fill_f32(out.p, 2.5f, n, nullptr));
    snprintf(what, sizeof what, "fill n=%lld", (long long)n);
    ck.expect(what, out.download(), std::vector<double>(n, 2.5), 0.0);
}

static void check_channels(Checker& ck, Rng& rng, int batch, int c, int plane) {
    char what[128];
    const std::vector<float> x = rng.floats((size_t)batch * c * plane);
    DeviceBuffer<float> dx(x), db(c);
    db.poison();
    CUDA_CHECK(trady4j::bias_grad(batch, c, plane, dx.p, db.p, nullptr));
    std::vector<double> ref(c, 0.0);
    for (int b = 0; b < batch; ++b)
        for (int ch = 0; ch < c; ++ch)
            for (int p = 0; p < plane; ++p) ref[ch] += x[((size_t)b * c + ch) * plane + p];
    snprintf(what, sizeof what, "bias_grad B=%d C=%d plane=%d", batch, c, plane);
    ck.expect(what, db.download(), ref);
    for (int ns : {1, (c + 1) / 2, c}) {
        const std::vector<int32_t> sel = rng.selection(c, ns);
        DeviceBuffer<int32_t> ds(sel);
        DeviceBuffer<float> xs((size_t)batch * ns * plane);
        xs.poison();
        CUDA_CHECK(trady4j::gather_channels(batch, c, plane, dx.p, ds.p, ns, xs.p, nullptr));
        snprintf(what, sizeof what, "gather B=%d C=%d plane=%d |S|=%d", batch, c, plane, ns);
        ck.expect(what, xs.download(), ref_gather(x, batch, c, plane, sel), 0.0);
    }
    // global average pooling over [batch*c, plane]
    DeviceBuffer<float> y((size_t)batch * c), g((size_t)batch * c * plane);
    y.poison();
    CUDA_CHECK(trady4j::global_avg_pool(batch * c, plane, dx.p, y.p, nullptr));
    std::vector<double> mean((size_t)batch * c, 0.0);
    for (size_t i = 0; i < mean.size(); ++i) {
        for (int p = 0; p < plane; ++p) mean[i] += x[i * plane + p];
        mean[i] /= plane;
    }
    snprintf(what, sizeof what, "global_avg_pool planes=%d plane=%d", batch * c, plane);
    ck.expect(what, y.download(), mean);
    g.poison();
    CUDA_CHECK(trady4j::global_avg_pool_backward(batch * c, plane, dx.p, g.p, nullptr));  // dy = first B*C of x
    std::vector<double> back((size_t)batch * c * plane);
    for (size_t i = 0; i < back.size(); ++i) back[i] = (double)(x[i / plane] / (float)plane);
    snprintf(what, sizeof what, "global_avg_pool_backward planes=%d plane=%d", batch * c, plane);
    ck.expect(what, g.download(), back, 0.0);
}

static void check_maxpool(Checker& ck, Rng& rng, int planes, int h, int w, int k, int s, int p, bool ties) {
    char what[160];
    const int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
    std::vector<float> x = rng.floats((size_t)planes * h * w);
    if (ties)
        for (auto& v : x) v = (float)(int)(v * 2.f);  // few distinct values: many ties
    const std::vector<float> dyv = rng.floats((size_t)planes * ho * wo);
    DeviceBuffer<float> dx(x), y((size_t)planes * ho * wo), ddy(dyv), gx((size_t)planes * h * w);
    DeviceBuffer<int32_t> arg((size_t)planes * ho * wo);
    y.poison();
    arg.poison();
    CUDA_CHECK(trady4j::max_pool2d(planes, h, w, k, s, p, ho, wo, dx.p, y.p, arg.p, nullptr));
    std::vector<double> ry((size_t)planes * ho * wo);
    std::vector<int32_t> ra((size_t)planes * ho * wo);
    for (int pl = 0; pl < planes; ++pl)
        for (int oh = 0; oh < ho; ++oh)
            for (int ow = 0; ow < wo; ++ow) {
                float best = -INFINITY;
                int at = -1;
                for (int kh = 0; kh < k; ++kh)
                    for (int kw = 0; kw < k; ++kw) {
                        const int ih = oh * s + kh - p, iw = ow * s + kw - p;
                        if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                        const float v = x[(size_t)pl * h * w + ih * w + iw];
                        if (v > best || at < 0) {
                            best = v;
                            at = ih * w + iw;
                        }
                    }
                ry[((size_t)pl * ho + oh) * wo + ow] = best;
                ra[((size_t)pl * ho + oh) * wo + ow] = at;
            }
    snprintf(what, sizeof what, "max_pool2d %dx%d k%d s%d p%d%s", h, w, k, s, p, ties ? " ties" : "");
    ck.expect(what, y.download(), ry, 0.0);
    ck.expect_equal("  arg-max", arg.download(), ra);
    gx.poison();
    CUDA_CHECK(trady4j::max_pool2d_backward(planes, h * w, ho * wo, ddy.p, arg.p, gx.p, nullptr));
    std::vector<double> rg((size_t)planes * h * w, 0.0);
    for (int pl = 0; pl < planes; ++pl)
        for (int e = 0; e < ho * wo; ++e) rg[(size_t)pl * h * w + ra[(size_t)pl * ho * wo + e]] += dyv[(size_t)pl * ho * wo + e];
    snprintf(what, sizeof what, "max_pool2d_backward %dx%d k%d s%d p%d%s", h, w, k, s, p, ties ? " ties" : "");
    ck.expect(what, gx.download(), rg);
}

// bad_labels: (row, label) pairs put outside [0, classes); those rows' loss and gradient are NaN,
// the loss is NaN, and label_error must name the first of them.
static void check_loss(Checker& ck, Rng& rng, int batch, int classes,
                       const std::vector<std::pair<int, int32_t>>& bad_labels = {}) {
    char what[128];
    std::vector<float> z = rng.floats((size_t)batch * classes);
    for (auto& v : z) v *= 5.f;
    std::vector<int32_t> labels(batch);
    for (auto& l : labels) l = rng.range(0, classes - 1);
    std::vector<int32_t> first_bad = {-1, 0};
    for (const auto& [row, label] : bad_labels) {
        labels[row] = label;
        if (first_bad[0] < 0 || row < first_bad[0]) first_bad = {row, label};
    }
    if (classes > 2) z[1] = z[2];  // a tie in row 0
    DeviceBuffer<float> dz(z), stats(2), g((size_t)batch * classes);
    DeviceBuffer<int32_t> dl(labels), label_error(2);
    stats.poison();
    g.poison();
    label_error.poison();
    CUDA_CHECK(trady4j::softmax_cross_entropy(batch, classes, dz.p, dl.p, stats.p, g.p, label_error.p, nullptr));
    double loss = 0;
    int correct = 0;
    std::vector<double> rg;  // the gradient rows of valid labels
    std::vector<float> valid_rows, bad_rows;
    const std::vector<float> out = g.download();
    for (int b = 0; b < batch; ++b) {
        const float* row = &z[(size_t)b * classes];
        const float* out_row = &out[(size_t)b * classes];
        if (labels[b] < 0 || labels[b] >= classes) {
            bad_rows.insert(bad_rows.end(), out_row, out_row + classes);
            continue;
        }
        valid_rows.insert(valid_rows.end(), out_row, out_row + classes);
        float mx = -INFINITY;
        int arg = 0;
        for (int j = 0; j < classes; ++j)
            if (row[j] > mx) {
                mx = row[j];
                arg = j;
            }
        double sum = 0;
        for (int j = 0; j < classes; ++j) sum += exp((double)(row[j] - mx));
        loss += log(sum) + mx - row[labels[b]];
        correct += arg == labels[b];
        for (int j = 0; j < classes; ++j)
            rg.push_back((exp((double)(row[j] - mx)) / sum - (j == labels[b] ? 1 : 0)) / batch);
    }
    const char* kind = bad_labels.empty() ? "" : " bad labels";
    snprintf(what, sizeof what, "softmax_ce B=%d K=%d%s label_error", batch, classes, kind);
    ck.expect_equal(what, label_error.download(), first_bad);
    const std::vector<float> st = stats.download();
    if (bad_labels.empty()) {
        snprintf(what, sizeof what, "softmax_ce B=%d K=%d stats", batch, classes);
        ck.expect(what, st, std::vector<double>{loss / batch, (double)correct});
    } else {
        snprintf(what, sizeof what, "softmax_ce B=%d K=%d%s: NaN loss, correct count", batch, classes, kind);
        ck.expect_equal(what, {isnan(st[0]) ? 1 : 0, (int32_t)st[1]}, {1, correct});
        int finite = 0;
        for (float v : bad_rows) finite += !isnan(v);
        snprintf(what, sizeof what, "softmax_ce B=%d K=%d%s: finite values in bad rows", batch, classes, kind);
        ck.expect_equal(what, {finite}, {0});
    }
    snprintf(what, sizeof what, "softmax_ce B=%d K=%d%s d_logits", batch, classes, kind);
    ck.expect(what, valid_rows, rg);
}

static void check_sgd(Checker& ck, Rng& rng, int cout, int cg, int k2, int groups, int nsel, float mu, float wd) {
    char what[160];
    const int mg = cout / groups, cin = cg * groups;
    const std::vector<float> w = rng.floats((size_t)cout * cg * k2), dwv = rng.floats((size_t)mg * nsel * k2),
                             m = rng.floats((size_t)mg * nsel * k2);
    const std::vector<int32_t> sel = rng.selection(cin, nsel);
    const float lr = 0.125f;
    DeviceBuffer<float> dw(w), dg(dwv), dm(m);
    DeviceBuffer<int32_t> ds(sel);
    CUDA_CHECK(trady4j::sgd_update_sparse(cout, cg, k2, groups, ds.p, nsel, dw.p, dg.p, mu > 0 ? dm.p : nullptr, lr, mu,
                                          wd, nullptr));
    std::vector<float> rw = w, rm = m;  // float arithmetic, as the Java reference does it
    for (int j = 0; j < nsel; ++j) {
        const int c = sel[j], g = c / cg, local = c % cg;
        for (int o = 0; o < mg; ++o)
            for (int t = 0; t < k2; ++t) {
                const size_t wi = ((size_t)(g * mg + o) * cg + local) * k2 + t, gi = ((size_t)o * nsel + j) * k2 + t;
                float grad = dwv[gi] + wd * rw[wi];
                if (mu > 0) {
                    rm[gi] = mu * rm[gi] + grad;
                    grad = rm[gi];
                }
                rw[wi] -= lr * grad;
            }
    }
    snprintf(what, sizeof what, "sgd_sparse C'=%d cg=%d k2=%d g=%d |S|=%d mu=%g wd=%g", cout, cg, k2, groups, nsel, mu, wd);
    ck.expect(what, dw.download(), widen(rw), 0.0);
    if (mu > 0) ck.expect("  momentum", dm.download(), widen(rm), 0.0);
    // dense step on the compact gradient's buffer shape
    DeviceBuffer<float> p(dwv), gr(m), mm(w.size() >= m.size() ? std::vector<float>(w.begin(), w.begin() + m.size()) : m);
    std::vector<float> rp = dwv, rmm(w.begin(), w.begin() + m.size());
    CUDA_CHECK(trady4j::sgd_update((int64_t)dwv.size(), p.p, gr.p, mu > 0 ? mm.p : nullptr, lr, mu, wd, nullptr));
    for (size_t i = 0; i < rp.size(); ++i) {
        float grad = m[i] + wd * rp[i];
        if (mu > 0) {
            rmm[i] = mu * rmm[i] + grad;
            grad = rmm[i];
        }
        rp[i] -= lr * grad;
    }
    snprintf(what, sizeof what, "sgd dense n=%zu mu=%g wd=%g", rp.size(), mu, wd);
    ck.expect(what, p.download(), widen(rp), 0.0);
}

int main(int argc, char** argv) {
    const uint64_t seed = argc > 1 ? strtoull(argv[1], nullptr, 10) : 5;
    Rng rng(seed);
    Checker ck;
    for (int64_t n : {1, 3, 4, 1000, 1027}) check_elementwise(ck, rng, n);
    check_channels(ck, rng, 2, 5, 7);
    check_channels(ck, rng, 3, 4, 16);
    check_channels(ck, rng, 4, 3, 1);
    check_channels(ck, rng, 2, 6, 300);
    check_maxpool(ck, rng, 3, 7, 9, 3, 2, 1, false);
    check_maxpool(ck, rng, 2, 8, 8, 2, 2, 0, false);
    check_maxpool(ck, rng, 2, 9, 7, 3, 1, 1, true);  // overlapping windows: several outputs per input
    check_maxpool(ck, rng, 1, 40, 33, 3, 1, 0, true);
    check_loss(ck, rng, 1, 1);
    check_loss(ck, rng, 5, 10);
    check_loss(ck, rng, 37, 100);
    check_loss(ck, rng, 64, 1000);
    // rows go to the 8 warps round-robin: the first bad row (11, warp 3) is not in the first warp
    // that has one (16, warp 0), and a later one shares warp 3
    check_loss(ck, rng, 37, 10, {{16, -3}, {11, 10}, {19, 99}});
    check_loss(ck, rng, 5, 4, {{4, -1}});
    check_loss(ck, rng, 1, 1, {{0, 1}});
    check_sgd(ck, rng, 8, 3, 9, 1, 2, 0.f, 0.f);
    check_sgd(ck, rng, 8, 3, 9, 1, 3, 0.9f, 1e-4f);
    check_sgd(ck, rng, 12, 2, 9, 3, 4, 0.5f, 0.01f);
    check_sgd(ck, rng, 6, 1, 9, 6, 6, 0.f, 0.f);  // depthwise
    check_sgd(ck, rng, 10, 40, 1, 1, 7, 0.9f, 0.f);  // linear [O, F]
    return ck.finish("ops");
}
