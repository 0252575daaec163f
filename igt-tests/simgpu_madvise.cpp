// SPDX-License-Identifier: MIT
//
// simgpu_madvise: memory attributes of mirrored memory
// (DRM_IOCTL_SIMGPU_VM_MADVISE, DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS). Checks the
// argument rules and errno values, the span lists QUERY_ATTRS reports as
// attributes split and merge, their reset when the process unmaps the
// memory, and what each attribute does to GPU faults: where the pages end
// up (VM_QUERY_RANGE), the migration and exclusive-page counters of debugfs,
// the data, and the outcome of GPU atomics, alone and racing CPU atomics on
// the same counters (small pages and THPs).
//
// Subtests that need VRAM migration (LOC_DEVICE, ATOMIC_DEVICE's
// migration, or a placement to tell apart) skip without
// DRM_SIMGPU_CAP_VRAM_MIGRATION, those of page-holding atomics
// (ATOMIC_GLOBAL) without DRM_SIMGPU_CAP_ATOMIC_HOLD; the others run on
// both kernels. Jobs keep
// their batches and fences in buffer objects (SvmGpu), so the GPU touches
// no SVM memory but the memory under test.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
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
constexpr uint32_t attr_loc = DRM_SIMGPU_MADV_PREFERRED_LOC;
constexpr uint32_t attr_migration = DRM_SIMGPU_MADV_MIGRATION;
constexpr uint32_t attr_atomic = DRM_SIMGPU_MADV_ATOMIC;
constexpr uint32_t attr_read_mostly = DRM_SIMGPU_MADV_READ_MOSTLY;
constexpr uint64_t va_bits_limit = uint64_t{1} << 48;

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// ---------------------------------------------------------------------------
// Attributes and the spans QUERY_ATTRS reports.

struct Attrs {
    uint32_t loc = DRM_SIMGPU_MADV_LOC_DEFAULT;
    uint32_t device = 0;
    uint32_t migration = DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES;
    uint32_t atomic = DRM_SIMGPU_MADV_ATOMIC_DEFAULT;
    uint32_t read_mostly = 0;

    bool operator==(const Attrs&) const = default;
};

struct Span {
    uint64_t start = 0;
    uint64_t end = 0;
    Attrs attrs;

    bool operator==(const Span&) const = default;
};

Span span_of(const drm_simgpu_vm_attr& a)
{
    return {a.start, a.end, {a.preferred_loc, a.preferred_device, a.migration, a.atomic, a.read_mostly}};
}

std::string describe(const Span& s, uint64_t base)
{
    static const char* const locs[] = {"default", "system", "device"};
    static const char* const atomics[] = {"default", "device", "global", "cpu"};
    const auto name = [](const char* const* names, size_t n, uint32_t v) {
        return v < n ? std::string(names[v]) : std::string("?").append(std::to_string(v));
    };
    const auto off = [&](uint64_t a) {
        char buf[48];
        if (a >= base)
            std::snprintf(buf, sizeof(buf), "+0x%" PRIx64, a - base);
        else
            std::snprintf(buf, sizeof(buf), "-0x%" PRIx64, base - a);
        return std::string(buf);
    };
    const char* migration = s.attrs.migration == DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES      ? "all"
                            : s.attrs.migration == DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES ? "system"
                                                                                         : "?";
    char buf[256];
    std::snprintf(buf, sizeof(buf), "[%s, %s) loc %s device %u migration %s atomic %s read_mostly %u",
                  off(s.start).c_str(), off(s.end).c_str(), name(locs, 3, s.attrs.loc).c_str(),
                  s.attrs.device, migration, name(atomics, 4, s.attrs.atomic).c_str(),
                  s.attrs.read_mostly);
    return buf;
}

std::string describe(const std::vector<Span>& spans, uint64_t base)
{
    std::string out;
    for (const auto& s : spans)
        out += "\n    " + describe(s, base);
    return out.empty() ? "\n    (none)" : out;
}

// What the attributes of every page of [start, end) should be: the model
// the kernel's spans are compared with.
class AttrMap {
public:
    AttrMap(uint64_t start, uint64_t end) : start_(start), pages_((end - start) / page_size) {}

    // As MADVISE(@attr, @value) would; @device is the preferred device of
    // LOC_DEVICE.
    void set(uint64_t start, uint64_t range, uint32_t attr, uint32_t value, uint32_t device = 0)
    {
        igt_assert(start >= start_ && start + range <= start_ + pages_.size() * page_size);
        for (uint64_t p = (start - start_) / page_size; p < (start + range - start_) / page_size;
             ++p) {
            Attrs& a = pages_[p];
            switch (attr) {
            case DRM_SIMGPU_MADV_PREFERRED_LOC:
                a.loc = value;
                a.device = value == DRM_SIMGPU_MADV_LOC_DEVICE ? device : 0;
                break;
            case DRM_SIMGPU_MADV_MIGRATION:
                a.migration = value;
                break;
            case DRM_SIMGPU_MADV_ATOMIC:
                a.atomic = value;
                break;
            default:
                a.read_mostly = value;
                break;
            }
        }
    }

    void reset(uint64_t start, uint64_t range)
    {
        for (uint64_t p = (start - start_) / page_size; p < (start + range - start_) / page_size;
             ++p)
            pages_[p] = Attrs{};
    }

    // The spans of [@start, @end): maximal runs of equal attributes.
    std::vector<Span> spans(uint64_t start, uint64_t end) const
    {
        std::vector<Span> out;
        for (uint64_t a = start; a < end; a += page_size) {
            const Attrs& at = pages_[(a - start_) / page_size];
            if (!out.empty() && out.back().attrs == at)
                out.back().end = a + page_size;
            else
                out.push_back({a, a + page_size, at});
        }
        return out;
    }

private:
    uint64_t start_;
    std::vector<Attrs> pages_;
};

// QUERY_ATTRS of [@start, @end) through the library, checked for the
// shape the uAPI promises: spans cover the query exactly, in order,
// adjacent spans differ, pad is 0 and preferred_device is 0 unless the
// location is a device.
std::vector<Span> query_spans(const Vm& vm, uint64_t start, uint64_t end)
{
    auto r = vm.query_attrs(start, end - start);
    igt_assert_ok(r);
    std::vector<Span> spans;
    uint64_t at = start;
    for (const auto& a : r.value()) {
        igt_assert_f(a.start == at && a.end > a.start && a.end <= end,
                     "span [0x%llx, 0x%llx) does not continue at 0x%llx within [0x%llx, 0x%llx)",
                     static_cast<unsigned long long>(a.start),
                     static_cast<unsigned long long>(a.end), static_cast<unsigned long long>(at),
                     static_cast<unsigned long long>(start), static_cast<unsigned long long>(end));
        igt_assert_eq(a.pad, 0u);
        if (a.preferred_loc != DRM_SIMGPU_MADV_LOC_DEVICE)
            igt_assert_eq(a.preferred_device, 0u);
        spans.push_back(span_of(a));
        if (spans.size() > 1)
            igt_assert_f(!(spans[spans.size() - 2].attrs == spans.back().attrs),
                         "adjacent spans with equal attributes:%s",
                         describe(spans, start).c_str());
        at = a.end;
    }
    igt_assert_f(at == end, "the spans end at 0x%llx, the query at 0x%llx:%s",
                 static_cast<unsigned long long>(at), static_cast<unsigned long long>(end),
                 describe(spans, start).c_str());
    return spans;
}

void check_spans(const Vm& vm, uint64_t start, uint64_t end, const std::vector<Span>& want,
                 const char* what, uint64_t base = 0)
{
    base = base ? base : start;
    const auto got = query_spans(vm, start, end);
    igt_assert_f(got == want, "%s: QUERY_ATTRS reports%s\n  expected%s", what,
                 describe(got, base).c_str(), describe(want, base).c_str());
}

void check_model(const Vm& vm, const AttrMap& model, uint64_t start, uint64_t end,
                 const char* what, uint64_t base = 0)
{
    check_spans(vm, start, end, model.spans(start, end), what, base);
}

// Polls QUERY_ATTRS until it reports @want (the reset of unmapped memory
// runs from a worker) or @timeout_ms passed; then asserts it.
void wait_spans(const Vm& vm, uint64_t start, uint64_t end, const std::vector<Span>& want,
                const char* what, uint64_t base, int timeout_ms = 5000)
{
    const int64_t deadline = now_ns() + int64_t{timeout_ms} * ms_ns;
    const int64_t t0 = now_ns();
    while (now_ns() < deadline) {
        auto r = vm.query_attrs(start, end - start);
        igt_assert_ok(r);
        std::vector<Span> got;
        for (const auto& a : r.value())
            got.push_back(span_of(a));
        if (got == want) {
            igt_info("%s: after %.1f ms\n", what, elapsed_ms(t0));
            break;
        }
        sleep_ms(10);
    }
    check_spans(vm, start, end, want, what, base);
}

// One span of default attributes.
std::vector<Span> defaults(uint64_t start, uint64_t end)
{
    return {{start, end, Attrs{}}};
}

// MADVISE, asserting success, and the same change in @model.
void advise(const Vm& vm, AttrMap& model, uint64_t start, uint64_t range, uint32_t attr,
            uint32_t value, int32_t fd = 0, uint32_t device = 0)
{
    igt_assert_ok(vm.madvise(start, range, attr, value, fd));
    model.set(start, range, attr, value, device);
}

// MADVISE(ATOMIC, @atomic) of all of @a, asserting success.
void advise_atomic(const Vm& vm, const Area& a, uint32_t atomic)
{
    igt_assert_ok(vm.madvise(va(a.data()), a.size(), attr_atomic, atomic));
}

// ---------------------------------------------------------------------------
// Placement and counters.

uint32_t page_flags(const Vm& vm, const void* p)
{
    return query(vm, p, 1).at(0);
}

// The simgpu_svm counters with exclusive_pages too.
Counters svm_counters_x()
{
    auto c = svm_counters();
    igt_assert_f(c.count("exclusive_pages"), "simgpu_svm has no exclusive_pages line");
    return c;
}

// Debugfs counters when they can be read (for subtests that run without
// debugfs too): nullopt otherwise.
std::optional<Counters> maybe_counters(const char* file)
{
    return read_debugfs_counters(file);
}

uint64_t maybe_delta(const std::optional<Counters>& a, const std::optional<Counters>& b,
                     const char* key)
{
    if (!a || !b || !a->count(key) || !b->count(key))
        return 0;
    return b->at(key) - a->at(key);
}

