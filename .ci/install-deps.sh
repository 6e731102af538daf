#!/bin/bash
# install-deps.sh: the Debian 12 packages proxtop's build, tests and fuzzers need.
# Idempotent; run as root. The lab tests install QEMU and libvirtd themselves (tests/lab/lab.sh).
set -euo pipefail
pkgs=(gcc make cmake pkg-config clang libclang-rt-14-dev
      libmsgpack-dev libzstd-dev libjansson-dev libgsl-dev libcmocka-dev libvirt-dev libxml2-dev libncurses-dev)
missing=()
for p in "${pkgs[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
