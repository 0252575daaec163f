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

TEST(BenchFormat, StageSplit)
{
    StageNs ns{};
    EXPECT_EQ(stage_split(ns, 0), "");
    ns[0] = 10000;  // queue: 10 us over 2 faults
    ns[3] = 400000; // migrate
    ns[7] = 2000;   // resume
    EXPECT_EQ(stage_split(ns, 2), "per fault 206 us: queue 5.0, lock 0.0, range 0.0, "
                                  "migrate 200, pages 0.0, bind 0.0, other 0.0, resume 1.0");
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
        table_row("first-touch-populated", 2 * MiB, "simgpu", Stats{58.0, 61.2, 64.9, 5}, "MiB/s", 310.4,
                  61.2 / 310.4, "cold");
    EXPECT_NE(row.find("first-touch-populated"), std::string::npos);
    EXPECT_NE(row.find("2 MiB"), std::string::npos);
    EXPECT_NE(row.find("61.20"), std::string::npos);
    EXPECT_NE(row.find("0.1972"), std::string::npos);
    EXPECT_NE(row.find("cold"), std::string::npos);
    // Columns line up with the heading.
    const std::string head = table_header();
    EXPECT_EQ(head.find("backend"), row.find("simgpu"));
    EXPECT_EQ(head.find("median") + 6, row.find("61.20") + 5);
    // No test_hmm anchor: its columns say so.
    EXPECT_EQ(row.substr(row.size() - 1), "-");
}

