#!/usr/bin/env python3
"""summary.json of bench/gpu/prove.sh, and the merge of the kernel sweep's two halves.

    python3 bench/gpu/summary.py --out OUT --work WORK --mode gpu --commit SHA --seconds N
        reads what OUT holds so far (java-tests.json, sweep.json, step-*.json, sanitizer.log) and WORK/stages.tsv,
        WORK/runtimes.tsv; writes OUT/summary.json: device, driver, date, commit, each stage's status and
        seconds, the test counts, the headline ratios. prove.sh runs it after every stage and last.
    python3 bench/gpu/summary.py --merge-sweep SWEEP.json TORCH.json
        appends the PyTorch rows of TORCH.json (bench/gpu/torch_sweep.py) to SWEEP.json
        (io.trady4j.bench.KernelSweep), keeping torch's header under "torch"; one file for bench/model/compare.py.

Headline ratios of the sweep, per network, op and density, over the shapes both sides measured:
sum of our fastest agreeing fp32 implementation / sum of PyTorch's fp32 (TF32 off), and our fastest of
any math (TF32 included) / PyTorch's with TF32 on; for the sparse weight gradient also 10 % / 100 % and
1 % / 100 % of our own. Everything is computed from the files, nothing typed in.
"""
import argparse
import datetime
import glob
import json
import os
import re
import subprocess
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(obj, path):
    with open(path + ".partial", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".partial", path)


def merge_sweep(sweep_path, torch_path):
    sweep = load(sweep_path)
    if sweep is None:
        sys.exit(f"summary.py: cannot read {sweep_path}")
    torch = load(torch_path)
    if torch is None:
        print(f"summary.py: no PyTorch rows ({torch_path} missing or unreadable); sweep.json keeps ours only")
        return
    ours = [r for r in sweep["rows"] if not str(r.get("implementation", "")).startswith("torch_")]
    sweep["rows"] = ours + torch["rows"]
    sweep["torch"] = {k: v for k, v in torch.items() if k != "rows"}
    write_json(sweep, sweep_path)
    print(f"summary.py: {sweep_path}: {len(ours)} rows of ours, {len(torch['rows'])} of PyTorch")


def is_torch(row):
    return str(row.get("implementation", "")).startswith("torch_")


def sweep_headline(sweep):
    rows = [r for r in sweep["rows"] if "median_ms" in r]
    ours = [r for r in rows if not is_torch(r) and r.get("agrees")]
    best = {}  # (network, op, density, layer, math class) -> ms
    for r in ours:
        for cls in (("fp32",) if r["math"] == "fp32" else ()) + ("any",):
            key = (r["network"], r["op"], r["density"], r["layer"], cls)
            best[key] = min(best.get(key, float("inf")), r["median_ms"])
    peer = {(r["network"], r["op"], r["density"], r["layer"], r["implementation"]): r["median_ms"]
            for r in rows if is_torch(r)}
    fp32_peer = next((r["implementation"] for r in rows if is_torch(r) and r["math"] == "fp32"), None)
    tf32_peer = next((r["implementation"] for r in rows if is_torch(r) and r["math"] == "tf32"), None)
    out = []
    groups = sorted({k[:3] for k in best})
    for net, op, d in groups:
        layers = sorted({k[3] for k in best if k[:3] == (net, op, d)})
        entry = {"network": net, "op": op, "density": d}
        for cls, peer_impl, name in (("fp32", fp32_peer, "ours_fp32_over_" + str(fp32_peer)),
                                     ("any", tf32_peer, "ours_any_over_" + str(tf32_peer))):
            pairs = [(best[(net, op, d, l, cls)], peer[(net, op, d, l, peer_impl)]) for l in layers
                     if (net, op, d, l, cls) in best and (net, op, d, l, peer_impl) in peer]
            if peer_impl and pairs:
                entry[name] = round(sum(a for a, _ in pairs) / sum(b for _, b in pairs), 4)
                entry["shapes"] = len(pairs)
        out.append(entry)
    for net in sorted({k[0] for k in best}):
        dense = {k[3]: v for k, v in best.items() if k[:3] == (net, "conv2d_dw_sparse", 1.0) and k[4] == "fp32"}
        for d in (0.1, 0.01):
            part = {k[3]: v for k, v in best.items() if k[:3] == (net, "conv2d_dw_sparse", d) and k[4] == "fp32"}
            common = sorted(set(dense) & set(part))
            if common:
                out.append({"network": net, "op": "conv2d_dw_sparse", "density": d,
                            f"ours_{int(d * 100)}pct_over_dense": round(sum(part[l] for l in common)
                                                                         / sum(dense[l] for l in common), 4),
                            "shapes": len(common)})
    return out


