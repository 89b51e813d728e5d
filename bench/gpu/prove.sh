#!/usr/bin/env bash
# The whole GPU proof of trady4j in ONE device call of at most 9 minutes (issue 11 §3). Runs on the GPU
# machine from the repository root, which has CUDA 13, PyTorch and compute-sanitizer but no Java, Maven or
# network: prepare .devpack here with bench/gpu/prepare.sh and carry it. Nothing is compiled there unless a
# carried binary does not load (then it says so and builds it).
#
#   bench/gpu/prove.sh                  # on the GPU machine, results in $OUT (else bench/gpu/out)
#   bench/gpu/prove.sh --dry-run        # here: the same stages on the CPU emulator build of the library,
#                                       # CPU PyTorch and stand-in timers, shrunk shapes; same summary.json
#   bench/gpu/prove.sh --dry-run --short   # the CI form: fewer shapes, the quick step run (a few minutes)
#
# Stages, in priority order, each in its own time box (timeout), each appending to $OUT as it goes, so a
# call killed midway still returns what finished; summary.json is rewritten after every stage:
#   1 facts     nvidia-smi, driver, where libcudnn/libcublas live, the carried library loads, the ABI smoke
#               test, `trady4j info` with JCuda's runtime and with the library's own (30 s)
#   2 tests     the Java GPU tests against the CPU reference (CudaTestMain, java-tests.json) (90 s; dry run
#               300 s, the emulator's speed; skipped by --short)
#   3 sweep     io.trady4j.bench.KernelSweep: every implementation of conv2d_forward, conv2d_gather,
#               conv2d_dx, conv2d_dw_sparse at 1/10/100 % on bench/model/shapes.json, the autotuner's
#               table; bench/gpu/torch_sweep.py: PyTorch cuDNN with TF32 off and on; merged into
#               sweep.json; bench/model/compare.py's predicted vs measured, if both files exist (180 s)
#   4 step      bench/step/run.py: the training step at 27,946 units and full fine-tuning, batch 32 and
#               128, trady4j vs PyTorch (b) masked, (c) selected, (d) full: time, peak memory, losses (120 s)
#   5 sanitize  compute-sanitizer memcheck and racecheck on the dev harnesses in quick mode (90 s; the dry
#               run: emu_conv2d under ASan/UBSan)
# $OUT at most 8 files: summary.json prove.log java-tests.json sweep.json (sweep-torch.json while stage 3
# runs) step-*.json step-*.md sanitizer.log.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
dry=0
short=0
for a in "$@"; do
  case "$a" in
    --dry-run) dry=1 ;;
    --short) short=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "prove.sh: unknown option '$a' (options: --dry-run, --short, --help)" >&2; exit 2 ;;
  esac
done
if [ $short -eq 1 ] && [ $dry -eq 0 ]; then
  echo "prove.sh: --short is a form of the dry run; give --dry-run --short" >&2
  exit 2
fi
OUT=${OUT:-"$root/bench/gpu/out"}
mkdir -p "$OUT" || exit 1
work=$(mktemp -d /tmp/trady4j-prove.XXXXXX) || exit 1
log="$OUT/prove.log"
: > "$log"
stages_file="$work/stages.tsv"
: > "$stages_file"
started=$SECONDS
say() { echo "[$(date +%H:%M:%S) +$((SECONDS - started))s] $*" | tee -a "$log"; }

if [ $dry -eq 1 ]; then
  PY=${PYTHON:-/usr/bin/python3}
  mode="dry-run$([ $short -eq 1 ] && echo ' short')"
else
  PY=${PYTHON:-python3}
  mode="gpu"
fi

# Writes summary.json from what $OUT holds so far (after every stage, and last).
summarize() {
  "$PY" bench/gpu/summary.py --out "$OUT" --work "$work" --mode "$mode" \
      --commit "$(git rev-parse HEAD 2>/dev/null || echo unknown)" --seconds $((SECONDS - started)) >>"$log" 2>&1 \
    || say "summary.py failed (see above)"
}

