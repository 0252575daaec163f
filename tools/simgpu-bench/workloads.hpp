// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "util.hpp"

namespace simgpu_bench {

inline const std::vector<std::string> all_workloads{
    "first-touch-populated", "first-touch-untouched", "sparse-faults",
    "munmap-invalidate",     "multi-thread-faults",   "two-devices",
    // Its ATOMIC_GLOBAL and ATOMIC_DEVICE rows need VRAM migration.
    "atomics-contended",
    // VRAM migration (DRM_SIMGPU_CAP_VRAM_MIGRATION): skipped without it.
    "vram-first-touch",      "vram-thp-first-touch",  "prefetch-vram",
    "prefetch-system",       "vram-cpu-touch",        "evict-thrash"};

// Workloads with a size of their own (evict-thrash: twice VRAM,
// atomics-contended: one 2 MiB buffer), run once rather than at each of
// --sizes.
bool own_size(const std::string& workload);

struct Options {
    std::vector<uint64_t> sizes{4 * KiB, 64 * KiB, 2 * MiB, 16 * MiB};
    unsigned repeat = 5;
    std::vector<std::string> workloads = all_workloads;
    uint32_t device = 0;
    unsigned threads = 2;
    // evict-thrash runs only when twice VRAM is at most this.
    uint64_t thrash_max = 128 * MiB;
    // How long each sample of atomics-contended runs GPU jobs.
    unsigned atomics_sample_ms = 200;
    std::string json_path;
    bool progress = true;
    // Fail (exit 1) when the test_hmm anchors are unavailable.
    bool require_hmm = false;
    // The SVM backends to measure, in order (--backends); empty: the one
    // simgpu is loaded with.
    std::vector<std::string> backends;
};

// The test_hmm operations anchors are made of.
// sparse_read, sparse_to_dev: one page per 2 MiB of fresh memory, seconds
// per page (per fault).
enum class HmmOp { read, write, to_dev, to_sys, fault_back, munmap, exclusive, sparse_read, sparse_to_dev };

// The anchors measured so far: memcpy per size, test_hmm per operation and
// size. One for the whole run, shared by the Bench of every backend, so
// that both backends' rows of a workload have the same anchors.
class Anchors {
public:
    Anchors();

    // The test_hmm anchors: empty when they can be measured, else why not.
    const std::string& hmm_unavailable() const { return hmm_why_not_; }
    // Every test_hmm anchor measured so far, as JSON objects.
    std::vector<std::string> hmm_json() const;

private:
    friend class Bench;
    std::map<uint64_t, Stats> cold_, warm_;
    std::string hmm_why_not_;
    std::map<std::pair<HmmOp, uint64_t>, std::vector<double>> hmm_;
    std::map<std::pair<HmmOp, uint64_t>, std::string> hmm_failed_;
    // test_hmm allocates its device memory on the first migration (256 MiB
    // of struct pages): done once, untimed, before the first anchor.
    bool hmm_warm_ = false;
};

// The test_hmm operation matching a workload, timed on the same size in the
// same run (see hmm.hpp), in the row's unit.
struct HmmAnchor {
    std::string op;     // short name for the table: "read", "to-dev", ...
    std::string what;   // what was timed: ioctl, and how the memory was prepared
    bool available = false;
    std::string reason; // why not, when unavailable
    Stats stats;        // of the anchor, in the row's unit
    double ratio = 0;   // speed of the workload relative to the anchor's median
};

// One line of the table, one object of the JSON.
struct Row {
    std::string workload;
    uint64_t size = 0;
    std::string unit;            // "MiB/s", "us" or "ops/s" (GPU atomics per second)
    bool higher_is_better = true;
    Stats stats;
    // The memcpy anchor in the row's unit, which memcpy ("cold": into
    // never-touched memory, "warm": between touched buffers), and the
    // speed ratio (> 1: faster than memcpy). An ops/s row's anchor is one
    // CPU thread's __atomic_fetch_add on a counter no one else touches
    // ("cpu"), and it has no memcpy (count 0).
    double anchor = 0;
    std::string anchor_kind;
    double ratio = 0;
    Stats memcpy_cold;           // MiB/s
    Stats memcpy_warm;           // MiB/s
    std::optional<CounterDelta> counters;
    // The matching test_hmm operation; absent when there is none.
    std::optional<HmmAnchor> hmm;
    std::vector<std::pair<std::string, std::string>> extra; // raw JSON values
    // Printed below the row (and put in the JSON): something to know about
    // how the measurement went.
    std::vector<std::string> notes;
};

// A row a workload could not measure (or a whole workload, under its
// name), and why.
struct Skipped {
    std::string workload;
    std::string reason;
    bool this_size_only = false; // the other sizes may still run
};

// Everything the run on one SVM backend shares: devices, the primary VM
// and queue, counters, progress; the anchors of the whole run.
class Bench {
public:
    // @backend: the svm_core simgpu is loaded with.
    Bench(const Options& opt, std::vector<simgpu::Device>& devices, Anchors& anchors,
          std::string backend);

