#!/usr/bin/env python3
"""Static H200 time model of trady4j's convolution kernels: predictions-h200.{json,md} and shapes.json.

    python3 bench/model/model.py [--stats kernel-stats.json] [--out DIR]

Per (layer, op, implementation, density): the launches the host code makes (plans.py), each
bounded by FLOPs / peak, bytes / bandwidth (HBM, or what the grid's loads in flight can pull), the
issue bound and the shared-load bound from the SASS counts (kernels.py), plus a launch overhead
each; the floor beside it is max(FLOPs / peak, minimum bytes / HBM). Network totals for
MobileNetV2-w0.35 @128 batch 128 and ResNet-18 @128 batch 32. Python standard library only.
"""
import argparse
import json
import os
import sys

import hardware
import kernels
import networks
import plans

HERE = os.path.dirname(os.path.abspath(__file__))
DENSITY_OPS = ('conv2d_gather', 'conv2d_dw_sparse')  # the others do not depend on the selection
TOTAL_IMPLS = ('v1_naive', 'v2_tiled', 'v3_microkernel', 'v4_tf32')  # eligible on every layer


def uses_tf32(launch_list):
    return any('true>' in l.kernel and 'igemm_v3' in l.kernel for l in launch_list)


def predict(op, impl, s, nsel, stats, sms=hardware.SMS):
    """One prediction row (seconds inside; the row's fields are milliseconds)."""
    ls = plans.launches(op, impl, s, nsel, stats, sms)
    flops = plans.useful_flops(op, s, nsel)
    nbytes = plans.min_bytes(op, s, nsel)
    peak = hardware.TF32_MMA_SYNC_FLOPS if uses_tf32(ls) else hardware.FP32_FLOPS
    totals = {'flops': 0.0, 'bytes': 0.0, 'issue': 0.0, 'shared': 0.0}
    time = 0.0
    for i, l in enumerate(ls):
        b = kernels.launch_bounds(l, stats, sms)
        t = {'flops': flops / peak if i == 0 else 0.0,
             'bytes': (nbytes if i == 0 else l.bytes) / b['bandwidth'],
             'issue': b['issue'], 'shared': b['shared']}
        for k, v in t.items():
            totals[k] += v
        time += max(t.values()) + hardware.LAUNCH_OVERHEAD_S
    bound = max(totals, key=totals.get)
    floor = max(flops / peak, nbytes / hardware.HBM_BYTES_PER_S)
    return {'layer': s.layer, 'network': s.network, 'op': op, 'implementation': impl,
            'density': None, 'nsel': nsel, 'predicted_ms': time * 1e3, 'floor_ms': floor * 1e3, 'bound': bound,
            'bounds_ms': {k: v * 1e3 for k, v in totals.items()}, 'launches': [l.kernel for l in ls],
            'math': 'tf32' if uses_tf32(ls) else 'fp32', 'gflop': flops / 1e9, 'mbytes': nbytes / 1e6}


def rows_for(s, stats, sms=hardware.SMS):
    out = []
    for op in plans.OPS:
        densities = plans.DENSITIES if op in DENSITY_OPS else (None,)
        for d in densities:
            nsel = plans.nsel_for(d, s.in_channels) if d is not None else s.in_channels
            for impl in plans.IMPLEMENTATIONS:
                if not plans.eligible(op, impl, s, nsel):
                    continue
                r = predict(op, impl, s, nsel, stats, sms)
                r['density'] = d
                out.append(r)
    return out


def needs_dx(layer, layers):
    return layer is not layers[0]  # the first conv's input (the image) needs no gradient


def totals(nets, rows):
    """Per network, op and density: the floor, each implementation's sum, the heuristic's and the
    fastest fp32 choice per layer (what the autotuner would pick without TRADY4J_MATH=tf32)."""
    index = {}
    for r in rows:
        index.setdefault((r['layer'], r['op'], r['density']), []).append(r)
    out = []
    for net, layers in nets.items():
        for op in plans.OPS:
            for d in (plans.DENSITIES if op in DENSITY_OPS else (None,)):
                t = {'network': net, 'op': op, 'density': d, 'layers': 0, 'floor_ms': 0.0, 'best_fp32_ms': 0.0,
                     'heuristic_ms': 0.0}
                for impl in TOTAL_IMPLS:
                    t[impl + '_ms'] = 0.0
                for s in layers:
                    if op == 'conv2d_dx' and not needs_dx(s, layers):
                        continue
                    cand = index[(s.layer, op, d)]
                    by_impl = {r['implementation']: r for r in cand}
                    fp32 = [r for r in cand if r['math'] == 'fp32' and r['implementation'] != 'v4_tf32']
                    t['layers'] += 1
                    t['floor_ms'] += min(r['floor_ms'] for r in fp32)
                    t['best_fp32_ms'] += min(r['predicted_ms'] for r in fp32)
                    t['heuristic_ms'] += by_impl[plans.heuristic(op, s, cand[0]['nsel'])]['predicted_ms']
                    for impl in TOTAL_IMPLS:
                        t[impl + '_ms'] += by_impl[impl]['predicted_ms']
                out.append(t)
    return out


