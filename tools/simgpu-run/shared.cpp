// SPDX-License-Identifier: MIT
#include "shared.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <drm/simgpu_drm.h>

#include "context.hpp"
#include "counters.hpp"
#include "kernels.hpp"
#include "placement.hpp"
#include "simgpu/format.hpp"

namespace simgpu_run {
namespace {

constexpr uint64_t page_size = DRM_SIMGPU_PAGE_SIZE;
// The largest span a GPU fault migrates and maps at once. The buffer is
// aligned to it and padded to a multiple of it, so that no chunk it is in
// holds memory the CPU uses meanwhile (a CPU access brings the whole
// chunk back): what each device maps is the buffer's own story.
constexpr uint64_t fault_chunk = uint64_t{2} << 20;

// Odd, so that no element becomes 0 within 31 doublings.
constexpr uint32_t initial_value(uint64_t i)
{
    return static_cast<uint32_t>(2 * i + 1);
}

// Element @i after @doublings GPU steps (fewer than 32).
constexpr uint32_t expected_value(uint64_t i, unsigned doublings)
{
    return initial_value(i) << doublings;
}

// A device of the run: its VM, queue and the batch of its step.
struct Gpu {
    uint32_t id;
    std::unique_ptr<Context> ctx;
    simgpu::BatchBuilder batch;
};

// What the CPU reads in the buffer.
struct Check {
    uint64_t matches = 0;
    std::optional<uint64_t> first; // the first element that differs

