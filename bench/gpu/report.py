#!/usr/bin/env python3
"""Merges the per-layer GPU benchmark's two halves into one result and writes its tables and plot.

    python3 bench/gpu/report.py --ours ours.json --torch torch.json [--out-dir bench/results]
    python3 bench/gpu/report.py --merged bench/results/gpu-<date>-<device>.json   # regenerate .md and .svg
    python3 bench/gpu/report.py --targets bench/results/gpu-<date>-<device>.json  # the targets, one JSON line

ours.json comes from io.trady4j.bench.LayerTimes, torch.json from bench/gpu/torch_layers.py. Writes
<out-dir>/gpu-<date>-<device>.json (both inputs, per layer and batch side by side, plus the network
totals and the issue-5 targets computed here), .md (the tables) and .svg (weight-gradient time vs
density, ours vs PyTorch). Every figure in the .md and .svg is computed from the JSON. A run on the
CPU (smoke test) is named cpu-layers-<date> instead.
"""
import argparse
import json
import math
import os
import re
import sys

NETS = ("mbv2", "resnet18")
# issue 5's targets: (key in the summary, label, bound)
TARGETS = (("dw10_over_dense", "sparse dW at 10% density ≤ 0.15 × our dense dW", 0.15),
           ("dw1_over_dense", "sparse dW at 1% density ≤ 0.05 × our dense dW", 0.05),
           ("dense_over_torch", "our dense dW ≤ 1.5 × PyTorch's weight gradient", 1.5))


def at_density(entries, d):
    """The entry for density d in a dict keyed by density strings ('0.1', '1.0'), or None."""
    for k, v in (entries or {}).items():
        if abs(float(k) - d) < 1e-9:
            return v
    return None


def ms(entry):
    return None if not entry else entry.get("ms")


def ratio(a, b):
    return None if a is None or not b else a / b


def fmt(v, digits=3):
    return "–" if v is None else f"{v:.{digits}f}"


def pct(v):
    return "–" if v is None else f"{100 * v:.1f}%"


def slug(text):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("nvidia", "")).strip("-")
    return s or "device"


def merge(ours, torch):
    torch_rows = {l["name"]: l for l in torch["layers"]}
    layers = []
    for l in ours["layers"]:
        row = {k: v for k, v in l.items() if k != "runs"}
        t_runs = {r["batch"]: r for r in torch_rows.get(l["name"], {}).get("runs", [])}
        row["batches"] = {str(r["batch"]): {"ours": r, "torch": t_runs.get(r["batch"])} for r in l.get("runs", [])}
        layers.append(row)
    cuda = torch["device"]["type"] == "cuda"
    device = torch["device"]["name"] if cuda else "cpu"
    date = ours["date"][:10]
    return {
        "name": f"gpu-{date}-{slug(device)}" if cuda else f"cpu-layers-{date}",
        "date": date,
        "device": device,
        "ours": {k: v for k, v in ours.items() if k != "layers"},
        "torch": {k: v for k, v in torch.items() if k != "layers"},
        "layers": layers,
    }


def side(layer, batch):
    b = layer["batches"].get(str(batch))
    return (b["ours"], b["torch"]) if b and b["torch"] else (None, None)


def layer_values(layer, batch):
    """The per-layer figures of the tables, None where a side is missing."""
    o, t = side(layer, batch)
    if o is None:
        return None
    dw = o["dw"]
    v = {"fwd": ms(o["forward"]), "fwd_t": ms(t["forward"]), "dx": ms(o["dx"]), "dx_t": ms(t["dx"]),
         "dense": ms(at_density(dw, 1.0)), "dense_t": ms(t["dw_dense"]),
         "dw10": ms(at_density(dw, 0.1)), "dw1": ms(at_density(dw, 0.01)),
         "sliced10": ms(at_density(t["dw_sliced"], 0.1)), "gather10": ms(at_density(o["gather"], 0.1)),
         "sel10": (at_density(dw, 0.1) or {}).get("selected"), "sel1": (at_density(dw, 0.01) or {}).get("selected"),
         "cache10": (at_density(o["gather"], 0.1) or {}).get("cache_bytes"),
         "fwd_flops": o["forward"]["flops"], "dense_flops": (at_density(dw, 1.0) or {}).get("flops")}
    return v


