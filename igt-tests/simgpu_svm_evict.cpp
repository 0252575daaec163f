// SPDX-License-Identifier: MIT
//
// simgpu_svm_evict: mirrored memory larger than VRAM. Everything is sized
// from the device's VRAM, so run it with simgpu loaded with a small one
// (modprobe simgpu vram_size=16); VRAM larger than 64 MiB skips, since the
// working sets are 2 and 4 times VRAM. GPU sweeps over more memory than
// VRAM evict the least recently migrated chunks and keep every word exact
// (also through THPs, moved and evicted as 2 MiB compound device folios);
// evicted memory reads right from the CPU without another migration; VRAM
// buffer objects and SVM share VRAM (a BO allocation evicts SVM, SVM
// migration evicts idle BOs); two processes compete for VRAM; all the VRAM
// SVM used is given back once the memory is freed; and unloading the
// module evicts the pages a process still has in VRAM (the last subtest:
// it reloads simgpu with the same device count and VRAM size).
//
// Every subtest skips without VRAM migration (a kernel without
// CONFIG_DEVICE_PRIVATE).
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm/simgpu_drm.h>

#include "igt.hpp"
#include "simgpu_svm_test.hpp"
#include "simgpu_test.hpp"

namespace {

using namespace simgpu_test;
using namespace simgpu_test::svm;

// The largest VRAM the working sets are sized for: 4x of it stays within
// what a test guest has, in memory and in time.
constexpr uint64_t max_vram = 64 * MiB;

std::string read_param(const char* name)
{
    std::string v;
    if (FILE* f = std::fopen((std::string("/sys/module/simgpu/parameters/") + name).c_str(), "r")) {
        char buf[64] = {};
        if (std::fgets(buf, sizeof(buf), f))
            v = buf;
        std::fclose(f);
    }
    while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
        v.pop_back();
    return v;
}
constexpr int passes = 3;

// @passes GPU passes over a fresh @set bytes, each adding to every word;
// then every word is checked on the CPU. With @thp the CPU fills the set
// through transparent huge pages, which move to VRAM as 2 MiB compound
// device folios and are evicted as such (into huge pages).
void sweep(const Env& env, uint64_t set, uint32_t seed, Thp thp = Thp::off)
{
    SvmGpu gpu;
    start_gpu(gpu, env);
    Area a(set, thp);
    fill_words(a.data(), set, seed);
    if (thp == Thp::on) {
        igt_require_f(read_param("svm_device_thp") == "Y", "svm_device_thp is off");
        igt_require_f(anon_huge_kb(a.data()) >= set / KiB,
                      "the kernel did not back the set with THPs (AnonHugePages %llu kB)",
                      static_cast<unsigned long long>(anon_huge_kb(a.data())));
    }
    const auto c0 = svm_counters();
    std::vector<uint32_t> incs;
    for (int p = 0; p < passes; ++p) {
        incs.push_back(seed * 16 + static_cast<uint32_t>(p));
        gpu_add(gpu, a.data(), set, incs.back());
        // The chunk migrated last is still there.
        assert_in_vram(gpu.vm(), env.info.device_id, a.at(set - chunk_2m), chunk_2m,
                       "the chunk the GPU touched last");
        igt_assert_lte(used_svm(), env.info.vram_size);
    }
    const auto c1 = svm_counters();
    igt_assert_lte(1u, delta(c0, c1, "evictions"));
    igt_assert_lte(1u, delta(c0, c1, "evicted_pages"));
    igt_assert_lte(set / page_size, delta(c0, c1, "migrate_to_vram_pages"));
    if (thp == Thp::on)
        igt_assert_lte(set / chunk_2m, delta(c0, c1, "migrate_to_vram_thp"));
    check_added(a.data(), set, seed, incs, "after the sweeps");
    info_deltas("sweeps", c0, svm_counters());
}

// What the fixture opens: device 0, which can migrate to VRAM, and the size
// of its VRAM.
struct Fixture {
    std::optional<Env> env;
    uint64_t vram = 0;
    uint32_t dev_id = 0;
};

// The fixture: skips when VRAM is too large for the working sets.
void set_up(Fixture& fx)
{
    fx.env.emplace(open_env());
    require_vram_migration(*fx.env);
    fx.vram = fx.env->info.vram_size;
    fx.dev_id = fx.env->info.device_id;
    igt_require_f(fx.vram <= max_vram,
                  "VRAM of %llu MiB is too large for working sets of 4x VRAM in a test guest: "
                  "load simgpu with vram_size=16 (at most %llu)",
                  static_cast<unsigned long long>(fx.vram / MiB),
                  static_cast<unsigned long long>(max_vram / MiB));
    igt_assert_f(fx.vram >= chunk_2m && fx.vram % chunk_2m == 0, "VRAM of %llu bytes",
                 static_cast<unsigned long long>(fx.vram));
    igt_info("VRAM %llu MiB: working sets of %llu and %llu MiB\n",
             static_cast<unsigned long long>(fx.vram / MiB),
             static_cast<unsigned long long>(2 * fx.vram / MiB),
             static_cast<unsigned long long>(4 * fx.vram / MiB));
}

void evict_then_cpu_read(Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const uint64_t size_a = std::max(chunk_2m, fx.vram / 2 / chunk_2m * chunk_2m);
    Area a(size_a);
    fill_words(a.data(), size_a, 3);
    gpu_add(gpu, a.data(), size_a, 31);
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), size_a, "A after its GPU job");

    // B, twice VRAM, migrated after A: A is the least recently
    // migrated and goes first.
    Area b(2 * fx.vram);
    const auto c0 = svm_counters();
    gpu_add(gpu, b.data(), 2 * fx.vram, 32);
    const auto c1 = svm_counters();
    igt_assert_lte(size_a / page_size, delta(c0, c1, "evicted_pages"));
    assert_not_in_vram(gpu.vm(), a.data(), size_a, "A after the sweep of B");

    // The CPU reads A right, and it is in system memory already.
    check_added(a.data(), size_a, 3, {31}, "A read by the CPU after its eviction");
    const auto c2 = svm_counters();
    igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), 0u);
    // The GPU reads it right too.
    GpuBuffer out = make_buffer(gpu.vm(), size_a);
    BatchBuilder rd;
    rd.copy(out.gpu(), va(a.data()), size_a).batch_end();
    run_ok(gpu, rd);
    check_added(out.bytes(), size_a, 3, {31}, "A read by the GPU after its eviction");
    check_added(b.data(), 2 * fx.vram, std::nullopt, {32}, "B");
    info_deltas("sweep of B", c0, c1);
}

