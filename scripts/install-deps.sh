#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install every Debian package simgpu needs to build the module for both
# kernels, build the svm-dev kernel, run QEMU and build the userspace tools.
# Idempotent: when everything is present it only runs dpkg-query.
set -euo pipefail

PKGS=(
	# userspace toolchain and libraries
	build-essential cmake pkg-config libdrm-dev liburing-dev
	googletest libgtest-dev
	# kernel module builds and checks against the stock lane, Debian's
	# 6.12 LTS (the meta-packages follow its newest release); sparse is
	# built from Debian's source (scripts/kernel/build-sparse.sh)
	linux-headers-6.12-amd64 linux-image-6.12-amd64 kmod dpkg-dev
	# svm-dev kernel build (linux-source-7.3 comes from trixie-backports
	# through scripts/kernel/fetch-source.sh)
	debian-archive-keyring bc bison flex libssl-dev libelf-dev xz-utils
	rsync python3 perl patch
	# script checks (scripts/test.sh)
	shellcheck
	# guest
	qemu-system-x86 busybox-static cpio
	# memory pressure beside GPU jobs in the guest (scripts/chaos.sh)
	stress-ng
	# benchmark plots (scripts/plot-bench.py)
	gnuplot-nox
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
