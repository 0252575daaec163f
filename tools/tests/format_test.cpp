// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "simgpu/format.hpp"

namespace {

using namespace simgpu;

TEST(Format, CapsToString)
{
    EXPECT_EQ(caps_to_string(0), "none");
    EXPECT_EQ(caps_to_string(DRM_SIMGPU_CAP_FAULT_MODE), "fault-mode");
    EXPECT_EQ(caps_to_string(DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR |
                             DRM_SIMGPU_CAP_VRAM_MIGRATION),
              "fault-mode cpu-addr-mirror vram-migration");
    EXPECT_EQ(caps_to_string(DRM_SIMGPU_CAP_VRAM_MIGRATION), "vram-migration");
    EXPECT_EQ(caps_to_string(DRM_SIMGPU_CAP_ATOMIC_HOLD), "atomic-hold");
    EXPECT_EQ(caps_to_string(1ULL << 4), "0x10");
    EXPECT_EQ(caps_to_string(DRM_SIMGPU_CAP_CPU_ADDR_MIRROR | (1ULL << 63) | (1ULL << 5)),
              "cpu-addr-mirror 0x20 0x8000000000000000");
}

TEST(Format, CapsNames)
{
    EXPECT_TRUE(caps_names(0).empty());
    const auto names = caps_names(DRM_SIMGPU_CAP_FAULT_MODE | (1ULL << 5));
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0], "fault-mode");
    EXPECT_EQ(names[1], "0x20");
}

TEST(Format, EngineName)
{
    drm_simgpu_engine_info e{};
    e.engine_class = DRM_SIMGPU_ENGINE_CLASS_COMPUTE;
    e.instance = 0;
    EXPECT_EQ(engine_name(e), "compute.0");
    e.instance = 7;
    EXPECT_EQ(engine_name(e), "compute.7");
    e.engine_class = DRM_SIMGPU_ENGINE_CLASS_COPY;
    e.instance = 0;
    EXPECT_EQ(engine_name(e), "copy.0");
    e.engine_class = 9;
    EXPECT_EQ(engine_name(e), "class-9.0");
}

TEST(Format, Bytes)
{
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_bytes(512), "512 B");
    EXPECT_EQ(format_bytes(1023), "1023 B");
    EXPECT_EQ(format_bytes(4096), "4 KiB");
    EXPECT_EQ(format_bytes(1536), "1.5 KiB");
    EXPECT_EQ(format_bytes(256ULL << 20), "256 MiB");
    EXPECT_EQ(format_bytes(3ULL << 29), "1.5 GiB");
    EXPECT_EQ(format_bytes((1ULL << 20) + (1ULL << 18)), "1.25 MiB");
    EXPECT_EQ(format_bytes(2ULL << 40), "2 TiB");
    EXPECT_EQ(format_bytes(~0ULL), "16 EiB");
}

TEST(Format, SplitWords)
{
    using Words = std::vector<std::string_view>;
    EXPECT_EQ(split_words(""), Words{});
    EXPECT_EQ(split_words(" \t\r\n"), Words{});
    EXPECT_EQ(split_words("faults 12"), (Words{"faults", "12"}));
    EXPECT_EQ(split_words("  vram_size=16\tsvm_core=kernel \n"),
              (Words{"vram_size=16", "svm_core=kernel"}));
}

} // namespace

