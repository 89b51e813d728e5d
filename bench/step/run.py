#!/usr/bin/python3
"""One command for the training-step benchmark (issue 5, item 3): trady4j's training step against
PyTorch's three ways of doing the same update, at the paper's MobileNetV2 budgets and at full
fine-tuning, batch 32 and 128, 128x128 inputs. Writes bench/results/step-<device>-<date>.json and a
markdown table beside it.

    /usr/bin/python3 bench/step/run.py             # CPU, 1 thread on both sides (~10 min on 2 cores)
    /usr/bin/python3 bench/step/run.py --quick     # tiny configuration, checks the pipeline (~1 min)
    python3 bench/step/run.py --backend cuda --java J --cp CP   # on the GPU machine (stage 4 of bench/gpu/prove.sh)

Steps: bench's StepTimes (Java) draws the TraDy selections (ranking: bench/step/ranking-mbv2-w0.35.json),
writes the plan and initial weights, and measures trady4j; then bench/step/torch_step.py runs each
PyTorch variant (masked / selected / full) in its own process on the same plan. Every step's loss is
recorded on both sides: the report states their largest relative difference, which shows that the two
sides train the same network on the same selection (it is not a timing input).
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JAR = os.path.join(ROOT, "bench", "target", "benchmarks.jar")
RANKING = os.path.join(ROOT, "bench", "step", "ranking-mbv2-w0.35.json")
TORCH_STEP = os.path.join(ROOT, "bench", "step", "torch_step.py")
TARGET_BUDGET = 27946
MIB = 1 << 20


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def java_binary():
    home = subprocess.check_output([os.path.join(ROOT, "scripts", "find-jdk25")], text=True).strip()
    return os.path.join(home, "bin", "java")


def build():
    log("building bench/ (mvn package)")
    cmd = [os.path.join(ROOT, "scripts", "mvn25"), "-q", "-pl", "bench", "-am", "package", "-DskipTests",
           "-Dtrady4j.native.skip=true"]
    if subprocess.run(cmd + ["-o"], cwd=ROOT).returncode != 0:
        subprocess.run(cmd, cwd=ROOT, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["cpu", "cuda"], default="cpu", help="trady4j's backend (PyTorch uses the same device)")
    ap.add_argument("--java", help="java binary (default: the JDK 25 scripts/find-jdk25 finds)")
    ap.add_argument("--cp", help="class path with io.trady4j.bench.StepTimes (default: bench/target/benchmarks.jar, built if missing)")
    ap.add_argument("--java-option", action="append", default=[], help="extra JVM option (repeatable)")
    ap.add_argument("--batches", default="32,128")
    ap.add_argument("--budgets", default="27946,66592,93696,full")
    ap.add_argument("--epochs", type=int, default=2, help="TraDy selections measured per budget (one per epoch)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads on both sides")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results"), help="where the JSON and markdown go")
    ap.add_argument("--work", help="folder for the plan, weights and raw outputs (default: a temporary one)")
    ap.add_argument("--quick", action="store_true", help="batch 4, 64x64, two budgets, one selection: a pipeline check")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds; each side's steps are pooled over them")
    ap.add_argument("--max-load", type=float, default=1.0, help="1-minute load average a measurement may start at")
    ap.add_argument("--max-wait-minutes", type=float, default=20, help="longest wait for a quiet machine, then exit 2")
    a = ap.parse_args()
    resolution = 128
    if a.quick:
        a.batches, a.budgets, a.epochs, a.steps, a.warmup, resolution = "4", "27946,full", 1, 2, 1, 64

    started = time.time()
    java = a.java or java_binary()
    cp = a.cp
    if not cp:
        if not os.path.exists(JAR):
            build()
        cp = JAR
    work = a.work or tempfile.mkdtemp(prefix="trady4j-step-")
    os.makedirs(work, exist_ok=True)
    wait_quiet(a.max_wait_minutes, a.max_load)
    load_start = os.getloadavg()

    # Rounds, and within a round one batch size at a time, ours then each PyTorch variant: a slow spell
    # of the machine then hits both sides, and every configuration is measured once per round.
    ours_rounds, torch_rounds, plan = [], [], None
    batches = [int(b) for b in a.batches.split(",")]
    for rnd in range(a.rounds):
        ours_round, torch_round = None, []
        for batch in batches:
            wait_quiet(a.max_wait_minutes, a.max_load)
            out_dir = os.path.join(work, f"round{rnd}-batch{batch}")
            os.makedirs(out_dir, exist_ok=True)
            log(f"round {rnd + 1}/{a.rounds}, batch {batch}: trady4j ({a.backend}) StepTimes, budgets {a.budgets}")
            subprocess.run([java, "--enable-native-access=ALL-UNNAMED", *a.java_option, "-cp", cp, "io.trady4j.bench.StepTimes",
                            "--backend", a.backend, "--threads", str(a.threads), "--resolution", str(resolution),
                            "--batches", str(batch), "--budgets", a.budgets, "--epochs", str(a.epochs), "--steps", str(a.steps),
                            "--warmup", str(a.warmup), "--ranking", RANKING, "--out", out_dir], check=True)
            plan = json.load(open(os.path.join(out_dir, "plan.json")))
            ours = json.load(open(os.path.join(out_dir, "trady4j.json")))
            if ours_round is None:
                ours_round = ours
            else:
                ours_round["runs"] += ours["runs"]
            for b in plan["budgets"]:
                for variant in (["full"] if b["budget"] == "full" else ["masked", "selected"]):
                    out = os.path.join(out_dir, f"torch-{variant}-{b['budget']}-{batch}.json")
                    subprocess.run([sys.executable, TORCH_STEP, "--plan", os.path.join(out_dir, "plan.json"),
                                    "--weights", os.path.join(out_dir, "weights.safetensors"), "--variant", variant,
                                    "--budget", str(b["budget"]), "--batch", str(batch), "--device", a.backend,
                                    "--threads", str(a.threads), "--out", out], check=True)
                    torch_round.append(json.load(open(out)))
        ours_rounds.append(ours_round)
        torch_rounds.append(torch_round)
    plan["batches"] = batches
    ours, torch_runs = merge_rounds(ours_rounds, torch_rounds)
    load_end = os.getloadavg()
    if load_end[0] >= a.max_load + a.threads:  # the 1-minute average still counts our own threads (about --threads)
        log(f"REFUSED: 1-minute load average {load_end[0]:.2f} >= {a.max_load} + {a.threads} (ours) at the end; results not written")
        sys.exit(2)

    result = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["bench/step/run.py"] + sys.argv[1:]),
        "machine": {"processor": platform.processor() or platform.machine(), "logical_cpus": os.cpu_count(),
                    "os": platform.platform(), "loadavg_start": [round(v, 2) for v in load_start],
                    "loadavg_end": [round(v, 2) for v in load_end], "rounds": a.rounds,
                    "gate": f"each batch size of each round started at a 1-minute load average < {a.max_load}; "
                            f"refused if >= {a.max_load} + {a.threads} (our own threads) at the end"},
        "model": plan["model"], "classes": plan["classes"], "resolution": plan["resolution"],
        "learning_rate": plan["learning_rate"], "warmup_steps": plan["warmup_steps"], "timed_steps": plan["timed_steps"],
        "ranking": plan["ranking"], "input": plan["input"],
        "selections": [{"budget": b["budget"], "strategy": b["strategy"],
                        "per_epoch": [{k: v for k, v in s.items() if k != "channels"} for s in b["selections"]]}
                       for b in plan["budgets"]],
        "forward_flops_per_sample": plan["forward_flops_per_sample"],
        "trady4j": ours, "torch": torch_runs,
        "wall_minutes": round((time.time() - started) / 60, 1),
    }
    result["rows"] = rows(result)
    result["loss_agreement"] = loss_agreement(ours, torch_runs)
    result["targets"] = targets(result)
    device = ours["device"] if a.backend == "cuda" else "cpu"
    slug = re.sub(r"[^a-z0-9]+", "-", device.lower()).strip("-")
    base = os.path.join(a.results, f"step-{slug}-{result['date']}" + (f"-{a.threads}threads" if a.threads != 1 else "")
                        + ("-quick" if a.quick else ""))
    os.makedirs(a.results, exist_ok=True)
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(markdown(result))
    log(f"wrote {base}.json and {base}.md ({result['wall_minutes']} min)")
    print(markdown(result))


def wait_quiet(max_minutes, max_load):
    """Waits until the 1-minute load average is below max_load; exits 2 after max_minutes."""
    deadline = time.time() + 60 * max_minutes
    while os.getloadavg()[0] >= max_load:
        if time.time() > deadline:
            log(f"REFUSED: 1-minute load average still {os.getloadavg()[0]:.2f} >= {max_load} after {max_minutes:g} min")
            sys.exit(2)
        time.sleep(10)


def merge_rounds(ours_rounds, torch_rounds):
    """Each configuration's epochs (steps, losses) pooled over the rounds; medians and peaks over all of them."""
    ours = ours_rounds[0]
    for later in ours_rounds[1:]:
        for run, other in zip(ours["runs"], later["runs"]):
            assert (run["batch"], run["budget"]) == (other["batch"], other["budget"])
            run["epochs"] += other["epochs"]
            run["peak_bytes"] = max(run["peak_bytes"], other["peak_bytes"])
            for k, v in other["peak_bytes_by_category"].items():
                run["peak_bytes_by_category"][k] = max(run["peak_bytes_by_category"][k], v)
            if "peak_reserved_bytes" in run:
                run["peak_reserved_bytes"] = max(run["peak_reserved_bytes"], other["peak_reserved_bytes"])
    for run in ours["runs"]:
        run["median_ms"] = median([m for e in run["epochs"] for m in e["step_ms"]])
    torch_runs = torch_rounds[0]
    for later in torch_rounds[1:]:
        for t, other in zip(torch_runs, later):
            assert (t["variant"], t["batch"], str(t["budget"])) == (other["variant"], other["batch"], str(other["budget"]))
            t["epochs"] += other["epochs"]
    return ours, torch_runs


