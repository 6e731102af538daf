#!/bin/bash
# demo.sh BUILD_DIR: the README's main job, on an embedded default that needs no hypervisor.
#
# Profiles the journal that proxsampler recorded from four lab guests whose load changes over
# time (datasets/journals/lab-pve-phases.pxj, see datasets/README.md) and prints a readable
# summary per VM: the states of CPU, disk writes and network, how long each lasts, and how the
# VM moves between them. Before it, the journal's header and an integrity check.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
journal="$root/datasets/journals/lab-pve-phases.pxj"
for p in formats/proxjournal profiler/proxprofiler; do
    [[ -x $build/$p ]] || { echo "demo: $build/$p not found; build first (see README)" >&2; exit 1; }
done
echo "== proxjournal info (header)"
"$build/formats/proxjournal" info "$journal" | sed -n 1,6p
echo
echo "== proxjournal verify"
"$build/formats/proxjournal" verify "$journal"
echo
echo "== proxprofiler summary: per VM, 4 states per metric, order-1 Markov chains"
"$build/profiler/proxprofiler" summary --metrics cpu_pct,disk_wr,net_tx "$journal"
