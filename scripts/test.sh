#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every simgpu test from a fresh machine and print one summary line
# "N passed, N failed, N skipped":
#   - host: userspace unit tests (GoogleTest through CTest)
#   - per kernel (stock and svm-dev): module build with W=1 and sparse,
#     then in QEMU: simgpu-info, simgpu-stat, a quick simgpu-bench run,
#     the IGT binaries, and on
#     svm-dev the KUnit suites; a kernel splat or leak in the guest is a
#     failure
#   - checkpatch on the kernel sources, the uAPI header and the kernel
#     patches; shellcheck on the scripts
#
#   scripts/test.sh [-k stock|svm-dev|both|kasan]
#
# "both" (the default) is stock and svm-dev; kasan is svm-dev's kernel with
# generic KASAN (scripts/kernel/kasan.config), a lane of its own: a cold
# build of its kernel and a slower guest (README, "Reliability").
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

kernels="stock svm-dev"
while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel)
		[ "$2" = both ] && kernels="stock svm-dev" || kernels=$2
		shift 2
		;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
	*) die "unknown option $1" ;;
	esac
done

"$SIMGPU_TOP/scripts/install-deps.sh"
results=$SIMGPU_BUILD/test-results.tsv
mkdir -p "$SIMGPU_BUILD"
: >"$results"

row() { printf '%s\t%s\n' "$1" "$2" >>"$results"; }

# Host unit tests.
log "building userspace"
userspace_build RelWithDebInfo
# A user's Release (-O3) build must build too, warnings as errors here.
log "building userspace (Release)"
if (userspace_build Release); then
	row pass host/userspace-release-build
else
	row fail host/userspace-release-build
fi
log "host unit tests"
junit=$SIMGPU_BUILD/ctest-junit.xml
ctest --test-dir "$USERSPACE" --output-on-failure --output-junit "$junit" \
	>"$SIMGPU_BUILD/ctest.log" 2>&1 || cat "$SIMGPU_BUILD/ctest.log"
python3 - "$junit" >>"$results" <<'PY'
import sys, xml.etree.ElementTree as ET
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    st = "pass"
    if tc.find("failure") is not None or tc.find("error") is not None:
        st = "fail"
    elif tc.find("skipped") is not None or tc.get("status") == "notrun":
        st = "skip"
    print(f"{st}\thost/{tc.get('name')}")
PY

# The IGT binaries as guest commands. A binary that needs other module
# parameters reloads simgpu with them on top of the run's own
# ($SIMGPU_MODPARAMS, e.g. the SVM core), and with the run's after.
igt_cmds() {
	# shellcheck disable=SC2016 # expanded in the guest
	local t reload='modprobe simgpu $SIMGPU_MODPARAMS'
	for t in "$USERSPACE"/bin/simgpu_*; do
		case $(basename "$t") in
		simgpu_svm_evict|simgpu_bo_evict)
			# Working sets sized from VRAM: a small VRAM keeps
			# them small.
			echo "simgpu-unload && $reload vram_size=16 && $(basename "$t"); rc=\$?; simgpu-unload; $reload && exit \$rc" ;;
		simgpu_multi_gpu)
			# Unlinked, then with the two devices linked (each
			# maps the other's VRAM in place).
			basename "$t"
			echo "simgpu-unload && $reload link_groups=0,1 && $(basename "$t"); rc=\$?; simgpu-unload; $reload && exit \$rc" ;;
		*) basename "$t" ;;
		esac
	done
}

# The job timeout of every guest run: a job that takes a few hundred
# milliseconds on an idle host can take more than the default 5 s in a TCG
# guest on a loaded 2-core one (seen in CI: simgpu_madvise/atomic-global
# ended with -ETIMEDOUT; under host load it does 1 run in 7, and with a 60 s
# timeout 60 runs pass, the slowest in 20 s). The tests check outcomes, not
# time; a job that never ends still fails, and the tests of the timeout
# itself set their own.
run_params="job_timeout_ms=30000"

# A sparse that 7.3 accepts (bookworm's is too old for it), for both.
sparse=$("$SIMGPU_TOP/scripts/kernel/build-sparse.sh" | tail -n 1)

