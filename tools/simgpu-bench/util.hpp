// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simgpu/batch.hpp"
#include "simgpu/result.hpp"

namespace simgpu_bench {

inline constexpr uint64_t KiB = uint64_t{1} << 10;
inline constexpr uint64_t MiB = uint64_t{1} << 20;
inline constexpr uint64_t GiB = uint64_t{1} << 30;
inline constexpr uint64_t max_size = GiB;

// "4096", "4K", "64k", "2M", "2MiB", "1G": a positive multiple of 4 KiB up
// to max_size. Anything else is an error saying why.
simgpu::Result<uint64_t> parse_size(std::string_view text);

// A comma-separated list of parse_size() sizes, in the given order,
// duplicates dropped.
simgpu::Result<std::vector<uint64_t>> parse_sizes(std::string_view text);

// "a,b,c" -> {"a", "b", "c"}; empty items dropped.
std::vector<std::string> split_list(std::string_view text);

// Min, median and max of some samples.
struct Stats {
    double min = 0;
    double median = 0;
    double max = 0;
    size_t count = 0;
};

// Of @samples (any order); the median of an even count is the mean of the
// two middle values. All zero with count 0 for no samples.
Stats summarize(std::vector<double> samples);

// A number for the table: 4 significant digits at most, at least one
// decimal below 1000 ("0.2049", "61.25", "310.4", "12345"); "-" for a
// value that is not finite.
std::string format_number(double value);

// The table's heading and one line of it (no newline): @backend is the SVM
// backend the row was measured on (svm_core), @anchor the memcpy figure in
// the row's unit, @anchor_kind "cold" or "warm", @ratio the speed relative
// to it; @hmm_op names the matching test_hmm operation ("-": none), @hmm
// its median in the row's unit and @hmm_ratio the speed relative to it (not
// finite: unavailable, shown as "-").
std::string table_header();
std::string table_row(std::string_view workload, uint64_t size, std::string_view backend,
                      const Stats& s, std::string_view unit, double anchor, double ratio,
                      std::string_view anchor_kind, std::string_view hmm_op = "-",
                      double hmm = std::numeric_limits<double>::quiet_NaN(),
                      double hmm_ratio = std::numeric_limits<double>::quiet_NaN());
// The stages of a GPU fault as the module times them (debugfs
// simgpu_stats fault_<stage>_ns, enum simgpu_fault_stage), in its order:
// the engine's stall to the fault worker, the VM lock, the SVM range, the
// migration, the page collection, the PTEs and TLB, the rest, and the
// reply to the job running again.
inline constexpr std::array<const char*, 8> fault_stages{
    "queue", "lock", "range", "migrate", "pages", "bind", "other", "resume"};
using StageNs = std::array<uint64_t, fault_stages.size()>;

// "per fault 812 us: queue 5, lock 1, range 40, migrate 500, pages 200,
// bind 60, other 6.2, resume 0.0" for nanoseconds @ns spent in each stage
// by @faults faults (microseconds per fault, whole ones from 10 up); "" for
// no fault.
std::string stage_split(const StageNs& ns, uint64_t faults);

// A table line saying that @backend skipped @workload, and why; in the
// workload and backend columns of table_row().
std::string table_skip(std::string_view workload, std::string_view backend,
                       std::string_view reason);

// The SVM backends simgpu can be loaded with (module parameter svm_core),
// in the order a run measures them.
inline const std::vector<std::string> all_backends{"simgpu", "kernel"};

// --backends: "all" (all_backends) or a comma-separated list of their
// names, in the given order, duplicates dropped. Anything else is an error
// saying why.
simgpu::Result<std::vector<std::string>> parse_backends(std::string_view text);

// The backend a loaded simgpu uses, from the text of
// /sys/module/simgpu/parameters/svm_core (a trailing newline allowed);
// a module without the parameter ("") has only simgpu's.
std::string backend_of(std::string_view svm_core_param);

// The arguments of modprobe loading simgpu on @backend with the module
// parameters @modparams (blank-separated, as $SIMGPU_MODPARAMS holds
// them), any svm_core= of theirs replaced.
std::vector<std::string> modprobe_args(std::string_view modparams, std::string_view backend);

// One line of one backend's pass, for side_by_side(): a measured row or a
// skip.
struct PassLine {
    std::string workload; // the workload run (a --workload name)
    uint64_t size = 0;    // the size it ran at
    std::string row;      // the row's name ("two-devices/dev1"), or what was skipped
    std::string unit;     // the row's unit; empty: a skip
};

// Where side_by_side() puts a line: the @line-th of pass @pass.
struct Placed {
    size_t pass = 0;
    size_t line = 0;
    bool operator==(const Placed&) const = default;
};

// Every line of @passes (one per backend, each in the order it was
// measured) in the table's order: workload by workload, size by size, each
// row (by name and unit) followed by the same row of the other passes, in
// pass order. A skip goes after the last line of its workload when it
// names the workload itself, else after the last row of the same name
// (atomics-contended/global), else at the end of its workload.
std::vector<Placed> side_by_side(const std::vector<std::vector<PassLine>>& passes);

// A GPU job of @count atomics on the qword at @addr, INC and ADD 3 in
// turn, BATCH_END included; @adds is set to what they add to the qword.
simgpu::BatchBuilder atomics_job(uint64_t addr, unsigned count, uint64_t& adds);

// @text as a JSON string literal, quotes included.
std::string json_string(std::string_view text);

// @value as a JSON number ("null" when not finite), shortest round-trip
// up to 9 significant digits.
std::string json_number(double value);

// {"min": .., "median": .., "max": ..}
std::string json_stats(const Stats& s);

// A JSON object built field by field, in order.
class JsonObject {
public:
    JsonObject& field(std::string_view key, std::string_view raw_json);
    JsonObject& string(std::string_view key, std::string_view value);
    JsonObject& number(std::string_view key, double value);
    JsonObject& integer(std::string_view key, uint64_t value);
    JsonObject& boolean(std::string_view key, bool value);
    JsonObject& null(std::string_view key);
    // {"min":..,"median":..,"max":..}
    JsonObject& stats(std::string_view key, const Stats& s);

    // "{...}" on one line.
    std::string str() const;

private:
    std::string body_;
};

// "[a,b,...]" of already formatted JSON values, one per line, indented.
std::string json_array(const std::vector<std::string>& values);

} // namespace simgpu_bench
