#!/bin/bash
# record-dataset.sh OUT.pxj [MINUTES]: record a journal with proxsampler from lab guests whose load
# changes over time, for datasets/ (profiles need phases). Everything started here is torn down by
# PID on exit (lab.sh). Layout: a Proxmox-style root with
#   101 lab-web   Linux/TCG guest, phased workload (cpu 60 s, idle 30 s, disk 60 s, net 60 s,
#                 cpu+net 45 s, idle 30 s, repeated), tap101i0
#   102 lab-db    the same phases shifted by 120 s, tap102i0
#   103 lab-spin  boot-sector spinner (KVM), SIGSTOPped/SIGCONTed from here: 60 s on, 40 s off
#   104 lab-late  spinner started at 1/3 of the run and stopped at 2/3 (VM appears/disappears)
# proxsampler runs with --proxmox=ROOT at 1 s, all collectors, QMP on every tick.
# SPDX-License-Identifier: MIT
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
OUT=$(realpath -m "$1")
MIN=${2:-15}
SAMPLER=${PROXSAMPLER:-$(dirname "${BASH_SOURCE[0]}")/../../../build-C1/sampler/proxsampler}
[[ -x $SAMPLER ]] || lab_die "proxsampler not found (set PROXSAMPLER)"
lab_init
lab_install qemu nasm busybox tools || lab_skip "cannot install packages"
rm -f "$OUT"
LAB_WL=none LAB_APPEND="labphase=1 labphaseoff=0" lab_pve_start 101 linux lab-web
LAB_WL=none LAB_APPEND="labphase=1 labphaseoff=120" lab_pve_start 102 linux lab-db
lab_pve_start 103 spin lab-spin
SPIN=$LAB_PID
ROOT=$LAB_PVE_ROOT
"$SAMPLER" --proxmox="$ROOT" -f 1 --daemon-interval 0 --journal "$OUT" --sync 10s -v 2>"$LAB_RUN/sampler.err" &
SP=$!
lab_own_pid proc "$SP" sampler
T=$((MIN * 60))
t0=$(date +%s)
late=0
while :; do
    now=$(($(date +%s) - t0))
    ((now < T)) || break
    # spinner duty: 60 s running, 40 s stopped
    if (((now % 100) < 60)); then kill -CONT "$SPIN"; else kill -STOP "$SPIN"; fi
    if ((late == 0 && now >= T / 3)); then
        lab_pve_start 104 spin lab-late
        late=1
    elif ((late == 1 && now >= 2 * T / 3)); then
        lab_stop_vm lab-late
        late=2
    fi
    sleep 1
done
kill -CONT "$SPIN"
kill -TERM "$SP"
wait "$SP" || true
cat "$LAB_RUN/sampler.err" >&2
for f in "$LAB_RUN"/*.console; do
    echo "== $f" >&2
    grep 'lab: phase' "$f" | head -3 >&2 || true
done
ls -l "$OUT"
