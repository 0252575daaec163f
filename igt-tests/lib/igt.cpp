// SPDX-License-Identifier: MIT
#include "igt.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>

#include <fnmatch.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

namespace igt {
namespace {

// What the SIGALRM handler writes; filled before the timer is armed since
// the handler may only call async-signal-safe functions.
struct TimeoutMessage {
    char err[512];
    size_t err_len;
    char out[512];
    size_t out_len;
};
TimeoutMessage timeout_message;

void on_timeout(int)
{
    (void)!::write(STDERR_FILENO, timeout_message.err, timeout_message.err_len);
    if (timeout_message.out_len)
        (void)!::write(STDOUT_FILENO, timeout_message.out, timeout_message.out_len);
    ::_exit(exit_failure);
}

// @subtest is empty for a fixture.
void arm_timer(std::chrono::milliseconds timeout, const std::string& subtest)
{
    const double seconds = std::chrono::duration<double>(timeout).count();
    const auto clamp = [](int len, size_t size) {
        return std::min<size_t>(static_cast<size_t>(std::max(len, 0)), size - 1);
    };
    const std::string what = subtest.empty() ? "fixture" : "subtest " + subtest;
    timeout_message.err_len =
        clamp(std::snprintf(timeout_message.err, sizeof(timeout_message.err),
                            "%s timed out after %.3fs, aborting the run\n", what.c_str(), seconds),
              sizeof(timeout_message.err));
    timeout_message.out_len = 0;
    if (!subtest.empty())
        timeout_message.out_len =
            clamp(std::snprintf(timeout_message.out, sizeof(timeout_message.out),
                                "Subtest %s: FAIL (%.3fs)\n", subtest.c_str(), seconds),
                  sizeof(timeout_message.out));
    std::fflush(stdout);
    std::fflush(stderr);

    itimerval timer{};
    const auto usec = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    timer.it_value.tv_sec = usec / 1000000;
    timer.it_value.tv_usec = usec % 1000000;
    ::setitimer(ITIMER_REAL, &timer, nullptr);
}

void disarm_timer()
{
    itimerval timer{};
    ::setitimer(ITIMER_REAL, &timer, nullptr);
}

struct sigaction previous_alarm_action;

std::string vformat(const char* fmt, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    const int len = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    if (len <= 0)
        return {};
    std::string out(static_cast<size_t>(len), '\0');
    std::vsnprintf(out.data(), out.size() + 1, fmt, args);
    return out;
}

bool is_kebab_case(std::string_view name)
{
    if (name.empty() || name.front() == '-' || name.back() == '-' ||
        name.find("--") != std::string_view::npos)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

void usage(std::FILE* stream, const char* argv0)
{
    std::fprintf(stream,
                 "Usage: %s [OPTIONS]\n"
                 "  --list-subtests              print the subtest names and exit\n"
                 "  --describe[=GLOB[,GLOB]]     print each subtest's name and description\n"
                 "                               (those matching a glob) and exit\n"
                 "  --run-subtest GLOB[,GLOB]    run only the subtests matching a glob\n"
                 "  --help                       show this help\n",
                 argv0);
}

void split_patterns(std::string_view list, std::vector<std::string>& out)
{
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        if (comma > start)
            out.emplace_back(list.substr(start, comma - start));
        start = comma + 1;
    }
}

} // namespace

std::variant<Options, int> parse_args(int argc, const char* const* argv)
{
    const char* argv0 = argc > 0 ? argv[0] : "igt";
    Options options;
    bool run_subtest = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--list-subtests") {
            options.list_only = true;
        } else if (arg == "--describe" || arg.starts_with("--describe=")) {
            options.list_only = true;
            options.describe = true;
            if (arg != "--describe")
                split_patterns(arg.substr(std::strlen("--describe=")), options.patterns);
        } else if (arg == "--help" || arg == "-h") {
            usage(stdout, argv0);
            return exit_success;
        } else if (arg == "--run-subtest" || arg.starts_with("--run-subtest=")) {
            std::string_view value;
            if (arg == "--run-subtest") {
                if (i + 1 == argc) {
                    std::fprintf(stderr, "%s: --run-subtest needs an argument\n", argv0);
                    usage(stderr, argv0);
                    return exit_invalid;
                }
                value = argv[++i];
            } else {
                value = arg.substr(std::strlen("--run-subtest="));
            }
            split_patterns(value, options.patterns);
            run_subtest = true;
        } else {
            std::fprintf(stderr, "%s: unknown argument '%s'\n", argv0, argv[i]);
            usage(stderr, argv0);
            return exit_invalid;
        }
    }
    if (run_subtest && options.patterns.empty()) {
        std::fprintf(stderr, "%s: --run-subtest got an empty pattern\n", argv0);
        return exit_invalid;
    }
    return options;
}

bool matches(std::string_view name, const std::vector<std::string>& patterns)
{
    if (patterns.empty())
        return true;
    const std::string n(name);
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
        return ::fnmatch(p.c_str(), n.c_str(), 0) == 0;
    });
}

Test::Test(int argc, char** argv)
    : Test([&] {
          auto parsed = parse_args(argc, argv);
          if (const int* code = std::get_if<int>(&parsed))
              std::exit(*code);
          return std::get<Options>(std::move(parsed));
      }())
{
    // Line-buffered so a timeout, which _exits, loses no igt_info() output.
    // Done here since setvbuf() must come before any other output.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
}

Test::Test(Options options) : options_(std::move(options))
{
    struct sigaction action {};
    action.sa_handler = on_timeout;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGALRM, &action, &previous_alarm_action);
}

Test::~Test()
{
    disarm_timer();
    ::sigaction(SIGALRM, &previous_alarm_action, nullptr);
}

