// Dev harness: sparse weight gradient dw_sel = dW[:, S] from the gathered input (split-K GEMM and
// the depthwise form), checked against the [:, S] slice of a full double-precision dW.
//   nvcc -O3 -std=c++17 -arch=sm_90 -I../../native/include -I.. conv2d_dw_sparse.cu -o conv2d_dw_sparse
//   make emu_conv2d_dw_sparse && ./emu_conv2d_dw_sparse
#include "dev_common.h"
#include "reference.h"

#include "../conv2d_dw_sparse.cu"
#include "../depthwise.cu"
#include "../dw_sparse_stream.cu"

struct Case {
    const char* name;
    int b, c, h, w, cout, k, s, p, dil, g, nsel;
};

static void run_case(Checker& ck, const Case& cs, uint64_t seed, int version, int sms) {
    Rng rng(seed);
    const trady4j_conv2d_shape s = ref_shape(cs.b, cs.c, cs.h, cs.w, cs.cout, cs.k, cs.s, cs.p, cs.dil, cs.g);
    // v3 rows serve only the shapes their eligibility admits (native/src checks it before a call).
    if (version == trady4j::kImplDepthwiseV3 && !trady4j::depthwise_v3_supports(s)) return;
    if (version == trady4j::kImplStreamV3 && !trady4j::dw_sparse_stream_supports(s, cs.nsel)) return;
    const std::vector<float> x = rng.floats(ref_numel_x(s));
    const std::vector<float> dy = rng.floats(ref_numel_y(s));
    const std::vector<int32_t> sel = rng.selection(s.in_channels, cs.nsel);
    const std::vector<double> xs = ref_gather(x, s.batch, s.in_channels, s.in_height * s.in_width, sel);
    const std::vector<float> x_sel(xs.begin(), xs.end());
    const size_t ws_bytes = trady4j::conv2d_dw_sparse_workspace(s, cs.nsel, sms, version);
    DeviceBuffer<float> dxs(x_sel), ddy(dy), ddw((size_t)(cs.cout / cs.g) * cs.nsel * cs.k * cs.k);
    DeviceBuffer<float> ws(ws_bytes / sizeof(float));
    DeviceBuffer<int32_t> dsel(sel);
    ddw.poison();
    ws.poison();
    CUDA_CHECK(trady4j::conv2d_dw_sparse(s, dxs.p, ddy.p, dsel.p, cs.nsel, ddw.p, ws_bytes ? ws.p : nullptr, ws_bytes,
                                         sms, version, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[200];
    snprintf(what, sizeof what, "v%d %s |S|=%d sms=%d ws=%zuB (seed %llu)", version, cs.name, cs.nsel, sms, ws_bytes,
             (unsigned long long)seed);
    ck.expect(what, ddw.download(), ref_conv2d_dw_sparse(s, x, dy, sel), Checker::tolerance_for(version));
}

int main(int argc, char** argv) {
    const bool quick = kEmulated || (argc > 2 && strcmp(argv[2], "quick") == 0);  // fewer cases, no timings
    const uint64_t seed = argc > 1 ? strtoull(argv[1], nullptr, 10) : 4321;
    const int sms = sm_count_for_harness();
    const Case fixed[] = {
        // name                     b  c   h   w cout k s p dil g  nsel
        {"dense 3x3 |S|=1",         2, 6,  9,  9, 7, 3, 1, 1, 1, 1, 1},
        {"dense 3x3 |S|=C",         2, 6,  9,  9, 7, 3, 1, 1, 1, 1, 6},
        {"dense wide M 64x64",      2, 5, 16, 16, 40, 3, 1, 1, 1, 1, 3},
        {"wide M narrow N 64x16",   2, 8, 6,  6, 40, 1, 1, 0, 1, 1, 5},
        {"pointwise long K",        4, 12, 16, 16, 10, 1, 1, 0, 1, 1, 5},
        {"stride 2 odd",            2, 4, 11, 13, 6, 3, 2, 1, 1, 1, 2},
        {"dilation 2",              1, 3, 12, 12, 5, 3, 1, 2, 2, 1, 2},
        {"5x5",                     1, 3, 10, 9, 4, 5, 1, 2, 1, 1, 3},
        {"7x7 s2",                  1, 3, 15, 15, 8, 7, 2, 3, 1, 1, 1},
        {"grouped g=2",             2, 6, 8, 8, 4, 3, 1, 1, 1, 2, 3},
        {"grouped g=3, one group",  2, 9, 8, 8, 6, 3, 1, 1, 1, 3, 2},
        {"grouped g=4 wide",        1, 8, 9, 9, 68, 3, 1, 1, 1, 4, 5},
        {"grouped long K split",    4, 4, 16, 16, 6, 3, 1, 1, 1, 2, 3},
        {"depthwise 3x3",           2, 5, 16, 16, 5, 3, 1, 1, 1, 5, 3},
        {"depthwise 3x3 s2 |S|=C",  2, 4, 17, 15, 4, 3, 2, 1, 1, 4, 4},
        {"depthwise 5x5 dil 2",     1, 3, 14, 14, 3, 5, 1, 4, 2, 3, 1},
        {"depthwise 7x7",           1, 2, 12, 12, 2, 7, 1, 3, 1, 2, 2},
        {"depthwise 9x9 (naive)",   1, 2, 12, 12, 2, 9, 1, 4, 1, 2, 1},
        {"depthwise multiplier 3",  2, 4, 8, 8, 12, 3, 1, 1, 1, 4, 2},
        {"depthwise long K split",  8, 3, 24, 24, 3, 3, 1, 1, 1, 3, 2},
        // v3 streaming dW (groups 1, |S|·k² <= 32, H'W' % 4 == 0): each (columns, rows per warp) class
        {"stream 3x3 s2 27 cols",   2, 6, 15, 17, 40, 3, 2, 1, 1, 1, 3},
        {"stream 1x1 32 cols",      2, 40, 8, 8, 36, 1, 1, 0, 1, 1, 20},
        {"stream 1x1 8 cols R=4",   3, 12, 8, 8, 64, 1, 1, 0, 1, 1, 7},
        {"stream 1x1 16 cols R=2",  2, 20, 10, 10, 20, 1, 1, 0, 1, 1, 13},
        {"stream 1x1 |S|=1 long K", 8, 9, 24, 24, 8, 1, 1, 0, 1, 1, 1},
        {"stream R=4 2 row blocks split", 8, 8, 24, 24, 64, 1, 1, 0, 1, 1, 3},
    };
    Checker ck;
    for (int version = 1; version <= trady4j::kImplStreamV3; ++version) {
        for (const Case& cs : fixed) {
            run_case(ck, cs, seed, version, sms);
            if (version >= 2) run_case(ck, cs, seed, version, 1);  // other split count
        }
        Rng pick(seed + version);
        const int randoms = quick ? 4 : 60;
        for (int t = 0; t < randoms; ++t) {
            Case cs;
            cs.name = "random";
            const int g = pick.range(0, 3) == 0 ? pick.range(2, 4) : 1;
            const bool dwise = pick.range(0, 3) == 0;
            cs.g = dwise ? pick.range(1, 6) : g;
            cs.c = dwise ? cs.g : g * pick.range(1, 5);
            cs.cout = dwise ? cs.g : g * pick.range(1, kEmulated ? 9 : 40);
            cs.b = pick.range(1, 3);
            cs.k = pick.range(1, 4) * 2 - 1;
            cs.s = pick.range(1, 2);
            cs.dil = pick.range(1, 2);
            cs.p = pick.range(0, cs.k / 2 + 1);
            const int ek = cs.dil * (cs.k - 1) + 1;
            cs.h = ek + pick.range(0, kEmulated ? 10 : 30);
            cs.w = ek + pick.range(0, kEmulated ? 10 : 30);
            cs.nsel = pick.range(1, cs.c);
            run_case(ck, cs, seed * 1000 + t, version, sms);
        }
    }
#ifndef TRADY4J_EMULATION
    if (!quick) {
    // MobileNetV2-w0.35-like layers at 128x128, batch 32, at 10% and 100% of the channels.
    const Case perf[] = {
        {"pw 16->96 64x64 10%", 32, 16, 64, 64, 96, 1, 1, 0, 1, 1, 2},
        {"pw 16->96 64x64 100%", 32, 16, 64, 64, 96, 1, 1, 0, 1, 1, 16},
        {"dw 96 3x3 s2 10%", 32, 96, 64, 64, 96, 3, 2, 1, 1, 96, 10},
        {"dw 96 3x3 s2 100%", 32, 96, 64, 64, 96, 3, 2, 1, 1, 96, 96},
        {"pw 96->24 32x32 10%", 32, 96, 32, 32, 24, 1, 1, 0, 1, 1, 10},
        {"pw 96->24 32x32 100%", 32, 96, 32, 32, 24, 1, 1, 0, 1, 1, 96},
    };
    printf("timings (median of 20, ms):\n");
    for (const Case& cs : perf) {
        Rng rng(7);
        const trady4j_conv2d_shape s = ref_shape(cs.b, cs.c, cs.h, cs.w, cs.cout, cs.k, cs.s, cs.p, cs.dil, cs.g);
        DeviceBuffer<float> dxs(rng.floats((size_t)cs.b * cs.nsel * cs.h * cs.w)), ddy(rng.floats(ref_numel_y(s))),
            ddw((size_t)(cs.cout / cs.g) * cs.nsel * cs.k * cs.k);
        DeviceBuffer<int32_t> dsel(rng.selection(cs.c, cs.nsel));
        for (int v = 1; v <= trady4j::kImplStreamV3; ++v) {
            if ((v == trady4j::kImplDepthwiseV3 && !trady4j::depthwise_v3_supports(s)) || (v == trady4j::kImplStreamV3 && !trady4j::dw_sparse_stream_supports(s, cs.nsel))) continue;
            const size_t wsb = trady4j::conv2d_dw_sparse_workspace(s, cs.nsel, sms, v);
            DeviceBuffer<float> ws(wsb / sizeof(float) + 1);
            const float ms = time_ms([&] {
                CUDA_CHECK(trady4j::conv2d_dw_sparse(s, dxs.p, ddy.p, dsel.p, cs.nsel, ddw.p, ws.p, wsb, sms, v, nullptr));
            });
            const double flops = 2.0 * ref_numel_y(s) / cs.g * cs.nsel * cs.k * cs.k * (cs.g > 1 ? 1 : 1);
            printf("  v%d %-24s %8.4f ms  %7.1f GFLOP/s\n", v, cs.name, ms, flops / ms * 1e-6);
        }
    }
    }
#endif
    return ck.finish("conv2d_dw_sparse");
}