def summarize(res):
    """Network totals per net and batch: Σ over the measured layer shapes of count × median time."""
    peak = res["torch"]["peak"]["sgemm_fp32_tflops"]
    out = []
    for net in NETS:
        shapes = [l for l in res["layers"] if l["net"] == net]
        if not shapes:
            continue
        expected = res["ours"]["network_layer_shapes"][net]
        for batch in res["ours"]["batches"]:
            rows = [(l, layer_values(l, batch)) for l in shapes]
            rows = [(l, v) for l, v in rows if v and all(v[k] is not None for k in (
                "fwd", "fwd_t", "dense", "dense_t", "dw10", "dw1", "dx", "dx_t", "gather10", "sliced10"))]
            if not rows:
                continue

            def total(key):
                return sum(l["count"] * v[key] for l, v in rows)

            flops_fwd = sum(l["count"] * v["fwd_flops"] for l, v in rows)
            flops_dense = sum(l["count"] * v["dense_flops"] for l, v in rows)
            s = {"net": net, "batch": batch, "layer_shapes": len(rows), "layer_shapes_expected": expected,
                 "forward_ours_ms": total("fwd"), "forward_torch_ms": total("fwd_t"),
                 "gather10_ours_ms": total("gather10"), "dense_ours_ms": total("dense"),
                 "dense_torch_ms": total("dense_t"), "dw10_ours_ms": total("dw10"), "dw1_ours_ms": total("dw1"),
                 "sliced10_torch_ms": total("sliced10"), "dx_ours_ms": total("dx"), "dx_torch_ms": total("dx_t")}
            s.update({
                "forward_over_torch": s["forward_ours_ms"] / s["forward_torch_ms"],
                "gather10_over_forward": s["gather10_ours_ms"] / s["forward_ours_ms"],
                "dense_over_torch": s["dense_ours_ms"] / s["dense_torch_ms"],
                "dw10_over_dense": s["dw10_ours_ms"] / s["dense_ours_ms"],
                "dw1_over_dense": s["dw1_ours_ms"] / s["dense_ours_ms"],
                "dw10_over_torch_sliced10": s["dw10_ours_ms"] / s["sliced10_torch_ms"],
                "dx_over_torch": s["dx_ours_ms"] / s["dx_torch_ms"],
                "forward_ours_peak_fraction": flops_fwd / (s["forward_ours_ms"] * 1e9) / peak,
                "forward_torch_peak_fraction": flops_fwd / (s["forward_torch_ms"] * 1e9) / peak,
                "dense_ours_peak_fraction": flops_dense / (s["dense_ours_ms"] * 1e9) / peak,
                "dense_torch_peak_fraction": flops_dense / (s["dense_torch_ms"] * 1e9) / peak,
            })
            per_layer = {"dw10_over_dense": [ratio(v["dw10"], v["dense"]) for _, v in rows],
                         "dw1_over_dense": [ratio(v["dw1"], v["dense"]) for _, v in rows],
                         "dense_over_torch": [ratio(v["dense"], v["dense_t"]) for _, v in rows]}
            s["targets"] = [{"target": label, "bound": bound, "measured": s[key], "met": s[key] <= bound,
                             "layer_shapes_meeting": sum(1 for r in per_layer[key] if r is not None and r <= bound),
                             "layer_shapes": len(rows)} for key, label, bound in TARGETS]
            out.append(s)
    return out


def shape_text(l):
    kind = ("dw" if l["groups"] == l["in"] and l["groups"] > 1
            else "pw" if l["kernel"] == 1 else f"{l['kernel']}x{l['kernel']}")
    return f"{l['in']}→{l['out']} {kind} s{l['stride']} @{l['size']}"


