// SPDX-License-Identifier: MIT
#include "util.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "simgpu/format.hpp"

namespace simgpu_bench {

using simgpu::Error;
using simgpu::Result;

Result<uint64_t> parse_size(std::string_view text)
{
    const std::string quoted = "size '" + std::string(text) + "'";
    uint64_t number = 0;
    const char* const begin = text.data();
    const char* const end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(begin, end, number);
    if (ec == std::errc::result_out_of_range)
        return Error{ERANGE, quoted + " is too large (at most 1G)"};
    if (ec != std::errc() || ptr == begin)
        return Error{EINVAL, quoted + ": expected a number with an optional K, M or G suffix"};

    std::string suffix(ptr, end);
    std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    uint64_t scale = 0;
    if (suffix.empty() || suffix == "b")
        scale = 1;
    else if (suffix == "k" || suffix == "kib" || suffix == "kb")
        scale = KiB;
    else if (suffix == "m" || suffix == "mib" || suffix == "mb")
        scale = MiB;
    else if (suffix == "g" || suffix == "gib" || suffix == "gb")
        scale = GiB;
    else
        return Error{EINVAL, quoted + ": unknown suffix '" + std::string(ptr, end) +
                                 "' (K, M or G: binary units)"};

    if (number > max_size / scale)
        return Error{ERANGE, quoted + " is too large (at most 1G)"};
    const uint64_t bytes = number * scale;
    if (bytes == 0)
        return Error{EINVAL, quoted + " is zero"};
    if (bytes % (4 * KiB) != 0)
        return Error{EINVAL, quoted + " is not a multiple of 4K (the page size)"};
    return bytes;
}

std::vector<std::string> split_list(std::string_view text)
{
    std::vector<std::string> items;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        if (!item.empty())
            items.emplace_back(item);
        if (comma == std::string_view::npos)
            break;
        text.remove_prefix(comma + 1);
    }
    return items;
}

Result<std::vector<uint64_t>> parse_sizes(std::string_view text)
{
    std::vector<uint64_t> sizes;
    for (const std::string& item : split_list(text)) {
        auto size = parse_size(item);
        if (!size.ok())
            return size.error();
        if (std::find(sizes.begin(), sizes.end(), size.value()) == sizes.end())
            sizes.push_back(size.value());
    }
    if (sizes.empty())
        return Error{EINVAL, "no sizes in '" + std::string(text) + "'"};
    return sizes;
}

Stats summarize(std::vector<double> samples)
{
    Stats s;
    s.count = samples.size();
    if (samples.empty())
        return s;
    std::sort(samples.begin(), samples.end());
    s.min = samples.front();
    s.max = samples.back();
    const size_t mid = samples.size() / 2;
    s.median = samples.size() % 2 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
    return s;
}

std::string format_number(double value)
{
    if (!std::isfinite(value))
        return "-";
    char buf[64];
    const double magnitude = std::fabs(value);
    if (magnitude >= 1000)
        std::snprintf(buf, sizeof(buf), "%.0f", value);
    else if (magnitude >= 100)
        std::snprintf(buf, sizeof(buf), "%.1f", value);
    else if (magnitude >= 10)
        std::snprintf(buf, sizeof(buf), "%.2f", value);
    else if (magnitude >= 1 || magnitude == 0)
        std::snprintf(buf, sizeof(buf), "%.3f", value);
    else
        std::snprintf(buf, sizeof(buf), "%.4g", value);
    return buf;
}

namespace {
constexpr const char* row_format =
    "%-25s %-8s %-7s %9s %9s %9s  %-5s %9s %9s  %-6s  %-9s %9s %9s";
// The heading's "× memcpy" and "× hmm": "×" is two bytes in UTF-8 and one
// column.
constexpr const char* head_format =
    "%-25s %-8s %-7s %9s %9s %9s  %-5s %9s %10s  %-6s  %-9s %9s %10s";
constexpr const char* skip_format = "%-25s %-8s %-7s skipped: %s";

// @merged with the items of @order it lacks, each placed after the item
// of @order before it: the orders of several sequences interleaved.
template <typename T>
void merge_order(std::vector<T>& merged, const std::vector<T>& order)
{
    size_t next = 0;
    for (const T& item : order) {
        const auto it = std::find(merged.begin(), merged.end(), item);
        if (it != merged.end()) {
            next = static_cast<size_t>(it - merged.begin()) + 1;
        } else {
            merged.insert(merged.begin() + static_cast<std::ptrdiff_t>(next), item);
            ++next;
        }
    }
}
} // namespace