def torch_peak(epoch):
    return epoch.get("peak_allocated_bytes", epoch.get("peak_rss_over_baseline_bytes"))


def rows(r):
    """One row per (batch, budget): trady4j and each PyTorch variant's median step time and peak memory."""
    out = []
    for run in r["trady4j"]["runs"]:
        row = {"batch": run["batch"], "budget": run["budget"], "trady4j_ms": run["median_ms"],
               "trady4j_peak_bytes": run.get("peak_reserved_bytes", run["peak_bytes"]),
               "trady4j_tensor_peak_bytes": run["peak_bytes"],
               "trady4j_activation_bytes": run["peak_bytes_by_category"]["activation_cache"]
               + run["peak_bytes_by_category"]["gradient_path"]}
        for t in r["torch"]:
            if t["batch"] == run["batch"] and str(t["budget"]) == str(run["budget"]):
                ms = sorted(m for e in t["epochs"] for m in e["step_ms"])
                row[t["variant"] + "_ms"] = median(ms)
                row[t["variant"] + "_peak_bytes"] = max(torch_peak(e) for e in t["epochs"])
                row[t["variant"] + "_saved_tensor_bytes"] = max(e["saved_tensor_bytes"] for e in t["epochs"])
        out.append(row)
    return out


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def loss_agreement(ours, torch_runs):
    """Largest relative difference between trady4j's and PyTorch's loss at the same step, per configuration."""
    worst = {}
    for run in ours["runs"]:
        for t in torch_runs:
            if t["batch"] != run["batch"] or str(t["budget"]) != str(run["budget"]):
                continue
            d = 0.0
            for eo, et in zip(run["epochs"], t["epochs"]):
                for lo, lt in zip(eo["losses"], et["losses"]):
                    d = max(d, abs(lo - lt) / max(abs(lo), 1e-12))
            worst[f"{t['variant']} budget {t['budget']} batch {t['batch']}"] = d
    return {"max_relative_difference": max(worst.values()) if worst else None, "per_configuration": worst}


