// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "simgpu/counters.hpp"

namespace {

using namespace simgpu;

// Two files of one process, as the kernel writes simgpu_vms: a mirror VM
// with a job's faults, and a VM without fault mode.
constexpr const char* vms_text = "vm 3/1\n"
                                 "  pid 1234\n"
                                 "  comm simgpu\\040run\\134x\n"
                                 "  fault_mode 1\n"
                                 "  mirror 1\n"
                                 "  mirror_pid 1234\n"
                                 "  bo_mappings 2\n"
                                 "  mirror_mappings 3\n"
                                 "  ranges 3\n"
                                 "  ranges_2M 0\n"
                                 "  ranges_64K 3\n"
                                 "  ranges_4K 0\n"
                                 "  svm_system_pages 0\n"
                                 "  svm_vram_pages 48\n"
                                 "  svm_peer_pages 0\n"
                                 "  bo_system_pages 528\n"
                                 "  bo_vram_pages 0\n"
                                 "  faults_retried 3\n"
                                 "  faults_cancelled 0\n"
                                 "  pages_faulted 48\n"
                                 "vm 4/1\n"
                                 "  pid 1234\n"
                                 "  comm simgpu-run\n"
                                 "  fault_mode 0\n"
                                 "  mirror 0\n";

std::vector<VmInfo> parse_ok(std::string_view text)
{
    auto vms = parse_vms(text);
    EXPECT_TRUE(vms.ok()) << vms.error().message();
    return vms.ok() ? vms.value() : std::vector<VmInfo>{};
}

TEST(VmsParse, BlocksPerVm)
{
    const auto vms = parse_ok(vms_text);
    ASSERT_EQ(vms.size(), 2u);
    EXPECT_EQ(vms[0].client, 3u);
    EXPECT_EQ(vms[0].id, 1u);
    EXPECT_EQ(vms[0].comm, "simgpu run\\x");
    ASSERT_EQ(vms[0].values.size(), 18u);
    EXPECT_EQ(vms[0].values[0], (Counter{"pid", 1234}));
    EXPECT_EQ(vms[0].values[17], (Counter{"pages_faulted", 48}));
    EXPECT_EQ(vms[0].value("svm_vram_pages"), 48u);
    EXPECT_EQ(vms[0].value("ranges_64K"), 3u);
    EXPECT_EQ(vms[0].value("nope"), std::nullopt);

    EXPECT_EQ(vms[1].client, 4u);
    EXPECT_EQ(vms[1].id, 1u);
    EXPECT_EQ(vms[1].comm, "simgpu-run");
    EXPECT_EQ(vms[1].value("fault_mode"), 0u);
    EXPECT_EQ(vms[1].values.size(), 3u);
}

TEST(VmsParse, EmptyBlankLinesTabsAndLimits)
{
    EXPECT_TRUE(parse_ok("").empty());
    EXPECT_TRUE(parse_ok("\n\n").empty());
    const auto vms = parse_ok("\nvm 4294967295/4294967295\n\tcomm\n\n\tbig 18446744073709551615\n");
    ASSERT_EQ(vms.size(), 1u);
    EXPECT_EQ(vms[0].client, UINT32_MAX);
    EXPECT_EQ(vms[0].id, UINT32_MAX);
    EXPECT_EQ(vms[0].comm, "");
    EXPECT_EQ(vms[0].value("big"), UINT64_MAX);
}

TEST(VmsParse, Malformed)
{
    for (const char* text :
         {"  pid 1\n", "vm\n", "vm 1\n", "vm 1/\n", "vm /1\n", "vm 1/2/3\n", "vm -1/2\n",
          "vm 4294967296/1\n", "vm 1/2 x\n", "vms 1/2\n", "pid 1\n", "vm 1/2\n  pid\n",
          "vm 1/2\n  pid -1\n", "vm 1/2\n  pid 1 2\n", "vm 1/2\n  comm a b\n",
          "vm 1/2\n  comm a\\08\n", "vm 1/2\n  comm a\\12\n", "vm 1/2\n  comm \\400\n"}) {
        const auto vms = parse_vms(text);
        ASSERT_FALSE(vms.ok()) << text;
        EXPECT_EQ(vms.error().err, EINVAL);
        EXPECT_NE(vms.error().what.find("line "), std::string::npos) << vms.error().what;
    }
    const auto vms = parse_vms("vm 1/2\n  pid 3\n  mirror x\n");
    ASSERT_FALSE(vms.ok());
    EXPECT_NE(vms.error().what.find("line 3 '  mirror x'"), std::string::npos)
        << vms.error().what;
}

TEST(VmsRead, FileAndErrors)
{
    const auto dir = std::filesystem::temp_directory_path() /
                     ("simgpu-vms-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);

    const auto missing = read_vms(dir);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().err, ENOENT);

    std::ofstream(dir / vms_file) << vms_text;
    const auto vms = read_vms(dir);
    ASSERT_TRUE(vms.ok()) << vms.error().message();
    EXPECT_EQ(vms.value(), parse_ok(vms_text));

    std::ofstream(dir / vms_file) << "vm 1/1\n  pid x\n";
    const auto bad = read_vms(dir);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what.find("simgpu_vms: line 2"), std::string::npos) << bad.error().what;

    std::filesystem::remove_all(dir);
}

} // namespace
