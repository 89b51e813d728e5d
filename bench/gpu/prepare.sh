#!/usr/bin/env bash
# Run HERE (the development machine: JDK 25, Maven, nvcc 13) before a GPU run; the GPU machine has no
# Java, Maven or network, so everything bench/gpu/prove.sh runs there is built now, into one file:
#
#   .devpack/pack.tgz   devpack/jre        a jlinked JDK 25 runtime
#                       devpack/lib        the trady4j jar, the bench classes (KernelSweep, StepTimes), and
#                                          every runtime and test dependency (JCuda, JUnit)
#                       devpack/tests.jar  the compiled tests (the GPU tests run from it through CudaTestMain)
#                       devpack/native     libtrady4j_cuda.so (sm_80 + sm_90 SASS, compute_90 PTX, CUDA runtime
#                                          linked statically) and trady4j_abi_smoke
#                       devpack/dev        the kernel dev harnesses prove.sh runs under compute-sanitizer
#                                          (conv2d, conv2d_dx, conv2d_dw_sparse; sm_90 SASS + PTX)
#                       devpack/MANIFEST   commit, date, compiler versions, file sizes
#
# Then one device call carrying [".devpack"] runs `bench/gpu/prove.sh` (see bench/gpu/README.md). The tree plus
# .devpack must stay within 60 MiB (the device call carries at most 64); this script checks it.
#   bench/gpu/prepare.sh            # everything (about 5 minutes on 2 cores; incremental afterwards)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [ $# -gt 0 ]; then
  echo "prepare.sh takes no arguments (got '$1'); it builds .devpack/pack.tgz for bench/gpu/prove.sh" >&2
  exit 2
fi
limit_mib=60
harnesses=(conv2d conv2d_dx conv2d_dw_sparse)
jdk=$("$root/scripts/find-jdk25")
command -v nvcc >/dev/null || { echo "prepare.sh: no nvcc on the PATH: the GPU pack needs the CUDA library built here" >&2; exit 1; }
t0=$SECONDS

echo "prepare: jars and libtrady4j_cuda.so (mvn package, tests compiled, not run)"
JAVA_HOME=$jdk "$root/scripts/mvn25" -q -DskipTests package
for f in native/build/libtrady4j_cuda.so native/build/trady4j_abi_smoke; do
  [ -f "$f" ] || { echo "prepare.sh: the build did not produce $f" >&2; exit 1; }
done

echo "prepare: kernel dev harnesses for compute-sanitizer (${harnesses[*]}, sm_90)"
make -s -C kernels/dev ARCH=-arch=sm_90 "${harnesses[@]}"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pack=$stage/devpack
mkdir -p "$pack/lib" "$pack/native" "$pack/dev"
echo "prepare: jlinked runtime"
"$jdk/bin/jlink" --add-modules java.base,jdk.unsupported,java.management,java.logging,jdk.zipfs --strip-debug \
  --no-header-files --no-man-pages --compress=zip-9 --output "$pack/jre" >/dev/null
command -v strip >/dev/null && strip --strip-unneeded "$pack/jre/lib/server/libjvm.so" 2>/dev/null || true
for j in java/target/trady4j-*.jar; do   # the library's jar only: not its -sources / -javadoc jars
  case "$j" in *-sources.jar|*-javadoc.jar) ;; *) cp "$j" "$pack/lib/" ;; esac
done
# The bench classes without their shaded dependencies (lib/ has them; KernelSweep and StepTimes need no JMH).
cp bench/target/trady4j-bench-*.jar "$pack/lib/"
JAVA_HOME=$jdk "$root/scripts/mvn25" -q -pl java dependency:copy-dependencies -DincludeScope=test \
  -DoutputDirectory="$pack/lib"
"$jdk/bin/jar" --create --file "$pack/tests.jar" -C java/target/test-classes .
cp native/build/libtrady4j_cuda.so native/build/trady4j_abi_smoke "$pack/native/"
for h in "${harnesses[@]}"; do cp "kernels/dev/$h" "$pack/dev/dev_$h"; done
{
  echo "commit $(git rev-parse HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nvcc $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  echo "java $("$pack/jre/bin/java" -version 2>&1 | head -n 1)"
  echo "glibc $(ldd --version | head -n 1)"
  (cd "$pack" && find native dev lib -type f -printf '%s %p\n' | sort -k2)
} > "$pack/MANIFEST"

rm -rf .devpack
mkdir -p .devpack
tar czf .devpack/pack.tgz -C "$stage" devpack
pack_mib=$(du -sm .devpack | cut -f1)
tree_bytes=$(git ls-files -co --exclude-standard -z | du --files0-from=- -cb 2>/dev/null | tail -n 1 | cut -f1)
tree_mib=$(( (tree_bytes + (1 << 20) - 1) >> 20 ))
echo "prepare: .devpack/pack.tgz $pack_mib MiB, tree $tree_mib MiB, together $((pack_mib + tree_mib)) MiB" \
  "(at most $limit_mib); $((SECONDS - t0)) s"
if [ $((pack_mib + tree_mib)) -gt $limit_mib ]; then
  echo "prepare.sh: tree + .devpack is over $limit_mib MiB: the device call would not carry it" >&2
  exit 1
fi
echo "prepare: now one device call carrying [\".devpack\"]: bench/gpu/prove.sh (bench/gpu/README.md)"
