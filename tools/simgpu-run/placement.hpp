// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace simgpu_run {

// Where the pages of a span are, as one device's VM_QUERY_RANGE reports
// them.
struct Placement {
    uint64_t pages = 0;  // pages queried
    uint64_t system = 0; // mapped, in system memory
    // Mapped in VRAM, by the device whose VRAM holds them.
    std::map<uint32_t, uint64_t> vram;

    uint64_t mapped() const noexcept;
};

// Counts the DRM_SIMGPU_PAGE_* flags of @pages by where each page is.
Placement summarise_pages(std::span<const uint32_t> pages);

// What device @device maps, for example "device 1 maps 512 of 513 pages:
// 1 in system memory, 511 in VRAM of device 0 (over the link)", or
// "device 0 maps none of the 513 pages". Another device's VRAM is only
// ever mapped over a link.
std::string describe_placement(uint32_t device, const Placement& placement);

// The SVM migration counters of one device (debugfs simgpu_svm).
struct Migrations {
    uint32_t device = 0;
    uint64_t to_vram = 0; // migrate_to_vram_pages: into its VRAM
    uint64_t to_ram = 0;  // migrate_to_ram_pages: out of its VRAM

    bool operator==(const Migrations&) const = default;
};

// How the counters moved from @before to @after, the same devices in the
// same order: "migrate_to_vram/ram_pages: device 0 +512/+0, device 1
// +0/+512".
std::string describe_migrations(std::span<const Migrations> before,
                                std::span<const Migrations> after);

// The devices of @link_mask (drm_simgpu_query_device.link_mask): "device
// 1", "devices 0, 2", or "none".
std::string describe_links(uint64_t link_mask);

} // namespace simgpu_run
