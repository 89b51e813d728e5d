#!/usr/bin/env bash
# Run HERE (the development machine, which has JDK 25 and Maven) before a GPU run. Writes
#   .devpack/pack.tgz   devpack/jre (a jlinked JDK 25 runtime) + devpack/lib (the project's jars,
#                       the bench module's classes for io.trady4j.bench.LayerTimes, and every runtime
#                       and test dependency), the layout of shared/tools/devpack.sh
#   .devpack/tests.jar  the compiled tests (the GPU tests run from it through CudaTestMain)
# Then name ".devpack" in the device call's carry list and run bench/gpu/run.sh there. (It does
# what devpack.sh does, and also works from a git worktree, where .git is a file.)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
jdk=$("$root/scripts/find-jdk25")
echo "prepare: packaging with $jdk (tests compiled, not run)"
JAVA_HOME=$jdk "$root/scripts/mvn25" -q -o -DskipTests package
stage=$(mktemp -d)/devpack
mkdir -p "$stage/lib"
"$jdk/bin/jlink" --add-modules java.base,jdk.unsupported,java.management,java.logging,jdk.zipfs --strip-debug \
  --no-header-files --no-man-pages --compress=zip-9 --output "$stage/jre" >/dev/null
command -v strip >/dev/null && strip --strip-unneeded "$stage/jre/lib/server/libjvm.so" 2>/dev/null || true
cp java/target/trady4j-*.jar "$stage/lib/"
# The bench classes without their shaded dependencies (lib/ has them; LayerTimes needs no JMH).
cp bench/target/trady4j-bench-*.jar "$stage/lib/"
JAVA_HOME=$jdk "$root/scripts/mvn25" -q -o -pl java dependency:copy-dependencies -DincludeScope=test \
  -DoutputDirectory="$stage/lib"
rm -rf .devpack
mkdir -p .devpack
tar czf .devpack/pack.tgz -C "$(dirname "$stage")" devpack
rm -rf "$(dirname "$stage")"
"$jdk/bin/jar" --create --file .devpack/tests.jar -C java/target/test-classes .
echo "prepare: .devpack holds $(ls .devpack | tr '\n' ' ')($(du -sm .devpack | cut -f1) MiB; a device call carries at most 64 MiB with the tree)"
