// SPDX-License-Identifier: MIT
//
// simgpu_bo_evict: VRAM buffer objects under VRAM pressure (unified
// eviction). Sized from the device's VRAM: run it with simgpu loaded with a
// small one (modprobe simgpu vram_size=16); more than 64 MiB skips. Runs on
// both kernels: buffer objects evict buffer objects without device-private
// memory too.
//
// An idle VRAM object (mapped only in fault-mode VMs) is evicted to system
// memory when a new VRAM object needs the space, its data intact for the
// CPU (through a mapping that stays open) and for the GPU; the GPU's next
// fault brings it back to VRAM when VRAM is free, and maps it in system
// memory when not. An object mapped in a VM without fault mode is pinned.
// CPU writes and GPU jobs running on the object while it moves lose
// nothing.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <drm/simgpu_drm.h>

#include "igt.hpp"
#include "simgpu_svm_test.hpp"
#include "simgpu_test.hpp"

namespace {

using namespace simgpu_test;
using namespace simgpu_test::svm;

constexpr uint64_t max_vram = 64 * MiB;

// Pages of a BO's GPU mapping that report VRAM, and that are mapped.
struct Placement {
    uint64_t vram = 0;
    uint64_t mapped = 0;
};

Placement placement(const Vm& vm, const GpuBuffer& b)
{
    const auto r = vm.query_range(b.va, b.size / page_size);
    igt_assert_ok(r);
    Placement p;
    for (uint32_t f : r.value()) {
        p.mapped += (f & DRM_SIMGPU_PAGE_MAPPED) != 0;
        p.vram += (f & DRM_SIMGPU_PAGE_VRAM) != 0;
    }
    return p;
}

// The GPU adds the increments of @seed to every word of @b.
void gpu_add_bo(SvmGpu& gpu, const GpuBuffer& b, uint32_t seed)
{
    gpu.set_inc(seed);
    for (uint64_t off = 0; off < b.size; off += SvmGpu::inc_bytes) {
        BatchBuilder batch;
        igt_assert(gpu.add_inc(batch, b.gpu(off), std::min(SvmGpu::inc_bytes, b.size - off)));
        batch.batch_end();
        run_ok(gpu, batch);
    }
}

// A VRAM object of @size, @seed's pattern written by the CPU and the
// increments of @inc added by the GPU through @gpu's VM: in VRAM.
GpuBuffer resident_bo(SvmGpu& gpu, uint64_t size, uint32_t seed, uint32_t inc)
{
    GpuBuffer b = make_buffer(gpu.vm(), size, DRM_SIMGPU_MEM_VRAM);
    fill_words(b.bytes(), size, seed);
    gpu_add_bo(gpu, b, inc);
    igt_assert_eq(placement(gpu.vm(), b).vram, size / page_size);
    return b;
}

// ---------------------------------------------------------------------------
// The fixture: device 0 with a small VRAM.

struct Fixture {
    std::optional<Env> env;
    uint64_t big = 0; // more than half of VRAM: two never fit together
};

void set_up(Fixture& fx)
{
    fx.env.emplace(open_env());
    igt_require_f(fx.env->has_cap(DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR),
                  "device 0 has no fault mode (caps 0x%llx)",
                  static_cast<unsigned long long>(fx.env->info.caps));
    const uint64_t vram = fx.env->info.vram_size;
    igt_require_f(vram <= max_vram,
                  "VRAM of %llu MiB is too large to fill in a test guest: load simgpu with "
                  "vram_size=16 (at most %llu)",
                  static_cast<unsigned long long>(vram / MiB),
                  static_cast<unsigned long long>(max_vram / MiB));
    fx.big = (vram / 2 + vram / 4) / chunk_2m * chunk_2m;
    igt_assert_f(fx.big > vram / 2 && fx.big < vram, "VRAM of %llu bytes",
                 static_cast<unsigned long long>(vram));
}

// A new VRAM object of fx.big bytes, created successfully: while it
// lives, no other one of that size is in VRAM.
simgpu::Bo big_vram_bo(const Fixture& fx)
{
    auto b = simgpu::Bo::create(fx.env->dev, fx.big, DRM_SIMGPU_MEM_VRAM);
    igt_assert_ok(b);
    return std::move(b).value();
}

// ---------------------------------------------------------------------------
// The subtests.

void bo_evicts_idle_bo(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    GpuBuffer a = resident_bo(gpu, fx.big, 1, 11);
    const auto v0 = vram_counters();

    // B needs A's VRAM: A, idle, moves to system memory.
    const simgpu::Bo b = big_vram_bo(fx);
    const auto v1 = vram_counters();
    igt_assert_eq(delta(v0, v1, "bo_evictions"), 1u);
    igt_assert_eq(delta(v0, v1, "bo_evicted_bytes"), fx.big);
    igt_assert_lte(v1.at("used"), v1.at("size"));
    // Its GPU mapping was zapped, its CPU mapping reads the same data.
    igt_assert_eq(placement(gpu.vm(), a).mapped, 0u);
    check_added(a.bytes(), fx.big, 1, {11}, "A on the CPU after its eviction");
    // B reads as zero, not as A's old VRAM.
    auto bmap = b.map();
    igt_assert_ok(bmap);
    check_value(bmap.value().data(), fx.big, 0, "B, created by evicting A");

    // The GPU faults A in where it is: B holds the VRAM.
    gpu_add_bo(gpu, a, 12);
    const Placement p = placement(gpu.vm(), a);
    igt_assert_eq(p.mapped, fx.big / page_size);
    igt_assert_eq(p.vram, 0u);
    check_added(a.bytes(), fx.big, 1, {11, 12}, "A in system memory after a GPU job");
    igt_assert_eq(vram_counters().at("bo_restores"), v1.at("bo_restores"));
}

void evicted_bo_returns_to_vram(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    GpuBuffer a = resident_bo(gpu, fx.big, 2, 21);
    const auto v0 = vram_counters();
    big_vram_bo(fx); // B: evicts A, and is closed again at once
    const auto v1 = vram_counters();
    igt_assert_eq(delta(v0, v1, "bo_evictions"), 1u);
    // B is gone: the GPU's next fault on A brings it back to VRAM.
    gpu_add_bo(gpu, a, 22);
    const auto v2 = vram_counters();
    igt_assert_eq(delta(v1, v2, "bo_restores"), 1u);
    igt_assert_eq(placement(gpu.vm(), a).vram, fx.big / page_size);
    igt_assert_eq(v2.at("used_bo"), v0.at("used_bo"));
    check_added(a.bytes(), fx.big, 2, {21, 22}, "A back in VRAM");
    // And it can be evicted again.
    const simgpu::Bo c = big_vram_bo(fx);
    igt_assert_eq(delta(v2, vram_counters(), "bo_evictions"), 1u);
    check_added(a.bytes(), fx.big, 2, {21, 22}, "A evicted a second time");
}

void pinned_by_vm_without_fault_mode(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    GpuBuffer a = resident_bo(gpu, fx.big, 3, 31);
    // A second mapping, in a VM whose jobs cannot fault.
    Vm plain = make_vm(*fx.env);
    const uint64_t plain_va = alloc_va(fx.big);
    igt_assert_ok(plain.map(a.bo, plain_va, fx.big));
    const auto v0 = vram_counters();
    auto b = simgpu::Bo::create(fx.env->dev, fx.big, DRM_SIMGPU_MEM_VRAM);
    igt_assert_errno(b, ENOSPC);
    igt_assert_eq(delta(v0, vram_counters(), "bo_evictions"), 0u);
    igt_assert_eq(placement(gpu.vm(), a).vram, fx.big / page_size);
    check_added(a.bytes(), fx.big, 3, {31}, "A, pinned");
    // Without that mapping A is idle again.
    igt_assert_ok(plain.unmap(plain_va, fx.big));
    const simgpu::Bo c = big_vram_bo(fx);
    igt_assert_eq(delta(v0, vram_counters(), "bo_evictions"), 1u);
    check_added(a.bytes(), fx.big, 3, {31}, "A, evicted once unpinned");
}

void evict_under_cpu_writes(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    GpuBuffer a = resident_bo(gpu, fx.big, 4, 41);
    auto* w = a.as<uint32_t>();
    const uint64_t words = fx.big / 4;
    // The CPU rewrites A pass after pass while B's creation moves it.
    std::atomic<uint32_t> last_pass{0};
    std::jthread writer([&](std::stop_token stop) {
        for (uint32_t pass = 1; pass < 0xff && !stop.stop_requested(); ++pass) {
            for (uint64_t i = 0; i < words; ++i)
                w[i] = pass << 24 | static_cast<uint32_t>(i & 0xffffff);
            last_pass.store(pass);
        }
    });
    while (last_pass.load() == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto v0 = vram_counters();
    auto b = simgpu::Bo::create(fx.env->dev, fx.big, DRM_SIMGPU_MEM_VRAM);
    // The writer goes on through the eviction, then ends its pass.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    writer.request_stop();
    writer.join();
    igt_assert_ok(b);
    igt_assert_eq(delta(v0, vram_counters(), "bo_evictions"), 1u);
    const uint32_t pass = last_pass.load();
    for (uint64_t i = 0; i < words; ++i)
        igt_assert_f(w[i] == (pass << 24 | static_cast<uint32_t>(i & 0xffffff)),
                     "word %llu is 0x%08x after pass %u", static_cast<unsigned long long>(i),
                     w[i], pass);
    // The GPU sees the CPU's last pass too: it adds to every word.
    gpu_add_bo(gpu, a, 42);
    for (uint64_t i = 0; i < words; ++i) {
        const uint32_t want =
            (pass << 24 | static_cast<uint32_t>(i & 0xffffff)) + SvmGpu::inc_value(42, i);
        igt_assert_f(w[i] == want,
                     "word %llu is 0x%08x after the GPU added to it, expected 0x%08x",
                     static_cast<unsigned long long>(i), w[i], want);
    }
}

// A mapped in two fault-mode VMs; jobs in the second add to it while the
// first process's allocations evict it and free VRAM again, over and over.
void evict_under_gpu_jobs(const Fixture& fx)
{
    SvmGpu gpu, other;
    start_gpu(gpu, *fx.env);
    start_gpu(other, *fx.env);
    GpuBuffer a = resident_bo(gpu, fx.big, 5, 51);
    const uint64_t other_va = alloc_va(fx.big);
    igt_assert_ok(other.vm().map(a.bo, other_va, fx.big));
    const auto v0 = vram_counters();
    std::atomic<bool> done{false};
    std::vector<uint32_t> incs{51};
    int job_err = 0;
    // Joined on every way out, an assertion's too.
    std::jthread jobs([&](std::stop_token stop) {
        for (uint32_t k = 0; k < 6 && !job_err && !stop.stop_requested(); ++k) {
            const uint32_t inc = 52 + k;
            other.set_inc(inc);
            for (uint64_t off = 0; off < fx.big && !job_err; off += SvmGpu::inc_bytes) {
                BatchBuilder batch;
                if (!other.add_inc(batch, other_va + off, SvmGpu::inc_bytes)) {
                    job_err = -E2BIG;
                    break;
                }
                batch.batch_end();
                job_err = other.run(batch);
            }
            incs.push_back(inc);
        }
        done.store(true);
    });
    uint32_t rounds = 0;
    while (!done.load()) {
        const simgpu::Bo b = big_vram_bo(fx);
        ++rounds;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    jobs.join();
    igt_assert_eq(job_err, 0);
    igt_info("%u allocations evicted A under %zu GPU passes\n", rounds, incs.size() - 1);
    igt_assert_lte(1u, delta(v0, vram_counters(), "bo_evictions"));
    check_added(a.bytes(), fx.big, 5, incs, "A after GPU passes across evictions");
}

using Case = igt::Case<const Fixture&>;

// Every subtest, in the order they run.
constexpr Case cases[] = {
    {"bo-evicts-idle-bo",
     "a new VRAM BO evicts an idle one to system memory, whose data stays intact for the CPU and "
     "the GPU; the new BO reads as zero",
     bo_evicts_idle_bo},
    {"evicted-bo-returns-to-vram",
     "an evicted BO returns to VRAM on the GPU's next fault once VRAM is free, its data intact, "
     "and can be evicted again",
     evicted_bo_returns_to_vram},
    {"pinned-by-vm-without-fault-mode",
     "a BO mapped in a VM without fault mode is pinned in VRAM (ENOSPC for the newcomer) until "
     "unmapped there",
     pinned_by_vm_without_fault_mode},
    {"evict-under-cpu-writes",
     "CPU writes to a BO while it is evicted lose nothing, for the CPU and for the GPU",
     evict_under_cpu_writes},
    {"evict-under-gpu-jobs",
     "GPU jobs adding to a BO while it is evicted and restored over and over lose nothing",
     evict_under_gpu_jobs},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    t.set_timeout(std::chrono::seconds(300));
    Fixture fx;

    t.fixture([&] { set_up(fx); });

    igt::add_cases(t, cases, [&]() -> const Fixture& { return fx; });

    return t.exit_code();
}
