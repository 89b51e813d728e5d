"""Per-launch time bounds from the static counts of kernels/PERF.md (bench/model/kernel-stats.json).

A thread of a kernel with an arithmetic hot loop executes `arith` FFMA (MMA) at the loop's cost per
FFMA, plus its straight-line code once; a kernel without one (the depthwise v3 kernels: their taps
are unrolled) executes its whole function once per `arith` of the whole function. From the grid,
the occupancy (registers, shared memory) and the SM count:

  issue  = instructions of the busiest SM / (4 per clock x the share of issue slots its resident
           warps can fill)
  shared = 128-byte shared-load wavefronts of the busiest SM / (1 per clock): 1, 2, 4 per LDS.32,
           .64, .128 of a warp (distinct addresses), 1.5 per LDS.128 of the v3 GEMM tiles (half broadcast)
  latency-limited bandwidth = bytes a resident thread keeps in flight x resident threads x busy
           SMs / DRAM latency (Little's law), which caps the HBM bandwidth for small grids
"""
import json
import math
import os

import hardware

STATS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kernel-stats.json')

REGS_PER_SM = 65536
REG_ALLOC_UNIT = 256
SMEM_PER_SM = 233472
SMEM_RESERVED_PER_BLOCK = 1024
# 128-byte wavefronts per warp-wide shared load when the 32 lanes read distinct consecutive words
LDS_WAVEFRONTS = {'LDS.32': 1, 'LDS.64': 2, 'LDS.128': 4}
# igemm_v3.cuh's 16 x 16 thread grid: a warp spans 2 rows (ty) and 16 columns (tx), so the A-fragment
# LDS.128 are broadcasts (2 addresses: 1 wavefront) and the B-fragment LDS.128 read 16 distinct
# float4 (2 wavefronts); its loop issues as many of each (TM = TN), 1.5 on average.
LDS_WAVEFRONTS_V3_TILE = dict(LDS_WAVEFRONTS, **{'LDS.128': 1.5})
LOAD_BYTES = {'LDG.32': 4, 'LDG.64': 8, 'LDG.128': 16, 'cp.async.32': 4, 'cp.async.64': 8, 'cp.async.128': 16}


def blocks_per_sm(regs, threads, smem):
    """Theoretical resident blocks on an sm_90 SM."""
    warps = max(1, math.ceil(threads / 32))
    per_warp = math.ceil(regs * 32 / REG_ALLOC_UNIT) * REG_ALLOC_UNIT
    by_regs = (REGS_PER_SM // per_warp) // warps
    by_threads = hardware.MAX_WARPS_PER_SM // warps
    by_smem = SMEM_PER_SM // (smem + SMEM_RESERVED_PER_BLOCK) if smem else hardware.MAX_BLOCKS_PER_SM
    return max(0, min(by_regs, by_threads, by_smem, hardware.MAX_BLOCKS_PER_SM))


class KernelStats:
    def __init__(self, path=STATS, data=None):
        if data is None:
            with open(path) as f:
                data = json.load(f)
        self.kernels = data['kernels']

    def get(self, name):
        if name not in self.kernels:
            raise KeyError('kernel %r is not in the static counts (regenerate: make -C kernels/dev perf-report)' % name)
        return self.kernels[name]

    def blocks_per_sm(self, name, dynamic_smem=0, threads=None):
        k = self.get(name)
        return blocks_per_sm(k['regs'], threads or k['threads'], k['static_smem'] + dynamic_smem)

    @staticmethod
    def _arith(counts):
        return counts.get('FFMA', 0) + counts.get('MMA', 0)

    def hot_arith(self, name):
        """FFMA (MMA) per iteration of the hot loop, per thread."""
        h = self.get(name)['hot_loop']
        if h is None:
            raise ValueError('kernel %s has no arithmetic loop' % name)
        return self._arith(h['counts'])

    def whole_arith(self, name):
        return self._arith(self.get(name)['whole'])

    @staticmethod
    def wavefronts(name, counts):
        table = LDS_WAVEFRONTS_V3_TILE if 'igemm_v3' in name else LDS_WAVEFRONTS
        return sum(counts.get(x, 0) * v for x, v in table.items())

    def per_arith(self, name):
        """(instructions, LDS wavefronts, global load bytes) per FFMA (MMA), and the straight-line
        instructions a thread runs once besides."""
        k = self.get(name)
        h = k['hot_loop']
        if h is not None:
            a = self._arith(h['counts'])
            return (h['instr'] / a, self.wavefronts(name, h['counts']) / a, h['global_load_bytes_per_thread'] / a,
                    k['straight_line_instr'])
        c = k['whole']
        a = self._arith(c) or 1
        waves = self.wavefronts(name, c)
        loads = sum(c.get(x, 0) * v for x, v in LOAD_BYTES.items())
        return k['instructions'] / a, waves / a, loads / a, 0

    def in_flight_bytes(self, name, stages):
        """Global-load bytes a thread has in flight: a hot-loop iteration's loads times the stages the
        pipeline keeps ahead, or all loads of a straight-line kernel."""
        k = self.get(name)
        h = k['hot_loop']
        if h is not None:
            return h['global_load_bytes_per_thread'] * stages
        return sum(k['whole'].get(x, 0) * v for x, v in LOAD_BYTES.items())


def launch_bounds(launch, stats, sms=hardware.SMS):
    """Seconds by each bound for one launch (flops and bytes are the op's and added by the caller):
    {'issue', 'shared', 'bandwidth' (bytes per second this grid can pull), 'resident_blocks'}."""
    if launch.memory_only:
        return {'issue': 0.0, 'shared': 0.0, 'bandwidth': hardware.HBM_BYTES_PER_S, 'resident_blocks': 0}
    warps_per_block = math.ceil(launch.threads / 32)
    resident = stats.blocks_per_sm(launch.kernel, launch.dynamic_smem, launch.threads)
    if resident < 1:
        raise ValueError('kernel %s cannot be resident with %d threads and %d bytes of dynamic shared memory'
                         % (launch.kernel, launch.threads, launch.dynamic_smem))
    busiest = math.ceil(launch.blocks / sms)  # blocks of the busiest SM, over all waves
    busy_sms = min(sms, launch.blocks)
    ipa, wpa, _, straight = stats.per_arith(launch.kernel)
    instr_per_thread = launch.arith_per_thread * ipa + straight
    warps_resident = min(resident, busiest) * warps_per_block
    fill = min(1.0, warps_resident / (hardware.SCHEDULERS_PER_SM * hardware.WARPS_PER_SCHEDULER_FOR_FULL_ISSUE))
    issue = busiest * warps_per_block * instr_per_thread / (hardware.ISSUE_PER_SM_CLK * hardware.CLOCK_HZ * fill)
    shared = busiest * warps_per_block * launch.arith_per_thread * wpa / (
        hardware.SHARED_WAVEFRONTS_PER_SM_CLK * hardware.CLOCK_HZ)
    flight = stats.in_flight_bytes(launch.kernel, launch.stages_in_flight) * launch.threads * min(resident, busiest)
    bandwidth = min(hardware.HBM_BYTES_PER_S, busy_sms * flight / hardware.DRAM_LATENCY_S) if flight else \
        hardware.HBM_BYTES_PER_S
    return {'issue': issue, 'shared': shared, 'bandwidth': bandwidth, 'resident_blocks': resident}
