"""Unit tests of the static model: cd bench/model && python3 -m unittest"""
import contextlib
import importlib.util
import io
import json
import os
import re
import tempfile
import unittest

import compare
import hardware
import kernels
import model
import networks
import plans

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def perf_report():
    spec = importlib.util.spec_from_file_location('perf_report', os.path.join(ROOT, 'kernels', 'dev', 'perf_report.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read(path):
    with open(path) as f:
        return f.read()


def write_json(path, doc):
    with open(path, 'w') as f:
        json.dump(doc, f)


def layer(name):
    return {l.layer: l for ls in networks.networks().values() for l in ls}[name]


class CountsTest(unittest.TestCase):
    def test_flops_of_the_first_conv(self):
        s = layer('mbv2.first')  # 3->16, 3x3/2, 128x128 -> 64x64, batch 128
        self.assertEqual((s.out_height, s.out_width), (64, 64))
        self.assertEqual(plans.useful_flops('conv2d_forward', s, 3), 2 * 128 * 16 * 64 * 64 * 3 * 9)
        self.assertEqual(plans.useful_flops('conv2d_dw_sparse', s, 1), 2 * 16 * 1 * 9 * 128 * 64 * 64)

    def test_dense_dw_reads_all_of_dy_depthwise_only_the_selection(self):
        dense, dw = layer('mbv2.b04.expand'), layer('mbv2.b01.dw')
        dy_dense = 4 * dense.batch * dense.out_channels * dense.hwo
        for nsel in (1, 16):
            self.assertEqual(plans.min_bytes('conv2d_dw_sparse', dense, nsel),
                             dy_dense + 4 * (dense.batch * nsel * dense.hw + dense.mg * nsel))
        self.assertEqual(plans.min_bytes('conv2d_dw_sparse', dw, 5),
                         4 * (dw.batch * 5 * dw.hwo + dw.batch * 5 * dw.hw + 5 * 9))

    def test_selection_sizes(self):
        self.assertEqual(plans.nsel_for(0.01, 3), 1)
        self.assertEqual(plans.nsel_for(0.1, 48), 5)
        self.assertEqual(plans.nsel_for(1.0, 16), 16)

    def test_network_layer_lists(self):
        nets = networks.networks()
        self.assertEqual(len(nets['mbv2-w0.35']), 52)  # first conv, 16 blocks x 3 + 1 x 2, feature mix
        self.assertEqual(len(nets['resnet18']), 20)    # stem, 16 3x3, 3 downsamples
        self.assertEqual(layer('mbv2.mix').height, 4)
        self.assertEqual(layer('resnet18.layer4.0.conv2').height, 4)


class EligibilityMirrorsVersionsTest(unittest.TestCase):
    # the rules as written in C (checked against the sources below), restated independently of plans.py
    RULES = {'any_shape': lambda s, n: True, 'tf32_opted_in': lambda s, n: True,
             'depthwise_v3_shape': lambda s, n: (s.in_channels == s.groups and s.out_channels == s.groups
                                                 and s.kernel in (3, 5, 7) and s.stride in (1, 2)),
             'stream_shape': lambda s, n: s.groups == 1 and (s.out_height * s.out_width) % 4 == 0
                                          and n * s.kernel * s.kernel <= 32,
             'pointwise_shape': lambda s, n: (s.kernel == 1 and s.stride == 1 and s.padding == 0 and s.groups == 1
                                              and (s.height * s.width) % 4 == 0)}
    C_RULES = {'depthwise.cu': 'is_depthwise(g) && g.dil == 1 && (g.k == 3 || g.k == 5 || g.k == 7) && '
                               '(g.stride == 1 || g.stride == 2)',
               'dw_sparse_stream.cu': 'g.groups == 1 && g.hwo % 4 == 0 && (int64_t)nsel * g.k2 <= dws::kMaxCols',
               'pointwise.cu': 's.kernel == 1 && s.stride == 1 && s.padding == 0 && s.groups == 1 &&\n'
                               '           ((int64_t)s.in_height * s.in_width) % 4 == 0'}

    def test_rules_in_the_sources(self):
        for f, rule in self.C_RULES.items():
            self.assertIn(rule, read(os.path.join(ROOT, 'kernels', f)), f)
    TABLES = {'kConv2dForward': ('conv2d_forward', 'conv2d_gather'), 'kConv2dDx': ('conv2d_dx',),
              'kConv2dDwSparse': ('conv2d_dw_sparse',)}

    def table(self, name):
        text = read(os.path.join(ROOT, 'kernels', 'versions.cu'))
        body = re.search(r'%s\[\] = \{(.*?)\n\};' % name, text, re.S).group(1)
        return [(int(i), n, rule) for i, n, rule in re.findall(r'\{(\d+), "(\w+)", (\w+)\}', body)]

    def test_ids_names_and_rules(self):
        odd = [networks.Conv('odd.1x1', 'x', 2, 8, 8, 7, 7, 1, 1, 0),           # 7x7 planes: H'W' % 4 != 0
               networks.Conv('odd.dw9', 'x', 2, 8, 8, 16, 16, 9, 1, 4, groups=8),  # depthwise k 9
               networks.Conv('odd.dw5s3', 'x', 2, 8, 8, 16, 16, 5, 3, 2, groups=8),  # stride 3
               networks.Conv('odd.grouped', 'x', 2, 8, 8, 16, 16, 3, 1, 1, groups=2)]
        shapes = [l for ls in networks.networks().values() for l in ls] + odd
        for table, ops in self.TABLES.items():
            rows = self.table(table)
            self.assertTrue(rows, table)
            for position, (impl_id, name, rule) in enumerate(rows):
                # ids are row positions per op (v6 is v6_stream for dW, v6_pointwise for forward and dx)
                self.assertEqual(impl_id, position + 1, (table, name))
                self.assertTrue(name.startswith('v%d_' % impl_id), (table, name))
                self.assertIn(name, plans.IMPLEMENTATIONS)
                for op in ops:
                    for s in shapes:
                        for nsel in (1, s.in_channels):
                            self.assertEqual(plans.eligible(op, name, s, nsel), self.RULES[rule](s, nsel),
                                             (op, name, s.layer, nsel))
            listed = {n for _, n, _ in rows}
            for op in ops:
                for name in set(plans.IMPLEMENTATIONS) - listed:
                    self.assertFalse(any(plans.eligible(op, name, s, 1) for s in shapes), (op, name))

    def test_stream_column_limit(self):
        text = read(os.path.join(ROOT, 'kernels', 'dw_sparse_stream.cu'))
        self.assertEqual(int(re.search(r'kMaxCols = (\d+);', text).group(1)), plans.STREAM_MAX_COLS)


class PlanMirrorTest(unittest.TestCase):
    def test_pointwise_tile_by_hand(self):
        # b14.expand dx: 56 rows reducing 336 channels over 128 * 16 / 4 = 512 quads. (4, 1): 14 x 2 = 28 blocks,
        # 1 per SM, a thread 336 channels x 16 FFMA; (4, 4): 14 x 8 = 112 blocks, a thread 84 channels -> (4, 4)
        self.assertEqual(plans.pointwise_tile(56, 336, 512, 132), (4, 4))
        # b01.expand forward: 48 rows, 131072 quads: (16, 1) makes 1536 blocks (12 per SM), no groups needed
        self.assertEqual(plans.pointwise_tile(48, 8, 131072, 132), (16, 1))
        text = read(os.path.join(ROOT, 'kernels', 'pointwise.cu'))
        self.assertEqual(int(re.search(r'kThreads = (\d+);', text).group(1)), plans.PW_THREADS)
        self.assertIn('const PointwiseTile candidates[] = {%s};' % ', '.join('{%d, %d}' % t for t in plans.PW_TILES),
                      text)
        self.assertIn('#define T4J_PW_TILES(X) %s' % ' '.join('X(%d, %d)' % t for t in plans.PW_TILES), text)

    def test_split_k_by_hand(self):
        # one tile, K = 128 * 64 * 64, 2 blocks per SM on 132 SMs -> 264 slices wanted, chunk rounded to 16
        self.assertEqual(plans.choose_splits(1, 524288, 256, 128, 132, 2), (263, 2000))
        # slices of at least min_k: 32 * 16 / 256 = 2 at most
        self.assertEqual(plans.choose_splits(1, 512, 256, 128, 132, 2), (2, 256))

    def test_depthwise_tiling_by_hand(self):
        s = layer('mbv2.b02.dw')  # 48 channels 32x32, stride 1, batch 128
        t = plans.dw3_tiling(s.batch * s.in_channels, 32, 32, 1,
                             lambda tx, ty: ((ty - 1) * 1 + 3, (tx * plans.DW3_V - 1) * 1 + 3))
        # 8 threads across (4 outputs each), 32 rows, one plane per block; window 34 x 34, rows padded to 36
        self.assertEqual(t, (128 * 48, 256, 34 * 36 * 4))

    def test_occupancy(self):
        self.assertEqual(kernels.blocks_per_sm(128, 256, 0), 2)
        self.assertEqual(kernels.blocks_per_sm(80, 256, 31232), 3)
        self.assertEqual(kernels.blocks_per_sm(32, 256, 0), 8)
        self.assertEqual(kernels.blocks_per_sm(32, 256, 48 * 1024), 4)  # shared memory limits
        self.assertEqual(kernels.blocks_per_sm(189, 256, 31616), 1)


def fake_stats(**kernel):
    base = {'regs': 32, 'threads': 256, 'static_smem': 0, 'instructions': 100, 'straight_line_instr': 0,
            'whole': {'FFMA': 10}, 'hot_loop': {'counts': {'FFMA': 10}, 'instr': 20, 'lds_wavefronts': 0,
                                                'global_load_bytes_per_thread': 64}}
    base.update(kernel)
    return kernels.KernelStats(data={'kernels': {'k': base}})


class BoundsTest(unittest.TestCase):
    def test_issue_against_shared(self):
        launch = plans.Launch('k', blocks=132 * 8, threads=256, arith_per_thread=1000)
        b = kernels.launch_bounds(launch, fake_stats())
        # 8 blocks per SM x 8 warps x 1000 FFMA x 2 instructions per FFMA / (4 per clock)
        self.assertAlmostEqual(b['issue'], 8 * 8 * 2000 / (4 * hardware.CLOCK_HZ))
        self.assertEqual(b['shared'], 0)
        heavy = fake_stats(hot_loop={'counts': {'FFMA': 10, 'LDS.128': 10}, 'instr': 20, 'lds_wavefronts': 40,
                                     'global_load_bytes_per_thread': 64})
        b2 = kernels.launch_bounds(launch, heavy)
        self.assertGreater(b2['shared'], b2['issue'])  # 4 wavefronts per FFMA cost more than 2 issue slots

    def test_v3_tiles_half_broadcast(self):
        counts = {'LDS.128': 32, 'LDS.32': 8}
        self.assertEqual(kernels.KernelStats.wavefronts('conv2d_fwd_igemm_v3_kernel<x>', counts), 32 * 1.5 + 8)
        self.assertEqual(kernels.KernelStats.wavefronts('dws::dw_stream_kernel<16, 2>', counts), 32 * 4 + 8)

    def test_few_blocks_pull_less_than_hbm(self):
        one = kernels.launch_bounds(plans.Launch('k', blocks=1, threads=256, arith_per_thread=10), fake_stats())
        self.assertAlmostEqual(one['bandwidth'], 256 * 64 / hardware.DRAM_LATENCY_S)
        full = kernels.launch_bounds(plans.Launch('k', blocks=132 * 8, threads=256, arith_per_thread=10),
                                     fake_stats())
        self.assertEqual(full['bandwidth'], hardware.HBM_BYTES_PER_S)

    def test_few_warps_issue_slower(self):
        one = kernels.launch_bounds(plans.Launch('k', blocks=1, threads=32, arith_per_thread=1000), fake_stats())
        self.assertAlmostEqual(one['issue'], 2000 / (4 * hardware.CLOCK_HZ) * 8)  # 1 of 8 warps needed

    def test_every_prediction_at_or_above_its_floor_and_bound_is_the_largest(self):
        stats = kernels.KernelStats()
        for s in networks.sweep_shapes():
            for r in model.rows_for(s, stats):
                self.assertGreaterEqual(r['predicted_ms'], r['floor_ms'] * (1 - 1e-9), r)
                self.assertEqual(r['bound'], max(r['bounds_ms'], key=r['bounds_ms'].get))

    def test_memory_bound_and_compute_bound_layers(self):
        stats = kernels.KernelStats()
        big = model.predict('conv2d_forward', 'v3_microkernel', layer('resnet18.layer2.0.conv2'), 128, stats)
        self.assertGreater(big['bounds_ms']['issue'] + big['bounds_ms']['flops'], big['bounds_ms']['bytes'])
        self.assertGreater(big['gflop'] / big['mbytes'] * 1e3, 100)  # FLOP per byte of a 3x3 128-channel conv


class CommittedFilesTest(unittest.TestCase):
    def test_shapes_json_is_current(self):
        self.assertEqual(read(os.path.join(HERE, 'shapes.json')),
                         networks.shapes_json(networks.sweep_shapes()))

    def test_predictions_are_current(self):
        stats = kernels.KernelStats()
        fresh = {compare.key(r): r for s in networks.sweep_shapes() for r in model.rows_for(s, stats)}
        committed = json.loads(read(os.path.join(HERE, 'predictions-h200.json')))['rows']
        self.assertEqual(len(committed), len(fresh))
        for r in committed:
            self.assertAlmostEqual(r['predicted_ms'], fresh[compare.key(r)]['predicted_ms'], places=9)


class CompareTest(unittest.TestCase):
    PRED = {'rows': [
        {'layer': 'L', 'op': 'conv2d_forward', 'implementation': 'v2_tiled', 'density': None,
         'predicted_ms': 0.1, 'floor_ms': 0.05, 'bound': 'issue'},
        {'layer': 'L', 'op': 'conv2d_dw_sparse', 'implementation': 'v2_tiled', 'density': 0.1,
         'predicted_ms': 0.2, 'floor_ms': 0.01, 'bound': 'bytes'}]}
    SWEEP = {'rows': [
        {'layer': 'L', 'op': 'conv2d_forward', 'implementation': 'v2_tiled', 'density': 0.1, 'median_ms': 0.3},
        {'layer': 'L', 'op': 'conv2d_forward', 'implementation': 'torch_cudnn_fp32', 'density': 0.1,
         'median_ms': 0.02},
        {'layer': 'L', 'op': 'conv2d_dw_sparse', 'implementation': 'v2_tiled', 'density': 0.01, 'median_ms': 0.1},
        {'layer': 'L', 'op': 'conv2d_dw_sparse', 'implementation': 'v1_naive', 'density': 0.1, 'error': 'failed'},
        {'layer': 'L', 'op': 'conv2d_dw_sparse', 'implementation': 'v2_tiled', 'density': 0.1, 'median_ms': 0.1}]}

    def test_matching_ratios_and_references(self):
        matched, torch, unpredicted, unmeasured = compare.compare(self.PRED['rows'], self.SWEEP['rows'])
        self.assertEqual([(m['op'], round(m['ratio'], 6)) for m in matched],
                         [('conv2d_forward', 3.0), ('conv2d_dw_sparse', 0.5)])
        self.assertAlmostEqual(matched[1]['x_floor'], 10.0)
        self.assertEqual(torch[('L', 'conv2d_forward', None, None)], {'torch_cudnn_fp32': 0.02})
        self.assertEqual([r['density'] for r in unpredicted], [0.01])
        self.assertEqual(unmeasured, [])
        s = compare.summary(matched)
        self.assertAlmostEqual(s['geomean_ratio'], (3.0 * 0.5) ** 0.5)
        self.assertEqual(s['within_2x'], 1)

    def run_main(self, *args):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(err):
            rc = compare.main(list(args))
        return rc, out.getvalue(), err.getvalue()

    def test_main_writes_markdown(self):
        with tempfile.TemporaryDirectory() as d:
            p, s, md = (os.path.join(d, n) for n in ('p.json', 's.json', 'c.md'))
            write_json(p, self.PRED)
            write_json(s, self.SWEEP)
            rc, out, _ = self.run_main(p, s, '--md', md)
            self.assertEqual(rc, 0)
            self.assertIn('2 rows', out)
            self.assertIn('| L | conv2d_forward | - | v2_tiled | 0.3000 | 0.1000 | 3.00 | 6.00 | issue |',
                          read(md))

    def test_bad_input_is_one_line_and_status_2(self):
        with tempfile.TemporaryDirectory() as d:
            bad, nokey = os.path.join(d, 'bad.json'), os.path.join(d, 'nokey.json')
            with open(bad, 'w') as f:
                f.write('{not json')
            write_json(nokey, {'rows': [{'layer': 'L'}]})
            for args in ((os.path.join(d, 'missing.json'), bad), (bad, bad), (nokey, nokey)):
                rc, out, err = self.run_main(*args)
                self.assertEqual(rc, 2, args)
                self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_model_without_counts_is_status_2(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(model.main(['--stats', '/nonexistent/kernel-stats.json']), 2)
        self.assertEqual(len(err.getvalue().strip().splitlines()), 1)


class PerfReportTest(unittest.TestCase):
    def test_launch_arguments_resolve_from_constants(self):
        pr = perf_report()
        consts = pr.constants(['constexpr int kGemmThreads = 256;', 'constexpr int kLossWarps = 8;'])
        self.assertEqual(pr.evaluate('kGemmThreads', consts), 256)
        self.assertEqual(pr.evaluate('kLossWarps * 32', consts), 256)
        self.assertIsNone(pr.evaluate('t.threads', consts))
        cfg = pr.launch_configs('T4J_LAUNCH((unsigned)blocks, t.threads, t.smem, stream, dw_direct_kernel<K, S>)(a);'
                                '\nT4J_LAUNCH(nb, 256, 0, stream, foo_kernel<3>)(x);', consts)
        self.assertEqual(cfg, {'dw_direct_kernel': [('t.threads', 't.smem')], 'foo_kernel': [('256', '0')]})

    def test_innermost_loops_and_occupancy(self):
        pr = perf_report()
        self.assertEqual(pr.innermost([(0, 100), (10, 20), (30, 40)]), [(10, 20), (30, 40)])
        o = pr.occupancy(111, 256, 18688)
        self.assertEqual((o['blocks_per_sm'], o['limited_by']), (2, 'registers'))
        self.assertEqual(pr.occupancy(32, 256, 0)['limited_by'], 'threads')

    def test_committed_counts_cover_every_kernel_the_plans_launch(self):
        stats = kernels.KernelStats()
        for s in [l for ls in networks.networks().values() for l in ls]:
            for op in plans.OPS:
                for d in plans.DENSITIES:
                    nsel = plans.nsel_for(d, s.in_channels)
                    for impl in plans.IMPLEMENTATIONS:
                        if plans.eligible(op, impl, s, nsel):
                            for l in plans.launches(op, impl, s, nsel, stats):
                                stats.get(l.kernel)


if __name__ == '__main__':
    unittest.main()
