#!/usr/bin/env python3
"""Static performance report of the CUDA kernels for sm_90: writes kernels/PERF.md and the same
numbers as JSON for the model (bench/model/kernel-stats.json).

    python3 kernels/dev/perf_report.py [--md FILE] [--json FILE]     (or: make -C kernels/dev perf-report)

For every kernels/*.cu that defines kernels, it runs the project's `sass-report` (shared/tools/sass:
nvcc -O3 -arch=sm_90 -cubin, ptxas -v, a CUDA 11.8 nvdisasm) and reads from it, per kernel and
template instantiation: registers, spills, static shared memory, barriers; and from the
disassembly, per loop that does arithmetic (FFMA or HMMA), the instruction mix of one iteration.
Block sizes and dynamic shared memory come from the launch code (`T4J_LAUNCH(grid, block, smem,
stream, kernel<...>)` in the same .cu, constants resolved from `constexpr int` definitions); from
them and the registers, the theoretical occupancy on sm_90. Counts, not timings.
"""
import argparse
import collections
import json
import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KERNELS = os.path.join(ROOT, 'kernels')

# sm_90 per-SM limits (CUDA C Programming Guide, compute capability 9.0 table).
REGS_PER_SM = 65536
REG_ALLOC_UNIT = 256  # registers are allocated per warp in units of 256
MAX_WARPS_PER_SM = 64
MAX_BLOCKS_PER_SM = 32
SMEM_PER_SM = 233472  # 228 KiB usable by blocks
SMEM_RESERVED_PER_BLOCK = 1024
DEFAULT_DYNAMIC_SMEM_LIMIT = 48 * 1024  # without cudaFuncSetAttribute (no launcher raises it)


def read(path):
    with open(path) as f:
        return f.read()


def find_sass_tools():
    """The folder of sass-report: $SASS_TOOLS, else shared/tools/sass beside an ancestor of the repository."""
    env = os.environ.get('SASS_TOOLS')
    if env:
        return env
    d = ROOT
    while True:
        cand = os.path.join(d, 'shared', 'tools', 'sass')
        if os.path.isfile(os.path.join(cand, 'sass-report')):
            return cand
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


# ------------------------------------------------------------------ instruction classes

def classify(mnemonic, base_classify):
    """sass_loops' classes, with cp.async split by width (LDGSTS.E.128 ...) and tensor-core MMAs named."""
    base = mnemonic.split('.')[0]
    if base == 'LDGSTS':
        w = '.128' if '.128' in mnemonic else '.64' if '.64' in mnemonic else '.32'
        return 'cp.async' + w
    if base in ('LDGDEPBAR', 'DEPBAR'):
        return 'cp.async.wait'
    if base in ('HMMA', 'HGMMA'):
        return 'MMA'
    return base_classify(mnemonic)


LOAD_BYTES = {'LDG.32': 4, 'LDG.64': 8, 'LDG.128': 16, 'cp.async.32': 4, 'cp.async.64': 8, 'cp.async.128': 16}
LDS_WAVEFRONTS = {'LDS.32': 1, 'LDS.64': 2, 'LDS.128': 4}  # conflict-free: 128 bytes per wavefront


def loop_metrics(counts):
    instr = sum(counts.values())
    ffma = counts.get('FFMA', 0)
    mma = counts.get('MMA', 0)
    lds = sum(counts.get(k, 0) for k in LDS_WAVEFRONTS)
    wavefronts = sum(counts.get(k, 0) * v for k, v in LDS_WAVEFRONTS.items())
    ldg_bytes = sum(counts.get(k, 0) * v for k, v in LOAD_BYTES.items())  # per thread
    return {'instr': instr, 'FFMA': ffma, 'MMA': mma, 'LDS': lds, 'lds_wavefronts': wavefronts,
            'global_load_bytes_per_thread': ldg_bytes}


def all_loops(sass_loops, ins, fname):
    """sass_loops' loops (backward BRA to a label), plus backward branches to a label that nvdisasm 11.8
    never printed (a target it does not decode): their target comes from the branch encoding's offset,
    bits 16..23 in words and bits 32..63 in 256-byte units, relative to the next instruction. On the
    labelled branches of conv2d_dx.cu that decoding lands on the label or one instruction after it."""
    found = sass_loops.loops(ins, fname)
    labels = sass_loops.LABELS.get(fname, {})
    index = {a: i for i, (a, _, _) in enumerate(ins)}
    for i, (a, t, enc) in enumerate(ins):
        m = re.search(r'`\((\.L_x_\d+)\)', t)
        if not sass_loops.mnem(t).startswith('BRA') or not m or m.group(1) in labels:
            continue
        high = enc >> 32
        if high >> 31:
            high -= 1 << 32
        target = a + 16 + ((enc >> 16) & 0xff) * 4 + (high << 8)
        if target <= a and target in index:
            found.append((index[target], i))
    return found