void svm_evicts_idle_bo(Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const uint64_t bo_size = fx.vram / 2;
    GpuBuffer bo = make_buffer(gpu.vm(), bo_size, DRM_SIMGPU_MEM_VRAM);
    fill_words(bo.bytes(), bo_size, 60);
    BatchBuilder b;
    gpu.set_inc(61);
    igt_assert(gpu.add_inc(b, bo.gpu(), bo_size));
    b.batch_end();
    run_ok(gpu, b);
    // Older than svm_evict_age_ms: SVM faults may evict it.
    const int age_ms = std::atoi(read_param("svm_evict_age_ms").c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(3 * age_ms + 100));

    const auto v0 = vram_counters();
    Area a(fx.vram);
    fill_words(a.data(), fx.vram, 6);
    gpu_add(gpu, a.data(), fx.vram, 62);
    const auto v1 = vram_counters();
    igt_assert_eq(delta(v0, v1, "bo_evictions"), 1u);
    igt_assert_eq(delta(v0, v1, "bo_evicted_bytes"), bo_size);
    // The SVM range took its place: all of it in VRAM.
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), fx.vram, "the range that evicted the BO");
    check_added(a.data(), fx.vram, 6, {62}, "SVM that evicted the BO");
    check_added(bo.bytes(), bo_size, 60, {61}, "the evicted BO on the CPU");
    // The GPU faults the BO in again, in system memory (VRAM is full).
    BatchBuilder b2;
    gpu.set_inc(63);
    igt_assert(gpu.add_inc(b2, bo.gpu(), bo_size));
    b2.batch_end();
    run_ok(gpu, b2);
    check_added(bo.bytes(), bo_size, 60, {61, 63}, "the evicted BO after a GPU job");
}

