// SPDX-License-Identifier: MIT
//
// simgpu_svm_migrate: mirrored memory in VRAM. On a device with
// DRM_SIMGPU_CAP_VRAM_MIGRATION a GPU fault on anonymous private memory
// migrates the chunk around the address to VRAM (zero-filling pages the
// process never touched), a CPU access brings the whole chunk back, shared
// and file memory stays in system memory, and PREFETCH moves spans either
// way ahead of GPU access. Checks the data the GPU and the CPU see through
// every move, the placement VM_QUERY_RANGE reports and the migration
// counters in debugfs; and memory in VRAM through munmap, fork, mprotect,
// process exit, concurrent CPU faults, and on a thread's stack.
//
// Jobs keep their batches, argument blocks and user fences in buffer
// objects (SvmGpu), so the GPU touches no SVM memory but the memory under
// test and the counters count only it. Every subtest skips without VRAM
// migration (a kernel without CONFIG_DEVICE_PRIVATE).
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <signal.h>
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

constexpr uint64_t chunk_pages = chunk_2m / page_size;
// GPU faults stop migrating a chunk the CPU took back from VRAM this many
// times: see the uAPI's placement policy.
constexpr int thrash_migrations = 3;

// What the fixture opens: device 0, which can migrate to VRAM.
struct Fixture {
    std::optional<Env> env;
    uint32_t dev_id = 0;
};

// Fills @a from @seed and has the GPU add the increments of @inc to all of
// it, which moves it to VRAM: @what names it there.
void fill_to_vram(SvmGpu& gpu, uint32_t dev_id, const Area& a, uint32_t seed, uint32_t inc,
                  const char* what)
{
    fill_words(a.data(), a.size(), seed);
    gpu_add(gpu, a.data(), a.size(), inc);
    assert_in_vram(gpu.vm(), dev_id, a.data(), a.size(), what);
}

// The GPU's turn in round @r of ping-pong and concurrent-cpu-faults: it
// adds the increments of @inc to the chunk at @a, which ends up in VRAM.
// GPU faults migrate a chunk three times; after that the policy keeps a
// chunk that bounces in system memory, so a PREFETCH moves it for the rest
// of the rounds.
void gpu_turn(SvmGpu& gpu, uint32_t dev_id, const Area& a, int r, uint32_t inc, const char* what)
{
    if (r >= thrash_migrations)
        igt_assert_ok(gpu.vm().prefetch(va(a.data()), chunk_2m, DRM_SIMGPU_MEM_VRAM));
    gpu_add(gpu, a.data(), chunk_2m, inc);
    assert_in_vram(gpu.vm(), dev_id, a.data(), chunk_2m, what);
}

// Skips when transparent hugepages are off.
void require_thp()
{
    const std::string enabled = read_file("/sys/kernel/mm/transparent_hugepage/enabled");
    igt_require_f(!enabled.empty() && enabled.find("[never]") == std::string::npos,
                  "transparent hugepages are off (enabled: %s)",
                  enabled.empty() ? "missing" : enabled.c_str());
}

// Skips unless svm_device_thp is on: THPs move as 2 MiB compound device folios.
void require_device_thp()
{
    igt_require_f(read_param("svm_device_thp").value_or("N") == "Y",
                  "svm_device_thp is off");
}

// ---------------------------------------------------------------------------
// GPU faults migrate, CPU faults bring back.

void first_touch_migrates(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 1);
    const auto c0 = svm_counters();
    gpu_add(gpu, a.data(), chunk_2m, 11);
    const auto c1 = svm_counters();
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "after the GPU job");
    assert_huge(gpu.vm(), a.data(), chunk_2m, "a whole 2 MiB chunk in VRAM");
    igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_vram_pages"));
    igt_assert_lte(chunk_2m, delta(c0, c1, "migrate_to_vram_bytes"));
    igt_assert_lte(1u, delta(c0, c1, "migrate_to_vram_2M"));
    igt_assert_lte(chunk_2m, used_svm());

    check_added(a.data(), chunk_2m, 1, {11}, "CPU read after the GPU job");
    const auto c2 = svm_counters();
    igt_assert_lte(chunk_pages, delta(c1, c2, "migrate_to_ram_pages"));
    assert_not_in_vram(gpu.vm(), a.data(), chunk_2m, "after the CPU read");
    info_deltas("first touch and CPU read", c0, c2);
}

void cpu_read_migrates_back(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_to_vram(gpu, fx.dev_id, a, 2, 21, "after the GPU job");

    // One word of one page in the middle of the chunk.
    const uint64_t word = 300 * page_size / 4 + 5;
    const auto c0 = svm_counters();
    const uint32_t got = reinterpret_cast<volatile uint32_t*>(a.data())[word];
    const auto c1 = svm_counters();
    igt_assert_eq(got, expected_word(2, std::array{21u}, word));
    igt_assert_eq(delta(c0, c1, "migrate_to_ram_pages"), chunk_pages);
    igt_assert_eq(delta(c0, c1, "migrate_to_ram_bytes"), chunk_2m);
    igt_assert_eq(delta(c0, c1, "migrate_to_ram_chunks"), 1u);
    assert_not_in_vram(gpu.vm(), a.data(), chunk_2m, "after a CPU read of one page");

    // Every other word came back with it, identical.
    check_added(a.data(), chunk_2m, 2, {21}, "the chunk after the CPU read");
    const auto c2 = svm_counters();
    igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), 0u);
}

void ping_pong(const Fixture& fx)
{
    constexpr int rounds = 50;
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 3);
    std::vector<uint32_t> shadow(a.words(), a.words() + chunk_2m / 4);
    const auto c0 = svm_counters();
    for (int r = 0; r < rounds; ++r) {
        const uint32_t inc = 300 + r;
        gpu_turn(gpu, fx.dev_id, a, r, inc, "after the GPU's turn");
        // The CPU checks everything, then changes every eighth word.
        cpu_turn(a.words(), shadow, inc, r);
    }
    const auto c1 = svm_counters();
    igt_assert_lte(rounds * chunk_pages, delta(c0, c1, "migrate_to_vram_pages"));
    igt_assert_lte(rounds * chunk_pages, delta(c0, c1, "migrate_to_ram_pages"));
    info_deltas("ping-pong", c0, c1);
}

