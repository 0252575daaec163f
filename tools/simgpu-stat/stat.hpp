// SPDX-License-Identifier: MIT
//
// simgpu-stat's pure part: from two samples of a device's debugfs counters
// to rates, and the lines that show them. No I/O here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simgpu/counters.hpp"

namespace simgpu_stat {

// A column of the interval view: the per-second rate of a monotonic
// counter, or the current value of a gauge divided by scale.
struct Column {
    enum class Kind { rate, gauge };

    std::string_view header;
    std::string_view counter;
    Kind kind;
    double scale = 1;
};

inline constexpr std::array<Column, 12> columns{{
    {"faults/s", "faults", Column::Kind::rate},
    {"retried/s", "faults_retried", Column::Kind::rate},
    {"cancel/s", "faults_cancelled", Column::Kind::rate},
    {"tlbinv/s", "tlb_invalidations", Column::Kind::rate},
    {"jobs/s", "jobs_completed", Column::Kind::rate},
    {"failed/s", "jobs_failed", Column::Kind::rate},
    {"ranges/s", "ranges_created", Column::Kind::rate},
    {"pages/s", "pages_faulted", Column::Kind::rate},
    {"svminv/s", "invalidations", Column::Kind::rate},
    {"vms", "vms", Column::Kind::gauge},
    {"queues", "exec_queues", Column::Kind::gauge},
    {"vram_MiB", "vram_used", Column::Kind::gauge, 1024.0 * 1024.0},
}};

// What one column of one row shows.
struct Cell {
    enum class Kind {
        rate,    // per second over the interval
        gauge,   // current value (scaled)
        total,   // a monotonic counter's absolute value: no usable earlier value
        missing, // the device does not report the counter
    };

    Kind kind = Kind::missing;
    double value = 0;

    bool operator==(const Cell&) const = default;
};

// One device over one interval.
struct Row {
    uint32_t device = 0;
    std::array<Cell, columns.size()> cells{};
    // Monotonic counters that went backwards (simgpu reloaded): shown as totals.
    std::vector<std::string> went_backwards;
    // Monotonic counters with no earlier value (first sample of the device,
    // or a counter that just appeared): shown as totals.
    std::vector<std::string> no_earlier;
    // No earlier sample of the device at all.
    bool first_sample = false;
};

// Per-second rate of a monotonic counter that went from @before to @after
// in @seconds; nothing when it went backwards or @seconds is not positive.
std::optional<double> rate(uint64_t before, uint64_t after, double seconds);

// The row of device @device: @after sampled @seconds after @before, or the
// first sample of the device when @before is null.
Row compute_row(uint32_t device, const simgpu::Counters* before, const simgpu::Counters& after,
                double seconds);

// A rate or gauge for a narrow column: "0", integers as such, other values
// under 100 with one decimal ("0.5", "12.3"), larger ones rounded ("4096").
std::string format_number(double value);

// The header line and a device's line, columns aligned. A total is marked
// "*" and a missing counter shows as "-".
std::string format_header();
std::string format_row(const Row& row);

// "note: ..." explaining the "*" cells of @row, if it has any.
std::optional<std::string> format_note(const Row& row);

// --once: "device N" and then one "name value" line per counter.
std::string format_once(uint32_t device, const simgpu::Counters& counters);

// Puts the header in front of the first block of lines and again in front
// of the first block after every @every lines, like vmstat.
class Pacer {
public:
    explicit Pacer(unsigned every = 20) : every_(every) {}

    // @body with the header in front when it is due.
    std::vector<std::string> block(std::vector<std::string> body);

private:
    unsigned every_;
    unsigned since_header_ = 0;
    bool started_ = false;
};

// An -i value: seconds, a decimal from 0.001 to 86400.
std::optional<double> parse_interval(std::string_view text);

// An -n value: 1 or more.
std::optional<uint64_t> parse_count(std::string_view text);

} // namespace simgpu_stat
