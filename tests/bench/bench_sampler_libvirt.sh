#!/bin/bash
# bench_sampler_libvirt.sh BUILD_DIR [N_DOMAINS] [TICKS] [ROUNDS]: proxsampler --libvirt on N
# (default 8) KVM spinner domains under a real, hand-started libvirtd, and what libvirtd and QEMU
# spend serving it. Prints, per round (default 3) and as min / median / max over the rounds:
#   - proxsampler --libvirt (all collectors, journal on, -f 0.1): whole-process CPU per tick and
#     per VM per tick over a window of at least TICKS ticks (default 300), taken from the sum of
#     schedstat field 1 (ns on CPU) of all its threads around the window, which starts after 15
#     warm-up ticks (start-up and the first domain lookups are not in it); the ticks in the
#     window are counted from the journal's tick times (a libvirt call slower than the interval
#     makes ticks late, so the window is sized from a 30-tick pilot run), plus RSS at the
#     window's start and end and VmHWM;
#     and the same with no domain (the host part: marginal per VM = (CPU - that) / N);
#   - libvirtd (all its threads) and the QEMU processes' non-vCPU threads: schedstat field 1
#     summed before/after that window, minus the same over an equally long idle window without
#     the sampler just before it; per tick and per VM per tick;
# then once: syscalls per tick (strace -f -c at TICKS/3 and TICKS ticks, marginal), and the
# libvirt RPCs the sampler sends and the QMP commands libvirtd sends QEMU per tick (a 21-tick run
# with libvirt's debug logs on, not timed), and what each stats group costs libvirtd and QEMU
# per VM per call (virsh domstats over one connection at 10 calls/s; BENCH_LV_GROUPS=0 skips it).
# BENCH_LV_ARGS: extra proxsampler options for every run, e.g. "--daemon-interval 0" (QEMU asked
# on every tick; the default, 10 s, is every 100th tick at -f 0.1) or "--libvirt-stats all".
#
# Fixture (lab.sh lab_libvirt_create KIND spin-net): the domains are shaped like baseline-perf.md's
# "lv" guests (type kvm, 1 vCPU, 16 MiB, the 1 MiB spinner disk on virtio, an <interface
# type='ethernet'> tap that libvirt makes, a virtio memballoon without a guest driver). The whole run is in a mount and network namespace
# of its own: a private tmpfs on /run keeps this libvirtd (its pidfile, sockets and
# /run/libvirt/qemu) apart from any other libvirtd on the host (e.g. a lab test's), and the taps
# exist only in the new network namespace, which has nothing but an unused loopback. Everything
# is started through tests/lab/lab.sh and torn down by PID (and start time) on every exit path;
# the namespaces go away with the last process in them. Needs root; exits 77 (skip) when QEMU or
# libvirtd cannot run here.
# SPDX-License-Identifier: MIT
set -euo pipefail
B=$(realpath "${1:?usage: bench_sampler_libvirt.sh BUILD_DIR [N] [TICKS] [ROUNDS]}")
N=${2:-8}
T=${3:-300}
R=${4:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lab/lab.sh
. "$HERE/../lab/lab.sh"
PXS=$B/sampler/proxsampler
[[ -x $PXS ]] || lab_die "no $PXS (build first)"
read -r -a XARGS <<<"${BENCH_LV_ARGS:-}"

if [[ -z ${BENCH_LV_NS:-} ]]; then
    [[ $(id -u) == 0 ]] || lab_skip "needs root (libvirtd, namespaces)"
    lab_install qemu nasm tools libvirt || lab_skip "cannot install qemu/libvirt packages"
    reason=$(lab_qemu_usable) || lab_skip "$reason"
    [[ -x /usr/sbin/libvirtd ]] || lab_skip "no /usr/sbin/libvirtd"
    exec env BENCH_LV_NS=1 unshare --mount --net --propagation private -- bash "$0" "$@"
fi

# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$HERE/bench_lib.sh"

PXJ=$B/formats/proxjournal
# tick_times PXJ: the journal's tick times (epoch ns), one per line, from the host rows.
tick_times() {
    "$PXJ" dump --scope host --fields host.cpu.ctxt --epoch "$1" | awk -F, 'NR > 1 { print $1 }'
}
# In the new namespaces: a private /run (libvirtd's pidfile, sockets, status XML) and loopback.
mount -t tmpfs -o mode=0755 tmpfs /run
ip link set lo up
lab_init
lab_libvirtd_start
lvpid=$(</run/libvirtd.pid)
# No domain yet: the sampler's host part, journal and one empty GetAllDomainStats call per tick.
"$PXS" --libvirt "${XARGS[@]}" -f 0.1 --journal "$LAB_RUN/empty.pxj" --sync never \
    2>"$LAB_RUN/empty.err" &
spid=$!
sstart=$(lab_starttime "$spid")
lab_own proc "$spid" "$sstart" proxsampler
sleep 1.5
w0=$(date +%s%N)
s0=$(ns_sum "$spid")
sleep "$(awk -v t="$T" 'BEGIN { printf "%.1f", t * 0.1 }')"
s1=$(ns_sum "$spid")
w1=$(date +%s%N)
kill -TERM "$spid"
wait "$spid" || lab_die "proxsampler failed: $(cat "$LAB_RUN/empty.err")"
empty_ticks=$(tick_times "$LAB_RUN/empty.pxj" | awk -v a="$w0" -v b="$w1" '$1 >= a && $1 < b' |
    wc -l)
empty_us=$(awk -v s="$((s1 - s0))" -v t="$empty_ticks" 'BEGIN {
    printf "%.1f", t ? s / 1e3 / t : 0 }')
t0=$(lab_now_ms)
for ((i = 1; i <= N; i++)); do
    lab_libvirt_create "pxb-lv$i" spin-net >/dev/null
done
qpids=()
for ((i = 1; i <= N; i++)); do
    qpids+=("$(</run/libvirt/qemu/pxb-lv$i.pid)")
done
lab_log "$N domains up in $(($(lab_now_ms) - t0)) ms"

sleep 15 # let SeaBIOS finish: the boot work of QEMU's main thread is not the sampler's
vcpu_accel=none
for t in /proc/"${qpids[0]}"/task/*; do
    c=$(<"$t/comm") 2>/dev/null || continue
    [[ $c != "CPU 0/"* ]] || vcpu_accel=$c
done
# A 30-tick pilot: how far apart ticks really are here (the window must hold >= TICKS ticks).
"$PXS" --libvirt "${XARGS[@]}" -f 0.1 -r 30 --journal "$LAB_RUN/pilot.pxj" --sync never
spacing_ms=$(tick_times "$LAB_RUN/pilot.pxj" | awk 'NR > 1 { s += $1 - p; k++ } { p = $1 }
    END { printf "%.1f", k ? s / k / 1e6 : 100 }')
echo "== proxsampler --libvirt ${BENCH_LV_ARGS:-(defaults)}"
echo "== fixture: $N spinner domains under libvirtd $(libvirtd --version | awk '{ print $NF }')" \
    "(pid $lvpid; vCPU threads '$vcpu_accel'), $(host_procs) processes," \
    "$(host_threads) threads on the host, $T ticks at 100 ms," \
    "$R rounds"
dur_s=$(awk -v t="$T" -v sp="$spacing_ms" 'BEGIN {
    d = t * (sp > 100 ? sp : 100) / 1000 * 1.15; if (d < t * 0.1 + 1) d = t * 0.1 + 1
    printf "%.1f", d }')
echo "  no domain (libvirtd up, before the domains were created): proxsampler --libvirt" \
    "$empty_us us per tick over $empty_ticks ticks (host collectors, journal, an empty call)"
echo "  pilot: ticks $spacing_ms ms apart on average at -f 0.1 (one GetAllDomainStats call each):" \
    "window $dur_s s"
res=()
for ((r = 1; r <= R; r++)); do
    l0=$(ns_sum "$lvpid")
    q0=$(nonvcpu_ns "${qpids[@]}")
    sleep "$dur_s"
    l1=$(ns_sum "$lvpid")
    q1=$(nonvcpu_ns "${qpids[@]}")
    "$PXS" --libvirt "${XARGS[@]}" -f 0.1 --journal "$LAB_RUN/lv$r.pxj" --sync never \
        2>"$LAB_RUN/pxs$r.err" &
    spid=$!
    sstart=$(lab_starttime "$spid")
    lab_own proc "$spid" "$sstart" proxsampler
    sleep "$(awk -v sp="$spacing_ms" 'BEGIN { printf "%.1f", 15 * (sp > 100 ? sp : 100) / 1000 }')"
    w0=$(date +%s%N)
    s2=$(ns_sum "$spid")
    l2=$(ns_sum "$lvpid")
    q2=$(nonvcpu_ns "${qpids[@]}")
    rss0=$(status_kb "$spid" VmRSS)
    sleep "$dur_s"
    s3=$(ns_sum "$spid")
    w1=$(date +%s%N)
    l3=$(ns_sum "$lvpid")
    q3=$(nonvcpu_ns "${qpids[@]}")
    rss1=$(status_kb "$spid" VmRSS)
    hwm=$(status_kb "$spid" VmHWM)
    nthr=$(find /proc/"$spid"/task -mindepth 1 -maxdepth 1 | wc -l)
    kill -TERM "$spid" # ours (started above); it closes its journal and exits
    wait "$spid" || lab_die "proxsampler failed: $(cat "$LAB_RUN/pxs$r.err")"
    [[ ! -s $LAB_RUN/pxs$r.err ]] || lab_log "proxsampler said: $(cat "$LAB_RUN/pxs$r.err")"
    # ticks that started inside the window, and how far apart they were
    read -r ticks gap gapmax < <(tick_times "$LAB_RUN/lv$r.pxj" | awk -v a="$w0" -v b="$w1" '
        $1 >= a && $1 < b { k++; if (k > 1) { g = ($1 - p) / 1e6; s += g; if (g > m) m = g }
                            p = $1 }
        END { printf "%d %.1f %.1f\n", k, (k > 1 ? s / (k - 1) : 0), m }')
    ((ticks > 0)) || lab_die "no ticks of proxsampler inside the window"
    line=$(awk -v n="$N" -v t="$ticks" -v s="$((s3 - s2))" -v li="$((l1 - l0))" \
        -v lr="$((l3 - l2))" -v qi="$((q1 - q0))" -v qr="$((q3 - q2))" 'BEGIN {
        sp = s / 1e3 / t; ld = (lr - li) / 1e3 / t; qd = (qr - qi) / 1e3 / t
        printf "%.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f", sp, sp / n,
               lr / 1e3 / t, li / 1e3 / t, ld, ld / n, qr / 1e3 / t, qi / 1e3 / t, qd, qd / n,
               (ld + qd) / n }')
    res+=("$line")
    read -r sp spv lr li ld ldv qr qi qd qdv dv <<<"$line"
    echo "round $r: $ticks ticks in the window, $gap ms apart on average (longest gap $gapmax ms)"
    echo "  proxsampler --libvirt  CPU per tick $sp us, per VM per tick $spv us ($nthr thread(s))"
    echo "  proxsampler RSS        $rss0 kB at the window's start, $rss1 kB at its end," \
        "VmHWM $hwm kB"
    echo "  libvirtd               $lr us/tick during the run, $li us/tick idle, difference" \
        "$ld us/tick ($ldv us per VM per tick)"
    echo "  QEMU non-vCPU threads  $qr us/tick during the run, $qi us/tick idle, difference" \
        "$qd us/tick ($qdv us per VM per tick)"
    echo "  daemons together       $dv us per VM per tick"
done
if ((R > 1)); then
    echo "== over $R rounds: min / median / max"
    col() { # col K LABEL: column K of the round results
        printf '%s\n' "${res[@]}" | awk -v k="$1" '{ print $k }' | sort -g |
            awk -v l="$2" '{ v[NR] = $1 } END {
                printf "  %-42s %s / %s / %s\n", l, v[1], v[int((NR + 1) / 2)], v[NR] }'
    }
    col 1 "proxsampler CPU per tick (us)"
    col 2 "proxsampler CPU per VM per tick (us)"
    printf '%s\n' "${res[@]}" | awk -v e="$empty_us" -v n="$N" '{ print ($1 - e) / n }' | sort -g |
        awk '{ v[NR] = $1 } END { printf "  %-42s %.1f / %.1f / %.1f\n",
            "proxsampler marginal per VM per tick (us)", v[1], v[int((NR + 1) / 2)], v[NR] }'
    col 5 "libvirtd, above idle, per tick (us)"
    col 6 "libvirtd, above idle, per VM per tick (us)"
    col 9 "QEMU non-vCPU, above idle, per tick (us)"
    col 10 "QEMU non-vCPU, above idle, per VM per tick (us)"
    col 11 "daemons together, per VM per tick (us)"
fi

if command -v strace >/dev/null; then
    t1=$((T / 3))
    strace -f -c -o "$LAB_RUN/s1" "$PXS" --libvirt "${XARGS[@]}" -f 0.05 -r "$t1" \
        --journal "$LAB_RUN/st1.pxj" --sync never
    strace -f -c -o "$LAB_RUN/s2" "$PXS" --libvirt "${XARGS[@]}" -f 0.05 -r "$T" \
        --journal "$LAB_RUN/st2.pxj" --sync never
    c1=$(awk '/total/ { print $4 }' "$LAB_RUN/s1")
    c2=$(awk '/total/ { print $4 }' "$LAB_RUN/s2")
    echo "  syscalls per tick (marginal, strace -c, $t1 -> $T ticks at 50 ms): $(awk \
        -v a="$c1" -v b="$c2" -v x="$t1" -v y="$T" -v n="$N" \
        'BEGIN { printf "%.1f (%.1f per VM)", (b - a) / (y - x), (b - a) / (y - x) / n }')"
    echo "  top syscalls ($T ticks):"
    sed -n '3,10p' "$LAB_RUN/s2" | awk '{ printf "    %s\n", $0 }'
fi

# What crosses the daemons per tick: the sampler's libvirt RPCs (client-side debug log) and the
# QMP commands libvirtd sends each QEMU (libvirtd's monitor debug log, restored afterwards).
if command -v virt-admin >/dev/null; then
    virt-admin -q daemon-log-filters "1:qemu.qemu_monitor"
    virt-admin -q daemon-log-outputs "1:file:$LAB_RUN/mon.log"
    LIBVIRT_LOG_FILTERS="1:rpc.netclient" LIBVIRT_LOG_OUTPUTS="1:file:$LAB_RUN/client.log" \
        "$PXS" --libvirt "${XARGS[@]}" -f 0.1 -r 21 -p none >/dev/null
    virt-admin -q daemon-log-filters ""
    virt-admin -q daemon-log-outputs "2:file:$LAB_RUN/libvirtd.log"
    # proc 344 = REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS; 66, 1, 60, 2: auth list, open,
    # supports-feature, close (once per connection)
    grep -o 'RPC_CLIENT_MSG_TX_QUEUE:.*proc=[0-9]*' "$LAB_RUN/client.log" |
        grep -o 'proc=[0-9]*' | sort | uniq -c >"$LAB_RUN/rpc.count"
    calls=$(awk '$2 == "proc=344" { print $1 }' "$LAB_RUN/rpc.count")
    echo "  libvirt RPCs sent by proxsampler in a 21-tick run (count procedure):" \
        "$(awk '{ printf "%s %s, ", $1, $2 }' "$LAB_RUN/rpc.count")" \
        "i.e. ${calls:-0} virConnectGetAllDomainStats calls"
    echo "  QMP commands libvirtd sent per VM per virConnectGetAllDomainStats call:" \
        "$(grep 'QEMU_MONITOR_SEND_MSG' "$LAB_RUN/mon.log" | grep -o '"execute":"[^"]*"' |
            sort | uniq -c | awk -v c="${calls:-1}" -v n="$N" '{
                gsub(/"execute":|"/, "", $2); printf "%s %.2f, ", $2, $1 / c / n }')"
fi

# Where the daemons' cost comes from: 100 virConnectGetAllDomainStats calls per stats group
# (virsh domstats --nowait over one connection, one call per 100 ms, as the sampler paces them),
# libvirtd and QEMU non-vCPU CPU per VM per call. The state group needs no QMP: it is the floor
# of an RPC round trip. BENCH_LV_GROUPS=0 skips this part.
if [[ ${BENCH_LV_GROUPS:-1} != 0 ]]; then
    echo "  cost by stats group (100 calls each, us per VM per call): libvirtd / QEMU non-vCPU"
    for g in "--state" "--cpu-total" "--balloon" "--vcpu" "--interface" "--block" \
        "--state --cpu-total --balloon --vcpu --interface --block"; do
        l0=$(ns_sum "$lvpid")
        q0=$(nonvcpu_ns "${qpids[@]}")
        for ((k = 0; k < 100; k++)); do
            echo "domstats --raw --nowait $g"
            sleep 0.1
        done | virsh -q -c qemu:///system >/dev/null
        l1=$(ns_sum "$lvpid")
        q1=$(nonvcpu_ns "${qpids[@]}")
        awk -v g="$g" -v n="$N" -v l="$((l1 - l0))" -v q="$((q1 - q0))" 'BEGIN {
            printf "    %-58s %8.1f / %8.1f\n", g, l / 1e3 / 100 / n, q / 1e3 / 100 / n }'
    done
fi
