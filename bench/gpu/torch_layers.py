#!/usr/bin/env python3
"""PyTorch side of the per-layer GPU benchmark (issue 5, items 1, 2 and 4).

Reads the JSON of our driver (io.trady4j.bench.LayerTimes: layer shapes, batch sizes and the
selected channels per density) and times, for the same layers, batches and channels:
  - forward:   F.conv2d(x, w, None, stride, padding, 1, groups)
  - dw_dense:  aten.convolution_backward with output_mask [False, True, False] (the weight
               gradient alone, what torch.nn.grad.conv2d_weight calls; cuDNN on the GPU)
  - dx:        aten.convolution_backward with output_mask [True, False, False]
  - dw_sliced: the weight gradient restricted to the selected channels S the way a PyTorch user
               computes it (the baseline of bench/cpu): convolution_backward on the pre-gathered
               x[:, S] (gathered outside the timing, as our forward caches it) for the weight
               shape [C', |S|, D, D]; depthwise layers: x[:, S] and dy[:, S] with groups = |S|.
Also the device's measured fp32 peak (a large sgemm) and copy bandwidth, for the report's
fraction-of-peak columns. TF32 is switched off and a float64 check confirms that the convolutions
and the sgemm really ran in fp32.

Timing on CUDA: CUDA events around each call after warm-up calls, a buffer larger than L2 overwritten
before each call (outside the timed region), median and minimum of the timed calls; the same
repetition rule as the driver. On the CPU (--device cpu, for smoke tests with PyTorch 1.13): wall time.

    python3 bench/gpu/torch_layers.py --ours ours.json --out torch.json [--device cuda] [--max-seconds 200]
"""
import argparse
import datetime
import json
import math
import os
import platform
import sys
import time

