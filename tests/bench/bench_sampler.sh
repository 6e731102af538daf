#!/bin/bash
# bench_sampler.sh BUILD_DIR [N_GUESTS] [TICKS]: the sampler's cost on N real spinner guests (default
# 8) in a Proxmox-style layout, like baseline-perf.md's fixture. Prints:
#   - bench_sampler: whole-process CPU per tick and per VM per tick, all collectors, journal on,
#     over TICKS ticks (default 300) at 100 ms, plus RSS before/after (flat = no growth);
#   - syscalls per tick: strace -c -f of bench_sampler at TICKS and TICKS/3 ticks, marginal;
#   - QEMU's non-vCPU threads' CPU during the measured run (sum of schedstat field 1 before/after)
#     minus the same over an idle window of equal length without the sampler;
#   - flat in the host's thread count: bench_sampler's CPU per VM per tick with the Proxmox
#     source and with the procfs source (which lists /proc every 20 ticks to find new QEMU
#     processes), each without and with BENCH_THREADS (default 2000; 0 skips this part) extra
#     sleeping threads on the host, held by tests/bench/idle_threads in 1 process and in 200
#     processes older than 10 s, plus one procfs row while the 200 are younger than 10 s (they
#     are probed again on every discovery then), and the procfs source's marginal syscalls per
#     tick without and with the 200. The host's thread count is read just before each run.
# Guests are started and torn down by tests/lab/run.sh (by PID, on every exit path); the
# idle_threads helper is recorded in $LAB_RUN/owned too and stopped by its PID after its runs.
# The libvirt variant (libvirtd and QEMU serving --libvirt): bench_sampler_libvirt.sh.
# SPDX-License-Identifier: MIT
set -euo pipefail
B=$(realpath "${1:?usage: bench_sampler.sh BUILD_DIR [N] [TICKS]}")
N=${2:-8}
T=${3:-300}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -z ${LAB_RUN:-} ]]; then
    args=()
    args=(--cgroup) # each VM in a cgroup of its own, as Proxmox does: the cgroup collectors run
    for ((i = 0; i < N; i++)); do args+=(--pve "$((301 + i)):spin"); done
    exec "$HERE/../lab/run.sh" "${args[@]}" -- "$0" "$@"
fi
root=$LAB_RUN/pve
# shellcheck source-path=SCRIPTDIR source=../lab/lab.sh
. "$HERE/../lab/lab.sh" # lab_own / lab_kill_pid: run.sh's teardown also covers idle_threads
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$HERE/bench_lib.sh"
mapfile -t pids < <(cat "$root"/var/run/qemu-server/*.pid)
sleep 15 # let SeaBIOS finish: the boot work of QEMU's main thread is not the sampler's
echo "== fixture: $N spinner guests (Proxmox layout, KVM), $(host_procs) processes," \
    "$(host_threads) threads on the host"
dur_s=$(awk -v t="$T" 'BEGIN { printf "%.1f", (t + 5) * 0.1 }')
# The host part alone: the same Proxmox source over a layout with no VM.
mkdir -p "$LAB_RUN/pve-empty/etc/pve/qemu-server" "$LAB_RUN/pve-empty/var/run/qemu-server"
host_us=$("$B/tests/bench/bench_sampler" --proxmox "$LAB_RUN/pve-empty" -n "$T" -i 100 |
    awk '/CPU per tick/ { print $4 }')
echo "  no VM (host collectors + journal): $host_us us per tick"
q0=$(nonvcpu_ns "${pids[@]}")
sleep "$dur_s"
q1=$(nonvcpu_ns "${pids[@]}")
out=$("$B/tests/bench/bench_sampler" --proxmox "$root" -n "$T" -i 100)
q2=$(nonvcpu_ns "${pids[@]}")
echo "$out"
awk -v h="$host_us" -v n="$N" '/CPU per tick/ {
    printf "  marginal CPU per VM per tick: %.1f us ((%s - %s) / %d)\n", ($4 - h) / n, $4, h, n }' \
    <<<"$out"
awk -v a="$q0" -v b="$q1" -v c="$q2" -v t="$T" 'BEGIN {
    printf "  QEMU non-vCPU threads: %.1f us/tick during the run, %.1f us/tick idle baseline, " \
           "difference %.1f us/tick (the sampler sends QEMU nothing: no QMP)\n",
           (c - b) / 1e3 / t, (b - a) / 1e3 / t, ((c - b) - (b - a)) / 1e3 / t }'
# The same with QMP (query-blockstats, query-balloon, balloon guest-stats: one short session per VM
# per tick): what it costs the sampler and QEMU's main loop.
# The floor under the per-VM figure: what the kernel charges for one read of each file the
# sampler reads per VM per tick (pread_cost, caches hot), for the first guest: /proc/PID stat,
# statm, io, status (every 5th tick), every thread's schedstat, and its cgroup's files.
if [[ -x $B/tests/bench/pread_cost ]]; then
    envs=("$LAB_RUN"/vms/*.env)
    env1=${envs[0]}
    pid1=$(sed -n 's/^PID=//p' "$env1")
    cg1=$(sed -n 's/^CGROUP=//p' "$env1")
    files=(/proc/"$pid1"/{stat,statm,io,status} /proc/"$pid1"/task/*/schedstat)
    for f in cpu.stat memory.current memory.stat memory.events memory.swap.current \
        cpu.pressure io.pressure memory.pressure; do
        [[ -z $cg1 || ! -r $cg1/$f ]] || files+=("$cg1/$f")
    done
    "$B/tests/bench/pread_cost" "${files[@]}" >"$LAB_RUN/pread_cost" || true
    sed 's/^/    /' "$LAB_RUN/pread_cost"
    awk '{ w = $NF ~ /\/status$/ ? 0.2 : 1; s += w * $1 }
        END { printf "  kernel floor per VM per tick (the reads above, hot caches, status 1 in 5):" \
              " %.1f us\n", s }' "$LAB_RUN/pread_cost"
