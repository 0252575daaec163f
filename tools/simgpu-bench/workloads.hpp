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
    "munmap-invalidate",     "multi-thread-faults",   "two-devices"};

struct Options {
    std::vector<uint64_t> sizes{4 * KiB, 64 * KiB, 2 * MiB, 16 * MiB};
    unsigned repeat = 5;
    std::vector<std::string> workloads = all_workloads;
    uint32_t device = 0;
    unsigned threads = 2;
    std::string json_path;
    bool progress = true;
};

// One line of the table, one object of the JSON.
struct Row {
    std::string workload;
    uint64_t size = 0;
    std::string unit;            // "MiB/s" or "us"
    bool higher_is_better = true;
    Stats stats;
    // The memcpy anchor in the row's unit, which memcpy ("cold": into
    // never-touched memory, "warm": between touched buffers), and the
    // speed ratio (> 1: faster than memcpy).
    double anchor = 0;
    std::string anchor_kind;
    double ratio = 0;
    Stats memcpy_cold;           // MiB/s
    Stats memcpy_warm;           // MiB/s
    std::optional<CounterDelta> counters;
    std::vector<std::pair<std::string, std::string>> extra; // raw JSON values
};

// Everything a run shares: devices, the primary VM and queue, counters,
// memcpy anchors, progress.
class Bench {
public:
    Bench(const Options& opt, std::vector<simgpu::Device>& devices);

    // Runs workload @name at @size; the rows it produced (none when
    // skipped, with the reason in @skip_reason).
    std::vector<Row> run(const std::string& name, uint64_t size, std::string& skip_reason);

    Stats empty_job_us();
    const CounterReader& counters() const { return *counters_[opt_.device]; }

    // Called after each sample with a short label.
    std::function<void(const std::string&)> on_sample;

private:
    std::vector<Row> first_touch_populated(uint64_t size);
    std::vector<Row> first_touch_untouched(uint64_t size);
    std::vector<Row> sparse_faults(uint64_t size);
    std::vector<Row> munmap_invalidate(uint64_t size);
    std::vector<Row> multi_thread_faults(uint64_t size);
    std::vector<Row> two_devices(uint64_t size, std::string& skip_reason);

    // memcpy MiB/s of @size, measured once per size, @opt_.repeat samples.
    const Stats& memcpy_cold(uint64_t size);
    const Stats& memcpy_warm(uint64_t size);
    // A MiB/s row anchored to cold or warm memcpy of @anchor_size.
    Row mibps_row(std::string workload, uint64_t size, const std::vector<double>& mibps,
                  bool cold, uint64_t anchor_size);
    void sample_done(const std::string& label);

    const Options& opt_;
    std::vector<simgpu::Device>& devices_;
    std::vector<std::unique_ptr<CounterReader>> counters_;
    std::unique_ptr<Gpu> gpu_;
    std::unique_ptr<Queue> queue_;
    // The second device of two-devices, made on first use.
    std::unique_ptr<Gpu> gpu1_;
    std::unique_ptr<Queue> queue1_;
    std::map<uint64_t, Stats> cold_, warm_;
};

} // namespace simgpu_bench