    // Runs workload @name at @size; the rows it produced, and in @skipped
    // those it could not (a workload skipped whole: no rows, one entry).
    std::vector<Row> run(const std::string& name, uint64_t size, std::vector<Skipped>& skipped);

    Stats empty_job_us();
    const CounterReader& counters() const { return *counters_[opt_.device]; }
    const Gpu& gpu() const { return *gpu_; }

    // Called after each sample with a short label.
    std::function<void(const std::string&)> on_sample;

private:
    // The workloads other than atomics-contended: their rows, or none
    // with the reason in @skip_reason.
    std::vector<Row> run_workload(const std::string& name, uint64_t size,
                                  std::string& skip_reason);
    std::vector<Row> first_touch_populated(uint64_t size);
    std::vector<Row> first_touch_untouched(uint64_t size);
    std::vector<Row> sparse_faults(uint64_t size);
    std::vector<Row> munmap_invalidate(uint64_t size);
    std::vector<Row> multi_thread_faults(uint64_t size);
    std::vector<Row> two_devices(uint64_t size, std::string& skip_reason);
    std::vector<Row> atomics_contended(std::vector<Skipped>& skipped);
    std::vector<Row> vram_first_touch(uint64_t size);
    std::vector<Row> vram_thp_first_touch(uint64_t size, std::string& skip_reason);
    std::vector<Row> prefetch_vram(uint64_t size);
    std::vector<Row> prefetch_system(uint64_t size);
    std::vector<Row> vram_cpu_touch(uint64_t size);
    std::vector<Row> evict_thrash(std::string& skip_reason);
    // Why the VRAM workloads cannot run here; empty when they can.
    std::string vram_skip_reason(bool needs_fault_migration) const;

    // Seconds of each sample of @op on @size bytes (exclusive: of one
    // grab of one page), measured once per op and size; null with
    // @why_not when unavailable or failed (a failing anchor does not end
    // the run).
    const std::vector<double>* hmm_seconds(HmmOp op, uint64_t size, std::string& why_not);
    // The anchor of @row for @op, in the row's unit: MiB/s of row.size,
    // microseconds per operation for a "us" row, operations per second
    // for an "ops/s" row.
    void attach_hmm(Row& row, HmmOp op);

    // memcpy MiB/s of @size, measured once per size, @opt_.repeat samples.
    const Stats& memcpy_cold(uint64_t size);
    const Stats& memcpy_warm(uint64_t size);
    // A MiB/s row anchored to cold or warm memcpy of @anchor_size.
    Row mibps_row(std::string workload, uint64_t size, const std::vector<double>& mibps,
                  bool cold, uint64_t anchor_size);
    void sample_done(const std::string& label);
    // The samples of a workload, in order: @per_repeat(r, measured) for r
    // from 0 to @opt_.repeat - 1 sets sample r up, runs its timed part as
    // measured(part) (part() returns seconds, which measured() returns,
    // adding the change of the counters over part() to @sum), checks the
    // result and returns the sample. Each sample is reported done as @what.
    template <typename F>
    std::vector<double> sampled(const std::string& what, CounterSum& sum, F&& per_repeat);
    // The MiB/s row of workload @name at @size, sampled() by @per_repeat,
    // anchored to cold or warm memcpy of @size, with the counters of all
    // its samples; the test_hmm anchor is the caller's.
    template <typename F>
    Row measure(const char* name, uint64_t size, bool cold, F&& per_repeat);
    // The rows that split a first-touch row of @size: "(fault service)",
    // MiB/s of the faults' service time alone (the stage counters' sum
    // over each sample, @service_s), anchored to test_hmm @op; "(second
    // touch)", MiB/s of the same job on pages it already maps
    // (@second_mibps): the engine's own time, no fault. The first is left
    // out when the module does not time faults. @prefix goes before each
    // name ("in place: ").
    std::vector<Row> first_touch_split(const char* of, const std::string& prefix, uint64_t size,
                                       const std::vector<double>& service_s,
                                       const std::vector<double>& second_mibps, HmmOp op);

    const Options& opt_;
    std::vector<simgpu::Device>& devices_;
    std::vector<std::unique_ptr<CounterReader>> counters_;
    std::unique_ptr<Gpu> gpu_;
    std::unique_ptr<Queue> queue_;
    // The second device of two-devices, made on first use.
    std::unique_ptr<Gpu> gpu1_;
    std::unique_ptr<Queue> queue1_;
    Anchors& anchors_;
    std::string backend_;
};

} // namespace simgpu_bench