for k in $kernels; do
	log "kernel $k"
	kernel_resolve "$k"

	# Build with W=1 and sparse over every file; any diagnostic fails.
	blog=$SIMGPU_BUILD/$k/build-check.log
	mkdir -p "$SIMGPU_BUILD/$k"
	if module_build "$k" W=1 C=2 CHECK="$sparse" >"$blog" 2>&1 &&
	   ! grep -vE '^(Skipping BTF generation|make)' "$blog" | grep -q .; then
		row pass "$k/module-build-w1-sparse"
	else
		row fail "$k/module-build-w1-sparse"
		cat "$blog"
	fi

	cmds=$SIMGPU_BUILD/$k/test-cmds
	{
		echo "simgpu-info"
		echo "simgpu-stat --once"
		# On the built kernels the test_hmm anchors must be there.
		echo "$(kernel_built "$k" && echo 'modprobe test_hmm && ')simgpu-bench --quick --no-progress --repeat 2$(kernel_built "$k" && echo ' --require-hmm')"
		igt_cmds
		if kernel_built "$k"; then
			echo 'modprobe simgpu_kunit && rmmod simgpu_kunit'
			# benchmark_thp_migration is a benchmark with a 120 s
			# bound that TCG meets only on an idle host: not a
			# correctness test, left out. With KASAN, two more
			# outrun the harness's 30 s bound under TCG.
			skip="-T benchmark_thp_migration"
			if [ "$k" = kasan ]; then
				skip="$skip -T migrate_multiple -T migrate_remap_fault"
			fi
			echo "modprobe test_hmm && hmm-tests $skip; rc=\$?; rmmod test_hmm && exit \$rc"
		fi
	} >"$cmds"

	"$SIMGPU_TOP/scripts/qemu-run.sh" -k "$k" -p "$run_params" -c "$cmds" \
		-o "$SIMGPU_BUILD/$k/test-run" || true
	python3 "$SIMGPU_TOP/scripts/lib/guestlog.py" count \
		"$SIMGPU_BUILD/$k/test-run" "$k" >>"$results"

	# The differential run: a 7.3 kernel runs on the kernel's SVM core
	# (drm_gpusvm, drm_pagemap) by default; the IGT suite runs again on
	# simgpu's own. A subtest that passes on one core and fails on the
	# other is a bug in one of them (docs/upstream-findings.md).
	if kernel_built "$k"; then
		log "kernel $k: the IGT suite on svm_core=simgpu"
		igt_cmds >"$SIMGPU_BUILD/$k/test-cmds-simgpu"
		"$SIMGPU_TOP/scripts/qemu-run.sh" -k "$k" -p "svm_core=simgpu $run_params" \
			-c "$SIMGPU_BUILD/$k/test-cmds-simgpu" \
			-o "$SIMGPU_BUILD/$k/test-run-simgpu" || true
		python3 "$SIMGPU_TOP/scripts/lib/guestlog.py" count \
			"$SIMGPU_BUILD/$k/test-run-simgpu" "$k-simgpu-svm" \
			>>"$results"
	fi
done

# Kernel coding style, with the kernel's own checkpatch.
cp=$("$SIMGPU_TOP/scripts/kernel/build-kernel.sh" | tail -n 1)/scripts/checkpatch.pl
mapfile -t ksrc < <(cd "$SIMGPU_TOP" && git ls-files -co --exclude-standard \
	'kmod/*.[ch]' 'uapi/*.h' ':!kmod/simgpu_compat.h')
# The compat header is the one place that tests kernel versions.
if (cd "$SIMGPU_TOP" && perl "$cp" --no-tree --terse --file \
	--ignore FILE_PATH_CHANGES "${ksrc[@]}" &&
    perl "$cp" --no-tree --terse --file --ignore FILE_PATH_CHANGES \
	--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON kmod/simgpu_compat.h) \
	>"$SIMGPU_BUILD/checkpatch.log" 2>&1; then
	row pass "checkpatch"
else
	row fail "checkpatch"
	cat "$SIMGPU_BUILD/checkpatch.log"
fi

# The kernel patches the 7.3 kernels carry, as they would be sent (on
# stdin: given as scripts/..., checkpatch takes a patch for a source file).
kpatches_ok() {
	local p
	for p in "$SIMGPU_TOP"/scripts/kernel/patches/*.patch; do
		echo "${p##*/}:"
		perl "$cp" --no-tree --terse - <"$p" || return 1
	done
}
if kpatches_ok >"$SIMGPU_BUILD/checkpatch-patches.log" 2>&1; then
	row pass "checkpatch-kernel-patches"
else
	row fail "checkpatch-kernel-patches"
	cat "$SIMGPU_BUILD/checkpatch-patches.log"
fi

# The scripts, with shellcheck (sourced files followed).
mapfile -t shsrc < <(cd "$SIMGPU_TOP" && git ls-files -co --exclude-standard \
	'scripts/*.sh' 'scripts/guest/*' .ci/run)
if (cd "$SIMGPU_TOP" && shellcheck -x "${shsrc[@]}") \
	>"$SIMGPU_BUILD/shellcheck.log" 2>&1; then
	row pass "shellcheck"
else
	row fail "shellcheck"
	cat "$SIMGPU_BUILD/shellcheck.log"
fi

echo
awk -F'\t' '$1 != "pass" { print "  " toupper($1) "  " $2 }' "$results"
awk -F'\t' '
	{ n[$1]++ }
	END {
		printf "%d passed, %d failed, %d skipped\n", n["pass"], n["fail"], n["skip"]
		exit n["fail"] > 0 || n["pass"] == 0
	}' "$results"
