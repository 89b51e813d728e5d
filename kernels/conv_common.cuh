// Convolution geometry with the derived sizes every conv kernel needs, passed by value.
#pragma once

#include "common.cuh"

namespace trady4j {

struct ConvGeom {
    int batch, cin, h, w;        // input [batch, cin, h, w]
    int cout, ho, wo;            // output [batch, cout, ho, wo]
    int k, stride, pad, dil;     // square kernel k x k
    int groups, cg, mg;          // cg = cin / groups, mg = cout / groups
    int k2, hw, hwo;             // k*k, h*w, ho*wo
};

__host__ __forceinline__ ConvGeom make_geom(const trady4j_conv2d_shape& s) {
    ConvGeom g;
    g.batch = s.batch;
    g.cin = s.in_channels;
    g.h = s.in_height;
    g.w = s.in_width;
    g.cout = s.out_channels;
    g.ho = s.out_height;
    g.wo = s.out_width;
    g.k = s.kernel;
    g.stride = s.stride;
    g.pad = s.padding;
    g.dil = s.dilation;
    g.groups = s.groups;
    g.cg = s.in_channels / s.groups;
    g.mg = s.out_channels / s.groups;
    g.k2 = s.kernel * s.kernel;
    g.hw = s.in_height * s.in_width;
    g.hwo = s.out_height * s.out_width;
    return g;
}

// True depthwise: one input and one output channel per group.
__host__ __forceinline__ bool is_depthwise(const ConvGeom& g) { return g.cg == 1 && g.mg == 1; }

}  // namespace trady4j
