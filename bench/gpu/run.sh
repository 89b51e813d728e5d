#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage_* functions are called indirectly, as "stage_$s"
# The GPU run of trady4j's CUDA backend. Runs ON THE GPU MACHINE from the repository root, which
# has CUDA 13, CMake and PyTorch but no Java, Maven or network; prepare with bench/gpu/prepare.sh
# here and carry .devpack. Each stage is independent (a fresh machine rebuilds what it needs):
#
#   bench/gpu/run.sh                      # all stages but bench and step: info build dev java sanitize
#   bench/gpu/run.sh info build java      # some stages (keep one device call under 10 minutes)
#   bench/gpu/run.sh bench                # the per-layer benchmark alone, built and run in one call
#   bench/gpu/run.sh step                 # the training-step benchmark alone (one call)
#
#   info      nvidia-smi, nvcc, and where libcublas/libcudnn live (for the JCuda question)
#   build     ./scripts/build-native --dev (sm_80 + sm_90 + PTX), the ABI smoke test
#   dev       kernels/dev harnesses: every kernel version against a CPU reference, and timings
#   java      the JUnit GPU tests (CudaTestMain) with the carried JDK
#   sanitize  compute-sanitizer memcheck and racecheck over the dev harnesses (quick mode) and
#             memcheck over the Java GPU tests
#   bench     issue 5 items 1, 2 and 4, per layer: io.trady4j.bench.LayerTimes (our kernels, CUDA
#             events), bench/gpu/torch_layers.py (PyTorch/cuDNN on the same shapes and channels),
#             bench/gpu/report.py; builds only the library if it is missing and shares the rest of
#             the call's time between the two sides so that the script ends within
#             TRADY4J_CALL_SECONDS (default 570) of its start
#   step      issue 5 item 3: bench/step/run.py with the CUDA backend (trady4j's training step vs
#             PyTorch's masked / selected / full steps at the paper's budgets, batch 32 and 128)
#
# Results go to $OUT (or bench/gpu/out): summary.json (device, driver, date, each stage's status),
# run.log, java-tests.json, sanitizer.log, libs.txt, from bench gpu-<date>-<device>.json/.md/.svg,
# from step step-<device>-<date>.json/.md
# (layers-ours.json and layers-torch.json, the two sides' raw results, stay only if the report
# fails); at most 8 files, as the device tool returns.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
OUT=${OUT:-"$root/bench/gpu/out"}
mkdir -p "$OUT"
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(info build dev java sanitize)
call_seconds=${TRADY4J_CALL_SECONDS:-570}
log="$OUT/run.log"
: > "$log"
declare -A status seconds
say() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$log"; }
want() { local s; for s in "${stages[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
run_stage() {  # run_stage NAME command...
    local name=$1; shift
    local t0=$SECONDS
    say "== $name"
    "$@" >>"$log" 2>&1
    status[$name]=$?
    seconds[$name]=$((SECONDS - t0))
    say "== $name: exit ${status[$name]} after ${seconds[$name]} s"
}

lib=native/build/libtrady4j_cuda.so
ensure_build() { { [ -f "$lib" ] && [ -x native/build/dev/dev_conv2d ]; } || ./scripts/build-native --dev; }
ensure_lib() { [ -f "$lib" ] || ./scripts/build-native; }

stage_info() {
    nvidia-smi || true
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv || true
    nvcc --version || true
    cmake --version | head -n 1 || true
    echo "--- libcublas / libcudnn on this machine:"
    find / \( -path /proc -o -path /sys \) -prune -o \( -name 'libcublas.so*' -o -name 'libcudnn.so*' \) -print \
        2>/dev/null | sort | tee "$OUT/libs.txt"
}

stage_build() {
    ./scripts/build-native --dev && ./native/build/trady4j_abi_smoke
}

stage_dev() {
    ensure_build || return 1
    local rc=0 h
    for h in conv2d conv2d_dw_sparse conv2d_dx linear ops; do
        ./native/build/dev/dev_"$h" || rc=1
    done
    return "$rc"
}

# Who serves device memory, streams and events: JCuda (default) or the library's own runtime
# (TRADY4J_CUDA_RUNTIME=native), should JCuda's CUDA 12.6 runtime not get along with the library's CUDA 13.
runtime_opt="-Dtrady4j.cuda.runtime=${TRADY4J_CUDA_RUNTIME:-jcuda}"

java_setup() {
    if [ ! -f .devpack/pack.tgz ] || [ ! -f .devpack/tests.jar ]; then
        echo "no .devpack/pack.tgz and .devpack/tests.jar: run bench/gpu/prepare.sh on the dev machine and carry .devpack"
        return 1
    fi
    [ -x /tmp/devpack/jre/bin/java ] || tar xzf .devpack/pack.tgz -C /tmp || return 1
    JAVA=/tmp/devpack/jre/bin/java
    CP="/tmp/devpack/lib/*:$root/.devpack/tests.jar"
}

stage_java() {
    ensure_build || return 1
    java_setup || return 1
    "$JAVA" --enable-native-access=ALL-UNNAMED -Dtrady4j.native.path="$root/$lib" "$runtime_opt" -cp "$CP" \
        io.trady4j.backend.cuda.CudaTestMain "$OUT/java-tests.json"
}

stage_sanitize() {
    ensure_build || return 1
    local slog="$OUT/sanitizer.log" rc=0 h tool
    : > "$slog"
    for tool in memcheck racecheck; do
        for h in conv2d conv2d_dw_sparse conv2d_dx linear ops; do
            echo "--- compute-sanitizer --tool $tool dev_$h" | tee -a "$slog"
            compute-sanitizer --tool "$tool" --error-exitcode 3 ./native/build/dev/dev_"$h" 1 quick >>"$slog" 2>&1 || rc=1
            grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$slog" | tail -n 1
        done
    done
    if java_setup; then
        echo "--- compute-sanitizer --tool memcheck java CudaTestMain" | tee -a "$slog"
        compute-sanitizer --tool memcheck --error-exitcode 3 --target-processes all \
            "$JAVA" --enable-native-access=ALL-UNNAMED -Dtrady4j.native.path="$root/$lib" "$runtime_opt" -cp "$CP" \
            io.trady4j.backend.cuda.CudaTestMain >>"$slog" 2>&1 || rc=1
        grep -E "ERROR SUMMARY" "$slog" | tail -n 1
    fi
    return "$rc"
}

# Seconds left of the call after keeping `reserve` for what follows.
seconds_left() { echo $((call_seconds - SECONDS - $1)); }

stage_bench() {
    ensure_lib || return 1
    java_setup || return 1
    local ours="$OUT/layers-ours.json" torch="$OUT/layers-torch.json" budget
    budget=$(seconds_left 30)
    if [ "$budget" -lt 60 ]; then
        echo "bench: only $budget s left of the call's $call_seconds s; not starting"
        return 1
    fi
    # The driver starts no new layer after --max-seconds; half of what is left, the rest for PyTorch.
    budget=$((budget / 2))
    echo "--- LayerTimes, $budget s"
    timeout $((budget + 60)) "$JAVA" --enable-native-access=ALL-UNNAMED -Dtrady4j.native.path="$root/$lib" "$runtime_opt" -cp "$CP" \
        io.trady4j.bench.LayerTimes --backend cuda --batch 32,128 --densities 0.01,0.05,0.1,0.25,0.5,1 \
        --out "$ours" --max-seconds "$budget"
    local rc=$?
    [ -f "$ours" ] || return 1
    # PyTorch's import, the peak measurement and one layer past its budget fit in the 40 s kept back.
    budget=$(seconds_left 40)
    echo "--- torch_layers.py, $budget s"
    timeout $((budget + 30)) python3 bench/gpu/torch_layers.py --ours "$ours" --out "$torch" --device cuda \
        --max-seconds "$budget" || rc=1
    [ -f "$torch" ] || return 1
    echo "--- report"
    if python3 bench/gpu/report.py --ours "$ours" --torch "$torch" --out-dir "$OUT"; then
        rm -f "$ours" "$torch"  # the merged gpu-*.json holds both
    else
        rc=1
    fi
    return "$rc"
}

stage_step() {
    ensure_lib || return 1
    java_setup || return 1
    # trady4j's training step against PyTorch's masked / selected / full steps (issue 5, item 3)
    timeout "$(seconds_left 10)" python3 bench/step/run.py --backend cuda --java "$JAVA" --cp "$CP" \
        "--java-option=-Dtrady4j.native.path=$root/$lib" "--java-option=$runtime_opt" --steps 20 --warmup 5 --results "$OUT" --work /tmp/trady4j-step
}

for s in info build dev java sanitize bench step; do
    want "$s" && run_stage "$s" "stage_$s"
done

# summary.json
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)
nvcc_v=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
json_escape() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))'; }
{
    echo "{"
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"device\": $(printf '%s' "${gpu:-none}" | json_escape),"
    echo "  \"driver\": $(printf '%s' "${driver:-none}" | json_escape),"
    echo "  \"nvcc\": $(printf '%s' "${nvcc_v:-none}" | json_escape),"
    echo "  \"git\": $(git rev-parse HEAD 2>/dev/null | json_escape),"
    echo "  \"stages\": {"
    first=1
    for s in info build dev java sanitize bench step; do
        [ -n "${status[$s]+x}" ] || continue
        [ $first -eq 1 ] || echo ","
        first=0
        printf '    "%s": {"exit": %d, "seconds": %d}' "$s" "${status[$s]}" "${seconds[$s]}"
    done
    echo ""
    echo "  },"
    if [ -f "$OUT/java-tests.json" ]; then
        echo "  \"java_tests\": $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({k: d[k] for k in ("tests_found","passed","failed","skipped")}))' "$OUT/java-tests.json"),"
    fi
    for result in "$OUT"/gpu-*.json; do
        [ -f "$result" ] || continue
        echo "  \"bench_result\": $(basename "$result" | json_escape),"
        echo "  \"bench_targets\": $(python3 bench/gpu/report.py --targets "$result" 2>/dev/null || echo null),"
    done
    if [ -f "$OUT/sanitizer.log" ]; then
        echo "  \"sanitizer_summaries\": $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/sanitizer.log" | json_escape),"
    fi
    echo "  \"dev_checks\": $(grep -E '^[a-z0-9_]+: [0-9]+ of [0-9]+ checks passed' "$log" | json_escape)"
    echo "}"
} > "$OUT/summary.json"
say "summary: $OUT/summary.json"
cat "$OUT/summary.json"
fail=0
for s in "${!status[@]}"; do [ "${status[$s]}" -eq 0 ] || fail=1; done
exit $fail