// The qword at byte @offset of memory filled with the pattern of @seed.
uint64_t pattern_qword(uint32_t seed, uint64_t offset)
{
    return uint64_t{pattern(seed, offset / 4)} | uint64_t{pattern(seed, offset / 4 + 1)} << 32;
}

// The qword at byte @offset of memory filled with the pattern of @seed
// after the GPU added the increments of each of @incs (32-bit words, each
// wrapping on its own).
uint64_t added_qword(uint32_t seed, std::initializer_list<uint32_t> incs, uint64_t offset)
{
    const std::span<const uint32_t> s(incs.begin(), incs.size());
    return uint64_t{expected_word(seed, s, offset / 4)} |
           uint64_t{expected_word(seed, s, offset / 4 + 1)} << 32;
}

uint64_t load_qword(const void* p)
{
    return *static_cast<const volatile uint64_t*>(p);
}

// A GPU atomic ADD of @operand to the qword at @p; returns the old value
// the GPU saw.
uint64_t gpu_atomic_add(SvmGpu& gpu, void* p, uint64_t operand)
{
    GpuBuffer ret = make_buffer(gpu.vm(), page_size);
    std::memset(ret.bytes(), 0xa5, page_size);
    BatchBuilder b;
    b.atomic(DRM_SIMGPU_ATOMIC_ADD, va(p), operand, 0, ret.gpu()).batch_end();
    run_ok(gpu, b);
    return *ret.as<uint64_t>();
}

// A GPU atomic on the qword (or dword) at @p fails the job with -EFAULT
// there, and leaves the memory alone.
void gpu_atomic_faults(SvmGpu& gpu, void* p, uint32_t op = DRM_SIMGPU_ATOMIC_ADD,
                       bool dword = false)
{
    const uint64_t before = dword ? *static_cast<volatile uint32_t*>(p) : load_qword(p);
    BatchBuilder b;
    b.atomic(op, va(p), 5, 0, 0, dword).batch_end();
    run_fault(gpu, b, va(p));
    const uint64_t after = dword ? *static_cast<volatile uint32_t*>(p) : load_qword(p);
    igt_assert_eq(after, before);
}

// ---------------------------------------------------------------------------
// Concurrent CPU and GPU atomics on one array of 64-bit counters.

// Stops and joins a thread however the scope is left (an assertion
// throws; a joinable std::thread would terminate the process).
struct StopJoin {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~StopJoin()
    {
        stop.store(true);
        if (thread.joinable())
            thread.join();
    }
};

struct ConcurrentSetup {
    std::optional<uint32_t> atomic; // MADVISE(ATOMIC) value, or none
    Thp thp = Thp::off;
    bool require_thp = false; // skip unless the buffer is PMD-mapped THP
};

// A CPU thread increments every counter once per round (__atomic_fetch_add)
// until the GPU is done, while the GPU runs jobs of ATOMIC INC and ADD on
// the same counters; then every counter must hold exactly the sum of both.
// The 64 counters are 32 KiB apart in one 2 MiB-aligned, 2 MiB anonymous
// buffer, one in each of 64 pages across the whole chunk. The GPU runs at
// least min_jobs jobs and goes on until the CPU thread did min_rounds
// rounds meanwhile, or for about busy_ms: cheap configurations (atomics in
// place) overlap for long enough, costly ones (every fault migrates or
// takes exclusive the whole chunk) stay within a few seconds. The CPU
// thread pauses between rounds so that the GPU gets to run between its
// faults, and each job finishes well within the job timeout of a slow
// guest.
void concurrent_atomics(const Env& env, const ConcurrentSetup& setup)
{
    constexpr uint64_t num_counters = 64;
    constexpr uint64_t stride = chunk_2m / num_counters;
    constexpr int min_jobs = 4;
    constexpr int max_jobs = 256;
    constexpr int per_job = 96;
    constexpr uint64_t min_rounds = 64;
    constexpr double busy_ms = 2000;
    constexpr auto pause = std::chrono::microseconds(1000);

    SvmGpu gpu;
    start_gpu(gpu, env);
    Area a(chunk_2m, setup.thp);
    std::memset(a.data(), 0, chunk_2m); // the CPU faults it all in
    const uint64_t huge_kb = anon_huge_kb(a.data());
    if (setup.require_thp)
        igt_require_f(huge_kb >= chunk_2m / KiB,
                      "the kernel did not back the 2 MiB buffer with a THP (AnonHugePages %llu "
                      "kB)",
                      static_cast<unsigned long long>(huge_kb));
    if (setup.atomic)
        advise_atomic(gpu.vm(), a, *setup.atomic);

    const auto counter = [&](uint64_t i) { return reinterpret_cast<uint64_t*>(a.at(i * stride)); };
    std::vector<uint64_t> gpu_adds(num_counters, 0);
    // Job @j's atomics, counted in gpu_adds.
    const auto make_batch = [&](int j) {
        BatchBuilder b;
        for (int k = 0; k < per_job; ++k) {
            const uint64_t i = (static_cast<uint64_t>(j) * 13 + static_cast<uint64_t>(k) * 7) %
                               num_counters;
            if (k % 2 == 0) {
                b.atomic(DRM_SIMGPU_ATOMIC_INC, va(counter(i)), 0);
                gpu_adds[i] += 1;
            } else {
                const uint64_t operand = 2 + static_cast<uint64_t>(k % 5);
                b.atomic(DRM_SIMGPU_ATOMIC_ADD, va(counter(i)), operand);
                gpu_adds[i] += operand;
            }
        }
        b.batch_end();
        return b;
    };

    const auto c0 = maybe_counters("simgpu_svm");
    const auto s0 = maybe_counters("simgpu_stats");
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> rounds{0};
    std::thread cpu([&] {
        while (!stop.load()) {
            for (uint64_t i = 0; i < num_counters; ++i)
                __atomic_fetch_add(counter(i), 1, __ATOMIC_SEQ_CST);
            rounds.fetch_add(1);
            std::this_thread::sleep_for(pause);
        }
    });
    {
        const StopJoin join{stop, cpu};
        while (rounds.load() == 0)
            std::this_thread::yield();
        const uint64_t rounds_before = rounds.load();
        const int64_t t0 = now_ns();
        std::vector<double> job_ms;
        for (int j = 0; j < max_jobs; ++j) {
            if (j >= min_jobs &&
                (rounds.load() - rounds_before >= min_rounds || elapsed_ms(t0) >= busy_ms))
                break;
            const BatchBuilder b = make_batch(j);
            const int64_t tj = now_ns();
            run_ok(gpu, b);
            job_ms.push_back(elapsed_ms(tj));
        }
        const uint64_t rounds_during = rounds.load() - rounds_before;
        const double gpu_ms = elapsed_ms(t0);
        stop.store(true);
        cpu.join();
        std::string each;
        for (const double ms : job_ms)
            each.append(" ").append(std::to_string(static_cast<int>(ms)));
        igt_info("%zu GPU jobs of %d atomics in %.0f ms (each, ms:%s) against %llu CPU "
                 "rounds of %llu increments\n",
                 job_ms.size(), per_job, gpu_ms, each.c_str(),
                 static_cast<unsigned long long>(rounds_during),
                 static_cast<unsigned long long>(num_counters));
        igt_assert_f(rounds_during > 0, "the CPU thread made no progress while the GPU ran");
    }
    const auto c1 = maybe_counters("simgpu_svm");
    const auto s1 = maybe_counters("simgpu_stats");

    const uint64_t cpu_rounds = rounds.load();
    uint64_t wrong = 0;
    uint64_t first = num_counters;
    for (uint64_t i = 0; i < num_counters; ++i)
        if (load_qword(counter(i)) != cpu_rounds + gpu_adds[i] && wrong++ == 0)
            first = i;
    igt_assert_f(wrong == 0,
                 "%llu of %llu counters wrong; counter %llu is %llu, expected %llu (%llu CPU "
                 "increments + %llu from the GPU)",
                 static_cast<unsigned long long>(wrong),
                 static_cast<unsigned long long>(num_counters),
                 static_cast<unsigned long long>(first),
                 static_cast<unsigned long long>(wrong ? load_qword(counter(first)) : 0),
                 static_cast<unsigned long long>(wrong ? cpu_rounds + gpu_adds[first] : 0),
                 static_cast<unsigned long long>(cpu_rounds),
                 static_cast<unsigned long long>(wrong ? gpu_adds[first] : 0));
    // The GPU sees the same totals.
    GpuBuffer out = make_buffer(gpu.vm(), num_counters * 8);
    BatchBuilder b;
    for (uint64_t i = 0; i < num_counters; ++i)
        b.copy(out.gpu(i * 8), va(counter(i)), 8);
    b.batch_end();
    run_ok(gpu, b);
    for (uint64_t i = 0; i < num_counters; ++i)
        igt_assert_f(out.as<uint64_t>()[i] == cpu_rounds + gpu_adds[i],
                     "GPU read of counter %llu: %llu, expected %llu",
                     static_cast<unsigned long long>(i),
                     static_cast<unsigned long long>(out.as<uint64_t>()[i]),
                     static_cast<unsigned long long>(cpu_rounds + gpu_adds[i]));

    igt_info("faults %llu, migrate_to_vram_pages %llu, migrate_to_ram_pages %llu, "
             "exclusive_pages %llu; AnonHugePages %llu kB before, %llu kB after\n",
             static_cast<unsigned long long>(maybe_delta(s0, s1, "faults")),
             static_cast<unsigned long long>(maybe_delta(c0, c1, "migrate_to_vram_pages")),
             static_cast<unsigned long long>(maybe_delta(c0, c1, "migrate_to_ram_pages")),
             static_cast<unsigned long long>(maybe_delta(c0, c1, "exclusive_pages")),
             static_cast<unsigned long long>(huge_kb),
             static_cast<unsigned long long>(anon_huge_kb(a.data())));
    if (setup.atomic && *setup.atomic == uint32_t{DRM_SIMGPU_MADV_ATOMIC_GLOBAL}) {
        igt_assert_f(c0 && c1, "no simgpu_svm counters in debugfs");
        igt_assert_lte(1u, maybe_delta(c0, c1, "exclusive_pages"));
        igt_assert_eq(maybe_delta(c0, c1, "migrate_to_vram_pages"), 0u);
    }
    if (setup.atomic && *setup.atomic == uint32_t{DRM_SIMGPU_MADV_ATOMIC_DEVICE}) {
        igt_assert_f(c0 && c1, "no simgpu_svm counters in debugfs");
        igt_assert_lte(chunk_pages, maybe_delta(c0, c1, "migrate_to_vram_pages"));
    }
}

