# shellcheck shell=bash
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

# private_apt SUITE [deb|deb-src...]: set APT_OPTS, apt options that reach
# one suite of the Debian mirror the machine already uses through a private
# configuration under the cache (sources list, package lists, archives),
# leaving the machine's apt state untouched, and refresh its lists. Returns
# non-zero (lists left as they were) when the mirror cannot be reached.
private_apt() {
	local suite=$1 dir=$SIMGPU_CACHE/apt/$1 mirrors mirror kind
	shift
	mapfile -t mirrors < <(grep -rhoE 'https?://[^ ]+/debian/?( |$)' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true)
	mirrors=("${mirrors[@]% }")
	mirror=${mirrors[0]:-http://deb.debian.org/debian}
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	: >"$dir/sources.list"
	for kind in "${@:-deb}"; do
		echo "$kind [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} $suite main" \
			>>"$dir/sources.list"
	done
	APT_OPTS=(-o "Dir::Etc::sourcelist=$dir/sources.list"
		  -o Dir::Etc::sourceparts=/dev/null
		  -o "Dir::State::Lists=$dir/lists"
		  -o "Dir::Cache=$dir/cache"
		  -o APT::Sandbox::User=root)
	apt-get "${APT_OPTS[@]}" -qq update >"$dir/update.log" 2>&1
}

# newest_cached DIR PREFIX: print the version of the newest DIR/PREFIX<version>
# directory, what a fetch falls back to offline; non-zero when there is none.
newest_cached() {
	local last
	last=$(printf '%s\n' "$1"/"$2"*/ | sort -V | tail -n 1)
	[ -d "$last" ] || return 1
	last=$(basename "$last")
	echo "${last#"$2"}"
}

# The stock lane: Debian bookworm's 6.12 LTS, through its meta-packages,
# so the newest 6.12 the machine's apt sources offer is the one installed.
STOCK_IMAGE_META=linux-image-6.12-amd64

# kernel_built FLAVOR: whether FLAVOR is a kernel the project builds (7.3:
# svm-dev, and kasan, svm-dev with KASAN), which carries test_hmm, the
# kernel's HMM selftest, KUnit and kmemleak.
kernel_built() {
	[ "$1" = svm-dev ] || [ "$1" = kasan ]
}

# kernel_resolve FLAVOR: set KVER, VMLINUZ, KDIR and KMODS (the directory
# holding that kernel's own modules) for "stock" (6.12), "svm-dev" (7.3)
# or "kasan" (svm-dev with generic KASAN).
kernel_resolve() {
	case "$1" in
	stock)
		KVER=$(dpkg-query -W -f='${Depends}' "$STOCK_IMAGE_META" |
			sed -n 's/.*linux-image-\([0-9][^ ,]*-amd64\).*/\1/p')
		[ -n "$KVER" ] || die "$STOCK_IMAGE_META is not installed"
		VMLINUZ=/boot/vmlinuz-$KVER
		KDIR=/lib/modules/$KVER/build
		KMODS=/lib/modules/$KVER
		;;
	svm-dev|kasan)
		KDIR=$("$SIMGPU_TOP/scripts/kernel/build-kernel.sh" "$1" | tail -n 1)
		KVER=$(cat "$KDIR/include/config/kernel.release")
		VMLINUZ=$KDIR/arch/x86/boot/bzImage
		KMODS=$KDIR
		;;
	*)
		die "unknown kernel '$1' (stock, svm-dev or kasan)"
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

# userspace_build [TYPE]: configure and build tools/ and igt-tests/ once,
# warnings as errors, as CMake build type TYPE (default RelWithDebInfo, in
# build/userspace, the one the guests run; another type builds in
# build/userspace-TYPE).
userspace_build() {
	local type=${1:-RelWithDebInfo} dir=$SIMGPU_BUILD/userspace
	[ "$type" = RelWithDebInfo ] || dir=$SIMGPU_BUILD/userspace-$type
	mkdir -p "$dir"
	if ! grep -qx 'SIMGPU_WERROR:BOOL=ON' "$dir/CMakeCache.txt" 2>/dev/null; then
		cmake -S "$SIMGPU_TOP" -B "$dir" -DCMAKE_BUILD_TYPE="$type" \
			-DSIMGPU_WERROR=ON >"$dir/configure.log" 2>&1 ||
			{ cat "$dir/configure.log" >&2; die "cmake configure failed"; }
	fi
	if ! cmake --build "$dir" -j "$SIMGPU_JOBS" >"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log" >&2
		die "userspace build ($type) failed (log: $dir/build.log)"
	fi
	[ "$type" = RelWithDebInfo ] && USERSPACE=$dir
	return 0
}

# hmm_tests_build FLAVOR: the kernel's own HMM selftest (hmm-tests), built
# from the resolved 7.3 tree, for the guest's guest-extra/ directory. It
# proves the kernel's device-private memory under the project against
# test_hmm.ko.
hmm_tests_build() {
	local mm=$KDIR/tools/testing/selftests/mm
	local dir=$SIMGPU_BUILD/$1/guest-extra

	[ -f "$mm/hmm-tests.c" ] || die "no $mm/hmm-tests.c in the $1 tree"
	mkdir -p "$dir"
	if [ ! -x "$dir/hmm-tests" ] || [ "$mm/hmm-tests.c" -nt "$dir/hmm-tests" ]; then
		gcc -O2 -static -I"$KDIR" -I"$KDIR/tools/testing/selftests" -I"$mm" \
			-isystem "$KDIR/tools/include/uapi" \
			"$mm/hmm-tests.c" "$mm/vm_util.c" "$mm/hugepage_settings.c" \
			-o "$dir/hmm-tests" -lpthread
	fi
}

# initramfs_build FLAVOR OUT CMDS ENV: pack busybox, the guest init, the
# kernel's modules simgpu needs, simgpu.ko (and simgpu_kunit.ko, test_hmm.ko
# where built), the userspace binaries (and build/<kernel>/guest-extra/,
# and the host programs named in SIMGPU_GUEST_BINS, space separated, such
# as chaos.sh's stress-ng) with their shared libraries, the
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
	cp "$SIMGPU_TOP/scripts/guest/simgpu-unload" "$SIMGPU_TOP/scripts/guest/simgpu-chaos" \
		"$root/usr/bin/"
	cp "$cmds" "$root/etc/simgpu/cmds"
	cp "$envf" "$root/etc/simgpu/env"

	# Modules: ours, and for a modular kernel (stock) what they depend on.
	cp "$MODDIR"/kmod/simgpu.ko "$mroot/extra/"
	[ -f "$MODDIR/kmod/tests/simgpu_kunit.ko" ] &&
		cp "$MODDIR/kmod/tests/simgpu_kunit.ko" "$mroot/extra/"
	if kernel_built "$flavor" && [ -f "$KMODS/lib/test_hmm.ko" ]; then
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
			# Debian ships its modules xz-compressed; busybox's
			# modprobe loads plain ones.
			local rel=${path#"$KMODS"/}
			rel=${rel%.xz}
			[ -f "$mroot/$rel" ] && continue
			mkdir -p "$(dirname "$mroot/$rel")"
			case "$path" in
			*.xz) xz -dc "$path" >"$mroot/$rel" ;;
			*) cp "$path" "$mroot/$rel" ;;
			esac
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
	# shellcheck disable=SC2086 # a list of paths
	for bin in "$USERSPACE"/bin/* "$SIMGPU_BUILD/$flavor"/guest-extra/* \
		${SIMGPU_GUEST_BINS:-}; do
		[ -f "$bin" ] || continue
		cp "$bin" "$root/usr/bin/"
		for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done

	(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
}
