#!/usr/bin/env python3
"""PyTorch's side of the GPU kernel sweep (issue 11 §3, stage 3): the same layer shapes and densities as
io.trady4j.bench.KernelSweep, timed the same way, with cuDNN's TF32 off and on.

Rows (op names as in the C ABI; implementation torch_cudnn_fp32 / torch_cudnn_tf32 on a GPU, torch_cpu_fp32
on the CPU, where TF32 does not exist):
  - conv2d_forward   F.conv2d(x, w, None, stride, padding, 1, groups)                       (density 1.0)
  - conv2d_gather    the same forward and x.index_select(1, S): what the fused kernel replaces
  - conv2d_dx        aten.convolution_backward, output_mask [True, False, False]            (density 1.0)
  - conv2d_dw_sparse the weight gradient of the selected channels on the pre-gathered x[:, S] (weight
                     [C', |S|, D, D]; depthwise: x[:, S], dy[:, S], groups = |S|); density 1.0 is the dense one
|S| = max(1, round(d·C)) as in KernelSweep; which channels does not change PyTorch's time. Timing:
torch_layers.Timer (CUDA events, L2 flushed before each call, median of the timed calls; wall time on the CPU).

    python3 bench/gpu/torch_sweep.py --out sweep-torch.json [--device cuda] [--shapes bench/model/shapes.json]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_layers import Timer, conv_backward, device_info, fp32_check, log, set_fp32_precision, shape_only, write_json  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def selected(density, channels):
    """KernelSweep's |S|: max(1, Math.round(d·C)) (Java rounds halves up)."""
    return max(1, int(math.floor(density * channels + 0.5)))


def shrunk(s, batch, max_size):
    """SweepShape.shrunk: another batch, input planes at most max_size a side (never below the kernel's need)."""
    s = dict(s)
    if batch > 0:
        s["batch"] = batch
    if max_size > 0:
        floor = max(1, s["kernel"] - 2 * s["padding"])
        s["height"] = max(floor, min(s["height"], max_size))
        s["width"] = max(floor, min(s["width"], max_size))
    return s


def out_size(n, s):
    return (n + 2 * s["padding"] - s["kernel"]) // s["stride"] + 1


