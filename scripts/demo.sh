#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: boot a kernel in QEMU, load simgpu and show what the guest
# sees with simgpu-info.
#
#   scripts/demo.sh [-k stock|svm-dev]      (default stock)
set -euo pipefail

. "$(dirname "$0")/lib/common.sh"

kernel=stock
case "${1:-}" in
-k|--kernel) kernel=$2 ;;
"") ;;
*) die "usage: scripts/demo.sh [-k stock|svm-dev]" ;;
esac

exec "$SIMGPU_TOP/scripts/qemu-run.sh" -k "$kernel" \
	-o "$SIMGPU_BUILD/$kernel/demo" -- simgpu-info
