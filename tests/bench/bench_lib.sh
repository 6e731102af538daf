#!/bin/bash
# bench_lib.sh: helpers shared by the sampler benchmarks (sourced, not run).
# SPDX-License-Identifier: MIT

# ns_sum PID...: sum of schedstat field 1 (ns on CPU) over all threads of the given processes.
ns_sum() {
    local p t s=0 r
    for p in "$@"; do
        for t in /proc/"$p"/task/*; do
            read -r r _ <"$t/schedstat" 2>/dev/null || continue
            s=$((s + r))
        done
    done
    echo "$s"
}

# nonvcpu_ns PID...: the same over the threads of the given QEMU processes that are not vCPU
# threads ("CPU N/KVM"): what QEMU spends serving the sampler.
nonvcpu_ns() {
    local p t c s=0 r
    for p in "$@"; do
        for t in /proc/"$p"/task/*; do
            c=$(<"$t/comm") 2>/dev/null || continue
            [[ $c == "CPU "*/* ]] && continue
            read -r r _ <"$t/schedstat" 2>/dev/null || continue
            s=$((s + r))
        done
    done
    echo "$s"
}

host_threads() { # a glob, not ls: a process that ends meanwhile must not fail the script
    local t n=0
    for t in /proc/[0-9]*/task/[0-9]*; do
        n=$((n + 1))
    done
    echo "$n"
}

host_procs() {
    local p n=0
    for p in /proc/[0-9]*; do
        n=$((n + 1))
    done
    echo "$n"
}

status_kb() { # status_kb PID FIELD: a /proc/PID/status field in kB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
