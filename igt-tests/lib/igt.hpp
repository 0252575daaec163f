// SPDX-License-Identifier: MIT
//
// A small IGT-style test harness: subtests selected with --run-subtest
// globs, IGT's output lines and exit codes, fixtures, and igt_* assertion
// macros. Assertions may only be used inside a fixture or a subtest; they
// end it by throwing, so code under test must not swallow exceptions with
// catch (...).
#pragma once

#include <cerrno>
#include <chrono>
#include <concepts>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace igt {

// IGT's exit codes.
inline constexpr int exit_success = 0;
inline constexpr int exit_skip = 77;
inline constexpr int exit_invalid = 79;
inline constexpr int exit_failure = 98;

struct Options {
    bool list_only = false;
    bool describe = false; // with list_only: each name with its description
    std::vector<std::string> patterns; // fnmatch globs; empty selects all
    std::chrono::milliseconds timeout{std::chrono::seconds(120)};
};

// Parses --list-subtests, --describe[=GLOB[,GLOB...]], --run-subtest
// GLOB[,GLOB...] and --help. Returns
// the options, or the code to exit with after --help (0) or a bad argument
// (79); the message is already printed.
std::variant<Options, int> parse_args(int argc, const char* const* argv);

// Whether @name matches one of @patterns (all names match an empty list).
bool matches(std::string_view name, const std::vector<std::string>& patterns);

class Test {
public:
    // Exits on --help and on bad arguments.
    Test(int argc, char** argv);
    explicit Test(Options options);
    ~Test();

    Test(const Test&) = delete;
    Test& operator=(const Test&) = delete;

    // Runs @fn before the next selected subtest, or at exit_code() when a
    // subtest ran. A skip in it skips every later subtest, a failure fails
    // them. Not run with --list-subtests.
    void fixture(std::function<void()> fn);

    // Runs @fn as subtest @name (kebab-case) when selected. @description
    // is one line saying what it checks, printed by --describe.
    void subtest(std::string_view name, std::string_view description, std::function<void()> fn);

    // Each fixture and subtest is killed after this long: the run then
    // exits with exit_failure.
    void set_timeout(std::chrono::milliseconds timeout) { options_.timeout = timeout; }

    // Runs the trailing fixtures and returns IGT's exit code.
    int exit_code();

private:
    enum class Outcome { success, skip, fail };

    void run_pending_fixtures();
    // @subtest is empty for a fixture.
    Outcome run_block(const std::string& subtest, const std::function<void()>& fn);

    Options options_;
    std::vector<std::function<void()>> pending_fixtures_;
    std::set<std::string, std::less<>> names_;
    Outcome henceforth_ = Outcome::success; // skip/fail: forced on later subtests
    int selected_ = 0;
    int succeeded_ = 0;
    int failed_ = 0;
};

// One subtest of a table: its name (kebab-case), its one-line description
// (--describe) and its body, called with the binary's fixture state.
template <typename Arg>
struct Case {
    const char* name;
    const char* description;
    void (*fn)(Arg);
};

// Adds the subtests of @cases in order; each calls its body with what
// @arg returns when the subtest runs (after the fixtures before it).
template <typename Arg, size_t N, typename Get>
void add_cases(Test& t, const Case<Arg> (&cases)[N], Get arg)
{
    for (const Case<Arg>& c : cases)
        t.subtest(c.name, c.description, [&c, &arg] { c.fn(arg()); });
}