// A first migration to VRAM keeps nothing: the CPU's read right after
// brings the chunk back with no wait (no thrash hold). Once the CPU has
// taken the range back, the GPU's next migrations hold it for a timeslice
// (the cure for CPU/GPU livelock on a shared counter), each one counted.
void hold_only_when_thrashing(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 4);
    std::vector<uint32_t> incs;
    for (uint32_t trip = 0; trip < 3; ++trip) {
        const auto c0 = svm_counters();
        incs.push_back(41 + trip);
        gpu_add(gpu, a.data(), chunk_2m, incs.back());
        const auto c1 = svm_counters();
        assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "after the GPU job");
        check_added(a.data(), chunk_2m, 4, incs, "the CPU's read after the GPU job");
        const auto c2 = svm_counters();
        igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), chunk_pages);
        igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), chunk_pages);
        igt_info("trip %u: %llu thrash holds\n", trip,
                 static_cast<unsigned long long>(delta(c0, c1, "thrash_holds")));
        igt_assert_eq(delta(c0, c1, "thrash_holds"), trip == 0 ? 0u : 1u);
    }
}

void never_touched_zero_fill(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m); // the CPU never touches it before the GPU
    GpuBuffer out = make_buffer(gpu.vm(), chunk_2m);
    std::memset(out.bytes(), 0xa5, chunk_2m);
    const auto c0 = svm_counters();
    // Stores first (they migrate the chunk), then a read of all of it.
    BatchBuilder b;
    for (uint32_t k = 0; k < 8; ++k)
        b.store_dw(va(a.at(k * 256 * KiB + 4 * k)), 0x7000u + k);
    b.copy(out.gpu(), va(a.data()), chunk_2m).batch_end();
    run_ok(gpu, b);
    const auto c1 = svm_counters();
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "untouched memory after the GPU job");
    igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_vram_pages"));
    // No wait for another holder's pages: there is none. (drm_pagemap
    // says -EBUSY of the 2 MiB hole it has just migrated as one folio,
    // and the kernel core waited 20 ms for it on every such fault.)
    igt_assert_eq(delta(c0, c1, "migrate_busy_waits"), 0u);
    for (const std::byte* mem : {out.bytes(), a.data()}) {
        const auto* w = reinterpret_cast<const volatile uint32_t*>(mem);
        for (uint64_t i = 0; i < chunk_2m / 4; ++i) {
            const uint64_t k = i / (64 * KiB);
            const uint32_t want = i == k * (64 * KiB) + k ? 0x7000u + static_cast<uint32_t>(k) : 0u;
            if (w[i] != want)
                igt_fail("%s: word %llu is 0x%08x, expected 0x%08x",
                         mem == a.data() ? "CPU read" : "GPU read",
                         static_cast<unsigned long long>(i), w[i], want);
        }
    }
}

void partially_populated(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    // The CPU writes every other 64 KiB block and two single pages.
    std::vector<bool> written(chunk_pages, false);
    const auto write_pages = [&](uint64_t first, uint64_t n) {
        fill_words(a.at(first * page_size), n * page_size, 5, first * page_size / 4);
        for (uint64_t pg = first; pg < first + n; ++pg)
            written[pg] = true;
    };
    for (uint64_t blk = 0; blk < 32; blk += 2)
        write_pages(blk * 16, 16);
    write_pages(1 * 16 + 3, 1);
    write_pages(7 * 16 + 15, 1);
    const auto c0 = svm_counters();
    gpu_add(gpu, a.data(), chunk_2m, 51);
    const auto c1 = svm_counters();
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "a partly written chunk");
    igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_vram_pages"));
    for (uint64_t pg = 0; pg < chunk_pages; ++pg)
        check_added(a.at(pg * page_size), page_size,
                    written[pg] ? std::optional<uint32_t>(5) : std::nullopt, {51},
                    written[pg] ? "a written page" : "a page never written", pg * page_size / 4);
}

void thp_backed(const Fixture& fx)
{
    require_thp();
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m, Thp::on);
    fill_words(a.data(), chunk_2m, 6); // the CPU faults it in first
    const uint64_t kb = anon_huge_kb(a.data());
    igt_require_f(kb >= chunk_2m / KiB,
                  "the kernel did not back the 2 MiB area with a THP (AnonHugePages %llu kB)",
                  static_cast<unsigned long long>(kb));
    const auto c0 = svm_counters();
    gpu_add(gpu, a.data(), chunk_2m, 61);
    const auto c1 = svm_counters();
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "a THP after the GPU job");
    assert_huge(gpu.vm(), a.data(), chunk_2m, "a THP in VRAM");
    igt_assert_lte(1u, delta(c0, c1, "migrate_to_vram_2M"));
    igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_vram_pages"));
    check_added(a.data(), chunk_2m, 6, {61}, "the THP read back by the CPU");
    const auto c2 = svm_counters();
    igt_assert_lte(chunk_pages, delta(c1, c2, "migrate_to_ram_pages"));
    // What came back migrates again.
    gpu_add(gpu, a.data(), chunk_2m, 62);
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "the THP's pages, second time");
    check_added(a.data(), chunk_2m, 6, {61, 62}, "after the second GPU job");
    igt_info("THP: AnonHugePages %llu kB before the migration\n",
             static_cast<unsigned long long>(kb));
}

// ---------------------------------------------------------------------------
// 2 MiB compound device folios (svm_device_thp).

