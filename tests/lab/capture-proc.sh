#!/bin/bash
# capture-proc.sh OUTDIR: copy real /proc, /sys and cgroup files from this host and from lab guests'
# QEMU processes into OUTDIR (datasets/proc), for the parser tests. Needs root.
# Starts: a KVM spinner in its own cgroups (v2 + v1 cpu,cpuacct,memory), a TCG Linux guest with a
# tap running cpu,disk,net, a Proxmox-layout spinner, a libvirt spinner domain and a process whose
# comm is "a b) (c". All are torn down by PID at exit.
# SPDX-License-Identifier: MIT
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

OUT=$(realpath -m "${1:?usage: capture-proc.sh OUTDIR}")
lab_init
lab_install qemu nasm busybox tools libvirt || lab_die "cannot install packages"
mkdir -p "$OUT"

cp_file() { # cp_file SRC DST: copy the bytes as read (cat, not cp: procfs sizes are 0)
    mkdir -p "$(dirname "$2")"
    cat "$1" >"$2" 2>/dev/null || {
        rm -f "$2"
        lab_log "could not read $1"
    }
}

# cap_pid PID DIR: the per-process files the sampler reads, plus every thread's comm/stat/schedstat.
cap_pid() {
    local pid=$1 d=$2 f t
    rm -rf "$d"
    mkdir -p "$d"
    for f in stat status statm io cmdline schedstat cgroup comm; do
        cp_file "/proc/$pid/$f" "$d/$f"
    done
    for t in /proc/"$pid"/task/*; do
        for f in comm stat schedstat status io; do
            cp_file "$t/$f" "$d/task/${t##*/}/$f"
        done
    done
}

# 1. The host.
H=$OUT/host-$(hostname -s | tr -c 'a-zA-Z0-9-\n' '-')
rm -rf "$H"
for f in stat meminfo diskstats net/dev loadavg uptime pressure/cpu pressure/io pressure/memory \
    partitions version; do
    cp_file "/proc/$f" "$H/$f"
done
for b in /sys/block/*; do # whole devices and their partitions, as sysfs shows them
    cp_file "$b/dev" "$H/sys/block/${b##*/}/dev"
    for p in "$b"/"${b##*/}"*; do
        [[ -e $p/partition ]] && cp_file "$p/partition" "$H/sys/block/${b##*/}/${p##*/}/partition"
    done
done
for n in /sys/class/net/*; do
    for f in "$n"/statistics/*; do
        cp_file "$f" "$H/sys/class/net/${n##*/}/statistics/${f##*/}"
    done
    cp_file "$n/operstate" "$H/sys/class/net/${n##*/}/operstate"
    cp_file "$n/speed" "$H/sys/class/net/${n##*/}/speed"
done
if [[ -d /sys/devices/system/cpu/cpu0/cpufreq ]]; then
    for f in scaling_cur_freq scaling_min_freq scaling_max_freq cpuinfo_min_freq cpuinfo_max_freq; do
        cp_file "/sys/devices/system/cpu/cpu0/cpufreq/$f" "$H/sys/devices/system/cpu/cpu0/cpufreq/$f"
    done
fi
cp_file /sys/devices/system/cpu/online "$H/sys/devices/system/cpu/online"
cap_pid 2 "$H/pid-kthreadd" # a kernel thread: no Vm* lines, empty cmdline

# 2. Partitions: this CI kernel (Firecracker 6.18) has no partition-table parser at all
# (CONFIG_MSDOS_PARTITION and CONFIG_EFI_PARTITION unset) and no device-mapper, so a partitioned
# disk cannot be made here; datasets/proc/fabricated-partitions is written by hand instead.

# 3. A process whose comm holds spaces and parentheses.
odd="$LAB_RUN/a b) (c"
cp "$(command -v sleep)" "$odd"
setpriv --pdeathsig TERM "$odd" 600 &
oddpid=$!
lab_own_pid proc "$oddpid"
sleep 0.2
cap_pid "$oddpid" "$OUT/pid-odd-comm"
lab_kill_pid "$oddpid" "$(lab_starttime "$oddpid" || echo gone)"

# 4. A KVM spinner in its own cgroups.
LAB_NAMESTYLE=guest lab_start_vm spin1 spin
spid=$LAB_PID
cg2=$(lab_cgroup_v2 proxtop-lab-spin1 "$spid")
cgcpu=$(lab_cgroup_v1 cpu proxtop-lab-spin1 "$spid") || cgcpu=
cgacct=$(lab_cgroup_v1 cpuacct proxtop-lab-spin1 "$spid") || cgacct=
cgmem=$(lab_cgroup_v1 memory proxtop-lab-spin1 "$spid") || cgmem=
sleep 3
S=$OUT/qemu-spin-kvm
cap_pid "$spid" "$S"
for f in cgroup.controllers cgroup.procs cgroup.stat cpu.stat cpu.pressure io.pressure \
    memory.pressure memory.current memory.stat memory.events memory.swap.current io.stat; do
    [[ -e $cg2/$f ]] && cp_file "$cg2/$f" "$S/cgroup-v2/$f"
done
if [[ -n $cgcpu ]]; then
    for f in cpu.stat cpu.shares cpu.cfs_period_us cpu.cfs_quota_us; do
        [[ -e $cgcpu/$f ]] && cp_file "$cgcpu/$f" "$S/cgroup-v1/cpu/$f"
    done
fi
if [[ -n $cgacct ]]; then
    for f in cpuacct.usage cpuacct.stat cpuacct.usage_percpu; do
        [[ -e $cgacct/$f ]] && cp_file "$cgacct/$f" "$S/cgroup-v1/cpuacct/$f"
    done
fi
if [[ -n $cgmem ]]; then
    for f in memory.usage_in_bytes memory.stat memory.max_usage_in_bytes memory.limit_in_bytes \
        memory.failcnt; do
        [[ -e $cgmem/$f ]] && cp_file "$cgmem/$f" "$S/cgroup-v1/memory/$f"
    done
fi

# 5. A TCG Linux guest doing cpu, disk and net, with its tap's counters.
LAB_TAP=labt9 LAB_NET=10.88.9 LAB_WL=cpu,disk,net lab_start_vm linux1 linux
lpid=$LAB_PID
sleep 4
X=$OUT/qemu-linux-tcg
cap_pid "$lpid" "$X"
cp_file /proc/net/dev "$X/host-net-dev"
for f in /sys/class/net/labt9/statistics/*; do
    cp_file "$f" "$X/sys/class/net/labt9/statistics/${f##*/}"
