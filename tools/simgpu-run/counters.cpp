// SPDX-License-Identifier: MIT
#include "counters.hpp"

#include <cstdio>
#include <filesystem>

#include "simgpu/counters.hpp"

namespace simgpu_run {

void print_counters(uint32_t device_id)
{
    auto dirs = simgpu::counter_dirs();
    if (!dirs.ok()) {
        std::printf("device %u  counters not available: %s (debugfs needs root)\n", device_id,
                    dirs.error().message().c_str());
        return;
    }
    if (device_id >= dirs.value().size()) {
        std::printf("device %u  counters not available: no simgpu directory for it under %s\n",
                    device_id, simgpu::debugfs_dri_dir.c_str());
        return;
    }

    const std::filesystem::path& dir = dirs.value()[device_id];
    std::printf("device %u  counters in %s (totals since simgpu was loaded)\n", device_id,
                dir.c_str());
    for (const char* file : {"simgpu_stats", "simgpu_svm"}) {
        const auto counters = simgpu::read_counter_file(dir, file);
        if (!counters.ok()) {
            std::printf("  (%s not readable)\n", file);
            continue;
        }
        for (const simgpu::Counter& c : counters.value())
            std::printf("  %s %llu\n", c.name.c_str(), static_cast<unsigned long long>(c.value));
    }
}

} // namespace simgpu_run