// thp-device-folio*: a THP-backed 2 MiB goes to VRAM on a GPU fault and
// comes back on a CPU read of one word, as one compound device folio each
// way with @folio, else as 512 device pages; every page moves either way
// and the data survives.
void thp_round_trip(SvmGpu& gpu, uint32_t dev_id, uint32_t seed, uint32_t inc, bool folio)
{
    require_thp();
    Area a(chunk_2m, Thp::on);
    fill_words(a.data(), chunk_2m, seed);
    igt_require_f(anon_huge_kb(a.data()) >= chunk_2m / KiB,
                  "the kernel did not back the 2 MiB area with a THP");
    const uint64_t folios = folio ? 1 : 0;
    const auto c0 = svm_counters();
    gpu_add(gpu, a.data(), chunk_2m, inc);
    const auto c1 = svm_counters();
    assert_in_vram(gpu.vm(), dev_id, a.data(), chunk_2m, "a THP after the GPU job");
    igt_assert_eq(delta(c0, c1, "migrate_to_vram_thp"), folios);
    igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), chunk_pages);
    const uint64_t word = 100 * page_size / 4 + 9;
    igt_assert_eq(reinterpret_cast<volatile uint32_t*>(a.data())[word],
                  expected_word(seed, std::array{inc}, word));
    const auto c2 = svm_counters();
    igt_assert_eq(delta(c1, c2, "migrate_to_ram_thp"), folios);
    igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), chunk_pages);
    if (folio)
        igt_assert_lte(chunk_2m / KiB, anon_huge_kb(a.data()));
    check_added(a.data(), chunk_2m, seed, {inc}, "the THP back in system memory");
}

void thp_device_folio(const Fixture& fx)
{
    require_device_thp();
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    thp_round_trip(gpu, fx.dev_id, 8, 81, true);
    // An untouched aligned 2 MiB (no page table yet) is one folio too.
    Area u(chunk_2m, Thp::on);
    const auto c0 = svm_counters();
    gpu_add(gpu, u.data(), chunk_2m, 82);
    const auto c1 = svm_counters();
    igt_assert_eq(delta(c0, c1, "migrate_to_vram_thp"), 1u);
    check_added(u.data(), chunk_2m, std::nullopt, {82}, "untouched memory after the GPU job");
}

void thp_device_folio_off(const Fixture& fx)
{
    const auto old = read_param("svm_device_thp");
    igt_require_f(old.has_value(), "no svm_device_thp parameter");
    igt_require_f(!kernel_svm(),
                  "svm_core=kernel: drm_pagemap always migrates an aligned 2 MiB range as "
                  "one device folio (MIGRATE_VMA_SELECT_COMPOUND); svm_device_thp is the "
                  "simgpu core's");
    const ParamRestorer restore("svm_device_thp", *old);
    igt_assert(write_param("svm_device_thp", "0")); // read at each migration
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    thp_round_trip(gpu, fx.dev_id, 9, 91, false);
}

// thp-device-folio-split-*: @a (a THP-backed 2 MiB) filled from @seed, sent
// to VRAM as one device folio by a GPU job adding @inc, then its upper half
// made read-only, which splits its PMD into PTEs with the VMA. With
// @thrashing, a GPU read and a CPU read first take it to VRAM and back
// (whole), so that the last migration keeps the VRAM for a timeslice.
void split_device_folio(SvmGpu& gpu, uint32_t dev_id, const Area& a, uint32_t seed, uint32_t inc,
                        bool thrashing = false)
{
    fill_words(a.data(), chunk_2m, seed);
    igt_require_f(anon_huge_kb(a.data()) >= chunk_2m / KiB,
                  "the kernel did not back the 2 MiB area with a THP");
    if (thrashing) {
        const GpuBuffer read = gpu_read(gpu, a.data(), chunk_2m);
        check_added(read.bytes(), chunk_2m, seed, {}, "the GPU's read of the THP");
        check_added(a.data(), chunk_2m, seed, {}, "the THP after a trip to VRAM");
        igt_require_f(anon_huge_kb(a.data()) >= chunk_2m / KiB,
                      "the THP did not come back from VRAM whole");
    }
    const auto c0 = svm_counters();
    gpu_add(gpu, a.data(), chunk_2m, inc);
    const auto c1 = svm_counters();
    igt_assert_eq(delta(c0, c1, "migrate_to_vram_thp"), 1u);
    igt_assert_eq(delta(c0, c1, "thrash_holds"), thrashing ? 1u : 0u);
    assert_in_vram(gpu.vm(), dev_id, a.data(), chunk_2m, "the THP after the GPU job");
    igt_assert_eq(::mprotect(a.at(chunk_2m / 2), chunk_2m / 2, PROT_READ), 0);
}

// A 2 MiB device folio whose PMD an mprotect of its upper half
// split into PTEs; the first CPU fault is on a page of the lower
// VMA that is not the folio's head, so the migration back splits
// the folio under the fault. 7.3's migrate_vma_collect_pmd() kept
// the pre-split fault folio and unlocked the head twice (BUG in
// folio_unlock(); fixed by scripts/kernel/patches/).
void thp_device_folio_split_cpu_fault(const Fixture& fx)
{
    require_device_thp();
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m, Thp::on);
    split_device_folio(gpu, fx.dev_id, a, 10, 101);
    constexpr uint64_t half = chunk_2m / 2;
    const uint64_t word = 16 * page_size / 4 + 3;
    igt_assert_eq(reinterpret_cast<volatile uint32_t*>(a.data())[word],
                  expected_word(10, std::array{101u}, word));
    check_added(a.data(), chunk_2m, 10, {101}, "both VMAs read back by the CPU");
    // The read-only half is still the GPU's to read.
    GpuBuffer out = make_buffer(gpu.vm(), 64 * KiB);
    BatchBuilder b;
    b.copy(out.gpu(), va(a.at(half + 64 * KiB)), 64 * KiB).batch_end();
    run_ok(gpu, b);
    check_added(out.bytes(), 64 * KiB, 10, {101}, "GPU copy of the read-only half",
                (half + 64 * KiB) / 4);
}