# run_stage NAME BOX_SECONDS FUNCTION: the function's output goes to prove.log; status ok / failed / timeout.
run_stage() {
  local name=$1 box=$2 fn=$3 t0=$SECONDS rc status
  say "== stage $name (box ${box} s)"
  stage_deadline=$((SECONDS + box))
  "$fn" >>"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then status=ok; elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=timeout; else status=failed; fi
  printf '%s\t%s\t%d\t%d\t%d\n' "$name" "$status" "$rc" $((SECONDS - t0)) "$box" >> "$stages_file"
  say "== stage $name: $status (exit $rc) after $((SECONDS - t0)) s"
  summarize
}
# Seconds left in the running stage's box, keeping `reserve` back (at least 5).
left() { local s=$((stage_deadline - SECONDS - ${1:-0})); [ $s -lt 5 ] && s=5; echo $s; }
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }

# ---------------------------------------------------------------- the pack
pack=/tmp/trady4j-devpack
unpack() {
  if [ ! -f .devpack/pack.tgz ]; then
    say "no .devpack/pack.tgz: run bench/gpu/prepare.sh on the development machine and carry .devpack"
    return 1
  fi
  rm -rf "$pack" && mkdir -p "$pack" && tar xzf .devpack/pack.tgz -C "$pack" --strip-components=1 || return 1
  JAVA="$pack/jre/bin/java"
  CP="$pack/lib/*:$pack/tests.jar"
  say "pack: $(head -n 1 "$pack/MANIFEST"), $(sed -n 2p "$pack/MANIFEST")"
}
unpack || { printf 'unpack\tfailed\t1\t0\t0\n' >> "$stages_file"; summarize; exit 1; }

if [ $dry -eq 1 ]; then
  # The emulator build of the library and the ASan harnesses stand in for the GPU binaries (built here if missing).
  say "dry run: building what is missing of the emulator pieces (make -C kernels/dev emu-lib emu_conv2d)"
  make -s -C kernels/dev emu-lib emu_conv2d >>"$log" 2>&1 \
    || { say "building the emulator pieces failed"; printf 'unpack\tfailed\t1\t0\t0\n' >> "$stages_file"; summarize; exit 1; }
  lib_dir="$root/native/build-emu"
  runtimes=(native)
  java_flags=(-Dtrady4j.cuda.emulator=true)
else
  lib_dir="$pack/native"
  runtimes=(jcuda native)
  java_flags=()
fi
runtime=${runtimes[0]}
java_run() {  # java_run TIMEOUT CLASS ARGS...: the carried JDK, the library, the runtime stage 1 found working
  local t=$1; shift
  timeout --kill-after=5 "$t" "$JAVA" --enable-native-access=ALL-UNNAMED -Dtrady4j.native.path="$lib_dir" \
    -Dtrady4j.cuda.runtime="$runtime" ${java_flags[@]+"${java_flags[@]}"} -Dtrady4j.tune.cache="$work/tune" \
    -cp "$CP" "$@"
}

# ---------------------------------------------------------------- 1 facts
stage_facts() {
  if command -v nvidia-smi >/dev/null; then
    timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm --format=csv
    timeout 10 nvidia-smi | head -n 15
  else
    echo "nvidia-smi: not on this machine$([ $dry -eq 1 ] && echo ' (dry run)')"
  fi
  command -v nvcc >/dev/null && nvcc --version | tail -n 2
  command -v compute-sanitizer >/dev/null && compute-sanitizer --version | head -n 2
  echo "--- libcublas / libcudnn on this machine (for JCuda's jcublas/jcudnn question):"
  timeout 10 find /usr /opt /lib -xdev \( -name 'libcublas.so*' -o -name 'libcudnn.so*' \) 2>/dev/null | sort | head -n 30
  echo "--- the library: $lib_dir/libtrady4j_cuda.so"
  if ! "$PY" -c 'import ctypes, sys; l = ctypes.CDLL(sys.argv[1]); print("loads; ABI version", l.trady4j_abi_version())' \
      "$lib_dir/libtrady4j_cuda.so"; then
    if [ $dry -eq 1 ]; then return 1; fi
    echo "the carried libtrady4j_cuda.so does NOT load here: building it on the device (scripts/build-native)"
    timeout "$(left 10)" ./scripts/build-native >/dev/null || return 1
    cp native/build/libtrady4j_cuda.so native/build/trady4j_abi_smoke "$pack/native/" || return 1
  fi
  echo "--- ABI smoke test (the CUDA build's library: $([ $dry -eq 1 ] && echo 'no GPU here, argument checks only' || echo 'versions'))"
  LD_LIBRARY_PATH="$pack/native" timeout 10 "$pack/native/trady4j_abi_smoke" || return 1
  local r ok=0 first=""
  for r in jcuda native; do
    echo "--- trady4j info, -Dtrady4j.cuda.runtime=$r"
    runtime=$r java_run "$(min 20 "$(left 2)")" io.trady4j.cli.Main info > "$work/info-$r.txt" 2>&1
    cat "$work/info-$r.txt"
    if grep -q '^cuda    unavailable' "$work/info-$r.txt" || ! grep -q '^cuda ' "$work/info-$r.txt"; then
      echo "runtime $r: the CUDA backend does not open"
      printf '%s\tunavailable\n' "$r" >> "$work/runtimes.tsv"
    else
      printf '%s\topens\n' "$r" >> "$work/runtimes.tsv"
      ok=1
      [ -z "$first" ] && first=$r
    fi
  done
  [ $ok -eq 1 ] || return 1
  # Later stages run on the first runtime that opens (JCuda's by default), the one the library would take.
  echo "$first" > "$work/runtime"
}
run_stage facts 30 stage_facts
[ -f "$work/runtime" ] && runtime=$(cat "$work/runtime")
say "later stages use -Dtrady4j.cuda.runtime=$runtime"