def largest_layers(rows, nets, count=8):
    """Per network, the layers with the largest forward + dx + dW(10 %) time, each op at its fastest fp32
    implementation."""
    best = {}
    for r in rows:
        if r['math'] != 'fp32' or r['implementation'] == 'v4_tf32':
            continue
        k = (r['layer'], r['op'], r['density'])
        if k not in best or r['predicted_ms'] < best[k]['predicted_ms']:
            best[k] = r
    out = {}
    for net, layers in nets.items():
        entries = []
        for s in layers:
            cells = [best[(s.layer, 'conv2d_forward', None)],
                     best[(s.layer, 'conv2d_dx', None)] if needs_dx(s, layers) else None,
                     best[(s.layer, 'conv2d_dw_sparse', 0.1)]]
            present = [c for c in cells if c is not None]
            entries.append({'layer': s.layer, 'cells': cells, 'sum': sum(c['predicted_ms'] for c in present),
                            'floor': sum(c['floor_ms'] for c in present)})
        out[net] = sorted(entries, key=lambda e: -e['sum'])[:count]
    return out


def fmt(ms):
    return '%.3f' % ms if ms < 10 else '%.1f' % ms


def markdown(rows, tots, sweep, nets):
    lines = ['# Predicted kernel times on an %s (static model)' % hardware.NAME, '',
             'Generated by `python3 bench/model/model.py` (after `make -C kernels/dev perf-report`, which runs both); '
             'do not edit. **Predictions, not measurements**: no kernel has run on a GPU. `bench/model/compare.py` '
             'sets them beside a GPU sweep. predicted = per launch max(FLOPs/peak, bytes/bandwidth, issue, shared '
             'loads) + %.1f us launch overhead; floor = max(FLOPs/peak, minimum bytes/HBM); bound = the largest '
             'term summed over the launches.' % (hardware.LAUNCH_OVERHEAD_S * 1e6), '',
             '## Ceilings', '', '| quantity | value | unit | source |', '| --- | --- | --- | --- |']
    for name, v, unit, src in hardware.describe():
        lines.append('| %s | %s | %s | %s |' % (name, ('%.4g' % v), unit, src))
    lines += ['', '## Network totals (ms, convolutions only)', '',
              'dx leaves out the first conv (its input is the image). best fp32 = the fastest fp32 implementation '
              'per layer (the autotuner without TRADY4J_MATH=tf32); heuristic = `impl_heuristic` (versions.cu).', '',
              '| network | op | density | layers | floor | best fp32 | heuristic | v1 | v2 | v3 | v4 (tf32) |',
              '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for t in tots:
        lines.append('| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |' % (
            t['network'], t['op'], '-' if t['density'] is None else '%g %%' % (100 * t['density']), t['layers'],
            fmt(t['floor_ms']), fmt(t['best_fp32_ms']), fmt(t['heuristic_ms']), fmt(t['v1_naive_ms']),
            fmt(t['v2_tiled_ms']), fmt(t['v3_microkernel_ms']), fmt(t['v4_tf32_ms'])))
    lines += ['', '## Where the time goes: the largest layers per network (best fp32 choice, ms)', '',
              'Forward + dx + dW at 10 %, each with the fastest fp32 implementation predicted; the 8 largest layers.',
              '', '| network | layer | forward | dx | dW 10 % | sum | floor sum |', '| --- | --- | --- | --- | --- | --- | --- |']
    for net, entries in largest_layers(rows, nets).items():
        for e in entries:
            lines.append('| %s | %s | %s | %s | %s | %s | %s |' % ((net, e['layer']) + tuple(
                '-' if c is None else '%s %s' % (fmt(c['predicted_ms']), c['implementation']) for c in e['cells'])
                + (fmt(e['sum']), fmt(e['floor']))))
    lines += ['', '## The sweep layers (bench/model/shapes.json), per implementation', '',
              '| layer | op | density | implementation | predicted ms | floor ms | x floor | bound | kernels |',
              '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    names = [s.layer for s in sweep]
    for r in sorted((r for r in rows if r['layer'] in names),
                    key=lambda r: (names.index(r['layer']), plans.OPS.index(r['op']), r['density'] or 0,
                                   r['implementation'])):
        lines.append('| %s | %s | %s | %s | %s | %s | %.1f | %s | %s |' % (
            r['layer'], r['op'], '-' if r['density'] is None else '%g' % r['density'], r['implementation'],
            fmt(r['predicted_ms']), fmt(r['floor_ms']), r['predicted_ms'] / r['floor_ms'], r['bound'],
            ', '.join('`%s`' % k for k in r['launches'])))
    return '\n'.join(lines) + '\n'


MODEL_TARGETS = '## Model targets (issue 12)'
TARGET_FACTOR = 2.0
TARGET_ROWS = (('conv2d_forward', None, 'forward'), ('conv2d_dx', None, 'dx'),
               ('conv2d_dw_sparse', 1.0, 'dW at 100 %'), ('conv2d_dw_sparse', 0.01, 'dW at 1 % (floor: reading dy)'))


def perf_targets(tots, network='mbv2-w0.35'):
    """Issue 12's model targets: the network's predicted totals within 2x of the floor. Judged on the best
    fp32 choice per layer (what the autotuner runs); the heuristic's total is shown beside it."""
    lines = [MODEL_TARGETS, '',
             'Written by `bench/model/model.py` from the counts above (predictions, not measurements: no kernel has '
             'run on a GPU). %s @128 batch 128, convolutions only; target: predicted <= %gx the floor, judged on '
             'the best fp32 implementation per layer (the autotuner\'s pick); the heuristic (impl 0) beside it. '
             'Per-layer detail: bench/model/predictions-h200.md.' % (network, TARGET_FACTOR), '',
             '| op | floor ms | best fp32 ms | x floor | heuristic ms | x floor | target |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for op, d, label in TARGET_ROWS:
        t = next(x for x in tots if x['network'] == network and x['op'] == op and x['density'] == d)
        best, heur, floor = t['best_fp32_ms'], t['heuristic_ms'], t['floor_ms']
        lines.append('| %s | %.3f | %.3f | %.2f | %.3f | %.2f | %s |' % (
            label, floor, best, best / floor, heur, heur / floor,
            'met' if best <= TARGET_FACTOR * floor else '**missed**'))
    return lines


def write_perf_targets(path, lines):
    """Replaces the model-target section at the end of kernels/PERF.md (perf_report.py rewrites the rest)."""
    with open(path) as f:
        text = f.read()
    cut = text.find(MODEL_TARGETS)
    if cut >= 0:
        text = text[:cut]
    with open(path, 'w') as f:
        f.write(text.rstrip('\n') + '\n\n' + '\n'.join(lines) + '\n')


def json_lines(doc):
    """JSON with one row per line (small diffs when the model changes)."""
    parts = []
    for k, v in doc.items():
        if isinstance(v, list):
            body = ',\n'.join('  ' + json.dumps(r, sort_keys=True) for r in v)
            parts.append('%s: [\n%s\n ]' % (json.dumps(k), body))
        else:
            parts.append('%s: %s' % (json.dumps(k), json.dumps(v, sort_keys=True)))
    return '{\n ' + ',\n '.join(parts) + '\n}\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--stats', default=kernels.STATS, help='static counts from kernels/dev/perf_report.py')
    ap.add_argument('--out', default=HERE, help='folder for predictions-h200.{json,md} and shapes.json')
    ap.add_argument('--perf', default=os.path.join(os.path.dirname(os.path.dirname(HERE)), 'kernels', 'PERF.md'),
                    help='kernels/PERF.md, whose last section gets the model targets (skipped if absent)')
    a = ap.parse_args(argv)
    if not os.path.isfile(a.stats):
        print('model: no static counts at %s (run: make -C kernels/dev perf-report)' % a.stats, file=sys.stderr)
        return 2
    if not os.path.isdir(a.out):
        print('model: no such folder: %s' % a.out, file=sys.stderr)
        return 2
    try:
        stats = kernels.KernelStats(a.stats)
    except (ValueError, KeyError) as e:
        print('model: unreadable static counts %s: %s' % (a.stats, e), file=sys.stderr)
        return 2
    nets = networks.networks()
    rows = [r for layers in nets.values() for s in layers for r in rows_for(s, stats)]
    tots = totals(nets, rows)
    sweep = networks.sweep_shapes()
    with open(os.path.join(a.out, 'shapes.json'), 'w') as f:
        f.write(networks.shapes_json(sweep))
    names = {s.layer for s in sweep}
    with open(os.path.join(a.out, 'predictions-h200.json'), 'w') as f:
        f.write(json_lines({'device': hardware.NAME, 'generated_by': 'bench/model/model.py',
                            'ceilings': {n: {'value': v, 'unit': u, 'source': src}
                                         for n, v, u, src in hardware.describe()},
                            'rows': [r for r in rows if r['layer'] in names], 'totals': tots}))
    with open(os.path.join(a.out, 'predictions-h200.md'), 'w') as f:
        f.write(markdown(rows, tots, sweep, nets))
    if os.path.isfile(a.perf):
        write_perf_targets(a.perf, perf_targets(tots))
    print('model: %d rows, %d totals -> %s' % (len(rows), len(tots), os.path.relpath(a.out)), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
