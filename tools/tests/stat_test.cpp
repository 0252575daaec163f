// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "simgpu/counters.hpp"
#include "stat.hpp"

namespace {

using namespace simgpu;
using namespace simgpu_stat;

constexpr const char* stats_text = "faults 85\n"
                                   "faults_retried 85\n"
                                   "faults_cancelled 0\n"
                                   "fatal_misses 0\n"
                                   "tlb_invalidations 101\n"
                                   "jobs_completed 8\n"
                                   "jobs_failed 0\n"
                                   "vms 1\n"
                                   "exec_queues 2\n";

constexpr const char* svm_text = "ranges_created 85\n"
                                 "ranges_removed 85\n"
                                 "ranges_2M 0\n"
                                 "ranges_64K 84\n"
                                 "ranges_4K 1\n"
                                 "pages_faulted 1345\n"
                                 "invalidations 0\n";

Counters parse_ok(std::string_view text, std::string_view prefix = {})
{
    auto counters = parse_counters(text, prefix);
    EXPECT_TRUE(counters.ok()) << counters.error().message();
    return counters.ok() ? counters.value() : Counters{};
}

// A sample as read_device_counters() names it.
Counters sample(uint64_t faults, uint64_t jobs, uint64_t pages, uint64_t vram_used)
{
    return {{"faults", faults},         {"faults_retried", faults},
            {"faults_cancelled", 0},    {"tlb_invalidations", faults},
            {"jobs_completed", jobs},   {"jobs_failed", 0},
            {"vms", 1},                 {"exec_queues", 2},
            {"ranges_created", faults}, {"pages_faulted", pages},
            {"invalidations", 0},       {"vram_size", 256ull << 20},
            {"vram_used", vram_used}};
}

size_t column(std::string_view counter)
{
    for (size_t i = 0; i < columns.size(); ++i)
        if (columns[i].counter == counter)
            return i;
    ADD_FAILURE() << "no column for " << counter;
    return 0;
}

TEST(StatParse, NameValueLines)
{
    const Counters c = parse_ok(stats_text);
    ASSERT_EQ(c.size(), 9u);
    EXPECT_EQ(c[0], (Counter{"faults", 85}));
    EXPECT_EQ(c[8], (Counter{"exec_queues", 2}));
    EXPECT_EQ(find_counter(c, "tlb_invalidations"), 101u);
    EXPECT_EQ(find_counter(c, "nope"), std::nullopt);
    EXPECT_EQ(parse_ok(svm_text).size(), 7u);
}

TEST(StatParse, PrefixBlankLinesAndBigValues)
{
    const Counters c =
        parse_ok("size 268435456\n\n  used\t4096 \nbig 18446744073709551615", "vram_");
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0], (Counter{"vram_size", 268435456}));
    EXPECT_EQ(c[1], (Counter{"vram_used", 4096}));
    EXPECT_EQ(c[2].value, UINT64_MAX);
    EXPECT_TRUE(parse_ok("").empty());
}

TEST(StatParse, EngineLines)
{
    const Counters c = parse_ok("compute0 queues 1 cmds 20 preemptions 0 tlb_hits 7 tlb_misses 3\n"
                                "copy0 queues 0 cmds 0 preemptions 0 tlb_hits 0 tlb_misses 0\n");
    ASSERT_EQ(c.size(), 10u);
    EXPECT_EQ(c[1], (Counter{"compute0.cmds", 20}));
    EXPECT_EQ(c[4], (Counter{"compute0.tlb_misses", 3}));
    EXPECT_EQ(c[9], (Counter{"copy0.tlb_misses", 0}));
}

TEST(StatParse, Malformed)
{
    for (const char* text : {"faults\n", "faults -1\n", "faults 12x\n", "a 1 b\n", "x a 1 b\n",
                             "faults 99999999999999999999\n"}) {
        const auto c = parse_counters(text);
        ASSERT_FALSE(c.ok()) << text;
        EXPECT_EQ(c.error().err, EINVAL);
        EXPECT_NE(c.error().what.find("line 1"), std::string::npos) << c.error().what;
    }
    const auto c = parse_counters("faults 1\nvms x\n");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().what.find("line 2 'vms x'"), std::string::npos) << c.error().what;
}

TEST(StatRate, DeltaOverInterval)
{
    EXPECT_EQ(rate(10, 30, 2.0), 10.0);
    EXPECT_EQ(rate(5, 5, 0.5), 0.0);
    EXPECT_EQ(rate(0, 1, 0.2), 5.0);
    EXPECT_EQ(rate(UINT64_MAX - 1, UINT64_MAX, 1.0), 1.0);
    EXPECT_EQ(rate(30, 10, 1.0), std::nullopt); // went backwards
    EXPECT_EQ(rate(1, 2, 0.0), std::nullopt);
}