// Atomics starvation: one counter on a THP (THP=always), a CPU thread doing
// bursts of 16 __atomic_fetch_add with 5-50 us pauses, and jobs of 32 GPU
// ATOMIC INC on the same counter, each submitted once the CPU has had the
// counter back for two bursts. Every one of contended_jobs jobs must finish
// (no -ETIMEDOUT: the job timeout is the starvation bound), and the count
// must be exact.
constexpr int contended_jobs = 50;

void contended_atomics(const Env& env, std::optional<uint32_t> atomic)
{
    constexpr int per_job = 32;
    constexpr int burst = 16;

    SvmGpu gpu;
    start_gpu(gpu, env);
    igt_require_f(::access(thp_enabled_path, F_OK) == 0, "no %s", thp_enabled_path);
    const ThpMode thp("always");
    Area a(chunk_2m, Thp::any);
    std::memset(a.data(), 0, chunk_2m);
    const uint64_t huge_kb = anon_huge_kb(a.data());
    if (atomic)
        advise_atomic(gpu.vm(), a, *atomic);
    auto* counter = reinterpret_cast<uint64_t*>(a.at(0x1040));

    BatchBuilder b;
    for (int k = 0; k < per_job; ++k)
        b.atomic(DRM_SIMGPU_ATOMIC_INC, va(counter), 0);
    b.batch_end();

    const auto c0 = maybe_counters("simgpu_svm");
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> cpu_incs{0};
    std::thread cpu([&] {
        std::mt19937 rng(1234);
        std::uniform_int_distribution<int> pause_us(5, 50);
        while (!stop.load()) {
            for (int i = 0; i < burst; ++i)
                __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
            cpu_incs.fetch_add(burst);
            std::this_thread::sleep_for(std::chrono::microseconds(pause_us(rng)));
        }
    });
    std::vector<double> job_ms;
    uint64_t incs_during = 0;
    {
        const StopJoin join{stop, cpu};
        while (cpu_incs.load() == 0)
            std::this_thread::yield();
        const uint64_t before = cpu_incs.load();
        for (int j = 0; j < contended_jobs; ++j) {
            // Contended: the CPU got the counter back since the last job.
            const uint64_t seen = cpu_incs.load();
            while (cpu_incs.load() < seen + 2 * burst)
                std::this_thread::yield();
            const int64_t tj = now_ns();
            run_ok(gpu, b);
            job_ms.push_back(elapsed_ms(tj));
        }
        incs_during = cpu_incs.load() - before;
    }
    const auto c1 = maybe_counters("simgpu_svm");
    std::vector<double> sorted = job_ms;
    std::sort(sorted.begin(), sorted.end());
    igt_info("%d jobs of %d atomics against %llu CPU increments (THP %llu kB): job ms median "
             "%.1f, max %.1f; migrate_to_vram_pages %llu, migrate_to_ram_pages %llu, "
             "exclusive_pages %llu\n",
             contended_jobs, per_job, static_cast<unsigned long long>(incs_during),
             static_cast<unsigned long long>(huge_kb), sorted[sorted.size() / 2], sorted.back(),
             static_cast<unsigned long long>(maybe_delta(c0, c1, "migrate_to_vram_pages")),
             static_cast<unsigned long long>(maybe_delta(c0, c1, "migrate_to_ram_pages")),
             static_cast<unsigned long long>(maybe_delta(c0, c1, "exclusive_pages")));
    igt_assert_f(incs_during > 0, "the CPU thread made no progress while the GPU ran");
    igt_assert_eq(load_qword(counter),
                  cpu_incs.load() + static_cast<uint64_t>(contended_jobs) * per_job);
}

// ---------------------------------------------------------------------------
// Placement rounds: the GPU adds, the CPU checks everything and changes
// every eighth word; @in_vram(round) says where the GPU's turn must leave
// the chunk.

void ping_pong(SvmGpu& gpu, uint32_t dev_id, const Area& a, int rounds, uint32_t seed,
               const std::function<bool(int)>& in_vram)
{
    fill_words(a.data(), a.size(), seed);
    std::vector<uint32_t> shadow(a.words(), a.words() + a.size() / 4);
    for (int r = 0; r < rounds; ++r) {
        const uint32_t inc = seed * 100 + static_cast<uint32_t>(r);
        const auto c0 = svm_counters();
        gpu_add(gpu, a.data(), a.size(), inc);
        const auto c1 = svm_counters();
        char what[96];
        std::snprintf(what, sizeof(what), "round %d, after the GPU's turn", r);
        if (in_vram(r)) {
            assert_in_vram(gpu.vm(), dev_id, a.data(), a.size(), what);
            igt_assert_lte(a.size() / page_size, delta(c0, c1, "migrate_to_vram_pages"));
        } else {
            assert_in_system(gpu.vm(), a.data(), a.size(), what);
            igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), 0u);
        }
        cpu_turn(a.words(), shadow, inc, r);
        const auto c2 = svm_counters();
        if (in_vram(r))
            igt_assert_lte(a.size() / page_size, delta(c1, c2, "migrate_to_ram_pages"));
        else
            igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), 0u);
        assert_not_in_vram(gpu.vm(), a.data(), a.size(), "after the CPU's turn");
    }
}

// ---------------------------------------------------------------------------
// The fixture: device 0 and what its kernel can do.

struct Fixture {
    std::optional<Env> env;
    uint32_t dev_id = 0;
    bool vram = false; // DRM_SIMGPU_CAP_VRAM_MIGRATION
    bool hold = false; // DRM_SIMGPU_CAP_ATOMIC_HOLD
};

void set_up(Fixture& fx)
{
    fx.env.emplace(open_env());
    igt_require_f(fx.env->has_cap(DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR),
                  "device 0 cannot mirror the CPU address space (caps 0x%llx)",
                  static_cast<unsigned long long>(fx.env->info.caps));
    fx.dev_id = fx.env->info.device_id;
    fx.vram = fx.env->has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION);
    fx.hold = fx.env->has_cap(DRM_SIMGPU_CAP_ATOMIC_HOLD);
    igt_info("VRAM migration %s\n", fx.vram ? "supported" : "not supported: stock kernel rules");
}

// ---------------------------------------------------------------------------
// The ioctls.

