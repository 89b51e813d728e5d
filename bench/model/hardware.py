"""NVIDIA H200 (SXM) ceilings for the static model, each with its source.

Datasheet rates are leads (METHOD.md: measure the two ceilings on the device); where this
workplace measured one (/work/.library/device/KINDS.md) that number is used and the datasheet is
given beside it. The model-only assumptions at the end are guesses for the first GPU run to correct.
"""

NAME = 'NVIDIA H200'

# Multiprocessors: PyTorch on a lent H200 reported 132 (KINDS.md, 2026-10-28); H100/H200 SXM have 132.
SMS = 132
# SM clock under load: nvidia-smi read 1980 MHz just after matrix products (KINDS.md, 2026-10-28),
# the H100/H200 SXM maximum boost clock.
CLOCK_HZ = 1.98e9

# FP32 FFMA: 128 FP32 lanes per SM (Hopper whitepaper), 2 FLOP per FFMA:
# 132 * 128 * 2 * 1.98e9 = 66.9 TFLOP/s (datasheet: 67 TFLOP/s fp32).
FP32_LANES_PER_SM = 128
FP32_FLOPS = SMS * FP32_LANES_PER_SM * 2 * CLOCK_HZ

# TF32 tensor cores, dense: 494.7 TFLOP/s (H100/H200 SXM datasheet: 989 with 2:4 sparsity). That rate
# is wgmma's; the library's v4_tf32 uses the older mma.sync (HMMA.1688), which on Hopper reaches
# only part of it. Assumed half (a lead: sm_80-style mma.sync GEMMs are reported at roughly 40-60 %
# of Hopper's dense peak); the first GPU run corrects it.
TF32_DENSE_FLOPS = 494.7e12
MMA_SYNC_FRACTION = 0.5
TF32_MMA_SYNC_FLOPS = TF32_DENSE_FLOPS * MMA_SYNC_FRACTION

# Device memory: a device-to-device copy through PyTorch moved 4.3 TB/s counting bytes read and
# written, on gVisor and on Firecracker (KINDS.md, 2026-10-28 and 2026-11-04). Datasheet: 4.8 TB/s.
HBM_BYTES_PER_S = 4.3e12
HBM_DATASHEET_BYTES_PER_S = 4.8e12

# Issue: 4 schedulers per SM, each issuing one warp instruction per clock (Hopper whitepaper);
# FFMA: 4 warp-FFMA per clock per SM (128 lanes), the same rate, so FFMA never bounds below issue.
ISSUE_PER_SM_CLK = 4
SCHEDULERS_PER_SM = 4
# Shared memory: 32 banks of 4 bytes, one 128-byte wavefront per clock per SM; an LDS.32 of a warp
# without conflicts is one wavefront, LDS.64 two, LDS.128 four.
SHARED_WAVEFRONTS_PER_SM_CLK = 1

# sm_90 occupancy limits (CUDA C Programming Guide, compute capability 9.0).
MAX_WARPS_PER_SM = 64
MAX_BLOCKS_PER_SM = 32

# ---- model assumptions (not measured; the comparison with the first GPU run corrects them)

# Device-memory latency under load, for Little's law on kernels with few blocks in flight:
# H100 pointer-chasing latencies are reported around 0.5-0.6 us.
DRAM_LATENCY_S = 0.6e-6
# Per launch, as a CUDA-event median of back-to-back launches sees it (start, tail, drain).
LAUNCH_OVERHEAD_S = 2.0e-6
# Resident warps per scheduler needed to issue every clock (FFMA and LDS latency hidden by the
# independent instructions of 2 warps' unrolled loops); fewer warps issue proportionally less.
WARPS_PER_SCHEDULER_FOR_FULL_ISSUE = 2


def describe():
    """The ceilings as (name, value, unit, source) rows for predictions-h200.md."""
    return [
        ('SMs', SMS, '', 'KINDS.md 2026-10-28 (PyTorch device properties)'),
        ('SM clock', CLOCK_HZ / 1e9, 'GHz', 'KINDS.md 2026-10-28 (nvidia-smi under load)'),
        ('FP32 FFMA', FP32_FLOPS / 1e12, 'TFLOP/s', '132 SM x 128 lanes x 2 x clock; datasheet 67'),
        ('TF32 mma.sync', TF32_MMA_SYNC_FLOPS / 1e12, 'TFLOP/s',
         'datasheet dense 494.7 x %.2f (assumed mma.sync share of the wgmma peak)' % MMA_SYNC_FRACTION),
        ('HBM', HBM_BYTES_PER_S / 1e12, 'TB/s',
         'KINDS.md device-to-device copy; datasheet %.1f' % (HBM_DATASHEET_BYTES_PER_S / 1e12)),
        ('issue', ISSUE_PER_SM_CLK, 'warp instr/clk/SM', 'Hopper: 4 schedulers x 1'),
        ('shared loads', SHARED_WAVEFRONTS_PER_SM_CLK, '128-B wavefront/clk/SM', 'Hopper: 32 banks x 4 B'),
        ('DRAM latency', DRAM_LATENCY_S * 1e6, 'us', 'assumption (Little\'s law for few blocks)'),
        ('launch overhead', LAUNCH_OVERHEAD_S * 1e6, 'us per launch', 'assumption'),
    ]
