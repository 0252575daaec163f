# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers of the simgpu scripts: where things are, how the two
# kernels are found, how the module and the userspace are built.
# Sourced, not run.

SIMGPU_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIMGPU_BUILD=${SIMGPU_BUILD:-$SIMGPU_TOP/build}
SIMGPU_JOBS=${SIMGPU_JOBS:-$(nproc)}
# Where the svm-dev kernel is cached (read by kernel/build-kernel.sh);
# set here so that a CI environment without HOME still finds it.
export SIMGPU_CACHE=${SIMGPU_CACHE:-${HOME:-/root}/.cache/simgpu}

log() { echo "[simgpu] $*" >&2; }
die() { echo "[simgpu] error: $*" >&2; exit 1; }

# kernel_resolve FLAVOR: set KVER, VMLINUZ, KDIR and KMODS (the directory
# holding that kernel's own modules) for "stock" or "svm-dev".
kernel_resolve() {
	case "$1" in
	stock)
		KVER=$(dpkg-query -W -f='${Depends}' linux-image-amd64 |
			sed -n 's/.*linux-image-\([0-9][^ ,]*-amd64\).*/\1/p')
		[ -n "$KVER" ] || die "linux-image-amd64 is not installed"
		VMLINUZ=/boot/vmlinuz-$KVER
		KDIR=/lib/modules/$KVER/build
		KMODS=/lib/modules/$KVER
		;;
	svm-dev)
		KDIR=$("$SIMGPU_TOP/scripts/kernel/build-kernel.sh" | tail -n 1)
		KVER=$(cat "$KDIR/include/config/kernel.release")
		VMLINUZ=$KDIR/arch/x86/boot/bzImage
		KMODS=$KDIR
		;;
	*)
		die "unknown kernel '$1' (stock or svm-dev)"
		;;
	esac
	[ -r "$VMLINUZ" ] || die "no kernel image at $VMLINUZ"
	[ -d "$KDIR" ] || die "no kernel build tree at $KDIR"
}

# module_build FLAVOR [make args...]: build simgpu for the resolved kernel
# in a private copy of the sources, so both kernels' objects coexist.
# Sets MODDIR to the directory holding kmod/*.ko.
module_build() {
	local flavor=$1
	shift
	MODDIR=$SIMGPU_BUILD/$flavor/module
	mkdir -p "$MODDIR"
	rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '*.cmd' \
		--exclude '*.mod' --exclude '*.mod.c' \
		"$SIMGPU_TOP/Kbuild" "$SIMGPU_TOP/Makefile" \
		"$SIMGPU_TOP/kmod" "$SIMGPU_TOP/uapi" "$MODDIR/"
	# Without a vmlinux beside them (distribution headers), Kbuild says it
	# skips BTF for every module: not a diagnostic, drop it.
	local rc=0
	make -s -C "$MODDIR" KDIR="$KDIR" "$@" modules >"$MODDIR/build.log" 2>&1 ||
		rc=$?
	grep -v '^Skipping BTF generation' "$MODDIR/build.log" || true
	return $rc
}

# userspace_build: configure and build tools/ and igt-tests/ once.
userspace_build() {
	local dir=$SIMGPU_BUILD/userspace
	mkdir -p "$dir"
	if [ ! -f "$dir/CMakeCache.txt" ]; then
		cmake -S "$SIMGPU_TOP" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
			>"$dir/configure.log" 2>&1 ||
			{ cat "$dir/configure.log" >&2; die "cmake configure failed"; }
	fi
	if ! cmake --build "$dir" -j "$SIMGPU_JOBS" >"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log" >&2
		die "userspace build failed (log: $dir/build.log)"
	fi
	USERSPACE=$dir
}

# hmm_tests_build: the kernel's own HMM selftest (hmm-tests), built from
# the svm-dev tree, for the guest's guest-extra/ directory. It proves the
# kernel's device-private memory under the project against test_hmm.ko.
hmm_tests_build() {
	local src=$KDIR/tools/testing/selftests/vm/hmm-tests.c
	local dir=$SIMGPU_BUILD/svm-dev/guest-extra

	[ -f "$src" ] || die "no $src in the svm-dev tree"
	mkdir -p "$dir"
	if [ ! -x "$dir/hmm-tests" ] || [ "$src" -nt "$dir/hmm-tests" ]; then
		gcc -O2 -static -I"$KDIR" -I"$KDIR/tools/testing/selftests" \
			"$src" -o "$dir/hmm-tests" -lpthread
	fi
}

# initramfs_build FLAVOR OUT CMDS ENV: pack busybox, the guest init, the
# kernel's modules simgpu needs, simgpu.ko (and simgpu_kunit.ko, test_hmm.ko
# where built), the userspace binaries (and build/<kernel>/guest-extra/)
# with their shared libraries, the
# command list CMDS and the environment file ENV into the cpio archive OUT.
initramfs_build() {
	local flavor=$1 out=$2 cmds=$3 envf=$4
	local root=$SIMGPU_BUILD/$flavor/rootfs
	local mroot=$root/lib/modules/$KVER
	local m dep bin lib

	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/simgpu,proc,sys,dev,tmp,root,lib64} \
		"$mroot/extra" "$mroot/kernel"

	cp /bin/busybox "$root/bin/busybox"
	for bin in $("$root/bin/busybox" --list); do
		[ -e "$root/bin/$bin" ] || ln -s busybox "$root/bin/$bin"
	done
	cp "$SIMGPU_TOP/scripts/guest/init" "$root/init"
	cp "$cmds" "$root/etc/simgpu/cmds"
	cp "$envf" "$root/etc/simgpu/env"

	# Modules: ours, and for a modular kernel (stock) what they depend on.
	cp "$MODDIR"/kmod/simgpu.ko "$mroot/extra/"
	[ -f "$MODDIR/kmod/tests/simgpu_kunit.ko" ] &&
		cp "$MODDIR/kmod/tests/simgpu_kunit.ko" "$mroot/extra/"
	if [ "$flavor" = svm-dev ] && [ -f "$KMODS/lib/test_hmm.ko" ]; then
		mkdir -p "$mroot/kernel/lib"
		cp "$KMODS/lib/test_hmm.ko" "$mroot/kernel/lib/"
	fi
	local want
	want=$(modinfo -F depends "$mroot/extra/simgpu.ko" | tr ',' ' ')
	while [ -n "$want" ]; do
		local next=""
		for m in $want; do
			local path
			path=$(modinfo -k "$KVER" -n "$m" 2>/dev/null) || continue
			case "$path" in (builtin*|"") continue ;; esac
			local rel=${path#"$KMODS"/}
			[ -f "$mroot/$rel" ] && continue
			mkdir -p "$(dirname "$mroot/$rel")"
			cp "$path" "$mroot/$rel"
			dep=$(modinfo -F depends "$path" | tr ',' ' ')
			next="$next $dep"
		done
		want=$next
	done
	for m in modules.order modules.builtin modules.builtin.modinfo; do
		if [ -f "$KMODS/$m" ]; then cp "$KMODS/$m" "$mroot/"; else : >"$mroot/$m"; fi
	done
	depmod -b "$root" "$KVER"

	# Userspace binaries and their libraries, at the paths ldd gives.
	for bin in "$USERSPACE"/bin/* "$SIMGPU_BUILD/$flavor"/guest-extra/*; do
		[ -f "$bin" ] || continue
		cp "$bin" "$root/usr/bin/"
		for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done

	(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
}
