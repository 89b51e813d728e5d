// Dev harness: conv2d input gradient (implicit GEMM over wᵀ and the transposed window).
//   nvcc -O3 -std=c++17 -arch=sm_90 -I../../native/include -I.. conv2d_dx.cu -o conv2d_dx
//   make emu_conv2d_dx && ./emu_conv2d_dx
#include "dev_common.h"
#include "reference.h"

#include "../conv2d_dx.cu"
#include "../depthwise.cu"
#include "../pointwise.cu"

struct Case {
    const char* name;
    int b, c, h, w, cout, k, s, p, dil, g;
};

static void run_case(Checker& ck, const Case& cs, uint64_t seed, int version) {
    Rng rng(seed);
    const trady4j_conv2d_shape s = ref_shape(cs.b, cs.c, cs.h, cs.w, cs.cout, cs.k, cs.s, cs.p, cs.dil, cs.g);
    // v3 rows serve only the shapes their eligibility admits (native/src checks it before a call).
    if (version == trady4j::kImplDepthwiseV3 && !trady4j::depthwise_v3_supports(s)) return;
    if (version == trady4j::kImplPointwise && !trady4j::pointwise_supports(s)) return;
    const std::vector<float> dy = rng.floats(ref_numel_y(s));
    const std::vector<float> w = rng.floats(ref_numel_w(s));
    DeviceBuffer<float> ddy(dy), dw(w), ddx(ref_numel_x(s));
    ddx.poison();
    CUDA_CHECK(trady4j::conv2d_dx(s, ddy.p, dw.p, ddx.p, version, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[160];
    snprintf(what, sizeof what, "v%d %s dx (seed %llu)", version, cs.name, (unsigned long long)seed);
    ck.expect(what, ddx.download(), ref_conv2d_dx(s, dy, w), Checker::tolerance_for(version));
}

// The pointwise kernel's dx at every tile (TM, KS) and on both load paths (the launcher picks one
// tile by shape and SM count); dy/dx offset by one float make the pointers unaligned.
static void check_pointwise_tiles(Checker& ck, uint64_t seed) {
    const trady4j_conv2d_shape s = ref_shape(2, 19, 4, 6, 200, 1, 1, 0, 1, 1);
    Rng rng(seed);
    const std::vector<float> dy = rng.floats(ref_numel_y(s));
    const std::vector<float> w = rng.floats(ref_numel_w(s));
    const std::vector<double> ref = ref_conv2d_dx(s, dy, w);
    std::vector<float> dy_off(dy.size() + 1, 0.f);
    std::copy(dy.begin(), dy.end(), dy_off.begin() + 1);
    DeviceBuffer<float> ddy(dy), ddyu(dy_off), dw(w), ddx(ref_numel_x(s)), ddxu(ref_numel_x(s) + 1);
    const trady4j::pw::PwGeom p = trady4j::pw::pw_geom(trady4j::make_geom(s), true);
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
            ddx.poison();
            CUDA_CHECK(t.fn(p, ddy.p, dw.p, nullptr, TRADY4J_ACT_NONE, ddx.p, none, nullptr));
            CUDA_CHECK(cudaDeviceSynchronize());
            out = ddx.download();
        } else {
            ddxu.poison();
            CUDA_CHECK(t.fn(p, ddyu.p + 1, dw.p, nullptr, TRADY4J_ACT_NONE, ddxu.p + 1, none, nullptr));
            CUDA_CHECK(cudaDeviceSynchronize());
            const std::vector<float> all = ddxu.download();
            out.assign(all.begin() + 1, all.end());
        }
        char what[160];
        snprintf(what, sizeof what, "v6 pointwise %s dx (seed %llu)", t.name, (unsigned long long)seed);
        ck.expect(what, out, ref);
    }
}

// v7 at both in-block splits and every stride path (the launcher picks one split by grid size and
// SM count): M, N and K that are not multiples of the tiles, grouped.
static void check_splitk_tiles(Checker& ck, uint64_t seed) {
    const trady4j_conv2d_shape shapes[] = {
        ref_shape(2, 37, 7, 9, 45, 3, 1, 1, 1, 1),    // stride 1, K = 405
        ref_shape(1, 12, 11, 10, 70, 3, 2, 1, 1, 2),  // grouped, stride 2
        ref_shape(2, 20, 10, 11, 13, 3, 3, 1, 1, 1),  // stride 3 (the general path)
    };
    using LaunchFn = cudaError_t (*)(const trady4j::ConvGeom&, const float*, const float*, float*, cudaStream_t);
    const struct { const char* name; LaunchFn fn; } tiles[] = {
        {"KS 2 (32x64)", trady4j::launch_dx_v3_stride<trady4j::DxSplitK2>},
        {"KS 4 (32x32)", trady4j::launch_dx_v3_stride<trady4j::DxSplitK4>},
    };
    int n = 0;
    for (const trady4j_conv2d_shape& s : shapes) {
        Rng rng(seed + n++);
        const std::vector<float> dy = rng.floats(ref_numel_y(s));
        const std::vector<float> w = rng.floats(ref_numel_w(s));
        const std::vector<double> ref = ref_conv2d_dx(s, dy, w);
        DeviceBuffer<float> ddy(dy), dw(w), ddx(ref_numel_x(s));
        for (const auto& t : tiles) {
            ddx.poison();
            CUDA_CHECK(t.fn(trady4j::make_geom(s), ddy.p, dw.p, ddx.p, nullptr));
            CUDA_CHECK(cudaDeviceSynchronize());
            char what[160];
            snprintf(what, sizeof what, "v7 split-K %s shape %d dx (seed %llu)", t.name, n, (unsigned long long)seed);
            ck.expect(what, ddx.download(), ref);
        }
    }
}

