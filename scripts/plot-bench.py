#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the JSON of simgpu-bench (scripts/bench.sh) into plots and tables.

  scripts/plot-bench.py [--plots DIR] [--markdown] BENCH.json

--plots DIR writes one PNG per workload into DIR (gnuplot): the workload's
median against the size, with min..max error bars, one line per SVM backend
it was measured on (the same colour, solid for the first backend, dashed
for the next), next to its anchors measured in the same run (memcpy;
test_hmm where it was available), and overview.png, every workload's speed
relative to memcpy on each backend. MiB/s and ops/s plots: higher is
better; microsecond plots (per fault, per call): lower is.

--markdown prints a Markdown table of every result row with its backend,
anchors and ratios, each row of one backend next to the other's (the order
of the JSON), for README.md.
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys


def fmt(value):
    """A number as the simgpu-bench table shows it ("-": none)."""
    if value is None or not math.isfinite(value):
        return "-"
    mag = abs(value)
    if mag >= 1000:
        return f"{value:.0f}"
    if mag >= 100:
        return f"{value:.1f}"
    if mag >= 10:
        return f"{value:.2f}"
    if mag >= 1 or mag == 0:
        return f"{value:.3f}"
    return f"{value:.4g}"


def timing_text(doc):
    """How the guest measured time, from the "run" object bench.sh adds."""
    run = doc.get("run") or {}
    clock = run.get("clock")
    vcpus = f", {run['vcpus']} vCPU{'s' if run['vcpus'] != 1 else ''}" if "vcpus" in run else ""
    if clock == "icount":
        return f"QEMU TCG, icount ({run.get('icount', '?')}){vcpus}"
    if clock == "wall":
        return f"QEMU TCG, wall clock{vcpus}"
    return "timing mode unknown"


def backend_of(row):
    """The SVM backend a row was measured on; a JSON of before there were
    several has rows of simgpu's own core."""
    return row.get("backend", "simgpu")


def backends(doc):
    """The SVM backends of the run, in order: (name, available, reason)."""
    listed = doc.get("backends")
    if listed:
        return [(b["name"], b.get("available", False), b.get("reason", "")) for b in listed]
    return [("simgpu", True, "")]


def describe(doc):
    """One line: which kernel, which timing, which SVM backends, how many
    samples."""
    run = doc.get("run") or {}
    kernel = doc.get("kernel", "?")
    if run.get("kernel"):
        kernel = f"{run['kernel']} ({kernel})"
    measured = [name for name, available, _ in backends(doc) if available]
    svm = f", SVM backend{'s' if len(measured) != 1 else ''} {', '.join(measured)}"
    return f"kernel {kernel}, {timing_text(doc)}{svm}, repeat {doc.get('repeat', '?')}"


def series_style(doc, label_index, backend):
    """Colour by row label, dashes and points by backend."""
    order = [name for name, _, _ in backends(doc)]
    b = order.index(backend) if backend in order else len(order)
    dash = "" if b == 0 else " dt (10,5)"
    return f"lt {label_index % 12 + 1}{dash} pt {(7, 5, 9, 13)[b % 4]}"


def series_title(doc, label, backend):
    """A series' key: its row label, and its backend when there are several."""
    if len([name for name, available, _ in backends(doc) if available]) > 1:
        return f"{label} [{backend}]"
    return label


def base_name(workload):
    """The workload a row belongs to: two-devices/dev1 -> two-devices."""
    return workload.split("/", 1)[0]


def groups(results):
    """Rows grouped into plots: (name, unit) -> rows, in first-seen order.

    A row named "(...)" is a comparison made by the workload before it
    (e.g. munmap of memory the GPU never mapped) and goes on its plot.
    """
    out = {}
    owner = None
    for row in results:
        name = row["workload"]
        if name.startswith("(") and owner is not None:
            name = owner
        else:
            owner = base_name(name)
            name = owner
        out.setdefault((name, row["unit"]), []).append(row)
    return out


def hmm_of(row):
    h = row.get("test_hmm")
    return h if h and h.get("available") else None


