#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a sparse that Linux 7.3 accepts, once, into the simgpu cache.
# Kernels since 6.15 check that sparse knows __typeof_unqual__ and skip
# C=1/C=2 with a warning otherwise; bookworm's sparse (0.6.4) does not. The
# source package of Debian's unstable suite (0.6.5~rc1 when this was
# written) does, and builds with the machine's gcc; its binary package
# needs a newer glibc than bookworm's. Fetched with a private apt
# configuration (private_apt in lib/common.sh), keyed by version.
#
# Prints the path of the sparse binary on stdout as its last line.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

dir=$SIMGPU_CACHE/sparse
mkdir -p "$dir"

ver=""
if private_apt sid deb-src; then
	ver=$(apt-cache "${APT_OPTS[@]}" showsrc sparse |
		sed -n 's/^Version: //p' | sort -V | tail -n 1)
else
	log "build-sparse: sid unreachable; using the cache"
fi
if [ -z "$ver" ]; then
	ver=$(newest_cached "$dir" sparse_) ||
		die "build-sparse: no sparse source in sid and none cached"
fi

tree=$dir/sparse_$ver
if [ ! -x "$tree/sparse" ]; then
	log "build-sparse: building sparse $ver from Debian's source package"
	rm -rf "$tree" "$dir/dl"
	mkdir -p "$dir/dl"
	# apt checked the files against the signed Sources index.
	(cd "$dir/dl" &&
	 apt-get "${APT_OPTS[@]}" -qq source --download-only "sparse=$ver" >/dev/null &&
	 dpkg-source -x ./*.dsc "$tree" >/dev/null 2>&1)
	rm -rf "$dir/dl"
	# The package's Makefile names its own compiler (gcc-16); use ours.
	make -s -C "$tree" -j"$SIMGPU_JOBS" CC=gcc HAVE_LLVM=no HAVE_GTK=no \
		HAVE_SQLITE=no sparse >"$dir/build.log" 2>&1 ||
		{ tail -n 20 "$dir/build.log" >&2; die "build-sparse: build failed"; }
	for old in "$dir"/sparse_*; do
		[ "$old" = "$tree" ] || rm -rf "$old"
	done
fi
echo "$tree/sparse"