def innermost(loops):
    """Loops (lo, hi) that contain no other loop."""
    return [(lo, hi) for lo, hi in loops
            if not any((a, b) != (lo, hi) and lo <= a and b <= hi for a, b in loops)]


# ------------------------------------------------------------------ launch configurations

def constants(sources):
    vals = {}
    for text in sources:
        for m in re.finditer(r'constexpr\s+(?:int|size_t)\s+(\w+)\s*=\s*([^;]+);', text):
            vals[m.group(1)] = m.group(2).strip()
    return vals


def evaluate(expr, consts, depth=0):
    """An integer for a launch argument built from literals and constexpr constants, else None."""
    expr = expr.strip()
    if re.fullmatch(r'\d+', expr):
        return int(expr)
    if depth > 4:
        return None
    names = re.findall(r'[A-Za-z_]\w*', expr)
    env = {}
    for n in names:
        if n not in consts:
            return None
        v = evaluate(consts[n], consts, depth + 1)
        if v is None:
            return None
        env[n] = v
    if not re.fullmatch(r'[\w\s*+/()-]+', expr):
        return None
    return int(eval(expr, {'__builtins__': {}}, env))  # noqa: S307 (digits, names resolved above, + - * /)


LAUNCH = re.compile(r'T4J_LAUNCH\(\s*(.+?),\s*([^,]+?),\s*([^,]+?),\s*stream,\s*([A-Za-z_]\w*)')


def launch_configs(text, consts):
    """kernel template name -> set of (block, smem) as written in the launch code."""
    out = collections.defaultdict(set)
    for m in LAUNCH.finditer(text):
        out[m.group(4)].add((m.group(2).strip(), m.group(3).strip()))
    # a launch through a macro (T4J_DW3_GRAD, T4J_DWS_LAUNCH) names its kernel after the macro's
    # parameters: `kernel<K, S>)(` - the plain template name is what we need
    return {k: sorted(v) for k, v in out.items()}


