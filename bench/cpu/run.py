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
Layer by layer, ours then PyTorch, each after waiting until other processes are (nearly) idle;
layers whose medians look disturbed are re-run once within the time budget.
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


def busy_cores(interval=1.0):
    """CPU cores busy over `interval` seconds (all processes; we are idle while measuring it)."""
    def snap():
        f = open("/proc/stat").readline().split()[1:]
        v = [int(x) for x in f]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v), idle
    t0, i0 = snap()
    time.sleep(interval)
    t1, i1 = snap()
    total = max(1, t1 - t0)
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / total)


def wait_quiet(threshold, max_wait):
    """Waits until other processes use fewer than `threshold` cores (at most max_wait s); returns the last reading."""
    deadline = time.time() + max_wait
    while True:
        b = busy_cores()
        if b < threshold or time.time() > deadline:
            return round(b, 2)
        time.sleep(2)


def run_jmh(java, pattern, params, out_json, wi, w, i, r):
    cmd = [java, "--sun-misc-unsafe-memory-access=allow", "-jar", JAR, pattern, "-f", "1", "-wi", str(wi), "-w", w, "-i", str(i), "-r", r,
           "-rf", "json", "-rff", out_json]
    for k, v in params.items():
        cmd += ["-p", f"{k}={','.join(str(x) for x in v)}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        entry = {"ms": median(raw), "min_ms": min(raw), "iterations_ms": raw, "jmh_score_ms": r["primaryMetric"]["score"]}
        sec = r.get("secondaryMetrics", {})
        if "cpuNanos" in sec and "calls" in sec:
            cn = [v for fork in sec["cpuNanos"]["rawData"] for v in fork]
            cl = [v for fork in sec["calls"]["rawData"] for v in fork]
            cpu = [a / b / 1e6 for a, b in zip(cn, cl) if b > 0]
            if cpu:
                entry.update({"cpu_ms": median(cpu), "cpu_min_ms": min(cpu), "iterations_cpu_ms": cpu})
        out[(bench, p["layer"], float(dens) if dens else None)] = entry
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
    ap.add_argument("--threads", type=int, default=1,
                    help="threads on both sides (default 1: on a shared machine PyTorch's OpenMP barriers stall for "
                         "scheduler ticks whenever another process holds a core, which makes 2-thread runs unfair)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--tag", default=datetime.date.today().isoformat())
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--quiet-cores", type=float, default=0.3,
                    help="wait before each measurement until other processes use fewer cores than this")
    ap.add_argument("--max-wait", type=float, default=None,
                    help="longest wait for quiet, seconds (default 5 with 1 thread, 20 otherwise)")
    ap.add_argument("--rerun-spread", type=float, default=1.5,
                    help="re-run a layer whose median/min ratio exceeds this on either side")
    ap.add_argument("--budget-minutes", type=float, default=15, help="no re-runs after this")
    ap.add_argument("--max-load", type=float, default=1.0,
                    help="1-minute load average the run may start at; at the end it must be under this plus --threads (ours) for results to be written")
    ap.add_argument("--max-wait-minutes", type=float, default=20, help="longest wait for that at the start, then exit 2")
    args = ap.parse_args()

    if args.max_wait is None:
        args.max_wait = 5 if args.threads == 1 else 20
    if not args.skip_build:
        build()
    jh = java_home()
    java = os.path.join(jh, "bin", "java")
    started = time.time()
    gate_deadline = time.time() + 60 * args.max_wait_minutes
    while loadavg() and loadavg()[0] >= args.max_load:
        if time.time() > gate_deadline:
            print(f"REFUSED: 1-minute load average {loadavg()[0]:.2f} >= {args.max_load} after "
                  f"{args.max_wait_minutes:g} min; nothing measured", file=sys.stderr)
            sys.exit(2)
        time.sleep(10)
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

    ours, torch_rows, conditions = {}, {}, {}
    torch_meta = None
    budget_s = args.budget_minutes * 60

    def measure(name, attempt):
        nonlocal torch_meta
        dens = DENSITIES + (SWEEP_DENSITIES if name in sweep else [])
        cond = {"attempt": attempt}
        cond["others_busy_cores_before_ours"] = wait_quiet(args.quiet_cores, args.max_wait)
        res = jmh_rows(run_jmh(java, "ConvBenchmark.(forward|forwardGather|weightGradSparse)$",
                               dict(common, layer=[name], gatherDensity=[0.1], density=dens),
                               os.path.join(tmp, f"ours-{name}-{attempt}.json"), wi, w, i, r))
        cond["others_busy_cores_before_torch"] = wait_quiet(args.quiet_cores, args.max_wait)
        tj = os.path.join(tmp, f"torch-{name}-{attempt}.json")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "cpu", "torch_cpu.py"), "--layers",
                        layers_json, "--out", tj, "--threads", str(args.threads), "--batch", str(args.batch),
                        "--only", name, "--densities", *map(str, DENSITIES),
                        "--sweep-densities", *map(str, SWEEP_DENSITIES), "--sweep-layers", ",".join(sweep),
                        "--reps", "5" if args.quick else "10"], check=True, stderr=subprocess.DEVNULL)
        t = json.load(open(tj))
        torch_meta = t
        return res, t["layers"][0], cond

    cpu = args.threads == 1
    med_key, min_key = ("cpu_ms", "cpu_min_ms") if cpu else ("ms", "min_ms")

    def spread(res, trow):
        """Worst median/min ratio over this layer's measurements on either side (primary metric)."""
        worst = 1.0
        for v in res.values():
            worst = max(worst, v[med_key] / v[min_key] if v.get(min_key) else 1.0)
        tf = "_cpu" if cpu else ""
        pairs = [(trow[f"forward{tf}_ms"], trow[f"forward{tf}_min_ms"]),
                 (trow[f"dw_dense{tf}_ms"], trow[f"dw_dense{tf}_min_ms"])]
        pairs += [(v[med_key], v[min_key]) for v in trow["dw_sliced"].values()]
        for med, mn in pairs:
            worst = max(worst, med / mn if mn > 0 else 1.0)
        return worst

    kept = {}
    for idx, name in enumerate(names):
        log(f"layer {idx + 1}/{len(names)}: {name}")
        kept[name] = measure(name, 1)
    # re-run the layers whose medians look disturbed (median far above minimum), worst first, in the budget
    suspicious = sorted(names, key=lambda n: -spread(kept[n][0], kept[n][1]))
    for name in suspicious:
        if spread(kept[name][0], kept[name][1]) < args.rerun_spread or time.time() - started > budget_s:
            break
        log(f"re-running {name} (median/min spread {spread(kept[name][0], kept[name][1]):.2f})")
        again = measure(name, 2)
        if spread(again[0], again[1]) < spread(kept[name][0], kept[name][1]):
            kept[name] = again
        kept[name][2]["rerun"] = True
    for name, (res, trow, cond) in kept.items():
        ours.update(res)
        torch_rows[name] = trow
        conditions[name] = dict(cond, spread=round(spread(res, trow), 3))
    load_mid = loadavg()
    torch = dict(torch_meta, layers=list(torch_rows.values()))
    tl = torch_rows

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
        row["conditions"] = conditions.get(n)
        row["torch"] = {
            "forward": {"ms": t.get("forward_ms"), "min_ms": t.get("forward_min_ms"), "cpu_ms": t.get("forward_cpu_ms"),
                        "cpu_min_ms": t.get("forward_cpu_min_ms")},
            "dw_dense": {"ms": t.get("dw_dense_ms"), "min_ms": t.get("dw_dense_min_ms"),
                         "cpu_ms": t.get("dw_dense_cpu_ms"), "cpu_min_ms": t.get("dw_dense_cpu_min_ms")},
            "dw_sliced": t.get("dw_sliced", {}),
        }
        rows.append(row)

    jv = subprocess.run([java, "-version"], capture_output=True, text=True).stderr.strip().splitlines()
    info = subprocess.run([java, "--enable-native-access=ALL-UNNAMED", "-cp", JAR, "io.trady4j.cli.Main", "info"],
                          capture_output=True, text=True).stdout.splitlines()
    cpu_backend = next((l.split(None, 1)[1] for l in info if l.startswith("cpu ")), "unknown")
    result = {
        "date": args.tag,
        "command": "/usr/bin/python3 bench/cpu/run.py" + (" --quick" if args.quick else ""),
        "machine": {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "os": platform.platform(),
                    "loadavg_start": load_start, "loadavg_after_measurements": load_mid, "loadavg_end": loadavg(),
                    "note": "shared development machine: other processes may have been running during the "
                            "measurements. Each layer is measured ours-then-PyTorch, each side after waiting (up to "
                            f"{args.max_wait:g} s) until other processes used < {args.quiet_cores:g} cores (the "
                            "reading is stored per layer under 'conditions'); layers whose median/min ratio exceeded "
                            f"{args.rerun_spread:g} were re-run once within the time budget and the calmer run kept; "
                            "medians and minima are both recorded"},
        "jdk": jv,
        "jmh": {"forks": 1, "warmup": f"{wi} x {w}", "measurement": f"{i} x {r}", "mode": "average time per op",
                "statistic": "median of the measurement iterations"},
        "torch": {k: torch[k] for k in ("torch_version", "threads", "mkldnn", "reps", "warmup", "statistic")},
        "threads": args.threads,
        "cpu_backend": cpu_backend,
        "cpu_onednn_setting": os.environ.get("TRADY4J_CPU_ONEDNN", "auto"),
        "metric": med_key,
        "metric_note": ("thread CPU time (the whole cost with 1 thread; immune to other processes taking the core)"
                        if cpu else "wall time"),
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
    # at the end the load average still counts our own measurement threads (about args.threads)
    if loadavg() and loadavg()[0] >= args.max_load + args.threads:
        print(f"REFUSED: 1-minute load average {loadavg()[0]:.2f} >= {args.max_load} + {args.threads} (ours) at the end; "
              f"results not written "
              f"(raw JMH/PyTorch outputs are in {tmp})", file=sys.stderr)
        sys.exit(2)
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, f"cpu-{args.tag}" + ("-quick" if args.quick else ""))
    json.dump(result, open(base + ".json", "w"), indent=1)
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "cpu", "report.py"), base + ".json"], check=True)
    log(f"wrote {base}.json/.md/.svg in {result['wall_minutes']} min")


if __name__ == "__main__":
    main()