def gp_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def datablock(name, lines):
    return f"${name} << EOD\n" + "".join(line + "\n" for line in lines) + "EOD\n"


def slug(text):
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")


def plot_group(name, unit, rows, doc, terminal, png):
    """gnuplot commands drawing one workload (name, unit) into png."""
    blocks = []
    plots = []
    series = {}
    for row in rows:
        series.setdefault((row["workload"], backend_of(row)), []).append(row)
    labels = list(dict.fromkeys(label for label, _ in series))
    for i, ((label, backend), srows) in enumerate(series.items()):
        lines = [f"{r['size']} {r['median']} {r['min']} {r['max']}"
                 for r in sorted(srows, key=lambda r: r["size"])]
        blocks.append(datablock(f"w{i}", lines))
        plots.append(f"$w{i} using 1:2:3:4 with yerrorlines lw 2 "
                     f"{series_style(doc, labels.index(label), backend)} "
                     f"title {gp_quote(series_title(doc, label, backend))}")
    # Anchors: the same for every series of a size (two-devices), once.
    memcpy = {}
    hmm = {}
    for row in rows:
        if row["workload"].startswith("("):
            continue
        memcpy.setdefault(row["memcpy"]["kind"], {})[row["size"]] = row["memcpy"]["value"]
        h = hmm_of(row)
        if h:
            hmm.setdefault(h["op"], {})[row["size"]] = h
    for i, (kind, by_size) in enumerate(sorted(memcpy.items())):
        lines = [f"{s} {v}" for s, v in sorted(by_size.items()) if v is not None]
        if not lines:
            continue
        blocks.append(datablock(f"m{i}", lines))
        plots.append(f"$m{i} using 1:2 with linespoints dt 2 lw 2 pt 6 lc rgb '#555555' "
                     f"title {gp_quote('anchor: ' + anchor_name(kind))}")
    for i, (op, by_size) in enumerate(sorted(hmm.items())):
        lines = [f"{s} {h['median']} {h['min']} {h['max']}" for s, h in sorted(by_size.items())]
        blocks.append(datablock(f"h{i}", lines))
        plots.append(f"$h{i} using 1:2:3:4 with yerrorlines dt 3 lw 2 pt 4 lc rgb '#d95f02' "
                     f"title {gp_quote('anchor: test_hmm ' + op)}")

    if higher_is_better(rows[0]):
        ylabel = f"{unit} (higher is better)"
    else:
        ylabel = f"{unit}{per_what(rows[0])} (lower is better)"
    sizes = sorted({r["size"] for r in rows})
    xtics = ", ".join(f"{gp_quote(r['size_text'])} {r['size']}"
                      for r in sorted({r["size"]: r for r in rows}.values(),
                                      key=lambda r: r["size"]))
    # A single size still gets a visible x range.
    xmin, xmax = sizes[0] / 2, sizes[-1] * 2
    return (f"set terminal {terminal}\n"
            f"set output {gp_quote(png)}\n"
            f"set title {gp_quote(name + chr(10) + describe(doc))} noenhanced\n"
            "set key outside right top noenhanced\n"
            "set grid\n"
            "set logscale xy\n"
            f"set xrange [{xmin}:{xmax}]\n"
            f"set xtics ({xtics}) rotate by -30\n"
            "set xlabel 'size'\n"
            f"set ylabel {gp_quote(ylabel)}\n"
            + "".join(blocks)
            + "plot " + ", \\\n     ".join(plots) + "\n"
            "unset output\n")


def anchor_name(kind):
    """What a row's first anchor is: a memcpy (cold, warm) or one CPU thread."""
    return "one CPU thread" if kind == "cpu" else "memcpy " + kind


def higher_is_better(row):
    return row.get("higher_is_better", row["unit"] == "MiB/s")


def per_what(row):
    """The unit's suffix of a lower-is-better row."""
    if higher_is_better(row):
        return ""
    return " per fault" if row["workload"] == "sparse-faults" else " per call"


