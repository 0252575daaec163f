#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: boot a kernel in QEMU, load simgpu, show the devices, run
# every built-in GPU kernel directly on malloc'd memory and a malloc'd
# linked list (shared virtual memory) and on buffer objects in VRAM, check
# each result against the CPU, and print the device counters. Then both
# devices and the CPU take turns on one heap buffer (simgpu-run --shared),
# on svm-dev also with the devices linked (link_groups=0,1), where one
# device maps the other's VRAM in place.
#
#   scripts/demo.sh [-k stock|svm-dev]      (default stock)
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

kernel=stock
case "${1:-}" in
-k|--kernel) kernel=$2 ;;
"") ;;
*) die "usage: scripts/demo.sh [-k stock|svm-dev]" ;;
esac

cmds=$(mktemp)
trap 'rm -f "$cmds"' EXIT
cat >"$cmds" <<'CMDS'
simgpu-info
simgpu-run --mode svm --device 0 --counters
simgpu-run --mode bo --placement vram --device 1
simgpu-run --shared --counters
CMDS
if [ "$kernel" = svm-dev ]; then
	cat >>"$cmds" <<'CMDS'
simgpu-unload && modprobe simgpu link_groups=0,1 && simgpu-run --shared --counters; rc=$?; simgpu-unload; modprobe simgpu && exit $rc
CMDS
fi
"$SIMGPU_TOP/scripts/qemu-run.sh" -k "$kernel" -c "$cmds" \
	-o "$SIMGPU_BUILD/$kernel/demo"