import torch
import torch.nn.functional as F


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def set_fp32_precision(tf32=False):
    """Switches TF32 off (or on) for convolutions and matrix products; returns the settings as read back."""
    cudnn = torch.backends.cudnn
    if hasattr(cudnn, "conv") and hasattr(cudnn.conv, "fp32_precision"):
        # PyTorch >= 2.9: use only the per-backend API (mixing it with the legacy allow_tf32 flags raises
        # at run time); rnn is set too so that cuDNN's conv and rnn flags agree. fp32_check() verifies.
        mode = "tf32" if tf32 else "ieee"
        try:
            torch.backends.cuda.matmul.fp32_precision = mode
            cudnn.conv.fp32_precision = mode
            cudnn.rnn.fp32_precision = mode
            return {"api": "fp32_precision", "cuda.matmul": torch.backends.cuda.matmul.fp32_precision,
                    "cudnn.conv": cudnn.conv.fp32_precision, "cudnn.rnn": cudnn.rnn.fp32_precision}
        except (AttributeError, RuntimeError, ValueError) as e:
            log(f"the fp32_precision API failed ({e!r}); using allow_tf32")
    cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    return {"api": "allow_tf32", "cudnn.allow_tf32": cudnn.allow_tf32,
            "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32}


class Timer:
    """Times one call: CUDA events with an L2 flush before each call, or wall time on the CPU."""

    def __init__(self, device, flush_bytes, warmup, min_reps, max_reps, target_ms):
        self.cuda = device.type == "cuda"
        self.flush = (torch.empty(flush_bytes // 4, dtype=torch.float32, device=device)
                      if self.cuda and flush_bytes > 0 else None)
        self.warmup, self.min_reps, self.max_reps, self.target_ms = warmup, min_reps, max_reps, target_ms

    def method(self):
        if not self.cuda:
            return "wall time (time.perf_counter) around each call; caches not flushed"
        flush = ("L2 not flushed" if self.flush is None else
                 f"L2 flushed before each call by overwriting {self.flush.numel() * 4} bytes outside the timed region")
        return f"CUDA events on the current stream around each call, {flush}"

    def once(self, fn):
        if not self.cuda:
            t0 = time.perf_counter()
            fn()
            return (time.perf_counter() - t0) * 1e3
        if self.flush is not None:
            self.flush.fill_(1.0)
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)

    def reps_for(self, estimate_ms):
        if not estimate_ms > 0:
            return self.max_reps
        return int(max(self.min_reps, min(self.max_reps, math.ceil(self.target_ms / estimate_ms))))

    def time(self, fn):
        estimate = 0.0
        for _ in range(self.warmup):
            estimate = self.once(fn)
        samples = sorted(self.once(fn) for _ in range(self.reps_for(estimate)))
        n = len(samples)
        median = samples[n // 2] if n % 2 else 0.5 * (samples[n // 2 - 1] + samples[n // 2])
        return {"ms": median, "min_ms": samples[0], "reps": n}


def conv_backward(dy, x, weight, layer, groups, mask):
    s, p = layer["stride"], layer["padding"]
    return torch.ops.aten.convolution_backward(dy, x, weight, None, [s, s], [p, p], [1, 1], False, [0, 0], groups,
                                               mask)


def shape_only(like, shape):
    """A weight argument of the given shape that is never read (as torch.nn.grad.conv2d_weight passes it)."""
    return like.new_empty(1).expand(shape)


def measure_layer(layer, batches, timer, device):
    c, co, k, g, h, o = (layer[key] for key in ("in", "out", "kernel", "groups", "size", "out_size"))
    depthwise = g == c == co and g > 1
    runs = []
    for b in batches:
        x = torch.rand(b, c, h, h, device=device) * 2 - 1
        w = torch.rand(co, c // g, k, k, device=device) * 2 - 1
        dy = torch.rand(b, co, o, o, device=device) * 2 - 1
        w_shape = shape_only(x, w.shape)
        run = {"batch": b,
               "forward": timer.time(lambda: F.conv2d(x, w, None, layer["stride"], layer["padding"], 1, g)),
               "dw_dense": timer.time(lambda: conv_backward(dy, x, w_shape, layer, g, [False, True, False])),
               "dx": timer.time(lambda: conv_backward(dy, x, w, layer, g, [True, False, False]))}
        sliced = {}
        for key, channels in layer["selections"].items():
            idx = torch.tensor(channels, dtype=torch.long, device=device)
            xs = x.index_select(1, idx).contiguous()
            n = len(channels)
            if depthwise:
                dys = dy.index_select(1, idx).contiguous()
                ws = shape_only(xs, (n, 1, k, k))
                fn = lambda xs=xs, dys=dys, ws=ws, n=n: conv_backward(dys, xs, ws, layer, n, [False, True, False])
            elif g == 1:
                ws = shape_only(xs, (co, n, k, k))
                fn = lambda xs=xs, ws=ws: conv_backward(dy, xs, ws, layer, 1, [False, True, False])
            else:
                continue  # grouped, not depthwise: no layer of the benchmarked networks
            sliced[key] = dict(timer.time(fn), selected=n)
        run["dw_sliced"] = sliced
        runs.append(run)
    return runs


def rel_error(a, ref):
    return ((a.double() - ref).norm() / ref.norm()).item()


def fp32_check(device):
    """Relative errors of fp32 results against float64 on the same device: ~1e-6 in fp32, ~1e-4 or more with TF32."""
    gen = torch.Generator(device=device).manual_seed(7)
    x = torch.rand(8, 64, 16, 16, device=device, generator=gen) * 2 - 1
    w = torch.rand(64, 64, 3, 3, device=device, generator=gen) * 2 - 1
    dy = torch.rand(8, 64, 16, 16, device=device, generator=gen) * 2 - 1
    a = torch.rand(512, 512, device=device, generator=gen) * 2 - 1
    layer = {"stride": 1, "padding": 1}
    out = {"conv_forward": rel_error(F.conv2d(x, w, None, 1, 1), F.conv2d(x.double(), w.double(), None, 1, 1)),
           "conv_weight_grad": rel_error(conv_backward(dy, x, w, layer, 1, [False, True, False])[1],
                                         conv_backward(dy.double(), x.double(), w.double(), layer, 1,
                                                       [False, True, False])[1]),
           "sgemm": rel_error(a @ a, a.double() @ a.double())}
    out["tf32_suspected"] = max(out.values()) > 5e-5
    return out


def measure_peak(timer, device, n, copy_mib):
    """fp32 sgemm rate (2·n³ per product) and device copy bandwidth (bytes read + written)."""
    a = torch.rand(n, n, device=device) * 2 - 1
    b = torch.rand(n, n, device=device) * 2 - 1
    mm = timer.time(lambda: a @ b)
    src = torch.rand(copy_mib << 18, device=device)
    dst = torch.empty_like(src)
    cp = timer.time(lambda: dst.copy_(src))
    return {"sgemm_n": n, "sgemm_ms": mm["ms"], "sgemm_fp32_tflops": 2 * n ** 3 / (mm["ms"] * 1e9),
            "copy_bytes": 2 * src.numel() * 4, "copy_ms": cp["ms"],
            "copy_gbps": 2 * src.numel() * 4 / (cp["ms"] * 1e6)}


def write_json(result, path):
    """Written aside and renamed, so that a run killed mid-write still leaves the previous layers' JSON."""
    with open(path + ".partial", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".partial", path)


def device_info(device):
    if device.type != "cuda":
        return {"type": "cpu", "name": platform.processor() or platform.machine(), "threads": torch.get_num_threads()}
    p = torch.cuda.get_device_properties(device)
    return {"type": "cuda", "name": p.name, "capability": f"{p.major}.{p.minor}",
            "multiprocessors": p.multi_processor_count, "memory_bytes": p.total_memory,
            "l2_bytes": getattr(p, "L2_cache_size", None)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True, help="JSON of io.trady4j.bench.LayerTimes")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--max-seconds", type=float, default=200, help="start no new layer after this many seconds")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-reps", type=int, default=10)
    ap.add_argument("--max-reps", type=int, default=100)
    ap.add_argument("--target-ms", type=float, default=50)
    ap.add_argument("--flush-mib", type=int, default=128)
    ap.add_argument("--peak-n", type=int, default=None, help="sgemm size for the fp32 peak (default 8192 on cuda)")
    ap.add_argument("--copy-mib", type=int, default=None, help="copy size for the bandwidth (default 1024 on cuda)")
    ap.add_argument("--no-cudnn-benchmark", action="store_true",
                    help="leave cudnn.benchmark off (default on: cuDNN autotunes each shape during the warm-up calls)")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    started = time.time()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_layers.py: --device cuda but torch.cuda.is_available() is False")
    precision = set_fp32_precision()
    torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    torch.manual_seed(args.seed)
    ours = json.load(open(args.ours))
    timer = Timer(device, args.flush_mib << 20, args.warmup, args.min_reps, args.max_reps, args.target_ms)
    cuda = device.type == "cuda"
    result = {
        "tool": "bench/gpu/torch_layers.py",
        "command": " ".join(sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": device_info(device),
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,
        "python": platform.python_version(),
        "fp32_precision": precision,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "ops": {"forward": "F.conv2d(x, w, None, stride, padding, 1, groups)",
                "dw_dense": "aten.convolution_backward(dy, x, w, ..., output_mask=[False, True, False])",
                "dx": "aten.convolution_backward(dy, x, w, ..., output_mask=[True, False, False])",
                "dw_sliced": "aten.convolution_backward weight gradient on the pre-gathered x[:, S] for weight "
                             "[C', |S|, D, D]; depthwise: x[:, S], dy[:, S], groups = |S|"},
        "timing": {"method": timer.method(), "warmup_calls": args.warmup, "min_reps": args.min_reps,
                   "max_reps": args.max_reps, "target_ms": args.target_ms,
                   "reps_rule": "timed calls = target_ms / (time of the last warm-up call), within [min_reps, max_reps]",
                   "statistic": "median (ms) and minimum (min_ms) of the timed calls"},
        "max_seconds": args.max_seconds,
        "finished": False,
    }
    result["fp32_check"] = fp32_check(device)
    if result["fp32_check"]["tf32_suspected"]:
        log(f"WARNING: fp32 results differ from float64 like TF32 would: {result['fp32_check']}")
    peak_n = args.peak_n or (8192 if cuda else 512)
    copy_mib = args.copy_mib or (1024 if cuda else 16)
    result["peak"] = measure_peak(timer, device, peak_n, copy_mib)
    log(f"fp32 sgemm {result['peak']['sgemm_fp32_tflops']:.2f} TFLOP/s, copy {result['peak']['copy_gbps']:.0f} GB/s")
    layers, not_measured = [], []
    result["layers"] = layers
    result["layers_not_measured"] = not_measured
    todo = ours["layers"]
    for i, layer in enumerate(todo):
        if time.time() - started > args.max_seconds:
            not_measured.append(layer["name"])
            continue
        runs = measure_layer(layer, ours["batches"], timer, device)
        layers.append({"name": layer["name"], "runs": runs})
        for r in runs:
            log(f"[{i + 1:2d}/{len(todo)}] {layer['name']:28s} B={r['batch']:<4d} fwd {r['forward']['ms']:8.4f} ms  "
                f"dW {r['dw_dense']['ms']:8.4f} ms  sliced " +
                " ".join(f"{d}:{v['ms']:.4f}" for d, v in r["dw_sliced"].items()) + f"  dx {r['dx']['ms']:8.4f} ms")
        result["wall_seconds"] = time.time() - started
        write_json(result, args.out)
    if not_measured:
        log(f"time budget of {args.max_seconds:g} s used up: {len(not_measured)} layer(s) not measured: "
            + ", ".join(not_measured))
    result["stopped_early"] = bool(not_measured)
    result["wall_seconds"] = time.time() - started
    result["finished"] = True
    write_json(result, args.out)


if __name__ == "__main__":
    main()