def measure(shape, densities, timer, device, implementation, generator):
    b, c, co, k, g = (shape[key] for key in ("batch", "in_channels", "out_channels", "kernel", "groups"))
    h, w_ = shape["height"], shape["width"]
    st, pad = shape["stride"], shape["padding"]
    geometry = {"stride": st, "padding": pad}
    depthwise = g == c == co and g > 1
    x = torch.rand(b, c, h, w_, device=device) * 2 - 1
    w = torch.rand(co, c // g, k, k, device=device) * 2 - 1
    dy = torch.rand(b, co, out_size(h, shape), out_size(w_, shape), device=device) * 2 - 1
    base = {"layer": shape["layer"], "network": shape["network"], "implementation": implementation, "batch": b,
            "height": h, "width": w_, "math": implementation.rsplit("_", 1)[-1]}

    def row(op, density, n, fn):
        return dict(base, op=op, density=density, selected=n, **{
            {"ms": "median_ms", "min_ms": "min_ms", "reps": "reps"}[key]: v for key, v in timer.time(fn).items()})

    rows = [row("conv2d_forward", 1.0, c, lambda: F.conv2d(x, w, None, st, pad, 1, g)),
            row("conv2d_dx", 1.0, c, lambda: conv_backward(dy, x, w, geometry, g, [True, False, False]))]
    permutation = torch.randperm(c, generator=generator).tolist()
    for d in densities:
        n = selected(d, c)
        idx = torch.tensor(sorted(permutation[:n]), dtype=torch.long, device=device)
        rows.append(row("conv2d_gather", d, n,
                        lambda idx=idx: (F.conv2d(x, w, None, st, pad, 1, g), x.index_select(1, idx))))
        xs = x.index_select(1, idx).contiguous()
        if depthwise:
            dys = dy.index_select(1, idx).contiguous()
            ws = shape_only(xs, (n, 1, k, k))
            fn = lambda xs=xs, dys=dys, ws=ws, n=n: conv_backward(dys, xs, ws, geometry, n, [False, True, False])
        elif g == 1:
            ws = shape_only(xs, (co, n, k, k))
            fn = lambda xs=xs, ws=ws: conv_backward(dy, xs, ws, geometry, 1, [False, True, False])
        else:
            continue  # grouped, not depthwise: no layer of the swept networks
        rows.append(row("conv2d_dw_sparse", d, n, fn))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shapes", default=os.path.join(ROOT, "bench", "model", "shapes.json"))
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--densities", default="0.01,0.1,1")
    ap.add_argument("--layers", default="", help="comma-separated layer name prefixes (default all)")
    ap.add_argument("--batch", type=int, default=0, help="every shape at this batch size (dry runs)")
    ap.add_argument("--max-size", type=int, default=0, help="input planes at most this on a side (dry runs)")
    ap.add_argument("--max-seconds", type=float, default=120, help="start no new shape after this many seconds")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=50)
    ap.add_argument("--target-ms", type=float, default=30)
    ap.add_argument("--flush-mib", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    try:
        shapes = json.load(open(a.shapes))["shapes"]
        densities = sorted({float(v) for v in a.densities.split(",") if v.strip()})
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"torch_sweep.py: bad --shapes or --densities: {e}")
    prefixes = [p for p in a.layers.split(",") if p]
    shapes = [shrunk(s, a.batch, a.max_size) for s in shapes if not prefixes or any(s["layer"].startswith(p) for p in prefixes)]
    if not shapes or not densities or densities[0] <= 0 or densities[-1] > 1:
        sys.exit(f"torch_sweep.py: no shape selected from {a.shapes} or densities outside (0, 1]: {densities}")
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_sweep.py: --device cuda but torch.cuda.is_available() is False")
    cuda = device.type == "cuda"
    started = time.time()
    torch.backends.cudnn.benchmark = True
    timer = Timer(device, a.flush_mib << 20, a.warmup, a.min_reps, a.max_reps, a.target_ms)
    modes = [("torch_cudnn_fp32", False), ("torch_cudnn_tf32", True)] if cuda else [("torch_cpu_fp32", False)]
    result = {
        "tool": "bench/gpu/torch_sweep.py", "command": " ".join(sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": device_info(device), "torch_version": torch.__version__, "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None, "python": platform.python_version(),
        "cudnn_benchmark": True, "densities": densities, "batch_override": a.batch, "max_size": a.max_size,
        "timing": {"method": timer.method(), "warmup_calls": a.warmup, "min_reps": a.min_reps, "max_reps": a.max_reps,
                   "target_ms": a.target_ms, "statistic": "median (median_ms) and minimum (min_ms) of the timed calls"},
        "modes": {}, "rows": [], "shapes_not_measured": [], "finished": False,
    }
    generator = torch.Generator().manual_seed(a.seed)
    for implementation, tf32 in modes:
        precision = set_fp32_precision(tf32)
        check = fp32_check(device)
        result["modes"][implementation] = {"precision": precision, "check_against_float64": check}
        if cuda and check["tf32_suspected"] != tf32:
            log(f"WARNING: {implementation}: TF32 {'on' if tf32 else 'off'} was asked for, but the float64 check says "
                f"otherwise: {check}")
        for i, shape in enumerate(shapes):
            if time.time() - started > a.max_seconds:
                result["shapes_not_measured"].append(f"{shape['layer']} ({implementation})")
                continue
            rows = measure(shape, densities, timer, device, implementation, generator)
            result["rows"].extend(rows)
            best = {r["op"] + "@" + str(r["density"]): r["median_ms"] for r in rows}
            log(f"[{i + 1:2d}/{len(shapes)}] {implementation} {shape['layer']:28s} B={shape['batch']:<4d} "
                + " ".join(f"{k} {v:.4f}" for k, v in best.items()))
            result["wall_seconds"] = time.time() - started
            write_json(result, a.out)
    if result["shapes_not_measured"]:
        log(f"time budget of {a.max_seconds:g} s used up: not measured: {', '.join(result['shapes_not_measured'])}")
    result["wall_seconds"] = time.time() - started
    result["finished"] = True
    write_json(result, a.out)


if __name__ == "__main__":
    main()