void args_invalid(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    Area area(chunk_2m);
    std::memset(area.data(), 0x5a, chunk_2m);
    const uint64_t a = va(area.data());
    const uint64_t r = 64 * KiB;
    const auto einval = [&](uint64_t start, uint64_t range, uint32_t attr, uint32_t value,
                            int32_t fd = 0) {
        igt_assert_errno(vm.madvise(start, range, attr, value, fd), EINVAL);
    };

    // Unknown attributes and values.
    for (const uint32_t attr : {4u, 5u, 0x80000000u, ~0u})
        einval(a, r, attr, 0);
    for (const uint32_t v : {3u, 4u, ~0u})
        einval(a, r, attr_loc, v);
    for (const uint32_t v : {2u, 3u, ~0u})
        einval(a, r, attr_migration, v);
    for (const uint32_t v : {4u, 5u, ~0u})
        einval(a, r, attr_atomic, v);
    for (const uint32_t v : {2u, 3u, ~0u})
        einval(a, r, attr_read_mostly, v);

    // fd is only for LOC_DEVICE.
    for (const int32_t fd : {-1, fx.env->dev.fd(), 1}) {
        einval(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_DEFAULT, fd);
        einval(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM, fd);
        einval(a, r, attr_migration, DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES, fd);
        einval(a, r, attr_migration, DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES, fd);
        einval(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU, fd);
        einval(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_DEFAULT, fd);
        einval(a, r, attr_read_mostly, 1, fd);
    }

    // The span: page aligned, non-zero, within the VA space.
    einval(a + 8, r, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    einval(a + page_size / 2, r, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    einval(a, r - page_size / 2, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    einval(a, 1, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    einval(a, 0, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    einval(va_bits_limit, page_size, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    einval(va_bits_limit - page_size, 2 * page_size, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    einval(a, ~uint64_t{0} - page_size + 1, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);

    // Reserved fields.
    const auto raw = [&](auto mutate) {
        auto args = simgpu::pack_vm_madvise(vm.id(), a, r, attr_loc,
                                            DRM_SIMGPU_MADV_LOC_SYSTEM);
        mutate(args);
        return fx.env->dev.ioctl(DRM_IOCTL_SIMGPU_VM_MADVISE, &args);
    };
    igt_assert_errno(raw([](auto& m) { m.extensions = 1; }), EINVAL);
    igt_assert_errno(raw([](auto& m) { m.reserved[0] = 1; }), EINVAL);
    igt_assert_errno(raw([](auto& m) { m.reserved[1] = 1; }), EINVAL);
    igt_assert_ok(raw([](auto&) {}));
    igt_assert_ok(vm.madvise(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_DEFAULT));

    // No such VM.
    {
        Vm gone = make_mirror_vm(*fx.env);
        const uint32_t id = gone.id();
        igt_assert_ok(gone.destroy());
        auto args = simgpu::pack_vm_madvise(id, a, r, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
        igt_assert_errno(fx.env->dev.ioctl(DRM_IOCTL_SIMGPU_VM_MADVISE, &args), ENOENT);
        args.vm_id = 0xfffff;
        igt_assert_errno(fx.env->dev.ioctl(DRM_IOCTL_SIMGPU_VM_MADVISE, &args), ENOENT);
    }

    // The span must be all mirrored.
    {
        const Vm plain = make_vm(*fx.env);
        igt_assert_errno(plain.madvise(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM), EINVAL);
        const Vm unmirrored = make_fault_vm(*fx.env);
        igt_assert_errno(unmirrored.madvise(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM),
                         EINVAL);
        const Vm half = make_fault_vm(*fx.env);
        igt_assert_ok(half.mirror(a, chunk_2m / 2));
        igt_assert_errno(half.madvise(a, chunk_2m, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM),
                         EINVAL);
        igt_assert_errno(half.madvise(a + chunk_2m / 2, r, attr_loc,
                                      DRM_SIMGPU_MADV_LOC_SYSTEM),
                         EINVAL);
        igt_assert_errno(half.madvise(a - page_size, 2 * page_size, attr_loc,
                                      DRM_SIMGPU_MADV_LOC_SYSTEM),
                         EINVAL);
        igt_assert_ok(half.madvise(a, chunk_2m / 2, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM));

        // A BO mapped inside the mirror, then an UNMAP hole.
        const Vm holes = make_mirror_vm(*fx.env);
        const GpuBuffer bo = make_buffer(holes, 16 * KiB, DRM_SIMGPU_MEM_SYSTEM, a + 32 * KiB);
        igt_assert_errno(holes.madvise(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU), EINVAL);
        igt_assert_errno(holes.madvise(a + 32 * KiB, 16 * KiB, attr_atomic,
                                       DRM_SIMGPU_MADV_ATOMIC_CPU),
                         EINVAL);
        igt_assert_ok(holes.madvise(a, 32 * KiB, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU));
        igt_assert_ok(holes.madvise(a + 48 * KiB, 16 * KiB, attr_atomic,
                                    DRM_SIMGPU_MADV_ATOMIC_CPU));
        igt_assert_ok(holes.unmap(a + 8 * KiB, 8 * KiB));
        igt_assert_errno(holes.madvise(a, 32 * KiB, attr_read_mostly, 1), EINVAL);
        igt_assert_ok(holes.madvise(a, 8 * KiB, attr_read_mostly, 1));
        igt_assert_ok(holes.madvise(a + 16 * KiB, 16 * KiB, attr_read_mostly, 1));
    }

    // From another process than the one the VM mirrors: a child sharing
    // the fd, with the same addresses mapped.
    {
        const pid_t pid = ::fork();
        igt_assert(pid >= 0);
        if (pid == 0) {
            const auto res = vm.madvise(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
            ::_exit(res.ok() ? 1 : res.error().err == EINVAL ? 0 : 2);
        }
        assert_child_ok(pid, 60000, "MADVISE from a forked child fails with EINVAL");
    }

    // What works on every kernel.
    igt_assert_ok(vm.madvise(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM));
    igt_assert_ok(vm.madvise(a, r, attr_migration, DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES));
    igt_assert_ok(vm.madvise(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU));
    igt_assert_ok(vm.madvise(a, r, attr_read_mostly, 1));
    check_spans(vm, a, a + r,
                {{a, a + r,
                  {DRM_SIMGPU_MADV_LOC_SYSTEM, 0, DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES,
                   DRM_SIMGPU_MADV_ATOMIC_CPU, 1}}},
                "after setting every attribute");
    igt_assert_ok(vm.madvise(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_DEFAULT));
    igt_assert_ok(vm.madvise(a, r, attr_migration, DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES));
    igt_assert_ok(vm.madvise(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_DEFAULT));
    igt_assert_ok(vm.madvise(a, r, attr_read_mostly, 0));

    // The file descriptors of LOC_DEVICE. The closed one last: nothing
    // may reuse its number.
    const Pipe pipe;
    const FileFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    igt_assert(null_fd.fd >= 0);
    auto all = simgpu::Device::enumerate();
    igt_assert_ok(all);
    const size_t num_devices = all.value().size();
    auto again = simgpu::Device::open(fx.env->dev.path());
    igt_assert_ok(again);
    const int closed = ::dup(fx.env->dev.fd());
    igt_assert(closed >= 0);
    igt_assert_eq(::close(closed), 0);
    const auto loc_device = [&](int32_t fd) {
        if (fd == closed)
            igt_assert_f(::fcntl(closed, F_GETFD) == -1 && errno == EBADF,
                         "fd %d was reused", closed);
        return vm.madvise(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_DEVICE, fd);
    };
    if (!fx.vram) {
        // Without VRAM migration: EOPNOTSUPP whatever the fd.
        igt_assert_errno(loc_device(-1), EOPNOTSUPP);
        igt_assert_errno(loc_device(fx.env->dev.fd()), EOPNOTSUPP);
        igt_assert_errno(loc_device(closed), EOPNOTSUPP);
        igt_assert_errno(loc_device(pipe.rd), EOPNOTSUPP);
        if (num_devices >= 2)
            igt_assert_errno(loc_device(all.value()[1].fd()), EOPNOTSUPP);
    }
    if (!fx.hold) {
        // Without holds: the atomic policies that need them.
        igt_assert_errno(vm.madvise(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_DEVICE),
                         EOPNOTSUPP);
        igt_assert_errno(vm.madvise(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_GLOBAL),
                         EOPNOTSUPP);
        // An invalid span is still EINVAL.
        igt_assert_errno(vm.madvise(a + 8, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_GLOBAL),
                         EINVAL);
    }
    if (fx.vram) {
        igt_assert_errno(loc_device(closed), EBADF);
        igt_assert_errno(loc_device(-2), EBADF);
        igt_assert_errno(loc_device(pipe.rd), ENODEV);
        igt_assert_errno(loc_device(pipe.wr), ENODEV);
        igt_assert_errno(loc_device(null_fd.fd), ENODEV);
        if (num_devices >= 2) {
            const auto& other = all.value()[1];
            auto info = other.query_device();
            igt_assert_ok(info);
            igt_assert_neq(info.value().device_id, fx.dev_id);
            igt_assert_errno(loc_device(other.fd()), ENOLINK);
        } else {
            igt_info("one simgpu device: the ENOLINK check needs two, skipped\n");
        }
        // The VM's own device, by -1 or by any of its files.
        igt_assert_ok(loc_device(-1));
        igt_assert_ok(loc_device(fx.env->dev.fd()));
        igt_assert_ok(loc_device(again.value().fd()));
        check_spans(vm, a, a + r, {{a, a + r, {DRM_SIMGPU_MADV_LOC_DEVICE, fx.dev_id, 0, 0, 0}}},
                    "LOC_DEVICE of the own device");
        igt_assert_ok(vm.madvise(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_DEVICE));
        igt_assert_ok(vm.madvise(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_GLOBAL));
        igt_assert_ok(vm.madvise(a, r, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_DEFAULT));
        igt_assert_ok(vm.madvise(a, r, attr_loc, DRM_SIMGPU_MADV_LOC_DEFAULT));
    }

    // QUERY_ATTRS argument checks.
    const auto query_raw = [&](auto mutate) {
        std::array<drm_simgpu_vm_attr, 4> buf{};
        auto q = simgpu::pack_vm_query_attrs(vm.id(), a, r, 4, buf.data());
        mutate(q);
        return fx.env->dev.ioctl(DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS, &q);
    };
    igt_assert_ok(query_raw([](auto&) {}));
    igt_assert_errno(query_raw([](auto& q) { q.extensions = 1; }), EINVAL);
    igt_assert_errno(query_raw([](auto& q) { q.reserved[0] = 1; }), EINVAL);
    igt_assert_errno(query_raw([](auto& q) { q.reserved[1] = 1; }), EINVAL);
    igt_assert_errno(query_raw([](auto& q) { q.start += 8; }), EINVAL);
    igt_assert_errno(query_raw([](auto& q) { q.range = 0; }), EINVAL);
    igt_assert_errno(query_raw([](auto& q) { q.num_attrs = (1u << 16) + 1; }), EINVAL);
    igt_assert_errno(query_raw([](auto& q) { q.range -= page_size / 2; }), EINVAL);
    igt_assert_errno(query_raw([](auto& q) {
                         q.start = va_bits_limit - page_size;
                         q.range = 2 * page_size;
                     }),
                     EINVAL);
    igt_assert_errno(query_raw([](auto& q) { q.vm_id = 0xfffff; }), ENOENT);
    igt_assert_errno(query_raw([](auto& q) { q.attrs = 0x1000; }), EFAULT);

    // None of it changed anything.
    check_spans(vm, a, a + chunk_2m, defaults(a, a + chunk_2m), "after the failed calls");
    // And the VM still works.
    gpu_add(gpu, area.data(), chunk_2m, 1);
}

void query_default(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area area(chunk_2m);
    fill_words(area.data(), chunk_2m, 2);
    const uint64_t a = va(area.data());
    check_spans(gpu.vm(), a, a + chunk_2m, defaults(a, a + chunk_2m), "a fresh 2 MiB area");
    check_spans(gpu.vm(), a + page_size, a + 3 * page_size,
                defaults(a + page_size, a + 3 * page_size), "two pages");
    // Far more than the process maps, and the whole mirror.
    const uint64_t gib = 1ULL << 30;
    const uint64_t big = a & ~(gib - 1);
    check_spans(gpu.vm(), big, big + 4 * gib, defaults(big, big + 4 * gib), "4 GiB");
    check_spans(gpu.vm(), simgpu::mirror_all_start, simgpu::mirror_all_end,
                defaults(simgpu::mirror_all_start, simgpu::mirror_all_end), "the whole mirror");
    // GPU faults add no attributes.
    gpu_add(gpu, area.data(), chunk_2m, 21);
    check_added(area.data(), chunk_2m, 2, {21}, "after a GPU add");
    check_spans(gpu.vm(), a, a + chunk_2m, defaults(a, a + chunk_2m), "after GPU faults");
}

void split_merge(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    constexpr uint64_t size = 4 * MiB;
    Area area(size);
    const uint64_t a = va(area.data());
    // The model covers a MiB either side, which stays default.
    const uint64_t lo = a - MiB, hi = a + size + MiB;
    AttrMap m(lo, hi);
    const auto check = [&](const char* what) { check_model(vm, m, lo, hi, what, a); };

    advise(vm, m, a + MiB, MiB, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    check("LOC_SYSTEM in the second MiB");
    igt_assert_eq(query_spans(vm, lo, hi).size(), 3u);
    advise(vm, m, a + 3 * MiB / 2, 3 * MiB / 2, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU);
    check("ATOMIC_CPU overlapping its end");
    advise(vm, m, a + 64 * KiB, 64 * KiB, attr_read_mostly, 1);
    check("READ_MOSTLY on 64 KiB of the first MiB");
    advise(vm, m, a + MiB - page_size, 2 * page_size, attr_read_mostly, 1);
    check("READ_MOSTLY on two pages across a boundary");
    advise(vm, m, a, size, attr_migration, DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES);
    check("MIGRATE_SYSTEM_PAGES over everything");
    // Setting what is already there changes nothing.
    advise(vm, m, a + MiB, MiB, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    check("LOC_SYSTEM again");
    // Partial queries are cut at their ends.
    for (const auto& [s, e] : {std::pair{a + 5 * MiB / 4, a + 5 * MiB / 2},
                               std::pair{a + MiB - page_size, a + MiB + page_size},
                               std::pair{a + 68 * KiB, a + 72 * KiB}})
        check_model(vm, m, s, e, "a partial query", a);
    // Spans with equal attributes merge: LOC_SYSTEM on the first MiB
    // joins the second.
    advise(vm, m, a, MiB, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM);
    check("LOC_SYSTEM on the first MiB too");
    if (fx.vram) {
        // The own device by -1 and by fd: equal attributes, one span.
        advise(vm, m, a + 3 * MiB, MiB / 2, attr_loc, DRM_SIMGPU_MADV_LOC_DEVICE, -1, fx.dev_id);
        advise(vm, m, a + 7 * MiB / 2, MiB / 2, attr_loc, DRM_SIMGPU_MADV_LOC_DEVICE,
               fx.env->dev.fd(), fx.dev_id);
        check("LOC_DEVICE by -1 and by fd");
    }
    if (fx.hold) {
        advise(vm, m, a + 2 * MiB, MiB, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_GLOBAL);
        advise(vm, m, a + 5 * MiB / 2, MiB, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_DEVICE);
        check("ATOMIC_GLOBAL and ATOMIC_DEVICE");
    }
    // Another VM's attributes are its own.
    {
        const Vm other = make_mirror_vm(*fx.env);
        check_spans(other, lo, hi, defaults(lo, hi), "another VM");
    }

    // Back to the defaults, one attribute at a time: one span again.
    advise(vm, m, a, size, attr_migration, DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES);
    check("MIGRATE_ALL_PAGES again");
    advise(vm, m, a, MiB + page_size, attr_read_mostly, 0);
    check("READ_MOSTLY 0 again");
    advise(vm, m, a + MiB, 3 * MiB, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_DEFAULT);
    check("ATOMIC_DEFAULT again");
    advise(vm, m, a, size, attr_loc, DRM_SIMGPU_MADV_LOC_DEFAULT);
    check_spans(vm, lo, hi, defaults(lo, hi), "everything back to the defaults", a);
}

void query_enospc(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    Area area(chunk_2m);
    const uint64_t a = va(area.data());
    igt_assert_ok(vm.madvise(a + MiB / 2, MiB / 2, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM));
    igt_assert_ok(vm.madvise(a + MiB, MiB / 2, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU));
    const std::vector<Span> want{
        {a, a + MiB / 2, {}},
        {a + MiB / 2, a + MiB, {DRM_SIMGPU_MADV_LOC_SYSTEM, 0, 0, 0, 0}},
        {a + MiB, a + 3 * MiB / 2, {0, 0, 0, DRM_SIMGPU_MADV_ATOMIC_CPU, 0}},
        {a + 3 * MiB / 2, a + chunk_2m, {}},
    };
    check_spans(vm, a, a + chunk_2m, want, "four spans");

    std::array<drm_simgpu_vm_attr, 6> buf;
    const auto ask = [&](uint32_t n) {
        std::memset(buf.data(), 0xa5, sizeof(buf));
        auto q = simgpu::pack_vm_query_attrs(vm.id(), a, chunk_2m, n, buf.data());
        const auto r = fx.env->dev.ioctl(DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS, &q);
        return std::pair{r.ok() ? 0 : r.error().err, q.num_attrs};
    };
    for (const uint32_t n : {1u, 2u, 3u}) {
        const auto [err, count] = ask(n);
        igt_assert_f(err == ENOSPC, "num_attrs %u for 4 spans: %s, expected ENOSPC", n,
                     err ? std::strerror(err) : "success");
        igt_assert_eq(count, 4u);
    }
    // 0 only counts: the uAPI allows success or ENOSPC, with the count.
    {
        const auto [err, count] = ask(0);
        igt_assert_f(err == 0 || err == ENOSPC, "num_attrs 0: %s", std::strerror(err));
        igt_assert_eq(count, 4u);
        igt_info("num_attrs 0 counts with %s\n", err ? "ENOSPC" : "success");
    }
    for (const uint32_t n : {4u, 6u}) {
        const auto [err, count] = ask(n);
        igt_assert_f(err == 0, "num_attrs %u for 4 spans: %s", n, std::strerror(err));
        igt_assert_eq(count, 4u);
        for (size_t i = 0; i < 4; ++i)
            igt_assert_f(span_of(buf[i]) == want[i], "entry %zu: %s, expected %s", i,
                         describe(span_of(buf[i]), a).c_str(), describe(want[i], a).c_str());
        // Entries past the answer are not written.
        for (size_t i = 4; i < n; ++i) {
            const auto* bytes = reinterpret_cast<const unsigned char*>(&buf[i]);
            igt_assert_f(std::all_of(bytes, bytes + sizeof(buf[i]),
                                     [](unsigned char c) { return c == 0xa5; }),
                         "entry %zu past the %u spans was written", i, 4u);
        }
    }
    // A smaller query needs fewer.
    auto q = simgpu::pack_vm_query_attrs(vm.id(), a + MiB / 2, MiB, 2, buf.data());
    igt_assert_ok(fx.env->dev.ioctl(DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS, &q));
    igt_assert_eq(q.num_attrs, 2u);
}

void reset_on_munmap(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    constexpr uint64_t size = 4 * MiB;
    Area area(size);
    fill_words(area.data(), size, 5);
    const uint64_t a = va(area.data());
    const Attrs set{DRM_SIMGPU_MADV_LOC_SYSTEM, 0, 0, DRM_SIMGPU_MADV_ATOMIC_CPU, 1};
    igt_assert_ok(vm.madvise(a, size, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM));
    igt_assert_ok(vm.madvise(a, size, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU));
    igt_assert_ok(vm.madvise(a, size, attr_read_mostly, 1));
    check_spans(vm, a, a + size, {{a, a + size, set}}, "the attributes set");
    // The GPU has the range mapped when the CPU unmaps it.
    gpu_add(gpu, area.data(), size, 51);

    // munmap of the second MiB: it alone goes back to the defaults.
    igt_assert_eq(::munmap(area.at(MiB), MiB), 0);
    assert_unmapped(vm, area.at(MiB), MiB, "the unmapped MiB");
    wait_spans(vm, a, a + size,
               {{a, a + MiB, set}, {a + MiB, a + 2 * MiB, {}}, {a + 2 * MiB, a + size, set}},
               "the unmapped MiB reads default", a);

    // A new mapping there starts with the defaults.
    void* p = ::mmap(area.at(MiB), MiB, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    igt_assert_f(p == area.at(MiB), "mmap(MAP_FIXED) at %p: %s",
                 static_cast<void*>(area.at(MiB)), std::strerror(errno));
    fill_words(area.at(MiB), MiB, 6);
    check_spans(vm, a, a + size,
                {{a, a + MiB, set}, {a + MiB, a + 2 * MiB, {}}, {a + 2 * MiB, a + size, set}},
                "after mmap at the same address", a);
    // ATOMIC_CPU is gone there: GPU atomics work; they still fail
    // next to it.
    std::byte* fresh = area.at(MiB + 0x2340);
    igt_assert_eq(gpu_atomic_add(gpu, fresh, 77), pattern_qword(6, 0x2340));
    igt_assert_eq(load_qword(fresh), pattern_qword(6, 0x2340) + 77);
    gpu_atomic_faults(gpu, area.at(0x2340));
    gpu_atomic_faults(gpu, area.at(2 * MiB + 0x2340));
    if (fx.vram) {
        // The default placement: the GPU's read migrates the new
        // mapping (READ_MOSTLY and LOC_SYSTEM would not); the old
        // attributes keep the rest in system memory.
        GpuBuffer out = gpu_read(gpu, area.at(MiB + 64 * KiB), 64 * KiB);
        assert_in_vram(vm, fx.dev_id, area.at(MiB + 64 * KiB), 64 * KiB,
                       "the new mapping after a GPU read");
        check_words(out.bytes(), 64 * KiB, 6, "GPU read of the new mapping", 64 * KiB / 4);
        gpu_add(gpu, area.at(2 * MiB), MiB, 52);
        assert_in_system(vm, area.at(2 * MiB), MiB, "the LOC_SYSTEM rest after a GPU add");
        check_added(area.at(2 * MiB), MiB, 5, {51, 52}, "the LOC_SYSTEM rest",
                    2 * MiB / 4);
    }
    check_added(area.data(), MiB, 5, {51}, "the first MiB");

    // mremap of the last MiB elsewhere: the old place goes back to the
    // defaults, the moved memory has no attributes either.
    Area dst(MiB);
    void* moved = ::mremap(area.at(3 * MiB), MiB, MiB, MREMAP_MAYMOVE | MREMAP_FIXED, dst.data());
    igt_assert_f(moved == dst.data(), "mremap: %s", std::strerror(errno));
    wait_spans(vm, a, a + size,
               {{a, a + MiB, set}, {a + MiB, a + 2 * MiB, {}}, {a + 2 * MiB, a + 3 * MiB, set},
                {a + 3 * MiB, a + size, {}}},
               "the MiB moved away reads default", a);
    check_spans(vm, va(dst.data()), va(dst.data()) + MiB,
                defaults(va(dst.data()), va(dst.data()) + MiB), "the moved memory");
    check_added(dst.data(), MiB, 5, {51}, "the moved memory", 3 * MiB / 4);
    // The GPU atomic works on the moved memory.
    std::byte* in_moved = dst.at(0x2340);
    const uint64_t before = load_qword(in_moved);
    igt_assert_eq(gpu_atomic_add(gpu, in_moved, 3), before);
    igt_assert_eq(load_qword(in_moved), before + 3);
}

// Adjacent spans with different attributes, unmapped at once: each
// goes back to the defaults. Resetting one span rebuilds its
// neighbours, whose unmaps were recorded but not collected yet: the
// rebuilt spans must still be reset (their new notifiers come after
// the munmap).
void reset_on_munmap_adjacent(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    constexpr uint64_t size = MiB;
    Area area(size);
    fill_words(area.data(), size, 8);
    const uint64_t a = va(area.data());
    igt_assert_ok(vm.madvise(a, size, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM));
    igt_assert_ok(vm.madvise(a + 64 * KiB, 64 * KiB, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU));
    igt_assert_ok(vm.madvise(a + 512 * KiB, 128 * KiB, attr_read_mostly, 1));
    igt_assert_eq(query_spans(vm, a, a + size).size(), 5u);
    igt_assert_eq(gpu_atomic_add(gpu, area.data(), 1), pattern_qword(8, 0));

    igt_assert_eq(::munmap(area.data(), size), 0);
    void* p = ::mmap(area.data(), size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    igt_assert_f(p == area.data(), "mmap(MAP_FIXED) at %p: %s", static_cast<void*>(area.data()),
                 std::strerror(errno));
    fill_words(area.data(), size, 9);
    wait_spans(vm, a, a + size, defaults(a, a + size), "the new mapping reads default", a);
    // ATOMIC_CPU went with the old mapping.
    igt_assert_eq(gpu_atomic_add(gpu, area.at(64 * KiB + 8), 5), pattern_qword(9, 64 * KiB + 8));
}

// A child mirrors itself through our device file, sets two
// adjacent spans with different attributes, unmaps the first page
// and exits, the file still open (ours): the spans' reset runs
// while its address space goes away and must add no notifier to it
// (a WARN in __mmu_interval_notifier_insert() before).
void exit_with_adjacent_spans(const Fixture& fx)
{
    constexpr uint64_t page = 4 * KiB;
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0) {
        SvmGpu gpu;
        start_gpu(gpu, *fx.env);
        Area area(4 * page);
        const uint64_t a = va(area.data());
        if (!gpu.vm().madvise(a, page, attr_read_mostly, 1).ok() ||
            !gpu.vm().madvise(a + page, page, attr_loc, DRM_SIMGPU_MADV_LOC_SYSTEM).ok())
            ::_exit(1);
        if (::munmap(area.data(), page) != 0)
            ::_exit(2);
        ::_exit(0);
    }
    assert_child_ok(pid, 30000, "the child that exits with two spans");
    // The device still works for us.
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area area(MiB);
    fill_words(area.data(), MiB, 10);
    igt_assert_eq(gpu_atomic_add(gpu, area.at(0x108), 2), pattern_qword(10, 0x108));
}

// ---------------------------------------------------------------------------
// Preferred location.

void preferred_system(const Fixture& fx)
{
    require_vram_migration(*fx.env);
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    {
        // Anonymous memory that would migrate stays in system memory.
        Area a(chunk_2m);
        fill_words(a.data(), chunk_2m, 7);
        igt_assert_ok(gpu.vm().madvise(va(a.data()), chunk_2m, attr_loc,
                                       DRM_SIMGPU_MADV_LOC_SYSTEM));
        const auto c0 = svm_counters();
        gpu_add(gpu, a.data(), chunk_2m, 71);
        const auto c1 = svm_counters();
        assert_in_system(gpu.vm(), a.data(), chunk_2m, "LOC_SYSTEM memory after a GPU add");
        igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), 0u);
        check_added(a.data(), chunk_2m, 7, {71}, "LOC_SYSTEM memory");
        const auto c2 = svm_counters();
        igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), 0u);
        // A GPU write of untouched pages too.
        Area u(chunk_2m);
        igt_assert_ok(gpu.vm().madvise(va(u.data()), chunk_2m, attr_loc,
                                       DRM_SIMGPU_MADV_LOC_SYSTEM));
        BatchBuilder b;
        b.fill(va(u.data()), chunk_2m, 0x5157u).batch_end();
        run_ok(gpu, b);
        const auto c3 = svm_counters();
        assert_in_system(gpu.vm(), u.data(), chunk_2m, "untouched LOC_SYSTEM memory");
        igt_assert_eq(delta(c2, c3, "migrate_to_vram_pages"), 0u);
        check_value(u.data(), chunk_2m, 0x5157u, "the GPU's fill");
    }
    {
        // Memory in VRAM comes back on the next GPU access.
        Area a(chunk_2m);
        fill_words(a.data(), chunk_2m, 8);
        gpu_add(gpu, a.data(), chunk_2m, 81);
        assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "default placement");
        // MADVISE moves nothing by itself.
        const auto m0 = svm_counters();
        igt_assert_ok(gpu.vm().madvise(va(a.data()), chunk_2m, attr_loc,
                                       DRM_SIMGPU_MADV_LOC_SYSTEM));
        const auto c0 = svm_counters();
        igt_assert_eq(delta(m0, c0, "migrate_to_ram_pages"), 0u);
        gpu_add(gpu, a.data(), chunk_2m, 82);
        const auto c1 = svm_counters();
        assert_in_system(gpu.vm(), a.data(), chunk_2m, "LOC_SYSTEM after the GPU access");
        igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_ram_pages"));
        igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), 0u);
        check_added(a.data(), chunk_2m, 8, {81, 82}, "memory brought back by the GPU");
        const auto c2 = svm_counters();
        igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), 0u);
        info_deltas("brought back", c0, c1);
    }
}

void preferred_device(const Fixture& fx)
{
    require_vram_migration(*fx.env);
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    igt_assert_ok(gpu.vm().madvise(va(a.data()), chunk_2m, attr_loc,
                                   DRM_SIMGPU_MADV_LOC_DEVICE, -1));
    check_spans(gpu.vm(), va(a.data()), va(a.data()) + chunk_2m,
                {{va(a.data()), va(a.data()) + chunk_2m,
                  {DRM_SIMGPU_MADV_LOC_DEVICE, fx.dev_id, 0, 0, 0}}},
                "LOC_DEVICE");
    // No thrashing limit: VRAM on every GPU turn.
    ping_pong(gpu, fx.dev_id, a, 6, 9, [](int) { return true; });
}

void default_thrash_limit(const Fixture& fx)
{
    require_vram_migration(*fx.env);
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    Area a(chunk_2m);
    // The default policy: three times to VRAM, then system memory.
    ping_pong(gpu, fx.dev_id, a, 6, 10, [](int r) { return r < 3; });
    // LOC_DEVICE takes the same memory to VRAM again.
    igt_assert_ok(gpu.vm().madvise(va(a.data()), chunk_2m, attr_loc,
                                   DRM_SIMGPU_MADV_LOC_DEVICE, -1));
    const std::vector<uint32_t> before(a.words(), a.words() + chunk_2m / 4);
    gpu_add(gpu, a.data(), chunk_2m, 1099);
    assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "thrashing memory with LOC_DEVICE");
    const volatile uint32_t* w = a.words();
    for (uint64_t i = 0; i < before.size(); ++i)
        if (w[i] != before[i] + SvmGpu::inc_value(1099, i))
            igt_fail("word %llu is 0x%08x, expected 0x%08x", static_cast<unsigned long long>(i),
                     w[i], before[i] + SvmGpu::inc_value(1099, i));
}

void read_mostly(const Fixture& fx)
{
    require_vram_migration(*fx.env);
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    {
        // Memory the CPU wrote: the GPU reads it where it is.
        Area a(chunk_2m);
        fill_words(a.data(), chunk_2m, 11);
        igt_assert_ok(gpu.vm().madvise(va(a.data()), chunk_2m, attr_read_mostly, 1));
        const auto c0 = svm_counters();
        GpuBuffer out = gpu_read(gpu, a.data(), chunk_2m);
        const auto c1 = svm_counters();
        check_words(out.bytes(), chunk_2m, 11, "GPU read of READ_MOSTLY memory");
        assert_in_system(gpu.vm(), a.data(), chunk_2m, "READ_MOSTLY memory after a GPU read");
        igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), 0u);
        // CPU reads stay cheap: nothing comes back.
        check_words(a.data(), chunk_2m, 11, "CPU read of READ_MOSTLY memory");
        const auto c2 = svm_counters();
        igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), 0u);
    }
    {
        // Untouched memory: the read maps the zero page in system
        // memory; a write then faults and migrates per the default.
        Area a(chunk_2m);
        igt_assert_ok(gpu.vm().madvise(va(a.data()), chunk_2m, attr_read_mostly, 1));
        const auto c0 = svm_counters();
        GpuBuffer out = gpu_read(gpu, a.data(), chunk_2m);
        const auto c1 = svm_counters();
        check_value(out.bytes(), chunk_2m, 0, "GPU read of untouched READ_MOSTLY memory");
        assert_in_system(gpu.vm(), a.data(), chunk_2m, "untouched memory after a GPU read");
        igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), 0u);
        BatchBuilder b;
        b.fill(va(a.data()), chunk_2m, 0x11aa11aau).batch_end();
        run_ok(gpu, b);
        const auto c2 = svm_counters();
        assert_in_vram(gpu.vm(), fx.dev_id, a.data(), chunk_2m, "after a GPU write");
        igt_assert_lte(chunk_pages, delta(c1, c2, "migrate_to_vram_pages"));
        check_value(a.data(), chunk_2m, 0x11aa11aau, "the GPU's fill read by the CPU");
        info_deltas("read then write", c0, c2);
    }
}

