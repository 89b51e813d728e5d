#!/usr/bin/env python3
"""The kernel sweep's committed result: from prove.sh's sweep.json (io.trady4j.bench.KernelSweep rows merged with
bench/gpu/torch_sweep.py's), writes into --out-dir
    gpu-<device>-<date>.json     the sweep as measured, plus the headline ratios of bench/gpu/summary.py
    gpu-<device>-<date>.md       per layer, op and density: every implementation's median ms, the fastest, the
                                 autotuner's choice, PyTorch cuDNN fp32 / TF32 and our fastest over them
    tuning-<device>-<date>.json  the autotuner's table for the device (op, shape, bucket, choice, every candidate's ms)
A dry run's sweep (the emulator) is named dryrun-<date> instead: its times mean nothing.

    python3 bench/gpu/sweep_report.py OUT/sweep.json --out-dir bench/results
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summary import is_torch, sweep_facts  # noqa: E402


def slug(text):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("nvidia", "")).strip("-")
    return s or "device"


def fmt(v, digits=4):
    return "–" if v is None else f"{v:.{digits}f}"


def markdown(sweep, facts):
    rows = sweep["rows"]
    torch = sweep.get("torch", {})
    ours = [r for r in rows if not is_torch(r)]
    impls = []
    for r in ours:
        if r["implementation"] not in impls:
            impls.append(r["implementation"])
    peers = sorted({r["implementation"] for r in rows if is_torch(r)})
    L = [f"# Kernel sweep {sweep['date'][:10]}: trady4j's implementations vs PyTorch on {sweep['device']}", "",
         f"Ours: {sweep['versions']}; {sweep['java']}; tuning {sweep['tuning_mode']}, TRADY4J_MATH="
         f"'{sweep['trady4j_math']}'. Timing: {sweep['timing']['method']}; {sweep['timing']['warmup_calls']} warm-up "
         f"calls, {sweep['timing']['min_reps']}–{sweep['timing']['max_reps']} timed (about "
         f"{sweep['timing']['target_ms']} ms), {sweep['timing']['statistic']}. Check: {sweep['check']}.",
         ""]
    if torch:
        L += [f"PyTorch {torch.get('torch_version')} (CUDA {torch.get('cuda_version')}, cuDNN {torch.get('cudnn_version')}, "
              f"benchmark mode), {torch['timing']['method']}. Its modes, checked against float64: "
              + "; ".join(f"{k}: {v['check_against_float64']}" for k, v in torch.get("modes", {}).items()) + ".", ""]
    if sweep.get("batch_override") or sweep.get("max_size"):
        L += [f"**Shrunk shapes** (batch {sweep['batch_override']}, planes at most {sweep['max_size']}): a dry run, "
              "not a measurement.", ""]
    L += [f"Shapes measured: {facts['shapes_measured']} of {sweep['shapes']}; rows: {facts['rows_ours']} ours, "
          f"{facts['rows_torch']} PyTorch; failed: {facts['rows_failed']}; disagreeing with the reference: "
          f"{len(facts['rows_disagreeing'])}; the autotuner's choice is the sweep's fastest for "
          f"{facts['autotuner']['choice_is_sweep_fastest']} of {facts['autotuner']['keys']} keys "
          f"({', '.join(facts['autotuner']['sources'])}).", ""]
    for d in facts["rows_disagreeing"]:
        L.append(f"- disagrees: {d}")
    L += ["## Headline (sum over the shapes both sides measured)", "", "| network | op | density | ratio | value | shapes |",
          "|---|---|---|---|---|---|"]
    for h in facts["headline"]:
        for k, v in h.items():
            if k not in ("network", "op", "density", "shapes"):
                L.append(f"| {h['network']} | {h['op']} | {h['density']:g} | {k} | {v:.3f} | {h.get('shapes', '')} |")
    L += ["", "## Per layer (median ms)", "",
          "| layer | op | density | selected | " + " | ".join(impls) + " | fastest | autotuner | " + " | ".join(peers)
          + " | fastest / " + (peers[0] if peers else "–") + " |",
          "|---" * (6 + len(impls) + len(peers)) + "|---|"]
    keys = []
    for r in ours:
        k = (r["layer"], r["op"], r["density"])
        if k not in keys:
            keys.append(k)
    for k in keys:
        mine = {r["implementation"]: r for r in ours if (r["layer"], r["op"], r["density"]) == k}
        theirs = {r["implementation"]: r for r in rows if is_torch(r) and (r["layer"], r["op"], r["density"]) == k}
        any_row = next(iter(mine.values()))
        cells = []
        for i in impls:
            r = mine.get(i)
            cells.append("" if r is None else "error" if "error" in r else
                         fmt(r["median_ms"]) + ("" if r.get("agrees") else " (wrong)"))
        fastest = any_row.get("fastest")
        best = mine[fastest]["median_ms"] if fastest in mine and "median_ms" in mine[fastest] else None
        peer0 = theirs.get(peers[0])["median_ms"] if peers and peers[0] in theirs else None
        L.append(f"| {k[0]} | {k[1]} | {k[2]:g} | {any_row.get('selected')} | " + " | ".join(cells)
                 + f" | {fastest} | {any_row.get('autotuner_choice')} | "
                 + " | ".join(fmt(theirs[p]["median_ms"]) if p in theirs else "" for p in peers)
                 + f" | {fmt(best / peer0 if best and peer0 else None, 2)} |")
    L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep")
    ap.add_argument("--out-dir", default="bench/results")
    a = ap.parse_args()
    try:
        with open(a.sweep) as f:
            sweep = json.load(f)
        facts = sweep_facts(sweep)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"sweep_report.py: {a.sweep} is not a sweep.json of prove.sh: {e!r}")
    date = sweep["date"][:10]
    dry = bool(sweep.get("batch_override") or sweep.get("max_size"))
    device = slug(sweep["device"].split("(")[0])
    base = f"dryrun-{date}" if dry else f"gpu-{device}-{date}"
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, base + ".json"), "w") as f:
        json.dump(dict(sweep, summary=facts), f, indent=1)
    with open(os.path.join(a.out_dir, base + ".md"), "w") as f:
        f.write(markdown(sweep, facts))
    tuning = f"tuning-dryrun-{date}.json" if dry else f"tuning-{device}-{date}.json"
    with open(os.path.join(a.out_dir, tuning), "w") as f:
        json.dump({"device": sweep["device"], "versions": sweep["versions"], "date": sweep["date"],
                   "tuning_mode": sweep["tuning_mode"], "table": sweep.get("tuning", [])}, f, indent=1)
    print(f"sweep_report.py: wrote {base}.json, {base}.md and {tuning} in {a.out_dir}")


if __name__ == "__main__":
    main()