done
lab_qmp "$LAB_RUN/linux1.qmp" '{"execute":"query-blockstats"}' >"$X/qmp-query-blockstats.json"
lab_qmp "$LAB_RUN/linux1.qmp" '{"execute":"query-cpus-fast"}' >"$X/qmp-query-cpus-fast.json"

# 5b. The Linux guest's own view: cgroup v2 with cpu, memory and io controllers (real files from
# the guest's Debian 6.1 kernel, which the host cannot give: its v2 mount has no controllers) and
# a partitioned virtio disk (vda + vda1; the guest kernel parses MBRs, the host's does not).
gimg=$LAB_RUN/linux2.raw
truncate -s 64M "$gimg"
# MBR by hand: one type-0x83 partition at LBA 2048, 65536 sectors, then the 55 AA signature.
printf '\x00\x00\x00\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\x00\x01\x00' |
    dd of="$gimg" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$gimg" bs=1 seek=510 conv=notrunc status=none
LAB_DISK=$gimg LAB_WL=cpu LAB_APPEND=labdump=1 lab_start_vm linux2 linux
G=$OUT/guest-linux-6.1
rm -rf "$G"
tr -d '\r' <"$LAB_RUN/linux2.console" | awk -v out="$G" '
    /^lab-dump-begin / { f = out $2; d = f; sub(/\/[^\/]*$/, "", d); system("mkdir -p \"" d "\""); next }
    /^lab-dump-end/ { close(f); f = ""; next }
    f != "" { print > f }'
lab_stop_vm linux2

# 6. A Proxmox-layout spinner (VMID 100).
lab_pve_start 100 spin
P=$OUT/qemu-pve-100
cap_pid "$LAB_PID" "$P"
mkdir -p "$P/layout"
cp "$LAB_PVE_ROOT/etc/pve/qemu-server/100.conf" "$P/layout/100.conf"
cp "$LAB_PVE_ROOT/var/run/qemu-server/100.pid" "$P/layout/100.pid"

# 7. A libvirt spinner domain (-name guest=X,debug-threads=on, -blockdev, tap by fd).
lab_libvirtd_start
lab_libvirt_create labcap1 spin
vpid=$(sed -n 's/^PID=//p' "$LAB_RUN/vms/labcap1.env")
sleep 1
V=$OUT/qemu-libvirt
cap_pid "$vpid" "$V"
cp_file /run/libvirt/qemu/labcap1.xml "$V/libvirt-status.xml"
virsh -c qemu:///system domstats --raw labcap1 >"$V/virsh-domstats.txt" 2>/dev/null || true

lab_log "captured into $OUT"
