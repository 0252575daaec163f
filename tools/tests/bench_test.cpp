// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "util.hpp"

namespace {

using namespace simgpu_bench;

TEST(BenchSize, Suffixes)
{
    EXPECT_EQ(parse_size("4096").value(), 4096u);
    EXPECT_EQ(parse_size("4K").value(), 4 * KiB);
    EXPECT_EQ(parse_size("64k").value(), 64 * KiB);
    EXPECT_EQ(parse_size("2M").value(), 2 * MiB);
    EXPECT_EQ(parse_size("2MiB").value(), 2 * MiB);
    EXPECT_EQ(parse_size("16m").value(), 16 * MiB);
    EXPECT_EQ(parse_size("1G").value(), GiB);
    EXPECT_EQ(parse_size("1024M").value(), GiB);
}

TEST(BenchSize, Rejects)
{
    for (const char* bad : {"", "K", "0", "0K", "2G", "1025M", "3000", "1.5M", "4X", "-4K",
                            "99999999999999999999999", "4K4"}) {
        auto r = parse_size(bad);
        EXPECT_FALSE(r.ok()) << bad;
    }
    EXPECT_NE(parse_size("2G").error().what.find("at most 1G"), std::string::npos);
}

TEST(BenchSize, List)
{
    auto r = parse_sizes("64K,2M,,64K,16M");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), (std::vector<uint64_t>{64 * KiB, 2 * MiB, 16 * MiB}));
    EXPECT_FALSE(parse_sizes("").ok());
    EXPECT_FALSE(parse_sizes("4K,nope").ok());
}

TEST(BenchStats, MinMedianMax)
{
    Stats s = summarize({5, 1, 3});
    EXPECT_EQ(s.min, 1);
    EXPECT_EQ(s.median, 3);
    EXPECT_EQ(s.max, 5);
    EXPECT_EQ(s.count, 3u);

    s = summarize({4, 1, 3, 2});
    EXPECT_EQ(s.median, 2.5);
    s = summarize({7});
    EXPECT_EQ(s.min, 7);
    EXPECT_EQ(s.median, 7);
    EXPECT_EQ(s.max, 7);
    s = summarize({});
    EXPECT_EQ(s.count, 0u);
    EXPECT_EQ(s.median, 0);
}

TEST(BenchFormat, Numbers)
{
    EXPECT_EQ(format_number(12345.6), "12346");
    EXPECT_EQ(format_number(310.44), "310.4");
    EXPECT_EQ(format_number(61.234), "61.23");
    EXPECT_EQ(format_number(1.5), "1.500");
    EXPECT_EQ(format_number(0.20491), "0.2049");
    EXPECT_EQ(format_number(0), "0.000");
    EXPECT_EQ(format_number(std::numeric_limits<double>::infinity()), "-");
    EXPECT_EQ(format_number(std::nan("")), "-");
}

TEST(BenchJson, Strings)
{
    EXPECT_EQ(json_string("plain"), "\"plain\"");
    EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(json_string("l1\nl2\t"), "\"l1\\nl2\\t\"");
    EXPECT_EQ(json_string(std::string_view("\x01", 1)), "\"\\u0001\"");
    EXPECT_EQ(json_string("\xc3\xa9"), "\"\xc3\xa9\""); // UTF-8 passes through
}

TEST(BenchJson, Numbers)
{
    EXPECT_EQ(json_number(1.5), "1.5");
    EXPECT_EQ(json_number(4096), "4096");
    EXPECT_EQ(json_number(0.1), "0.1");
    EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
    EXPECT_EQ(json_number(std::nan("")), "null");
}

TEST(BenchJson, Object)
{
    JsonObject o;
    o.string("workload", "sparse-faults")
        .integer("size", 2097152)
        .number("ratio", 0.25)
        .boolean("ok", true)
        .null("counters")
        .stats("s", Stats{1, 2, 3, 3});
    EXPECT_EQ(o.str(), "{\"workload\": \"sparse-faults\", \"size\": 2097152, \"ratio\": 0.25, "
                       "\"ok\": true, \"counters\": null, "
                       "\"s\": {\"min\": 1, \"median\": 2, \"max\": 3}}");
    EXPECT_EQ(JsonObject().str(), "{}");
    EXPECT_EQ(json_array({}), "[]");
    EXPECT_EQ(json_array({"1", "{}"}), "[\n    1,\n    {}\n  ]");
}

