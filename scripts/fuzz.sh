#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The long run of the ioctl fuzzer: boot a kernel in QEMU, run simgpu_fuzz's
# fuzzing subtests for a given time (SIMGPU_FUZZ_SECONDS, split evenly
# between them), unload simgpu, and report the calls made, calls/s, the
# distinct errnos of each ioctl and the kernel splats (any splat, a failed
# subtest, a hang or an unload that fails is a failed run).
#
#   scripts/fuzz.sh [-k stock|svm-dev] [-p MODPARAMS] --minutes N [--seed S] [-o DIR]
#
#   -k, --kernel     the lane (default svm-dev)
#   -p, --modparams  simgpu module parameters, e.g. svm_core=simgpu for
#                    simgpu's own SVM core (svm-dev runs the kernel's by
#                    default)
#   --minutes N      fuzzing time in the guest (default 5)
#   --seed S         the seed (default: from the clock; printed)
#   -o, --out DIR    logs (default build/<kernel>/fuzz)
#
# Exit status 0 only when the guest ran every subtest green, unloaded
# simgpu and logged no splat. A failure prints the seed and the command
# that repeats the failing subtest in the guest.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

kernel=svm-dev
modparams=""
minutes=5
seed=""
out=""

while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	-p|--modparams) modparams=$2; shift 2 ;;
	--minutes) minutes=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	-o|--out) out=$2; shift 2 ;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
case "$minutes" in
''|*[!0-9.]*) die "--minutes wants a number, not '$minutes'" ;;
esac
seed=${seed:-$(printf '%#x' "$(( $(date +%s%N) & 0xffffffffffff ))")}
out=${out:-$SIMGPU_BUILD/$kernel/fuzz}

# The fuzzing subtests (not the opt-in reproducers of known bugs).
subtests="query gem vm vm-bind exec-queue exec wait-user-fence svm syncobj ioctl-numbers mixed multi-process"
n=$(echo "$subtests" | wc -w)
seconds=$(awk -v m="$minutes" -v n="$n" 'BEGIN { s = m * 60 / n; printf "%d", s < 5 ? 5 : s }')

mkdir -p "$out"
cmds=$out/fuzz-cmds
{
	echo "SIMGPU_FUZZ_SEED=$seed SIMGPU_FUZZ_SECONDS=$seconds simgpu_fuzz --run-subtest $(echo "$subtests" | tr ' ' ',')"
	echo "simgpu-unload"
} >"$cmds"

log "fuzzing on $kernel${modparams:+ ($modparams)}: $n subtests, ${seconds}s each, seed $seed"
run=$out/run
rc=0
"$SIMGPU_TOP/scripts/qemu-run.sh" -k "$kernel" ${modparams:+-p "$modparams"} -q -c "$cmds" \
	--cmd-timeout $(( seconds * n + 900 )) -o "$run" || rc=$?

fuzz_out=$run/per-cmd/1.out
echo
echo "=== simgpu_fuzz on $kernel${modparams:+ ($modparams)}, seed $seed, ${seconds}s a subtest"
if [ -f "$fuzz_out" ]; then
	grep -E '^Subtest ' "$fuzz_out" || true
	if grep -q '^fuzz-total:' "$fuzz_out"; then
		grep -E '^fuzz-total:' "$fuzz_out" | sed 's/^fuzz-total: //'
	else
		# The binary did not finish: the subtests that did.
		awk '/^fuzz-stats .* calls / { c += $4; s += $6 }
			END { if (s) printf "calls %d seconds %.1f calls/s %.1f (finished subtests only)\n", c, s, c / s }' \
			"$fuzz_out"
	fi
else
	echo "no output from the guest"
fi
python3 - "$run/summary.json" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except OSError:
    print("splats: unknown (no summary)")
    sys.exit(0)
n = len(s["boot_splats"]) + len(s["console_splats"]) + len(s["kmemleak"])
n += sum(len(c["splats"]) for c in s["commands"])
unload = [c for c in s["commands"] if c["cmd"] == "simgpu-unload"]
print(f"splat lines: {n}")
print("unload: " + ("ok" if unload and unload[0]["rc"] == 0 else "FAILED"))
print("guest finished: " + ("yes" if s["done"] else "NO (hang or crash)"))
PY
if [ $rc -ne 0 ]; then
	echo "FAILED; repeat a failing subtest in the guest with:"
	echo "  SIMGPU_FUZZ_SEED=$seed SIMGPU_FUZZ_SECONDS=$seconds simgpu_fuzz --run-subtest NAME"
	echo "logs: $run"
fi
exit $rc