def targets(r):
    """Issue 5's memory target at 27,946 units, and issue 13's step-time targets at every row:
    TraDy faster than PyTorch's (b) masked and (c) selected updates, full fine-tuning within 1.1x of (d)."""
    out = []
    by = {(row["batch"], str(row["budget"])): row for row in r["rows"]}
    for (batch, budget), row in sorted(by.items()):
        if budget == str(TARGET_BUDGET):
            full = by.get((batch, "full"), {})
            if "full_peak_bytes" in full:
                ratio = row["trady4j_peak_bytes"] / full["full_peak_bytes"]
                out.append({"target": f"batch {batch}: trady4j peak memory at {TARGET_BUDGET} units <= 0.1x PyTorch full fine-tuning",
                            "measured": round(ratio, 4), "met": ratio <= 0.1})
        for variant, name in (("masked", "(b) masked sparse update"), ("selected", "(c) requires_grad on the selected layers")):
            if variant + "_ms" in row:
                ratio = row["trady4j_ms"] / row[variant + "_ms"]
                out.append({"target": f"batch {batch}, {budget} units: trady4j step faster than PyTorch {name}",
                            "measured": round(ratio, 3), "met": ratio < 1})
        if budget == "full" and "full_ms" in row:
            ratio = row["trady4j_ms"] / row["full_ms"]
            out.append({"target": f"batch {batch}: trady4j full fine-tuning step within 1.1x of PyTorch's (d)",
                        "measured": round(ratio, 3), "met": ratio <= 1.1})
    return out