// The page a CPU fault on a split-PMD device folio waits on is
// zapped by another thread before the fault splits the folio: 7.3's
// migrate_vma_split_folio() split at the head and then took a
// reference on the fault page's new folio, which the split had
// freed (VM_BUG_ON_FOLIO in folio_get(); fixed by
// scripts/kernel/patches/0002-*). The simgpu core holds the fault
// in its timeslice wait (the folio bounced once before, so the GPU
// holds it), so the zap lands in that window every time; the kernel
// core retries the fault instead, a race.
void thp_device_folio_split_zapped_fault_page(const Fixture& fx)
{
    require_device_thp();
    const auto old_slice = read_param("svm_timeslice_ms");
    igt_require_f(old_slice.has_value(), "no svm_timeslice_ms parameter");
    const ParamRestorer restore("svm_timeslice_ms", *old_slice);
    igt_assert(write_param("svm_timeslice_ms", "1000"));
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m, Thp::on);
    split_device_folio(gpu, fx.dev_id, a, 12, 121, true);
    constexpr uint64_t victim = 16 * page_size;
    std::thread zapper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        ::madvise(a.at(victim), page_size, MADV_DONTNEED);
    });
    // Faults inside the timeslice on the simgpu core; by the time the
    // folio splits, the zapper has discarded the page.
    const uint32_t got = reinterpret_cast<volatile uint32_t*>(a.at(victim))[3];
    zapper.join();
    igt_assert_f(got == 0 || got == expected_word(12, std::array{121u}, victim / 4 + 3),
                 "the zapped page read 0x%x", got);
    igt_assert_eq(reinterpret_cast<volatile uint32_t*>(a.at(victim))[3], 0u);
    check_added(a.data(), victim, 12, {121}, "the lower VMA below the zapped page");
    check_added(a.at(victim + page_size), chunk_2m - victim - page_size, 12, {121},
                "the rest of the folio", (victim + page_size) / 4);
}

// One 2 MiB-aligned block split into three VMAs: read-write,
// read-write-exec, read-only. One job adds over the first two and
// copies across the last two.
void straddle_vmas(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 7);
    constexpr uint64_t rwx = 768 * KiB, ro = 1536 * KiB;
    igt_require_f(::mprotect(a.at(rwx), ro - rwx, PROT_READ | PROT_WRITE | PROT_EXEC) == 0,
                  "mprotect(PROT_EXEC) of anonymous memory failed: %s", std::strerror(errno));
    igt_assert_eq(::mprotect(a.at(ro), chunk_2m - ro, PROT_READ), 0);
    GpuBuffer out = make_buffer(gpu.vm(), 512 * KiB);
    const auto c0 = svm_counters();
    gpu.set_inc(71);
    BatchBuilder b;
    igt_assert(gpu.add_inc(b, a.data(), ro));
    b.copy(out.gpu(), va(a.at(ro - 256 * KiB)), 512 * KiB).batch_end();
    run_ok(gpu, b);
    const auto c1 = svm_counters();
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), ro, "the two writable VMAs");
    const auto pages = query(gpu.vm(), a.at(ro), 256 * KiB);
    for (size_t i = 0; i < pages.size(); ++i)
        igt_assert_f((pages[i] & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_WRITE)) ==
                         DRM_SIMGPU_PAGE_MAPPED,
                     "read-only VMA: page %zu has flags 0x%x", i, pages[i]);
    // Neither writable VMA holds an aligned 2 MiB block: 64 KiB chunks.
    igt_assert_lte((ro / (64 * KiB)), delta(c0, c1, "migrate_to_vram_64K"));
    check_added(out.bytes(), 256 * KiB, 7, {71}, "GPU copy of the read-write-exec end",
                (ro - 256 * KiB) / 4);
    check_words(out.bytes() + 256 * KiB, 256 * KiB, 7, "GPU copy of the read-only start",
                ro / 4);
    check_added(a.data(), ro, 7, {71}, "the writable VMAs read by the CPU");
    check_words(a.at(ro), chunk_2m - ro, 7, "the read-only VMA", ro / 4);
    info_deltas("straddle", c0, c1);
}

void shared_and_file_stay_in_system(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const auto c0 = svm_counters();
    {
        Area a(chunk_2m, Thp::any, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
        fill_words(a.data(), chunk_2m, 8);
        gpu_add(gpu, a.data(), chunk_2m, 81);
        assert_in_system(gpu.vm(), a.data(), chunk_2m, "MAP_SHARED anonymous memory");
        check_added(a.data(), chunk_2m, 8, {81}, "MAP_SHARED anonymous memory");
    }
    {
        const FileFd f(::memfd_create("simgpu-svm-migrate", MFD_CLOEXEC));
        igt_require_f(f.fd >= 0, "memfd_create failed: %s", std::strerror(errno));
        igt_assert_eq(::ftruncate(f.fd, static_cast<off_t>(chunk_2m)), 0);
        Area a(chunk_2m, Thp::any, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd);
        fill_words(a.data(), chunk_2m, 9);
        gpu_add(gpu, a.data(), chunk_2m, 91);
        assert_in_system(gpu.vm(), a.data(), chunk_2m, "a memfd (tmpfs) mapping");
        check_added(a.data(), chunk_2m, 9, {91}, "a memfd (tmpfs) mapping");
        // The GPU's writes are in the file.
        std::vector<uint32_t> back(chunk_2m / 4);
        igt_assert_eq(::pread(f.fd, back.data(), chunk_2m, 0), static_cast<ssize_t>(chunk_2m));
        check_added(back.data(), chunk_2m, 9, {91}, "the memfd's contents");
    }
    const auto c1 = svm_counters();
    igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), 0u);
}

// ---------------------------------------------------------------------------
// PREFETCH.

void prefetch_vram_no_fault(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 10);
    const auto c0 = svm_counters();
    igt_assert_ok(gpu.vm().prefetch(va(a.data()), chunk_2m, DRM_SIMGPU_MEM_VRAM));
    const auto c1 = svm_counters();
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "after PREFETCH to VRAM");
    igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_vram_pages"));
    const auto s0 = stats_counters();
    gpu_add(gpu, a.data(), chunk_2m, 101);
    const auto s1 = stats_counters();
    igt_assert_eq(delta(s0, s1, "faults"), 0u);
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "after the job");
    check_added(a.data(), chunk_2m, 10, {101}, "prefetched memory after the job");
}

