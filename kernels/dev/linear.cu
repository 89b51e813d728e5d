// Dev harness: linear forward, input gradient and sparse weight gradient.
//   nvcc -O3 -std=c++17 -arch=sm_90 -I../../native/include -I.. linear.cu -o linear
//   make emu_linear && ./emu_linear
#include "dev_common.h"
#include "reference.h"

#include "../linear.cu"

static void run_case(Checker& ck, int batch, int in_f, int out_f, int nsel, bool bias, uint64_t seed, int version) {
    Rng rng(seed);
    const std::vector<float> x = rng.floats((size_t)batch * in_f), w = rng.floats((size_t)out_f * in_f),
                             b = rng.floats(out_f), dy = rng.floats((size_t)batch * out_f),
                             xs = rng.floats((size_t)batch * nsel);
    DeviceBuffer<float> dx(x), dw(w), db(b), ddy(dy), dxs(xs), y((size_t)batch * out_f), gx((size_t)batch * in_f),
        gw((size_t)out_f * nsel);
    y.poison();
    gx.poison();
    gw.poison();
    CUDA_CHECK(trady4j::linear_forward(batch, in_f, out_f, dx.p, dw.p, bias ? db.p : nullptr, y.p, version, nullptr));
    CUDA_CHECK(trady4j::linear_dx(batch, in_f, out_f, ddy.p, dw.p, gx.p, version, nullptr));
    CUDA_CHECK(trady4j::linear_dw_sparse(batch, nsel, out_f, dxs.p, ddy.p, gw.p, version, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[160];
    snprintf(what, sizeof what, "v%d B=%d F=%d O=%d forward%s", version, batch, in_f, out_f, bias ? "+bias" : "");
    ck.expect(what, y.download(), ref_linear(batch, in_f, out_f, x, w, bias ? &b : nullptr), Checker::tolerance_for(version));
    snprintf(what, sizeof what, "v%d B=%d F=%d O=%d dx", version, batch, in_f, out_f);
    ck.expect(what, gx.download(), ref_linear_dx(batch, in_f, out_f, dy, w), Checker::tolerance_for(version));
    snprintf(what, sizeof what, "v%d B=%d |S|=%d O=%d dw_sel", version, batch, nsel, out_f);
    ck.expect(what, gw.download(), ref_linear_dw(batch, nsel, out_f, xs, dy), Checker::tolerance_for(version));
}

int main(int argc, char** argv) {
    const bool quick = kEmulated || (argc > 2 && strcmp(argv[2], "quick") == 0);  // fewer cases, no timings
    const uint64_t seed = argc > 1 ? strtoull(argv[1], nullptr, 10) : 77;
    Checker ck;
    const int fixed[][4] = {{1, 1, 1, 1}, {3, 17, 10, 5}, {32, 45, 10, 45}, {20, 130, 70, 9}, {5, 64, 200, 64}, {16, 7, 16, 1}};
    for (int version = 1; version <= kLastKernelVersion; ++version) {
        for (const auto& f : fixed) run_case(ck, f[0], f[1], f[2], f[3], (f[1] & 1) == 1, seed, version);
        Rng pick(seed + version);
        for (int t = 0; t < (quick ? 4 : 40); ++t) {
            const int in_f = pick.range(1, kEmulated ? 90 : 600);
            run_case(ck, pick.range(1, kEmulated ? 40 : 128), in_f, pick.range(1, kEmulated ? 90 : 300),
                     pick.range(1, in_f), pick.range(0, 1) == 1, seed * 100 + t, version);
        }
    }
#ifndef TRADY4J_EMULATION
    if (!quick) {
    Rng rng(1);
    const int batch = 32, in_f = 1280, out_f = 1000;
    DeviceBuffer<float> dx(rng.floats(batch * in_f)), dw(rng.floats(out_f * in_f)), y(batch * out_f);
    for (int v = 1; v <= kLastKernelVersion; ++v) {
        const float ms = time_ms([&] { CUDA_CHECK(trady4j::linear_forward(batch, in_f, out_f, dx.p, dw.p, nullptr, y.p, v, nullptr)); });
        printf("  v%d linear 32x1280 -> 1000: %.4f ms, %.1f GFLOP/s\n", v, ms, 2.0 * batch * in_f * out_f / ms * 1e-6);
    }
    }
#endif
    return ck.finish("linear");
}
