#!/usr/bin/python3
"""Writes the markdown table (.md) and the plot (.svg) for a bench/results/cpu-*.json of run.py.

    /usr/bin/python3 bench/cpu/report.py bench/results/cpu-<date>.json
"""
import json
import math
import sys


def fmt(v, digits=3):
    return "–" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


METRIC = "ms"


def ms(d):
    return None if not d else d.get(METRIC)


def shape(l):
    kind = "dw" if l["groups"] == l["in"] and l["groups"] > 1 else ("pw" if l["kernel"] == 1 else f"{l['kernel']}x{l['kernel']}")
    return f"{l['in']}→{l['out']} {kind} s{l['stride']} @{l['size']}"


def totals(layers, net, get):
    s = 0.0
    for l in layers:
        if l["net"] != net:
            continue
        v = get(l)
        if v is None:
            return None
        s += v * l["count"]
    return s


def summary(res):
    """Network totals from medians (the tables' metric) and, as a second row, from minima."""
    global METRIC
    main = METRIC
    out = []
    for stat, key in (("median", main), ("min", main.replace("_ms", "_min_ms") if main != "ms" else "min_ms")):
        METRIC = key
        for row in summary_for(res):
            row["statistic"] = stat
            out.append(row)
    METRIC = main
    return out


def summary_for(res):
    layers = res["layers"]
    out = []
    for net in ("mbv2", "resnet18"):
        if not any(l["net"] == net for l in layers):
            continue
        f_ours = totals(layers, net, lambda l: ms(l["ours"]["forward"]))
        f_torch = totals(layers, net, lambda l: ms(l["torch"]["forward"]))
        g_ours = totals(layers, net, lambda l: ms(l["ours"]["forward_gather_10pct"]))
        d100 = totals(layers, net, lambda l: ms(l["ours"]["dw"].get("1.0")))
        d10 = totals(layers, net, lambda l: ms(l["ours"]["dw"].get("0.1")))
        d1 = totals(layers, net, lambda l: ms(l["ours"]["dw"].get("0.01")))
        t100 = totals(layers, net, lambda l: ms(l["torch"]["dw_dense"]))
        t10 = totals(layers, net, lambda l: ms(l["torch"]["dw_sliced"].get("0.1")))
        per = [ratio(ms(l["ours"]["forward"]), ms(l["torch"]["forward"])) for l in layers if l["net"] == net]
        per = [p for p in per if p is not None]
        within2 = sum(1 for p in per if p <= 2.0)
        out.append({"net": net, "forward_ours_ms": f_ours, "forward_torch_ms": f_torch,
                    "forward_ratio": ratio(f_ours, f_torch), "forward_layers_within_2x": within2,
                    "forward_layers": len(per), "gather10_over_forward": ratio(g_ours, f_ours),
                    "dw_dense_ours_ms": d100, "dw_dense_torch_ms": t100, "dw_dense_ratio": ratio(d100, t100),
                    "dw10_over_dense": ratio(d10, d100), "dw1_over_dense": ratio(d1, d100),
                    "dw10_ours_ms": d10, "dw10_torch_sliced_ms": t10, "dw10_ratio_vs_torch_sliced": ratio(d10, t10)})
    return out