void Test::fixture(std::function<void()> fn)
{
    if (!options_.list_only)
        pending_fixtures_.push_back(std::move(fn));
}

void Test::subtest(std::string_view name, std::string_view description,
                   std::function<void()> fn)
{
    if (!is_kebab_case(name))
        throw std::invalid_argument("subtest name '" + std::string(name) + "' is not kebab-case");
    if (description.empty() || description.find('\n') != std::string_view::npos)
        throw std::invalid_argument("subtest '" + std::string(name) +
                                    "' needs a one-line description");
    if (!names_.emplace(name).second)
        throw std::invalid_argument("subtest '" + std::string(name) + "' defined twice");

    if (!matches(name, options_.patterns))
        return;
    if (options_.list_only) {
        if (options_.describe)
            std::printf("%.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
                        static_cast<int>(description.size()), description.data());
        else
            std::printf("%.*s\n", static_cast<int>(name.size()), name.data());
        std::fflush(stdout);
        return;
    }

    ++selected_;
    run_pending_fixtures();

    const std::string subtest_name(name);
    std::printf("Starting subtest: %s\n", subtest_name.c_str());
    std::fflush(stdout);

    const auto start = std::chrono::steady_clock::now();
    const Outcome outcome =
        henceforth_ != Outcome::success ? henceforth_ : run_block(subtest_name, fn);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const char* result = "SUCCESS";
    switch (outcome) {
    case Outcome::success:
        ++succeeded_;
        break;
    case Outcome::skip:
        result = "SKIP";
        break;
    case Outcome::fail:
        ++failed_;
        result = "FAIL";
        break;
    }
    std::fflush(stderr);
    std::printf("Subtest %s: %s (%.3fs)\n", subtest_name.c_str(), result, elapsed);
    std::fflush(stdout);
}

int Test::exit_code()
{
    if (options_.list_only)
        return exit_success;
    if (selected_ == 0)
        return options_.patterns.empty() ? exit_skip : exit_invalid;

    run_pending_fixtures(); // trailing clean-up
    if (failed_)
        return exit_failure;
    return succeeded_ ? exit_success : exit_skip;
}

void Test::run_pending_fixtures()
{
    auto fixtures = std::exchange(pending_fixtures_, {});
    for (const auto& fixture : fixtures) {
        if (henceforth_ != Outcome::success)
            return; // as IGT: no fixture runs once later subtests are doomed
        henceforth_ = run_block({}, fixture);
        if (henceforth_ == Outcome::fail)
            ++failed_; // counted even when no subtest follows
    }
}

Test::Outcome Test::run_block(const std::string& subtest, const std::function<void()>& fn)
{
    struct Disarm {
        ~Disarm() { disarm_timer(); }
    };
    arm_timer(options_.timeout, subtest);
    const Disarm disarm;
    try {
        fn();
        return Outcome::success;
    } catch (const detail::Skip&) {
        return Outcome::skip;
    } catch (const detail::Failure&) {
        return Outcome::fail;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s%s: uncaught exception: %s\n",
                     subtest.empty() ? "fixture" : "subtest ", subtest.c_str(), e.what());
    } catch (...) {
        std::fprintf(stderr, "%s%s: uncaught exception of unknown type\n",
                     subtest.empty() ? "fixture" : "subtest ", subtest.c_str());
    }
    return Outcome::fail;
}

namespace detail {

std::string errno_name(int err)
{
    const char* name = ::strerrorname_np(err);
    return (name ? std::string(name) : std::to_string(err)) + " (" + std::strerror(err) + ")";
}

void fail(const char* file, int line, const std::string& what)
{
    std::fprintf(stderr, "%s:%d: %s\n", file, line, what.c_str());
    std::fflush(stderr);
    throw Failure{};
}

void fail_assert(const char* file, int line, const char* cond, int err)
{
    std::string what = std::string("Failed assertion: ") + cond;
    if (err)
        what += "\n  last errno: " + errno_name(err);
    fail(file, line, what);
}

void fail_assert_f(const char* file, int line, const char* cond, int err, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    std::string what = std::string("Failed assertion: ") + cond + "\n  " + vformat(fmt, args);
    va_end(args);
    if (err)
        what += "\n  last errno: " + errno_name(err);
    fail(file, line, what);
}

void fail_f(const char* file, int line, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    const std::string what = "Failed: " + vformat(fmt, args);
    va_end(args);
    fail(file, line, what);
}

void skip(const char* file, int line, const char* cond)
{
    std::printf("%s:%d: Test requirement not met: %s\n", file, line, cond);
    std::fflush(stdout);
    throw Skip{};
}

void skip_f(const char* file, int line, const char* cond, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    const std::string reason = vformat(fmt, args);
    va_end(args);
    if (cond)
        std::printf("%s:%d: Test requirement not met: %s\n  %s\n", file, line, cond,
                    reason.c_str());
    else
        std::printf("%s:%d: Skipping: %s\n", file, line, reason.c_str());
    std::fflush(stdout);
    throw Skip{};
}

void info(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    std::vprintf(fmt, args);
    va_end(args);
    std::fflush(stdout);
}

void check_errno(const char* file, int line, const char* expr, const CallOutcome& outcome,
                 int expected, const char* expected_text)
{
    if (outcome.err == expected)
        return;
    fail(file, line,
         std::string("Failed assertion: ") + expr + " fails with " + expected_text + "\n  it " +
             outcome.detail);
}

void check_ok(const char* file, int line, const char* expr, const CallOutcome& outcome)
{
    if (outcome.err == 0)
        return;
    fail(file, line,
         std::string("Failed assertion: ") + expr + " succeeds\n  it " + outcome.detail);
}

} // namespace detail
} // namespace igt
