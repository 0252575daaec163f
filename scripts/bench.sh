#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run simgpu-bench in the QEMU guest and keep its JSON on the host.
#
#   scripts/bench.sh [-k stock|svm-dev] [-p MODPARAMS] [-- simgpu-bench options]
#
# The table goes to stdout; the JSON lands in build/<kernel>/bench.json.
# Numbers are TCG-emulated: compare the ratios to the anchors measured in
# the same run, not absolute values across machines. On svm-dev the guest
# loads the kernel's test_hmm.ko first, so every workload with a test_hmm
# equivalent is also anchored to it. -p passes simgpu module parameters,
# e.g. -p vram_size=16 for evict-thrash (twice VRAM) to fit the guest.
set -euo pipefail

. "$(dirname "$0")/lib/common.sh"

kernel=stock
modparams=""
while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	-p|--modparams) modparams=$2; shift 2 ;;
	--) shift; break ;;
	*) die "usage: scripts/bench.sh [-k stock|svm-dev] [-p MODPARAMS] [-- simgpu-bench options]" ;;
	esac
done

# test_hmm stays loaded: its 6.1 unload leaks. Without it (it failed to
# load) simgpu-bench runs anyway and reports the anchors unavailable.
pre=""
[ "$kernel" = svm-dev ] && pre="modprobe test_hmm; "
out=$SIMGPU_BUILD/$kernel/bench
"$SIMGPU_TOP/scripts/qemu-run.sh" -k "$kernel" -p "$modparams" -o "$out" -- sh -c \
	"${pre}simgpu-bench --no-progress --json /tmp/bench.json $* && echo @@BENCH-JSON && cat /tmp/bench.json"
sed -n '/^@@BENCH-JSON$/,$p' "$out/per-cmd/1.out" | sed '1d' >"$SIMGPU_BUILD/$kernel/bench.json"
python3 -m json.tool "$SIMGPU_BUILD/$kernel/bench.json" >/dev/null ||
	die "simgpu-bench wrote no valid JSON"
log "JSON: $SIMGPU_BUILD/$kernel/bench.json"