// MIGRATE_SYSTEM_PAGES differs from MIGRATE_ALL_PAGES only for
// pages in another device's VRAM; with one device usable (no
// interconnect) the two behave the same. The subtest checks that
// both are accepted and reported, and that the same work on memory
// with each, and with the preferred location VRAM where the kernel
// can migrate, ends with the same placement and data.
void migration_policy(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    Area all(chunk_2m), sys(chunk_2m);
    const uint64_t x = va(all.data()), y = va(sys.data());
    igt_assert_ok(vm.madvise(x, chunk_2m, attr_migration, DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES));
    igt_assert_ok(vm.madvise(y, chunk_2m, attr_migration,
                             DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES));
    check_spans(vm, x, x + chunk_2m, defaults(x, x + chunk_2m), "MIGRATE_ALL_PAGES");
    check_spans(vm, y, y + chunk_2m,
                {{y, y + chunk_2m, {0, 0, DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES, 0, 0}}},
                "MIGRATE_SYSTEM_PAGES");
    if (fx.vram)
        for (const uint64_t s : {x, y})
            igt_assert_ok(vm.madvise(s, chunk_2m, attr_loc, DRM_SIMGPU_MADV_LOC_DEVICE, -1));
    const auto placement = [&](const Area& area) {
        auto pages = query(vm, area.data(), chunk_2m);
        for (auto& f : pages)
            f &= DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_VRAM | page_device_mask;
        return pages;
    };
    for (int round = 0; round < 2; ++round) {
        const uint32_t seed = 12 + static_cast<uint32_t>(round);
        fill_words(all.data(), chunk_2m, seed);
        fill_words(sys.data(), chunk_2m, seed);
        gpu_add(gpu, all.data(), chunk_2m, seed * 10);
        gpu_add(gpu, sys.data(), chunk_2m, seed * 10);
        const auto pa = placement(all), ps = placement(sys);
        igt_assert_f(pa == ps, "round %d: the two policies placed the pages differently "
                     "(page 0: 0x%x and 0x%x)", round, pa.at(0), ps.at(0));
        igt_assert_eq(pa.at(0) & DRM_SIMGPU_PAGE_MAPPED, uint32_t{DRM_SIMGPU_PAGE_MAPPED});
        if (fx.vram)
            assert_in_vram(vm, fx.dev_id, sys.data(), chunk_2m, "MIGRATE_SYSTEM_PAGES memory");
        check_added(all.data(), chunk_2m, seed, {seed * 10}, "MIGRATE_ALL_PAGES memory");
        check_added(sys.data(), chunk_2m, seed, {seed * 10}, "MIGRATE_SYSTEM_PAGES memory");
    }
}