def sweep_facts(sweep):
    rows = sweep["rows"]
    ours = [r for r in rows if not is_torch(r)]
    keys = {}
    for r in ours:
        if r.get("autotuner_choice") is not None:
            keys[(r["layer"], r["op"], r["density"])] = (r["autotuner_choice"], r.get("fastest"),
                                                          r.get("autotuner_source"))
    measured = sorted({r["layer"] for r in ours})
    return {
        "finished": sweep.get("finished"),
        "shapes_measured": len(measured),
        "shapes_not_measured": sweep.get("shapes_not_measured", []),
        "rows_ours": len(ours),
        "rows_torch": len(rows) - len(ours),
        "rows_failed": sum(1 for r in ours if "error" in r),
        "rows_disagreeing": [f"{r['layer']} {r['op']} {r['implementation']} @{r['density']}: rel_diff {r.get('rel_diff')}"
                             for r in ours if r.get("agrees") is False],
        "autotuner": {"keys": len(keys), "sources": sorted({v[2] for v in keys.values()}),
                      "choice_is_sweep_fastest": sum(1 for v in keys.values() if v[0] == v[1])},
        "tuning_table_entries": len(sweep.get("tuning", [])),
        "headline": sweep_headline(sweep),
    }


def step_facts(path):
    step = load(path)
    if step is None:
        return None
    rows = []
    for r in step.get("rows", []):
        if str(r.get("budget")) == "full":
            continue
        full = next((f for f in step["rows"] if f["batch"] == r["batch"] and str(f["budget"]) == "full"), {})
        e = {"batch": r["batch"], "budget": r["budget"], "trady4j_ms": r.get("trady4j_ms")}
        for v in ("masked", "selected"):
            if r.get(v + "_ms"):
                e[f"trady4j_over_{v}"] = round(r["trady4j_ms"] / r[v + "_ms"], 4)
        if full.get("full_peak_bytes"):
            e["trady4j_peak_over_full_peak"] = round(r["trady4j_peak_bytes"] / full["full_peak_bytes"], 4)
        rows.append(e)
    return {"file": os.path.basename(path), "rows": rows, "targets": step.get("targets"),
            "loss_max_relative_difference": (step.get("loss_agreement") or {}).get("max_relative_difference")}


def device_facts():
    try:
        q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,compute_cap", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=10)
        name, driver, cap = (v.strip() for v in q.stdout.splitlines()[0].split(","))
        return {"device": name, "driver": driver, "compute_capability": cap}
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return {"device": "none (no nvidia-smi or no GPU)", "driver": None, "compute_capability": None}


def table(path, names):
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == len(names):
                    out.append(dict(zip(names, parts)))
    except OSError:
        pass
    return out


def summary(a):
    s = {"mode": a.mode, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "commit": a.commit, **device_facts(), "seconds": a.seconds, "stages": {}}
    for st in table(os.path.join(a.work, "stages.tsv"), ["name", "status", "exit", "seconds", "box"]):
        s["stages"][st["name"]] = {"status": st["status"], "exit": int(st["exit"]), "seconds": int(st["seconds"]),
                                   "box_seconds": int(st["box"])}
    s["runtimes"] = {r["runtime"]: r["state"] for r in table(os.path.join(a.work, "runtimes.tsv"), ["runtime", "state"])}
    tests = load(os.path.join(a.out, "java-tests.json"))
    if tests:
        s["java_tests"] = {k: tests.get(k) for k in ("device", "tests_found", "passed", "failed", "skipped")}
        s["java_tests"]["failures"] = [t["name"] for t in tests.get("tests", []) if t["status"] == "FAILED"]
    sweep = load(os.path.join(a.out, "sweep.json"))
    if sweep:
        s["sweep"] = sweep_facts(sweep)
    steps = sorted(glob.glob(os.path.join(a.out, "step-*.json")))
    if steps:
        s["step"] = step_facts(steps[-1])
    try:
        with open(os.path.join(a.out, "sanitizer.log"), errors="replace") as f:
            text = f.read()
        s["sanitizer"] = [m.group(0).strip() for m in re.finditer(
            r"^(--- .*|.*ERROR SUMMARY.*|.*RACECHECK SUMMARY.*|.*checks passed.*|.*ERROR: AddressSanitizer.*)$",
            text, re.M)]
    except OSError:
        pass
    s["files"] = sorted(os.listdir(a.out)) + ([] if "summary.json" in os.listdir(a.out) else ["summary.json"])
    write_json(s, os.path.join(a.out, "summary.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--merge-sweep", nargs=2, metavar=("SWEEP", "TORCH"))
    ap.add_argument("--out")
    ap.add_argument("--work")
    ap.add_argument("--mode", default="gpu")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--seconds", type=int, default=0)
    a = ap.parse_args()
    if a.merge_sweep:
        merge_sweep(*a.merge_sweep)
    elif a.out and a.work:
        summary(a)
    else:
        ap.error("give --merge-sweep SWEEP TORCH, or --out and --work")


if __name__ == "__main__":
    main()
