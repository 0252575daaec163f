// SPDX-License-Identifier: MIT
#include "placement.hpp"

#include <drm/simgpu_drm.h>

namespace simgpu_run {

uint64_t Placement::mapped() const noexcept
{
    uint64_t n = system;
    for (const auto& [device, pages] : vram)
        n += pages;
    return n;
}

Placement summarise_pages(std::span<const uint32_t> pages)
{
    Placement p;
    p.pages = pages.size();
    for (const uint32_t flags : pages) {
        if (!(flags & DRM_SIMGPU_PAGE_MAPPED))
            continue;
        if (flags & DRM_SIMGPU_PAGE_VRAM)
            ++p.vram[(flags >> DRM_SIMGPU_PAGE_DEVICE_SHIFT) & 0xff];
        else
            ++p.system;
    }
    return p;
}

std::string describe_placement(uint32_t device, const Placement& placement)
{
    std::string out = "device " + std::to_string(device) + " maps ";
    const uint64_t mapped = placement.mapped();
    if (mapped == 0)
        return out + "none of the " + std::to_string(placement.pages) + " pages";
    out += std::to_string(mapped) + " of " + std::to_string(placement.pages) + " pages: ";

    const char* sep = "";
    const auto part = [&](uint64_t pages, const std::string& where) {
        if (pages == 0)
            return;
        out += sep + std::to_string(pages) + " in " + where;
        sep = ", ";
    };
    part(placement.system, "system memory");
    if (const auto own = placement.vram.find(device); own != placement.vram.end())
        part(own->second, "its VRAM");
    for (const auto& [owner, pages] : placement.vram)
        if (owner != device)
            part(pages, "VRAM of device " + std::to_string(owner) + " (over the link)");
    return out;
}

std::string describe_migrations(std::span<const Migrations> before,
                                std::span<const Migrations> after)
{
    std::string out = "migrate_to_vram/ram_pages:";
    for (size_t i = 0; i < before.size() && i < after.size(); ++i)
        out += (i ? ", device " : " device ") + std::to_string(after[i].device) + " +" +
               std::to_string(after[i].to_vram - before[i].to_vram) + "/+" +
               std::to_string(after[i].to_ram - before[i].to_ram);
    return out;
}

std::string describe_links(uint64_t link_mask)
{
    if (!link_mask)
        return "none";
    std::string list;
    unsigned count = 0;
    for (uint32_t d = 0; d < 64; ++d) {
        if (!(link_mask >> d & 1))
            continue;
        list += (count++ ? ", " : "") + std::to_string(d);
    }
    return (count == 1 ? "device " : "devices ") + list;
}

} // namespace simgpu_run