// ---------------------------------------------------------------------------
// Atomics.

void atomic_cpu(const Fixture& fx)
{
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    Area area(chunk_2m);
    fill_words(area.data(), chunk_2m, 13);
    const uint64_t a = va(area.data());
    igt_assert_ok(vm.madvise(a, MiB, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_CPU));

    // GPU atomics on the ATOMIC_CPU half fail, on the exact address.
    gpu_atomic_faults(gpu, area.at(0x12348));
    gpu_atomic_faults(gpu, area.at(0x20004), DRM_SIMGPU_ATOMIC_INC, true);
    gpu_atomic_faults(gpu, area.at(MiB - 8), DRM_SIMGPU_ATOMIC_CMPXCHG);
    // Next to it they work.
    igt_assert_eq(gpu_atomic_add(gpu, area.at(MiB + 0x5670), 9), pattern_qword(13, MiB + 0x5670));
    igt_assert_eq(load_qword(area.at(MiB + 0x5670)), pattern_qword(13, MiB + 0x5670) + 9);

    // Plain GPU reads and writes of the ATOMIC_CPU half work.
    gpu_add(gpu, area.data(), MiB, 131);
    check_added(area.data(), MiB, 13, {131}, "ATOMIC_CPU memory after a GPU add");
    BatchBuilder w;
    w.store_qw(va(area.at(0x12348)), 0x1122334455667788ULL).batch_end();
    run_ok(gpu, w);
    igt_assert_eq(load_qword(area.at(0x12348)), 0x1122334455667788ULL);
    // Mapped for writing, but not for atomics: an atomic still fails.
    gpu_add(gpu, area.data(), MiB, 132);
    const uint32_t f = page_flags(vm, area.at(0x12348));
    igt_assert_f((f & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_WRITE |
                       DRM_SIMGPU_PAGE_ATOMIC)) ==
                     (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_WRITE),
                 "an ATOMIC_CPU page the GPU wrote has flags 0x%x", f);
    gpu_atomic_faults(gpu, area.at(0x12348));
    gpu_atomic_faults(gpu, area.at(0x30000), DRM_SIMGPU_ATOMIC_XCHG);
    // CPU atomics are the ones that work.
    uint64_t* q = reinterpret_cast<uint64_t*>(area.at(0x12348));
    const uint32_t lo = 0x55667788u + SvmGpu::inc_value(132, 0x12348 / 4);
    const uint32_t hi = 0x11223344u + SvmGpu::inc_value(132, 0x12348 / 4 + 1);
    igt_assert_eq(__atomic_fetch_add(q, 1, __ATOMIC_SEQ_CST), uint64_t{lo} | uint64_t{hi} << 32);

    // Back to the default: GPU atomics work there again.
    igt_assert_ok(vm.madvise(a, MiB, attr_atomic, DRM_SIMGPU_MADV_ATOMIC_DEFAULT));
    const uint64_t old = load_qword(q);
    igt_assert_eq(gpu_atomic_add(gpu, q, 1000), old);
    // (Before the CPU reads it: that takes memory in VRAM back.)
    const uint32_t g = page_flags(vm, q);
    igt_assert_f((g & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_ATOMIC)) ==
                     (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_ATOMIC),
                 "after ATOMIC_DEFAULT and a GPU atomic the page has flags 0x%x", g);
    igt_assert_eq(load_qword(q), old + 1000);
}

