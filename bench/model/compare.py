#!/usr/bin/env python3
"""Predicted against measured: the static model's rows beside a GPU sweep's.

    python3 bench/model/compare.py PREDICTIONS SWEEP [--md FILE]

PREDICTIONS: bench/model/predictions-h200.json; SWEEP: a JSON with "rows": [{"layer", "op",
"implementation", "density", "median_ms", ...}] (bench/gpu's sweep). Rows match on (layer, op,
implementation, density); density is ignored for conv2d_forward and conv2d_dx, which do not depend on
the selection. PyTorch rows (implementation torch_*) have no prediction: they are shown beside the
rows of the same (layer, op, density); rows without a numeric median_ms (failed) are skipped. Prints one line per matched row (measured / predicted and
measured / floor) and a summary; --md writes the same as a markdown table.
"""
import argparse
import json
import math
import statistics
import sys

DENSITY_FREE = ('conv2d_forward', 'conv2d_dx')


class BadInput(Exception):
    pass


def load_rows(path, what, need):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise BadInput('%s %s: %s' % (what, path, e.strerror))
    except ValueError as e:
        raise BadInput('%s %s is not JSON: %s' % (what, path, e))
    rows = doc.get('rows') if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise BadInput('%s %s has no "rows" list' % (what, path))
    for i, r in enumerate(rows):
        missing = [k for k in need if not isinstance(r, dict) or k not in r]
        if missing:
            raise BadInput('%s %s: row %d lacks %s' % (what, path, i, ', '.join(missing)))
    return doc, rows


def key(r, with_impl=True):
    d = r.get('density')
    d = None if r['op'] in DENSITY_FREE or d is None else round(float(d), 6)
    return (r['layer'], r['op'], r['implementation'] if with_impl else None, d)


def compare(pred_rows, sweep_rows):
    """(matched rows, torch references by (layer, op, density), unmatched sweep rows, unmeasured predictions)."""
    preds = {key(r): r for r in pred_rows}
    torch = {}
    matched, unpredicted, seen = [], [], set()
    for r in sweep_rows:
        if not isinstance(r.get('median_ms'), (int, float)) or r['median_ms'] <= 0:
            continue  # a failed or skipped measurement
        if str(r['implementation']).startswith('torch_'):
            torch.setdefault(key(r, False), {})[r['implementation']] = r['median_ms']
            continue
        p = preds.get(key(r))
        if p is None:
            unpredicted.append(r)
            continue
        seen.add(key(r))
        matched.append({'layer': r['layer'], 'op': r['op'], 'implementation': r['implementation'],
                        'density': key(r)[3], 'measured_ms': r['median_ms'], 'predicted_ms': p['predicted_ms'],
                        'floor_ms': p['floor_ms'], 'bound': p['bound'],
                        'ratio': r['median_ms'] / p['predicted_ms'], 'x_floor': r['median_ms'] / p['floor_ms']})
    unmeasured = [p for k, p in preds.items() if k not in seen]
    return matched, torch, unpredicted, unmeasured


def summary(matched):
    if not matched:
        return {'rows': 0}
    ratios = [m['ratio'] for m in matched]
    return {'rows': len(matched), 'geomean_ratio': math.exp(statistics.fmean(math.log(x) for x in ratios)),
            'median_ratio': statistics.median(ratios), 'within_2x': sum(0.5 <= x <= 2 for x in ratios),
            'worst': max(matched, key=lambda m: abs(math.log(m['ratio'])))}


def density_text(d):
    return '-' if d is None else '%g' % d


def torch_text(torch, m):
    t = torch.get((m['layer'], m['op'], None, m['density']), {})
    return ' '.join('%s=%.4g' % (k.replace('torch_cudnn_', 'cudnn_'), v) for k, v in sorted(t.items())) or '-'


def text_report(matched, torch, unpredicted, unmeasured):
    lines = ['%-30s %-17s %-7s %-15s %10s %10s %8s %9s %-7s %s' % (
        'layer', 'op', 'density', 'implementation', 'measured', 'predicted', 'meas/pred', 'meas/floor', 'bound',
        'pytorch (ms)')]
    for m in matched:
        lines.append('%-30s %-17s %-7s %-15s %10.4f %10.4f %8.2f %9.2f %-7s %s' % (
            m['layer'], m['op'], density_text(m['density']), m['implementation'], m['measured_ms'],
            m['predicted_ms'], m['ratio'], m['x_floor'], m['bound'], torch_text(torch, m)))
    lines.append(summary_line(summary(matched), unpredicted, unmeasured))
    return '\n'.join(lines) + '\n'


def summary_line(s, unpredicted, unmeasured):
    if not s['rows']:
        return 'no measured row has a prediction (%d sweep rows unmatched)' % len(unpredicted)
    w = s['worst']
    return ('%d rows: measured/predicted geometric mean %.2f, median %.2f, %d within 2x; worst %s %s %s %s: %.2f; '
            '%d sweep rows without a prediction, %d predictions not measured' % (
                s['rows'], s['geomean_ratio'], s['median_ratio'], s['within_2x'], w['layer'], w['op'],
                w['implementation'], density_text(w['density']), w['ratio'], len(unpredicted), len(unmeasured)))


def markdown(matched, torch, unpredicted, unmeasured, pred_path, sweep_path):
    lines = ['# Predicted against measured', '', 'Predictions: `%s`; measurements: `%s` (`bench/model/compare.py`).'
             % (pred_path, sweep_path), '', summary_line(summary(matched), unpredicted, unmeasured) + '.', '',
             '| layer | op | density | implementation | measured ms | predicted ms | measured / predicted | '
             'measured / floor | predicted bound | PyTorch ms |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for m in matched:
        lines.append('| %s | %s | %s | %s | %.4f | %.4f | %.2f | %.2f | %s | %s |' % (
            m['layer'], m['op'], density_text(m['density']), m['implementation'], m['measured_ms'],
            m['predicted_ms'], m['ratio'], m['x_floor'], m['bound'], torch_text(torch, m)))
    if unpredicted:
        lines += ['', 'Measured without a prediction: ' + ', '.join(
            '%s %s %s %s' % (r['layer'], r['op'], r['implementation'], r.get('density')) for r in unpredicted) + '.']
    return '\n'.join(lines) + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('predictions')
    ap.add_argument('sweep')
    ap.add_argument('--md', help='also write the comparison as markdown to this file')
    a = ap.parse_args(argv)
    try:
        _, pred_rows = load_rows(a.predictions, 'predictions', ('layer', 'op', 'implementation', 'predicted_ms',
                                                                'floor_ms', 'bound'))
        sweep_doc, sweep_rows = load_rows(a.sweep, 'sweep', ('layer', 'op', 'implementation'))
    except BadInput as e:
        print('compare: %s' % e, file=sys.stderr)
        return 2
    shrunk = [k for k in ('batch_override', 'max_size') if sweep_doc.get(k) not in (None, 0)]
    if shrunk:
        print('compare: WARNING: the sweep ran on shrunk shapes (%s): its times say nothing about the '
              'predicted layers' % ', '.join('%s=%s' % (k, sweep_doc[k]) for k in shrunk), file=sys.stderr)
    matched, torch, unpredicted, unmeasured = compare(pred_rows, sweep_rows)
    sys.stdout.write(text_report(matched, torch, unpredicted, unmeasured))
    if a.md:
        try:
            with open(a.md, 'w') as f:
                f.write(markdown(matched, torch, unpredicted, unmeasured, a.predictions, a.sweep))
        except OSError as e:
            print('compare: cannot write %s: %s' % (a.md, e.strerror), file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