void prefetch_system(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_to_vram(gpu, fx.dev_id, a, 11, 111, "after the GPU job");
    const auto c0 = svm_counters();
    igt_assert_ok(gpu.vm().prefetch(va(a.data()), chunk_2m, DRM_SIMGPU_MEM_SYSTEM));
    const auto c1 = svm_counters();
    assert_in_system(gpu.vm(), a.data(), chunk_2m, "after PREFETCH to system memory");
    igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_ram_pages"));
    igt_assert_lte(1u, delta(c0, c1, "migrate_to_ram_chunks"));

    // The GPU reads it where it is, without a fault.
    const auto s0 = stats_counters();
    GpuBuffer out = gpu_read(gpu, a.data(), chunk_2m);
    const auto s1 = stats_counters();
    igt_assert_eq(delta(s0, s1, "faults"), 0u);
    check_added(out.bytes(), chunk_2m, 11, {111}, "GPU read after PREFETCH to system");
    assert_in_system(gpu.vm(), a.data(), chunk_2m, "after the GPU read");
    // The CPU reads it without a migration.
    const auto c2 = svm_counters();
    check_added(a.data(), chunk_2m, 11, {111}, "CPU read after PREFETCH to system");
    const auto c3 = svm_counters();
    igt_assert_eq(delta(c2, c3, "migrate_to_ram_pages"), 0u);
    assert_in_system(gpu.vm(), a.data(), chunk_2m, "after the CPU read");
}

void prefetch_untouched(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m); // never touched
    const auto c0 = svm_counters();
    igt_assert_ok(gpu.vm().prefetch(va(a.data()), chunk_2m, DRM_SIMGPU_MEM_VRAM));
    const auto c1 = svm_counters();
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "untouched memory after PREFETCH");
    igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_vram_pages"));
    const auto s0 = stats_counters();
    GpuBuffer out = gpu_read(gpu, a.data(), chunk_2m);
    const auto s1 = stats_counters();
    igt_assert_eq(delta(s0, s1, "faults"), 0u);
    check_value(out.bytes(), chunk_2m, 0, "GPU read of prefetched untouched memory");
    check_value(a.data(), chunk_2m, 0, "CPU read of prefetched untouched memory");
    // Memory that came back zero works as any other.
    gpu_add(gpu, a.data(), chunk_2m, 121);
    check_added(a.data(), chunk_2m, std::nullopt, {121}, "after a GPU add");
}

// ---------------------------------------------------------------------------
// The CPU address space changes under memory in VRAM.

void munmap_while_in_vram(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const uint64_t base = settled_used_svm();
    constexpr uint64_t size = 8 * MiB;
    Area a(size);
    fill_to_vram(gpu, fx.dev_id, a, 13, 131, "after the GPU job");
    const uint64_t during = used_svm();
    igt_assert_lte(base + size, during);

    std::byte* const p = a.data();
    a.reset(); // munmap with every page in VRAM
    assert_unmapped(gpu.vm(), p, size, "after munmap");
    const uint64_t after = wait_used_svm_at_most(base);
    igt_assert_f(after <= base,
                 "used_svm is %llu 10 s after munmap; %llu before the test, %llu in use",
                 static_cast<unsigned long long>(after), static_cast<unsigned long long>(base),
                 static_cast<unsigned long long>(during));
    // The queue still works.
    Area b(chunk_2m);
    fill_words(b.data(), chunk_2m, 14);
    gpu_add(gpu, b.data(), chunk_2m, 141);
    check_added(b.data(), chunk_2m, 14, {141}, "new memory after the munmap");
}

void partial_munmap_while_in_vram(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_to_vram(gpu, fx.dev_id, a, 15, 151, "after the GPU job");

    constexpr uint64_t hole = 1 * MiB, hole_size = 64 * KiB, rest = hole + hole_size;
    igt_assert_eq(::munmap(a.at(hole), hole_size), 0);
    assert_unmapped(gpu.vm(), a.at(hole), hole_size, "the hole");

    // The GPU reads the rest right.
    GpuBuffer out = make_buffer(gpu.vm(), chunk_2m);
    std::memset(out.bytes(), 0, chunk_2m);
    BatchBuilder b;
    b.copy(out.gpu(), va(a.data()), hole)
        .copy(out.gpu(rest), va(a.at(rest)), chunk_2m - rest)
        .batch_end();
    run_ok(gpu, b);
    check_added(out.bytes(), hole, 15, {151}, "GPU read before the hole");
    check_added(out.bytes() + rest, chunk_2m - rest, 15, {151}, "GPU read after the hole",
                rest / 4);
    // The hole faults, on the exact byte.
    BatchBuilder w;
    w.store_dw(va(a.at(hole + 0x104)), 1).batch_end();
    run_fault(gpu, w, va(a.at(hole + 0x104)));
    // The CPU reads the rest right.
    check_added(a.data(), hole, 15, {151}, "CPU read before the hole");
    check_added(a.at(rest), chunk_2m - rest, 15, {151}, "CPU read after the hole", rest / 4);
    // And the GPU keeps working on it.
    gpu_add(gpu, a.data(), hole, 152);
    check_added(a.data(), hole, 15, {151, 152}, "before the hole after another GPU add");
    check_added(a.at(rest), chunk_2m - rest, 15, {151}, "after the hole, untouched", rest / 4);
}

void fork_while_in_vram(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_to_vram(gpu, fx.dev_id, a, 16, 161, "before fork");

    const Pipe up, down;
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0) {
        // The child reads the parent's data, then writes its own.
        int code = 0;
        const std::array<uint32_t, 1> incs{161};
        if (first_wrong_word(a.data(), chunk_2m, 16, incs) != UINT64_MAX)
            code = 2;
        if (!code) {
            fill_words(a.data(), chunk_2m, 1600);
            if (first_wrong_word(a.data(), chunk_2m, 1600, {}) != UINT64_MAX)
                code = 3;
        }
        char c = 0;
        if (!up.send(code ? 'f' : 'w') || !down.recv(&c, 120000))
            code = code ? code : 4;
        ::_exit(code);
    }
    char c = 0;
    const bool got = up.recv(&c, 120000);
    if (!got || c != 'w') {
        assert_child_ok(pid, 60000, "child reading and writing after fork");
        igt_fail("the child did not report");
    }
    // The child's writes are its own: the parent's GPU reads the
    // parent's data while the child is still there.
    GpuBuffer out = gpu_read(gpu, a.data(), chunk_2m);
    check_added(out.bytes(), chunk_2m, 16, {161}, "parent's GPU read after the child wrote");
    igt_assert(down.send('x'));
    assert_child_ok(pid, 60000, "child reading and writing after fork");
    check_added(a.data(), chunk_2m, 16, {161}, "parent's CPU read after the child wrote");
    gpu_add(gpu, a.data(), chunk_2m, 162);
    check_added(a.data(), chunk_2m, 16, {161, 162}, "parent after another GPU add");
}

