// SGD (PyTorch's rule, optional momentum and weight decay) on a whole parameter, and on the
// selected input-channel slice W[:, S] only, scattering from the compact gradient dw_sel.
#include "common.cuh"
#include "kernels.cuh"

namespace trady4j {

// Written with explicitly rounded operations (no FMA contraction) so that a step matches the Java
// reference bit for bit.
__device__ __forceinline__ void sgd_step(float& p, float g, float* m, float lr, float mu, float wd) {
    float d = __fadd_rn(g, __fmul_rn(wd, p));
    if (m) {
        *m = __fadd_rn(__fmul_rn(mu, *m), d);
        d = *m;
    }
    p = __fsub_rn(p, __fmul_rn(lr, d));
}

__global__ void sgd_update_kernel(int64_t n, float* __restrict__ p, const float* __restrict__ g,
                                  float* __restrict__ m, float lr, float mu, float wd) {
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        float pv = p[e];
        sgd_step(pv, g[e], m ? m + e : nullptr, lr, mu, wd);
        p[e] = pv;
    }
}

// One thread per element of dw_sel [mg, nsel, k2]: consecutive threads walk the k2 weights of one
// (output, selected channel) pair, which are contiguous in w too.
__global__ void sgd_update_sparse_kernel(int cg, int mg, int k2, const int32_t* __restrict__ sel, int nsel,
                                         float* __restrict__ w, const float* __restrict__ dw, float* __restrict__ m,
                                         float lr, float mu, float wd) {
    const int64_t total = (int64_t)mg * nsel * k2;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        const int t = (int)(e % k2);
        const int j = (int)((e / k2) % nsel);
        const int o = (int)(e / ((int64_t)k2 * nsel));
        const int c = __ldg(sel + j);
        const int grp = c / cg;
        const int local = c - grp * cg;
        const int64_t wi = ((int64_t)(grp * mg + o) * cg + local) * k2 + t;
        float pv = w[wi];
        sgd_step(pv, dw[e], m ? m + e : nullptr, lr, mu, wd);
        w[wi] = pv;
    }
}

cudaError_t sgd_update(int64_t n, float* p, const float* g, float* m, float lr, float mu, float wd,
                       cudaStream_t stream) {
    T4J_LAUNCH(elementwise_blocks(n, 256), 256, 0, stream, sgd_update_kernel)(n, p, g, mu > 0.f ? m : nullptr, lr, mu, wd);
    return cudaGetLastError();
}

cudaError_t sgd_update_sparse(int cout, int cg, int k2, int groups, const int32_t* sel, int nsel, float* w,
                              const float* dw, float* m, float lr, float mu, float wd, cudaStream_t stream) {
    const int mg = cout / groups;
    T4J_LAUNCH(elementwise_blocks((int64_t)mg * nsel * k2, 256), 256, 0, stream, sgd_update_sparse_kernel)(
        cg, mg, k2, sel, nsel, w, dw, mu > 0.f ? m : nullptr, lr, mu, wd);
    return cudaGetLastError();
}

}  // namespace trady4j