void atomic_device(const Fixture& fx)
{
    require_vram_migration(*fx.env);
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    {
        // Anonymous memory: to VRAM, every time the GPU needs it.
        Area a(chunk_2m);
        fill_words(a.data(), chunk_2m, 14);
        advise_atomic(vm, a, DRM_SIMGPU_MADV_ATOMIC_DEVICE);
        uint64_t expect = pattern_qword(14, 0x4448);
        for (int round = 0; round < 5; ++round) {
            const auto c0 = svm_counters_x();
            igt_assert_eq(gpu_atomic_add(gpu, a.at(0x4448), 5), expect);
            const auto c1 = svm_counters_x();
            expect += 5;
            assert_in_vram(vm, fx.dev_id, a.data(), chunk_2m, "after a GPU atomic");
            const uint32_t f = page_flags(vm, a.at(0x4448));
            igt_assert_f(f & DRM_SIMGPU_PAGE_ATOMIC, "round %d: page flags 0x%x", round, f);
            igt_assert_lte(chunk_pages, delta(c0, c1, "migrate_to_vram_pages"));
            igt_assert_eq(delta(c0, c1, "exclusive_pages"), 0u);
            // The CPU takes it back.
            igt_assert_eq(load_qword(a.at(0x4448)), expect);
            assert_not_in_vram(vm, a.data(), chunk_2m, "after the CPU read");
        }
        check_words(a.data(), 0x4448, 14, "the words before the counter");
        check_words(a.at(0x4450), chunk_2m - 0x4450, 14, "the words after the counter",
                    0x4450 / 4);
    }
    {
        // Shared memory cannot move: GPU atomics fail, plain writes work.
        Area a(chunk_2m, Thp::any, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
        fill_words(a.data(), chunk_2m, 15);
        advise_atomic(vm, a, DRM_SIMGPU_MADV_ATOMIC_DEVICE);
        gpu_atomic_faults(gpu, a.at(0x8008));
        gpu_add(gpu, a.data(), chunk_2m, 151);
        assert_in_system(vm, a.data(), chunk_2m, "MAP_SHARED memory after a GPU add");
        check_added(a.data(), chunk_2m, 15, {151}, "MAP_SHARED memory");
        gpu_atomic_faults(gpu, a.at(0x8008));
    }
    {
        const FileFd f(::memfd_create("simgpu-madvise", MFD_CLOEXEC));
        igt_require_f(f.fd >= 0, "memfd_create failed: %s", std::strerror(errno));
        igt_assert_eq(::ftruncate(f.fd, static_cast<off_t>(chunk_2m)), 0);
        Area a(chunk_2m, Thp::any, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd);
        fill_words(a.data(), chunk_2m, 16);
        advise_atomic(vm, a, DRM_SIMGPU_MADV_ATOMIC_DEVICE);
        gpu_atomic_faults(gpu, a.at(0x10000));
        check_words(a.data(), chunk_2m, 16, "the memfd after the failed atomic");
    }
}

void atomic_global(const Fixture& fx)
{
    require_atomic_hold(*fx.env);
    SvmGpu gpu;
    start_gpu(gpu, *fx.env);
    const Vm& vm = gpu.vm();
    {
        // A system page: held exclusive, not migrated.
        Area a(chunk_2m);
        fill_words(a.data(), chunk_2m, 17);
        advise_atomic(vm, a, DRM_SIMGPU_MADV_ATOMIC_GLOBAL);
        std::byte* p = a.at(0x23450);
        uint64_t expect = pattern_qword(17, 0x23450);
        for (int round = 0; round < 3; ++round) {
            const auto c0 = svm_counters_x();
            igt_assert_eq(gpu_atomic_add(gpu, p, 7), expect);
            expect += 7;
            const auto c1 = svm_counters_x();
            const uint32_t f = page_flags(vm, p);
            constexpr uint32_t want = DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_ATOMIC |
                                      DRM_SIMGPU_PAGE_EXCLUSIVE;
            igt_assert_f((f & (want | DRM_SIMGPU_PAGE_VRAM)) == want,
                         "round %d: the page has flags 0x%x, expected 0x%x without VRAM",
                         round, f, want);
            assert_not_in_vram(vm, a.data(), chunk_2m, "ATOMIC_GLOBAL memory");
            igt_assert_lte(1u, delta(c0, c1, "exclusive_pages"));
            igt_assert_eq(delta(c0, c1, "migrate_to_vram_pages"), 0u);
            // A second atomic takes no fault.
            const auto s0 = stats_counters();
            igt_assert_eq(gpu_atomic_add(gpu, p, 1), expect);
            expect += 1;
            const auto s1 = stats_counters();
            igt_assert_eq(delta(s0, s1, "faults"), 0u);
            // A CPU read revokes it.
            igt_assert_eq(load_qword(p), expect);
            const uint32_t g = page_flags(vm, p);
            igt_assert_f((g & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_EXCLUSIVE)) == 0,
                         "round %d: after a CPU read the page has flags 0x%x", round, g);
            const auto c2 = svm_counters_x();
            igt_assert_eq(delta(c1, c2, "migrate_to_ram_pages"), 0u);
        }
        // Holds are per page: the page after the counter's is mapped
        // without atomics, and an atomic further on takes one page of
        // its own while the counter's page stays held.
        igt_assert_eq(gpu_atomic_add(gpu, p, 1), expect);
        expect += 1;
        const uint32_t next = page_flags(vm, p + 4 * KiB);
        igt_assert_f((next & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_ATOMIC |
                              DRM_SIMGPU_PAGE_EXCLUSIVE)) == DRM_SIMGPU_PAGE_MAPPED,
                     "the page after the counter's has flags 0x%x, expected mapped without "
                     "atomics", next);
        std::byte* far = a.at(0x33450);
        const auto c0 = svm_counters_x();
        igt_assert_eq(gpu_atomic_add(gpu, far, 5), pattern_qword(17, 0x33450));
        const auto c1 = svm_counters_x();
        igt_assert_eq(delta(c0, c1, "exclusive_pages"), 1u);
        const auto s0 = stats_counters();
        igt_assert_eq(gpu_atomic_add(gpu, p, 1), expect);
        expect += 1;
        igt_assert_eq(gpu_atomic_add(gpu, far, 5), pattern_qword(17, 0x33450) + 5);
        const auto s1 = stats_counters();
        igt_assert_eq(delta(s0, s1, "faults"), 0u);
        for (std::byte* held : {p, far})
            igt_assert_f(page_flags(vm, held) & DRM_SIMGPU_PAGE_EXCLUSIVE,
                         "the page at offset 0x%llx is no longer held",
                         static_cast<unsigned long long>(held - a.data()));
        igt_assert_eq(load_qword(p), expect);
        igt_assert_eq(load_qword(far), pattern_qword(17, 0x33450) + 10);
        check_words(a.data(), 0x23450, 17, "the words before the counter");
        check_words(a.at(0x23458), 0x10000 - 8, 17, "the words between the counters",
                    0x23458 / 4);
        check_words(a.at(0x33458), chunk_2m - 0x33458, 17, "the words after the counters",
                    0x33458 / 4);
        // Plain GPU access works alongside.
        gpu_add(gpu, a.data(), 64 * KiB, 171);
        check_added(a.data(), 64 * KiB, 17, {171}, "the first 64 KiB after a GPU add");
    }
    if (fx.vram) {
        // Memory in VRAM stays there.
        Area a(chunk_2m);
        fill_words(a.data(), chunk_2m, 18);
        gpu_add(gpu, a.data(), chunk_2m, 181);
        assert_in_vram(vm, fx.dev_id, a.data(), chunk_2m, "default placement");
        advise_atomic(vm, a, DRM_SIMGPU_MADV_ATOMIC_GLOBAL);
        const auto c0 = svm_counters_x();
        const uint64_t expect = added_qword(18, {181}, 0x800);
        igt_assert_eq(gpu_atomic_add(gpu, a.at(0x800), 2), expect);
        const auto c1 = svm_counters_x();
        assert_in_vram(vm, fx.dev_id, a.data(), chunk_2m, "ATOMIC_GLOBAL memory in VRAM");
        igt_assert_eq(delta(c0, c1, "migrate_to_ram_pages"), 0u);
        igt_assert_eq(delta(c0, c1, "exclusive_pages"), 0u);
        igt_assert_eq(load_qword(a.at(0x800)), expect + 2);
    }
    {
        // Shared memory is served in place.
        Area a(chunk_2m, Thp::any, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
        fill_words(a.data(), chunk_2m, 19);
        advise_atomic(vm, a, DRM_SIMGPU_MADV_ATOMIC_GLOBAL);
        const auto c0 = svm_counters_x();
        igt_assert_eq(gpu_atomic_add(gpu, a.at(0x9990), 4), pattern_qword(19, 0x9990));
        const auto c1 = svm_counters_x();
        const uint32_t f = page_flags(vm, a.at(0x9990));
        igt_assert_f((f & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_ATOMIC |
                           DRM_SIMGPU_PAGE_EXCLUSIVE | DRM_SIMGPU_PAGE_VRAM)) ==
                         (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_ATOMIC),
                     "MAP_SHARED page after a GPU atomic: flags 0x%x", f);
        igt_assert_eq(delta(c0, c1, "exclusive_pages"), 0u);
        igt_assert_eq(load_qword(a.at(0x9990)), pattern_qword(19, 0x9990) + 4);
    }
}