void bo_and_svm_compete(Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const auto v0 = vram_counters();
    // VRAM BOs holding half of VRAM (idle between jobs: the sweeps
    // may evict them).
    const uint64_t bo_size = fx.vram / 4;
    std::vector<GpuBuffer> bos;
    for (uint32_t k = 0; k < 2; ++k) {
        bos.push_back(make_buffer(gpu.vm(), bo_size, DRM_SIMGPU_MEM_VRAM));
        fill_words(bos.back().bytes(), bo_size, 40 + k);
    }
    const auto v1 = vram_counters();
    igt_assert_lte(v0.at("used_bo") + 2 * bo_size, v1.at("used_bo"));

    // SVM sweeps twice VRAM through the other half, the GPU adding to
    // the BOs in every pass too.
    Area s(2 * fx.vram);
    fill_words(s.data(), 2 * fx.vram, 4);
    const auto c0 = svm_counters();
    std::vector<uint32_t> incs;
    for (int p = 0; p < passes; ++p) {
        incs.push_back(400 + static_cast<uint32_t>(p));
        gpu_add(gpu, s.data(), 2 * fx.vram, incs.back());
        BatchBuilder b;
        for (const GpuBuffer& bo : bos)
            igt_assert(gpu.add_inc(b, bo.gpu(), bo_size));
        b.batch_end();
        run_ok(gpu, b);
    }
    const auto c1 = svm_counters();
    igt_assert_lte(1u, delta(c0, c1, "evictions"));
    for (uint32_t k = 0; k < 2; ++k)
        check_added(bos[k].bytes(), bo_size, 40 + k, incs, "a VRAM BO next to the sweeps");
    check_added(s.data(), 2 * fx.vram, 4, incs, "SVM swept next to the BOs");

    // The BOs go; SVM takes all of VRAM.
    for (const GpuBuffer& bo : bos)
        igt_assert_ok(gpu.vm().unmap(bo.va, bo.size));
    bos.clear();
    const int64_t deadline = now_ns() + 10 * sec_ns;
    while (vram_counters().at("used_bo") > v0.at("used_bo") && now_ns() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    igt_assert_lte(vram_counters().at("used_bo"), v0.at("used_bo"));
    Area f(fx.vram);
    fill_words(f.data(), fx.vram, 5);
    gpu_add(gpu, f.data(), fx.vram, 51);
    const auto v2 = vram_counters();
    // A BO of most of VRAM cannot fit without evicting SVM...
    const uint64_t big_size = fx.vram - fx.vram / 4;
    igt_assert_f(v2.at("size") - v2.at("used") < big_size,
                 "SVM does not occupy VRAM: %llu of %llu bytes used",
                 static_cast<unsigned long long>(v2.at("used")),
                 static_cast<unsigned long long>(v2.at("size")));
    // ...and it is created by evicting SVM.
    const auto c2 = svm_counters();
    auto big = simgpu::Bo::create(fx.env->dev, big_size, DRM_SIMGPU_MEM_VRAM);
    igt_assert_ok(big);
    const auto c3 = svm_counters();
    igt_assert_lte(1u, delta(c2, c3, "evictions"));
    const auto v3 = vram_counters();
    igt_assert_lte(v0.at("used_bo") + big_size, v3.at("used_bo"));
    igt_assert_lte(v3.at("used"), v3.at("size"));
    // It reads as zero, whatever SVM left in that VRAM, and works.
    auto map = big.value().map();
    igt_assert_ok(map);
    check_value(map.value().data(), big_size, 0, "a new VRAM BO");
    const uint64_t big_va = alloc_va(big_size);
    igt_assert_ok(gpu.vm().map(big.value(), big_va, big_size));
    BatchBuilder b;
    b.store_dw(big_va + big_size - 4, 0x600dbeefu).fill(big_va, 64 * KiB, 0x11111111u).batch_end();
    run_ok(gpu, b);
    igt_assert_eq(map.value().as<uint32_t>()[big_size / 4 - 1], 0x600dbeefu);
    check_value(map.value().data(), 64 * KiB, 0x11111111u, "GPU fill of the new VRAM BO");
    // SVM's data survived its eviction, for the CPU and the GPU.
    check_added(f.data(), fx.vram, 5, {51}, "SVM evicted for the BO");
    check_added(s.data(), 2 * fx.vram, 4, incs, "the older SVM sweep");
    gpu_add(gpu, f.data(), fx.vram, 52);
    check_added(f.data(), fx.vram, 5, {51, 52}, "SVM next to the big BO");
    igt_assert_ok(gpu.vm().unmap(big_va, big_size));
}

// processes-compete's child, with its own fd, VM and queue (on compute
// engine @instance): once told to (@go), two GPU passes over @size bytes of
// its memory, then a check of every word. No igt macro: an exit code naming
// the step that failed.
int child_sweep(const Pipe& go, uint64_t size, uint32_t seed, uint16_t instance)
{
    auto found = simgpu::Device::enumerate();
    if (!found.ok() || found.value().empty())
        return 10;
    SvmGpu gpu;
    if (const int err = gpu.init(found.value().front(), instance); err != 0) {
        std::fprintf(stderr, "child %d: setup: %s\n", ::getpid(), std::strerror(err));
        return 11;
    }
    auto* p = map_aligned(size);
    if (!p)
        return 12;
    fill_words(p, size, seed);
    char c = 0;
    if (!go.recv(&c, 120000))
        return 13;
    std::vector<uint32_t> incs;
    for (int pass = 0; pass < 2; ++pass) {
        incs.push_back(seed * 16 + static_cast<uint32_t>(pass));
        gpu.set_inc(incs.back());
        for (uint64_t off = 0; off < size; off += chunk_2m) {
            BatchBuilder b;
            if (!gpu.add_inc(b, p + off, std::min(chunk_2m, size - off)))
                return 14;
            b.batch_end();
            if (const int err = gpu.run(b); err != 0) {
                std::fprintf(stderr, "child %d: pass %d at offset 0x%llx: job failed: %s\n",
                             ::getpid(), pass, static_cast<unsigned long long>(off),
                             std::strerror(-err));
                return 15;
            }
        }
    }
    const uint64_t i = first_wrong_word(p, size, seed, incs);
    if (i != UINT64_MAX) {
        std::fprintf(stderr, "child %d: word %llu is 0x%08x, expected 0x%08x\n", ::getpid(),
                     static_cast<unsigned long long>(i), reinterpret_cast<uint32_t*>(p)[i],
                     expected_word(seed, incs, i));
        return 16;
    }
    ::munmap(p, size);
    return 0;
}

void processes_compete(Fixture& fx)
{
    const uint64_t each = round_up(fx.vram * 3 / 2, chunk_2m);
    const auto c0 = svm_counters();
    const Pipe go;
    std::array<pid_t, 2> pids{};
    for (uint32_t k = 0; k < 2; ++k) {
        pids[k] = ::fork();
        igt_assert(pids[k] >= 0);
        if (pids[k] == 0)
            ::_exit(child_sweep(go, each, 60 + k,
                                static_cast<uint16_t>(k % fx.env->num_compute())));
    }
    for (size_t k = 0; k < pids.size(); ++k)
        igt_assert(go.send('g'));
    for (const pid_t pid : pids)
        assert_child_ok(pid, 500000, "child sweeping 1.5x VRAM next to another");
    const auto c1 = svm_counters();
    igt_assert_lte(1u, delta(c0, c1, "evictions"));
    info_deltas("two processes", c0, c1);
}

void vram_returns_to_zero(Fixture& fx)
{
    const uint64_t base = settled_used_svm();
    const uint64_t used_before = vram_counters().at("used");
    igt_info("used_svm %llu before the test\n", static_cast<unsigned long long>(base));
    uint64_t during = 0;
    {
        SvmGpu gpu;
        start_gpu(gpu, *fx.env);
        Area a(2 * fx.vram);
        fill_words(a.data(), 2 * fx.vram, 7);
        gpu_add(gpu, a.data(), 2 * fx.vram, 71);
        Area b(std::max(chunk_2m, fx.vram / 2 / chunk_2m * chunk_2m));
        igt_assert_ok(gpu.vm().prefetch(va(b.data()), b.size(), DRM_SIMGPU_MEM_VRAM));
        assert_in_vram(gpu.vm(), fx.dev_id, b.data(), b.size(), "prefetched memory");
        during = used_svm();
        igt_assert_lte(b.size(), during);
        // Freed with everything in VRAM: the memory first, then the VM.
    }
    const uint64_t after = wait_used_svm_at_most(base);
    igt_assert_f(after <= base,
                 "used_svm is %llu 10 s after everything was freed; %llu before, %llu in use",
                 static_cast<unsigned long long>(after), static_cast<unsigned long long>(base),
                 static_cast<unsigned long long>(during));
    igt_assert_lte(vram_counters().at("used"), used_before);
}

// module-unload-evicts' child, with its own fds, VMs and queues: no igt
// macro, an exit code naming the step that failed. Puts @slice bytes of its
// memory in the VRAM of every device, closes the devices, tells the parent
// (@ready) and, once the module went away and came back (@go), checks its
// data: the unload evicted it to system memory.
int child_keep_in_vram(const Pipe& ready, const Pipe& go, uint64_t slice, uint32_t seed)
{
    auto found = simgpu::Device::enumerate();
    if (!found.ok() || found.value().empty())
        return 21;
    const uint64_t size = slice * found.value().size();
    auto* p = map_aligned(size);
    if (!p)
        return 20;
    fill_words(p, size, seed);
    for (size_t d = 0; d < found.value().size(); ++d) {
        std::byte* s = p + d * slice;
        SvmGpu gpu;
        if (gpu.init(found.value()[d]) != 0)
            return 22;
        gpu.set_inc(seed);
        for (uint64_t off = 0; off < slice; off += chunk_2m) {
            BatchBuilder b;
            if (!gpu.add_inc(b, s + off, chunk_2m))
                return 23;
            b.batch_end();
            if (gpu.run(b) != 0)
                return 24;
        }
        const auto pages = query(gpu.vm(), s, slice);
        if (count_vram(pages) != slice / page_size) {
            std::fprintf(stderr,
                         "child: device %zu has %llu of %llu pages in VRAM before the unload\n", d,
                         static_cast<unsigned long long>(count_vram(pages)),
                         static_cast<unsigned long long>(slice / page_size));
            return 25;
        }
        // The device file closes here; the pages stay in VRAM.
    }
    found.value().clear(); // every device file closes: the module may go
    char c = 0;
    if (!ready.send('r') || !go.recv(&c, 300000) || c != 'g')
        return 26;
    const std::array<uint32_t, 1> incs{seed};
    const uint64_t i = first_wrong_word(p, size, seed, incs);
    if (i != UINT64_MAX) {
        std::fprintf(stderr, "child: word %llu is 0x%08x after the unload, expected 0x%08x\n",
                     static_cast<unsigned long long>(i), reinterpret_cast<uint32_t*>(p)[i],
                     expected_word(seed, incs, i));
        return 27;
    }
    return 0;
}

// Runs a shell command: its exit status, -1 when it did not exit.
int shell(const std::string& cmd)
{
    const int st = std::system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Pages in VRAM of a process that closed the devices outlive the files;
// the unload (on svm_core=kernel the unbind before it) must evict them
// from every device, intact.
void module_unload_evicts(Fixture& fx)
{
    igt_require_f(::access("/sys/module/simgpu/parameters/vram_size", R_OK) == 0,
                  "simgpu parameters not in sysfs");
    const std::string params =
        "num_devices=" + read_param("num_devices") + " vram_size=" + read_param("vram_size");
    // A slice in the VRAM of every device.
    const uint64_t size = std::min<uint64_t>(8 * MiB, fx.vram / 2 / chunk_2m * chunk_2m);
    const Pipe ready, go;
    fx.env.reset(); // our files hold the module, and the child would inherit them
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0)
        ::_exit(child_keep_in_vram(ready, go, size, 81));
    char c = 0;
    igt_assert_f(ready.recv(&c, 120000) && c == 'r', "child did not get its memory into VRAM");
    int unload;
    if (kernel_svm()) {
        // A drm_pagemap holds its module while process memory is in
        // its VRAM: the unload is refused, the unbind evicts, and the
        // module goes once drm_pagemap let go of it.
        igt_assert_neq(shell("rmmod simgpu 2>/dev/null"), 0);
        igt_assert_eq(shell("for d in /sys/bus/platform/drivers/simgpu/simgpu.*; do "
                            "echo \"${d##*/}\" >/sys/bus/platform/drivers/simgpu/unbind; done"),
                      0);
        unload = shell("simgpu-unload");
    } else {
        unload = shell("rmmod simgpu");
    }
    const int load = shell("modprobe simgpu " + params);
    igt_assert(go.send('g'));
    assert_child_ok(pid, 120000, "child whose VRAM pages the unload evicted");
    igt_assert_eq(unload, 0);
    igt_assert_eq(load, 0);
    fx.env.emplace(open_env());
    igt_assert_eq(settled_used_svm(), 0u);
}

// sweep-*: sweep() over @vram_times VRAM, filled from @seed, through THPs with @thp.
struct SweepCase {
    const char* name;
    const char* description;
    uint64_t vram_times;
    uint32_t seed;
    Thp thp;
};

constexpr SweepCase sweeps[] = {
    {"sweep-2x-vram",
     "GPU passes over twice VRAM evict the oldest chunks and keep every word exact",
     2, 1, Thp::off},
    {"sweep-4x-vram",
     "GPU passes over four times VRAM evict the oldest chunks and keep every word exact",
     4, 2, Thp::off},
    {"sweep-2x-vram-thp",
     "GPU passes over twice VRAM of THPs move and evict 2 MiB device folios, words exact",
     2, 4, Thp::on},
};

using Case = igt::Case<Fixture&>;

// In the order they run, after the sweeps.
constexpr Case cases[] = {
    {"evict-then-cpu-read",
     "evicted memory reads right on the CPU without another migration, and on the GPU",
     evict_then_cpu_read},
    {"svm-evicts-idle-bo",
     "SVM migration evicts an idle VRAM BO, whose data stays intact for the CPU and the GPU",
     svm_evicts_idle_bo},
    {"bo-and-svm-compete",
     "VRAM BOs and SVM sweeps share VRAM intact, and a large BO allocation evicts SVM",
     bo_and_svm_compete},
    {"processes-compete",
     "two processes sweeping 1.5x VRAM each evict each other's memory, every word exact",
     processes_compete},
    {"vram-returns-to-zero",
     "all the VRAM SVM used is given back once the memory and the VM are freed",
     vram_returns_to_zero},
    // Last: it unloads the module.
    {"module-unload-evicts",
     "unloading simgpu evicts the VRAM pages of a process that closed the devices, intact",
     module_unload_evicts},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    t.set_timeout(std::chrono::seconds(600));
    Fixture fx;

    t.fixture([&] { set_up(fx); });

    for (const SweepCase& s : sweeps)
        t.subtest(s.name, s.description,
                  [&] { sweep(*fx.env, s.vram_times * fx.vram, s.seed, s.thp); });
    igt::add_cases(t, cases, [&]() -> Fixture& { return fx; });

    return t.exit_code();
}
