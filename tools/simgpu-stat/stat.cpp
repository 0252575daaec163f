// SPDX-License-Identifier: MIT
#include "stat.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>
#include <utility>

namespace simgpu_stat {
namespace {

constexpr int dev_width = 3;

// Width of a column: its header, at least 5.
int width(const Column& column)
{
    return std::max(static_cast<int>(column.header.size()), 5);
}

void append_padded(std::string& line, std::string_view text, int width)
{
    line += ' ';
    if (static_cast<int>(text.size()) < width)
        line.append(static_cast<size_t>(width) - text.size(), ' ');
    line += text;
}

std::string join(const std::vector<std::string>& names)
{
    std::string out;
    for (const auto& name : names) {
        if (!out.empty())
            out += ", ";
        out += name;
    }
    return out;
}

} // namespace

std::optional<double> rate(uint64_t before, uint64_t after, double seconds)
{
    if (after < before || !(seconds > 0))
        return std::nullopt;
    return static_cast<double>(after - before) / seconds;
}

Row compute_row(uint32_t device, const simgpu::Counters* before, const simgpu::Counters& after,
                double seconds)
{
    Row row;
    row.device = device;
    row.first_sample = before == nullptr;
    for (size_t i = 0; i < columns.size(); ++i) {
        const Column& column = columns[i];
        Cell& cell = row.cells[i];
        const auto now = simgpu::find_counter(after, column.counter);
        if (!now) {
            cell = {Cell::Kind::missing, 0};
            continue;
        }
        if (column.kind == Column::Kind::gauge) {
            cell = {Cell::Kind::gauge, static_cast<double>(*now) / column.scale};
            continue;
        }
        const auto then = before ? simgpu::find_counter(*before, column.counter) : std::nullopt;
        const auto r = then ? rate(*then, *now, seconds) : std::nullopt;
        if (r) {
            cell = {Cell::Kind::rate, *r};
            continue;
        }
        cell = {Cell::Kind::total, static_cast<double>(*now)};
        if (!then)
            row.no_earlier.emplace_back(column.counter);
        else if (*now < *then)
            row.went_backwards.emplace_back(column.counter);
        else // no time passed: nothing to divide by
            row.no_earlier.emplace_back(column.counter);
    }
    return row;
}

std::string format_number(double value)
{
    char buf[64];
    if (value == 0)
        return "0";
    if (value >= 100 || value == std::round(value))
        std::snprintf(buf, sizeof(buf), "%.0f", value);
    else
        std::snprintf(buf, sizeof(buf), "%.1f", value);
    return buf;
}

std::string format_header()
{
    std::string line = "dev";
    for (const Column& column : columns)
        append_padded(line, column.header, width(column));
    return line;
}

std::string format_row(const Row& row)
{
    std::string line = std::to_string(row.device);
    if (static_cast<int>(line.size()) < dev_width)
        line.insert(0, static_cast<size_t>(dev_width) - line.size(), ' ');
    for (size_t i = 0; i < columns.size(); ++i) {
        const Cell& cell = row.cells[i];
        std::string text;
        switch (cell.kind) {
        case Cell::Kind::missing:
            text = "-";
            break;
        case Cell::Kind::total:
            text = format_number(cell.value) + "*";
            break;
        case Cell::Kind::rate:
        case Cell::Kind::gauge:
            text = format_number(cell.value);
            break;
        }
        append_padded(line, text, width(columns[i]));
    }
    return line;
}

std::optional<std::string> format_note(const Row& row)
{
    if (row.went_backwards.empty() && row.no_earlier.empty())
        return std::nullopt;
    std::string note = "note: device " + std::to_string(row.device) + ": ";
    if (!row.went_backwards.empty())
        note += join(row.went_backwards) + " went backwards (simgpu reloaded?)";
    if (!row.no_earlier.empty()) {
        if (!row.went_backwards.empty())
            note += "; ";
        note += row.first_sample ? "first sample of the device"
                                 : "no earlier value of " + join(row.no_earlier);
    }
    note += "; * = total since simgpu was loaded, not a rate";
    return note;
}

std::string format_once(uint32_t device, const simgpu::Counters& counters)
{
    std::string out = "device " + std::to_string(device) + "\n";
    for (const simgpu::Counter& c : counters)
        out += c.name + " " + std::to_string(c.value) + "\n";
    return out;
}

std::vector<std::string> Pacer::block(std::vector<std::string> body)
{
    if (!started_ || since_header_ >= every_) {
        since_header_ = static_cast<unsigned>(body.size());
        started_ = true;
        body.insert(body.begin(), format_header());
    } else {
        since_header_ += static_cast<unsigned>(body.size());
    }
    return body;
}

std::optional<double> parse_interval(std::string_view text)
{
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v,
                                           std::chars_format::fixed);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(v) || v < 0.001 || v > 86400)
        return std::nullopt;
    return v;
}

std::optional<uint64_t> parse_count(std::string_view text)
{
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0)
        return std::nullopt;
    return v;
}

} // namespace simgpu_stat
