// SPDX-License-Identifier: MIT
#include "counters.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>

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

simgpu::Result<std::vector<Migrations>> read_migrations(std::span<const uint32_t> device_ids)
{
    auto dirs = simgpu::counter_dirs();
    if (!dirs.ok())
        return dirs.error();
    std::vector<Migrations> out;
    for (const uint32_t id : device_ids) {
        if (id >= dirs.value().size())
            return simgpu::Error{ENOENT, "no simgpu directory for device " + std::to_string(id) +
                                             " under " + simgpu::debugfs_dri_dir.string()};
        const auto counters = simgpu::read_counter_file(dirs.value()[id], "simgpu_svm");
        if (!counters.ok())
            return counters.error();
        const auto to_vram = simgpu::find_counter(counters.value(), "migrate_to_vram_pages");
        const auto to_ram = simgpu::find_counter(counters.value(), "migrate_to_ram_pages");
        if (!to_vram || !to_ram)
            return simgpu::Error{ENOENT, "no migrate_to_vram_pages or migrate_to_ram_pages in " +
                                             (dirs.value()[id] / "simgpu_svm").string()};
        out.push_back({id, *to_vram, *to_ram});
    }
    return out;
}

} // namespace simgpu_run
