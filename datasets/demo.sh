#!/bin/bash
# demo.sh BUILD_DIR: the README's main job, on an embedded default that needs no hypervisor.
#
# Until the recorded lab journals and the profiler CLI land, it writes a synthetic one-hour
# 10-VM journal with the build's bench_journal and shows what proxjournal reads from it: the
# header and entities, an integrity check, and per-second rates of one VM.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
pj="$build/formats/proxjournal"
[[ -x $pj ]] || { echo "demo: $pj not found; build first (see README)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
j="$tmp/demo.pxj"
"$build/tests/bench/bench_journal" --vms 10 --ticks 3600 --out "$j" >/dev/null
echo "== proxjournal info (first lines)"
"$pj" info "$j" >"$tmp/info.txt"
head -12 "$tmp/info.txt"
echo
echo "== proxjournal verify"
"$pj" verify "$j"
echo
echo "== proxjournal dump --rate: vm100's CPU and memory, first 5 seconds"
"$pj" dump --rate --vm vm100 --scope vm --fields 'vm.cpu.vcpu_run,vm.cpu.vcpu_wait,vm.mem.rss' \
    --end "@$(( $("$pj" dump --epoch --scope vm --fields vm.mem.rss "$j" | sed -n 2p | cut -d, -f1) / 1000000000 + 5 ))" \
    "$j" | cut -d, -f1,3,5,8-
: "$root"
