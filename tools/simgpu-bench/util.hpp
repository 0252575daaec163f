// SPDX-License-Identifier: MIT
#pragma once

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

// The table's heading and one line of it (no newline): @anchor is the
// memcpy figure in the row's unit, @anchor_kind "cold" or "warm", @ratio the
// speed relative to it; @hmm_op names the matching test_hmm operation
// ("-": none), @hmm its median in the row's unit and @hmm_ratio the speed
// relative to it (not finite: unavailable, shown as "-").
std::string table_header();
std::string table_row(std::string_view workload, uint64_t size, const Stats& s,
                      std::string_view unit, double anchor, double ratio,
                      std::string_view anchor_kind, std::string_view hmm_op = "-",
                      double hmm = std::numeric_limits<double>::quiet_NaN(),
                      double hmm_ratio = std::numeric_limits<double>::quiet_NaN());

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