TEST(StatRow, RatesAndGauges)
{
    const Counters before = sample(100, 10, 1000, 0);
    const Counters after = sample(150, 14, 1800, 3u << 20);
    const Row row = compute_row(1, &before, after, 0.5);
    EXPECT_EQ(row.device, 1u);
    EXPECT_FALSE(row.first_sample);
    EXPECT_TRUE(row.went_backwards.empty());
    EXPECT_TRUE(row.no_earlier.empty());
    EXPECT_EQ(row.cells[column("faults")], (Cell{Cell::Kind::rate, 100}));
    EXPECT_EQ(row.cells[column("jobs_completed")], (Cell{Cell::Kind::rate, 8}));
    EXPECT_EQ(row.cells[column("pages_faulted")], (Cell{Cell::Kind::rate, 1600}));
    EXPECT_EQ(row.cells[column("faults_cancelled")], (Cell{Cell::Kind::rate, 0}));
    EXPECT_EQ(row.cells[column("exec_queues")], (Cell{Cell::Kind::gauge, 2}));
    EXPECT_EQ(row.cells[column("vram_used")], (Cell{Cell::Kind::gauge, 3}));
    EXPECT_FALSE(format_note(row));
}

TEST(StatRow, GaugeGoingDownIsNoReload)
{
    Counters before = sample(1, 1, 1, 8u << 20);
    const Counters after = sample(1, 1, 1, 0);
    before[6].value = 5; // vms
    const Row row = compute_row(0, &before, after, 1.0);
    EXPECT_TRUE(row.went_backwards.empty());
    EXPECT_EQ(row.cells[column("vms")], (Cell{Cell::Kind::gauge, 1}));
    EXPECT_EQ(row.cells[column("vram_used")], (Cell{Cell::Kind::gauge, 0}));
}

TEST(StatRow, ReloadShowsTotalsAndANote)
{
    // simgpu reloaded between the samples: the counters started over.
    const Counters before = sample(500, 40, 9000, 0);
    const Counters after = sample(3, 40, 12, 0);
    const Row row = compute_row(0, &before, after, 1.0);
    EXPECT_EQ(row.cells[column("faults")], (Cell{Cell::Kind::total, 3}));
    EXPECT_EQ(row.cells[column("pages_faulted")], (Cell{Cell::Kind::total, 12}));
    EXPECT_EQ(row.cells[column("jobs_completed")], (Cell{Cell::Kind::rate, 0}));
    EXPECT_EQ(row.went_backwards,
              (std::vector<std::string>{"faults", "faults_retried", "tlb_invalidations",
                                        "ranges_created", "pages_faulted"}));
    for (const Cell& cell : row.cells)
        EXPECT_GE(cell.value, 0);

    const std::string line = format_row(row);
    EXPECT_NE(line.find(" 3*"), std::string::npos) << line;
    EXPECT_NE(line.find(" 12*"), std::string::npos) << line;
    EXPECT_EQ(line.find('-'), std::string::npos) << line;
    const auto note = format_note(row);
    ASSERT_TRUE(note);
    EXPECT_EQ(*note, "note: device 0: faults, faults_retried, tlb_invalidations, ranges_created, "
                     "pages_faulted went backwards (simgpu reloaded?); * = total since simgpu "
                     "was loaded, not a rate");
}

TEST(StatRow, FirstSampleAndMissingCounters)
{
    const Counters after = parse_ok(stats_text); // no simgpu_svm, no simgpu_vram
    const Row row = compute_row(2, nullptr, after, 0);
    EXPECT_TRUE(row.first_sample);
    EXPECT_EQ(row.cells[column("faults")], (Cell{Cell::Kind::total, 85}));
    EXPECT_EQ(row.cells[column("pages_faulted")].kind, Cell::Kind::missing);
    EXPECT_EQ(row.cells[column("vram_used")].kind, Cell::Kind::missing);
    EXPECT_EQ(row.cells[column("vms")], (Cell{Cell::Kind::gauge, 1}));
    const auto note = format_note(row);
    ASSERT_TRUE(note);
    EXPECT_EQ(*note, "note: device 2: first sample of the device; * = total since simgpu was "
                     "loaded, not a rate");
}

TEST(StatFormat, Numbers)
{
    EXPECT_EQ(format_number(0), "0");
    EXPECT_EQ(format_number(5), "5");
    EXPECT_EQ(format_number(0.5), "0.5");
    EXPECT_EQ(format_number(0.04), "0.0");
    EXPECT_EQ(format_number(12.34), "12.3");
    EXPECT_EQ(format_number(99.96), "100.0");
    EXPECT_EQ(format_number(123.6), "124");
    EXPECT_EQ(format_number(6725), "6725");
}

TEST(StatFormat, HeaderAndRowAlign)
{
    const std::string header = format_header();
    EXPECT_EQ(header, "dev faults/s retried/s cancel/s tlbinv/s jobs/s failed/s ranges/s "
                      "pages/s svminv/s   vms queues vram_MiB");

    const Counters before = sample(100, 10, 1000, 0);
    const Counters after = sample(150, 14, 1800, 3u << 19);
    const std::string row = format_row(compute_row(0, &before, after, 0.5));
    EXPECT_EQ(row, "  0      100       100        0      100      8        0      100 "
                   "   1600        0     1      2      1.5");
    EXPECT_EQ(row.size(), header.size());
}

