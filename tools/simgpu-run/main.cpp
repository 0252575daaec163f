// SPDX-License-Identifier: MIT
//
// simgpu-run: runs the built-in GPU kernels on simgpu devices, checks each
// result against the CPU and prints what happened; with --shared, every
// device and the CPU take turns on one heap buffer (shared.cpp).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <drm/simgpu_drm.h>

#include "context.hpp"
#include "counters.hpp"
#include "kernels.hpp"
#include "shared.hpp"
#include "simgpu/device.hpp"
#include "simgpu/format.hpp"

namespace {

using namespace simgpu_run;

enum class Mode { bo, svm };

constexpr uint64_t default_elements = 65536;
constexpr uint64_t default_list_nodes = 4096;
constexpr uint64_t max_elements = uint64_t{1} << 28;
// --shared: a 2 MiB buffer.
constexpr uint64_t default_shared_elements = 524288;
// Each GPU step doubles every element: fewer than 32 of them keep it odd
// times a power of two, never 0.
constexpr uint64_t max_steps = 32;

struct Options {
    std::optional<size_t> kernel; // index into kernels; none: all
    std::optional<uint64_t> elements;
    std::optional<Mode> mode;
    std::optional<uint32_t> device; // none: all
    std::optional<uint32_t> placement;
    bool counters = false;
    bool shared = false;
    std::optional<unsigned> steps; // --shared; none: two rounds
    // The first option that selects kernel runs, which --shared does not do.
    const char* kernel_option = nullptr;
};

struct Tally {
    unsigned ok = 0;
    unsigned mismatch = 0;
    unsigned error = 0;

    unsigned runs() const { return ok + mismatch + error; }
};

void usage(std::FILE* stream, const char* argv0)
{
    std::fprintf(
        stream,
        "Usage: %s [--kernel NAME|all] [--elements N] [--mode bo|svm] [--device I|all]\n"
        "          [--placement system|vram] [--counters]\n"
        "       %s --shared [--steps N] [--elements N] [--counters]\n"
        "Run built-in GPU kernels on simgpu devices and check them against the CPU.\n"
        "\n"
        "  --kernel NAME    memset, copy, add, saxpy, reduce-sum, gather, histogram,\n"
        "                   list-sum, or all (default)\n"
        "  --elements N     elements per kernel (default %llu; list-sum: nodes, default %llu)\n"
        "  --mode bo        data in buffer objects bound with VM_BIND, syncobj completion\n"
        "  --mode svm       data in malloc'd memory the GPU reaches through a CPU address\n"
        "                   mirror, user-fence completion (default on devices with\n"
        "                   cpu-addr-mirror, else bo)\n"
        "  --device I|all   device index (default all: each kernel runs on every device\n"
        "                   at once)\n"
        "  --placement P    bo mode: buffer objects in system memory (default) or vram;\n"
        "                   implies --mode bo\n"
        "  --counters       print each device's debugfs counters after the runs\n"
        "                   (--shared: how each step moved the migration counters)\n"
        "  --shared         several GPUs, one address space: one heap buffer\n"
        "                   (aligned_alloc) of --elements N (default %llu) that every\n"
        "                   device (at least 2) mirrors; device 0 adds it to itself, then\n"
        "                   device 1, ..., then the CPU reads it, and again; after each\n"
        "                   step, where each device maps its pages (VM_QUERY_RANGE); at\n"
        "                   the end a check of every element\n"
        "  --steps N        --shared: steps to run, 1 to %llu (default two rounds)\n"
        "  --help           show this help\n"
        "\n"
        "Exit status 0 when every run matched, 1 on a mismatch or an error.\n",
        argv0, argv0, static_cast<unsigned long long>(default_elements),
        static_cast<unsigned long long>(default_list_nodes),
        static_cast<unsigned long long>(default_shared_elements),
        static_cast<unsigned long long>(max_steps));
}

std::optional<uint64_t> parse_number(std::string_view s)
{
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

// The options, or nothing after printing why they are wrong.
std::optional<Options> parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--counters") {
            o.counters = true;
            continue;
        }
        if (arg == "--shared") {
            o.shared = true;
            continue;
        }
        if (arg != "--kernel" && arg != "--elements" && arg != "--mode" && arg != "--device" &&
            arg != "--placement" && arg != "--steps") {
            std::fprintf(stderr, "simgpu-run: unknown argument '%s'\n", argv[i]);
            return std::nullopt;
        }
        if (i + 1 == argc) {
            std::fprintf(stderr, "simgpu-run: %s needs a value\n", argv[i]);
            return std::nullopt;
        }
        if (arg != "--elements" && arg != "--steps" && !o.kernel_option)
            o.kernel_option = argv[i];
        const std::string_view value = argv[++i];
        const auto bad = [&](const char* expected) {
            std::fprintf(stderr, "simgpu-run: %s %s: expected %s\n", argv[i - 1], argv[i],
                         expected);
            return std::nullopt;
        };