// Skips unless the kernel implements the MADVISE(ATOMIC) value @atomic:
// ATOMIC_DEVICE needs VRAM migration, ATOMIC_GLOBAL page holds.
void require_atomic_policy(const Env& env, std::optional<uint32_t> atomic)
{
    if (atomic == uint32_t{DRM_SIMGPU_MADV_ATOMIC_DEVICE})
        require_vram_migration(env);
    if (atomic == uint32_t{DRM_SIMGPU_MADV_ATOMIC_GLOBAL})
        require_atomic_hold(env);
}

void atomic_concurrent(const Fixture& fx, std::optional<uint32_t> atomic)
{
    require_atomic_policy(*fx.env, atomic);
    concurrent_atomics(*fx.env, {atomic, Thp::off, false});
}

void atomic_contended(const Fixture& fx, std::optional<uint32_t> atomic)
{
    require_atomic_policy(*fx.env, atomic);
    contended_atomics(*fx.env, atomic);
}

// @mode is what thp_enabled_path is set to for the subtest.
void atomic_thp(const Fixture& fx, const char* mode)
{
    require_atomic_hold(*fx.env);
    igt_require_f(::access(thp_enabled_path, F_OK) == 0, "no %s", thp_enabled_path);
    const ThpMode thp(mode);
    concurrent_atomics(*fx.env, {DRM_SIMGPU_MADV_ATOMIC_GLOBAL, Thp::on, true});
}

// ---------------------------------------------------------------------------
// The subtests' tables, in the order main() runs them.

using Case = igt::Case<const Fixture&>;

constexpr Case cases[] = {
    // The ioctls.
    {"args-invalid",
     "MADVISE and QUERY_ATTRS fail with the uAPI's errno for bad attributes, values, fds, spans, "
     "reserved fields, VMs and callers, and change nothing",
     args_invalid},
    {"query-default",
     "QUERY_ATTRS reports one span of default attributes for fresh memory, for ranges up to the "
     "whole mirror, and after GPU faults",
     query_default},
    {"split-merge",
     "MADVISE splits and merges the spans QUERY_ATTRS reports as a per-page model of the "
     "attributes says, partial queries cut at their ends",
     split_merge},
    {"query-enospc",
     "QUERY_ATTRS with too few entries fails with ENOSPC and the count, with enough returns the "
     "spans and writes no entry past them",
     query_enospc},
    {"reset-on-munmap",
     "munmap and mremap reset the attributes of the memory that went away; new and moved memory "
     "starts with the defaults",
     reset_on_munmap},
    {"reset-on-munmap-adjacent",
     "adjacent spans with different attributes, unmapped at once, all go back to the defaults",
     reset_on_munmap_adjacent},
    {"exit-with-adjacent-spans",
     "a child exiting with two adjacent spans set through our device file resets them cleanly, and "
     "the device still works",
     exit_with_adjacent_spans},
    // Preferred location.
    {"preferred-system",
     "LOC_SYSTEM keeps memory the GPU touches in system memory and brings memory in VRAM back on "
     "the GPU's next access",
     preferred_system},
    {"preferred-device",
     "LOC_DEVICE migrates a chunk to VRAM on every GPU turn of a CPU/GPU ping-pong: no thrashing "
     "limit",
     preferred_device},
    {"default-thrash-limit",
     "by default a ping-ponged chunk migrates to VRAM three times, then stays in system memory; "
     "LOC_DEVICE takes it to VRAM again",
     default_thrash_limit},
    {"read-mostly",
     "the GPU reads READ_MOSTLY memory in system memory without migrating it; a GPU write migrates "
     "it as by default",
     read_mostly},
    {"migration-policy",
     "MIGRATE_ALL_PAGES and MIGRATE_SYSTEM_PAGES are accepted, reported, and end with the same "
     "placement and data on one device",
     migration_policy},
    // Atomics.
    {"atomic-cpu",
     "GPU atomics on ATOMIC_CPU memory fault at their address and change nothing, plain GPU access "
     "and CPU atomics work; ATOMIC_DEFAULT restores them",
     atomic_cpu},
    {"atomic-device",
     "GPU atomics on ATOMIC_DEVICE memory migrate anonymous memory to VRAM each time, and fault on "
     "shared and memfd memory",
     atomic_device},
    {"atomic-global",
     "GPU atomics on ATOMIC_GLOBAL memory hold system pages exclusive, per page and without "
     "migration, and work in place in VRAM and on shared memory",
     atomic_global},
};

// The atomic-concurrent-* and atomic-contended-* families: a subtest of
// each without MADVISE(ATOMIC), with ATOMIC_DEVICE and with ATOMIC_GLOBAL.
struct AtomicPolicy {
    const char* name;
    std::optional<uint32_t> atomic;
    const char* concurrent; // the descriptions
    const char* contended;
};

constexpr AtomicPolicy atomic_policies[] = {
    {"default", std::nullopt,
     "CPU and GPU atomics racing on 64 counters of a 2 MiB buffer sum exactly, without "
     "MADVISE(ATOMIC)",
     "GPU atomic jobs on a THP counter between CPU atomic bursts all finish and count exactly, "
     "without MADVISE(ATOMIC)"},
    {"device", DRM_SIMGPU_MADV_ATOMIC_DEVICE,
     "CPU and GPU atomics racing on 64 counters of a 2 MiB buffer sum exactly with ATOMIC_DEVICE, "
     "which migrates it",
     "GPU atomic jobs on a THP counter between CPU atomic bursts all finish and count exactly with "
     "ATOMIC_DEVICE"},
    {"global", DRM_SIMGPU_MADV_ATOMIC_GLOBAL,
     "CPU and GPU atomics racing on 64 counters of a 2 MiB buffer sum exactly with ATOMIC_GLOBAL, "
     "which holds pages",
     "GPU atomic jobs on a THP counter between CPU atomic bursts all finish and count exactly with "
     "ATOMIC_GLOBAL"},
};

// The atomic-thp-* family: THP modes.
struct ThpCase {
    const char* mode;
    const char* description;
};

constexpr ThpCase thp_cases[] = {
    {"always", "with THP enabled=always, ATOMIC_GLOBAL CPU and GPU atomics racing on a PMD-mapped "
               "THP sum exactly"},
    {"madvise", "with THP enabled=madvise, ATOMIC_GLOBAL CPU and GPU atomics racing on a "
                "PMD-mapped THP sum exactly"},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    t.set_timeout(std::chrono::seconds(300));
    Fixture fx;

    t.fixture([&] { set_up(fx); });

    igt::add_cases(t, cases, [&]() -> const Fixture& { return fx; });
    for (const AtomicPolicy& p : atomic_policies)
        t.subtest(std::string("atomic-concurrent-") + p.name, p.concurrent,
                  [&] { atomic_concurrent(fx, p.atomic); });
    for (const AtomicPolicy& p : atomic_policies)
        t.subtest(std::string("atomic-contended-") + p.name, p.contended,
                  [&] { atomic_contended(fx, p.atomic); });
    for (const ThpCase& c : thp_cases)
        t.subtest(std::string("atomic-thp-") + c.mode, c.description,
                  [&] { atomic_thp(fx, c.mode); });

    return t.exit_code();
}