def markdown(res):
    o, t = res["ours"], res["torch"]
    cuda = t["device"]["type"] == "cuda"
    peer = "PyTorch (cuDNN)" if cuda else "PyTorch"
    L = [f"# Per-layer conv benchmark {res['date']}: trady4j {o['backend']} kernels vs {peer} on {res['device']}", ""]
    dev = t["device"]
    if cuda:
        L.append(f"Device: {dev['name']} (compute capability {dev['capability']}, {dev['multiprocessors']} SMs, "
                 f"L2 {dev.get('l2_bytes') or '?'} bytes); ours: {o['device']}, {o.get('versions', '')}, kernel version "
                 f"{o.get('kernel_version')}; {o['java']}.")
    else:
        L.append(f"Device: {o['device']} (a smoke test of the pipeline on the CPU, not a GPU result); {o['java']}.")
    L.append(f"PyTorch {t['torch_version']} (CUDA {t['cuda_version']}, cuDNN {t['cudnn_version']}, "
             f"cudnn.benchmark={t['cudnn_benchmark']}), Python {t['python']}; fp32 only: TF32 off "
             f"({t['fp32_precision']}), checked against float64 on the device: relative errors conv forward "
             f"{t['fp32_check']['conv_forward']:.1e}, conv weight gradient {t['fp32_check']['conv_weight_grad']:.1e}, "
             f"sgemm {t['fp32_check']['sgemm']:.1e}"
             + (" — **these look like TF32, not fp32**." if t["fp32_check"]["tf32_suspected"] else "."))
    p = t["peak"]
    L.append(f"Measured ceilings: fp32 sgemm ({p['sgemm_n']}³, TF32 off) {p['sgemm_fp32_tflops']:.2f} TFLOP/s "
             f"(the 'peak' of the % columns); device copy {p['copy_gbps']:.0f} GB/s (bytes read + written).")
    L.append("")
    L.append(f"Timing, ours: {o['timing']['method']}; {o['timing']['warmup_calls']} warm-up calls, then "
             f"{o['timing']['min_reps']}–{o['timing']['max_reps']} timed calls ({o['timing']['reps_rule']}); "
             f"{o['timing']['statistic']}. PyTorch: {t['timing']['method']}; the same rule. "
             f"Inputs uniform in [-1, 1). Selection: {o['selection']}. Ours: forward = {o['forward']}; "
             f"{o['gather']}; {o['dense_dw']}. PyTorch: forward = `{t['ops']['forward']}`, dense dW = "
             f"`{t['ops']['dw_dense']}`, dx = `{t['ops']['dx']}`, sparse baseline = {t['ops']['dw_sliced']}. "
             f"FLOPs: {o['flops']}.")
    L.append("")
    L.append(f"Commands: `{o['command']}` ({o.get('wall_seconds', 0):.0f} s); `{t['command']}` "
             f"({t.get('wall_seconds', 0):.0f} s).")
    for who, meta in (("ours", o), ("PyTorch", t)):
        if not meta.get("finished"):
            L.append(f"**The {who} run did not finish** (cut off): its results end where it stopped.")
        if meta.get("layers_not_measured"):
            L.append(f"Not measured by {who} (time budget): {', '.join(meta['layers_not_measured'])}.")
    failed = [l["name"] for l in res["layers"] if l.get("error")]
    if failed:
        L.append(f"Failed on our side (error in the JSON): {', '.join(failed)}.")
    L.append("")

    L.append("## Targets of issue 5 (network totals: Σ over conv layer shapes × the layers that have each shape)")
    L.append("")
    L.append("| target | net | batch | measured | met? | layer shapes meeting it |")
    L.append("|---|---|---|---|---|---|")
    for s in res["summary"]:
        partial = ("" if s["layer_shapes"] == s["layer_shapes_expected"]
                   else f" (partial: {s['layer_shapes']} of {s['layer_shapes_expected']} shapes)")
        for tg in s["targets"]:
            L.append(f"| {tg['target']} | {s['net']}{partial} | {s['batch']} | {tg['measured']:.3f}× | "
                     f"{'met' if tg['met'] else 'missed'} | {tg['layer_shapes_meeting']} of {tg['layer_shapes']} |")
    L.append("")

    L.append(f"## Network totals (ms, medians; {peer} as the peer)")
    L.append("")
    L.append("| net | batch | shapes | forward ours / peer | ratio | gather 10% / forward | dense dW ours / peer | ratio | "
             "sparse 10% / dense | 1% / dense | sparse 10% ours / peer sliced | dx ours / peer | ratio | "
             "% fp32 peak: fwd ours / peer | dense dW ours / peer |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in res["summary"]:
        L.append(f"| {s['net']} | {s['batch']} | {s['layer_shapes']} of {s['layer_shapes_expected']} | "
                 f"{s['forward_ours_ms']:.3f} / {s['forward_torch_ms']:.3f} | {s['forward_over_torch']:.2f} | "
                 f"{s['gather10_over_forward']:.2f} | {s['dense_ours_ms']:.3f} / {s['dense_torch_ms']:.3f} | "
                 f"{s['dense_over_torch']:.2f} | {s['dw10_over_dense']:.3f} | {s['dw1_over_dense']:.3f} | "
                 f"{s['dw10_ours_ms']:.3f} / {s['sliced10_torch_ms']:.3f} | "
                 f"{s['dx_ours_ms']:.3f} / {s['dx_torch_ms']:.3f} | {s['dx_over_torch']:.2f} | "
                 f"{pct(s['forward_ours_peak_fraction'])} / {pct(s['forward_torch_peak_fraction'])} | "
                 f"{pct(s['dense_ours_peak_fraction'])} / {pct(s['dense_torch_peak_fraction'])} |")
    L.append("")

    peak = t["peak"]["sgemm_fp32_tflops"]
    densities = o["densities"]
    for batch in o["batches"]:
        L.append(f"## Per layer, batch {batch} (ms, medians)")
        L.append("")
        L.append("| layer | shape | × | fwd ours | fwd peer | ratio | gather 10% / fwd | cache 10% (KiB) | dW 100% ours | "
                 "dW peer | ratio | 10% / 100% (#sel) | 1% / 100% (#sel) | peer sliced 10% | dx ours | dx peer | "
                 "% fp32 peak dW ours / peer |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for l in res["layers"]:
            v = layer_values(l, batch)
            if v is None:
                continue

            def peak_of(t_ms):
                return None if not t_ms or not v["dense_flops"] else v["dense_flops"] / (t_ms * 1e9) / peak

            L.append(f"| {l['name']} | {shape_text(l)} | {l['count']} | {fmt(v['fwd'])} | {fmt(v['fwd_t'])} | "
                     f"{fmt(ratio(v['fwd'], v['fwd_t']), 2)} | {fmt(ratio(v['gather10'], v['fwd']), 2)} | "
                     f"{fmt(v['cache10'] / 1024 if v['cache10'] else None, 1)} | {fmt(v['dense'])} | "
                     f"{fmt(v['dense_t'])} | {fmt(ratio(v['dense'], v['dense_t']), 2)} | "
                     f"{fmt(ratio(v['dw10'], v['dense']), 2)} ({v['sel10']}) | {fmt(ratio(v['dw1'], v['dense']), 2)} "
                     f"({v['sel1']}) | {fmt(v['sliced10'])} | {fmt(v['dx'])} | {fmt(v['dx_t'])} | "
                     f"{pct(peak_of(v['dense']))} / {pct(peak_of(v['dense_t']))} |")
        L.append("")
        L.append(f"### Density sweep, batch {batch}: sparse dW ms, ours / peer sliced")
        L.append("")
        L.append("| layer | " + " | ".join(f"{d:g}" for d in densities) + " |")
        L.append("|---|" + "---|" * len(densities))
        for l in res["layers"]:
            ours_run, torch_run = side(l, batch)
            if ours_run is None:
                continue
            cells = [f"{fmt(ms(at_density(ours_run['dw'], d)))} / {fmt(ms(at_density(torch_run['dw_sliced'], d)))}"
                     for d in densities]
            L.append(f"| {l['name']} | " + " | ".join(cells) + " |")
        L.append("")
        L.append(f"### Gather-fused forward, batch {batch}: time / plain forward (KiB written for the cache)")
        L.append("")
        L.append("| layer | plain fwd ms | " + " | ".join(f"{d:g}" for d in densities) + " |")
        L.append("|---|---|" + "---|" * len(densities))
        for l in res["layers"]:
            ours_run, _ = side(l, batch)
            if ours_run is None:
                continue
            f = ms(ours_run["forward"])
            cells = []
            for d in densities:
                g = at_density(ours_run["gather"], d)
                cells.append("–" if not g else f"{fmt(ratio(g['ms'], f), 2)} ({g['cache_bytes'] / 1024:.1f})")
            L.append(f"| {l['name']} | {fmt(f)} | " + " | ".join(cells) + " |")
        L.append("")
    return "\n".join(L) + "\n"


def svg(res):
    o = res["ours"]
    batches = sorted(o["batches"])
    layers = [l for l in res["layers"] if any(side(l, b)[0] for b in batches)]
    cols = 5
    rows = max(1, math.ceil(len(layers) / cols))
    pw, ph, mx, my = 250, 190, 55, 40
    W, H = cols * pw + 20, rows * ph + 75
    styles = {b: ("", 2) if b == batches[-1] else (' stroke-dasharray="2,2"', 1.2) for b in batches}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="10">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="10" y="18" font-size="13">Weight-gradient time vs density |S|/C on {res["device"]}, {res["date"]}: '
           f'trady4j conv2dDwSparse vs PyTorch {res["torch"]["torch_version"]} on x[:, S] (median ms, log scales)</text>',
           '<g font-size="11"><line x1="10" y1="36" x2="30" y2="36" stroke="#1f77b4" stroke-width="2"/>'
           '<text x="34" y="40">trady4j</text>'
           '<line x1="100" y1="36" x2="120" y2="36" stroke="#ff7f0e" stroke-width="2"/>'
           '<text x="124" y="40">PyTorch on x[:, S]</text>'
           '<line x1="260" y1="36" x2="280" y2="36" stroke="#999" stroke-dasharray="4,3"/>'
           '<text x="284" y="40">ours dense × density (ideal scaling)</text>'
           f'<text x="500" y="40">solid: batch {batches[-1]}'
           + (f"; dotted: batch {', '.join(str(b) for b in batches[:-1])}" if len(batches) > 1 else "")
           + '</text></g>']
    dmin, dmax = min(o["densities"]), 1.0
    for idx, l in enumerate(layers):
        r, c = divmod(idx, cols)
        ox, oy = 10 + c * pw, 55 + r * ph
        x0, x1, y0, y1 = ox + mx, ox + pw - 10, oy + ph - my, oy + 20
        series = []
        for b in batches:
            ours_run, torch_run = side(l, b)
            if ours_run is None:
                continue
            pts_o = sorted((float(d), v["ms"]) for d, v in ours_run["dw"].items())
            pts_t = sorted((float(d), v["ms"]) for d, v in torch_run["dw_sliced"].items())
            dense = ms(at_density(ours_run["dw"], 1.0))
            series += [(b, "ours", pts_o), (b, "torch", pts_t), (b, "ideal", [(dmin, dense * dmin), (1.0, dense)])]
        vals = [v for _, _, pts in series for _, v in pts if v and v > 0]
        if not vals:
            continue
        lo, hi = math.log10(min(vals)) - 0.1, math.log10(max(vals)) + 0.1

        def X(d):
            return x0 + (math.log10(d) - math.log10(dmin)) / (math.log10(dmax) - math.log10(dmin) or 1) * (x1 - x0)

        def Y(v):
            return y0 - (math.log10(v) - lo) / (hi - lo) * (y0 - y1)

        out.append(f'<text x="{ox + mx}" y="{oy + 12}" font-size="11">{l["name"]} ({shape_text(l)})</text>')
        out.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#ccc"/>')
        for d in o["densities"]:
            out.append(f'<text x="{X(d):.1f}" y="{y0 + 12}" text-anchor="middle">{d * 100:g}</text>')
        out.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{y0 + 24}" text-anchor="middle">density %</text>')
        for e in range(math.floor(lo), math.ceil(hi) + 1):
            for mult in (1, 2, 5):
                v = mult * 10 ** e
                if lo <= math.log10(v) <= hi:
                    out.append(f'<line x1="{x0}" x2="{x1}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#eee"/>')
                    out.append(f'<text x="{x0 - 3}" y="{Y(v) + 3:.1f}" text-anchor="end">{v:g}</text>')
        out.append(f'<text x="{ox + 12}" y="{(y0 + y1) / 2:.0f}" transform="rotate(-90 {ox + 12} {(y0 + y1) / 2:.0f})" '
                   f'text-anchor="middle">ms</text>')
        for b, key, pts in series:
            color = {"ours": "#1f77b4", "torch": "#ff7f0e", "ideal": "#999"}[key]
            dash, width = (' stroke-dasharray="4,3"', 1) if key == "ideal" else styles[b]
            xy = [(X(d), Y(v)) for d, v in pts if v and v > 0]
            if len(xy) > 1:
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="{width}"{dash} '
                           f'points="{" ".join(f"{a:.1f},{c2:.1f}" for a, c2 in xy)}"/>')
            if key != "ideal":
                for a, c2 in xy:
                    out.append(f'<circle cx="{a:.1f}" cy="{c2:.1f}" r="{2.5 if b == batches[-1] else 1.8}" '
                               f'fill="{color}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def dump(obj):
    """Indented JSON with arrays of numbers kept on one line (the channel selections)."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    return re.sub(r"\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text) + "\n"


def target_lines(res):
    return [f"{s['net']} B={s['batch']}: {tg['target']}: {tg['measured']:.3f}x {'met' if tg['met'] else 'missed'}"
            + ("" if s["layer_shapes"] == s["layer_shapes_expected"]
               else f" (partial: {s['layer_shapes']} of {s['layer_shapes_expected']} shapes)")
            for s in res["summary"] for tg in s["targets"]]


def write_all(res, base):
    res["summary"] = summarize(res)
    with open(base + ".json", "w") as f:
        f.write(dump(res))
    with open(base + ".md", "w") as f:
        f.write(markdown(res))
    with open(base + ".svg", "w") as f:
        f.write(svg(res))
    print("\n".join(target_lines(res)))
    print(f"wrote {base}.json, .md, .svg")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours")
    ap.add_argument("--torch")
    ap.add_argument("--merged", help="a merged result JSON to regenerate the .md and .svg from")
    ap.add_argument("--targets", help="print the targets of a merged result JSON as a JSON list of lines")
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results"))
    args = ap.parse_args()
    if args.targets:
        print(json.dumps(target_lines(json.load(open(args.targets))), ensure_ascii=False))
    elif args.merged:
        write_all(json.load(open(args.merged)), args.merged[:-len(".json")])
    elif args.ours and args.torch:
        res = merge(json.load(open(args.ours)), json.load(open(args.torch)))
        os.makedirs(args.out_dir, exist_ok=True)
        write_all(res, os.path.join(args.out_dir, res["name"]))
    else:
        sys.exit("report.py: give --ours and --torch, or --merged")


if __name__ == "__main__":
    main()