std::string table_header()
{
    char buf[260];
    std::snprintf(buf, sizeof(buf), head_format, "workload", "size", "backend", "median", "min",
                  "max", "unit", "memcpy", "× memcpy", "anchor", "hmm-op", "test_hmm", "× hmm");
    return buf;
}

std::string table_row(std::string_view workload, uint64_t size, std::string_view backend,
                      const Stats& s, std::string_view unit, double anchor, double ratio,
                      std::string_view anchor_kind, std::string_view hmm_op, double hmm,
                      double hmm_ratio)
{
    char buf[340];
    std::snprintf(buf, sizeof(buf), row_format, std::string(workload).c_str(),
                  simgpu::format_bytes(size).c_str(), std::string(backend).c_str(),
                  format_number(s.median).c_str(), format_number(s.min).c_str(),
                  format_number(s.max).c_str(), std::string(unit).c_str(),
                  format_number(anchor).c_str(), format_number(ratio).c_str(),
                  std::string(anchor_kind).c_str(), std::string(hmm_op).c_str(),
                  format_number(hmm).c_str(), format_number(hmm_ratio).c_str());
    // No trailing blanks when the last columns are short.
    std::string out(buf);
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

std::string stage_split(const StageNs& ns, uint64_t faults)
{
    if (faults == 0)
        return "";
    // Whole microseconds, one decimal below 10.
    const auto us = [&](uint64_t v) {
        const double x = static_cast<double>(v) / 1000.0 / static_cast<double>(faults);
        char buf[32];
        std::snprintf(buf, sizeof(buf), x < 10 ? "%.1f" : "%.0f", x);
        return std::string(buf);
    };
    uint64_t total = 0;
    for (const uint64_t v : ns)
        total += v;
    std::string out = "per fault " + us(total) + " us:";
    for (size_t i = 0; i < ns.size(); ++i)
        out += std::string(i ? ", " : " ") + fault_stages[i] + " " + us(ns[i]);
    return out;
}

std::string table_skip(std::string_view workload, std::string_view backend,
                       std::string_view reason)
{
    const std::string r(reason);
    std::vector<char> buf(80 + workload.size() + backend.size() + r.size());
    std::snprintf(buf.data(), buf.size(), skip_format, std::string(workload).c_str(), "",
                  std::string(backend).c_str(), r.c_str());
    return buf.data();
}

Result<std::vector<std::string>> parse_backends(std::string_view text)
{
    if (text == "all")
        return all_backends;
    std::vector<std::string> out;
    for (const std::string& name : split_list(text)) {
        if (std::find(all_backends.begin(), all_backends.end(), name) == all_backends.end())
            return Error{EINVAL, "unknown SVM backend '" + name + "' (simgpu, kernel or all)"};
        if (std::find(out.begin(), out.end(), name) == out.end())
            out.push_back(name);
    }
    if (out.empty())
        return Error{EINVAL, "no SVM backend in '" + std::string(text) + "'"};
    return out;
}

std::string backend_of(std::string_view svm_core_param)
{
    while (!svm_core_param.empty() &&
           (svm_core_param.back() == '\n' || svm_core_param.back() == ' '))
        svm_core_param.remove_suffix(1);
    return svm_core_param.empty() ? "simgpu" : std::string(svm_core_param);
}

std::vector<std::string> modprobe_args(std::string_view modparams, std::string_view backend)
{
    std::vector<std::string> args{"modprobe", "simgpu"};
    for (const std::string_view word : simgpu::split_words(modparams))
        if (!word.starts_with("svm_core="))
            args.emplace_back(word);
    args.push_back("svm_core=" + std::string(backend));
    return args;
}

std::vector<Placed> side_by_side(const std::vector<std::vector<PassLine>>& passes)
{
    auto skip = [](const PassLine& l) { return l.unit.empty(); };
    std::vector<std::string> workloads;
    for (const auto& pass : passes) {
        std::vector<std::string> order;
        for (const PassLine& l : pass)
            if (std::find(order.begin(), order.end(), l.workload) == order.end())
                order.push_back(l.workload);
        merge_order(workloads, order);
    }

    std::vector<Placed> out;
    for (const std::string& w : workloads) {
        // The workload's rows: size, name, unit and which of them it is
        // (a name and unit may come twice at one size).
        using Key = std::tuple<uint64_t, std::string, std::string, size_t>;
        std::vector<Key> keys;
        std::vector<std::vector<std::pair<Key, size_t>>> rows(passes.size());
        for (size_t p = 0; p < passes.size(); ++p) {
            std::vector<Key> order;
            for (size_t i = 0; i < passes[p].size(); ++i) {
                const PassLine& l = passes[p][i];
                if (l.workload != w || skip(l))
                    continue;
                Key k{l.size, l.row, l.unit, 0};
                while (std::find(order.begin(), order.end(), k) != order.end())
                    ++std::get<3>(k);
                order.push_back(k);
                rows[p].emplace_back(k, i);
            }
            merge_order(keys, order);
        }

        std::vector<Placed> lines;
        for (const Key& k : keys)
            for (size_t p = 0; p < passes.size(); ++p)
                for (const auto& [key, i] : rows[p])
                    if (key == k)
                        lines.push_back({p, i});
        for (size_t p = 0; p < passes.size(); ++p) {
            for (size_t i = 0; i < passes[p].size(); ++i) {
                const PassLine& s = passes[p][i];
                if (s.workload != w || !skip(s))
                    continue;
                // After the last line of the same name, or at the end.
                size_t at = lines.size();
                if (s.row != w) {
                    for (size_t j = lines.size(); j-- > 0;) {
                        const PassLine& l = passes[lines[j].pass][lines[j].line];
                        if (l.row == s.row) {
                            at = j + 1;
                            break;
                        }
                    }
                }
                // Behind the skips already placed there.
                while (at < lines.size() && skip(passes[lines[at].pass][lines[at].line]))
                    ++at;
                lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), {p, i});
            }
        }
        out.insert(out.end(), lines.begin(), lines.end());
    }
    return out;
}

