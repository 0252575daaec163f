// SPDX-License-Identifier: MIT
//
// Host checks of the harness: argument parsing, selection, exit codes.
#include <cerrno>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "igt.hpp"

namespace {

std::variant<igt::Options, int> parse(std::vector<const char*> args)
{
    args.insert(args.begin(), "selftest");
    return igt::parse_args(static_cast<int>(args.size()), args.data());
}

igt::Options only(std::vector<std::string> patterns)
{
    igt::Options options;
    options.patterns = std::move(patterns);
    return options;
}

// Minimal stand-in for simgpu::Result, to check igt_assert_errno.
struct FakeError {
    int err;
    std::string message() const { return "fake: " + std::to_string(err); }
};
struct FakeResult {
    int err = 0;
    bool ok() const { return err == 0; }
    FakeError error() const { return {err}; }
};

TEST(IgtArgs, Defaults)
{
    const auto parsed = parse({});
    ASSERT_TRUE(std::holds_alternative<igt::Options>(parsed));
    const auto& options = std::get<igt::Options>(parsed);
    EXPECT_FALSE(options.list_only);
    EXPECT_TRUE(options.patterns.empty());
    EXPECT_EQ(options.timeout, std::chrono::seconds(120));
}

TEST(IgtArgs, RunSubtestSplitsCommas)
{
    for (const auto& args : {std::vector<const char*>{"--run-subtest", "bad-*,open-close"},
                             std::vector<const char*>{"--run-subtest=bad-*,open-close"}}) {
        const auto parsed = parse(args);
        ASSERT_TRUE(std::holds_alternative<igt::Options>(parsed));
        EXPECT_EQ(std::get<igt::Options>(parsed).patterns,
                  (std::vector<std::string>{"bad-*", "open-close"}));
    }
}

TEST(IgtArgs, BadArguments)
{
    EXPECT_EQ(std::get<int>(parse({"--frobnicate"})), igt::exit_invalid);
    EXPECT_EQ(std::get<int>(parse({"--run-subtest"})), igt::exit_invalid);
    EXPECT_EQ(std::get<int>(parse({"--run-subtest="})), igt::exit_invalid);
    EXPECT_EQ(std::get<int>(parse({"--help"})), igt::exit_success);
}

TEST(IgtSelection, Globs)
{
    EXPECT_TRUE(igt::matches("bad-flags", {}));
    EXPECT_TRUE(igt::matches("bad-flags", {"bad-*"}));
    EXPECT_TRUE(igt::matches("bad-flags", {"query-*", "bad-fl?gs"}));
    EXPECT_FALSE(igt::matches("bad-flags", {"bad"}));
    EXPECT_FALSE(igt::matches("open-close", {"bad-*", "query-*"}));
}

TEST(IgtExitCode, AllPass)
{
    igt::Test t{igt::Options{}};
    t.subtest("a", "a test", [] {});
    t.subtest("b", "a test", [] { igt_assert_eq(1, 1); });
    EXPECT_EQ(t.exit_code(), igt::exit_success);
}

TEST(IgtExitCode, SomeSkipped)
{
    igt::Test t{igt::Options{}};
    t.subtest("a", "a test", [] {});
    t.subtest("b", "a test", [] { igt_require(false); });
    EXPECT_EQ(t.exit_code(), igt::exit_success);
}

TEST(IgtExitCode, AllSkipped)
{
    igt::Test t{igt::Options{}};
    t.subtest("a", "a test", [] { igt_skip("no %s", "hardware"); });
    t.subtest("b", "a test", [] { igt_require_f(1 + 1 == 3, "arithmetic is %s", "sane"); });
    EXPECT_EQ(t.exit_code(), igt::exit_skip);
}

TEST(IgtExitCode, OneFailureFailsTheRun)
{
    int after = 0;
    igt::Test t{igt::Options{}};
    t.subtest("a", "a test", [&] {
        igt_assert_eq(2, 3);
        ++after;
    });
    t.subtest("b", "a test", [&] { ++after; });
    EXPECT_EQ(t.exit_code(), igt::exit_failure);
    EXPECT_EQ(after, 1); // the failing subtest stopped, the next one ran
}

TEST(IgtExitCode, UncaughtExceptionFails)
{
    igt::Test t{igt::Options{}};
    t.subtest("a", "a test", [] { throw std::runtime_error("boom"); });
    EXPECT_EQ(t.exit_code(), igt::exit_failure);
}

TEST(IgtExitCode, NoMatchIsInvalid)
{
    igt::Test t{only({"nothing-*"})};
    t.subtest("a", "a test", [] { FAIL() << "not selected"; });
    EXPECT_EQ(t.exit_code(), igt::exit_invalid);
}

TEST(IgtSelection, RunsOnlyMatches)
{
    std::vector<std::string> ran;
    igt::Test t{only({"bad-*", "open-close"})};
    for (const char* name : {"open-close", "query-device", "bad-flags", "bad-pad"})
        t.subtest(name, "a test", [&ran, name] { ran.emplace_back(name); });
    EXPECT_EQ(t.exit_code(), igt::exit_success);
    EXPECT_EQ(ran, (std::vector<std::string>{"open-close", "bad-flags", "bad-pad"}));
}

TEST(IgtSelection, ListRunsNothing)
{
    igt::Options options;
    options.list_only = true;
    igt::Test t{options};
    t.fixture([] { FAIL() << "fixture ran while listing"; });
    t.subtest("a", "a test", [] { FAIL() << "subtest ran while listing"; });
    EXPECT_EQ(t.exit_code(), igt::exit_success);
}

TEST(IgtArgs, DescribeListsWithDescriptions)
{
    for (const auto& [arg, patterns] :
         {std::pair{"--describe", std::vector<std::string>{}},
          std::pair{"--describe=bad-*,open", std::vector<std::string>{"bad-*", "open"}}}) {
        const auto parsed = parse({arg});
        ASSERT_TRUE(std::holds_alternative<igt::Options>(parsed));
        const auto& options = std::get<igt::Options>(parsed);
        EXPECT_TRUE(options.list_only);
        EXPECT_TRUE(options.describe);
        EXPECT_EQ(options.patterns, patterns);
    }
}

TEST(IgtSelection, DescribePrintsALineASubtest)
{
    igt::Options options;
    options.list_only = true;
    options.describe = true;
    options.patterns = {"b*"};
    testing::internal::CaptureStdout();
    {
        igt::Test t{options};
        t.fixture([] { FAIL() << "fixture ran while describing"; });
        t.subtest("a", "not selected", [] { FAIL() << "subtest ran while describing"; });
        t.subtest("bad-flags", "unknown flags fail with EINVAL", [] { FAIL() << "ran"; });
        t.subtest("bad-pad", "a non-zero pad fails with EINVAL", [] { FAIL() << "ran"; });
        EXPECT_EQ(t.exit_code(), igt::exit_success);
    }
    EXPECT_EQ(testing::internal::GetCapturedStdout(),
              "bad-flags: unknown flags fail with EINVAL\n"
              "bad-pad: a non-zero pad fails with EINVAL\n");
}

TEST(IgtSubtest, DescriptionsAreOneLine)
{
    igt::Test t{igt::Options{}};
    EXPECT_THROW(t.subtest("a", "", [] {}), std::invalid_argument);
    EXPECT_THROW(t.subtest("b", "two\nlines", [] {}), std::invalid_argument);
}

TEST(IgtSubtest, NamesAreKebabCase)
{
    igt::Test t{igt::Options{}};
    EXPECT_THROW(t.subtest("Open_Close", "a test", [] {}), std::invalid_argument);
    EXPECT_THROW(t.subtest("-x", "a test", [] {}), std::invalid_argument);
    t.subtest("open-close-2", "a test", [] {});
    EXPECT_THROW(t.subtest("open-close-2", "a test", [] {}), std::invalid_argument);
    EXPECT_EQ(t.exit_code(), igt::exit_success);
}

TEST(IgtFixture, RunsLazilyBeforeTheNextSelectedSubtest)
{
    int fixtures = 0;
    igt::Test t{only({"b"})};
    t.fixture([&] { ++fixtures; });
    t.subtest("a", "a test", [] {});
    EXPECT_EQ(fixtures, 0);
    t.subtest("b", "a test", [&] { EXPECT_EQ(fixtures, 1); });
    t.fixture([&] { ++fixtures; }); // trailing: runs at exit_code()
    EXPECT_EQ(t.exit_code(), igt::exit_success);
    EXPECT_EQ(fixtures, 2);
}

TEST(IgtFixture, RequireSkipsLaterSubtests)
{
    int ran = 0;
    igt::Test t{igt::Options{}};
    t.subtest("before", "a test", [&] { ++ran; });
    t.fixture([] { igt_require(false); });
    t.subtest("after-1", "a test", [&] { ++ran; });
    t.subtest("after-2", "a test", [&] { ++ran; });
    EXPECT_EQ(ran, 1);
    EXPECT_EQ(t.exit_code(), igt::exit_success);
}

TEST(IgtFixture, RequireFirstSkipsAll)
{
    igt::Test t{igt::Options{}};
    t.fixture([] { igt_require_f(false, "module not loaded"); });
    t.subtest("a", "a test", [] { FAIL() << "ran after a skipping fixture"; });
    EXPECT_EQ(t.exit_code(), igt::exit_skip);
}

TEST(IgtFixture, FailureFailsLaterSubtests)
{
    igt::Test t{igt::Options{}};
    t.fixture([] { igt_fail("setup broke: %d", 42); });
    t.subtest("a", "a test", [] { FAIL() << "ran after a failing fixture"; });
    EXPECT_EQ(t.exit_code(), igt::exit_failure);
}

TEST(IgtAssert, MixedSignednessComparesByValue)
{
    igt::Test t{igt::Options{}};
    t.subtest("eq", "a test", [] {
        igt_assert_eq(3u, 3);
        igt_assert_neq(-1, ~0u); // -1 != 4294967295 mathematically
        igt_assert_lte(-1, 0u);
        igt_assert_lte(uint64_t{5}, 5);
    });
    EXPECT_EQ(t.exit_code(), igt::exit_success);
}

TEST(IgtAssert, ErrnoMatches)
{
    igt::Test t{igt::Options{}};
    t.subtest("good", "a test", [] {
        igt_assert_errno(::close(-1), EBADF);
        igt_assert_errno(FakeResult{EINVAL}, EINVAL);
        igt_assert_ok(FakeResult{});
        igt_assert_ok(::dup2(1, 1));
    });
    EXPECT_EQ(t.exit_code(), igt::exit_success);
}

TEST(IgtAssert, ErrnoMismatchFails)
{
    const std::vector<std::function<void()>> cases{
        [] { igt_assert_errno(::close(-1), EINVAL); },
        [] { igt_assert_errno(FakeResult{}, EINVAL); },
        [] { igt_assert_errno(FakeResult{EFAULT}, EINVAL); },
        [] { igt_assert_ok(FakeResult{EFAULT}); },
        [] { igt_assert_ok(::close(-1)); },
    };
    for (const auto& fn : cases) {
        igt::Test t{igt::Options{}};
        t.subtest("mismatch", "a test", fn);
        EXPECT_EQ(t.exit_code(), igt::exit_failure);
    }
}

TEST(IgtAssert, ComparisonFailures)
{
    const std::vector<std::function<void()>> cases{
        [] { igt_assert(1 == 2); },
        [] { igt_assert_f(false, "value %d", 7); },
        [] { igt_assert_eq(-1, ~0u); },
        [] { igt_assert_neq(5u, 5); },
        [] { igt_assert_lte(1u, -1); },
        [] { igt_fail("explicit %s", "failure"); },
    };
    for (const auto& fn : cases) {
        igt::Test t{igt::Options{}};
        t.subtest("mismatch", "a test", fn);
        EXPECT_EQ(t.exit_code(), igt::exit_failure);
    }
}

TEST(IgtTimeout, HungSubtestFailsTheRun)
{
    EXPECT_EXIT(
        {
            igt::Test t{igt::Options{}};
            t.set_timeout(std::chrono::milliseconds(100));
            t.subtest("hang", "a test", [] { std::this_thread::sleep_for(std::chrono::seconds(10)); });
            std::exit(t.exit_code());
        },
        ::testing::ExitedWithCode(igt::exit_failure), "subtest hang timed out");
}

} // namespace