def markdown(res):
    L = []
    m = res["machine"]
    L.append(f"# CPU benchmark {res['date']}: trady4j CPU backend vs PyTorch {res['torch']['torch_version']}")
    L.append("")
    L.append(f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs; {res['jdk'][0] if res['jdk'] else ''}; "
             f"{res['threads']} threads on both sides (PyTorch oneDNN={res['torch']['mkldnn']}); batch {res['batch']}, "
             f"{res['resolution']}×{res['resolution']} inputs. Load average at start / after the measurements / end: "
             f"{m['loadavg_start']} / {m.get('loadavg_after_measurements', m.get('loadavg_after_jmh'))} / {m['loadavg_end']}. {m['note']}.")
    if "cpu_backend" in res:
        L.append("")
        L.append(f"trady4j's CPU backend: {res['cpu_backend']} (TRADY4J_CPU_ONEDNN={res['cpu_onednn_setting']}).")
    L.append("")
    L.append(f"Command: `{res['command']}` ({res['wall_minutes']} min). Ours: JMH, {res['jmh']['forks']} fork, "
             f"warm-up {res['jmh']['warmup']}, measurement {res['jmh']['measurement']}, median of iterations. "
             f"PyTorch: median of {res['torch']['reps']} timed calls after {res['torch']['warmup']} warm-up calls. "
             f"Selection: {res['selection']}. PyTorch's sparse baseline: {res['torch_sparse_baseline']}.")
    L.append("")
    L.append(f"Densities {res['densities_all_layers']} on every layer; {res['densities_sweep_layers']} in addition on "
             f"the sweep subset: {', '.join(res['sweep_layers'])}.")
    L.append("")
    L.append(f"Timing metric of the tables: {res.get('metric_note', 'wall time')}; the JSON has wall-clock medians "
             "and minima for both sides as well.")
    L.append("")
    L.append("## Network totals (Σ over conv layers, each unique shape × the number of layers that have it)")
    L.append("")
    L.append("| net | statistic | forward ours / PyTorch (ms) | ratio | layers within 2× | gather-10% forward / plain | dense dW ours / PyTorch (ms) | ratio | sparse dW 10% / dense | 1% / dense | dW 10% ours / PyTorch sliced (ms) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in summary(res):
        L.append(f"| {s['net']} | {s['statistic']} | {fmt(s['forward_ours_ms'], 1)} / {fmt(s['forward_torch_ms'], 1)} | {fmt(s['forward_ratio'], 2)} | "
                 f"{s['forward_layers_within_2x']} of {s['forward_layers']} | {fmt(s['gather10_over_forward'], 2)} | "
                 f"{fmt(s['dw_dense_ours_ms'], 1)} / {fmt(s['dw_dense_torch_ms'], 1)} | {fmt(s['dw_dense_ratio'], 2)} | "
                 f"{fmt(s['dw10_over_dense'], 3)} | {fmt(s['dw1_over_dense'], 3)} | "
                 f"{fmt(s['dw10_ours_ms'], 1)} / {fmt(s['dw10_torch_sliced_ms'], 1)} |")
    L.append("")
    L.append("## Targets (issue 13, from the medians)")
    L.append("")
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    for s in summary(res):
        if s["statistic"] != "median":
            continue
        for name, value, limit in ((f"{s['net']}: conv forward total within 1.1× of PyTorch", s["forward_ratio"], 1.1),
                                   (f"{s['net']}: sparse dW at 10% ≤ 0.15× our dense dW", s["dw10_over_dense"], 0.15),
                                   (f"{s['net']}: sparse dW at 1% ≤ 0.05× our dense dW", s["dw1_over_dense"], 0.05)):
            met = "n/a" if value is None else ("yes" if value <= limit else "NO")
            L.append(f"| {name} | {fmt(value, 3)} | {met} |")
    L.append("")
    L.append(f"## Per layer (ms, median {res.get('metric_note', 'wall time')})")
    L.append("")
    L.append("| layer | shape | × | fwd ours | fwd PyTorch | ratio | fwd+gather 10% | dW 100% ours | dW PyTorch | ratio | dW 10% (#sel) | 10%/100% | dW 1% (#sel) | 1%/100% | PyTorch sliced 10% |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for l in res["layers"]:
        o, t = l["ours"], l["torch"]
        dw = o["dw"]
        d100, d10, d1 = ms(dw.get("1.0")), ms(dw.get("0.1")), ms(dw.get("0.01"))
        s10 = dw.get("0.1", {}).get("selected")
        s1 = dw.get("0.01", {}).get("selected")
        L.append(f"| {l['name']} | {shape(l)} | {l['count']} | {fmt(ms(o['forward']))} | {fmt(t['forward']['ms'])} | "
                 f"{fmt(ratio(ms(o['forward']), t['forward']['ms']), 2)} | {fmt(ms(o['forward_gather_10pct']))} | "
                 f"{fmt(d100)} | {fmt(t['dw_dense']['ms'])} | {fmt(ratio(d100, t['dw_dense']['ms']), 2)} | "
                 f"{fmt(d10)} ({s10}) | {fmt(ratio(d10, d100), 2)} | {fmt(d1)} ({s1}) | {fmt(ratio(d1, d100), 2)} | "
                 f"{fmt(ms(t['dw_sliced'].get('0.1')))} |")
    L.append("")
    cond = [(l["name"], l.get("conditions") or {}) for l in res["layers"]]
    reran = [n for n, c in cond if c.get("rerun")]
    suspect = [f"{n} ({c.get('spread')})" for n, c in cond if (c.get("spread") or 1) >= 1.5]
    L.append("## Measurement conditions")
    L.append("")
    L.append(f"Re-run once because a median was ≥ 1.5× its minimum: {', '.join(reran) or 'none'}. "
             f"Still ≥ 1.5× after that (treat with care; worst median/min ratio in parentheses): "
             f"{', '.join(suspect) or 'none'}. Per-layer readings of other processes' CPU use are in the JSON.")
    L.append("")
    L.append("## Density sweep (sparse dW, ms: ours / PyTorch sliced)")
    L.append("")
    dens = sorted(set(res["densities_all_layers"]) | set(res["densities_sweep_layers"]))
    L.append("| layer | " + " | ".join(f"{d:g}" for d in dens) + " |")
    L.append("|---|" + "---|" * len(dens))
    for l in res["layers"]:
        if l["name"] not in res["sweep_layers"]:
            continue
        cells = []
        for d in dens:
            a = ms(l["ours"]["dw"].get(str(d)))
            b = ms(l["torch"]["dw_sliced"].get(str(d)))
            cells.append(f"{fmt(a)} / {fmt(b)}")
        L.append(f"| {l['name']} | " + " | ".join(cells) + " |")
    L.append("")
    return "\n".join(L) + "\n"


def svg(res):
    layers = [l for l in res["layers"] if l["name"] in res["sweep_layers"]]
    cols = 4
    rows = max(1, math.ceil(len(layers) / cols))
    pw, ph, mx, my = 250, 190, 55, 40
    W, H = cols * pw + 20, rows * ph + 70
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="10">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="10" y="18" font-size="13">Sparse weight gradient time vs density, batch {res["batch"]}, '
           f'{res["threads"]} thread(s), {res.get("metric_note", "wall time").split(" (")[0]}, {res["date"]} '
           f'({res["machine"]["cpu"]})</text>',
           '<g font-size="11"><line x1="10" y1="34" x2="30" y2="34" stroke="#1f77b4" stroke-width="2"/>'
           '<text x="34" y="38">trady4j CPU (conv2dDwSparse)</text>'
           '<line x1="210" y1="34" x2="230" y2="34" stroke="#ff7f0e" stroke-width="2"/>'
           '<text x="234" y="38">PyTorch conv2d_weight on x[:, S]</text>'
           '<line x1="450" y1="34" x2="470" y2="34" stroke="#999" stroke-dasharray="4,3"/>'
           '<text x="474" y="38">ours dense × density (ideal scaling)</text></g>']
    dmin, dmax = 0.01, 1.0
    for idx, l in enumerate(layers):
        r, c = divmod(idx, cols)
        ox, oy = 10 + c * pw, 50 + r * ph
        x0, x1, y0, y1 = ox + mx, ox + pw - 10, oy + ph - my, oy + 20
        series = {}
        for key, src in (("ours", l["ours"]["dw"]), ("torch", l["torch"]["dw_sliced"])):
            pts = sorted((float(d), v[METRIC]) for d, v in src.items() if v and v.get(METRIC))
            series[key] = pts
        dense = ms(l["ours"]["dw"].get("1.0"))
        series["ideal"] = [(d, dense * d) for d in (0.01, 1.0)] if dense else []
        vals = [v for s in series.values() for _, v in s if v > 0]
        if not vals:
            continue
        lo, hi = math.log10(min(vals)) - 0.1, math.log10(max(vals)) + 0.1

        def X(d):
            return x0 + (math.log10(d) - math.log10(dmin)) / (math.log10(dmax) - math.log10(dmin)) * (x1 - x0)

        def Y(v):
            return y0 - (math.log10(v) - lo) / (hi - lo) * (y0 - y1)

        out.append(f'<text x="{ox + mx}" y="{oy + 12}" font-size="11">{l["name"]} ({shape(l)})</text>')
        out.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#ccc"/>')
        for d in (0.01, 0.1, 1.0):
            out.append(f'<text x="{X(d):.1f}" y="{y0 + 12}" text-anchor="middle">{d * 100:g}%</text>')
        for e in range(math.floor(lo), math.ceil(hi) + 1):
            for mult in (1, 2, 5):
                v = mult * 10 ** e
                if lo <= math.log10(v) <= hi:
                    out.append(f'<line x1="{x0}" x2="{x1}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#eee"/>')
                    out.append(f'<text x="{x0 - 3}" y="{Y(v) + 3:.1f}" text-anchor="end">{v:g}</text>')
        out.append(f'<text x="{ox + 12}" y="{(y0 + y1) / 2:.0f}" transform="rotate(-90 {ox + 12} {(y0 + y1) / 2:.0f})" '
                   f'text-anchor="middle">ms</text>')
        for key, color, dash in (("ideal", "#999", ' stroke-dasharray="4,3"'), ("torch", "#ff7f0e", ""),
                                 ("ours", "#1f77b4", "")):
            pts = [(X(d), Y(v)) for d, v in series[key] if v > 0]
            if len(pts) > 1:
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="{1 if key == "ideal" else 2}"{dash} '
                           f'points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}"/>')
            if key != "ideal":
                for a, b in pts:
                    out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{color}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    global METRIC
    path = sys.argv[1]
    res = json.load(open(path))
    METRIC = res.get("metric", "ms")
    res["summary"] = summary(res)
    json.dump(res, open(path, "w"), indent=1)
    base = path[:-len(".json")]
    open(base + ".md", "w").write(markdown(res))
    open(base + ".svg", "w").write(svg(res))


if __name__ == "__main__":
    main()
