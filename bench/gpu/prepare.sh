#!/usr/bin/env bash
# Run HERE (the development machine, which has JDK 25 and Maven) before a GPU run: packages the
# jars, a jlinked JDK 25 runtime and every dependency into .devpack/pack.tgz (../shared/tools/
# devpack.sh), and the compiled tests into .devpack/tests.jar. Then, in the device call, carry
# [".devpack"] and run bench/gpu/run.sh (which builds the native library there with CMake).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
jdk=$("$root/scripts/find-jdk25")
devpack=${DEVPACK:-"$root/../shared/tools/devpack.sh"}
[ -x "$devpack" ] || devpack=/work/shared/tools/devpack.sh
echo "prepare: packaging (tests compiled, not run)"
JAVA_HOME=$jdk "$root/scripts/mvn25" -q -o -DskipTests package
"$devpack"
"$jdk/bin/jar" --create --file .devpack/tests.jar -C java/target/test-classes .
echo "prepare: .devpack holds $(ls .devpack | tr '\n' ' ')($(du -sm .devpack | cut -f1) MiB; the device call carries at most 64 MiB with the tree)"
