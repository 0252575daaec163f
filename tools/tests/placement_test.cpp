// SPDX-License-Identifier: MIT
//
// simgpu-run --shared: the VM_QUERY_RANGE page flags summarised into the
// lines it prints, the migration counters' moves and the link masks.
#include <cstdint>
#include <vector>

#include <drm/simgpu_drm.h>

#include <gtest/gtest.h>

#include "placement.hpp"

namespace {

using simgpu_run::describe_links;
using simgpu_run::describe_migrations;
using simgpu_run::describe_placement;
using simgpu_run::Migrations;
using simgpu_run::Placement;
using simgpu_run::summarise_pages;

constexpr uint32_t mapped = DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_WRITE;

constexpr uint32_t in_vram_of(uint32_t device)
{
    return mapped | DRM_SIMGPU_PAGE_VRAM | device << DRM_SIMGPU_PAGE_DEVICE_SHIFT;
}

TEST(Placement, CountsPagesByWhereTheyAre)
{
    const std::vector<uint32_t> pages{
        0,                                                // not mapped
        DRM_SIMGPU_PAGE_VRAM | 1 << DRM_SIMGPU_PAGE_DEVICE_SHIFT, // stale bits, not mapped
        mapped,
        mapped | DRM_SIMGPU_PAGE_ATOMIC | DRM_SIMGPU_PAGE_EXCLUSIVE,
        in_vram_of(0),
        in_vram_of(1) | DRM_SIMGPU_PAGE_HUGE,
        in_vram_of(1),
        in_vram_of(3),
    };
    const Placement p = summarise_pages(pages);
    EXPECT_EQ(p.pages, 8u);
    EXPECT_EQ(p.system, 2u);
    EXPECT_EQ(p.vram, (std::map<uint32_t, uint64_t>{{0, 1}, {1, 2}, {3, 1}}));
    EXPECT_EQ(p.mapped(), 6u);
}

TEST(Placement, NothingMapped)
{
    const std::vector<uint32_t> pages(513, 0);
    EXPECT_EQ(describe_placement(1, summarise_pages(pages)), "device 1 maps none of the 513 pages");
    EXPECT_EQ(describe_placement(0, summarise_pages({})), "device 0 maps none of the 0 pages");
}

TEST(Placement, InSystemMemory)
{
    const std::vector<uint32_t> pages(513, mapped);
    EXPECT_EQ(describe_placement(0, summarise_pages(pages)),
              "device 0 maps 513 of 513 pages: 513 in system memory");
}

TEST(Placement, InItsOwnVram)
{
    std::vector<uint32_t> pages(513, in_vram_of(1));
    pages[0] = 0;
    EXPECT_EQ(describe_placement(1, summarise_pages(pages)),
              "device 1 maps 512 of 513 pages: 512 in its VRAM");
}

TEST(Placement, InAPeersVramOverTheLink)
{
    const std::vector<uint32_t> pages(512, in_vram_of(0));
    EXPECT_EQ(describe_placement(1, summarise_pages(pages)),
              "device 1 maps 512 of 512 pages: 512 in VRAM of device 0 (over the link)");
}

// System memory first, then the device's own VRAM, then the peers' by
// device id.
TEST(Placement, MixedInAFixedOrder)
{
    std::vector<uint32_t> pages;
    pages.insert(pages.end(), 3, in_vram_of(2));
    pages.insert(pages.end(), 4, in_vram_of(1));
    pages.insert(pages.end(), 5, in_vram_of(0));
    pages.insert(pages.end(), 6, mapped);
    pages.insert(pages.end(), 2, 0);
    EXPECT_EQ(describe_placement(1, summarise_pages(pages)),
              "device 1 maps 18 of 20 pages: 6 in system memory, 4 in its VRAM, 5 in VRAM of "
              "device 0 (over the link), 3 in VRAM of device 2 (over the link)");
}

TEST(Migrations, ShowsWhatEachDeviceMoved)
{
    const std::vector<Migrations> before{{0, 100, 7}, {1, 0, 0}};
    const std::vector<Migrations> after{{0, 612, 7}, {1, 0, 513}};
    EXPECT_EQ(describe_migrations(before, after),
              "migrate_to_vram/ram_pages: device 0 +512/+0, device 1 +0/+513");
    EXPECT_EQ(describe_migrations(after, after),
              "migrate_to_vram/ram_pages: device 0 +0/+0, device 1 +0/+0");
}

TEST(Links, NamesTheLinkedDevices)
{
    EXPECT_EQ(describe_links(0), "none");
    EXPECT_EQ(describe_links(0b10), "device 1");
    EXPECT_EQ(describe_links(0b101), "devices 0, 2");
    EXPECT_EQ(describe_links(uint64_t{1} << 63), "device 63");
}

} // namespace
