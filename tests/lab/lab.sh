#!/bin/bash
# lab.sh: a bash library that runs real QEMU guests, a Proxmox-style layout and a hand-started
# libvirtd for proxtop's lab tests. Source it; do not execute it.
#
#   . tests/lab/lab.sh
#   lab_init                 # private run dir + EXIT/INT/TERM trap that tears everything down by PID
#   lab_install qemu         # Debian packages, skipped when already present
#   lab_build_bootsectors    # spin.img, diskloop.img from the nasm sources in guest/
#   lab_start_vm spin1 spin  # QEMU with pidfile, QMP socket, debug-threads, uuid
#
# Everything this library starts is recorded in $LAB_RUN/owned (kind, pid, start time, extra) and is
# stopped by that pid, after checking that the pid still has the recorded start time, so a reused pid
# is never signalled. Nothing the library did not start is ever touched.
# SPDX-License-Identifier: MIT

# shellcheck disable=SC2034,SC2054 # output variables for the sourcing script; QEMU options hold commas

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_CACHE=${LAB_CACHE:-/var/tmp/proxtop-lab}

lab_log() {
    printf 'lab: %s\n' "$*" >&2
}

lab_die() {
    printf 'lab: error: %s\n' "$*" >&2
    exit 1
}

# lab_skip REASON: exit 77, the code ctest is told means "skipped".
lab_skip() {
    printf 'lab: SKIP: %s\n' "$*" >&2
    exit 77
}