fi
# Then as proxsampler does by default (--daemon-interval 10 s at 1 s ticks): every 10th tick per
# VM, the VMs' sessions spread over the ticks.
for every in 1 10; do
    q3=$(nonvcpu_ns "${pids[@]}")
    "$B/tests/bench/bench_sampler" --proxmox "$root" -n "$T" -i 100 --qmp --daemon-every "$every"
    q4=$(nonvcpu_ns "${pids[@]}")
    awk -v a="$q0" -v b="$q1" -v c="$q3" -v d="$q4" -v t="$T" -v n="$N" -v e="$every" 'BEGIN {
        printf "  QEMU non-vCPU threads with QMP every %s tick(s): %.1f us/tick above the idle " \
               "baseline (%.1f us per VM)\n", e, ((d - c) - (b - a)) / 1e3 / t,
               ((d - c) - (b - a)) / 1e3 / t / n }'
done
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

# Flat in the host's thread count: the same bench with 0 or BENCH_THREADS extra idle threads.
# The procfs source probes a non-QEMU process again on every discovery while it is younger than
# 10 s (it may still exec QEMU), so the steady-state rows wait until the helper's processes are
# older than that; one extra row measures that first window on purpose (90 ticks).
nthreads=${BENCH_THREADS:-2000}
helper=$B/tests/bench/idle_threads
hpid='' hstart=''
helper_start() { # helper_start PROCS AGE_S: start idle_threads, wait until ready and AGE_S old
    rm -f "$LAB_RUN/idle_threads.out"
    "$helper" -p "$1" "$nthreads" >"$LAB_RUN/idle_threads.out" &
    hpid=$!
    hstart=$(lab_starttime "$hpid")
    lab_own proc "$hpid" "$hstart" idle_threads
    local k=0
    until grep -q ready "$LAB_RUN/idle_threads.out" 2>/dev/null; do
        lab_alive "$hpid" || lab_die "idle_threads exited before it was ready"
        ((++k < 300)) || lab_die "idle_threads not ready after 30 s"
        sleep 0.1
    done
    sleep "$2"
}
helper_stop() {
    [[ -z $hpid ]] || lab_kill_pid "$hpid" "$hstart"
    hpid='' hstart=''
}
if ((nthreads > 0)) && [[ -x $helper ]]; then
    echo "== flat in the host's thread count: bench_sampler, extra threads from idle_threads" \
        "(sleeping in pause()), started 11 s before the run unless marked young"
    printf '  %-8s %-30s %6s %7s %6s %5s %12s %14s\n' source "extra threads" ticks threads \
        procs VMs "CPU/tick us" "CPU/VM/tick us"
    row() { # row SOURCE WHAT TICKS: one bench_sampler run, one table row
        local out ht hp
        ht=$(host_threads)
        hp=$(host_procs)
        if [[ $1 == proxmox ]]; then
            out=$("$B/tests/bench/bench_sampler" --proxmox "$root" -n "$3" -i 100)
        else
            out=$("$B/tests/bench/bench_sampler" -n "$3" -i 100)
        fi
        awk -v s="$1" -v w="$2" -v t="$3" -v ht="$ht" -v hp="$hp" '
            /VMs on average/ { for (i = 1; i <= NF; i++) if ($i == "VMs") v = $(i - 1) }
            /CPU per tick/ { c = $4 }
            /CPU per VM per tick/ { cv = $6 }
            END { printf "  %-8s %-30s %6s %7s %6s %5s %12s %14s\n", s, w, t, ht, hp, v, c, cv }' \
            <<<"$out"
    }
    for src in proxmox procfs; do
        row "$src" none "$T"
        helper_start 1 11
        row "$src" "$nthreads in 1 process" "$T"
        helper_stop
        helper_start 200 11
        row "$src" "$nthreads in 200 processes" "$T"
        helper_stop
    done
    helper_start 200 0
    row procfs "$nthreads in 200 processes, young" 90
    helper_stop
    # What the procfs source does more with 200 more (old) processes: marginal syscalls per tick.
    if command -v strace >/dev/null; then
        t1=$((T / 3))
        for procs in 0 200; do
            ((procs == 0)) || helper_start "$procs" 11
            strace -f -c -o "$LAB_RUN/f1" "$B/tests/bench/bench_sampler" -n "$t1" -i 10 >/dev/null
            strace -f -c -o "$LAB_RUN/f2" "$B/tests/bench/bench_sampler" -n "$T" -i 10 >/dev/null
            helper_stop
            awk -v x="$t1" -v y="$T" -v w="$procs" '
                FNR == 1 { f++ }
                $NF == "total" { tot[f] = $4 }
                $NF == "getdents64" { gd[f] = $4 }
                END { printf "  procfs, %s extra processes: %.1f syscalls per tick (marginal, " \
                             "%d -> %d ticks), getdents64 %.2f per tick\n", w,
                             (tot[2] - tot[1]) / (y - x), x, y, (gd[2] - gd[1]) / (y - x) }' \
                "$LAB_RUN/f1" "$LAB_RUN/f2"
        done
    fi
fi
