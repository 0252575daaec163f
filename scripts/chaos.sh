#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The chaos co-run: GPU jobs over checksummed data in system memory and in
# VRAM under memory pressure, compaction and THP splitting, for N minutes,
# in the QEMU guest; then the module unloads.
#
#   scripts/chaos.sh [-k stock|svm-dev] [-p MODPARAMS] --minutes N
#
# In the guest, simgpu-chaos (scripts/guest/simgpu-chaos) sets THP=always,
# runs stress-ng (--vm with huge pages, --mmap, --mmaphuge, --bigheap,
# --mremap) and a loop that compacts memory and splits every THP, beside
# simgpu_race's soak subtest (jobs adding to 2 MiB buffers advised to system
# memory and to VRAM, checked against a CPU-side shadow by GPU reads as it
# goes and by the CPU at the end; without VRAM migration, stock 6.12, the
# "VRAM" half stays in system memory). Then simgpu-unload removes the
# module. Exit status 0 when the data verified, the module unloaded and the
# kernel log is clean (no splat, no leak: scripts/qemu-run.sh). N may be
# fractional (0.5). The soak's counts (jobs, GPU read checks, MiB
# verified) and stress-ng's metrics are in build/<kernel>/chaos/per-cmd/.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

kernel=svm-dev
modparams=""
minutes=""
while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	-p|--modparams) modparams=$2; shift 2 ;;
	--minutes) minutes=$2; shift 2 ;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
	*) die "usage: scripts/chaos.sh [-k stock|svm-dev] [-p MODPARAMS] --minutes N" ;;
	esac
done
[ -n "$minutes" ] || die "--minutes N is required"
secs=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); if (s < 1) exit 1; print s }') ||
	die "--minutes wants a positive number, not '$minutes'"

"$SIMGPU_TOP/scripts/install-deps.sh"
stress=$(command -v stress-ng) || die "stress-ng is not installed (scripts/install-deps.sh)"
out=$SIMGPU_BUILD/$kernel/chaos
mkdir -p "$SIMGPU_BUILD/$kernel"
cmds=$SIMGPU_BUILD/$kernel/chaos-cmds
{
	echo "simgpu-chaos $secs"
	echo "simgpu-unload"
} >"$cmds"

log "chaos on $kernel for $secs s${modparams:+ (simgpu $modparams)}"
rc=0
SIMGPU_GUEST_BINS=$stress "$SIMGPU_TOP/scripts/qemu-run.sh" -k "$kernel" -p "$modparams" \
	-q --cmd-timeout $((secs + 900)) -c "$cmds" -o "$out" || rc=$?
grep -hE '^(soak|simgpu-chaos|stress-ng: (info|fail|error)|[A-Za-z].*(FAIL|SKIP))' \
	"$out"/per-cmd/*.out 2>/dev/null || true
if [ $rc -eq 0 ]; then
	log "chaos: passed (data verified, module unloaded, kernel log clean)"
else
	log "chaos: FAILED (logs in $out)"
fi
exit $rc
