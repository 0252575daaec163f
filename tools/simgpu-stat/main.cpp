// SPDX-License-Identifier: MIT
//
// simgpu-stat: the debugfs counters of simgpu devices, live: every
// interval one line per device with the rates of the monotonic counters
// and the current value of the gauges, like vmstat.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <signal.h>

#include "simgpu/counters.hpp"
#include "stat.hpp"

namespace {

using namespace simgpu_stat;
using Clock = std::chrono::steady_clock;

struct Options {
    std::optional<uint32_t> device; // none: all
    double interval = 1;
    std::optional<uint64_t> count; // none: until interrupted
    bool once = false;
};

void usage(std::FILE* stream, const char* argv0)
{
    std::fprintf(
        stream,
        "Usage: %s [-d DEVICE|all] [-i SECONDS] [-n COUNT] [--once]\n"
        "Show the debugfs counters of simgpu devices (root: debugfs).\n"
        "\n"
        "  -d, --device I|all    device index (default all)\n"
        "  -i, --interval S      seconds between lines, a decimal (default 1)\n"
        "  -n, --count N         stop after N intervals (default: until interrupted)\n"
        "      --once            print every counter once as 'name value' lines, each\n"
        "                        device starting with 'device N', and exit\n"
        "  -h, --help            show this help\n"
        "\n"
        "Every interval, one line per device: per second, GPU faults raised, retried\n"
        "and cancelled, TLB invalidations, jobs completed and failed, SVM ranges\n"
        "created, pages faulted in, SVM invalidations; then VMs and exec queues alive\n"
        "and VRAM in use (MiB). A counter that went backwards (simgpu reloaded) shows\n"
        "its total, marked '*', with a note. The header repeats every 20 lines.\n"
        "\n"
        "Exit status 0 (also on SIGINT or SIGTERM), 1 when the counters cannot be\n"
        "read, 2 on a usage error.\n",
        argv0);
}

std::optional<Options> parse(int argc, char** argv)
{
    Options o;
    bool timed = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--once") {
            o.once = true;
            continue;
        }
        const bool device = arg == "-d" || arg == "--device";
        const bool interval = arg == "-i" || arg == "--interval";
        const bool count = arg == "-n" || arg == "--count";
        if (!device && !interval && !count) {
            std::fprintf(stderr, "simgpu-stat: unknown argument '%s'\n", argv[i]);
            return std::nullopt;
        }
        if (i + 1 == argc) {
            std::fprintf(stderr, "simgpu-stat: %s needs a value\n", argv[i]);
            return std::nullopt;
        }
        const std::string_view value = argv[++i];
        const auto bad = [&](const char* expected) {
            std::fprintf(stderr, "simgpu-stat: %s %s: expected %s\n", argv[i - 1], argv[i],
                         expected);
            return std::nullopt;
        };
        if (device) {
            if (value == "all") {
                o.device.reset();
                continue;
            }
            uint32_t index = 0;
            const char* last = value.data() + value.size();
            const auto [end, ec] = std::from_chars(value.data(), last, index);
            if (value.empty() || ec != std::errc() || end != last)
                return bad("a device index or all");
            o.device = index;
        } else if (interval) {
            const auto s = parse_interval(value);
            if (!s)
                return bad("seconds from 0.001 to 86400");
            o.interval = *s;
            timed = true;
        } else {
            o.count = parse_count(value);
            if (!o.count)
                return bad("a count of 1 or more");
            timed = true;
        }
    }
    if (o.once && timed) {
        std::fprintf(stderr, "simgpu-stat: --once takes no -i or -n\n");
        return std::nullopt;
    }
    return o;
}

// The simgpu debugfs directories, or nothing after saying why not.
std::optional<std::vector<std::filesystem::path>> find_dirs(const Options& opts)
{
    auto dirs = simgpu::counter_dirs();
    if (!dirs.ok()) {
        const int err = dirs.error().err;
        std::fprintf(stderr, "simgpu-stat: cannot read the counters: %s (%s)\n",
                     dirs.error().message().c_str(),
                     err == EACCES || err == EPERM
                         ? "debugfs needs root"
                         : "is debugfs mounted? mount -t debugfs none /sys/kernel/debug");
        return std::nullopt;
    }
    if (dirs.value().empty()) {
        std::fprintf(stderr,
                     "simgpu-stat: no simgpu device under %s (is the simgpu module loaded?)\n",
                     simgpu::debugfs_dri_dir.c_str());
        return std::nullopt;
    }
    if (opts.device && *opts.device >= dirs.value().size()) {
        std::fprintf(stderr, "simgpu-stat: no device %u (found %zu)\n", *opts.device,
                     dirs.value().size());
        return std::nullopt;
    }
    return std::move(dirs).value();
}

