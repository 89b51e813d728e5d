#!/usr/bin/python3
"""PyTorch CPU side of the trady4j CPU benchmark: the same conv layer shapes as the JMH benchmarks.

For every layer (from `java -cp bench/target/benchmarks.jar io.trady4j.bench.Layers`) it times
  - forward: torch.nn.functional.conv2d (+ ReLU6 as in our fused forward, bias-free),
  - dense weight gradient: torch.nn.grad.conv2d_weight (aten.convolution_backward, weight only),
  - the weight gradient restricted to |S| = max(1, round(d*C)) input channels the way a PyTorch user
    would compute it: conv2d_weight on the gathered input x[:, S] (pre-gathered outside the timing,
    as trady4j's forward caches it) for weight shape [C', |S|, D, D]; for depthwise layers on
    x[:, S] and dy[:, S] with groups = |S|,
and reports the median of `--reps` timed repetitions after `--warmup` untimed ones, in ms.

Usage: torch_cpu.py --layers layers.json --out torch.json [--threads N] [--batch 32] [--densities ...]
Needs Debian's python3-torch (1.13) at /usr/bin/python3.
"""
import argparse
import json
import platform
import random
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_weight


TIMER = time.perf_counter
CPU_TIMES = {}


def median_ms(fn, warmup, reps):
    """Median wall time (ms) and all wall times; the calling thread's CPU times go to CPU_TIMES[fn]."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(reps):
        c0 = time.thread_time()
        t0 = TIMER()
        fn()
        times.append((TIMER() - t0) * 1e3)
        cpu.append((time.thread_time() - c0) * 1e3)
    CPU_TIMES["last"] = cpu
    return statistics.median(times), times


def cpu_stats():
    c = CPU_TIMES["last"]
    return statistics.median(c), min(c)


def selection(rng, channels, density):
    n = max(1, round(density * channels))
    return sorted(rng.sample(range(channels), n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--densities", type=float, nargs="*", default=[0.01, 0.05, 0.1, 0.25, 0.5, 1.0],
                    help="densities run on every layer")
    ap.add_argument("--sweep-densities", type=float, nargs="*", default=[],
                    help="extra densities run only on --sweep-layers")
    ap.add_argument("--sweep-layers", default="", help="comma-separated layer names that also get --sweep-densities")
    ap.add_argument("--only", default="", help="comma-separated layer names to run (default: all)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--cpu-time", action="store_true", help="time with the calling thread's CPU time (only "
                    "meaningful with --threads 1, where PyTorch computes on the calling thread)")
    args = ap.parse_args()
    if args.cpu_time:
        global TIMER
        TIMER = time.thread_time
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    layers = json.load(open(args.layers))
    only = set(filter(None, args.only.split(",")))
    sweep = set(filter(None, args.sweep_layers.split(",")))
    results = []
    with torch.no_grad():
        for layer in layers:
            name = layer["name"]
            if only and name not in only:
                continue
            c, co, k, s, p, g, h = (layer[key] for key in ("in", "out", "kernel", "stride", "padding", "groups", "size"))
            b = args.batch
            x = torch.rand(b, c, h, h) * 2 - 1
            w = torch.rand(co, c // g, k, k) * 2 - 1
            o = layer["out_size"]
            dy = torch.rand(b, co, o, o) * 2 - 1
            fwd, fwd_all = median_ms(lambda: F.relu6(F.conv2d(x, w, None, s, p, 1, g)), args.warmup, args.reps)
            fwd_cpu = cpu_stats()
            dense, dense_all = median_ms(lambda: conv2d_weight(x, w.shape, dy, s, p, 1, g), args.warmup, args.reps)
            dense_cpu = cpu_stats()
            dens = sorted(set(args.densities) | (set(args.sweep_densities) if name in sweep else set()))
            sparse = {}
            for d in dens:
                sel = selection(rng, c, d)
                idx = torch.tensor(sel)
                xs = x.index_select(1, idx).contiguous()
                if g == 1:
                    shape = (co, len(sel), k, k)
                    fn = lambda xs=xs, shape=shape: conv2d_weight(xs, shape, dy, s, p, 1, 1)
                elif g == c == co:
                    dys = dy.index_select(1, idx).contiguous()
                    shape = (len(sel), 1, k, k)
                    fn = lambda xs=xs, dys=dys, shape=shape, n=len(sel): conv2d_weight(xs, shape, dys, s, p, 1, n)
                else:
                    continue  # grouped non-depthwise: no layer of the benchmarked nets
                med, all_times = median_ms(fn, args.warmup, args.reps)
                cs = cpu_stats()
                sparse[str(d)] = {"selected": len(sel), "ms": med, "min_ms": min(all_times), "cpu_ms": cs[0],
                                  "cpu_min_ms": cs[1]}
            row = {"name": name, "forward_ms": fwd, "forward_min_ms": min(fwd_all), "forward_cpu_ms": fwd_cpu[0],
                   "forward_cpu_min_ms": fwd_cpu[1], "dw_dense_ms": dense, "dw_dense_min_ms": min(dense_all),
                   "dw_dense_cpu_ms": dense_cpu[0], "dw_dense_cpu_min_ms": dense_cpu[1], "dw_sliced": sparse}
            results.append(row)
            print(f"{name:32s} fwd {fwd:8.3f} (min {min(fwd_all):7.3f})  dW {dense:8.3f} (min {min(dense_all):7.3f})  " +
                  " ".join(f"{d}:{v['ms']:.3f}" for d, v in sparse.items()), file=sys.stderr, flush=True)
    out = {
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "batch": args.batch,
        "warmup": args.warmup,
        "reps": args.reps,
        "timer": "time.perf_counter (wall) and time.thread_time (CPU of the calling thread; the whole cost "
                 "only with 1 thread) around each call, after warm-up",
        "statistic": "median",
        "layers": results,
    }
    json.dump(out, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