def plot_overview(doc, terminal, png):
    """gnuplot commands: each workload's ratio to memcpy against size."""
    blocks = []
    plots = []
    series = {}
    seen = set()
    for row in doc["results"]:
        # munmap-invalidate's per-call row has its MiB/s row's ratio.
        key = (row["workload"], row["size"], backend_of(row))
        if (row["workload"].startswith("(") or row.get("ratio") is None or key in seen or
                row["memcpy"]["kind"] == "cpu"):
            continue
        seen.add(key)
        series.setdefault((row["workload"], backend_of(row)), []).append(row)
    if not series:
        return None
    labels = list(dict.fromkeys(label for label, _ in series))
    for i, ((label, backend), rows) in enumerate(series.items()):
        lines = [f"{r['size']} {r['ratio']}" for r in sorted(rows, key=lambda r: r["size"])]
        blocks.append(datablock(f"r{i}", lines))
        plots.append(f"$r{i} using 1:2 with linespoints lw 2 "
                     f"{series_style(doc, labels.index(label), backend)} "
                     f"title {gp_quote(series_title(doc, label, backend))}")
    sizes = {r["size"]: r["size_text"] for rows in series.values() for r in rows}
    xtics = ", ".join(f"{gp_quote(t)} {s}" for s, t in sorted(sizes.items()))
    # The 1 line in view, and a range even for a single point.
    ratios = [r["ratio"] for rows in series.values() for r in rows] + [1]
    return (f"set terminal {terminal}\n"
            f"set output {gp_quote(png)}\n"
            f"set title {gp_quote('speed relative to memcpy (> 1: faster)' + chr(10) + describe(doc))} noenhanced\n"
            "set key outside right noenhanced\n"
            "set grid\n"
            "set logscale xy\n"
            f"set xrange [{min(sizes) / 2}:{max(sizes) * 2}]\n"
            f"set yrange [{min(ratios) / 2}:{max(ratios) * 2}]\n"
            f"set xtics ({xtics}) rotate by -30\n"
            "set xlabel 'size'\n"
            "set ylabel '× memcpy'\n"
            "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#555555'\n"
            + "".join(blocks)
            + "plot " + ", \\\n     ".join(plots) + "\n"
            "unset output\n")


def write_plots(doc, outdir):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        sys.exit("plot-bench: no gnuplot (scripts/install-deps.sh installs gnuplot-nox)")
    os.makedirs(outdir, exist_ok=True)
    # Twelve distinct colours (gnuplot's default cycle has eight), none of
    # them the anchors' grey and orange.
    colours = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#bcbd22", "#17becf", "#000000", "#aec7e8", "#98df8a", "#c49c94"]
    terminal = ("pngcairo size 1024,600 font ',10'\n"
                + "".join(f"set linetype {i + 1} lc rgb '{c}'\n" for i, c in enumerate(colours))
                + f"set linetype cycle {len(colours)}")
    grouped = groups(doc["results"])
    units = {}
    for name, unit in grouped:
        units.setdefault(name, []).append(unit)
    script = []
    written = []
    for (name, unit), rows in grouped.items():
        file = slug(name) + ("" if len(units[name]) == 1 else
                             "-" + ("mib-s" if unit == "MiB/s" else slug(unit)))
        png = os.path.join(outdir, file + ".png")
        script.append(plot_group(name, unit, rows, doc, terminal, png))
        written.append(png)
    overview = os.path.join(outdir, "overview.png")
    text = plot_overview(doc, terminal, overview)
    if text:
        script.append(text)
        written.append(overview)
    for stale in os.listdir(outdir):
        path = os.path.join(outdir, stale)
        if stale.endswith(".png") and path not in written:
            os.unlink(path)
    if not script:
        return written
    result = subprocess.run([gnuplot], input="reset\n".join(script), text=True,
                            capture_output=True, check=False)
    if result.returncode != 0 or result.stderr.strip():
        sys.exit("plot-bench: gnuplot failed:\n" + result.stderr)
    return written


def owners(results):
    """Each row's workload: its own base name, or for a "(...)" row the
    workload of the row before it (as groups() puts them on one plot)."""
    out = []
    owner = None
    for row in results:
        name = row["workload"]
        if not (name.startswith("(") and owner is not None):
            owner = base_name(name)
        out.append(owner)
    return out