TEST(BenchTable, HmmColumns)
{
    const std::string with =
        table_row("prefetch-vram", 2 * MiB, "kernel", Stats{40.0, 45.5, 50.0, 3}, "MiB/s", 310.4,
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
        table_row("prefetch-vram", 2 * MiB, "kernel", Stats{40.0, 45.5, 50.0, 3}, "MiB/s", 310.4,
                  45.5 / 310.4, "warm", "to-dev");
    const std::string none = table_row("prefetch-vram", 2 * MiB, "kernel", Stats{40.0, 45.5, 50.0, 3},
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
        table_row("atomics-contended/default", 2 * MiB, "kernel", Stats{9000.0, 9500.0, 9900.0, 3},
                  "ops/s", 2.5e7, 9500.0 / 2.5e7, "cpu", "exclusive", 21000.0, 0.4524);
    const std::string head = table_header();
    EXPECT_EQ(row.find("2 MiB"), head.find("size"));
    EXPECT_EQ(head.find("median") + 6, row.find("9500") + 4);
    EXPECT_EQ(head.find("unit"), row.find("ops/s"));
    EXPECT_EQ(head.find("anchor"), row.find("cpu") + 1);
    EXPECT_EQ(head.find("hmm-op"), row.find("exclusive") + 1);
    EXPECT_EQ(head.size(), row.size() + 2);
}

TEST(BenchTable, Skip)
{
    const std::string head = table_header();
    const std::string skip =
        table_skip("vram-first-touch", "kernel", "device 0 has no VRAM migration");
    EXPECT_EQ(skip.find("vram-first-touch"), 0u);
    EXPECT_EQ(skip.find("kernel"), head.find("backend"));
    EXPECT_EQ(skip.find("skipped: device 0 has no VRAM migration"), head.find("median") - 3);
    // A reason longer than any buffer of a row is kept whole.
    const std::string reason(500, 'x');
    EXPECT_EQ(table_skip("evict-thrash", "simgpu", reason).substr(head.find("median") - 3 + 9),
              reason);
}

TEST(BenchBackends, Parse)
{
    EXPECT_EQ(parse_backends("all").value(), all_backends);
    EXPECT_EQ(parse_backends("simgpu,kernel").value(), all_backends);
    EXPECT_EQ(parse_backends("kernel,simgpu,kernel").value(),
              (std::vector<std::string>{"kernel", "simgpu"}));
    EXPECT_EQ(parse_backends("kernel").value(), std::vector<std::string>{"kernel"});
    EXPECT_FALSE(parse_backends("").ok());
    EXPECT_FALSE(parse_backends(",").ok());
    auto bad = parse_backends("simgpu,drm");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what.find("'drm'"), std::string::npos);
}

TEST(BenchBackends, LoadedOne)
{
    EXPECT_EQ(backend_of("kernel\n"), "kernel");
    EXPECT_EQ(backend_of("simgpu"), "simgpu");
    // A module without the parameter has its own core only.
    EXPECT_EQ(backend_of(""), "simgpu");
    EXPECT_EQ(backend_of("\n"), "simgpu");
}

TEST(BenchBackends, ModprobeArgs)
{
    using Args = std::vector<std::string>;
    EXPECT_EQ(modprobe_args("", "kernel"), (Args{"modprobe", "simgpu", "svm_core=kernel"}));
    EXPECT_EQ(modprobe_args(" vram_size=16  link_groups=0,1\n", "simgpu"),
              (Args{"modprobe", "simgpu", "vram_size=16", "link_groups=0,1", "svm_core=simgpu"}));
    // The backend asked for wins over one of the parameters.
    EXPECT_EQ(modprobe_args("svm_core=kernel vram_size=16", "simgpu"),
              (Args{"modprobe", "simgpu", "vram_size=16", "svm_core=simgpu"}));
}

// "pass.line" of every placed line.
std::vector<std::string> order(const std::vector<std::vector<PassLine>>& passes)
{
    std::vector<std::string> out;
    for (const Placed& p : side_by_side(passes))
        out.push_back(std::to_string(p.pass) + "." + std::to_string(p.line));
    return out;
}

using Lines = std::vector<std::string>;

TEST(BenchSideBySide, OnePass)
{
    // One backend: the order measured.
    const std::vector<PassLine> pass{{"sparse-faults", 64 * KiB, "sparse-faults", "us"},
                                     {"sparse-faults", 2 * MiB, "sparse-faults", "us"},
                                     {"two-devices", 64 * KiB, "two-devices/dev0", "MiB/s"},
                                     {"two-devices", 64 * KiB, "two-devices/dev1", "MiB/s"}};
    EXPECT_EQ(order({pass}), (Lines{"0.0", "0.1", "0.2", "0.3"}));
    EXPECT_TRUE(side_by_side({}).empty());
    EXPECT_TRUE(side_by_side({{}, {}}).empty());
}

TEST(BenchSideBySide, RowsNextToEachOther)
{
    // munmap-invalidate: a MiB/s and a us row of one name, and a
    // comparison row, at each size.
    const std::vector<PassLine> pass{
        {"munmap-invalidate", 64 * KiB, "munmap-invalidate", "MiB/s"},
        {"munmap-invalidate", 64 * KiB, "munmap-invalidate", "us"},
        {"munmap-invalidate", 64 * KiB, "(munmap, no GPU map)", "us"},
        {"munmap-invalidate", 2 * MiB, "munmap-invalidate", "MiB/s"},
        {"munmap-invalidate", 2 * MiB, "munmap-invalidate", "us"},
        {"munmap-invalidate", 2 * MiB, "(munmap, no GPU map)", "us"},
        {"sparse-faults", 64 * KiB, "sparse-faults", "us"}};
    EXPECT_EQ(order({pass, pass}), (Lines{"0.0", "1.0", "0.1", "1.1", "0.2", "1.2", "0.3", "1.3",
                                          "0.4", "1.4", "0.5", "1.5", "0.6", "1.6"}));
}

TEST(BenchSideBySide, SkippedWorkload)
{
    // The kernel backend skips a VRAM workload whole (at the first size,
    // the others not tried): the skip follows all of simgpu's rows of it,
    // the companion rows included.
    const std::vector<PassLine> simgpu{
        {"vram-first-touch", 64 * KiB, "vram-first-touch", "MiB/s"},
        {"vram-first-touch", 64 * KiB, "(in place, LOC_SYSTEM)", "MiB/s"},
        {"vram-first-touch", 2 * MiB, "vram-first-touch", "MiB/s"},
        {"vram-first-touch", 2 * MiB, "(in place, LOC_SYSTEM)", "MiB/s"},
        {"prefetch-vram", 64 * KiB, "prefetch-vram", "MiB/s"}};
    const std::vector<PassLine> kernel{{"vram-first-touch", 64 * KiB, "vram-first-touch", ""},
                                       {"prefetch-vram", 64 * KiB, "prefetch-vram", ""}};
    EXPECT_EQ(order({simgpu, kernel}), (Lines{"0.0", "0.1", "0.2", "0.3", "1.0", "0.4", "1.1"}));
}

TEST(BenchSideBySide, SkippedRow)
{
    // atomics-contended: a second backend that measures /default and
    // skips /global and /device: each skip after simgpu's row of its name.
    const std::vector<PassLine> simgpu{
        {"atomics-contended", 2 * MiB, "atomics-contended/default", "ops/s"},
        {"atomics-contended", 2 * MiB, "atomics-contended/global", "ops/s"},
        {"atomics-contended", 2 * MiB, "atomics-contended/device", "ops/s"}};
    const std::vector<PassLine> kernel{
        {"atomics-contended", 2 * MiB, "atomics-contended/default", "ops/s"},
        {"atomics-contended", 2 * MiB, "atomics-contended/global", ""},
        {"atomics-contended", 2 * MiB, "atomics-contended/device", ""}};
    EXPECT_EQ(order({simgpu, kernel}), (Lines{"0.0", "1.0", "0.1", "1.1", "0.2", "1.2"}));
    // Both skip it (stock): simgpu's skip first, then the kernel's.
    const std::vector<PassLine> skip{{"evict-thrash", 16 * MiB, "evict-thrash", ""}};
    EXPECT_EQ(order({skip, skip}), (Lines{"0.0", "1.0"}));
}

TEST(BenchSideBySide, SizeOnlyOnePassHas)
{
    // vram-thp-first-touch: a per-size skip on one pass, rows of both at
    // 2 MiB; a row only the second pass has goes after the one before it.
    const std::vector<PassLine> a{
        {"vram-thp-first-touch", 64 * KiB, "vram-thp-first-touch", ""},
        {"vram-thp-first-touch", 2 * MiB, "vram-thp-first-touch", "MiB/s"},
        {"vram-thp-first-touch", 2 * MiB, "(4 KiB device pages)", "MiB/s"}};
    const std::vector<PassLine> b{
        {"vram-thp-first-touch", 2 * MiB, "vram-thp-first-touch", "MiB/s"},
        {"vram-thp-first-touch", 2 * MiB, "(extra)", "MiB/s"},
        {"vram-thp-first-touch", 2 * MiB, "(4 KiB device pages)", "MiB/s"}};
    EXPECT_EQ(order({a, b}), (Lines{"0.1", "1.0", "1.1", "0.2", "1.2", "0.0"}));
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
