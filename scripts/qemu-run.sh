#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel in QEMU (TCG), load simgpu and run commands in the guest.
#
#   scripts/qemu-run.sh [options] -- COMMAND [ARGS...]   one command
#   scripts/qemu-run.sh [options] -c FILE                one command a line
#
# Options:
#   -k, --kernel NAME     stock (Debian's 6.12 LTS, linux-image-6.12-amd64),
#                         svm-dev (Linux 7.3, built by
#                         scripts/kernel/build-kernel.sh) or kasan (svm-dev
#                         with generic KASAN); default stock
#   -c, --commands FILE   guest shell commands, one a line
#   -p, --modparams STR   simgpu module parameters
#       --no-load         do not load simgpu at boot
#       --cmd-timeout S   per command (default 900)
#       --boot-timeout S  whole boot (default 3600)
#   -o, --out DIR         logs (default build/<kernel>/run)
#   -m, --mem MiB         guest memory (default 4096)
#   -q, --quiet           do not stream command output
#       --icount[=SHIFT]  guest time counts instructions (-icount shift=SHIFT,
#                         sleep=off; default shift 0: 1 ns an instruction)
#                         instead of following the host's clock, on one
#                         vCPU: timings reproducible from run to run
#                         (docs/benchmarks.md)
#
# Everything a command prints is streamed to stdout. The kernel log of the
# guest is checked: a WARNING, BUG, Oops, lockdep report, KASAN or kmemleak
# report, hung task or RCU stall fails the run and is printed. Exit status
# 0 when every command exited 0 (77, a skip, counts as success) and the
# kernel log is clean. Per-command output and status land in DIR/per-cmd/.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

kernel=stock
cmds=""
modparams=""
load=1
cmd_timeout=900
boot_timeout=3600
out=""
mem=4096
quiet=0
icount=""

while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	-c|--commands) cmds=$(realpath "$2"); shift 2 ;;
	-p|--modparams) modparams=$2; shift 2 ;;
	--no-load) load=0; shift ;;
	--cmd-timeout) cmd_timeout=$2; shift 2 ;;
	--boot-timeout) boot_timeout=$2; shift 2 ;;
	-o|--out) out=$2; shift 2 ;;
	-m|--mem) mem=$2; shift 2 ;;
	-q|--quiet) quiet=1; shift ;;
	--icount) icount=0; shift ;;
	--icount=*) icount=${1#--icount=}; shift ;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
	--) shift; break ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
case "$icount" in
''|[0-9]|10) ;;
*) die "--icount=SHIFT wants 0 to 10, not '$icount'" ;;
esac

"$SIMGPU_TOP/scripts/install-deps.sh"
out=${out:-$SIMGPU_BUILD/$kernel/run}
rm -rf "$out"
mkdir -p "$out"

if [ $# -gt 0 ]; then
	[ -z "$cmds" ] || die "give either -c FILE or -- COMMAND, not both"
	printf '%q ' "$@" >"$out/cmds"
	echo >>"$out/cmds"
elif [ -n "$cmds" ]; then
	cp "$cmds" "$out/cmds"
else
	die "nothing to run: -c FILE or -- COMMAND"
fi

kernel_resolve "$kernel"
log "kernel $kernel: $KVER"
module_build "$kernel"
userspace_build RelWithDebInfo
kernel_built "$kernel" && hmm_tests_build "$kernel"

cat >"$out/env" <<ENV
SIMGPU_LOAD=$load
SIMGPU_MODPARAMS="$modparams"
SIMGPU_CMD_TIMEOUT=$cmd_timeout
ENV
initramfs_build "$kernel" "$out/initramfs.cpio" "$out/cmds" "$out/env"

# How the guest keeps time, for whoever reads the results (bench.sh).
# icount runs every vCPU in one host thread, in turns, so a second vCPU
# adds no parallelism; and QEMU 7.2 with -icount never finishes bringing
# up a second x86 vCPU (the boot CPU stops making progress): one vCPU.
clock=(-accel tcg -smp 2)
if [ -n "$icount" ]; then
	clock=(-accel tcg -smp 1 -icount "shift=$icount,sleep=off")
	echo "icount shift=$icount,sleep=off smp=1" >"$out/clock"
else
	echo "wall smp=2" >"$out/clock"
fi

# tsc=reliable: a loaded host skews a TCG guest's TSC against its HPET;
# the clocksource watchdog then marks the TSC unstable and flips the
# sched_clock static key while other vCPUs run that code, and TCG's
# cross-vCPU code patching has left one executing the int3 of the patch
# (seen in a full run beside two other guests: "Oops: int3" in
# sched_clock_cpu(), a panic). The guest's clock only measures; nothing
# needs the watchdog.
append="console=ttyS0 loglevel=5 panic=-1 no_hash_pointers tsc=reliable"
# kmemleak is built into the project's kernels but off unless asked for.
kernel_built "$kernel" && append="$append kmemleak=on"

: >"$out/results.log"
log "booting QEMU (TCG, ${mem} MiB, clock: $(cat "$out/clock"))"
start=$(date +%s)
timeout --kill-after=10 "$boot_timeout" \
	qemu-system-x86_64 "${clock[@]}" -cpu max,la57=off -m "$mem" \
	-display none -vga none -no-reboot -nodefaults \
	-kernel "$VMLINUZ" -initrd "$out/initramfs.cpio" -append "$append" \
	-serial "file:$out/console.log" -serial "file:$out/results.log" \
	</dev/null >"$out/qemu.log" 2>&1 &
qemu=$!
if [ "$quiet" = 0 ]; then
	tail -n +1 -f --pid=$qemu "$out/results.log" |
		python3 "$SIMGPU_TOP/scripts/lib/guestlog.py" stream
fi
rc=0
wait $qemu || rc=$?
log "guest ran for $(( $(date +%s) - start ))s"
[ $rc -eq 124 ] && log "boot timeout (${boot_timeout}s) hit: guest killed"

python3 "$SIMGPU_TOP/scripts/lib/guestlog.py" check "$out"
