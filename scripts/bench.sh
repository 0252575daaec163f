#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run simgpu-bench in the QEMU guest and keep its JSON and plots on the host.
#
#   scripts/bench.sh [-k stock|svm-dev] [-p MODPARAMS] [--icount[=SHIFT]]
#                    [-- simgpu-bench options]
#
# simgpu-bench measures every workload on each SVM backend in turn
# (--backends all: svm_core=simgpu, then the guest reloads simgpu with
# svm_core=kernel, the kernel's drm_gpusvm and drm_pagemap; stock has no drm_gpusvm and
# says the kernel backend is not available), the same anchors for both.
# The table goes to stdout, each row of one backend next to the other's;
# the JSON lands in build/<kernel>/bench.json,
# its plots (scripts/plot-bench.py) in build/<kernel>/plots/ (with
# --icount: bench-icount.json and plots-icount/). Numbers are
# TCG-emulated: compare the ratios to the anchors measured in the same run,
# not absolute values across machines. On svm-dev the guest loads the
# kernel's test_hmm.ko first, so every workload with a test_hmm equivalent
# is also anchored to it. -p passes simgpu module parameters, e.g.
# -p vram_size=16 for evict-thrash (twice VRAM) to fit the guest.
# --icount runs the guest on instruction-counted time (one vCPU) instead of
# the host's clock (scripts/qemu-run.sh --icount; docs/benchmarks.md):
# numbers that repeat from run to run. The JSON's "run" object records the
# kernel, the clock, the vCPUs, the module parameters and the simgpu-bench
# options.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

kernel=stock
modparams=""
icount=()
while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	-p|--modparams) modparams=$2; shift 2 ;;
	--icount|--icount=*) icount=("$1"); shift ;;
	--) shift; break ;;
	*) die "usage: scripts/bench.sh [-k stock|svm-dev] [-p MODPARAMS] [--icount[=SHIFT]] [-- simgpu-bench options]" ;;
	esac
done

# test_hmm stays loaded for the run. On svm-dev the anchors are the point:
# without them (test_hmm failed to load, or simgpu-bench was built without
# test_hmm_uapi.h) the run fails rather than print a table with no anchor.
pre="" req=""
[ "$kernel" = svm-dev ] && pre="modprobe test_hmm && " req="--require-hmm "
out=$SIMGPU_BUILD/$kernel/bench
suffix=${icount:+-icount}
json=$SIMGPU_BUILD/$kernel/bench$suffix.json
"$SIMGPU_TOP/scripts/qemu-run.sh" -k "$kernel" -p "$modparams" "${icount[@]}" -o "$out" -- sh -c \
	"${pre}simgpu-bench ${req}--no-progress --backends all --json /tmp/bench.json $* && echo @@BENCH-JSON && cat /tmp/bench.json"
sed -n '/^@@BENCH-JSON$/,$p' "$out/per-cmd/1.out" | sed '1d' >"$json"
python3 - "$json" "$kernel" "$(cat "$out/clock")" "$modparams" "$@" <<'PY' ||
# The host's side of the run, first in the document; one result a line
# as simgpu-bench writes it.
import json, sys

path, kernel, clock, modparams, *args = sys.argv[1:]
with open(path, encoding="utf-8") as f:
    doc = json.load(f)
# qemu-run.sh's DIR/clock: "wall smp=2", "icount shift=N,sleep=off smp=1".
mode, *rest = clock.split()
run = {"kernel": kernel, "clock": mode}
for word in rest:
    if word.startswith("smp="):
        run["vcpus"] = int(word[4:])
    else:
        run[mode] = word
run.update({"modparams": modparams, "bench_args": args})
doc = {"run": run, **doc}
parts = []
for key, value in doc.items():
    if isinstance(value, list) and value:
        items = ",\n    ".join(json.dumps(v, ensure_ascii=False) for v in value)
        parts.append(f"{json.dumps(key)}: [\n    {items}\n  ]")
    else:
        parts.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
with open(path, "w", encoding="utf-8") as f:
    f.write("{\n  " + ",\n  ".join(parts) + "\n}\n")
PY
	die "simgpu-bench wrote no valid JSON"
log "JSON: $json"
python3 "$SIMGPU_TOP/scripts/plot-bench.py" --plots "$SIMGPU_BUILD/$kernel/plots$suffix" "$json"