void mprotect_while_in_vram(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_to_vram(gpu, fx.dev_id, a, 17, 171, "before mprotect");

    igt_assert_eq(::mprotect(a.data(), chunk_2m, PROT_READ), 0);
    // A GPU write fails on the exact byte and changes nothing.
    BatchBuilder w;
    w.store_dw(va(a.at(0x12344)), 0xdeadu).batch_end();
    run_fault(gpu, w, va(a.at(0x12344)));
    // A GPU read works.
    GpuBuffer out = gpu_read(gpu, a.data(), chunk_2m);
    check_added(out.bytes(), chunk_2m, 17, {171}, "GPU read of read-only memory");
    // The CPU reads the data.
    check_added(a.data(), chunk_2m, 17, {171}, "CPU read of read-only memory");
    // The GPU reads it again where it is now.
    GpuBuffer again = gpu_read(gpu, a.data(), chunk_2m);
    check_added(again.bytes(), chunk_2m, 17, {171}, "GPU read after the CPU read");
    const auto pages = query(gpu.vm(), a.data(), chunk_2m);
    for (size_t i = 0; i < pages.size(); ++i)
        igt_assert_f((pages[i] & DRM_SIMGPU_PAGE_WRITE) == 0,
                     "read-only memory: page %zu is mapped writable (0x%x)", i, pages[i]);
    // Write permission comes back with the CPU's (wherever the pages
    // the GPU read are now).
    igt_assert_eq(::mprotect(a.data(), chunk_2m, PROT_READ | PROT_WRITE), 0);
    gpu_add(gpu, a.data(), chunk_2m, 172);
    check_added(a.data(), chunk_2m, 17, {171, 172}, "after the GPU add once writable");
}

// What the children of exit-while-in-vram and cpu-fault-wait-killable
// start with: their own fd, VM and queue on the first device, and @size
// bytes of memory at @p filled from @seed. No igt macro: the child exits
// with 10 without a device, 11 when the GPU cannot be set up, 12 without
// the memory.
struct ChildGpu {
    simgpu::Result<std::vector<simgpu::Device>> found = simgpu::Device::enumerate();
    SvmGpu gpu;
    std::byte* p = nullptr;

    ChildGpu(uint64_t size, uint32_t seed)
    {
        if (!found.ok() || found.value().empty())
            ::_exit(10);
        if (gpu.init(found.value().front()) != 0)
            ::_exit(11);
        p = map_aligned(size);
        if (!p)
            ::_exit(12);
        fill_words(p, size, seed);
    }
};

// exit-while-in-vram's child: migrates @size bytes and exits without
// cleaning anything up. Exit codes name the step that failed.
[[noreturn]] void exit_child(const Pipe& up, const Pipe& down, uint64_t size)
{
    ChildGpu child(size, 16);
    SvmGpu& gpu = child.gpu;
    std::byte* const p = child.p;
    gpu.set_inc(161);
    for (uint64_t off = 0; off < size; off += 4 * MiB) {
        BatchBuilder b;
        if (!gpu.add_inc(b, p + off, std::min(4 * MiB, size - off)))
            ::_exit(13);
        b.batch_end();
        if (const int err = gpu.run(b); err != 0) {
            std::fprintf(stderr, "child %d: job failed: %s\n", ::getpid(), std::strerror(-err));
            ::_exit(14);
        }
    }
    auto pages = gpu.vm().query_range(va(p), size / page_size);
    if (!pages.ok())
        ::_exit(15);
    if (count_vram(pages.value()) != size / page_size) {
        std::fprintf(stderr, "child %d: %llu of %llu pages in VRAM\n", ::getpid(),
                     static_cast<unsigned long long>(count_vram(pages.value())),
                     static_cast<unsigned long long>(size / page_size));
        ::_exit(16);
    }
    char c = 0;
    if (!up.send('m') || !down.recv(&c, 120000))
        ::_exit(17);
    ::_exit(0); // the memory, the VM, the queue and the fd are left to exit
}

void exit_while_in_vram(const Fixture& /*fx*/)
{
    constexpr uint64_t size = 8 * MiB;
    const uint64_t base = settled_used_svm();
    const uint64_t used_before = vram_counters().at("used");
    const Pipe up, down;
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0)
        exit_child(up, down, size);
    char c = 0;
    const bool migrated = up.recv(&c, 240000);
    if (!migrated) {
        assert_child_ok(pid, 60000, "child migrating 8 MiB");
        igt_fail("the child did not report");
    }
    const uint64_t during = used_svm();
    igt_assert(down.send('x'));
    assert_child_ok(pid, 60000, "child migrating 8 MiB");
    igt_assert_lte(base + size, during);
    const uint64_t after = wait_used_svm_at_most(base);
    igt_assert_f(after <= base,
                 "used_svm is %llu 10 s after the child exited; %llu before, %llu while it "
                 "ran",
                 static_cast<unsigned long long>(after), static_cast<unsigned long long>(base),
                 static_cast<unsigned long long>(during));
    const uint64_t used_after = vram_counters().at("used");
    igt_assert_lte(used_after, used_before);
}

