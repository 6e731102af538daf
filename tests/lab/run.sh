#!/bin/bash
# run.sh: start a set of lab guests, run a command next to them, tear everything down by PID.
#
#   tests/lab/run.sh [options] [-- COMMAND [ARGS...]]
#     --spin N           N boot-sector spinners (kvm, tcg fallback), named spinK
#     --diskloop N       N boot-sector disk loopers (TCG here), named diskK
#     --linux WL         one Linux+busybox guest running workload WL (cpu,disk,net; repeatable),
#                        named linuxK, with tap labtK (10.88.K.1 host, .2 guest)
#     --pve VMID:KIND    one guest in a Proxmox-style layout under $LAB_RUN/pve (repeatable)
#     --libvirt NAME:KIND  a real libvirtd (started if none runs) and a domain (KIND spin|linux)
#     --cgroup           put each guest (not libvirt's) into its own cgroup v2 directory (and v1
#                        cpu, memory)
#     --install          install missing Debian packages first (default when root)
#
# COMMAND runs with LAB_RUN exported; $LAB_RUN/vms/NAME.env describes each guest (PID, START,
# PIDFILE, QMP, UUID, TAP, LOG, CGROUP...). Without COMMAND, it prints them and waits for Ctrl-C.
# The exit status is COMMAND's; 77 (skip) when QEMU cannot run here at all.
# SPDX-License-Identifier: MIT
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

spin=0 disk=0 cgroup=0 install=auto
linux=() pve=() virt=()
while (($#)); do
    case $1 in
    --spin) spin=$2 && shift ;;
    --diskloop) disk=$2 && shift ;;
    --linux) linux+=("$2") && shift ;;
    --pve) pve+=("$2") && shift ;;
    --libvirt) virt+=("$2") && shift ;;
    --cgroup) cgroup=1 ;;
    --install) install=yes ;;
    --no-install) install=no ;;
    --) shift && break ;;
    -h | --help)
        sed -n '2,/^# SPDX/p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "run.sh: unknown option '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done

lab_init
groups=(qemu nasm tools)
((${#linux[@]} == 0)) || groups+=(busybox)
((${#virt[@]} == 0)) || groups+=(libvirt)
for v in "${virt[@]}"; do
    if [[ ${v#*:} == linux ]]; then
        groups+=(busybox) # the initramfs of a libvirt Linux domain too
    fi
done
if [[ $install == yes || ($install == auto && $(id -u) == 0) ]]; then
    lab_install "${groups[@]}" || lab_skip "cannot install ${groups[*]} (no root or no package source)"
fi
reason=$(lab_qemu_usable) || lab_skip "$reason"
[[ -w /dev/net/tun || (${#linux[@]} == 0 && ${#pve[@]} == 0) ]] || lab_skip "/dev/net/tun is not usable"

cg() { # cg NAME PID: per-guest cgroups when --cgroup was given
    ((cgroup)) || return 0
    local d
    if d=$(lab_cgroup_v2 "proxtop-$1" "$2"); then
        echo "CGROUP=$d" >>"$LAB_RUN/vms/$1.env"
    fi
    if d=$(lab_cgroup_v1 cpu "proxtop-$1" "$2" 2>/dev/null); then
        echo "CGROUP_V1_CPU=$d" >>"$LAB_RUN/vms/$1.env"
    fi
    if d=$(lab_cgroup_v1 memory "proxtop-$1" "$2" 2>/dev/null); then
        echo "CGROUP_V1_MEMORY=$d" >>"$LAB_RUN/vms/$1.env"
    fi
}

t0=$(lab_now_ms)
for ((i = 1; i <= spin; i++)); do
    lab_start_vm "spin$i" spin
    cg "spin$i" "$LAB_PID"
done
for ((i = 1; i <= disk; i++)); do
    lab_start_vm "disk$i" diskloop
    cg "disk$i" "$LAB_PID"
done
k=0
for wl in "${linux[@]}"; do
    k=$((k + 1))
    LAB_WL=$wl LAB_TAP=labt$k LAB_NET=10.88.$k lab_start_vm "linux$k" linux
    cg "linux$k" "$LAB_PID"
done
for p in "${pve[@]}"; do
    lab_pve_start "${p%%:*}" "${p#*:}"
    cg "lab-vm${p%%:*}" "$LAB_PID" # as Proxmox's /qemu.slice/VMID.scope
done
if ((${#virt[@]})); then
    lab_libvirtd_start
    for v in "${virt[@]}"; do
        lab_libvirt_create "${v%%:*}" "${v#*:}"
    done
fi
lab_log "all guests up in $(($(lab_now_ms) - t0)) ms; run dir $LAB_RUN"

if (($# == 0)); then
    for f in "$LAB_RUN"/vms/*.env; do
        [[ -e $f ]] || continue
        echo "== ${f##*/}"
        cat "$f"
    done
    lab_log "press Ctrl-C to tear down"
    while :; do sleep 3600; done
fi
set +e
"$@"
rc=$?
set -e
exit "$rc"
