#!/usr/bin/python3
"""One command for the CPU benchmark: builds bench/, runs the JMH conv benchmarks (ours) and
bench/cpu/torch_cpu.py (PyTorch CPU) on the same layer shapes, same thread count, back to back, and
writes bench/results/cpu-<date>.json, a markdown table cpu-<date>.md and a plot cpu-<date>.svg.

    /usr/bin/python3 bench/cpu/run.py            # full run (~12-15 min on the 2-core dev machine)
    /usr/bin/python3 bench/cpu/run.py --quick    # a few layers, for checking the pipeline (~2 min)

What runs (batch 32, 128x128 inputs):
  - forward (conv2d + fused ReLU6) and forward with channel-gathered caching at 10% on every layer;
  - the sparse weight gradient at densities 1%, 10% and 100% on every layer, plus 5%, 25%, 50% on a
    representative subset of layers (SWEEP below) to keep the run under ~15 minutes.
Times are the median of JMH's measurement iterations (AverageTime per iteration), resp. of
PyTorch's timed repetitions; minima are recorded too because other processes may share the machine.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JAR = os.path.join(ROOT, "bench", "target", "benchmarks.jar")
SWEEP = ["mbv2.first", "mbv2.b00.dw", "mbv2.b00.project", "mbv2.b01.expand", "mbv2.b02.dw", "mbv2.b04.expand",
         "mbv2.b04.project", "mbv2.b07.dw", "mbv2.b11.expand", "mbv2.b14.project", "mbv2.mix",
         "resnet18.layer1.0.conv1", "resnet18.layer3.0.conv2"]
DENSITIES = [0.01, 0.1, 1.0]
SWEEP_DENSITIES = [0.05, 0.25, 0.5]
QUICK_LAYERS = ["mbv2.b00.project", "mbv2.b04.expand", "mbv2.b07.dw", "mbv2.mix"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def java_home():
    return subprocess.check_output([os.path.join(ROOT, "scripts", "find-jdk25")], text=True).strip()


def build():
    log("building bench/ (mvn package)")
    cmd = [os.path.join(ROOT, "scripts", "mvn25"), "-q", "-pl", "bench", "-am", "package", "-DskipTests"]
    if subprocess.run(cmd + ["-o"], cwd=ROOT).returncode != 0:  # offline first, then let Maven download
        subprocess.run(cmd, cwd=ROOT, check=True)


def loadavg():
    try:
        return [float(v) for v in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def run_jmh(java, pattern, params, out_json, wi, w, i, r):
    cmd = [java, "--sun-misc-unsafe-memory-access=allow", "-jar", JAR, pattern, "-f", "1", "-wi", str(wi), "-w", w, "-i", str(i), "-r", r,
           "-rf", "json", "-rff", out_json]
    for k, v in params.items():
        cmd += ["-p", f"{k}={','.join(str(x) for x in v)}"]
    log("jmh " + " ".join(cmd[3:]))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.load(open(out_json))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def jmh_rows(results):
    """(benchmark, layer, density) -> {median, min, iterations}."""
    out = {}
    for r in results:
        bench = r["benchmark"].rsplit(".", 1)[1]
        p = r["params"]
        raw = [v for fork in r["primaryMetric"]["rawData"] for v in fork]
        dens = p.get("density") or p.get("gatherDensity")
        out[(bench, p["layer"], float(dens) if dens else None)] = {
            "ms": median(raw), "min_ms": min(raw), "iterations_ms": raw, "jmh_score_ms": r["primaryMetric"]["score"]}
    return out


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--tag", default=datetime.date.today().isoformat())
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()

    if not args.skip_build:
        build()
    jh = java_home()
    java = os.path.join(jh, "bin", "java")
    started = time.time()
    load_start = loadavg()
    tmp = tempfile.mkdtemp(prefix="trady4j-bench-")
    layers_json = os.path.join(tmp, "layers.json")
    with open(layers_json, "w") as f:
        subprocess.run([java, "-cp", JAR, "io.trady4j.bench.Layers"], stdout=f, check=True)
    layers = json.load(open(layers_json))
    names = [l["name"] for l in layers]
    sweep = [n for n in SWEEP if n in names]
    if args.quick:
        names, sweep = QUICK_LAYERS, QUICK_LAYERS[:2]
    wi, w, i, r = (1, "200ms", 3, "200ms") if args.quick else (2, "200ms", 5, "200ms")
    common = {"threads": [args.threads], "batch": [args.batch]}

    ours = {}
    ours.update(jmh_rows(run_jmh(java, "ConvBenchmark.forward", dict(common, layer=names, gatherDensity=[0.1]),
                                 os.path.join(tmp, "fwd.json"), wi, w, i, r)))
    ours.update(jmh_rows(run_jmh(java, "ConvBenchmark.weightGradSparse", dict(common, layer=names, density=DENSITIES),
                                 os.path.join(tmp, "dw.json"), wi, w, i, r)))
    ours.update(jmh_rows(run_jmh(java, "ConvBenchmark.weightGradSparse",
                                 dict(common, layer=sweep, density=SWEEP_DENSITIES),
                                 os.path.join(tmp, "dw_sweep.json"), wi, w, i, r)))
    load_mid = loadavg()
    log("pytorch")
    torch_json = os.path.join(tmp, "torch.json")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "cpu", "torch_cpu.py"), "--layers", layers_json,
                    "--out", torch_json, "--threads", str(args.threads), "--batch", str(args.batch),
                    "--only", ",".join(names), "--densities", *map(str, DENSITIES),
                    "--sweep-densities", *map(str, SWEEP_DENSITIES), "--sweep-layers", ",".join(sweep),
                    "--reps", "5" if args.quick else "10"], check=True)
    torch = json.load(open(torch_json))
    tl = {row["name"]: row for row in torch["layers"]}

    rows = []
    for l in layers:
        n = l["name"]
        if n not in names:
            continue
        dens = sorted(set(DENSITIES) | (set(SWEEP_DENSITIES) if n in sweep else set()))
        t = tl.get(n, {})
        row = dict(l)
        row["ours"] = {
            "forward": ours.get(("forward", n, None)),
            "forward_gather_10pct": ours.get(("forwardGather", n, 0.1)),
            "dw": {str(d): dict(ours[("weightGradSparse", n, d)], selected=max(1, round(d * l["in"])))
                   for d in dens if ("weightGradSparse", n, d) in ours},
        }
        row["gather_cache_bytes_10pct"] = 4 * args.batch * max(1, round(0.1 * l["in"])) * l["size"] ** 2
        row["torch"] = {
            "forward": {"ms": t.get("forward_ms"), "min_ms": t.get("forward_min_ms")},
            "dw_dense": {"ms": t.get("dw_dense_ms"), "min_ms": t.get("dw_dense_min_ms")},
            "dw_sliced": t.get("dw_sliced", {}),
        }
        rows.append(row)

    jv = subprocess.run([java, "-version"], capture_output=True, text=True).stderr.strip().splitlines()
    result = {
        "date": args.tag,
        "command": "/usr/bin/python3 bench/cpu/run.py" + (" --quick" if args.quick else ""),
        "machine": {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "os": platform.platform(),
                    "loadavg_start": load_start, "loadavg_after_jmh": load_mid, "loadavg_end": loadavg(),
                    "note": "shared development machine: other processes may have been running during the "
                            "measurements (see the load averages); medians and minima are both recorded"},
        "jdk": jv,
        "jmh": {"forks": 1, "warmup": f"{wi} x {w}", "measurement": f"{i} x {r}", "mode": "average time per op",
                "statistic": "median of the measurement iterations"},
        "torch": {k: torch[k] for k in ("torch_version", "threads", "mkldnn", "reps", "warmup", "statistic")},
        "threads": args.threads,
        "batch": args.batch,
        "resolution": 128,
        "densities_all_layers": DENSITIES,
        "densities_sweep_layers": SWEEP_DENSITIES,
        "sweep_layers": sweep,
        "selection": "|S| = max(1, round(d*C)) input channels, uniformly at random, fixed seed",
        "torch_sparse_baseline": "conv2d_weight on the pre-gathered x[:, S] (weight [C', |S|, D, D]); "
                                 "depthwise: x[:, S], dy[:, S], groups=|S|",
        "wall_minutes": round((time.time() - started) / 60, 1),
        "layers": rows,
    }
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, f"cpu-{args.tag}" + ("-quick" if args.quick else ""))
    json.dump(result, open(base + ".json", "w"), indent=1)
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "cpu", "report.py"), base + ".json"], check=True)
    log(f"wrote {base}.json/.md/.svg in {result['wall_minutes']} min")


if __name__ == "__main__":
    main()
