// SPDX-License-Identifier: MIT
//
// simgpu-bench: shared-virtual-memory costs of simgpu (GPU first touch,
// sparse faults, munmap invalidation, several queues at once, two devices,
// GPU atomics against CPU atomics under each MADVISE atomic policy; VRAM
// migration on faults and PREFETCH, CPU faults back, eviction), each next
// to a CPU memcpy of the same size (for atomics, the CPU's own atomics)
// measured in the same process and, where test_hmm.ko is loaded, the
// matching operation of the kernel's reference HMM driver on the same size.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <sys/utsname.h>
#include <unistd.h>
#include <vector>

#include "backend.hpp"
#include "hmm.hpp"
#include "simgpu/format.hpp"
#include "util.hpp"
#include "workloads.hpp"

using namespace simgpu_bench;

namespace {

void usage(FILE* out)
{
    std::fprintf(out,
                 "usage: simgpu-bench [options]\n"
                 "  --workload NAME[,NAME]  default: all of\n"
                 "                          first-touch-populated, first-touch-untouched,\n"
                 "                          sparse-faults, munmap-invalidate,\n"
                 "                          multi-thread-faults, two-devices,\n"
                 "                          atomics-contended (its ATOMIC_GLOBAL and\n"
                 "                          ATOMIC_DEVICE rows need VRAM migration),\n"
                 "                          and with VRAM migration (else skipped):\n"
                 "                          vram-first-touch, vram-thp-first-touch (2 MiB\n"
                 "                          multiples, needs root), prefetch-vram,\n"
                 "                          prefetch-system,\n"
                 "                          vram-cpu-touch, evict-thrash (at twice VRAM)\n"
                 "  --sizes LIST            default 4K,64K,2M,16M (K/M/G binary, up to 1G)\n"
                 "  --repeat N              samples per workload and size (default 5)\n"
                 "  --quick                 sizes 64K,2M, repeat 3, thrash-max 16M (unless\n"
                 "                          given), atomics-contended samples of 100 ms\n"
                 "                          (else 200 ms)\n"
                 "  --device I              simgpu device index (default 0)\n"
                 "  --threads T             exec queues of multi-thread-faults (default 2)\n"
                 "  --thrash-max SIZE       evict-thrash only when twice VRAM is at most\n"
                 "                          this (default 128M)\n"
                 "  --backends LIST         SVM backends to measure every workload on, in\n"
                 "                          turn: simgpu, kernel (svm_core), or all (default:\n"
                 "                          the one simgpu is loaded with); simgpu is reloaded\n"
                 "                          for each (rmmod, modprobe simgpu $SIMGPU_MODPARAMS\n"
                 "                          svm_core=B: needs root) and at the end on the one\n"
                 "                          it was loaded with; a backend the kernel refuses is\n"
                 "                          reported as not available\n"
                 "  --json FILE             results as JSON\n"
                 "  --no-progress           no progress line on stderr\n"
                 "  --require-hmm           fail when the test_hmm anchors are unavailable\n"
                 "test_hmm anchors: measured when /dev/hmm_dmirror0 exists (modprobe\n"
                 "test_hmm) and simgpu-bench was built against test_hmm_uapi.h.\n"
                 "Exit status: 0 ok, 1 a GPU job failed or a result was wrong, 2 usage,\n"
                 "77 no simgpu device.\n");
}

[[noreturn]] void usage_error(const std::string& msg)
{
    std::fprintf(stderr, "simgpu-bench: %s\n", msg.c_str());
    usage(stderr);
    std::exit(2);
}

unsigned parse_uint(const std::string& opt, const char* text, unsigned lo, unsigned hi)
{
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(text, &end, 10);
    if (errno || !*text || *end || v < lo || v > hi)
        usage_error(opt + " wants a number from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + ", not '" + text + "'");
    return static_cast<unsigned>(v);
}

Options parse_args(int argc, char** argv)
{
    Options opt;
    bool quick = false, sizes_given = false, repeat_given = false, thrash_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc)
                usage_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            usage(stdout);
            std::exit(0);
        } else if (a == "--workload" || a == "--workloads") {
            opt.workloads = split_list(value());
            for (const auto& w : opt.workloads) {
                if (std::find(all_workloads.begin(), all_workloads.end(), w) ==
                    all_workloads.end())
                    usage_error("unknown workload '" + w + "'");
            }
            if (opt.workloads.empty())
                usage_error("--workload wants at least one name");
        } else if (a == "--sizes") {
            auto s = parse_sizes(value());
            if (!s.ok())
                usage_error(s.error().what);
            opt.sizes = s.value();
            sizes_given = true;
        } else if (a == "--repeat") {
            opt.repeat = parse_uint(a, value(), 1, 1000);
            repeat_given = true;
        } else if (a == "--quick") {
            quick = true;
        } else if (a == "--device") {
            opt.device = parse_uint(a, value(), 0, 63);
        } else if (a == "--threads") {
            opt.threads = parse_uint(a, value(), 1, 64);
        } else if (a == "--thrash-max") {
            auto s = parse_size(value());
            if (!s.ok())
                usage_error(s.error().what);
            opt.thrash_max = s.value();
            thrash_given = true;
        } else if (a == "--backends" || a == "--backend") {
            auto b = parse_backends(value());
            if (!b.ok())
                usage_error(b.error().what);
            opt.backends = b.value();
        } else if (a == "--json") {
            opt.json_path = value();
        } else if (a == "--no-progress") {
            opt.progress = false;
        } else if (a == "--require-hmm") {
            opt.require_hmm = true;
        } else {
            usage_error("unknown option '" + a + "'");
        }
    }
    if (quick) {
        if (!sizes_given)
            opt.sizes = {64 * KiB, 2 * MiB};
        if (!repeat_given)
            opt.repeat = 3;
        if (!thrash_given)
            opt.thrash_max = 16 * MiB;
        opt.atomics_sample_ms = 100;
    }
    return opt;
}

