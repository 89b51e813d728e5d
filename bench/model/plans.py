"""What the library launches for (op, implementation, shape, |S|): a mirror of the host code.

Eligibility mirrors kernels/versions.cu (the implementation table); the launches mirror the
launchers in kernels/conv2d.cu, conv2d_dx.cu, conv2d_dw_sparse.cu, depthwise.cu and
dw_sparse_stream.cu (tile choice, grid size, split-K plan). Each launch names its kernel as
kernels/PERF.md does, with its grid, block size, dynamic shared memory and the FFMA (or MMA)
count of one thread, which kernels.py turns into issue and shared-load time.
"""
import dataclasses

import hardware

OPS = ('conv2d_forward', 'conv2d_gather', 'conv2d_dx', 'conv2d_dw_sparse')
# v6 is a row position per op: v6_stream in the dW table, v6_pointwise in the forward and dx tables
IMPLEMENTATIONS = ('v1_naive', 'v2_tiled', 'v3_microkernel', 'v4_tf32', 'v5_depthwise', 'v6_stream', 'v6_pointwise',
                   'v7_splitk')
DENSITIES = (0.01, 0.1, 1.0)

GEMM_BK = 16  # igemm.cuh kGemmBK
MAX_TAPS_V3 = 64  # conv2d.cu kMaxTapsV3, conv2d_dx.cu kMaxTapsDxV3
ELEMENTWISE_MAX_BLOCKS = 65536  # common.cuh elementwise_blocks
MAX_SPLIT_WORKSPACE = 256 << 20
DW3_MAX_SMEM = 48 * 1024
DW3_V = 4  # outputs per thread along a row
STREAM_MAX_COLS = 32
PW_THREADS = 256  # pointwise.cu kThreads (256 / KS quads of 4 pixels per block)
PW_TILES = ((16, 1), (8, 1), (4, 1), (8, 2), (4, 2), (8, 4), (4, 4))  # pointwise.cu: (TM, KS) in tie order


def nsel_for(density, channels):
    """Selected input channels at a density (the contract: max(1, round(d * C)))."""
    return max(1, int(round(density * channels)))