TEST(StatFormat, Once)
{
    EXPECT_EQ(format_once(1, {{"faults", 3}, {"compute0.cmds", 9}}),
              "device 1\nfaults 3\ncompute0.cmds 9\n");
}

TEST(StatFormat, HeaderEveryTwentyLines)
{
    Pacer pacer;
    const std::vector<std::string> two{"a", "b"};
    auto lines = pacer.block(two);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], format_header());
    for (int i = 1; i < 10; ++i)
        EXPECT_EQ(pacer.block(two), two) << i; // 20 lines so far
    lines = pacer.block(two);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], format_header());
    EXPECT_EQ(lines[1], "a");

    Pacer every3(3);
    EXPECT_EQ(every3.block({"1", "2"}).size(), 3u);
    EXPECT_EQ(every3.block({"3", "4"}).size(), 2u); // a block is never split
    EXPECT_EQ(every3.block({"5"}).size(), 2u);
}

TEST(StatOptions, IntervalAndCount)
{
    EXPECT_EQ(parse_interval("1"), 1.0);
    EXPECT_EQ(parse_interval("0.2"), 0.2);
    EXPECT_EQ(parse_interval(".5"), 0.5);
    for (const char* bad : {"", "0", "-1", "1s", "nan", "inf", "1e3", "100000", "0.0001"})
        EXPECT_EQ(parse_interval(bad), std::nullopt) << bad;
    EXPECT_EQ(parse_count("5"), 5u);
    for (const char* bad : {"", "0", "-1", "2x"})
        EXPECT_EQ(parse_count(bad), std::nullopt) << bad;
}

// counter_dirs() and read_device_counters() on a made-up debugfs tree.
class StatDebugfs : public ::testing::Test {
protected:
    void SetUp() override
    {
        root_ = std::filesystem::temp_directory_path() /
                ("simgpu-stat-test-" + std::to_string(::getpid()));
        std::filesystem::remove_all(root_);
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    void write(const std::filesystem::path& rel, const std::string& text)
    {
        std::filesystem::create_directories((root_ / rel).parent_path());
        std::ofstream(root_ / rel) << text;
    }

    std::filesystem::path root_;
};

TEST_F(StatDebugfs, MissingDirectory)
{
    const auto dirs = counter_dirs(root_ / "dri");
    ASSERT_FALSE(dirs.ok());
    EXPECT_EQ(dirs.error().err, ENOENT);
}

TEST_F(StatDebugfs, FindsSimgpuMinorsInOrderAndReadsThem)
{
    for (const char* minor : {"10", "1", "0"}) {
        write(std::string("dri/") + minor + "/name", "simgpu dev=simgpu.x unique=x\n");
        write(std::string("dri/") + minor + "/simgpu_stats", stats_text);
    }
    write("dri/2/name", "virtio_gpu dev=x\n"); // another driver
    write("dri/2/simgpu_stats", stats_text);
    write("dri/128/name", "simgpu\n"); // a render node: no counter files
    write("dri/0/simgpu_svm", svm_text);
    write("dri/0/simgpu_vram", "size 268435456\nused 1048576\n");
    write("dri/0/simgpu_engines", "compute0 queues 1 cmds 2 preemptions 0 tlb_hits 3 "
                                  "tlb_misses 4\n");
    write("dri/1/simgpu_vram", "size 1\nused oops\n");

    const auto dirs = counter_dirs(root_ / "dri");
    ASSERT_TRUE(dirs.ok()) << dirs.error().message();
    ASSERT_EQ(dirs.value().size(), 3u);
    EXPECT_EQ(dirs.value()[0].filename(), "0");
    EXPECT_EQ(dirs.value()[1].filename(), "1");
    EXPECT_EQ(dirs.value()[2].filename(), "10");

    const auto all = read_device_counters(dirs.value()[0]);
    ASSERT_TRUE(all.ok()) << all.error().message();
    EXPECT_EQ(all.value().size(), 9u + 7u + 2u + 5u);
    EXPECT_EQ(find_counter(all.value(), "vram_used"), 1048576u);
    EXPECT_EQ(find_counter(all.value(), "compute0.tlb_misses"), 4u);

    const auto bad = read_device_counters(dirs.value()[1]);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what.find("simgpu_vram: line 2"), std::string::npos)
        << bad.error().what;

    const auto stats_only = read_device_counters(dirs.value()[2]);
    ASSERT_TRUE(stats_only.ok());
    EXPECT_EQ(stats_only.value().size(), 9u);

    const auto none = read_device_counters(root_ / "dri/128");
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().err, ENOENT);
}

} // namespace