    std::string text(uint64_t elements) const
    {
        return std::to_string(matches) + "/" + std::to_string(elements) + " elements match";
    }
};

Check check(const uint32_t* buf, uint64_t elements, unsigned doublings)
{
    Check c;
    for (uint64_t i = 0; i < elements; ++i) {
        if (buf[i] == expected_value(i, doublings))
            ++c.matches;
        else if (!c.first)
            c.first = i;
    }
    return c;
}

void print_difference(const uint32_t* buf, const Check& c, unsigned doublings)
{
    if (c.first)
        std::printf("        first difference at [%llu]: 0x%08x, the CPU expects 0x%08x\n",
                    static_cast<unsigned long long>(*c.first), buf[*c.first],
                    expected_value(*c.first, doublings));
}

} // namespace

int run_shared(const std::vector<simgpu::Device>& devices, const SharedOptions& opts)
{
    if (devices.size() < 2) {
        std::fprintf(stderr,
                     "simgpu-run: --shared needs at least 2 devices, found %zu (load simgpu with "
                     "num_devices=2 or more)\n",
                     devices.size());
        return 1;
    }
    std::vector<uint32_t> ids;
    for (const simgpu::Device& dev : devices) {
        auto info = dev.query_device();
        if (!info.ok()) {
            std::fprintf(stderr, "simgpu-run: %s\n", info.error().message().c_str());
            return 1;
        }
        const drm_simgpu_query_device& i = info.value();
        std::printf("device %u  %s  caps %s  links %s\n", i.device_id, dev.path().c_str(),
                    simgpu::caps_to_string(i.caps).c_str(), describe_links(i.link_mask).c_str());
        if (!(i.caps & DRM_SIMGPU_CAP_CPU_ADDR_MIRROR)) {
            std::fprintf(stderr,
                         "simgpu-run: --shared needs cpu-addr-mirror, which device %u does not "
                         "report\n",
                         i.device_id);
            return 1;
        }
        ids.push_back(i.device_id);
    }

    // The one heap buffer every device and the CPU use. Declared before
    // the devices' contexts: freed after their VMs.
    const uint64_t elements = opts.elements;
    const uint64_t bytes = elements * sizeof(uint32_t);
    const uint64_t padded = (bytes + fault_chunk - 1) / fault_chunk * fault_chunk;
    const std::unique_ptr<uint32_t, FreeDeleter> buffer(
        static_cast<uint32_t*>(std::aligned_alloc(fault_chunk, padded)));
    if (!buffer) {
        std::fprintf(stderr, "simgpu-run: aligned_alloc of %s failed\n",
                     simgpu::format_bytes(padded).c_str());
        return 1;
    }
    uint32_t* const ptr = buffer.get();
    for (uint64_t i = 0; i < elements; ++i)
        ptr[i] = initial_value(i);
    const uint64_t addr = reinterpret_cast<uintptr_t>(ptr);
    const uint64_t num_pages = (bytes + page_size - 1) / page_size;

    // Each device: its own fd (already open), a fault-mode VM mirroring this
    // process, a queue, and a batch adding the buffer to itself.
    std::vector<Gpu> gpus;
    for (size_t d = 0; d < devices.size(); ++d) {
        try {
            auto ctx = make_svm_context(devices[d]).value();
            auto batch =
                launch(*ctx, DRM_SIMGPU_KERNEL_ADD,
                       drm_simgpu_kargs_add{.a = addr, .b = addr, .c = addr, .count = elements});
            gpus.push_back({ids[d], std::move(ctx), std::move(batch)});
        } catch (const std::exception& e) {
            std::fprintf(stderr, "simgpu-run: device %u: %s\n", ids[d], e.what());
            return 1;
        }
    }
    std::printf("buffer    ptr = aligned_alloc(2 MiB, %s) = 0x%llx: %llu elements on %llu "
                "pages\n"
                "          a device's step adds it to itself (add kernel, a = b = c = ptr), "
                "the CPU's reads it\n",
                simgpu::format_bytes(padded).c_str(), static_cast<unsigned long long>(addr),
                static_cast<unsigned long long>(elements),
                static_cast<unsigned long long>(num_pages));

    std::optional<std::vector<Migrations>> counted;
    if (opts.counters) {
        auto m = read_migrations(ids);
        if (m.ok())
            counted = std::move(m).value();
        else
            std::printf("counters not available: %s (debugfs, readable by root)\n",
                        m.error().message().c_str());
    }
    std::fflush(stdout);

    bool all_ok = true;
    unsigned doublings = 0;
    unsigned step = 1;
    for (; step <= opts.steps; ++step) {
        const size_t actor = (step - 1) % (gpus.size() + 1);
        bool stop = false;
        if (actor < gpus.size()) {
            Gpu& gpu = gpus[actor];
            Context* const ctx = gpu.ctx.get();
            const auto result = run_all({&ctx, 1}, {&gpu.batch, 1});
            std::printf("step %-2u  device %u  %-40s ", step, gpu.id, "adds ptr to itself");
            if (result[0].ok()) {
                ++doublings;
                std::printf("OK  %7.1f ms\n", result[0].value());
            } else {
                std::printf("ERROR  %s\n", result[0].error().message().c_str());
                all_ok = false;
                stop = true;
            }
        } else {
            const Check c = check(ptr, elements, doublings);
            std::printf("step %-2u  CPU       %-40s %s\n", step,
                        ("reads ptr: " + c.text(elements)).c_str(), c.first ? "MISMATCH" : "OK");
            print_difference(ptr, c, doublings);
            all_ok = all_ok && !c.first;
        }

        for (const Gpu& gpu : gpus) {
            const auto pages = gpu.ctx->vm().query_range(addr, num_pages);
            if (pages.ok()) {
                std::printf("          %s\n",
                            describe_placement(gpu.id, summarise_pages(pages.value())).c_str());
            } else {
                std::printf("          device %u: %s\n", gpu.id,
                            pages.error().message().c_str());
                all_ok = false;
            }
        }
        if (counted) {
            auto now = read_migrations(ids);
            if (now.ok()) {
                std::printf("          %s\n", describe_migrations(*counted, now.value()).c_str());
                counted = std::move(now).value();
            } else {
                std::printf("          counters no longer readable: %s\n",
                            now.error().message().c_str());
                counted.reset();
            }
        }
        std::fflush(stdout);
        if (stop)
            break;
    }

    if (step <= opts.steps) {
        std::printf("simgpu-run: shared buffer: stopped at step %u  ERROR\n", step);
        return 1;
    }
    const Check c = check(ptr, elements, doublings);
    std::printf("simgpu-run: shared buffer after %u %s: %s  %s\n", opts.steps,
                opts.steps == 1 ? "step" : "steps", c.text(elements).c_str(),
                c.first ? "MISMATCH" : "OK");
    print_difference(ptr, c, doublings);
    return all_ok && !c.first ? 0 : 1;
}

} // namespace simgpu_run
