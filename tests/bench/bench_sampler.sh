#!/bin/bash
# bench_sampler.sh BUILD_DIR [N_GUESTS] [TICKS]: the sampler's cost on N real spinner guests (default
# 8) in a Proxmox-style layout, like baseline-perf.md's fixture. Prints:
#   - bench_sampler: whole-process CPU per tick and per VM per tick, all collectors, journal on,
#     over TICKS ticks (default 300) at 100 ms, plus RSS before/after (flat = no growth);
#   - syscalls per tick: strace -c -f of bench_sampler at TICKS and TICKS/3 ticks, marginal;
#   - QEMU's non-vCPU threads' CPU during the measured run (sum of schedstat field 1 before/after)
#     minus the same over an idle window of equal length without the sampler.
# Guests are started and torn down by tests/lab/run.sh (by PID, on every exit path).
# SPDX-License-Identifier: MIT
set -euo pipefail
B=$(realpath "${1:?usage: bench_sampler.sh BUILD_DIR [N] [TICKS]}")
N=${2:-8}
T=${3:-300}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -z ${LAB_RUN:-} ]]; then
    args=()
    for ((i = 0; i < N; i++)); do args+=(--pve "$((301 + i)):spin"); done
    exec "$HERE/../lab/run.sh" "${args[@]}" -- "$0" "$@"
fi
root=$LAB_RUN/pve
pids=$(cat "$root"/var/run/qemu-server/*.pid)
# sum of schedstat field 1 (ns on CPU) over QEMU threads that are not vCPU threads
nonvcpu_ns() {
    local p t c s=0 r
    for p in $pids; do
        for t in /proc/"$p"/task/*; do
            c=$(<"$t/comm") 2>/dev/null || continue
            [[ $c == "CPU "*/* ]] && continue
            read -r r _ <"$t/schedstat" 2>/dev/null || continue
            s=$((s + r))
        done
    done
    echo "$s"
}
sleep 15 # let SeaBIOS finish: the boot work of QEMU's main thread is not the sampler's
echo "== fixture: $N spinner guests (Proxmox layout, KVM), $(ls /proc | grep -c '^[0-9]') processes," \
    "$(ls /proc/*/task 2>/dev/null | grep -c '^[0-9]') threads on the host"
dur_s=$(awk -v t="$T" 'BEGIN { printf "%.1f", (t + 5) * 0.1 }')
q0=$(nonvcpu_ns)
sleep "$dur_s"
q1=$(nonvcpu_ns)
"$B/tests/bench/bench_sampler" --proxmox "$root" -n "$T" -i 100
q2=$(nonvcpu_ns)
awk -v a="$q0" -v b="$q1" -v c="$q2" -v t="$T" 'BEGIN {
    printf "  QEMU non-vCPU threads: %.1f us/tick during the run, %.1f us/tick idle baseline, " \
           "difference %.1f us/tick (the sampler sends QEMU nothing: no QMP)\n",
           (c - b) / 1e3 / t, (b - a) / 1e3 / t, ((c - b) - (b - a)) / 1e3 / t }'
# The same with QMP (query-blockstats, query-balloon, balloon guest-stats: one short session per VM
# per tick): what it costs the sampler and QEMU's main loop.
q3=$(nonvcpu_ns)
"$B/tests/bench/bench_sampler" --proxmox "$root" -n "$T" -i 100 --qmp
q4=$(nonvcpu_ns)
awk -v a="$q0" -v b="$q1" -v c="$q3" -v d="$q4" -v t="$T" -v n="$N" 'BEGIN {
    printf "  QEMU non-vCPU threads with QMP: %.1f us/tick above the idle baseline (%.1f us per VM)\n",
           ((d - c) - (b - a)) / 1e3 / t, ((d - c) - (b - a)) / 1e3 / t / n }'
if command -v strace >/dev/null; then
    t1=$((T / 3))
    strace -f -c -o "$LAB_RUN/s1" "$B/tests/bench/bench_sampler" --proxmox "$root" -n "$t1" -i 10 >/dev/null
    strace -f -c -o "$LAB_RUN/s2" "$B/tests/bench/bench_sampler" --proxmox "$root" -n "$T" -i 10 >/dev/null
    c1=$(awk '/total/ { print $4 }' "$LAB_RUN/s1")
    c2=$(awk '/total/ { print $4 }' "$LAB_RUN/s2")
    echo "  syscalls per tick (marginal, strace -c): $(awk -v a="$c1" -v b="$c2" -v x="$t1" -v y="$T" \
        'BEGIN { printf "%.1f (%.1f per VM)", (b - a) / (y - x), (b - a) / (y - x) / '"$N"' }')"
    echo "  top syscalls ($T ticks):"
    sed -n '3,9p' "$LAB_RUN/s2" | awk '{ printf "    %s\n", $0 }'
fi