# ---------------------------------------------------------------- 2 tests
stage_tests() {
  java_run "$(left 5)" io.trady4j.backend.cuda.CudaTestMain "$OUT/java-tests.json"
}
if [ $short -eq 1 ]; then
  # On the emulator the GPU test classes take about 4 minutes: the CI form leaves them to the full dry run.
  say "== stage tests: skipped (--short; bench/gpu/prove.sh --dry-run runs them on the emulator)"
  printf 'tests\tskipped\t0\t0\t0\n' >> "$stages_file"
elif [ $dry -eq 1 ]; then
  run_stage tests 300 stage_tests  # the emulator: about 8 s per CudaBackendTest case
else
  run_stage tests 90 stage_tests
fi

# ---------------------------------------------------------------- 3 sweep
if [ $dry -eq 1 ]; then
  # The emulator runs each block's threads as OS threads (tens of ms per launch, about 1 s for the v4 and v6
  # kernels' big blocks), so: shapes shrunk to batch 1 and planes of at most 4x4, one warm-up and one timed
  # call, no L2 flush (a fill kernel of 1 MiB is 1,024 emulated blocks), TF32 rows left out (TRADY4J_MATH
  # unset makes v4_tf32 ineligible) and the tuner's table from its heuristic (-Dtrady4j.tune=off).
  shrink=(--batch 1 --max-size 4)
  reps_java=(--warmup 1 --min-reps 1 --max-reps 1 --target-ms 1 --flush-mib 0)
  reps_torch=(--warmup 1 --min-reps 1 --max-reps 1 --target-ms 1 --flush-mib 0)
  torch_device=cpu
  tune=off
  math=
  [ $short -eq 1 ] && shrink+=(--layers mbv2.b02.dw,resnet18.layer2.0.downsample)
else
  shrink=()
  reps_java=()
  reps_torch=()
  torch_device=cuda
  tune=force
  math=tf32
fi
stage_sweep() {
  local rc=0 ours_budget
  # Ours starts no shape after 45 % of the box and is stopped 35 s before its end (PyTorch needs about 30 s
  # on a GPU); a shape takes up to about a second on a GPU and up to a minute on the emulator.
  ours_budget=$(( $(left 0) * 45 / 100 ))
  echo "--- KernelSweep (starts no shape after $ours_budget s, stopped after $(left 35) s)"
  TRADY4J_MATH=$math java_run "$(left 35)" -Dtrady4j.tune=$tune io.trady4j.bench.KernelSweep \
    --out "$OUT/sweep.json" --max-seconds "$ours_budget" "${shrink[@]}" "${reps_java[@]}" || rc=$?
  [ -f "$OUT/sweep.json" ] || return 1
  echo "--- torch_sweep.py ($torch_device, starts no shape after $(left 25) s)"
  timeout --kill-after=5 "$(left 10)" "$PY" bench/gpu/torch_sweep.py --out "$OUT/sweep-torch.json" \
    --device "$torch_device" --max-seconds "$(left 25)" "${shrink[@]}" "${reps_torch[@]}" || { [ $rc -eq 0 ] && rc=1; }
  "$PY" bench/gpu/summary.py --merge-sweep "$OUT/sweep.json" "$OUT/sweep-torch.json" && rm -f "$OUT/sweep-torch.json"
  if [ -f bench/model/compare.py ] && [ -f bench/model/predictions-h200.json ]; then
    echo "--- bench/model/compare.py: predicted vs measured"
    "$PY" bench/model/compare.py bench/model/predictions-h200.json "$OUT/sweep.json" || echo "compare.py failed"
  else
    echo "--- bench/model/compare.py or predictions-h200.json not here: no predicted vs measured"
  fi
  return "$rc"
}
run_stage sweep 180 stage_sweep