        if (arg == "--kernel") {
            if (value == "all") {
                o.kernel.reset();
                continue;
            }
            o.kernel = kernels.size();
            for (size_t k = 0; k < kernels.size(); ++k)
                if (kernels[k].name == value)
                    o.kernel = k;
            if (*o.kernel == kernels.size())
                return bad("a kernel name (see --help) or all");
        } else if (arg == "--elements") {
            o.elements = parse_number(value);
            if (!o.elements || *o.elements == 0 || *o.elements > max_elements)
                return bad("a number from 1 to 268435456");
        } else if (arg == "--steps") {
            const auto n = parse_number(value);
            if (!n || *n == 0 || *n > max_steps)
                return bad("a number from 1 to 32");
            o.steps = static_cast<unsigned>(*n);
        } else if (arg == "--mode") {
            if (value != "bo" && value != "svm")
                return bad("bo or svm");
            o.mode = value == "bo" ? Mode::bo : Mode::svm;
        } else if (arg == "--device") {
            if (value == "all") {
                o.device.reset();
                continue;
            }
            const auto n = parse_number(value);
            if (!n || *n > UINT32_MAX)
                return bad("a device index or all");
            o.device = static_cast<uint32_t>(*n);
        } else {
            if (value != "system" && value != "vram")
                return bad("system or vram");
            o.placement = value == "vram" ? DRM_SIMGPU_MEM_VRAM : DRM_SIMGPU_MEM_SYSTEM;
        }
    }
    if (o.shared && o.kernel_option) {
        std::fprintf(stderr, "simgpu-run: --shared runs a program of its own: %s does not apply\n",
                     o.kernel_option);
        return std::nullopt;
    }
    if (o.steps && !o.shared) {
        std::fprintf(stderr, "simgpu-run: --steps applies to --shared only\n");
        return std::nullopt;
    }
    if (o.mode == Mode::svm && o.placement) {
        std::fprintf(stderr, "simgpu-run: --placement applies to --mode bo only\n");
        return std::nullopt;
    }
    return o;
}

// A device taking part in the run, in the mode it runs in.
struct DeviceRun {
    const simgpu::Device* dev;
    uint32_t id;
    Mode mode;
    std::string label; // "svm", "bo/system", "bo/vram"
};

// Picks the device's mode and says why; nullopt, after counting an error
// for each kernel, when the device cannot run in it.
std::optional<DeviceRun> plan_device(const simgpu::Device& dev, const drm_simgpu_query_device& info,
                                     const Options& opts, unsigned num_kernels, Tally& tally)
{
    const bool can_mirror = info.caps & DRM_SIMGPU_CAP_CPU_ADDR_MIRROR;
    Mode mode;
    std::string why;
    if (opts.mode) {
        mode = *opts.mode;
        why = "--mode";
    } else if (opts.placement) {
        mode = Mode::bo;
        why = "--placement";
    } else {
        mode = can_mirror ? Mode::svm : Mode::bo;
        why = can_mirror ? "the device mirrors CPU memory" : "the device has no cpu-addr-mirror";
    }
    std::printf("device %u  %s  caps %s  -> %s mode (%s)\n", info.device_id, dev.path().c_str(),
                simgpu::caps_to_string(info.caps).c_str(), mode == Mode::svm ? "svm" : "bo",
                why.c_str());

    if (mode == Mode::svm && !can_mirror) {
        std::printf("device %u  ERROR  svm mode needs cpu-addr-mirror, which this device does "
                    "not report (try --mode bo)\n",
                    info.device_id);
        tally.error += num_kernels;
        return std::nullopt;
    }
    std::string label = "svm";
    if (mode == Mode::bo)
        label = opts.placement == DRM_SIMGPU_MEM_VRAM ? "bo/vram" : "bo/system";
    return DeviceRun{&dev, info.device_id, mode, label};
}