simgpu::BatchBuilder atomics_job(uint64_t addr, unsigned count, uint64_t& adds)
{
    simgpu::BatchBuilder b;
    adds = 0;
    for (unsigned k = 0; k < count; ++k) {
        if (k % 2 == 0) {
            b.atomic(DRM_SIMGPU_ATOMIC_INC, addr, 0);
            adds += 1;
        } else {
            b.atomic(DRM_SIMGPU_ATOMIC_ADD, addr, 3);
            adds += 3;
        }
    }
    b.batch_end();
    return b;
}

std::string json_string(std::string_view text)
{
    std::string out = "\"";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                out += buf;
            } else {
                out += ch;
            }
        }
    }
    out += '"';
    return out;
}

std::string json_number(double value)
{
    if (!std::isfinite(value))
        return "null";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.9g", value);
    return buf;
}

JsonObject& JsonObject::field(std::string_view key, std::string_view raw_json)
{
    if (!body_.empty())
        body_ += ", ";
    body_ += json_string(key);
    body_ += ": ";
    body_ += raw_json;
    return *this;
}

JsonObject& JsonObject::string(std::string_view key, std::string_view value)
{
    return field(key, json_string(value));
}

JsonObject& JsonObject::number(std::string_view key, double value)
{
    return field(key, json_number(value));
}

JsonObject& JsonObject::integer(std::string_view key, uint64_t value)
{
    return field(key, std::to_string(value));
}

JsonObject& JsonObject::boolean(std::string_view key, bool value)
{
    return field(key, value ? "true" : "false");
}

JsonObject& JsonObject::null(std::string_view key)
{
    return field(key, "null");
}

std::string json_stats(const Stats& s)
{
    JsonObject o;
    o.number("min", s.min).number("median", s.median).number("max", s.max);
    return o.str();
}

JsonObject& JsonObject::stats(std::string_view key, const Stats& s)
{
    return field(key, json_stats(s));
}

std::string JsonObject::str() const
{
    return "{" + body_ + "}";
}

std::string json_array(const std::vector<std::string>& values)
{
    if (values.empty())
        return "[]";
    std::string out = "[\n";
    for (size_t i = 0; i < values.size(); ++i) {
        out += "    ";
        out += values[i];
        out += i + 1 < values.size() ? ",\n" : "\n";
    }
    out += "  ]";
    return out;
}

} // namespace simgpu_bench