int once(const Options& opts, const std::vector<std::filesystem::path>& dirs)
{
    for (uint32_t d = 0; d < dirs.size(); ++d) {
        if (opts.device && d != *opts.device)
            continue;
        const auto counters = simgpu::read_device_counters(dirs[d]);
        if (!counters.ok()) {
            std::fprintf(stderr, "simgpu-stat: device %u: %s\n", d,
                         counters.error().message().c_str());
            return 1;
        }
        std::fputs(format_once(d, counters.value()).c_str(), stdout);
    }
    return 0;
}

// Waits until @deadline; false when SIGINT or SIGTERM (blocked) came first.
bool wait_until(Clock::time_point deadline, const sigset_t& signals)
{
    for (;;) {
        const auto left = std::max(deadline - Clock::now(), Clock::duration::zero());
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        const timespec timeout{static_cast<time_t>(ns / 1000000000),
                               static_cast<long>(ns % 1000000000)};
        if (sigtimedwait(&signals, nullptr, &timeout) >= 0)
            return false;
        if (errno == EAGAIN)
            return true;
        // EINTR: some other signal; wait on.
    }
}

struct Sample {
    simgpu::Counters counters;
    Clock::time_point when;
};

int watch(const Options& opts, const std::vector<std::filesystem::path>& first_dirs,
          const sigset_t& signals)
{
    std::map<uint32_t, Sample> last;
    for (uint32_t d = 0; d < first_dirs.size(); ++d) {
        if (opts.device && d != *opts.device)
            continue;
        auto counters = simgpu::read_device_counters(first_dirs[d]);
        if (!counters.ok()) {
            std::fprintf(stderr, "simgpu-stat: device %u: %s\n", d,
                         counters.error().message().c_str());
            return 1;
        }
        last[d] = {std::move(counters).value(), Clock::now()};
    }

    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(opts.interval));
    Pacer pacer;
    auto deadline = Clock::now();
    for (uint64_t n = 0; !opts.count || n < *opts.count; ++n) {
        deadline += interval;
        // Reading slower than the interval: do not try to catch up.
        if (Clock::now() > deadline + interval)
            deadline = Clock::now() + interval;
        if (!wait_until(deadline, signals))
            return 0;

        std::vector<std::string> body;
        auto dirs = simgpu::counter_dirs();
        if (!dirs.ok()) {
            body.push_back("note: " + dirs.error().message());
            dirs = std::vector<std::filesystem::path>{};
        }
        // The devices to show: those there now and those seen last time.
        std::set<uint32_t> devices;
        for (const auto& entry : last)
            devices.insert(entry.first);
        for (uint32_t d = 0; d < dirs.value().size(); ++d)
            if (!opts.device)
                devices.insert(d);
        if (opts.device)
            devices.insert(*opts.device);

        for (const uint32_t d : devices) {
            const auto before = last.find(d);
            if (d >= dirs.value().size()) {
                body.push_back("note: device " + std::to_string(d) + ": not under " +
                               simgpu::debugfs_dri_dir.string() + " (simgpu unloaded?)");
                last.erase(d);
                continue;
            }
            auto counters = simgpu::read_device_counters(dirs.value()[d]);
            const auto now = Clock::now();
            if (!counters.ok()) {
                body.push_back("note: device " + std::to_string(d) + ": " +
                               counters.error().message());
                last.erase(d);
                continue;
            }
            const Row row =
                before == last.end()
                    ? compute_row(d, nullptr, counters.value(), 0)
                    : compute_row(d, &before->second.counters, counters.value(),
                                  std::chrono::duration<double>(now - before->second.when).count());
            body.push_back(format_row(row));
            if (auto note = format_note(row))
                body.push_back(std::move(*note));
            last[d] = {std::move(counters).value(), now};
        }
        if (devices.empty())
            body.push_back("note: no simgpu device under " + simgpu::debugfs_dri_dir.string() +
                           " (simgpu unloaded?)");
        for (const std::string& line : pacer.block(std::move(body))) {
            std::fputs(line.c_str(), stdout);
            std::fputc('\n', stdout);
        }
        std::fflush(stdout);
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            usage(stdout, argv[0]);
            return 0;
        }
    }
    const auto opts = parse(argc, argv);
    if (!opts) {
        usage(stderr, argv[0]);
        return 2;
    }

    // SIGINT and SIGTERM end the wait between samples (sigtimedwait), not
    // the program halfway through a line.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, nullptr);

    const auto dirs = find_dirs(*opts);
    if (!dirs)
        return 1;
    return opts->once ? once(*opts, *dirs) : watch(*opts, *dirs, signals);
}
