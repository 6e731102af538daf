#!/bin/sh
# run_fuzzers.sh: builds every libFuzzer target with clang and runs each for a while.
#
#   tests/fuzz/run_fuzzers.sh BUILD_DIR [SECONDS]     (SECONDS per target, default 60)
#
# Each target runs on a fresh copy of its corpus (tests/fuzz/corpus/<name>/), so the committed
# corpus is never modified; new inputs and crash reproducers stay in BUILD_DIR/fuzz-run/<target>/.
# Exits non-zero when the build fails or any target finds a crash, leak, timeout or UB.
# The mutation sequence is seeded (FUZZ_SEED, default 1) so that CI replays the same inputs run
# after run; FUZZ_SEED=0 picks a random seed for exploratory runs.
# SPDX-License-Identifier: MIT
set -eu

usage() {
    echo "usage: $0 BUILD_DIR [SECONDS]" >&2
    exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
build=$1
secs=${2:-60}
case $secs in '' | *[!0-9]*) usage ;; esac

src=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$src/tests/fuzz

# target:corpus directory name (every libFuzzer target of tests/fuzz/CMakeLists.txt)
targets="fuzz_proc_parse:proc fuzz_pve_conf:pve_conf fuzz_journal_reader:journal"
bins=
for entry in $targets; do
    bins="$bins ${entry%%:*}"
done

cmake -S "$src" -B "$build" -DENABLE_FUZZ=ON -DCMAKE_C_COMPILER=clang -DBUILD_TESTING=ON >/dev/null
# shellcheck disable=SC2086 # one word per target
cmake --build "$build" -j"$(nproc)" --target $bins

failed=0
for entry in $targets; do
    target=${entry%%:*}
    corpus=${entry#*:}
    bin=$build/tests/fuzz/$target
    work=$build/fuzz-run/$target
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp "$fuzzdir/corpus/$corpus"/* "$work/corpus/" 2>/dev/null || true
    echo "== $target: $secs s on a copy of corpus/$corpus ($(ls "$work/corpus" | wc -l) seeds)"
    if ! (cd "$work" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$bin" -max_total_time="$secs" -seed="${FUZZ_SEED:-1}" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" corpus >"$work/log" 2>&1); then
        echo "!! $target failed; log: $work/log; reproducers:" >&2
        ls "$work/artifacts" >&2
        tail -n 40 "$work/log" >&2
        failed=1
    else
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)|DONE' "$work/log" || true
    fi
done
exit $failed
