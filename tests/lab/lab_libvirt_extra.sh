#!/bin/bash
# lab_libvirt_extra.sh: libvirtd restarts for the libvirt source's lab test. Source after lab.sh.
#
#   lab_libvirtd_restart            stop the libvirtd this run started (by pid + start time) and
#                                   start it again; running domains survive (lab.md §4)
#   lab_libvirt_serve CMD [ARGS]    run CMD in the background and serve its restart requests:
#                                   CMD creates $LAB_RUN/libvirtd-restart.req, this shell restarts
#                                   libvirtd and writes $LAB_RUN/libvirtd-restart.done (0 or 1).
#                                   Returns CMD's exit status.
#   lab_libvirt_extra_main NAME -- CMD [ARGS]
#                                   the whole fixture: install, libvirtd, a spinner domain NAME,
#                                   then lab_libvirt_serve CMD; exits 77 when QEMU/libvirtd cannot
#                                   run at all.
# The restarted libvirtd stays a child of this shell (pdeathsig TERM, owned in $LAB_RUN/owned), and
# the domains are recorded again after it so that lab_cleanup (newest first) destroys them while a
# libvirtd still runs. A libvirtd that was not started by this run is never stopped: the restart
# request then answers 1.
# SPDX-License-Identifier: MIT

lab_libvirtd_restart() {
    local kind id start extra pid='' pstart='' domains=()
    while read -r kind id start extra; do
        case $kind in
        libvirtd) pid=$id pstart=$start ;;
        domain) domains+=("$id") ;;
        esac
    done <"$LAB_RUN/owned"
    if [[ -z $pid ]]; then
        lab_log "libvirtd was not started by this run: not restarting it"
        return 1
    fi
    lab_kill_pid "$pid" "$pstart"
    rm -f /run/libvirtd.pid
    lab_libvirtd_start || return 1
    local d
    for d in "${domains[@]}"; do
        lab_own domain "$d"
    done
}

lab_libvirt_serve() {
    local req=$LAB_RUN/libvirtd-restart.req done=$LAB_RUN/libvirtd-restart.done cpid rc
    rm -f "$req" "$done"
    "$@" &
    cpid=$!
    while lab_alive "$cpid"; do
        if [[ -e $req ]]; then
            rm -f "$req"
            if lab_libvirtd_restart; then
                echo 0 >"$done.tmp"
            else
                echo 1 >"$done.tmp"
            fi
            mv "$done.tmp" "$done"
        fi
        sleep 0.05
    done
    set +e
    wait "$cpid"
    rc=$?
    set -e
    return "$rc"
}

lab_libvirt_extra_main() {
    local name=$1
    shift
    [[ ${1:-} == -- ]] && shift
    lab_init
    if [[ $(id -u) == 0 ]]; then
        lab_install qemu nasm tools libvirt || lab_skip "cannot install qemu/libvirt packages"
    fi
    command -v libvirtd >/dev/null || [[ -x /usr/sbin/libvirtd ]] || lab_skip "no libvirtd"
    local reason
    reason=$(lab_qemu_usable) || lab_skip "$reason"
    lab_libvirtd_start
    lab_libvirt_create "$name" spin
    local rc=0
    lab_libvirt_serve "$@" || rc=$?
    return "$rc"
}