int main(int argc, char** argv) {
    const bool quick = kEmulated || (argc > 2 && strcmp(argv[2], "quick") == 0);  // fewer cases, no timings
    const uint64_t seed = argc > 1 ? strtoull(argv[1], nullptr, 10) : 99;
    const Case fixed[] = {
        // name                     b  c  h  w cout k s p dil g
        {"dense 3x3",               2, 5, 9, 9, 7, 3, 1, 1, 1, 1},
        {"dense wide M 64x64",      2, 40, 7, 7, 6, 3, 1, 1, 1, 1},
        {"pointwise",               3, 9, 6, 5, 20, 1, 1, 0, 1, 1},
        {"stride 2 odd",            2, 4, 11, 9, 6, 3, 2, 1, 1, 1},
        {"stride 2 wide M",         1, 33, 9, 10, 5, 3, 2, 1, 1, 1},
        {"stride 3 (generic)",      2, 4, 11, 10, 5, 3, 3, 1, 1, 1},
        {"stride 3 wide M",         1, 20, 12, 12, 4, 5, 3, 2, 1, 1},
        {"dilation 2 pad 2",        1, 3, 10, 10, 5, 3, 1, 2, 2, 1},
        {"7x7 s2",                  1, 3, 13, 13, 8, 7, 2, 3, 1, 1},
        {"grouped g=2",             2, 6, 7, 7, 4, 3, 1, 1, 1, 2},
        {"grouped g=3 wide",        1, 51, 6, 6, 9, 3, 2, 1, 1, 3},
        {"depthwise",               2, 3, 9, 9, 3, 3, 1, 1, 1, 3},
        {"depthwise s2",            2, 4, 10, 11, 4, 3, 2, 1, 1, 4},
        {"depthwise multiplier 2",  2, 3, 6, 6, 6, 3, 1, 1, 1, 3},
        {"stride 2 unused border",  1, 3, 8, 8, 4, 1, 2, 0, 1, 1},
        {"wide M s1 (v3 128x128)",  2, 100, 16, 17, 6, 3, 1, 1, 1, 1},
        {"wide M s2 (v3 128x128)",  2, 97, 31, 33, 5, 3, 2, 1, 1, 1},
        {"wide M s3 (v3 128x128)",  2, 98, 30, 30, 4, 3, 3, 1, 1, 1},
        {"grouped long K",          1, 20, 6, 6, 40, 3, 1, 1, 1, 2},
        {"pointwise 4x4 planes",    3, 12, 4, 4, 10, 1, 1, 0, 1, 1},
        {"pointwise K > 64 (chunks)", 2, 6, 2, 6, 70, 1, 1, 0, 1, 1},
        {"pointwise rows > 16",     1, 37, 6, 2, 5, 1, 1, 0, 1, 1},
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
            cs.c = dwise ? cs.g : g * pick.range(1, kEmulated ? 9 : 40);
            cs.cout = dwise ? cs.g : g * pick.range(1, 6);
            cs.b = pick.range(1, 3);
            cs.k = pick.range(1, 4) * 2 - 1;
            cs.s = pick.range(1, 3);
            cs.dil = pick.range(1, 2);
            cs.p = pick.range(0, cs.k / 2 + 1);
            const int ek = cs.dil * (cs.k - 1) + 1;
            cs.h = ek + pick.range(0, kEmulated ? 8 : 30);
            cs.w = ek + pick.range(0, kEmulated ? 8 : 30);
            run_case(ck, cs, seed * 1000 + t, version);
        }
    }
#ifndef TRADY4J_EMULATION
    if (!quick) {
    const Case perf[] = {
        {"pw 96->16 64x64 dx", 32, 16, 64, 64, 96, 1, 1, 0, 1, 1},
        {"dw 96 3x3 s2 64x64 dx", 32, 96, 64, 64, 96, 3, 2, 1, 1, 96},
        {"pw 24->96 32x32 dx", 32, 96, 32, 32, 24, 1, 1, 0, 1, 1},
        {"conv 3x3 32->32 32x32 dx", 32, 32, 32, 32, 32, 3, 1, 1, 1, 1},
    };
    printf("timings (median of 20, ms):\n");
    for (const Case& cs : perf) {
        Rng rng(7);
        const trady4j_conv2d_shape s = ref_shape(cs.b, cs.c, cs.h, cs.w, cs.cout, cs.k, cs.s, cs.p, cs.dil, cs.g);
        DeviceBuffer<float> ddy(rng.floats(ref_numel_y(s))), dw(rng.floats(ref_numel_w(s))), ddx(ref_numel_x(s));
        for (int v = 1; v <= trady4j::kImplSplitK; ++v) {
            if (v == trady4j::kImplDepthwiseV3 && !trady4j::depthwise_v3_supports(s)) continue;
            if (v == trady4j::kImplPointwise && !trady4j::pointwise_supports(s)) continue;
            const float ms = time_ms([&] { CUDA_CHECK(trady4j::conv2d_dx(s, ddy.p, dw.p, ddx.p, v, nullptr)); });
            const double flops = 2.0 * ref_numel_y(s) * (cs.c / cs.g) * cs.k * cs.k;
            printf("  v%d %-26s %8.4f ms  %7.1f GFLOP/s\n", v, cs.name, ms, flops / ms * 1e-6);
        }
    }
    }
#endif
    return ck.finish("conv2d_dx");
}