TEST(BenchTable, Row)
{
    const std::string row =
        table_row("first-touch-populated", 2 * MiB, Stats{58.0, 61.2, 64.9, 5}, "MiB/s", 310.4,
                  61.2 / 310.4, "cold");
    EXPECT_NE(row.find("first-touch-populated"), std::string::npos);
    EXPECT_NE(row.find("2 MiB"), std::string::npos);
    EXPECT_NE(row.find("61.20"), std::string::npos);
    EXPECT_NE(row.find("0.1972"), std::string::npos);
    EXPECT_NE(row.find("cold"), std::string::npos);
    // Columns line up with the heading.
    const std::string head = table_header();
    EXPECT_EQ(head.find("median") + 6, row.find("61.20") + 5);
    // No test_hmm anchor: its columns say so.
    EXPECT_EQ(row.substr(row.size() - 1), "-");
}

TEST(BenchTable, HmmColumns)
{
    const std::string with =
        table_row("prefetch-vram", 2 * MiB, Stats{40.0, 45.5, 50.0, 3}, "MiB/s", 310.4,
                  45.5 / 310.4, "warm", "to-dev", 91.0, 0.4321);
    EXPECT_NE(with.find("to-dev"), std::string::npos);
    EXPECT_NE(with.find("91.00"), std::string::npos);
    EXPECT_NE(with.find("0.4321"), std::string::npos);
    // Columns line up with the heading, whose "×" (of "× memcpy", and of
    // "× hmm" at the end) is two bytes in one column.
    const std::string head = table_header();
    EXPECT_EQ(head.find("hmm-op"), with.find("to-dev") + 1);
    EXPECT_EQ(head.find("test_hmm") + 8, with.find("91.00") + 5 + 1);
    EXPECT_EQ(head.size(), with.size() + 2);

    // An operation whose anchor is unavailable, and a row without one, keep
    // the columns.
    const std::string unavailable =
        table_row("prefetch-vram", 2 * MiB, Stats{40.0, 45.5, 50.0, 3}, "MiB/s", 310.4,
                  45.5 / 310.4, "warm", "to-dev");
    const std::string none = table_row("prefetch-vram", 2 * MiB, Stats{40.0, 45.5, 50.0, 3},
                                       "MiB/s", 310.4, 45.5 / 310.4, "warm");
    EXPECT_EQ(unavailable.size(), with.size());
    EXPECT_EQ(none.size(), with.size());
    EXPECT_NE(unavailable.find("to-dev"), std::string::npos);
    EXPECT_EQ(unavailable.substr(unavailable.size() - 3), "  -");
}

TEST(BenchTable, AtomicsRow)
{
    // The longest row name, unit, anchor kind and hmm-op of
    // atomics-contended keep the columns.
    const std::string row =
        table_row("atomics-contended/default", 2 * MiB, Stats{9000.0, 9500.0, 9900.0, 3},
                  "ops/s", 2.5e7, 9500.0 / 2.5e7, "cpu", "exclusive", 21000.0, 0.4524);
    const std::string head = table_header();
    EXPECT_EQ(row.find("2 MiB"), head.find("size"));
    EXPECT_EQ(head.find("median") + 6, row.find("9500") + 4);
    EXPECT_EQ(head.find("unit"), row.find("ops/s"));
    EXPECT_EQ(head.find("anchor"), row.find("cpu") + 1);
    EXPECT_EQ(head.find("hmm-op"), row.find("exclusive") + 1);
    EXPECT_EQ(head.size(), row.size() + 2);
}

TEST(BenchAtomics, Job)
{
    const uint64_t addr = 0x7f0000201000;
    uint64_t adds = 1234;
    const simgpu::BatchBuilder b = atomics_job(addr, 48, adds);
    const std::vector<uint32_t>& d = b.dwords();
    // 48 atomics of 9 dwords, then BATCH_END.
    ASSERT_EQ(d.size(), 48u * 9 + 1);
    uint64_t sum = 0;
    for (size_t i = 0; i < 48; ++i) {
        const uint32_t* a = &d[i * 9];
        EXPECT_EQ(a[0] >> 24, uint32_t{DRM_SIMGPU_OP_ATOMIC}) << i;
        EXPECT_EQ(a[1] | uint64_t{a[2]} << 32, addr) << i;
        const uint32_t op = (a[0] >> 16) & 0xff; // qword: no DRM_SIMGPU_ATOMIC_32
        const uint64_t operand = a[3] | uint64_t{a[4]} << 32;
        ASSERT_TRUE(op == DRM_SIMGPU_ATOMIC_INC || op == DRM_SIMGPU_ATOMIC_ADD) << i;
        sum += op == DRM_SIMGPU_ATOMIC_INC ? 1 : operand;
        // No old value written back.
        EXPECT_EQ(a[7] | uint64_t{a[8]} << 32, 0u) << i;
    }
    EXPECT_EQ(adds, sum);
    EXPECT_EQ(adds, 24u * 1 + 24u * 3);
    EXPECT_EQ(d.back(), simgpu::BatchBuilder().batch_end().dwords().back());

    atomics_job(addr, 0, adds);
    EXPECT_EQ(adds, 0u);
}

} // namespace
