// Dev harness: conv2d forward with fused bias/activation and the fused channel gather.
//   nvcc -O3 -std=c++17 -arch=sm_90 -I../../native/include -I.. conv2d.cu -o conv2d && ./conv2d [seed]
//   make emu_conv2d && ./emu_conv2d            (CPU emulation under ASan/UBSan, no GPU)
#include "dev_common.h"
#include "reference.h"

#include "../conv2d.cu"
#include "../depthwise.cu"
#include "../pointwise.cu"

struct Case {
    const char* name;
    int b, c, h, w, cout, k, s, p, dil, g, nsel, act;
    bool bias;
};

static void run_case(Checker& ck, const Case& cs, uint64_t seed, int version) {
    Rng rng(seed);
    const trady4j_conv2d_shape s = ref_shape(cs.b, cs.c, cs.h, cs.w, cs.cout, cs.k, cs.s, cs.p, cs.dil, cs.g);
    // v3 rows serve only the shapes their eligibility admits (native/src checks it before a call).
    if (version == trady4j::kImplDepthwiseV3 && !trady4j::depthwise_v3_supports(s)) return;
    if (version == trady4j::kImplPointwise && !trady4j::pointwise_supports(s)) return;
    const std::vector<float> x = rng.floats(ref_numel_x(s));
    const std::vector<float> w = rng.floats(ref_numel_w(s));
    const std::vector<float> bias = rng.floats(s.out_channels);
    const std::vector<int32_t> sel = cs.nsel > 0 ? rng.selection(s.in_channels, cs.nsel) : std::vector<int32_t>();
    DeviceBuffer<float> dx(x), dw(w), db(bias), dy(ref_numel_y(s));
    DeviceBuffer<int32_t> dsel(sel.empty() ? std::vector<int32_t>{0} : sel);
    DeviceBuffer<float> dxs((size_t)s.batch * (cs.nsel > 0 ? cs.nsel : 1) * s.in_height * s.in_width);
    dy.poison();
    dxs.poison();
    CUDA_CHECK(trady4j::conv2d_forward(s, dx.p, dw.p, cs.bias ? db.p : nullptr, cs.act, dsel.p, cs.nsel, dxs.p, dy.p,
                                       version, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[160];
    snprintf(what, sizeof what, "v%d %s y (seed %llu)", version, cs.name, (unsigned long long)seed);
    ck.expect(what, dy.download(), ref_conv2d_forward(s, x, w, cs.bias ? &bias : nullptr, cs.act), Checker::tolerance_for(version));
    if (cs.nsel > 0) {
        snprintf(what, sizeof what, "v%d %s x_sel |S|=%d", version, cs.name, cs.nsel);
        ck.expect(what, dxs.download(), ref_gather(x, s.batch, s.in_channels, s.in_height * s.in_width, sel), 0.0);
    }
}

// The pointwise kernel at every tile (TM, KS) and on both load paths (the launcher picks one tile by
// shape and SM count, so small shapes alone would not reach them all): in/out offset by one float
// make the pointers unaligned for the scalar path.
static void check_pointwise_tiles(Checker& ck, uint64_t seed) {
    // K = 200: with KS = 4 every group but the last has a full 64-channel chunk, the last a partial one
    const trady4j_conv2d_shape s = ref_shape(3, 200, 6, 6, 21, 1, 1, 0, 1, 1);
    Rng rng(seed);
    const std::vector<float> x = rng.floats(ref_numel_x(s));
    const std::vector<float> w = rng.floats(ref_numel_w(s));
    const std::vector<float> bias = rng.floats(s.out_channels);
    const std::vector<double> ref = ref_conv2d_forward(s, x, w, &bias, TRADY4J_ACT_RELU6);
    std::vector<float> x_off(x.size() + 1, 0.f);
    std::copy(x.begin(), x.end(), x_off.begin() + 1);
    DeviceBuffer<float> dx(x), dxu(x_off), dw(w), db(bias), dy(ref_numel_y(s)), dyu(ref_numel_y(s) + 1);
    const trady4j::pw::PwGeom p = trady4j::pw::pw_geom(trady4j::make_geom(s), false);
    const trady4j::GatherArgs none = trady4j::make_gather(nullptr, nullptr, nullptr, 0, 0, 0, 0);
    using LaunchFn = cudaError_t (*)(const trady4j::pw::PwGeom&, const float*, const float*, const float*, int, float*,
                                     const trady4j::GatherArgs&, cudaStream_t);
    const struct { const char* name; LaunchFn fn; bool aligned; } tiles[] = {
#define T4J_PW_CHECK(TM, KS) {"TM " #TM " KS " #KS, trady4j::pw::launch<TM, KS, true>, true}, \
        {"TM " #TM " KS " #KS " unaligned", trady4j::pw::launch<TM, KS, false>, false},
        T4J_PW_TILES(T4J_PW_CHECK)
#undef T4J_PW_CHECK
    };
    for (const auto& t : tiles) {
        std::vector<float> out;
        if (t.aligned) {
            dy.poison();
            CUDA_CHECK(t.fn(p, dx.p, dw.p, db.p, TRADY4J_ACT_RELU6, dy.p, none, nullptr));
            CUDA_CHECK(cudaDeviceSynchronize());
            out = dy.download();
        } else {
            dyu.poison();
            CUDA_CHECK(t.fn(p, dxu.p + 1, dw.p, db.p, TRADY4J_ACT_RELU6, dyu.p + 1, none, nullptr));
            CUDA_CHECK(cudaDeviceSynchronize());
            const std::vector<float> all = dyu.download();
            out.assign(all.begin() + 1, all.end());
        }
        char what[160];
        snprintf(what, sizeof what, "v6 pointwise %s y (seed %llu)", t.name, (unsigned long long)seed);
        ck.expect(what, out, ref);
    }
}

// v7 at both in-block splits (the launcher picks one by grid size and SM count): M, N and K that are
// not multiples of the tiles, grouped, strided; bias and activation applied after the group sum.
static void check_splitk_tiles(Checker& ck, uint64_t seed) {
    const trady4j_conv2d_shape shapes[] = {
        ref_shape(2, 37, 7, 9, 45, 3, 1, 1, 1, 1),   // K = 333: 10 full K tiles and a partial one
        ref_shape(1, 12, 11, 10, 70, 3, 2, 1, 1, 2),  // grouped, stride 2
        ref_shape(3, 5, 4, 4, 9, 1, 1, 0, 1, 1),      // K = 5 < one K tile
    };
    using LaunchFn = cudaError_t (*)(const trady4j::ConvGeom&, const float*, const float*, const float*, int, float*,
                                     const trady4j::GatherArgs&, cudaStream_t);
    const struct { const char* name; LaunchFn fn; } tiles[] = {
        {"KS 2 (32x64)", trady4j::launch_fwd_igemm_v3<trady4j::FwdSplitK2>},
        {"KS 4 (32x32)", trady4j::launch_fwd_igemm_v3<trady4j::FwdSplitK4>},
    };
    const trady4j::GatherArgs none = trady4j::make_gather(nullptr, nullptr, nullptr, 0, 0, 0, 0);
    int n = 0;
    for (const trady4j_conv2d_shape& s : shapes) {
        Rng rng(seed + n++);
        const std::vector<float> x = rng.floats(ref_numel_x(s));
        const std::vector<float> w = rng.floats(ref_numel_w(s));
        const std::vector<float> bias = rng.floats(s.out_channels);
        const std::vector<double> ref = ref_conv2d_forward(s, x, w, &bias, TRADY4J_ACT_RELU);
        DeviceBuffer<float> dx(x), dw(w), db(bias), dy(ref_numel_y(s));
        for (const auto& t : tiles) {
            dy.poison();
            CUDA_CHECK(t.fn(trady4j::make_geom(s), dx.p, dw.p, db.p, TRADY4J_ACT_RELU, dy.p, none, nullptr));
            CUDA_CHECK(cudaDeviceSynchronize());
            char what[160];
            snprintf(what, sizeof what, "v7 split-K %s shape %d y (seed %llu)", t.name, n, (unsigned long long)seed);
            ck.expect(what, dy.download(), ref);
        }
    }
}

int main(int argc, char** argv) {
    const bool quick = kEmulated || (argc > 2 && strcmp(argv[2], "quick") == 0);  // fewer cases, no timings
    const uint64_t seed = argc > 1 ? strtoull(argv[1], nullptr, 10) : 1234;
    const Case fixed[] = {
        // name                      b  c  h  w cout k s p dil g  nsel act bias
        {"dense 3x3 pad1",           2, 5, 9, 9,  7, 3, 1, 1, 1, 1, 2, 1, true},
        {"dense 3x3 wide M (64x64)", 2, 6, 7, 7, 40, 3, 1, 1, 1, 1, 6, 2, true},
        {"pointwise 1x1",            3, 9, 6, 5, 20, 1, 1, 0, 1, 1, 1, 0, false},
        {"stride 2 odd size",        2, 4, 11, 9, 6, 3, 2, 1, 1, 1, 3, 1, true},
        {"dilation 2 pad 2",         1, 3, 10, 10, 5, 3, 1, 2, 2, 1, 3, 2, true},
        {"5x5 pad 2",                1, 3, 8, 7, 4, 5, 1, 2, 1, 1, 1, 0, true},
        {"7x7 stride 2 pad 3",       1, 3, 13, 13, 8, 7, 2, 3, 1, 1, 2, 1, false},
        {"grouped g=2",              2, 6, 7, 7, 4, 3, 1, 1, 1, 2, 3, 1, true},
        {"grouped g=3 wide",         1, 9, 6, 6, 51, 3, 2, 1, 1, 3, 9, 0, true},
        {"depthwise tiled TW8",      2, 3, 9, 9, 3, 3, 1, 1, 1, 3, 2, 2, true},
        {"depthwise tiled TW16",     1, 2, 13, 14, 2, 3, 1, 1, 1, 2, 1, 1, true},
        {"depthwise tiled TW32 s2",  1, 2, 52, 50, 2, 3, 2, 1, 1, 2, 2, 1, true},
        {"depthwise 5x5 dil 2",      1, 3, 12, 12, 3, 5, 1, 4, 2, 3, 1, 2, true},
        {"depthwise small plane",    2, 4, 4, 5, 4, 3, 1, 1, 1, 4, 4, 1, true},
        {"depthwise multiplier 2",   2, 3, 6, 6, 6, 3, 1, 1, 1, 3, 2, 0, true},
        {"no selection",             1, 4, 5, 5, 3, 3, 1, 1, 1, 1, 0, 0, true},
        {"1 channel in, 1 out",      2, 1, 8, 8, 1, 3, 1, 1, 1, 1, 1, 1, true},
        {"dense wide M (v3 128x128)", 2, 8, 16, 17, 100, 3, 1, 1, 1, 1, 3, 1, true},
        {"7x7 s2 wide (v3 128x128)", 2, 3, 33, 31, 130, 7, 2, 3, 1, 1, 1, 2, true},
        {"grouped long K",           1, 40, 6, 6, 20, 3, 1, 1, 1, 2, 5, 0, true},
        {"pointwise 4x4 planes",     3, 12, 4, 4, 10, 1, 1, 0, 1, 1, 3, 2, true},
        {"pointwise K > 64 (chunks)", 2, 70, 2, 6, 5, 1, 1, 0, 1, 1, 7, 1, false},
        {"pointwise rows > 16",      1, 5, 6, 2, 37, 1, 1, 0, 1, 1, 5, 0, true},
    };
    Checker ck;
    check_pointwise_tiles(ck, seed);
    check_splitk_tiles(ck, seed);
    for (int version = 1; version <= trady4j::kImplSplitK; ++version) {
        for (const Case& cs : fixed) run_case(ck, cs, seed, version);
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
            cs.h = ek + pick.range(0, kEmulated ? 8 : 30);
            cs.w = ek + pick.range(0, kEmulated ? 8 : 30);
            cs.nsel = pick.range(0, cs.c);
            cs.act = pick.range(0, 2);
            cs.bias = pick.range(0, 1) == 1;
            run_case(ck, cs, seed * 1000 + t, version);
        }
    }
#ifndef TRADY4J_EMULATION
    if (!quick) {
    // MobileNetV2-w0.35-like layers at 128x128, batch 32: v1 against v2.
    const Case perf[] = {
        {"pw 16->96 64x64", 32, 16, 64, 64, 96, 1, 1, 0, 1, 1, 2, 2, true},
        {"dw 96 3x3 s2 64x64", 32, 96, 64, 64, 96, 3, 2, 1, 1, 96, 10, 2, true},
        {"pw 96->24 32x32", 32, 96, 32, 32, 24, 1, 1, 0, 1, 1, 10, 0, true},
        {"conv 3->16 3x3 s2 128", 32, 3, 128, 128, 16, 3, 2, 1, 1, 1, 1, 2, true},
    };
    printf("timings (median of 20, ms):\n");
    for (const Case& cs : perf) {
        Rng rng(7);
        const trady4j_conv2d_shape s = ref_shape(cs.b, cs.c, cs.h, cs.w, cs.cout, cs.k, cs.s, cs.p, cs.dil, cs.g);
        DeviceBuffer<float> dx(rng.floats(ref_numel_x(s))), dw(rng.floats(ref_numel_w(s))), db(rng.floats(cs.cout)),
            dy(ref_numel_y(s));
        DeviceBuffer<int32_t> dsel(rng.selection(cs.c, cs.nsel));
        DeviceBuffer<float> dxs((size_t)cs.b * cs.nsel * cs.h * cs.w);
        for (int v = 1; v <= trady4j::kImplSplitK; ++v) {
            if (v == trady4j::kImplDepthwiseV3 && !trady4j::depthwise_v3_supports(s)) continue;
            if (v == trady4j::kImplPointwise && !trady4j::pointwise_supports(s)) continue;
            const float ms = time_ms([&] {
                CUDA_CHECK(trady4j::conv2d_forward(s, dx.p, dw.p, db.p, cs.act, dsel.p, cs.nsel, dxs.p, dy.p, v, nullptr));
            });
            const double flops = 2.0 * ref_numel_y(s) * (cs.c / cs.g) * cs.k * cs.k;
            printf("  v%d %-24s %8.4f ms  %7.1f GFLOP/s\n", v, cs.name, ms, flops / ms * 1e-6);
        }
    }
    }
#endif
    return ck.finish("conv2d");
}
