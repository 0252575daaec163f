#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run simgpu-bench in the QEMU guest and keep its JSON on the host.
#
#   scripts/bench.sh [-k stock|svm-dev] [-- simgpu-bench options]
#
# The table goes to stdout; the JSON lands in build/<kernel>/bench.json.
# Numbers are TCG-emulated: compare the ratios to the memcpy anchor
# measured in the same run, not absolute values across machines.
set -euo pipefail

. "$(dirname "$0")/lib/common.sh"

kernel=stock
while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	--) shift; break ;;
	*) die "usage: scripts/bench.sh [-k stock|svm-dev] [-- simgpu-bench options]" ;;
	esac
done

out=$SIMGPU_BUILD/$kernel/bench
"$SIMGPU_TOP/scripts/qemu-run.sh" -k "$kernel" -o "$out" -- sh -c \
	"simgpu-bench --no-progress --json /tmp/bench.json $* && echo @@BENCH-JSON && cat /tmp/bench.json"
sed -n '/^@@BENCH-JSON$/,$p' "$out/per-cmd/1.out" | sed '1d' >"$SIMGPU_BUILD/$kernel/bench.json"
python3 -m json.tool "$SIMGPU_BUILD/$kernel/bench.json" >/dev/null ||
	die "simgpu-bench wrote no valid JSON"
log "JSON: $SIMGPU_BUILD/$kernel/bench.json"