def place_skips(results, skipped):
    """Where each skip goes among the rows: {row index: [skips after it]},
    and the skips of workloads without a row. A skip of a whole workload
    follows its last row, one of a row (atomics-contended/global) the last
    row of that name; as simgpu-bench orders its table."""
    owner = owners(results)
    after = {}
    alone = []
    for s in skipped:
        name = s["workload"]
        same_row = [i for i, r in enumerate(results) if r["workload"] == name]
        same_workload = [i for i, o in enumerate(owner) if o == base_name(name)]
        if name != base_name(name) and same_row:
            after.setdefault(same_row[-1], []).append(s)
        elif same_workload:
            after.setdefault(same_workload[-1], []).append(s)
        else:
            alone.append(s)
    return after, alone


def markdown(doc):
    run = doc.get("run") or {}
    params = f", simgpu {run['modparams']}" if run.get("modparams") else ""
    out = [f"simgpu-bench, {describe(doc)}{params}.", ""]
    out.append("| workload | size | backend | result | anchor: memcpy | × memcpy "
               "| anchor: test_hmm | × test_hmm |")
    out.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    results = doc["results"]
    after, alone = place_skips(results, doc.get("skipped", []))

    def skip_line(workload, backend, reason):
        return f"| {workload} | | {backend} | skipped: {reason} | | | | |"

    for i, r in enumerate(results):
        unit = r["unit"]
        per = per_what(r)
        h = hmm_of(r)
        if h:
            hmm_cell, hmm_ratio = f"{fmt(h['median'])} {unit} ({h['op']})", fmt(h["ratio"])
        else:
            hmm_cell, hmm_ratio = "-", "-"
        out.append(f"| {r['workload']} | {r['size_text']} | {backend_of(r)} "
                   f"| {fmt(r['median'])} {unit}{per} "
                   f"| {fmt(r['memcpy']['value'])} {unit} ({anchor_name(r['memcpy']['kind'])}) "
                   f"| {fmt(r['ratio'])} | {hmm_cell} | {hmm_ratio} |")
        for s in after.get(i, []):
            out.append(skip_line(s["workload"], backend_of(s), s["reason"]))
    # Workloads no backend ran: one line per backend and reason.
    grouped = {}
    for s in alone:
        grouped.setdefault((backend_of(s), s["reason"]), []).append(s["workload"])
    for (backend, reason), names in grouped.items():
        out.append(skip_line(", ".join(names), backend, reason))
    for name, available, reason in backends(doc):
        if not available or reason:
            out.append(f"| (every workload) | | {name} | {reason} | | | | |")
    out.append("")
    out.append("Result: median of the samples; MiB/s and ops/s: higher is better, us: "
               "lower is better. backend: the SVM core simgpu was loaded with (svm_core: "
               "simgpu, its own; kernel, the kernel's drm_gpusvm and drm_pagemap). × memcpy / × test_hmm: "
               "speed relative to the anchor measured in the same run on the same size, the "
               "same for every backend (> 1: faster than the anchor); "
               "memcpy cold: into never-touched memory, warm: between touched buffers; "
               "atomics-contended's first anchor is one CPU thread's uncontended atomics, "
               "measured with each row.")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", help="simgpu-bench JSON (build/<kernel>/bench.json)")
    ap.add_argument("--plots", metavar="DIR", help="write PNG plots into DIR")
    ap.add_argument("--markdown", action="store_true",
                    help="print a Markdown table of the results")
    args = ap.parse_args()
    if not args.plots and not args.markdown:
        ap.error("nothing to do: --plots DIR and/or --markdown")
    with open(args.json, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("tool") != "simgpu-bench":
        sys.exit(f"plot-bench: {args.json} is not simgpu-bench JSON")
    if args.plots:
        for png in write_plots(doc, args.plots):
            print(f"plot-bench: {png}", file=sys.stderr)
    if args.markdown:
        print(markdown(doc))


if __name__ == "__main__":
    main()