// Runs @kernel on every device of @runs at once, each in a context of its
// own, waits for all the jobs together and prints one line per device.
void run_kernel_everywhere(const std::vector<DeviceRun>& runs, const KernelInfo& kernel,
                           const Options& opts, Tally& tally)
{
    const uint64_t count = opts.elements.value_or(
        kernel.id == DRM_SIMGPU_KERNEL_LIST_SUM ? default_list_nodes : default_elements);
    // Declared before what refers to their memory: destroyed last.
    std::vector<std::unique_ptr<Context>> contexts(runs.size());
    std::vector<std::optional<PreparedRun>> prepared(runs.size());
    std::vector<std::string> errors(runs.size());
    std::vector<Context*> targets;
    std::vector<simgpu::BatchBuilder> batches;
    for (size_t d = 0; d < runs.size(); ++d) {
        try {
            contexts[d] =
                runs[d].mode == Mode::svm
                    ? make_svm_context(*runs[d].dev).value()
                    : make_bo_context(*runs[d].dev, opts.placement.value_or(DRM_SIMGPU_MEM_SYSTEM))
                          .value();
            prepared[d] = prepare_kernel(*contexts[d], kernel, count);
            targets.push_back(contexts[d].get());
            batches.push_back(prepared[d]->batch);
        } catch (const std::exception& e) {
            errors[d] = e.what();
        }
    }

    const std::vector<simgpu::Result<double>> results = run_all(targets, batches);
    size_t next = 0;
    for (size_t d = 0; d < runs.size(); ++d) {
        std::printf("device %u  %-9s  %-10.*s  %7llu %-8.*s  ", runs[d].id, runs[d].label.c_str(),
                    static_cast<int>(kernel.name.size()), kernel.name.data(),
                    static_cast<unsigned long long>(count), static_cast<int>(kernel.unit.size()),
                    kernel.unit.data());
        if (errors[d].empty() && !results[next].ok())
            errors[d] = results[next].error().message();
        if (!errors[d].empty()) {
            std::printf("ERROR  %s\n", errors[d].c_str());
            ++tally.error;
        } else {
            const Outcome o = prepared[d]->check();
            std::printf("%-42s  %-8s %6.1f ms\n", o.check.c_str(), o.match ? "OK" : "MISMATCH",
                        results[next].value());
            if (!o.detail.empty())
                std::printf("    %s\n", o.detail.c_str());
            ++(o.match ? tally.ok : tally.mismatch);
        }
        if (prepared[d])
            ++next;
    }
    std::fflush(stdout);
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

    auto devices = simgpu::Device::enumerate();
    if (!devices.ok()) {
        std::fprintf(stderr, "simgpu-run: %s\n", devices.error().message().c_str());
        return 1;
    }
    if (devices.value().empty()) {
        std::fprintf(stderr, "simgpu-run: no simgpu device found (is the simgpu module loaded?)\n");
        return 1;
    }
    if (opts->shared) {
        // A round: each device once, then the CPU.
        const auto round = static_cast<unsigned>(devices.value().size() + 1);
        return run_shared(devices.value(),
                          SharedOptions{.elements = opts->elements.value_or(default_shared_elements),
                                        .steps = opts->steps.value_or(
                                            std::min<unsigned>(2 * round, max_steps)),
                                        .counters = opts->counters});
    }
    if (opts->device && *opts->device >= devices.value().size()) {
        std::fprintf(stderr, "simgpu-run: no device %u (found %zu)\n", *opts->device,
                     devices.value().size());
        return 1;
    }

    const size_t first = opts->kernel.value_or(0);
    const size_t last = opts->kernel ? *opts->kernel + 1 : kernels.size();
    Tally tally;
    std::vector<uint32_t> ran;
    std::vector<DeviceRun> runs;
    for (size_t d = 0; d < devices.value().size(); ++d) {
        const simgpu::Device& dev = devices.value()[d];
        auto info = dev.query_device();
        if (!info.ok()) {
            std::fprintf(stderr, "simgpu-run: %s\n", info.error().message().c_str());
            return 1;
        }
        if (opts->device && info.value().device_id != *opts->device)
            continue;
        ran.push_back(info.value().device_id);
        if (auto run = plan_device(dev, info.value(), *opts, static_cast<unsigned>(last - first),
                                   tally))
            runs.push_back(std::move(*run));
    }
    std::fflush(stdout);
    if (!runs.empty())
        for (size_t k = first; k < last; ++k)
            run_kernel_everywhere(runs, kernels[k], *opts, tally);

    if (opts->counters)
        for (const uint32_t id : ran)
            print_counters(id);

    std::printf("simgpu-run: %u %s: %u OK, %u MISMATCH, %u ERROR\n", tally.runs(),
                tally.runs() == 1 ? "run" : "runs", tally.ok, tally.mismatch, tally.error);
    return tally.runs() == tally.ok ? 0 : 1;
}
