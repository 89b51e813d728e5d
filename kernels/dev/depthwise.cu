// Dev harness: the v3 depthwise kernels of kernels/depthwise.cu (forward with the fused gather,
// input gradient, sparse weight gradient through conv2d_dw_sparse's split sum), each called
// directly so that no dispatch can route a case elsewhere, on MobileNetV2's edge shapes (4x4 and
// 8x8 planes, stride 2 with odd sizes, every padding, 5x5 and 7x7, |S| = 1 and = C, plane sizes
// not a multiple of 4) and random shapes, against the double-precision references.
//   make depthwise && ./depthwise [seed]     |     make emu_depthwise && ./emu_depthwise
#include "dev_common.h"
#include "reference.h"

#include "../conv2d_dw_sparse.cu"
#include "../depthwise.cu"
#include "../dw_sparse_stream.cu"

struct Case {
    const char* name;
    int b, c, h, w, k, s, p, nsel, act;
};

static trady4j_conv2d_shape shape_of(const Case& cs) {
    return ref_shape(cs.b, cs.c, cs.h, cs.w, cs.c, cs.k, cs.s, cs.p, 1, cs.c);
}

static void check_forward(Checker& ck, const Case& cs, uint64_t seed) {
    Rng rng(seed);
    const trady4j_conv2d_shape s = shape_of(cs);
    const std::vector<float> x = rng.floats(ref_numel_x(s)), w = rng.floats(ref_numel_w(s)), bias = rng.floats(cs.c);
    const std::vector<int32_t> sel = cs.nsel > 0 ? rng.selection(cs.c, cs.nsel) : std::vector<int32_t>{0};
    DeviceBuffer<float> dx(x), dw(w), db(bias), dy(ref_numel_y(s));
    DeviceBuffer<int32_t> dsel(sel);
    DeviceBuffer<float> dxs((size_t)cs.b * (cs.nsel > 0 ? cs.nsel : 1) * cs.h * cs.w);
    dy.poison();
    dxs.poison();
    CUDA_CHECK(trady4j::depthwise_forward(s, dx.p, dw.p, db.p, cs.act, dsel.p, cs.nsel, dxs.p, dy.p, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[160];
    snprintf(what, sizeof what, "v3 fwd %s (seed %llu)", cs.name, (unsigned long long)seed);
    ck.expect(what, dy.download(), ref_conv2d_forward(s, x, w, &bias, cs.act));
    if (cs.nsel > 0) {
        snprintf(what, sizeof what, "v3 fwd %s x_sel |S|=%d", cs.name, cs.nsel);
        ck.expect(what, dxs.download(), ref_gather(x, cs.b, cs.c, cs.h * cs.w, sel), 0.0);
    }
}

static void check_dx(Checker& ck, const Case& cs, uint64_t seed) {
    Rng rng(seed);
    const trady4j_conv2d_shape s = shape_of(cs);
    const std::vector<float> dy = rng.floats(ref_numel_y(s)), w = rng.floats(ref_numel_w(s));
    DeviceBuffer<float> ddy(dy), dw(w), ddx(ref_numel_x(s));
    ddx.poison();
    CUDA_CHECK(trady4j::depthwise_dx(s, ddy.p, dw.p, ddx.p, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[160];
    snprintf(what, sizeof what, "v3 dx %s (seed %llu)", cs.name, (unsigned long long)seed);
    ck.expect(what, ddx.download(), ref_conv2d_dx(s, dy, w));
}

static void check_dw(Checker& ck, const Case& cs, uint64_t seed, int sms) {
    Rng rng(seed);
    const trady4j_conv2d_shape s = shape_of(cs);
    const int nsel = cs.nsel > 0 ? cs.nsel : cs.c;
    const std::vector<float> x = rng.floats(ref_numel_x(s)), dy = rng.floats(ref_numel_y(s));
    const std::vector<int32_t> sel = rng.selection(cs.c, nsel);
    const std::vector<double> xs = ref_gather(x, cs.b, cs.c, cs.h * cs.w, sel);
    const size_t ws_bytes = trady4j::conv2d_dw_sparse_workspace(s, nsel, sms, trady4j::kImplDepthwiseV3);
    if (ws_bytes != trady4j::depthwise_dw_sparse_plan(s, nsel, sms).workspace) {
        ck.expect("v3 dW plan: conv2d_dw_sparse takes the depthwise v3 path", {NAN}, {0.0});
        return;
    }
    DeviceBuffer<float> dxs(std::vector<float>(xs.begin(), xs.end())), ddy(dy), ddw((size_t)nsel * cs.k * cs.k);
    DeviceBuffer<float> ws(ws_bytes / sizeof(float));
    DeviceBuffer<int32_t> dsel(sel);
    ddw.poison();
    ws.poison();
    CUDA_CHECK(trady4j::conv2d_dw_sparse(s, dxs.p, ddy.p, dsel.p, nsel, ddw.p, ws_bytes ? ws.p : nullptr, ws_bytes, sms,
                                         trady4j::kImplDepthwiseV3, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    char what[200];
    snprintf(what, sizeof what, "v3 dW %s |S|=%d sms=%d splits=%d (seed %llu)", cs.name, nsel, sms,
             trady4j::depthwise_dw_sparse_plan(s, nsel, sms).splits, (unsigned long long)seed);
    ck.expect(what, ddw.download(), ref_conv2d_dw_sparse(s, x, dy, sel));
}

int main(int argc, char** argv) {
    const uint64_t seed = argc > 1 ? strtoull(argv[1], nullptr, 10) : 2024;
    const int sms = sm_count_for_harness();
    const Case fixed[] = {
        // name                       b  c   h   w  k  s  p nsel act
        {"3x3 s1 4x4 planes",         3, 5,  4,  4, 3, 1, 1, 2, 2},
        {"3x3 s1 8x8 planes",         2, 7,  8,  8, 3, 1, 1, 1, 1},
        {"3x3 s2 8x8 -> 4x4",         2, 6,  8,  8, 3, 2, 1, 6, 2},
        {"3x3 s2 odd 9x11",           2, 3,  9, 11, 3, 2, 1, 1, 1},
        {"3x3 s2 odd 13x7 pad 0",     1, 4, 13,  7, 3, 2, 0, 2, 0},
        {"3x3 s2 pad 2",              1, 3, 10, 10, 3, 2, 2, 3, 0},
        {"3x3 s1 pad 0",              2, 3, 10,  9, 3, 1, 0, 2, 1},
        {"3x3 s1 pad 2",              1, 2,  7,  7, 3, 1, 2, 1, 0},
        {"3x3 s1 wide 70x66 (tiles)", 1, 2, 66, 70, 3, 1, 1, 1, 2},
        {"3x3 s2 wide 67x131",        1, 2, 67, 131, 3, 2, 1, 2, 1},
        {"3x3 s1 2x3 plane",          2, 3,  2,  3, 3, 1, 1, 3, 0},
        {"5x5 s1 pad 2",              2, 3, 12, 10, 5, 1, 2, 1, 1},
        {"5x5 s2 odd pad 2",          1, 4, 15, 13, 5, 2, 2, 4, 2},
        {"5x5 s2 pad 1",              1, 2, 11, 12, 5, 2, 1, 1, 0},
        {"7x7 s1 pad 3",              1, 3, 12, 12, 7, 1, 3, 2, 1},
        {"7x7 s2 pad 3 odd",          2, 2, 17, 15, 7, 2, 3, 2, 2},
        {"7x7 s2 4x4 out, many planes", 4, 24, 8, 8, 7, 2, 3, 24, 0},
        {"3x3 s1 many 4x4 planes",    8, 20, 4,  4, 3, 1, 1, 1, 2},
        {"3x3 s1 unaligned 6x6",      5, 9,  6,  6, 3, 1, 1, 9, 1},
        {"3x3 s1 long K (splits)",    8, 3, 24, 24, 3, 1, 1, 2, 0},
        {"no selection",              1, 3,  9,  9, 3, 1, 1, 0, 0},
    };
    Checker ck;
    for (const Case& cs : fixed) {
        check_forward(ck, cs, seed);
        check_dx(ck, cs, seed);
        check_dw(ck, cs, seed, sms);
        check_dw(ck, cs, seed, 1);
    }
    Rng pick(seed);
    const int randoms = kEmulated ? 24 : 200;
    for (int t = 0; t < randoms; ++t) {
        Case cs;
        cs.name = "random";
        cs.k = 3 + 2 * pick.range(0, 2);
        cs.s = pick.range(1, 2);
        cs.p = pick.range(0, cs.k / 2 + 1);
        cs.c = pick.range(1, 6);
        cs.b = pick.range(1, 3);
        cs.h = cs.k + pick.range(0, kEmulated ? 12 : 40) - 2 * cs.p;
        cs.w = cs.k + pick.range(0, kEmulated ? 12 : 40) - 2 * cs.p;
        if (cs.h < 1) cs.h = 1;
        if (cs.w < 1) cs.w = 1;
        if (ref_out_size(cs.h, cs.k, cs.s, cs.p, 1) < 1 || ref_out_size(cs.w, cs.k, cs.s, cs.p, 1) < 1) continue;
        cs.nsel = pick.range(0, cs.c);
        cs.act = pick.range(0, 2);
        const uint64_t sd = seed * 1000 + t;
        check_forward(ck, cs, sd);
        check_dx(ck, cs, sd);
        check_dw(ck, cs, sd, sms);
    }
    return ck.finish("depthwise");
}