# ---------------------------------------------------------------- 4 step
stage_step() {
  local backend=cuda size=(--batches 32,128 --budgets 27946,full --epochs 1 --steps 10 --warmup 3)
  # run.py's quiet-machine gate (1-minute load average) is for CPU timings on this 2-core machine; the device
  # has 16 cores and times the GPU with events, so it starts below one load per core. The dry run's times
  # mean nothing, so it does not wait at all (the limit is recorded in the result either way).
  local max_load=$(nproc)
  if [ $dry -eq 1 ]; then
    # CPU backend and CPU PyTorch (the emulator would take hours for a MobileNetV2 step); --quick: batch 4, 64x64.
    backend=cpu
    size=(--quick)
    max_load=1000
  fi
  timeout --kill-after=5 "$(left 5)" "$PY" bench/step/run.py --backend "$backend" --java "$JAVA" --cp "$CP" \
    "--java-option=-Dtrady4j.native.path=$lib_dir" "--java-option=-Dtrady4j.cuda.runtime=$runtime" \
    "--java-option=-Dtrady4j.tune.cache=$work/tune" "${size[@]}" --max-load "$max_load" --results "$OUT" --work "$work/step"
}
run_stage step 120 stage_step

# ---------------------------------------------------------------- 5 sanitize
stage_sanitize() {
  local slog="$OUT/sanitizer.log" rc=0 h tool
  : > "$slog"
  for tool in memcheck racecheck; do
    for h in conv2d_dw_sparse conv2d conv2d_dx; do
      if [ $dry -eq 1 ]; then
        # Stand-in: one of the harnesses on the CPU emulator under AddressSanitizer + UBSan (no racecheck there;
        # about 15 s on a quiet machine, 45 s under load; CI's `make -C kernels/dev emu-check` runs them all).
        [ $tool = racecheck ] || [ $h != conv2d ] && continue
        echo "--- ASan/UBSan (dry run) emu_$h" | tee -a "$slog"
        timeout "$(left 2)" "kernels/dev/emu_$h" 1 quick >>"$slog" 2>&1 || rc=1
      else
        local bin="$pack/dev/dev_$h"
        if ldd "$bin" 2>&1 | grep -q 'not found'; then
          echo "the carried dev_$h does NOT load here ($(ldd "$bin" 2>&1 | grep 'not found' | head -n 1)): building it"
          make -s -C kernels/dev ARCH=-arch=sm_90 "$h" && bin="kernels/dev/$h" || { rc=1; continue; }
        fi
        echo "--- compute-sanitizer --tool $tool dev_$h 1 quick" | tee -a "$slog"
        timeout "$(left 2)" compute-sanitizer --tool "$tool" --error-exitcode 3 "$bin" 1 quick >>"$slog" 2>&1 || rc=1
      fi
      grep -E "ERROR SUMMARY|RACECHECK SUMMARY|checks passed|ERROR: AddressSanitizer" "$slog" | tail -n 1
      [ $((stage_deadline - SECONDS)) -gt 3 ] || { echo "sanitize: box used up"; return 124; }
    done
  done
  return "$rc"
}
run_stage sanitize 90 stage_sanitize

say "done in $((SECONDS - started)) s; summary: $OUT/summary.json"
summarize
cat "$OUT/summary.json"
awk -F'\t' '$2 != "ok" && $2 != "skipped" { bad = 1 } END { exit bad }' "$stages_file"
rc=$?
rm -rf "$work"
exit $rc