std::string read_line(const char* path)
{
    std::ifstream f(path);
    std::string line;
    if (!f || !std::getline(f, line))
        return "unknown";
    return line;
}

// Progress on stderr once a run has lasted 5 s: one "\r"-updated line
// on a terminal, else (a log file) a plain line every 30 s.
class Progress {
public:
    Progress(bool enabled, size_t total)
        : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1), total_(total), start_(now_s())
    {
    }

    void step(const std::string& label)
    {
        ++done_;
        const double now = now_s();
        const double every = tty_ ? 1.0 : 30.0;
        if (!enabled_ || now - start_ < 5.0 || now - last_ < every)
            return;
        last_ = now;
        char buf[160];
        const int n = std::snprintf(buf, sizeof(buf), "[%zu/%zu samples, %.0f s] %s", done_,
                                    total_, now - start_, label.c_str());
        if (!tty_) {
            std::fprintf(stderr, "simgpu-bench: %s\n", buf);
            return;
        }
        width_ = std::max(width_, n);
        std::fprintf(stderr, "\r%-*s", width_, buf);
        std::fflush(stderr);
        dirty_ = true;
    }

    // Before a table line: the progress line goes away.
    void clear()
    {
        if (!dirty_)
            return;
        std::fprintf(stderr, "\r%*s\r", width_, "");
        std::fflush(stderr);
        dirty_ = false;
    }

private:
    bool enabled_;
    bool tty_;
    size_t total_;
    size_t done_ = 0;
    double start_;
    double last_ = 0;
    int width_ = 0;
    bool dirty_ = false;
};

std::string row_json(const Row& r, const std::string& backend, unsigned repeat)
{
    JsonObject o;
    o.string("workload", r.workload)
        .integer("size", r.size)
        .string("size_text", simgpu::format_bytes(r.size))
        .string("backend", backend)
        .string("unit", r.unit)
        .boolean("higher_is_better", r.higher_is_better)
        .number("min", r.stats.min)
        .number("median", r.stats.median)
        .number("max", r.stats.max)
        .integer("repeat", repeat);
    JsonObject anchor;
    anchor.string("kind", r.anchor_kind).number("value", r.anchor).string("unit", r.unit);
    if (r.memcpy_cold.count)
        anchor.stats("cold_mib_s", r.memcpy_cold).stats("warm_mib_s", r.memcpy_warm);
    o.field("memcpy", anchor.str()).number("ratio", r.ratio);
    if (r.hmm) {
        JsonObject h;
        h.string("op", r.hmm->op).string("what", r.hmm->what).boolean("available",
                                                                       r.hmm->available);
        if (r.hmm->available)
            h.string("unit", r.unit)
                .number("min", r.hmm->stats.min)
                .number("median", r.hmm->stats.median)
                .number("max", r.hmm->stats.max)
                .number("ratio", r.hmm->ratio);
        else
            h.string("reason", r.hmm->reason);
        o.field("test_hmm", h.str());
    } else {
        o.null("test_hmm");
    }
    if (r.counters) {
        JsonObject c;
        c.integer("faults", r.counters->faults)
            .integer("pages_faulted", r.counters->pages_faulted)
            .integer("ranges_created", r.counters->ranges_created)
            .integer("invalidations", r.counters->invalidations);
        if (const auto& m = r.counters->migration)
            c.integer("migrate_to_vram_pages", m->to_vram_pages)
                .integer("migrate_to_ram_pages", m->to_ram_pages)
                .integer("migrate_to_ram_chunks", m->to_ram_chunks)
                .integer("evictions", m->evictions)
                .integer("evicted_pages", m->evicted_pages)
                .integer("migrate_fallbacks", m->fallbacks)
                .integer("migrate_to_vram_thp", m->to_vram_thp)
                .integer("migrate_to_ram_thp", m->to_ram_thp);
        if (const auto& e = r.counters->exclusive_pages)
            c.integer("exclusive_pages", *e);
        if (const auto& ns = r.counters->stage_ns) {
            JsonObject st;
            for (size_t s = 0; s < ns->size(); ++s)
                st.integer(fault_stages[s], (*ns)[s]);
            c.field("fault_stage_ns", st.str());
        }
        o.field("counters", c.str());
    } else {
        o.null("counters");
    }
    for (const auto& [k, v] : r.extra)
        o.field(k, v);
    if (!r.notes.empty()) {
        std::vector<std::string> notes;
        for (const auto& n : r.notes)
            notes.push_back(json_string(n));
        std::string a = "[";
        for (size_t i = 0; i < notes.size(); ++i)
            a += (i ? ", " : "") + notes[i];
        o.field("notes", a + "]");
    }
    return o.str();
}

