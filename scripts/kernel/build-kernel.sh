#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a Linux 7.3 kernel from Debian's linux-source-7.3 (fetched by
# fetch-source.sh) once, into a cache outside the repository:
#
#   build-kernel.sh [svm-dev|kasan]
#
#   svm-dev  (default) the config fragment svm-dev.config beside this script
#   kasan    svm-dev.config, then kasan.config (generic KASAN) over it
#
# Each kernel has its own cache directory, keyed by the source package
# version, the fragments, the patches in patches/ and this script, so any
# change to one of them rebuilds and an unchanged tree is reused.
#
# patches/ holds fixes to 7.3 that simgpu's tests found, applied in order
# to both kernels (docs/upstream-findings.md says what each fixes).
#
# Prints the kernel tree directory (KDIR for module builds; bzImage inside)
# on stdout as its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SIMGPU_CACHE:-$HOME/.cache/simgpu}
kernel=${1:-svm-dev}
jobs=${JOBS:-$(nproc)}

case "$kernel" in
svm-dev) fragments=("$here/svm-dev.config") ;;
kasan) fragments=("$here/svm-dev.config" "$here/kasan.config") ;;
*) echo "build-kernel: unknown kernel '$kernel' (svm-dev or kasan)" >&2; exit 2 ;;
esac

src=$("$here/fetch-source.sh" | tail -n 1)
read -r srcver tarball <<<"$src"
patches=("$here"/patches/*.patch)
key=$( { echo "$srcver"; cat "${fragments[@]}" "${patches[@]}" "$0"; } | sha256sum | cut -c1-12)
dir=$cache/kernel-$kernel
tree=$dir/linux-$srcver-$key

# One build of a tree at a time: a second caller waits and then finds it.
mkdir -p "$dir"
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

for p in "${patches[@]}"; do
	log "applying ${p##*/}"
	patch -s -p1 --forward <"$p" || { log "${p##*/} does not apply"; exit 1; }
done

# The DRM helpers simgpu uses have no prompt: only in-tree drivers select
# them. Give each one so the fragment can turn them on.
for sym in DRM_BUDDY DRM_SCHED DRM_EXEC DRM_GPUVM DRM_GPUSVM; do
	sed -i "/^config $sym\$/,/^\$/ s/^\ttristate\$/\ttristate \"$sym\"/" \
		drivers/gpu/drm/Kconfig
	grep -A1 -x "config $sym" drivers/gpu/drm/Kconfig | grep -q "tristate \"$sym\"" ||
		{ log "could not give $sym a prompt"; exit 1; }
done

log "configuring: x86_64_defconfig + kvm_guest.config + ${fragments[*]##*/}"
make -s x86_64_defconfig kvm_guest.config >/dev/null
scripts/kconfig/merge_config.sh -m .config "${fragments[@]}" >/dev/null
make -s olddefconfig >/dev/null

# Every line of the fragments must have survived olddefconfig.
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
		log "config: wanted $line, got: $(grep -E "^(# )?${sym}[= ]" .config || echo unset)"
		bad=1
	fi
done < <(cat "${fragments[@]}")
[ "$bad" -eq 0 ] || exit 1

log "building with -j$jobs (cold builds take a while on 2 cores)"
start=$(date +%s)
make -s -j"$jobs" bzImage modules >/dev/null
log "built in $(( $(date +%s) - start ))s"

touch .simgpu-built
cd /
mv "$tree.tmp" "$tree"
# Keep only this kernel's newest tree: old keys are dead weight, and so
# are the svm-dev trees from before each kernel had a directory of its own.
stale=("$dir"/linux-*)
[ "$kernel" = svm-dev ] && stale+=("$cache"/linux-*)
for old in "${stale[@]}"; do
	[ "$old" = "$tree" ] || [ "$old" = "$tree.lock" ] || rm -rf "$old"
done
echo "$tree"
