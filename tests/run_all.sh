#!/bin/bash
# run_all.sh: the whole test suite, as CI runs it.
#   1. installs build dependencies (Debian 12, root)
#   2. builds and runs every test (unit + lab on real QEMU/libvirtd) with gcc
#   3. builds and runs every test again under AddressSanitizer + UndefinedBehaviorSanitizer (clang)
#   4. builds the libFuzzer targets and runs each briefly on a copy of its corpus
# Fails on the first failure. Build trees go to $BUILD_ROOT (default: ./out).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${BUILD_ROOT:-$root/out}
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-45}

bash .ci/install-deps.sh

step() { printf '\n==== %s\n' "$*"; }

step "build (gcc, RelWithDebInfo)"
cmake -S . -B "$out/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out/release" -j "$jobs"

step "tests (gcc)"
(cd "$out/release" && ctest --output-on-failure -j "$jobs" -L unit)
(cd "$out/release" && ctest --output-on-failure -L lab)

step "build (clang, ASan + UBSan)"
CC=clang cmake -S . -B "$out/asan" -DCMAKE_BUILD_TYPE=Debug -DENABLE_SANITIZERS=ON \
    -DBUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$out/asan" -j "$jobs"

step "tests (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$out/asan" && ctest --output-on-failure -j "$jobs" -L unit)
(cd "$out/asan" && ctest --output-on-failure -L lab)
unset ASAN_OPTIONS UBSAN_OPTIONS

if [[ -f tests/fuzz/run_fuzzers.sh ]]; then
    step "fuzz (${fuzz_seconds} s per target)"
    bash tests/fuzz/run_fuzzers.sh "$out/fuzz" "$fuzz_seconds"
fi

step "smoke: the README's main job"
bash datasets/demo.sh "$out/release" >/dev/null

printf '\nall test stages passed\n'