// What the workloads measured on one SVM backend.
struct Pass {
    std::string backend;
    // Why it was not measured (not available, no device) or stopped (a
    // failure); empty when it ran to the end.
    std::string why_not;
    bool ran = false; // the devices were set up: the fields below are known
    std::string device_path;
    Stats empty_job;
    bool counters_ok = false;
    uint64_t vram_size = 0;
    bool vram_migration = false;
    std::vector<Row> rows;
    std::vector<Skipped> skipped;
    // Rows and skips in the order measured; line i is rows[at[i]], or
    // skipped[at[i]] for a skip (unit empty).
    std::vector<PassLine> lines;
    std::vector<size_t> at;
};

// Runs every workload on the backend simgpu is loaded with now, into
// @pass: 0, or the exit status of a failure, which is printed.
int run_pass(const Options& opt, Anchors& anchors, Pass& pass, Progress& progress)
{
    auto enumerated = simgpu::Device::enumerate();
    if (!enumerated.ok()) {
        pass.why_not = enumerated.error().message();
        std::fprintf(stderr, "simgpu-bench: %s\n", pass.why_not.c_str());
        return 77;
    }
    std::vector<simgpu::Device> devices = std::move(enumerated).value();
    if (devices.empty()) {
        pass.why_not = "no simgpu device";
        std::fprintf(stderr, "simgpu-bench: %s\n", pass.why_not.c_str());
        return 77;
    }
    if (opt.device >= devices.size()) {
        pass.why_not = "no device " + std::to_string(opt.device) + " (" +
                       std::to_string(devices.size()) + " simgpu devices)";
        std::fprintf(stderr, "simgpu-bench: %s\n", pass.why_not.c_str());
        return 2;
    }
    pass.device_path = devices[opt.device].path();
    try {
        Bench bench(opt, devices, anchors, pass.backend);
        pass.counters_ok = bench.counters().available();
        pass.empty_job = bench.empty_job_us();
        pass.vram_size = bench.gpu().vram_size;
        pass.vram_migration = bench.gpu().vram_migration();
        pass.ran = true;
        std::printf("svm_core=%s: device %u (%s), VRAM %s, migration %s; empty job exec+wait "
                    "median %s us (min %s, max %s); counters %s\n",
                    pass.backend.c_str(), opt.device, pass.device_path.c_str(),
                    simgpu::format_bytes(pass.vram_size).c_str(),
                    pass.vram_migration ? "yes" : "no (VRAM workloads skip)",
                    format_number(pass.empty_job.median).c_str(),
                    format_number(pass.empty_job.min).c_str(),
                    format_number(pass.empty_job.max).c_str(),
                    pass.counters_ok
                        ? "from debugfs"
                        : ("unavailable: " + bench.counters().why_not()).c_str());
        bench.on_sample = [&](const std::string& label) {
            progress.step(pass.backend + ": " + label);
        };

        for (const std::string& w : opt.workloads) {
            for (const uint64_t size : opt.sizes) {
                if (own_size(w) && size != opt.sizes.front())
                    break;
                std::vector<Skipped> skipped;
                const std::vector<Row> rows = bench.run(w, size, skipped);
                progress.clear();
                for (const Row& r : rows) {
                    pass.lines.push_back({w, size, r.workload, r.unit});
                    pass.at.push_back(pass.rows.size());
                    pass.rows.push_back(r);
                }
                for (const Skipped& sk : skipped) {
                    pass.lines.push_back({w, size, sk.workload, ""});
                    pass.at.push_back(pass.skipped.size());
                    pass.skipped.push_back(sk);
                }
                if (rows.empty() && !skipped.empty() && !skipped.front().this_size_only)
                    break;
            }
        }
    } catch (const std::exception& e) {
        progress.clear();
        std::fflush(stdout);
        pass.why_not = "failed: " + std::string(e.what());
        std::fprintf(stderr, "\nsimgpu-bench: svm_core=%s: FAILED: %s\n", pass.backend.c_str(),
                     e.what());
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    const Options opt = parse_args(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);

    const std::string loaded = loaded_backend();
    if (loaded.empty()) {
        std::fprintf(stderr, "simgpu-bench: simgpu is not loaded\n");
        return 77;
    }
    const std::vector<std::string> backends =
        opt.backends.empty() ? std::vector<std::string>{loaded} : opt.backends;

    utsname uts{};
    uname(&uts);
    const std::string thp = read_line("/sys/kernel/mm/transparent_hugepage/enabled");
    Anchors anchors;
    const std::string& hmm_why_not = anchors.hmm_unavailable();
    std::string backend_list;
    for (const std::string& b : backends)
        backend_list += (backend_list.empty() ? "" : ", ") + b;
    std::printf("simgpu-bench v1  kernel %s  device %u  repeat %u  SVM backends %s\n",
                uts.release, opt.device, opt.repeat, backend_list.c_str());
    std::printf("THP %s; test_hmm anchors %s\n", thp.c_str(),
                hmm_why_not.empty()
                    ? (std::string("from ") + HmmMirror::device_path + " (" +
                       HmmMirror::to_dev_ioctl() +
                       (HmmMirror::to_sys_ioctl().empty() ? "" : ", ") +
                       HmmMirror::to_sys_ioctl() + ")")
                          .c_str()
                    : ("unavailable: " + hmm_why_not).c_str());
    if (opt.require_hmm && !hmm_why_not.empty()) {
        std::fprintf(stderr, "simgpu-bench: --require-hmm: test_hmm anchors unavailable: %s\n",
                     hmm_why_not.c_str());
        return 1;
    }

    size_t samples = 0;
    for (const std::string& w : opt.workloads)
        samples += (own_size(w) ? 1 : opt.sizes.size()) * opt.repeat;
    Progress progress(opt.progress, samples * backends.size());

    // Each backend in turn, simgpu reloaded on it first when it is not
    // the one loaded; back on the one it was loaded with at the end.
    std::vector<Pass> passes;
    std::string current = loaded;
    int status = 0;
    for (const std::string& b : backends) {
        Pass& pass = passes.emplace_back();
        pass.backend = b;
        if (b != current) {
            auto r = load_backend(b);
            current = loaded_backend();
            if (!r.ok()) {
                pass.why_not = "not available: " + r.error().what;
                std::printf("svm_core=%s: %s\n", b.c_str(), pass.why_not.c_str());
                continue;
            }
        }
        status = run_pass(opt, anchors, pass, progress);
        if (status)
            break;
    }
    if (current != loaded) {
        auto r = load_backend(loaded);
        if (!r.ok()) {
            std::fprintf(stderr, "simgpu-bench: cannot load simgpu back on svm_core=%s: %s\n",
                         loaded.c_str(), r.error().what.c_str());
            status = status ? status : 1;
        }
    }
    if (status == 77 || status == 2)
        return status;

    // The table: each row of every backend next to the others'.
    std::vector<std::vector<PassLine>> lines;
    for (const Pass& p : passes)
        lines.push_back(p.lines);
    std::vector<std::string> json_rows;
    std::vector<std::string> json_skipped;
    std::printf("%s\n", table_header().c_str());
    for (const Placed& at : side_by_side(lines)) {
        const Pass& p = passes[at.pass];
        const size_t i = p.at[at.line];
        if (p.lines[at.line].unit.empty()) {
            const Skipped& sk = p.skipped[i];
            std::printf("%s\n", table_skip(sk.workload, p.backend, sk.reason).c_str());
            json_skipped.push_back(JsonObject()
                                       .string("workload", sk.workload)
                                       .string("backend", p.backend)
                                       .string("reason", sk.reason)
                                       .str());
            continue;
        }
        const Row& r = p.rows[i];
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const bool h = r.hmm && r.hmm->available;
        std::printf("%s\n", table_row(r.workload, r.size, p.backend, r.stats, r.unit, r.anchor,
                                      r.ratio, r.anchor_kind, r.hmm ? r.hmm->op : "-",
                                      h ? r.hmm->stats.median : nan, h ? r.hmm->ratio : nan)
                                .c_str());
        for (const std::string& n : r.notes)
            std::printf("  note: %s\n", n.c_str());
        if (r.counters && r.counters->stage_ns && r.counters->faults)
            std::printf("  faults: %s\n",
                        stage_split(*r.counters->stage_ns, r.counters->faults).c_str());
        json_rows.push_back(row_json(r, p.backend, opt.repeat));
    }
    for (const Pass& p : passes)
        if (!p.ran || !p.why_not.empty())
            std::printf("%-25s %-8s %-7s %s\n", "(every workload)", "", p.backend.c_str(),
                        p.why_not.c_str());
    std::printf("backend: the SVM core simgpu was loaded with (svm_core: simgpu, its own in "
                "kmod/gpusvm; kernel, the kernel's drm_gpusvm and drm_pagemap); the memcpy and "
                "test_hmm anchors are measured once, for the rows of every backend. "
                "× memcpy: speed relative to the memcpy anchor (> 1: faster than memcpy); "
                "cold: memcpy into never-touched memory (CPU page faults), warm: between "
                "touched buffers. × hmm: speed relative to the matching test_hmm.ko "
                "operation on the same size (read: HMM_DMIRROR_READ, write: "
                "HMM_DMIRROR_WRITE, to-dev / to-sys: migration to device / system memory, "
                "cpu-fault: CPU touch after migration to the device, munmap: of mirrored "
                "memory, exclusive: HMM_DMIRROR_EXCLUSIVE of one page, then a CPU atomic "
                "on it; details in the JSON). us rows: lower is better. ops/s rows "
                "(atomics-contended): GPU atomics per second while a CPU thread increments "
                "the same counter; their anchor (cpu) is one CPU thread's "
                "__atomic_fetch_add on a counter of its own.\n");

    if (!opt.json_path.empty()) {
        // The first backend that ran gives the fields of before there
        // were several.
        const Pass* first = nullptr;
        std::vector<std::string> json_backends;
        for (const Pass& p : passes) {
            if (p.ran && !first)
                first = &p;
            JsonObject b;
            b.string("name", p.backend).boolean("available", p.ran);
            if (p.ran)
                b.string("device_path", p.device_path)
                    .integer("vram_size", p.vram_size)
                    .boolean("vram_migration", p.vram_migration)
                    .stats("empty_job_us", p.empty_job)
                    .boolean("counters_available", p.counters_ok)
                    .boolean("ok", p.why_not.empty());
            if (!p.why_not.empty())
                b.string("reason", p.why_not);
            json_backends.push_back(b.str());
        }
        JsonObject doc;
        doc.string("tool", "simgpu-bench")
            .integer("version", 1)
            .string("kernel", uts.release)
            .integer("device", opt.device)
            .string("device_path", first ? first->device_path : "")
            .field("backends", json_array(json_backends))
            .integer("repeat", opt.repeat)
            .integer("threads", opt.threads)
            .string("thp", thp)
            .stats("empty_job_us", first ? first->empty_job : Stats{})
            .boolean("counters_available", first && first->counters_ok);
        JsonObject hmm;
        hmm.boolean("available", hmm_why_not.empty());
        if (hmm_why_not.empty())
            hmm.string("device", HmmMirror::device_path);
        else
            hmm.string("reason", hmm_why_not);
        if (HmmMirror::compiled())
            hmm.string("header", HmmMirror::header())
                .string("migrate_to_dev_ioctl", HmmMirror::to_dev_ioctl())
                .string("migrate_to_sys_ioctl", HmmMirror::to_sys_ioctl());
        else
            hmm.null("header");
        hmm.field("anchors", json_array(anchors.hmm_json()));
        doc.field("test_hmm", hmm.str())
            .boolean("ok", status == 0)
            .field("results", json_array(json_rows))
            .field("skipped", json_array(json_skipped));
        std::string text = doc.str();
        // One result per line, for people reading the file.
        text.insert(1, "\n  ");
        text.insert(text.size() - 1, "\n");
        std::ofstream f(opt.json_path);
        f << text << "\n";
        if (!f) {
            std::fprintf(stderr, "simgpu-bench: cannot write %s\n", opt.json_path.c_str());
            return status ? status : 1;
        }
    }
    return status;
}
