#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the svm-dev kernel (Linux 7.3) from Debian's linux-source-7.3
# (fetched by fetch-source.sh) with the config fragment beside this script,
# once, into a cache outside the repository. The cache is keyed by the
# source package version, the fragment and this script, so any change to
# either rebuilds and an unchanged tree is reused.
#
# Prints the kernel tree directory (KDIR for module builds; bzImage inside)
# on stdout as its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SIMGPU_CACHE:-$HOME/.cache/simgpu}
fragment=$here/svm-dev.config
jobs=${JOBS:-$(nproc)}

src=$("$here/fetch-source.sh" | tail -n 1)
read -r srcver tarball <<<"$src"
key=$( { echo "$srcver"; cat "$fragment" "$0"; } | sha256sum | cut -c1-12)
tree=$cache/linux-$srcver-$key

# One build of a tree at a time: a second caller waits and then finds it.
mkdir -p "$cache"
exec 9>"$tree.lock"
flock 9

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

# The DRM helpers simgpu uses have no prompt: only in-tree drivers select
# them. Give each one so the fragment can turn them on.
for sym in DRM_BUDDY DRM_SCHED DRM_EXEC DRM_GPUVM DRM_GPUSVM; do
	sed -i "/^config $sym\$/,/^\$/ s/^\ttristate\$/\ttristate \"$sym\"/" \
		drivers/gpu/drm/Kconfig
	grep -A1 -x "config $sym" drivers/gpu/drm/Kconfig | grep -q "tristate \"$sym\"" ||
		{ log "could not give $sym a prompt"; exit 1; }
done

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
	[ "$old" = "$tree" ] || [ "$old" = "$tree.lock" ] || rm -rf "$old"
done
echo "$tree"