// cpu-fault-wait-killable's child: migrates 2 MiB to VRAM with a GPU job,
// reads it back (the range has bounced: the next migration holds the VRAM)
// and migrates it again, writes the time it did so to @when, tells the
// parent, then reads the memory: a CPU fault that waits out the GPU's
// timeslice.
[[noreturn]] void waiting_child(const Pipe& up, volatile int64_t* when)
{
    ChildGpu child(chunk_2m, 5);
    SvmGpu& gpu = child.gpu;
    std::byte* const p = child.p;
    BatchBuilder b;
    if (!gpu.add_inc(b, p, chunk_2m))
        ::_exit(13);
    b.batch_end();
    for (int trip = 0; trip < 2; ++trip) {
        if (trip)
            for (uint64_t off = 0; off < chunk_2m; off += page_size)
                (void)*reinterpret_cast<volatile uint32_t*>(p + off);
        if (gpu.run(b) != 0)
            ::_exit(14);
    }
    *when = now_ns();
    if (!up.send('m'))
        ::_exit(15);
    // Touch every page until killed.
    for (;;)
        for (uint64_t off = 0; off < chunk_2m; off += page_size)
            (void)*reinterpret_cast<volatile uint32_t*>(p + off);
}

// A CPU fault on memory a GPU job just moved back to VRAM (after the CPU
// took it once: thrashing) waits out the GPU's timeslice
// (svm_timeslice_ms, at most 1000): SIGKILL must end the wait, not the
// timeslice.
void cpu_fault_wait_killable(const Fixture& /*fx*/)
{
    constexpr int64_t timeslice_ms = 1000;
    const auto old = read_param("svm_timeslice_ms");
    igt_require_f(old.has_value(), "no svm_timeslice_ms parameter");
    const ParamRestorer restore("svm_timeslice_ms", *old);
    igt_assert(write_param("svm_timeslice_ms", std::to_string(timeslice_ms)));
    auto* when = static_cast<int64_t*>(::mmap(nullptr, page_size, PROT_READ | PROT_WRITE,
                                              MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    igt_assert(when != MAP_FAILED);
    const Pipe up;
    const auto c0 = svm_counters();
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0)
        waiting_child(up, when);
    char c = 0;
    if (!up.recv(&c, 120000)) {
        assert_child_ok(pid, 60000, "child migrating 2 MiB");
        igt_fail("the child did not report");
    }
    // The child's second migration holds the VRAM for the timeslice.
    igt_assert_lte(1u, delta(c0, svm_counters(), "thrash_holds"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    igt_assert_eq(::kill(pid, SIGKILL), 0);
    int status = 0;
    igt_assert_eq(::waitpid(pid, &status, 0), pid);
    const int64_t reaped_ms = (now_ns() - *static_cast<volatile int64_t*>(when)) / 1000000;
    ::munmap(when, page_size);
    igt_info("child killed and reaped %lld ms after its GPU job moved the memory\n",
             static_cast<long long>(reaped_ms));
    igt_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    igt_assert_f(reaped_ms < timeslice_ms * 9 / 10,
                 "the child died %lld ms after the migration: its CPU fault sat out the "
                 "%lld ms timeslice through SIGKILL",
                 static_cast<long long>(reaped_ms), static_cast<long long>(timeslice_ms));
}

// ---------------------------------------------------------------------------
// Concurrency and odd memory.

void concurrent_cpu_faults(const Fixture& fx)
{
    constexpr int num_threads = 8;
    constexpr int rounds = 4;
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 20);
    std::vector<uint32_t> shadow(a.words(), a.words() + chunk_2m / 4);
    const auto c0 = svm_counters();
    for (int r = 0; r < rounds; ++r) {
        const uint32_t inc = 200 + r;
        gpu_turn(gpu, fx.dev_id, a, r, inc, "before the CPU threads");
        for (uint64_t i = 0; i < shadow.size(); ++i)
            shadow[i] += SvmGpu::inc_value(inc, i);

        // Each thread starts in its own page of the chunk, all at once,
        // and reads all of it.
        std::atomic<int> ready{0};
        std::atomic<bool> go{false};
        std::atomic<uint64_t> wrong{0};
        std::vector<std::thread> threads;
        const auto* w = reinterpret_cast<const volatile uint32_t*>(a.data());
        const uint64_t n = shadow.size();
        for (int k = 0; k < num_threads; ++k)
            threads.emplace_back([&, k] {
                ++ready;
                while (!go.load())
                    std::this_thread::yield();
                const uint64_t start = static_cast<uint64_t>(k) * (n / num_threads) +
                                       static_cast<uint64_t>(k) * 1031;
                uint64_t bad = 0;
                for (uint64_t j = 0; j < n; ++j) {
                    const uint64_t i = (start + j) % n;
                    bad += w[i] != shadow[i];
                }
                wrong += bad;
            });
        while (ready.load() < num_threads)
            std::this_thread::yield();
        go = true;
        for (auto& th : threads)
            th.join();
        igt_assert_f(wrong.load() == 0, "round %d: %llu wrong words read by the threads", r,
                     static_cast<unsigned long long>(wrong.load()));
        assert_not_in_vram(gpu.vm(), a.data(), chunk_2m, "after the CPU threads");
    }
    const auto c1 = svm_counters();
    igt_assert_lte(rounds * chunk_pages, delta(c0, c1, "migrate_to_ram_pages"));
    info_deltas("concurrent CPU faults", c0, c1);
}

// stack-migrates runs stack_body() on a thread with a big stack.
struct StackWork {
    SvmGpu* gpu = nullptr;
    uint32_t device_id = 0;
    std::exception_ptr error;
};

[[gnu::noinline]] void stack_body(StackWork& work)
{
    // 6 MiB of this thread's stack: the 2 MiB-aligned block inside it holds
    // nothing else, no live frame in particular.
    std::array<std::byte, 6 * MiB> buf;
    std::byte* p = buf.data() + (round_up(va(buf.data()), chunk_2m) - va(buf.data()));
    fill_words(p, chunk_2m, 18);
    gpu_add(*work.gpu, p, chunk_2m, 181);
    assert_in_vram(work.gpu->vm(), work.device_id, p, chunk_2m,
                   "a 2 MiB block of a thread's stack");
    check_added(p, chunk_2m, 18, {181}, "the stack block after the GPU job");
    // Also a small piece of the stack right below the live frames' side
    // of the buffer, whatever chunk it lands in.
    std::byte* top = buf.data() + buf.size() - 64 * KiB;
    fill_words(top, 64 * KiB, 19);
    gpu_add(*work.gpu, top, 64 * KiB, 191);
    check_added(top, 64 * KiB, 19, {191}, "the top of the stack buffer");
    // Again: what came back migrates again.
    gpu_add(*work.gpu, p, chunk_2m, 182);
    assert_in_vram(work.gpu->vm(), work.device_id, p, chunk_2m, "the stack block, second time");
    check_added(p, chunk_2m, 18, {181, 182}, "the stack block after the second GPU job");
    asm volatile("" : : "r"(buf.data()) : "memory");
}

void* stack_thread(void* arg)
{
    auto* work = static_cast<StackWork*>(arg);
    // Carried to the test's thread, which rethrows it.
    try {
        stack_body(*work);
    } catch (...) {
        work->error = std::current_exception();
    }
    return nullptr;
}

void stack_migrates(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    StackWork work;
    work.gpu = &gpu;
    work.device_id = fx.dev_id;
    pthread_attr_t attr;
    igt_assert_eq(::pthread_attr_init(&attr), 0);
    igt_assert_eq(::pthread_attr_setstacksize(&attr, 32 * MiB), 0);
    pthread_t thread;
    const int err = ::pthread_create(&thread, &attr, stack_thread, &work);
    ::pthread_attr_destroy(&attr);
    igt_assert_f(err == 0, "pthread_create with a 32 MiB stack: %s", std::strerror(err));
    igt_assert_eq(::pthread_join(thread, nullptr), 0);
    if (work.error)
        std::rethrow_exception(work.error);
}

using Case = igt::Case<const Fixture&>;

// Every subtest, in the order they run.
constexpr Case cases[] = {
    {"first-touch-migrates",
     "a GPU fault moves its whole 2 MiB chunk to VRAM, mapped huge; a CPU read brings it back",
     first_touch_migrates},
    {"cpu-read-migrates-back",
     "a CPU read of one word brings its whole chunk back from VRAM at once, every word intact",
     cpu_read_migrates_back},
    {"ping-pong",
     "50 rounds of GPU adds and CPU writes move a chunk to VRAM and back with every word exact",
     ping_pong},
    {"hold-only-when-thrashing",
     "a first migration to VRAM holds nothing for the GPU; once the CPU has taken the range "
     "back, each next migration holds it a timeslice",
     hold_only_when_thrashing},
    {"never-touched-zero-fill",
     "memory the CPU never touched reaches VRAM as zeros but for the GPU's stores",
     never_touched_zero_fill},
    {"partially-populated",
     "a partly written chunk migrates whole: written pages keep their data, the rest read zero",
     partially_populated},
    {"thp-backed",
     "a THP migrates to VRAM as a 2 MiB mapping, comes back on a CPU read and migrates again",
     thp_backed},
    {"thp-device-folio",
     "a THP moves to VRAM and back as one device folio; an untouched aligned 2 MiB goes as one",
     thp_device_folio},
    {"thp-device-folio-off",
     "with svm_device_thp off a THP moves to VRAM and back as 512 device pages",
     thp_device_folio_off},
    {"thp-device-folio-split-cpu-fault",
     "a CPU fault on a tail page of a device folio with a split PMD brings both VMAs back",
     thp_device_folio_split_cpu_fault},
    {"thp-device-folio-split-zapped-fault-page",
     "a CPU fault on a split device folio whose page is zapped meanwhile: zeros there only",
     thp_device_folio_split_zapped_fault_page},
    {"straddle-vmas",
     "a job across three VMAs migrates the writable two in 64 KiB chunks, the read-only one not",
     straddle_vmas},
    {"shared-and-file-stay-in-system",
     "MAP_SHARED anonymous memory and a memfd stay in system memory with the GPU's writes",
     shared_and_file_stay_in_system},
    {"prefetch-vram-no-fault",
     "PREFETCH to VRAM migrates a chunk ahead of a job, which then runs without a GPU fault",
     prefetch_vram_no_fault},
    {"prefetch-system",
     "PREFETCH to system memory brings a chunk back, where the GPU and the CPU read it in place",
     prefetch_system},
    {"prefetch-untouched",
     "PREFETCH to VRAM zero-fills untouched memory, which then works as any other",
     prefetch_untouched},
    {"munmap-while-in-vram",
     "munmap of 8 MiB in VRAM unmaps it from the GPU and frees its VRAM; the queue still works",
     munmap_while_in_vram},
    {"partial-munmap-while-in-vram",
     "a hole unmapped in a chunk in VRAM faults on the exact byte; the rest reads right",
     partial_munmap_while_in_vram},
    {"fork-while-in-vram",
     "a child forked with a chunk in VRAM reads the parent's data and writes only its own copy",
     fork_while_in_vram},
    {"mprotect-while-in-vram",
     "a read-only chunk in VRAM faults GPU writes on the exact byte and still reads right",
     mprotect_while_in_vram},
    {"exit-while-in-vram",
     "a process that exits with 8 MiB in VRAM, cleaning nothing up, gives all that VRAM back",
     exit_while_in_vram},
    {"cpu-fault-wait-killable",
     "SIGKILL ends a CPU fault waiting out the GPU's timeslice on memory a job just moved",
     cpu_fault_wait_killable},
    {"concurrent-cpu-faults",
     "8 threads faulting on a chunk in VRAM at once bring it back and read every word right",
     concurrent_cpu_faults},
    {"stack-migrates",
     "2 MiB of a thread's stack migrates to VRAM and back twice with its data intact",
     stack_migrates},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    t.set_timeout(std::chrono::seconds(300));
    Fixture fx;

    t.fixture([&] {
        fx.env.emplace(open_env());
        require_vram_migration(*fx.env);
        fx.dev_id = fx.env->info.device_id;
    });

    igt::add_cases(t, cases, [&]() -> const Fixture& { return fx; });

    return t.exit_code();
}