lab_now_ms() {
    local s ns
    read -r s ns < <(date +'%s %N')
    echo $((s * 1000 + 10#$ns / 1000000))
}

# ---------------------------------------------------------------------------------------------
# Packages

# Package groups (Debian 12). --no-install-recommends keeps QEMU at ~31 packages (lab.md §1).
declare -A LAB_PKGS=(
    [qemu]="qemu-system-x86 qemu-utils"
    [busybox]="busybox-static"
    [nasm]="nasm"
    [libvirt]="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dev"
    [tools]="socat iproute2 util-linux jq"
)

lab_pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# lab_install GROUP...: install the named groups' packages; a no-op when all are present.
# Returns non-zero (does not exit) when apt fails, so callers can skip instead.
lab_install() {
    local g p missing=()
    for g in "$@"; do
        [[ -n ${LAB_PKGS[$g]:-} ]] || lab_die "unknown package group '$g'"
        for p in ${LAB_PKGS[$g]}; do
            lab_pkg_installed "$p" || missing+=("$p")
        done
    done
    ((${#missing[@]} == 0)) && return 0
    [[ $(id -u) == 0 ]] || {
        lab_log "missing packages ${missing[*]} and not root"
        return 1
    }
    lab_log "installing ${missing[*]}"
    local t0
    t0=$(lab_now_ms)
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"${LAB_RUN:-/tmp}/apt.log" 2>&1; then
        apt-get update -q >>"${LAB_RUN:-/tmp}/apt.log" 2>&1 || true
        apt-get install -y -q --no-install-recommends "${missing[@]}" >>"${LAB_RUN:-/tmp}/apt.log" 2>&1 || {
            lab_log "apt-get install failed, see ${LAB_RUN:-/tmp}/apt.log"
            return 1
        }
    fi
    lab_log "installed in $(($(lab_now_ms) - t0)) ms"
}

# ---------------------------------------------------------------------------------------------
# Ownership registry and teardown

# lab_starttime PID: field 22 of /proc/PID/stat (clock ticks after boot); fails if PID is gone.
lab_starttime() {
    local s f
    s=$(<"/proc/$1/stat") 2>/dev/null || return 1
    s=${s##*) } # comm may hold spaces and ')': cut at the last ')'
    read -ra f <<<"$s"
    echo "${f[19]}"
}

# lab_alive PID [START]: the pid exists, is not a zombie, and (if given) still has that start time.
lab_alive() {
    local st s
    [[ -r /proc/$1/stat ]] || return 1
    s=$(<"/proc/$1/stat") 2>/dev/null || return 1
    s=${s##*) }
    st=${s%% *}
    [[ $st != Z && $st != X ]] || return 1
    [[ -z ${2:-} ]] || [[ $(lab_starttime "$1" 2>/dev/null) == "$2" ]]
}

# lab_own KIND ID [EXTRA...]: record something this run created, for lab_cleanup.
lab_own() {
    [[ -n ${LAB_RUN:-} ]] || lab_die "lab_own before lab_init"
    echo "$*" >>"$LAB_RUN/owned"
}

# lab_own_pid KIND PID [EXTRA]: record a process with its start time.
lab_own_pid() {
    local st
    st=$(lab_starttime "$2") || st=gone
    lab_own "$1" "$2" "$st" "${@:3}"
}

# lab_kill_pid PID START: SIGTERM, wait up to 5 s (a zombie counts as gone: PID 1 here reaps
# orphans only about once a second), then SIGKILL. Only if the start time still matches.
lab_kill_pid() {
    local pid=$1 start=$2 k=0
    lab_alive "$pid" "$start" || {
        wait "$pid" 2>/dev/null || true
        return 0
    }
    kill -TERM "$pid" 2>/dev/null || true
    while lab_alive "$pid" "$start" && ((k < 50)); do
        sleep 0.1
        k=$((k + 1))
    done
    if lab_alive "$pid" "$start"; then
        lab_log "pid $pid ignored SIGTERM for 5 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# lab_cleanup: undo everything in $LAB_RUN/owned, newest first. Runs from the EXIT trap.
lab_cleanup() {
    local rc=$? kind id start extra
    trap - EXIT INT TERM
    [[ -n ${LAB_RUN:-} && -d $LAB_RUN ]] || exit "$rc"
    if [[ -f $LAB_RUN/owned ]]; then
        # Pass 1: processes, domains and devices, newest first (domains before their libvirtd,
        # QEMU before its tap).
        while read -r kind id start extra; do
            case $kind in
            qemu | proc | libvirtd) lab_kill_pid "$id" "$start" ;;
            domain) virsh -q -c qemu:///system destroy "$id" >/dev/null 2>&1 || true ;;
            tap | link) ip link del "$id" 2>/dev/null || true ;;
            netns) ip netns del "$id" 2>/dev/null || true ;;
            esac
        done < <(tac "$LAB_RUN/owned")
        # Pass 2: cgroups, once the processes in them are gone (children before parents).
        while read -r kind id start extra; do
            [[ $kind == cgroup ]] || continue
            local k=0
            until rmdir "$id" 2>/dev/null || [[ ! -d $id ]] || ((++k > 30)); do
                sleep 0.1 # a zombie still holds the cgroup until PID 1 reaps it
            done
            [[ ! -d $id ]] || lab_log "could not remove cgroup $id"
        done < <(tac "$LAB_RUN/owned")
    fi
    if [[ ${LAB_KEEP:-0} == 1 ]]; then
        lab_log "keeping $LAB_RUN (LAB_KEEP=1)"
    else
        rm -rf "$LAB_RUN"
    fi
    exit "$rc"
}

# lab_init: make the run directory (short: QMP socket paths must fit in 108 bytes) and set the
# teardown trap. Every exit path (normal, error, INT, TERM) goes through lab_cleanup.
lab_init() {
    [[ -z ${LAB_RUN:-} ]] || return 0
    LAB_RUN=$(mktemp -d /tmp/lab.XXXXXX)
    export LAB_RUN
    : >"$LAB_RUN/owned"
    mkdir -p "$LAB_RUN/vms"
    trap lab_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# ---------------------------------------------------------------------------------------------
# Guest images

# lab_build_bootsectors [OUT]: spin.img and diskloop.img (1 MiB each) from guest/*.asm with nasm.
lab_build_bootsectors() {
    local out=${1:-$LAB_CACHE} k
    mkdir -p "$out"
    for k in spin diskloop; do
        if [[ ! -f $out/$k.img || $LAB_DIR/guest/$k.asm -nt $out/$k.img ]]; then
            nasm -f bin -o "$out/$k.img.tmp" "$LAB_DIR/guest/$k.asm"
            truncate -s 1M "$out/$k.img.tmp" # SeaBIOS cannot boot a 512-byte disk
            mv "$out/$k.img.tmp" "$out/$k.img"
        fi
    done
}

LAB_MODS="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev
drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk
net/core/failover drivers/net/net_failover drivers/net/virtio_net drivers/virtio/virtio_balloon"

# lab_build_linux [OUT]: OUT/vmlinuz (extracted from Debian's linux-image .deb, never installed)
# and OUT/initrd.gz (static busybox + virtio modules + guest/init).
lab_build_linux() {
    local out=${1:-$LAB_CACHE} w kpkg kver deb m list=()
    mkdir -p "$out"
    if [[ -f $out/vmlinuz && -f $out/initrd.gz && ! $LAB_DIR/guest/init -nt $out/initrd.gz ]]; then
        return 0
    fi
    w=$(mktemp -d /tmp/labk.XXXXXX)
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [[ -n $kpkg ]] || {
        rm -rf "$w"
        lab_log "cannot resolve linux-image-amd64 (apt lists missing? run apt-get update)"
        return 1
    }
    kver=${kpkg#linux-image-}
    deb=$(find /var/cache/apt/archives "$out" -maxdepth 1 -name "${kpkg}_*.deb" 2>/dev/null | head -1)
    if [[ -z $deb ]]; then
        chmod 777 "$w" # apt-get download drops privileges to _apt
        (cd "$w" && apt-get download -q "$kpkg" >/dev/null 2>&1) || {
            rm -rf "$w"
            lab_log "apt-get download $kpkg failed"
            return 1
        }
        deb=$(find "$w" -maxdepth 1 -name "${kpkg}_*.deb" | head -1)
    fi
    list=("./boot/vmlinuz-$kver")
    for m in $LAB_MODS; do
        list+=("./lib/modules/$kver/kernel/$m.ko")
    done
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$w" "${list[@]}"
    local r=$w/root
    mkdir -p "$r/bin" "$r/dev" "$r/proc" "$r/sys" "$r/tmp" "$r/mods"
    cp /bin/busybox "$r/bin/busybox"
    for m in $LAB_MODS; do
        cp "$w/lib/modules/$kver/kernel/$m.ko" "$r/mods/"
    done
    cp "$LAB_DIR/guest/init" "$r/init"
    chmod 755 "$r/init"
    # busybox cpio: no cpio package needed. Sorted names and fixed mtimes keep the archive stable.
    find "$r" -exec touch -h -d @0 {} +
    (cd "$r" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null | gzip -n -1) >"$out/initrd.gz.tmp"
    cp "$w/boot/vmlinuz-$kver" "$out/vmlinuz"
    mv "$out/initrd.gz.tmp" "$out/initrd.gz"
    echo "$kpkg" >"$out/kernel-package"
    rm -rf "$w"
}

# ---------------------------------------------------------------------------------------------
# QEMU guests

# lab_qemu_usable: QEMU is installed and can start (prints the reason when not).
lab_qemu_usable() {
    command -v qemu-system-x86_64 >/dev/null || {
        echo "qemu-system-x86_64 is not installed"
        return 1
    }
    qemu-system-x86_64 --version >/dev/null 2>&1 || {
        echo "qemu-system-x86_64 --version fails"
        return 1
    }
}

# lab_fast_accel: kvm only where the CPU has VMX/SVM. On PVM hosts (kvm_pvm, this CI machine)
# /dev/kvm works but non-PVM guest code is emulated one instruction at a time: a stock kernel never
# finishes booting, so Linux guests use TCG there.
lab_fast_accel() {
    if [[ -w /dev/kvm ]] && grep -qw -e vmx -e svm /proc/cpuinfo; then
        echo kvm
    else
        echo tcg,tb-size=64
    fi
}

# lab_tap_peer_ns TAP CIDR: give an existing tap a host-side peer with address CIDR inside a network
# namespace of our own (lab_ns_of TAP), joined to the tap through a bridge. No test address ever
# exists in the root namespace: guest traffic reaches only that namespace. Host-side traffic
# generators run there: ip netns exec "$(lab_ns_of TAP)" ...
lab_ns_of() {
    echo "lab-$1"
}

lab_tap_peer_ns() {
    local tap=$1 cidr=$2 ns br veth
    ns=$(lab_ns_of "$tap")
    br="b-$tap"
    veth="v-$tap"
    ip netns add "$ns"
    lab_own netns "$ns"
    ip link add "$br" type bridge
    lab_own link "$br"
    ip link add "$veth" type veth peer name "p-$tap"
    lab_own link "$veth"
    ip link set "p-$tap" netns "$ns"
    ip -n "$ns" addr add "$cidr" dev "p-$tap"
    ip -n "$ns" link set "p-$tap" up
    ip -n "$ns" link set lo up
    ip link set "$veth" master "$br"
    ip link set "$tap" master "$br"
    ip link set "$veth" up
    ip link set "$br" up
    ip link set "$tap" up
}

lab_tap_add() { # lab_tap_add NAME [CIDR]: create (and own) a tap; refuses an existing device.
    local name=$1 cidr=${2:-}
    if ip link show "$name" >/dev/null 2>&1; then
        lab_die "network device $name already exists and is not ours"
    fi
    ip tuntap add dev "$name" mode tap
    lab_own tap "$name"
    ip link set "$name" up
    [[ -z $cidr ]] || lab_tap_peer_ns "$name" "$cidr"
}

# lab_start_vm NAME KIND: start one QEMU guest in the background and wait until it is up.
#   KIND: spin | diskloop | linux
# Environment (all optional):
#   LAB_SMP=1 LAB_MEM (16 for boot sectors, 128 for linux) LAB_ACCEL (QEMU -accel list, e.g. "tcg")
#   LAB_UUID LAB_TAP (tap name; created with LAB_NET.1/24 if absent) LAB_NET=10.88.N
#   LAB_WL=cpu,disk,net LAB_CPUSECS LAB_DISKMODE (linux workload) LAB_PIDFILE LAB_QMP (paths)
#   LAB_QMP2 (a second QMP socket, for a sampler next to the test's own client)
#   LAB_NAMESTYLE=guest (-name guest=NAME,...) | plain (-name NAME,...) LAB_DISK (image path)
#   LAB_QEMU_ARGS (extra words) LAB_APPEND (extra kernel command line words, linux)
#   LAB_QMPSTYLE=qmp (-qmp unix:PATH) | chardev (-chardev socket,path=PATH + -mon, as Proxmox)
#   LAB_DEBUG_THREADS=on | off (-name ...,debug-threads=on or not: vCPU thread names)
# Sets LAB_PID and writes $LAB_RUN/vms/NAME.env (PID, START, PIDFILE, QMP, UUID, TAP, LOG, KIND).
# Must run in the sourcing shell itself, not in $(...): QEMU gets PR_SET_PDEATHSIG=TERM from
# setpriv, so it dies with the shell that started it even if that shell is SIGKILLed.
lab_start_vm() {
    local name=$1 kind=$2 n=${LAB_SEQ:-0}
    LAB_SEQ=$((n + 1))
    lab_init
    local smp=${LAB_SMP:-1} mem pidfile=${LAB_PIDFILE:-$LAB_RUN/$name.pid}
    local qmp=${LAB_QMP:-$LAB_RUN/$name.qmp} log=$LAB_RUN/$name.console
    local uuid=${LAB_UUID:-$(printf '00000000-0000-4000-8000-%012d' $((n + 1)))}
    local disk=${LAB_DISK:-$LAB_RUN/$name.raw} accel nameopt args=()
    ((${#qmp} < 100)) || lab_die "QMP socket path too long for sun_path: $qmp"
    if [[ ${LAB_NAMESTYLE:-plain} == guest ]]; then
        nameopt="guest=$name"
    else
        nameopt="$name"
    fi
    # LAB_DEBUG_THREADS=off: QEMU leaves every thread named like the main one ("qemu-system-x86")
    [[ ${LAB_DEBUG_THREADS:-on} == off ]] || nameopt+=",debug-threads=on"
    args=(-M pc -smp "$smp" -display none -nodefaults -no-user-config
        -name "$nameopt" -uuid "$uuid" -pidfile "$pidfile" -serial "file:$log")
    if [[ ${LAB_QMPSTYLE:-qmp} == chardev ]]; then # as Proxmox VE writes it
        args+=(-chardev "socket,id=qmp,path=$qmp,server=on,wait=off" -mon "chardev=qmp,mode=control")
    else
        args+=(-qmp "unix:$qmp,server=on,wait=off")
    fi
    [[ -z ${LAB_QMP2:-} ]] || args+=(-qmp "unix:$LAB_QMP2,server=on,wait=off")
    if [[ -n ${LAB_TAP:-} ]]; then
        ip link show "$LAB_TAP" >/dev/null 2>&1 || lab_tap_add "$LAB_TAP" "${LAB_NET:-10.88.$((n + 1))}.1/24"
        args+=(-netdev "tap,id=net0,ifname=$LAB_TAP,script=no,downscript=no"
            -device "virtio-net-pci,netdev=net0,id=net0,mac=52:54:00:88:$(printf %02x $((n + 1))):01")
    fi
    case $kind in
    spin | diskloop)
        mem=${LAB_MEM:-16}
        lab_build_bootsectors "$LAB_CACHE"
        cp "$LAB_CACHE/$kind.img" "$disk"
        if [[ $kind == spin ]]; then
            read -ra accel <<<"${LAB_ACCEL:-kvm tcg}"
        else
            # diskloop under PVM-kvm waits seconds in SeaBIOS before its loop starts: TCG here.
            read -ra accel <<<"${LAB_ACCEL:-$(lab_fast_accel)}"
        fi
        args+=(-drive "file=$disk,format=raw,if=none,id=drive-virtio0,cache=none"
            -device virtio-blk-pci,drive=drive-virtio0,id=virtio0)
        ;;
    linux)
        mem=${LAB_MEM:-128}
        lab_build_linux "$LAB_CACHE" || return 1
        read -ra accel <<<"${LAB_ACCEL:-$(lab_fast_accel)}"
        [[ -f $disk ]] || truncate -s 64M "$disk"
        local net=${LAB_NET:-10.88.$((n + 1))} append
        append="console=ttyS0 quiet lab=${LAB_WL:-cpu,disk,net} labcpu=${LAB_CPUSECS:-0}"
        append+=" labdisk=${LAB_DISKMODE:-rw} labip=$net.2/24 labpeer=$net.1 ${LAB_APPEND:-}"
        args+=(-kernel "$LAB_CACHE/vmlinuz" -initrd "$LAB_CACHE/initrd.gz" -append "$append"
            -drive "file=$disk,format=raw,if=none,id=drive-virtio0,cache=none,aio=threads"
            -device virtio-blk-pci,drive=drive-virtio0,id=virtio0
            -device virtio-balloon-pci,id=balloon0)
        ;;
    *) lab_die "unknown guest kind '$kind'" ;;
    esac
    local a accelargs=()
    for a in "${accel[@]}"; do
        accelargs+=(-accel "$a")
    done
    args=("${accelargs[@]}" -m "$mem" "${args[@]}")
    # shellcheck disable=SC2206 # LAB_QEMU_ARGS is a list of words by design
    [[ -z ${LAB_QEMU_ARGS:-} ]] || args+=(${LAB_QEMU_ARGS})
    rm -f "$pidfile" "$log"
    local t0
    t0=$(lab_now_ms)
    echo "qemu-system-x86_64 ${args[*]}" >"$LAB_RUN/$name.cmd"
    setpriv --pdeathsig TERM qemu-system-x86_64 "${args[@]}" </dev/null >"$LAB_RUN/$name.err" 2>&1 &
    LAB_PID=$!
    lab_own_pid qemu "$LAB_PID" "$name"
    local i=0
    until [[ -s $pidfile && -S $qmp ]]; do
        if ! lab_alive "$LAB_PID"; then
            lab_log "$name: QEMU exited during start-up:"
            cat "$LAB_RUN/$name.err" >&2
            return 1
        fi
        ((++i < 200)) || lab_die "$name: no pidfile/QMP socket after 10 s"
        sleep 0.05
    done
    [[ $(<"$pidfile") == "$LAB_PID" ]] || lab_die "$name: pidfile says $(<"$pidfile"), expected $LAB_PID"
    if [[ $kind == linux ]]; then
        i=0
        until grep -q 'lab: ready' "$log" 2>/dev/null; do
            lab_alive "$LAB_PID" || lab_die "$name: QEMU died while booting (see $log)"
            ((++i < 1200)) || lab_die "$name: no 'lab: ready' in 120 s (see $log)"
            sleep 0.1
        done
    fi
    cat >"$LAB_RUN/vms/$name.env" <<ENV
NAME=$name
KIND=$kind
PID=$LAB_PID
START=$(lab_starttime "$LAB_PID")
PIDFILE=$pidfile
QMP=$qmp
QMP2=${LAB_QMP2:-}
UUID=$uuid
TAP=${LAB_TAP:-}
LOG=$log
ACCEL=${accel[*]}
ENV
    lab_log "$name ($kind) pid $LAB_PID up in $(($(lab_now_ms) - t0)) ms, accel ${accel[*]}"
}

# lab_stop_vm NAME: stop one guest started by lab_start_vm (by its recorded pid and start time).
lab_stop_vm() {
    local envf=$LAB_RUN/vms/$1.env PID START
    [[ -f $envf ]] || return 0
    PID=$(sed -n "s/^PID=//p" "$envf")
    START=$(sed -n "s/^START=//p" "$envf")
    lab_kill_pid "$PID" "$START"
    rm -f "$envf"
}

# lab_vcpu_tids PID: the TIDs of the vCPU threads ("CPU N/KVM" or "CPU N/TCG").
lab_vcpu_tids() {
    local t c
    for t in /proc/"$1"/task/*; do
        c=$(<"$t/comm") 2>/dev/null || continue
        [[ $c == "CPU "*/* ]] && echo "${t##*/}"
    done
}

# lab_qmp SOCKET COMMAND-JSON...: handshake, run each command, print the replies (events dropped).
lab_qmp() {
    local sock=$1 c input='{"execute":"qmp_capabilities"}'
    shift
    for c in "$@"; do
        input+=$'\n'"$c"
    done
    printf '%s\n' "$input" | socat -t 2 - "UNIX-CONNECT:$sock" | grep -v '"event"' | tail -n +3
}

# ---------------------------------------------------------------------------------------------
# cgroups

# lab_cgroup_v2 NAME PID: make (and own) a cgroup v2 directory NAME under the v2 mount and move PID
# into it. Prints its path. The v2 mount is /sys/fs/cgroup (pure v2) or /sys/fs/cgroup/unified
# (hybrid, as on this CI machine, where the v2 side has no cpu/memory/io controllers: only the
# core files cpu.stat and the PSI files cpu/io/memory.pressure exist in a child).
lab_cgroup_v2() {
    local root dir
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
        root=/sys/fs/cgroup
    elif [[ -f /sys/fs/cgroup/unified/cgroup.controllers ]]; then
        root=/sys/fs/cgroup/unified
    else
        lab_log "no cgroup v2 mount"
        return 1
    fi
    dir=$root/$1
    [[ ! -e $dir ]] || lab_die "cgroup $dir already exists and is not ours"
    mkdir "$dir" || return 1
    lab_own cgroup "$dir"
    echo "$2" >"$dir/cgroup.procs" || return 1
    echo "$dir"
}

# lab_cgroup_v1 CONTROLLER NAME PID: the same in a v1 hierarchy (/sys/fs/cgroup/CONTROLLER).
lab_cgroup_v1() {
    local dir=/sys/fs/cgroup/$1/$2
    [[ -f /sys/fs/cgroup/$1/cgroup.procs && ! -f /sys/fs/cgroup/$1/cgroup.controllers ]] || {
        lab_log "no cgroup v1 hierarchy for $1"
        return 1
    }
    [[ ! -e $dir ]] || lab_die "cgroup $dir already exists and is not ours"
    mkdir "$dir" || return 1
    lab_own cgroup "$dir"
    echo "$3" >"$dir/cgroup.procs" || return 1
    echo "$dir"
}

# ---------------------------------------------------------------------------------------------
# Proxmox-style layout under a private root

# lab_pve_start VMID KIND [NAME]: a guest laid out as Proxmox VE does it, under $LAB_RUN/pve:
#   var/run/qemu-server/VMID.pid and VMID.qmp, etc/pve/qemu-server/VMID.conf (with a [snapshot]
#   section holding different values, which a reader must not take), tap VMIDi0 named tapVMIDi0,
#   var/lib/vz/images/VMID/vm-VMID-disk-0.raw. Proxmox's own -id option is a Proxmox patch that
#   upstream QEMU rejects, so the VMID is only in file names and the .conf, as a sampler must expect.
lab_pve_start() {
    local vmid=$1 kind=$2 name=${3:-lab-vm$1} root
    lab_init
    root=$LAB_RUN/pve
    LAB_PVE_ROOT=$root
    mkdir -p "$root/var/run/qemu-server" "$root/etc/pve/qemu-server" "$root/var/lib/vz/images/$vmid"
    local uuid mem cores
    uuid=$(printf '5d0e3c1a-7a6b-4d8e-9a41-%012d' "$vmid")
    mem=${LAB_MEM:-$([[ $kind == linux ]] && echo 128 || echo 16)}
    cores=${LAB_SMP:-1}
    cat >"$root/etc/pve/qemu-server/$vmid.conf" <<CONF
boot: order=virtio0
cores: $cores
memory: $mem
name: $name
net0: virtio=52:54:00:77:$(printf %02x $((vmid % 256))):00,bridge=vmbr0
parent: before-upgrade
smbios1: uuid=$uuid
sockets: 1
virtio0: local:$vmid/vm-$vmid-disk-0.raw,size=1M

[before-upgrade]
cores: 4
memory: 4096
name: $name-old
snaptime: 1700000000
virtio0: local:$vmid/vm-$vmid-disk-0.raw,size=1M
CONF
    LAB_PIDFILE=$root/var/run/qemu-server/$vmid.pid LAB_QMP=$root/var/run/qemu-server/$vmid.qmp \
        LAB_DISK=$root/var/lib/vz/images/$vmid/vm-$vmid-disk-0.raw LAB_TAP=tap${vmid}i0 \
        LAB_UUID=$uuid LAB_MEM=$mem LAB_SMP=$cores LAB_NAMESTYLE=plain LAB_QMPSTYLE=chardev \
        LAB_NET=10.77.$((vmid % 256)) LAB_QEMU_ARGS="-smbios type=1,uuid=$uuid -no-shutdown" \
        lab_start_vm "$name" "$kind"
    echo "VMID=$vmid" >>"$LAB_RUN/vms/$name.env"
    echo "PVE_ROOT=$root" >>"$LAB_RUN/vms/$name.env"
}

# ---------------------------------------------------------------------------------------------
# libvirtd, started by hand (no systemd)

# lab_libvirtd_start: start the system libvirtd in the foreground of a background job (so it dies
# with us), unless one is already running, which is then used and never stopped.
lab_libvirtd_start() {
    lab_init
    if [[ -f /run/libvirtd.pid ]] && lab_alive "$(</run/libvirtd.pid)"; then
        lab_log "using the libvirtd already running (pid $(</run/libvirtd.pid)); it will not be stopped"
        return 0
    fi
    # The QEMU driver resolves its compiled-in user before reading qemu.conf (lab.md §4).
    getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd --system -g libvirt-qemu -d /var/lib/libvirt -M -s /usr/sbin/nologin libvirt-qemu
    mkdir -p /etc/libvirt
    [[ -f /etc/libvirt/qemu.conf ]] || cat >/etc/libvirt/qemu.conf <<'CONF'
user = "root"
group = "root"
stdio_handler = "file"
security_driver = "none"
CONF
    cat >"$LAB_RUN/libvirtd.conf" <<CONF
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "2:file:$LAB_RUN/libvirtd.log"
CONF
    local t0 i=0 pid
    t0=$(lab_now_ms)
    setpriv --pdeathsig TERM /usr/sbin/libvirtd -f "$LAB_RUN/libvirtd.conf" </dev/null \
        >"$LAB_RUN/libvirtd.err" 2>&1 &
    pid=$!
    lab_own_pid libvirtd "$pid"
    until virsh -c qemu:///system version >/dev/null 2>&1; do
        lab_alive "$pid" || lab_die "libvirtd exited: $(cat "$LAB_RUN/libvirtd.err")"
        ((++i < 600)) || lab_die "libvirtd did not answer in 30 s"
        sleep 0.05
    done
    lab_log "libvirtd pid $pid up in $(($(lab_now_ms) - t0)) ms"
}

# lab_libvirt_create NAME KIND: a transient libvirt domain (virsh create), owned and destroyed at
# exit. KIND spin: type kvm boot-sector spinner; spin-net: the same with an ethernet tap NAME-t
# and a virtio balloon without a guest driver (baseline-perf.md's "lv" guests); linux: type qemu
# (TCG) kernel+initramfs guest with an ethernet tap NAME-t (libvirt makes and deletes the taps).
lab_libvirt_create() {
    local name=$1 kind=$2 xml disk extra
    xml=$LAB_RUN/$name.xml
    disk=$LAB_RUN/$name.raw
    case $kind in
    spin | spin-net)
        lab_build_bootsectors "$LAB_CACHE"
        cp "$LAB_CACHE/spin.img" "$disk"
        extra="<memballoon model='none'/>"
        [[ $kind == spin ]] || extra="<interface type='ethernet'><target dev='${name}-t'/><model \
type='virtio'/></interface><memballoon model='virtio'/>"
        cat >"$xml" <<XML
<domain type='kvm'>
  <name>$name</name>
  <memory unit='MiB'>16</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='$disk'/><target dev='vda' bus='virtio'/>
    </disk>
    $extra
  </devices>
</domain>
XML
        ;;
    linux)
        lab_build_linux "$LAB_CACHE" || return 1
        truncate -s 64M "$disk"
        cat >"$xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$LAB_CACHE/vmlinuz</kernel>
    <initrd>$LAB_CACHE/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet lab=${LAB_WL:-cpu,disk,net} labip=10.90.1.2/24 labpeer=10.90.1.1</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='$disk'/><target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'><target dev='${name}-t'/><model type='virtio'/></interface>
    <serial type='file'><source path='$LAB_RUN/$name.console'/><target port='0'/></serial>
    <memballoon model='virtio'><stats period='2'/></memballoon>
  </devices>
</domain>
XML
        ;;
    *) lab_die "unknown libvirt guest kind '$kind'" ;;
    esac
    virsh -q -c qemu:///system create "$xml" >/dev/null
    lab_own domain "$name"
    local pid
    pid=$(</run/libvirt/qemu/"$name".pid)
    if [[ $kind == linux ]]; then
        lab_tap_peer_ns "${name}-t" 10.90.1.1/24
        local i=0
        until grep -q 'lab: ready' "$LAB_RUN/$name.console" 2>/dev/null; do
            ((++i < 1200)) || lab_die "$name: no 'lab: ready' in 120 s"
            sleep 0.1
        done
    fi
    cat >"$LAB_RUN/vms/$name.env" <<ENV
NAME=$name
KIND=libvirt-$kind
PID=$pid
START=$(lab_starttime "$pid")
PIDFILE=/run/libvirt/qemu/$name.pid
ENV
    lab_log "libvirt domain $name ($kind) pid $pid"
}
