// SPDX-License-Identifier: MIT
#include "counters.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "simgpu/result.hpp"

namespace simgpu_run {
namespace {

namespace fs = std::filesystem;

const fs::path debugfs_dri = "/sys/kernel/debug/dri";
constexpr const char* counter_files[] = {"simgpu_stats", "simgpu_svm"};

// Number of a minor's directory name, or -1.
int minor_number(const std::string& name)
{
    int minor = -1;
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(name.data(), last, minor);
    return ec == std::errc() && end == last && !name.empty() ? minor : -1;
}

// The debugfs directories of simgpu primary minors, lowest minor first:
// simgpu registers its devices in order, so entry i is device i.
simgpu::Result<std::vector<fs::path>> simgpu_minor_dirs()
{
    std::vector<std::pair<int, fs::path>> found;
    std::error_code ec;
    for (fs::directory_iterator it(debugfs_dri, ec), end; it != end; it.increment(ec)) {
        const int minor = minor_number(it->path().filename().string());
        if (minor < 0 || !fs::exists(it->path() / "simgpu_stats", ec))
            continue;
        std::ifstream name(it->path() / "name");
        std::string driver;
        if (name >> driver && driver == "simgpu")
            found.emplace_back(minor, it->path());
    }
    if (ec)
        return simgpu::Error{ec.value(), "reading " + debugfs_dri.string()};

    std::sort(found.begin(), found.end());
    std::vector<fs::path> dirs;
    for (auto& entry : found)
        dirs.push_back(std::move(entry.second));
    return dirs;
}

} // namespace

void print_counters(uint32_t device_id)
{
    auto dirs = simgpu_minor_dirs();
    if (!dirs.ok()) {
        std::printf("device %u  counters not available: %s (debugfs needs root)\n", device_id,
                    dirs.error().message().c_str());
        return;
    }
    if (device_id >= dirs.value().size()) {
        std::printf("device %u  counters not available: no simgpu directory for it under %s\n",
                    device_id, debugfs_dri.c_str());
        return;
    }

    const fs::path& dir = dirs.value()[device_id];
    std::printf("device %u  counters in %s (totals since simgpu was loaded)\n", device_id,
                dir.c_str());
    for (const char* file : counter_files) {
        std::ifstream in(dir / file);
        if (!in) {
            std::printf("  (%s not readable)\n", file);
            continue;
        }
        for (std::string line; std::getline(in, line);)
            if (!line.empty())
                std::printf("  %s\n", line.c_str());
    }
}

} // namespace simgpu_run