def markdown(r):
    cuda = r["trady4j"]["backend"] == "cuda"
    mem = ("allocator peak: trady4j's caching allocator's reserved bytes, torch.cuda.max_memory_allocated" if cuda else
           "trady4j: peak bytes of live tensors (its meter); PyTorch: peak resident set over the process's baseline "
           "taken before the model was built (includes the allocator's and oneDNN's overheads)")
    lines = [f"# Training step benchmark {r['date']}: trady4j ({r['trady4j']['backend']}) vs PyTorch {r['torch'][0]['torch']}", "",
             f"Device: {r['trady4j']['device']}. Model {r['model']} ({r['classes']} classes) at {r['resolution']}x{r['resolution']}, "
             f"plain SGD (lr {r['learning_rate']}), {r['warmup_steps']} warm-up + {r['timed_steps']} timed steps per TraDy "
             f"selection, {len(r['selections'][0]['per_epoch'])} selection(s) per budget (one per epoch, as the schedule "
             f"redraws them). Timer: ours: {r['trady4j']['timer']}; PyTorch: {r['torch'][0]['timer']}. "
             f"Command: `{r['command']}` ({r['wall_minutes']} min). Load average start/end: "
             f"{r['machine']['loadavg_start']} / {r['machine']['loadavg_end']}.", "",
             "PyTorch variants: (b) masked = full backward, then the conv weight gradients are masked to the selection; "
             "(c) selected = requires_grad only on the selected layers (gradients masked to the selected channels); "
             "(d) full = full fine-tuning. The classifier is trained in all; conv biases (folded BN) are frozen on both sides.", "",
             f"Memory: {mem}. 'activations' = what autograd saves in one forward (PyTorch, non-parameter tensors) and "
             "trady4j's activation cache + gradient-path bytes.", "",
             "| batch | budget (units) | trady4j ms | (b) masked ms | (c) selected ms | (d) full ms | trady4j peak MiB | "
             "(b) MiB | (c) MiB | (d) MiB | activations trady4j / (b) MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    fmt_ms = lambda v: "" if v is None else f"{v:.1f}"
    fmt_mib = lambda v: "" if v is None else f"{v / MIB:.1f}"
    for row in r["rows"]:
        act_t = row.get("masked_saved_tensor_bytes", row.get("full_saved_tensor_bytes"))
        lines.append(f"| {row['batch']} | {row['budget']} | {fmt_ms(row['trady4j_ms'])} | {fmt_ms(row.get('masked_ms'))} | "
                     f"{fmt_ms(row.get('selected_ms'))} | {fmt_ms(row.get('full_ms'))} | {fmt_mib(row['trady4j_peak_bytes'])} | "
                     f"{fmt_mib(row.get('masked_peak_bytes'))} | {fmt_mib(row.get('selected_peak_bytes'))} | "
                     f"{fmt_mib(row.get('full_peak_bytes'))} | {fmt_mib(row['trady4j_activation_bytes'])} / {fmt_mib(act_t)} |")
    lines += ["", "## Targets (issues 5 and 13)", "", "| target | measured | met |", "|---|---|---|"]
    for t in r["targets"]:
        lines.append(f"| {t['target']} | {t['measured']}x | {'yes' if t['met'] else 'NO'} |")
    lines += ["", "## Selections and FLOPs per sample", "",
              f"Forward: {r['forward_flops_per_sample'] / 1e6:.1f} MFLOP per sample on every row.", "",
              "| budget | epoch | units | layers | channels | deepest layer | dW MFLOP (full) | activation-gradient path MFLOP (full) |",
              "|---|---|---|---|---|---|---|---|"]
    for s in r["selections"]:
        for e in s["per_epoch"]:
            lines.append(f"| {s['budget']} | {e['epoch']} | {e['units']} | {e['trained_layers']} | {e['selected_channels']} | "
                         f"{e['deepest_trained_layer']} | {e['dw_flops_per_sample'] / 1e6:.2f} ({e['full_dw_flops_per_sample'] / 1e6:.1f}) | "
                         f"{e['gradient_path_flops_per_sample'] / 1e6:.1f} ({e['full_gradient_path_flops_per_sample'] / 1e6:.1f}) |")
    la = r["loss_agreement"]
    lines += ["", f"Same network, same updates: the largest relative difference between trady4j's and PyTorch's loss at the "
              f"same step, over every configuration, is {la['max_relative_difference']:.2e}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