def occupancy(regs, threads, smem):
    warps = max(1, math.ceil(threads / 32))
    per_warp = math.ceil(regs * 32 / REG_ALLOC_UNIT) * REG_ALLOC_UNIT
    by_regs = (REGS_PER_SM // per_warp) // warps if per_warp else MAX_BLOCKS_PER_SM
    by_threads = MAX_WARPS_PER_SM // warps
    by_smem = SMEM_PER_SM // (smem + SMEM_RESERVED_PER_BLOCK) if smem else MAX_BLOCKS_PER_SM
    blocks = min(by_regs, by_threads, by_smem, MAX_BLOCKS_PER_SM)
    limit = min((by_threads, 'threads'), (by_regs, 'registers'), (by_smem, 'shared memory'),
                (MAX_BLOCKS_PER_SM, 'blocks'), key=lambda t: t[0])[1]
    return {'blocks_per_sm': blocks, 'warps_per_sm': blocks * warps,
            'occupancy': blocks * warps / MAX_WARPS_PER_SM, 'limited_by': limit}


# ------------------------------------------------------------------ one .cu file

PTXAS = re.compile(r"'(\S+)' for 'sm_90'.*?(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads"
                   r".*?Used (\d+) registers(?:, used (\d+) barriers)?(?:, (\d+) bytes smem)?")


def demangle(names):
    res = subprocess.run(['c++filt'], input='\n'.join(names), capture_output=True, text=True, check=True)
    out = []
    for d in res.stdout.splitlines():
        d = re.sub(r'^void ', '', d)
        d = d.replace('trady4j::', '').replace('(anonymous namespace)::', '')
        depth, cut = 0, len(d)
        for i, ch in enumerate(d):  # drop the argument list: the first '(' at template depth 0
            if ch == '<':
                depth += 1
            elif ch == '>':
                depth -= 1
            elif ch == '(' and depth == 0:
                cut = i
                break
        out.append(d[:cut])
    return out


def report_file(path, tools, sass_loops):
    res = subprocess.run([os.path.join(tools, 'sass-report'), path], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit('perf_report: sass-report failed on %s:\n%s%s' % (path, res.stdout, res.stderr))
    kernels = collections.OrderedDict()
    for line in res.stdout.splitlines():
        m = PTXAS.search(line)
        if m:
            kernels[m.group(1)] = {'stack': int(m.group(2)), 'spill_stores': int(m.group(3)),
                                   'spill_loads': int(m.group(4)), 'regs': int(m.group(5)),
                                   'barriers': int(m.group(6) or 0), 'static_smem': int(m.group(7) or 0)}
    m = re.search(r'\(full disassembly: (\S+)\)', res.stdout)
    if not m:
        sys.exit('perf_report: no disassembly named by sass-report for ' + path)
    nvd = m.group(1)
    funcs = sass_loops.parse(nvd)
    tmp = os.path.dirname(nvd)
    for f in os.listdir(tmp):  # sass-report's temporary folder: ours to remove once read
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)
    names = list(kernels)
    pretty = dict(zip(names, demangle(names)))
    for mangled, k in kernels.items():
        ins = funcs.get(mangled, [])
        counter = lambda lo, hi: collections.Counter(
            classify(sass_loops.mnem(t), sass_loops.classify) for _, t, _ in ins[lo:hi + 1])
        k['name'] = pretty[mangled]
        k['mangled'] = mangled
        k['instructions'] = len(ins)
        k['whole'] = dict(sorted(counter(0, len(ins) - 1).items())) if ins else {}
        loops = all_loops(sass_loops, ins, mangled) if ins else []
        inner = set(innermost(loops))
        in_loop = set(i for lo, hi in loops for i in range(lo, hi + 1))
        k['straight_line_instr'] = len(ins) - len(in_loop)  # run about once per thread
        k['all_loops'] = len(loops)
        k['loops'] = []
        for lo, hi in loops:
            c = counter(lo, hi)
            if c['FFMA'] == 0 and c['MMA'] == 0:
                continue
            k['loops'].append({'start': '0x%04x' % ins[lo][0], 'end': '0x%04x' % ins[hi][0],
                               'innermost': (lo, hi) in inner, 'counts': dict(sorted(c.items())),
                               **loop_metrics(c)})
        # the hot loop: the innermost arithmetic loop with the most FFMA/MMA (ties: the longer)
        cands = [l for l in k['loops'] if l['innermost']] or k['loops']
        k['hot_loop'] = max(cands, key=lambda l: (l['FFMA'] + 16 * l['MMA'], l['instr'])) if cands else None
    return kernels


def attach_launch(kernels, text, consts):
    configs = launch_configs(text, consts)
    for k in kernels.values():
        template = re.match(r'[\w:]+', k['name']).group(0).split('::')[-1]
        cfgs = configs.get(template, [])
        threads = sorted({evaluate(b, consts) for b, _ in cfgs} - {None})
        k['launch'] = [{'block': b, 'dynamic_smem': s} for b, s in cfgs]
        if cfgs and len(threads) == len({b for b, _ in cfgs}) and threads:
            k['threads'] = max(threads)
            k['threads_shape_dependent'] = False
        else:  # e.g. t.threads: at most 256 (the planners' block size cap)
            k['threads'] = 256
            k['threads_shape_dependent'] = True
        smems = [evaluate(s, consts) for _, s in cfgs]
        k['dynamic_smem_shape_dependent'] = any(v is None for v in smems)
        dyn = max([v for v in smems if v is not None] or [0])
        k['dynamic_smem'] = dyn
        k['occupancy'] = occupancy(k['regs'], k['threads'], k['static_smem'] + dyn)
        if k['dynamic_smem_shape_dependent']:
            k['occupancy_at_smem_limit'] = occupancy(k['regs'], k['threads'],
                                                     k['static_smem'] + DEFAULT_DYNAMIC_SMEM_LIMIT)


# ------------------------------------------------------------------ output

def fmt_counts(c):
    order = ['FFMA', 'MMA', 'LDS.32', 'LDS.64', 'LDS.128', 'STS.32', 'STS.64', 'STS.128', 'LDG.32', 'LDG.64',
             'LDG.128', 'cp.async.32', 'cp.async.64', 'cp.async.128', 'cp.async.wait', 'BAR', 'ALU', 'FPother',
             'ctrl']
    parts = ['%s %d' % (k, c[k]) for k in order if c.get(k)]
    parts += ['%s %d' % (k, v) for k, v in sorted(c.items()) if k not in order and v]
    return ', '.join(parts)


GEMM_LOOP_FFMA = 64  # issue 12: a loop with at least this many FFMA per iteration is GEMM-sized
TARGET_FFMA_PER_LDS = 4


def static_targets(files):
    """Issue 12's count targets: 0 spills; in every file with a GEMM-sized loop, the best such loop issues
    >= 4 FFMA per shared-load instruction and reads shared memory with 64- or 128-bit loads."""
    spilled = ['`%s` (%d/%d)' % (k['name'], k['spill_stores'], k['spill_loads'])
               for _, ks in files for k in ks.values() if k['spill_stores'] or k['spill_loads']]
    out = ['## Static targets (issue 12)', '',
           '- 0 spills in every kernel: **%s**%s' % ('met' if not spilled else 'missed',
                                                   '' if not spilled else ' (' + ', '.join(spilled) + ')'),
           '- per file with a GEMM-sized loop (>= %d FFMA per iteration), its best such loop: >= %d FFMA per '
           'shared-load instruction, with 64- or 128-bit shared loads:' % (GEMM_LOOP_FFMA, TARGET_FFMA_PER_LDS), '',
           '| file | best GEMM-sized loop | FFMA | shared loads (.32/.64/.128) | FFMA:LDS | target |',
           '| --- | --- | --- | --- | --- | --- |']
    for fname, ks in files:
        loops = [(k, l) for k in ks.values() for l in k['loops'] if l['FFMA'] >= GEMM_LOOP_FFMA and l['innermost']]
        if not loops:
            continue

        shared = [kl for kl in loops if kl[1]['LDS']] or loops  # loops reading shared memory first
        k, l = max(shared, key=lambda kl: (kl[1]['FFMA'] / kl[1]['LDS'] if kl[1]['LDS'] else 0, kl[1]['FFMA']))
        c = l['counts']
        wide = c.get('LDS.64', 0) + c.get('LDS.128', 0)
        if l['LDS']:
            ratio = l['FFMA'] / l['LDS']
            verdict = 'met' if ratio >= TARGET_FFMA_PER_LDS and wide > 0 else '**missed**'
        else:
            ratio, verdict = None, 'n/a (operands in registers)'
        out.append('| %s | `%s` %s | %d | %d/%d/%d | %s | %s |' % (
            fname, k['name'], l['start'], l['FFMA'], c.get('LDS.32', 0), c.get('LDS.64', 0), c.get('LDS.128', 0),
            '%.1f' % ratio if ratio is not None else 'no LDS', verdict))
    out += ['', 'The model\'s targets (network totals against the floor) are in the last section, written by '
            '`bench/model/model.py`.', '']
    return out


def markdown(files):
    out = ['# kernels/PERF.md: static counts of the CUDA kernels (sm_90)', '',
           'Generated by `make -C kernels/dev perf-report` (`kernels/dev/perf_report.py`), do not edit: '
           'nvcc -O3 -arch=sm_90 through `shared/tools/sass/sass-report`; block sizes and dynamic shared memory '
           'from the `T4J_LAUNCH` lines of each .cu. Theoretical occupancy for sm_90 (64 K registers, 64 warps, '
           '32 blocks, 228 KiB shared memory per SM). These are counts, not timings: no kernel has run on a GPU; '
           '`bench/model/` turns them into predicted times.', '',
           '**Columns.** regs: registers per thread; spills: bytes stored/loaded to local memory; smem: static + '
           'dynamic shared memory per block (`≤48K` where the launcher sizes it per shape: the occupancy is then '
           'given at 0 and at 48 KiB); occupancy: resident blocks per SM, warps, % of 64, what limits it. '
           'Hot loop: the innermost loop with the most FFMA (or tensor-core MMA), counts per iteration and thread '
           '(= per warp instruction); LDS wavefronts count 1/2/4 for LDS.32/.64/.128 (128 bytes each, '
           'conflict-free). FFMA:LDS = FFMA (or MMA) per shared-load instruction; instr per FFMA = issue slots per FFMA '
           '(per MMA for the TF32 kernels); global bytes/thread = bytes of LDG and cp.async per iteration; outside '
           'loops = instructions in no loop (prologue, epilogue and untaken paths: a thread runs them once). Kernels '
           'with no such loop are straight-line per thread: read their whole-function counts.', '']
    out += static_targets(files)
    for fname, kernels in files:
        out.append('## %s' % fname)
        out.append('')
        out.append('| kernel | threads | regs | spills | smem | occupancy |')
        out.append('| --- | --- | --- | --- | --- | --- |')
        for k in kernels.values():
            o = k['occupancy']
            occ = '%d blk, %d warps, %.0f%% (%s)' % (o['blocks_per_sm'], o['warps_per_sm'], 100 * o['occupancy'],
                                                    o['limited_by'])
            if 'occupancy_at_smem_limit' in k:
                o2 = k['occupancy_at_smem_limit']
                occ += '; at 48 KiB: %d blk, %.0f%% (%s)' % (o2['blocks_per_sm'], 100 * o2['occupancy'],
                                                            o2['limited_by'])
            smem = '%d' % k['static_smem']
            if k['dynamic_smem_shape_dependent']:
                smem += ' + ≤48K'
            elif k['dynamic_smem']:
                smem += ' + %d' % k['dynamic_smem']
            threads = ('≤%d' if k['threads_shape_dependent'] else '%d') % k['threads']
            out.append('| `%s` | %s | %d | %d/%d | %s | %s |' % (k['name'], threads, k['regs'], k['spill_stores'],
                                                                k['spill_loads'], smem, occ))
        out.append('')
        out.append('| kernel | hot loop: instr per iteration | FFMA:LDS | instr per FFMA (MMA) | global bytes/thread | '
                   'outside loops | whole function |')
        out.append('| --- | --- | --- | --- | --- | --- | --- |')
        for k in kernels.values():
            h = k['hot_loop']
            if h is None:
                out.append('| `%s` | no FFMA/MMA loop | | | | %d | %d instr: %s |' % (
                    k['name'], k['straight_line_instr'], k['instructions'], fmt_counts(k['whole'])))
                continue
            arith = h['FFMA'] or h['MMA']
            ratio = '%.2f' % (arith / h['LDS']) if h['LDS'] else '-'
            ipf = '%.2f' % (h['instr'] / arith)
            out.append('| `%s` | %d: %s | %s | %s | %d | %d | %d instr: %s |' % (
                k['name'], h['instr'], fmt_counts(h['counts']), ratio, ipf, h['global_load_bytes_per_thread'],
                k['straight_line_instr'], k['instructions'], fmt_counts(k['whole'])))
        out.append('')
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--md', default=os.path.join(KERNELS, 'PERF.md'))
    ap.add_argument('--json', default=os.path.join(ROOT, 'bench', 'model', 'kernel-stats.json'))
    ap.add_argument('files', nargs='*', help='.cu files (default: every kernels/*.cu that defines a kernel)')
    a = ap.parse_args()
    tools = find_sass_tools()
    if tools is None:
        print('perf_report: sass-report not found (set SASS_TOOLS to the shared/tools/sass folder)', file=sys.stderr)
        sys.exit(2)
    sys.path.insert(0, tools)
    import sass_loops  # noqa: E402 (the shared tool's SASS parser)
    paths = a.files or [os.path.join(KERNELS, f) for f in sorted(os.listdir(KERNELS)) if f.endswith('.cu')]
    texts = {}
    for p in paths:
        if not os.path.isfile(p):
            print('perf_report: no such file: %s' % p, file=sys.stderr)
            sys.exit(2)
        texts[p] = read(p)
    headers = [read(os.path.join(KERNELS, f)) for f in sorted(os.listdir(KERNELS)) if f.endswith('.cuh')]
    files = []
    for p in paths:
        if '__global__' not in texts[p]:
            continue  # versions.cu: the implementation table, no kernel
        kernels = report_file(p, tools, sass_loops)
        attach_launch(kernels, texts[p], constants([texts[p]] + headers))
        files.append((os.path.basename(p), kernels))
        print('perf_report: %s: %d kernels' % (os.path.basename(p), len(kernels)), file=sys.stderr)
    with open(a.md, 'w') as f:
        f.write(markdown(files))
    data = {'arch': 'sm_90', 'kernels': {k['name']: dict(k, file=fname) for fname, ks in files for k in ks.values()}}
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    print('perf_report: wrote %s and %s' % (os.path.relpath(a.md), os.path.relpath(a.json)), file=sys.stderr)


if __name__ == '__main__':
    main()
