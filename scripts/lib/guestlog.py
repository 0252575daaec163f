#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read what a simgpu test guest reported.

The guest init (scripts/guest/init) writes a results channel with
"@@SIMGPU" marker lines around every command's output and the kernel log
printed while it ran. This tool:

  stream          copy the channel from stdin to stdout as it arrives,
                  command output only, with a header per command
  check DIR       split DIR/results.log into DIR/per-cmd/, look for kernel
                  splats in every kernel log and in DIR/console.log, write
                  DIR/summary.json; exit 0 only when the guest finished,
                  every command exited 0 or 77, and no splat was seen
  count DIR NAME  print one "STATUS<TAB>NAME/TEST" line per IGT subtest,
                  KUnit case, kselftest case, failed command and splat
                  found in DIR
"""

import json
import os
import re
import sys

MARK = "@@SIMGPU "

SPLAT = re.compile(
    r"WARNING:|BUG:|kernel BUG at|Oops|general protection fault|"
    r"Kernel panic|Call Trace:|INFO: task .* blocked for more than|"
    r"rcu: INFO|detected stalls|soft lockup|hard LOCKUP|KASAN:|UBSAN:|"
    r"suspected memory leak|unreferenced object|list_(add|del) corruption|"
    r"page dumped because|possible circular locking|possible recursive "
    r"locking|inconsistent lock state|Bad page state|refcount_t: "
)

SUBTEST = re.compile(r"^Subtest (\S+): (SUCCESS|FAIL|SKIP|CRASH|TIMEOUT)")
KTAP_CASE = re.compile(r"^(\s*)(not ok|ok) \d+ (.*?)(\s+# SKIP.*)?$")
KLOG_PREFIX = re.compile(r"^\[\s*\d+\.\d+\]\s?")


def parse(path):
    """Return (boot_klog, commands, kmemleak, done) from a results log."""
    boot, cmds, leak, done = [], [], None, False
    cur, sink = None, None
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if not line.startswith(MARK):
                if sink is not None:
                    sink.append(line)
                continue
            words = line[len(MARK):].split(" ", 2)
            tag = words[0]
            if tag == "BEGIN":
                cur = {"n": int(words[1]), "cmd": words[2] if len(words) > 2
                       else "", "out": [], "rc": None, "klog": []}
                cmds.append(cur)
                sink = cur["out"]
            elif tag == "END":
                cur["rc"] = int(words[2])
                sink = None
            elif tag == "KLOG":
                sink = boot if words[1] == "0" else cur["klog"]
            elif tag == "KMEMLEAK":
                leak = []
                sink = leak
            elif tag in ("KLOGEND", "KMEMLEAKEND"):
                sink = None
            elif tag == "DONE":
                done = True
            else:
                sink = None
    return boot, cmds, leak, done


def splats(lines):
    return [KLOG_PREFIX.sub("", l) for l in lines if SPLAT.search(l)]


def stream():
    show = False
    for raw in sys.stdin:
        line = raw.rstrip("\r\n")
        if line.startswith(MARK):
            words = line[len(MARK):].split(" ", 2)
            if words[0] == "BEGIN":
                print(f"--- [{words[1]}] {words[2] if len(words) > 2 else ''}")
                show = True
            elif words[0] == "END":
                print(f"--- [{words[1]}] exit {words[2]}")
                show = False
            elif words[0] == "BOOT":
                print(f"--- guest up: kernel {words[1]}")
            else:
                show = False
            sys.stdout.flush()
            continue
        if show:
            print(line, flush=True)


def check(d):
    boot, cmds, leak, done = parse(os.path.join(d, "results.log"))
    console = []
    cpath = os.path.join(d, "console.log")
    if os.path.exists(cpath):
        with open(cpath, errors="replace") as f:
            console = f.read().splitlines()

    os.makedirs(os.path.join(d, "per-cmd"), exist_ok=True)
    summary = {"done": done, "boot_splats": splats(boot),
               "console_splats": splats(console),
               "kmemleak": [l for l in (leak or []) if l.strip()],
               "commands": []}
    for c in cmds:
        base = os.path.join(d, "per-cmd", str(c["n"]))
        with open(base + ".out", "w") as f:
            f.write("\n".join(c["out"]) + "\n")
        with open(base + ".klog", "w") as f:
            f.write("\n".join(c["klog"]) + "\n")
        summary["commands"].append({"n": c["n"], "cmd": c["cmd"],
                                    "rc": c["rc"], "splats": splats(c["klog"])})
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)

    ok = True
    if not done:
        print("guest did not finish (timeout, panic or crash): see "
              + cpath)
        for l in console[-40:]:
            print("  console: " + l)
        ok = False
    for what in ("boot_splats", "console_splats"):
        if summary[what]:
            ok = False
            print(f"kernel splat ({what}):")
            for l in summary[what][:40]:
                print("  " + l)
    if summary["kmemleak"]:
        ok = False
        print("kmemleak found leaks:")
        for l in summary["kmemleak"][:60]:
            print("  " + l)
    for c in summary["commands"]:
        if c["rc"] not in (0, 77):
            ok = False
            print(f"command {c['n']} failed (exit {c['rc']}): {c['cmd']}")
        if c["splats"]:
            ok = False
            print(f"kernel splat while command {c['n']} ran: {c['cmd']}")
            for l in c["splats"][:40]:
                print("  " + l)
    return 0 if ok else 1


def program(cmd):
    """The program a command runs: the first word of its first part that
    is not a module load or unload ("modprobe x && prog" gives prog;
    simgpu-unload is an unload), else
    the first module loaded ("modprobe m && rmmod m" gives m). The
    parameters simgpu was loaded with before it follow in brackets
    ("modprobe simgpu vram_size=16 && prog" gives prog[vram_size=16]), so
    that runs of a program under different parameters count apart; the
    run's own parameters ($SIMGPU_MODPARAMS) are in the run's name."""
    parts = [part.split() for part in re.split(r"&&|;", cmd) if part.split()]
    params = []
    for words in parts:
        if words[0] == "modprobe" and words[1:2] == ["simgpu"]:
            params = [w for w in words[2:] if not w.startswith("$")]
        elif words[0] not in ("modprobe", "rmmod", "simgpu-unload"):
            prog = os.path.basename(words[0])
            return f"{prog}[{' '.join(params)}]" if params else prog
    return parts[0][-1] if parts else "?"


def count(d, name):
    boot, cmds, leak, done = parse(os.path.join(d, "results.log"))
    rows = []
    for c in cmds:
        prog = program(c["cmd"])
        seen = False
        for line in c["out"]:
            m = SUBTEST.match(line)
            if m:
                seen = True
                status = {"SUCCESS": "pass", "SKIP": "skip"}.get(
                    m.group(2), "fail")
                rows.append((status, f"{name}/{prog}/{m.group(1)}"))
        # KTAP: count leaf test cases (indented "ok" lines whose name is
        # not a parameterised parent, which carries its own sub-KTAP).
        ktap = [KLOG_PREFIX.sub("", l) for l in c["klog"]]
        parents = set()
        for i, l in enumerate(ktap):
            if l.strip().startswith("# Subtest:"):
                parents.add(l.strip()[len("# Subtest:"):].strip())
        for l in ktap:
            m = KTAP_CASE.match(l)
            if not m or not m.group(1):
                continue
            case = m.group(3).strip()
            if case in parents:
                continue
            seen = True
            status = ("skip" if m.group(4) else
                      "pass" if m.group(2) == "ok" else "fail")
            rows.append((status, f"{name}/kunit/{case}"))
        # kselftest TAP on stdout (hmm-tests): "ok N name" at column 0.
        for line in c["out"]:
            m = KTAP_CASE.match(line)
            if not m or m.group(1):
                continue
            seen = True
            status = ("skip" if m.group(4) else
                      "pass" if m.group(2) == "ok" else "fail")
            rows.append((status, f"{name}/{prog}/{m.group(3).strip()}"))
        if c["rc"] not in (0, 77) and not any(
                s == "fail" and r.startswith(f"{name}/{prog}/")
                for s, r in rows):
            rows.append(("fail", f"{name}/{prog}: exit {c['rc']}"))
        elif not seen:
            rows.append(("pass" if c["rc"] == 0 else "skip",
                         f"{name}/{prog}"))
        if splats(c["klog"]):
            rows.append(("fail", f"{name}/{prog}: kernel splat"))
    if not done:
        rows.append(("fail", f"{name}: guest did not finish"))
    if splats(boot):
        rows.append(("fail", f"{name}: kernel splat at boot"))
    if leak and any(l.strip() for l in leak):
        rows.append(("fail", f"{name}: kmemleak"))
    for status, row in rows:
        print(f"{status}\t{row}")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "stream":
        stream()
        return 0
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    if len(argv) == 4 and argv[1] == "count":
        return count(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