def ceil_div(a, b):
    return -(-a // b)


# ------------------------------------------------------------------ eligibility (versions.cu)

def depthwise_v3_supports(s):
    return s.depthwise and s.kernel in (3, 5, 7) and s.stride in (1, 2)


def stream_supports(s, nsel):
    return s.groups == 1 and s.hwo % 4 == 0 and nsel * s.k2 <= STREAM_MAX_COLS


def pointwise_supports(s):
    return s.kernel == 1 and s.stride == 1 and s.padding == 0 and s.groups == 1 and s.hw % 4 == 0


def eligible(op, impl, s, nsel):
    """Whether versions.cu lists `impl` for `op` on this shape (v4_tf32: with TRADY4J_MATH=tf32)."""
    if impl in ('v1_naive', 'v2_tiled', 'v3_microkernel', 'v4_tf32'):
        return True
    if impl == 'v5_depthwise':
        return depthwise_v3_supports(s)
    if impl == 'v6_stream':
        return op == 'conv2d_dw_sparse' and stream_supports(s, nsel)
    if impl == 'v6_pointwise':
        return op != 'conv2d_dw_sparse' and pointwise_supports(s)
    if impl == 'v7_splitk':
        return op != 'conv2d_dw_sparse'
    return False


def heuristic(op, s, nsel):
    """impl_heuristic in versions.cu: v5 where eligible, v6 (stream for dW, pointwise for forward and dx)
    where eligible, else v2."""
    if depthwise_v3_supports(s):
        return 'v5_depthwise'
    if op == 'conv2d_dw_sparse' and stream_supports(s, nsel):
        return 'v6_stream'
    if op != 'conv2d_dw_sparse' and pointwise_supports(s):
        return 'v6_pointwise'
    return 'v2_tiled'


# ------------------------------------------------------------------ launches

@dataclasses.dataclass
class Launch:
    kernel: str            # as in kernels/PERF.md
    blocks: int
    threads: int
    arith_per_thread: float  # FFMA (or, for TF32 kernels, MMA) instructions one thread executes
    dynamic_smem: int = 0
    stages_in_flight: int = 1  # loop iterations of global loads a thread keeps in flight
    memory_only: bool = False  # a copy/reduction launch: time = its bytes / bandwidth
    bytes: int = 0             # for memory_only launches


def elementwise(total, threads=256):
    """Blocks and the grid-stride repeat of a one-thread-per-element kernel."""
    blocks = max(1, min(ELEMENTWISE_MAX_BLOCKS, ceil_div(total, threads)))
    return blocks, ceil_div(total, blocks * threads)


def v3_config(bm, bn, bk, tf32=False, ks=1):
    return 'GemmV3Config<%d, %d, %d, 3, %s, %d> ' % (bm, bn, bk, 'true' if tf32 else 'false', ks)


SPLITK_TILES = {2: (32, 64, 32), 4: (32, 32, 32)}  # conv2d.cu / conv2d_dx.cu FwdSplitK2/4, DxSplitK2/4


def splitk(kernel_of, groups, M, N, K, stats, sms):
    """launch_fwd_splitk / launch_dx_splitk: KS = 2 where its grid fills every SM's resident slots, else 4."""
    bm, bn, _ = SPLITK_TILES[2]
    ks2_tiles = groups * ceil_div(M, bm) * ceil_div(N, bn)
    ks = 2 if ks2_tiles >= stats.blocks_per_sm(kernel_of(2, True)) * sms else 4
    bm, bn, bk = SPLITK_TILES[ks]
    return [gemm(kernel_of(ks, False), groups, M, N, K, bm, bn, bk, stats, stages=2)]


# ---- forward (conv2d.cu)

def forward_launches(s, impl, stats, sms=hardware.SMS):
    """conv2d_forward's launch; the gathered form adds a few copy blocks (x[:, S] -> x_sel) to the same
    grid, whose bytes are in the op's minimum bytes and which are not charged as arithmetic."""
    if impl == 'v1_naive':
        return [naive_forward(s)]
    if impl == 'v6_pointwise':
        return [pointwise(s.out_channels, s.in_channels, s.batch * s.hw // 4, sms)]
    if s.depthwise:
        if impl == 'v5_depthwise':
            return [dw3_direct(s, stats, dx=False)]
        if s.hwo < 64:
            return [naive_forward(s)]
        tw = 32 if s.out_width >= 24 else (16 if s.out_width >= 12 else 8)
        th = 256 // tw
        iw_n = (tw - 1) * s.stride + (s.kernel - 1) + 1
        ih_n = (th - 1) * s.stride + (s.kernel - 1) + 1
        smem = (iw_n * ih_n + s.k2) * 4
        if smem > 48 * 1024:
            return [naive_forward(s)]
        blocks = s.batch * s.in_channels * ceil_div(s.out_width, tw) * ceil_div(s.out_height, th)
        return [Launch('conv2d_fwd_dw_tiled_kernel<%d>' % tw, blocks, 256, s.k2, dynamic_smem=smem)]
    M, N, K = s.mg, s.batch * s.hwo, s.cg * s.k2
    if impl == 'v3_microkernel' and s.k2 <= MAX_TAPS_V3:
        big = s.groups * ceil_div(M, 128) * ceil_div(N, 128)
        bm, bn, bk = (128, 128, 8) if M >= 96 and big >= sms else (64, 64, 16)
        return [gemm('conv2d_fwd_igemm_v3_kernel<%s>' % v3_config(bm, bn, bk), s.groups, M, N, K, bm, bn, bk, stats, stages=2)]
    if impl == 'v4_tf32' and s.k2 <= MAX_TAPS_V3:
        return [gemm('conv2d_fwd_igemm_v3_kernel<%s>' % v3_config(64, 64, 16, True), s.groups, M, N, K, 64, 64, 16,
                     stats, stages=2)]
    if impl == 'v7_splitk' and s.k2 <= MAX_TAPS_V3:
        return splitk(lambda ks, _: 'conv2d_fwd_igemm_v3_kernel<%s>' % v3_config(*SPLITK_TILES[ks], ks=ks),
                      s.groups, M, N, K, stats, sms)
    bm, bn = (16, 128) if M <= 16 else (64, 64)
    return [gemm('conv2d_fwd_igemm_kernel<%d, %d>' % (bm, bn), s.groups, M, N, K, bm, bn, GEMM_BK, stats)]


def naive_forward(s):
    blocks, repeat = elementwise(s.batch * s.out_channels * s.hwo)
    return Launch('conv2d_fwd_naive_kernel', blocks, 256, repeat * s.cg * s.k2)


def gemm(kernel, groups, M, N, K, bm, bn, bk, stats, stages=1, splits=1, k_chunk=None):
    """An implicit-GEMM launch: one block per (group, split, tile); a thread's FFMA (MMA) per K step
    is the hot loop's count, so arith_per_thread counts K steps times that."""
    tiles = ceil_div(M, bm) * ceil_div(N, bn)
    steps = ceil_div(k_chunk if k_chunk else K, bk)
    per_step = stats.hot_arith(kernel)
    return Launch(kernel, groups * splits * tiles, 256, steps * per_step, stages_in_flight=stages)


# ---- pointwise v6 (pointwise.cu)

def pointwise_tile(rows, K, quads, sms):
    """pointwise_tile: (rows per thread, channel groups) whose busiest SM has the least work (ties: the earlier)."""
    best, best_cost = None, None
    for tm, ks in PW_TILES:
        blocks = ceil_div(rows, tm) * ceil_div(quads, PW_THREADS // ks)
        per_fma = 1.0 + (tm / 4.0 + 3.0) / (4.0 * tm)
        per_thread = ceil_div(K, ks) * 4 * tm * per_fma + (5.0 * tm * (ks - 1) if ks > 1 else 0.0)
        cost = ceil_div(blocks, max(1, sms)) * per_thread
        if best is None or cost < best_cost:
            best, best_cost = (tm, ks), cost
    return best


def pointwise(rows, K, quads, sms):
    """pointwise_kernel<TM, KS, true> (aligned tensors): a thread 4 pixels x TM rows over K / KS channels,
    4·TM FFMA per channel."""
    tm, ks = pointwise_tile(rows, K, quads, sms)
    blocks = ceil_div(rows, tm) * ceil_div(quads, PW_THREADS // ks)
    return Launch('pw::pointwise_kernel<%d, %d, true>' % (tm, ks), blocks, PW_THREADS, ceil_div(K, ks) * 4 * tm)


# ---- depthwise v3 tiling (depthwise.cu make_tiling)

def log2_ceil(n):
    l = 0
    while (1 << l) < n:
        l += 1
    return l


def dw3_tiling(planes, out_h, out_w, out_rows, window):
    """(blocks, threads, smem) of make_tiling; None if no tile fits in 48 KiB."""
    tx = min(4, log2_ceil(ceil_div(out_w, DW3_V)))
    ty = min(8 - tx, log2_ceil(ceil_div(out_h, out_rows)))
    ppb = min(8 - tx - ty, log2_ceil(planes))
    while True:
        h, w = window(1 << tx, 1 << ty)
        stride = (w + 3) & ~3
        smem = (1 << ppb) * h * stride * 4
        if smem <= DW3_MAX_SMEM:
            break
        if ppb > 0:
            ppb -= 1
        elif ty > 0:
            ty -= 1
        else:
            return None
    threads = (1 << ppb) << (tx + ty)
    tiles_x = ceil_div(out_w, DW3_V << tx)
    tiles_y = ceil_div(out_h, out_rows << ty)
    return ceil_div(planes, 1 << ppb) * tiles_x * tiles_y, threads, smem


def dw3_direct(s, stats, dx):
    """dw_direct_kernel<K, S, FLIP>: forward, or dx of stride 1 (flipped, over dy)."""
    k = s.kernel
    planes = s.batch * s.in_channels
    if dx:
        out_h, out_w, st = s.height, s.width, 1
    else:
        out_h, out_w, st = s.out_height, s.out_width, s.stride
    t = dw3_tiling(planes, out_h, out_w, 1, lambda tx, ty: ((ty - 1) * st + k, (tx * DW3_V - 1) * st + k))
    blocks, threads, smem = t
    name = 'dw3::dw_direct_kernel<%d, %d, %s>' % (k, st, 'true' if dx else 'false')
    return Launch(name, blocks, threads, stats.whole_arith(name), dynamic_smem=smem)


def dw3_dx_s2(s, stats):
    k, parity = s.kernel, s.padding & 1
    cmin = (parity - (k - 1) + ((parity - (k - 1)) & 1)) // 2
    nr = (parity + 1 - ((parity + 1) & 1)) // 2 - cmin + 1
    seg = (parity + 3 - ((parity + 3) & 1)) // 2 - cmin + 1
    blocks, threads, smem = dw3_tiling(s.batch * s.in_channels, s.height, s.width, 2,
                                       lambda tx, ty: ((ty - 1) + nr, 2 * (tx - 1) + seg))
    name = 'dw3::dw_dx_s2_kernel<%d, %d>' % (k, parity)
    return Launch(name, blocks, threads, stats.whole_arith(name), dynamic_smem=smem)


# ---- input gradient (conv2d_dx.cu)

def dx_launches(s, impl, stats, sms=hardware.SMS):
    if impl == 'v5_depthwise':
        return [dw3_direct(s, stats, dx=True) if s.stride == 1 else dw3_dx_s2(s, stats)]
    if impl == 'v6_pointwise':
        return [pointwise(s.in_channels, s.out_channels, s.batch * s.hw // 4, sms)]
    if impl == 'v1_naive' or s.cg == 1:
        blocks, repeat = elementwise(s.batch * s.in_channels * s.hw)
        taps = max(1, s.k2 // (s.stride * s.stride))  # taps of the window that meet a dy element
        return [Launch('conv2d_dx_naive_kernel', blocks, 256, repeat * s.mg * taps)]
    stride = s.stride if s.stride in (1, 2) else 0
    M, N, K = s.cg, s.batch * s.hw, s.mg * s.k2
    if impl == 'v3_microkernel' and s.k2 <= MAX_TAPS_V3:
        big = s.groups * ceil_div(M, 128) * ceil_div(N, 128)
        bm, bn, bk = (128, 128, 8) if M >= 96 and big >= sms else (64, 64, 16)
        return [gemm('conv2d_dx_igemm_v3_kernel<%s, %d>' % (v3_config(bm, bn, bk).strip(), stride), s.groups, M, N,
                     K, bm, bn, bk, stats, stages=2)]
    if impl == 'v4_tf32' and s.k2 <= MAX_TAPS_V3:
        return [gemm('conv2d_dx_igemm_v3_kernel<%s, %d>' % (v3_config(64, 64, 16, True).strip(), stride), s.groups,
                     M, N, K, 64, 64, 16, stats, stages=2)]
    if impl == 'v7_splitk' and s.k2 <= MAX_TAPS_V3:
        # the occupancy query names the stride-1 instantiation
        return splitk(lambda ks, occupancy: 'conv2d_dx_igemm_v3_kernel<%s, %d>'
                      % (v3_config(*SPLITK_TILES[ks], ks=ks).strip(), 1 if occupancy else stride),
                      s.groups, M, N, K, stats, sms)
    bm, bn = (16, 128) if M <= 16 else (64, 64)
    return [gemm('conv2d_dx_igemm_kernel<%d, %d, %d>' % (bm, bn, stride), s.groups, M, N, K, bm, bn, GEMM_BK, stats)]


# ---- sparse weight gradient (conv2d_dw_sparse.cu plan_dw)

def choose_splits(tiles, K, min_k, out_elems, sms, blocks_per_sm, round_to=GEMM_BK):
    splits = ceil_div(blocks_per_sm * sms, max(1, tiles))
    splits = min(splits, K // min_k)
    while splits > 1 and splits * out_elems * 4 > MAX_SPLIT_WORKSPACE:
        splits //= 2
    splits = max(1, splits)
    chunk = ceil_div(ceil_div(K, splits), round_to) * round_to
    return ceil_div(K, chunk), chunk


def sum_splits(splits, out_elems):
    blocks, _ = elementwise(out_elems)
    return Launch('sum_splits_kernel', blocks, 256, 0, memory_only=True, bytes=(splits + 1) * out_elems * 4)


def dw_launches(s, impl, nsel, stats, sms=hardware.SMS):
    K = s.batch * s.hwo
    out_elems = s.mg * nsel * s.k2
    if impl == 'v1_naive' or (s.depthwise and s.kernel > 7):
        blocks, repeat = elementwise(out_elems)
        return [Launch('conv2d_dw_sparse_naive_kernel', blocks, 256, repeat * K)]
    if s.depthwise and impl == 'v5_depthwise':
        name = 'dw3::dw_dw_sparse_kernel<%d, %d>' % (s.kernel, s.stride)
        tx = min(8, log2_ceil(ceil_div(s.out_width, DW3_V)))
        row_step = 256 >> tx
        rows = s.batch * s.out_height
        splits = ceil_div(sms * stats.blocks_per_sm(name), nsel)
        splits = min(splits, rows // (4 * row_step))
        while splits > 1 and splits * nsel * s.k2 * 4 > MAX_SPLIT_WORKSPACE:
            splits //= 2
        splits = max(1, splits)
        chunk = ceil_div(rows, splits)
        splits = ceil_div(rows, chunk)
        per_thread = ceil_div(chunk, row_step) * stats.hot_arith(name)
        return with_sum([Launch(name, nsel * splits, 256, per_thread)], splits, nsel * s.k2)
    if s.depthwise:
        name = 'conv2d_dw_sparse_depthwise_kernel<%d>' % s.kernel
        splits, chunk = choose_splits(nsel, K, 2048, out_elems, sms, stats.blocks_per_sm(name))
        per_thread = ceil_div(chunk, 256) * stats.hot_arith(name)
        return with_sum([Launch(name, nsel * splits, 256, per_thread)], splits, out_elems)
    if impl == 'v6_stream':
        return stream_launches(s, nsel, stats, sms)
    cols = (nsel if s.groups == 1 else min(nsel, s.cg)) * s.k2
    bm = 16 if s.mg <= 16 else 64
    bn = 16 if cols <= 16 else (64 if cols <= 64 or bm == 64 else 128)
    v2_name = 'conv2d_dw_sparse_igemm_kernel<%d, %d>' % (bm, bn)
    busy = 1 if s.groups == 1 else min(nsel, s.groups)
    tiles = ceil_div(s.mg, bm) * ceil_div(cols, bn)
    splits, chunk = choose_splits(tiles * busy, K, 256, out_elems, sms, stats.blocks_per_sm(v2_name))
    if impl in ('v3_microkernel', 'v4_tf32'):
        name = 'conv2d_dw_sparse_igemm_v3_kernel<%s>' % v3_config(64, 64, 16, impl == 'v4_tf32')
        launch = gemm(name, s.groups, s.mg, cols, K, 64, 64, 16, stats, stages=2, splits=splits, k_chunk=chunk)
    else:
        launch = gemm(v2_name, s.groups, s.mg, cols, K, bm, bn, GEMM_BK, stats, splits=splits, k_chunk=chunk)
    return with_sum([launch], splits, out_elems)


def stream_launches(s, nsel, stats, sms):
    cols = nsel * s.k2
    nc = 4 if cols <= 4 else 8 if cols <= 8 else 16 if cols <= 16 else 32
    r = 4 if s.out_channels >= 32 else 2 if s.out_channels >= 16 else 1
    while r * nc > 32:
        r //= 2
    name = 'dws::dw_stream_kernel<%d, %d>' % (nc, r)
    row_blocks = ceil_div(s.out_channels, 8 * r)
    sq = 128 if nc <= 16 else 64
    quads = s.batch * (s.hwo // 4)
    splits = ceil_div(sms * stats.blocks_per_sm(name), row_blocks)
    splits = min(splits, quads // (2 * sq))
    out_elems = s.out_channels * nsel * s.k2
    while splits > 1 and splits * out_elems * 4 > MAX_SPLIT_WORKSPACE:
        splits //= 2
    splits = max(1, splits)
    chunk = ceil_div(quads, splits)
    splits = ceil_div(quads, chunk)
    # a step: each warp streams R rows of dy over SQ quads, NC columns each; the hot loop is one step
    per_thread = ceil_div(chunk, sq) * stats.hot_arith(name)
    return with_sum([Launch(name, row_blocks * splits, 256, per_thread)], splits, out_elems)


def with_sum(launches, splits, out_elems):
    return launches + [sum_splits(splits, out_elems)] if splits > 1 else launches


def launches(op, impl, s, nsel, stats, sms=hardware.SMS):
    if op in ('conv2d_forward', 'conv2d_gather'):
        return forward_launches(s, impl, stats, sms)
    if op == 'conv2d_dx':
        return dx_launches(s, impl, stats, sms)
    if op == 'conv2d_dw_sparse':
        return dw_launches(s, impl, nsel, stats, sms)
    raise ValueError('unknown op ' + op)


# ------------------------------------------------------------------ the op's own work (the floor)

def useful_flops(op, s, nsel):
    """2 x multiply-adds: the convolution's for forward and dx; for dW, of the |S| selected input
    channels, each feeding the mg output channels of its group."""
    if op in ('conv2d_forward', 'conv2d_gather', 'conv2d_dx'):
        return 2 * s.batch * s.out_channels * s.hwo * s.cg * s.k2
    return 2 * s.mg * nsel * s.k2 * s.batch * s.hwo


def min_bytes(op, s, nsel):
    """Each tensor the op must read read once, each output written once (fp32)."""
    x = s.batch * s.in_channels * s.hw
    y = s.batch * s.out_channels * s.hwo
    w = s.out_channels * s.cg * s.k2
    if op == 'conv2d_forward':
        n = x + w + y
    elif op == 'conv2d_gather':
        n = x + w + y + s.batch * nsel * s.hw  # + x[:, S] written
    elif op == 'conv2d_dx':
        n = y + w + x
    else:
        dy = s.batch * nsel * s.hwo if s.depthwise else y  # a dense layer's dW reads all of dy
        n = dy + s.batch * nsel * s.hw + s.mg * nsel * s.k2
    return 4 * n
