#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the svm-dev kernel from Debian's linux-source-6.1 with the config
# fragment beside this script, once, into a cache outside the repository.
# The cache is keyed by the source package version, the fragment and this
# script, so any change to either rebuilds and an unchanged tree is reused.
#
# Prints the kernel tree directory (KDIR for module builds; bzImage inside)
# on stdout as its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SIMGPU_CACHE:-$HOME/.cache/simgpu}
tarball=/usr/src/linux-source-6.1.tar.xz
fragment=$here/svm-dev.config
jobs=${JOBS:-$(nproc)}

[ -f "$tarball" ] || { echo "build-kernel: $tarball missing (scripts/install-deps.sh)" >&2; exit 1; }

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( { echo "$srcver"; cat "$fragment" "$0"; } | sha256sum | cut -c1-12)
tree=$cache/linux-$srcver-$key

if [ -f "$tree/.simgpu-built" ]; then
	echo "$tree"
	exit 0
fi

log() { echo "build-kernel: $*" >&2; }

rm -rf "$tree" "$tree.tmp"
mkdir -p "$tree.tmp"
log "extracting $tarball ($srcver)"
tar -C "$tree.tmp" --strip-components=1 -xf "$tarball"
cd "$tree.tmp"

# DRM_BUDDY and DRM_SCHED have no prompt in 6.1: only in-tree drivers
# select them. Give them one so the fragment can turn them on.
sed -i -e '/^config DRM_BUDDY$/,/^$/ s/^\ttristate$/\ttristate "DRM buddy allocator"/' \
       -e '/^config DRM_SCHED$/,/^$/ s/^\ttristate$/\ttristate "DRM GPU scheduler"/' \
       drivers/gpu/drm/Kconfig

log "configuring: x86_64_defconfig + kvm_guest.config + $(basename "$fragment")"
make -s x86_64_defconfig kvm_guest.config >/dev/null
scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null
make -s olddefconfig >/dev/null

# Every line of the fragment must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	sym=${line%%=*}
	val=${line#*=}
	if [ "$val" = n ]; then
		if grep -q "^$sym=" .config; then
			log "config: $sym should be off: $(grep "^$sym=" .config)"
			bad=1
		fi
	elif ! grep -qx "$line" .config; then
		log "config: wanted $line, got: $(grep -E "^(# )?$sym[= ]" .config || echo unset)"
		bad=1
	fi
done <"$fragment"
[ "$bad" -eq 0 ] || exit 1

log "building with -j$jobs (cold builds take a while on 2 cores)"
start=$(date +%s)
make -s -j"$jobs" bzImage modules >/dev/null
log "built in $(( $(date +%s) - start ))s"

touch .simgpu-built
cd /
mv "$tree.tmp" "$tree"
# Keep only the newest tree: old keys are dead weight.
for old in "$cache"/linux-*; do
	[ "$old" = "$tree" ] || rm -rf "$old"
done
echo "$tree"