namespace detail {

// Thrown by the macros; deliberately not std::exception.
struct Skip {};
struct Failure {};

[[noreturn]] void fail(const char* file, int line, const std::string& what);
[[noreturn]] void fail_assert(const char* file, int line, const char* cond, int err);
[[noreturn]] void fail_assert_f(const char* file, int line, const char* cond, int err,
                                const char* fmt, ...) __attribute__((format(printf, 5, 6)));
[[noreturn]] void fail_f(const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
[[noreturn]] void skip(const char* file, int line, const char* cond);
// @cond is nullptr for an unconditional skip.
[[noreturn]] void skip_f(const char* file, int line, const char* cond, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

std::string errno_name(int err);

template <typename T>
concept comparable_integer =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
    !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> && !std::same_as<T, char16_t> &&
    !std::same_as<T, char32_t>;

template <typename T>
std::string show(const T& v)
{
    if constexpr (std::is_enum_v<T>)
        return show(static_cast<std::underlying_type_t<T>>(v));
    else if constexpr (std::same_as<T, bool>)
        return v ? "true" : "false";
    else if constexpr (std::integral<T>)
        return std::to_string(+v);
    else if constexpr (requires(std::ostream& os) { os << v; }) {
        std::ostringstream os;
        os << v;
        return os.str();
    } else
        return "<unprintable>";
}

template <typename A, typename B>
bool equal(const A& a, const B& b)
{
    if constexpr (comparable_integer<A> && comparable_integer<B>)
        return std::cmp_equal(a, b);
    else
        return a == b;
}

template <typename A, typename B>
bool less_equal(const A& a, const B& b)
{
    if constexpr (comparable_integer<A> && comparable_integer<B>)
        return std::cmp_less_equal(a, b);
    else
        return a <= b;
}

template <typename A, typename B>
void check(bool ok, const char* file, int line, const char* a_text, const char* op,
           const char* b_text, const A& a, const B& b)
{
    if (ok)
        return;
    fail(file, line,
         std::string("Failed assertion: ") + a_text + " " + op + " " + b_text + "\n  " + a_text +
             " = " + show(a) + ", " + b_text + " = " + show(b));
}

// How a call ended: 0 when it succeeded, else the errno it failed with.
struct CallOutcome {
    int err;
    std::string detail;
};

template <typename R>
concept errno_result = requires(const R& r) {
    { r.ok() } -> std::convertible_to<bool>;
    { r.error().err } -> std::convertible_to<int>;
    { r.error().message() } -> std::convertible_to<std::string>;
};

// A syscall-style return: negative means failed, with errno.
template <std::signed_integral T>
CallOutcome outcome_of(T ret)
{
    const int err = errno;
    if (ret >= 0)
        return {0, "returned " + std::to_string(ret)};
    return {err, "returned " + std::to_string(ret) + " with errno " + errno_name(err)};
}

template <errno_result R>
CallOutcome outcome_of(const R& r)
{
    if (r.ok())
        return {0, "succeeded"};
    return {r.error().err, "failed: " + r.error().message()};
}

void check_errno(const char* file, int line, const char* expr, const CallOutcome& outcome,
                 int expected, const char* expected_text);
void check_ok(const char* file, int line, const char* expr, const CallOutcome& outcome);

} // namespace detail
} // namespace igt

// NOLINTBEGIN(cppcoreguidelines-macro-usage): they must capture file:line and text.
#define igt_assert(cond)                                                                          \
    do {                                                                                          \
        if (!(cond))                                                                              \
            ::igt::detail::fail_assert(__FILE__, __LINE__, #cond, errno);                         \
    } while (0)

#define igt_assert_f(cond, ...)                                                                   \
    do {                                                                                          \
        if (!(cond))                                                                              \
            ::igt::detail::fail_assert_f(__FILE__, __LINE__, #cond, errno, __VA_ARGS__);          \
    } while (0)

#define igt_assert_eq(a, b)                                                                       \
    do {                                                                                          \
        const auto& igt_a_ = (a);                                                                 \
        const auto& igt_b_ = (b);                                                                 \
        ::igt::detail::check(::igt::detail::equal(igt_a_, igt_b_), __FILE__, __LINE__, #a, "==", \
                             #b, igt_a_, igt_b_);                                                 \
    } while (0)

#define igt_assert_neq(a, b)                                                                      \
    do {                                                                                          \
        const auto& igt_a_ = (a);                                                                 \
        const auto& igt_b_ = (b);                                                                 \
        ::igt::detail::check(!::igt::detail::equal(igt_a_, igt_b_), __FILE__, __LINE__, #a,      \
                             "!=", #b, igt_a_, igt_b_);                                           \
    } while (0)

#define igt_assert_lte(a, b)                                                                      \
    do {                                                                                          \
        const auto& igt_a_ = (a);                                                                 \
        const auto& igt_b_ = (b);                                                                 \
        ::igt::detail::check(::igt::detail::less_equal(igt_a_, igt_b_), __FILE__, __LINE__, #a,  \
                             "<=", #b, igt_a_, igt_b_);                                           \
    } while (0)

// @expr is a simgpu::Result (or anything with ok(), error().err and
// error().message()) or a signed integer that is negative on failure, with
// errno set. Checks that it failed with @errno_value.
#define igt_assert_errno(expr, errno_value)                                                       \
    do {                                                                                          \
        errno = 0;                                                                                \
        const auto igt_outcome_ = ::igt::detail::outcome_of((expr));                              \
        ::igt::detail::check_errno(__FILE__, __LINE__, #expr, igt_outcome_, (errno_value),        \
                                   #errno_value);                                                 \
    } while (0)

// @expr as for igt_assert_errno; it must succeed.
#define igt_assert_ok(expr)                                                                       \
    do {                                                                                          \
        errno = 0;                                                                                \
        const auto igt_outcome_ = ::igt::detail::outcome_of((expr));                              \
        ::igt::detail::check_ok(__FILE__, __LINE__, #expr, igt_outcome_);                         \
    } while (0)

#define igt_require(cond)                                                                         \
    do {                                                                                          \
        if (!(cond))                                                                              \
            ::igt::detail::skip(__FILE__, __LINE__, #cond);                                       \
    } while (0)

#define igt_require_f(cond, ...)                                                                  \
    do {                                                                                          \
        if (!(cond))                                                                              \
            ::igt::detail::skip_f(__FILE__, __LINE__, #cond, __VA_ARGS__);                        \
    } while (0)

#define igt_skip(...) ::igt::detail::skip_f(__FILE__, __LINE__, nullptr, __VA_ARGS__)
#define igt_fail(...) ::igt::detail::fail_f(__FILE__, __LINE__, __VA_ARGS__)
#define igt_info(...) ::igt::detail::info(__VA_ARGS__)
// NOLINTEND(cppcoreguidelines-macro-usage)
