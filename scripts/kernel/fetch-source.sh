#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's linux-source-7.3 (the trixie-backports suite) into the
# simgpu cache without touching the machine's apt state (private_apt in
# lib/common.sh).
#
# Prints "VERSION TARBALL" on stdout as its last line. With no network, the
# newest source already in the cache is used.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

pkg=${SIMGPU_KERNEL_SOURCE:-linux-source-7.3}
src=$SIMGPU_CACHE/src
mkdir -p "$src"

ver=""
if private_apt trixie-backports; then
	ver=$(apt-cache "${APT_OPTS[@]}" policy "$pkg" | sed -n 's/^ *Candidate: //p')
	[ "$ver" = "(none)" ] && ver=""
else
	log "fetch-source: trixie-backports unreachable; using the cache"
fi
if [ -z "$ver" ]; then
	ver=$(newest_cached "$src" "${pkg}_") ||
		die "fetch-source: no $pkg in trixie-backports and none cached"
fi

dir=$src/${pkg}_$ver
tarball=$dir/usr/src/$pkg.tar.xz
if [ ! -f "$tarball" ]; then
	log "fetch-source: downloading $pkg $ver"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp"
	(cd "$dir.tmp" && apt-get "${APT_OPTS[@]}" -qq download "$pkg=$ver" >/dev/null)
	dpkg-deb -x "$dir.tmp"/"$pkg"_*.deb "$dir.tmp"
	rm -f "$dir.tmp"/"$pkg"_*.deb
	mv "$dir.tmp" "$dir"
	for old in "$src"/"$pkg"_*; do
		[ "$old" = "$dir" ] || rm -rf "$old"
	done
fi
echo "$ver $tarball"
