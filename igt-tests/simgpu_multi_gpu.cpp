// SPDX-License-Identifier: MIT
//
// simgpu_multi_gpu: several GPUs, one address space. Each device has its own
// fd, its own fault-mode VM mirroring the whole process and its own exec
// queue (SvmGpu), and all of them work on the same CPU pointers: malloc'd
// memory handed from one device to the other, a buffer passed around
// between two devices and the CPU, both devices at once on disjoint and on
// overlapping memory, one counter incremented atomically by both devices
// and the CPU, a linked list whose nodes live in different devices' VRAM,
// and a second process sharing a device. Every subtest checks the data the
// GPUs wrote or read, and where it matters the placement VM_QUERY_RANGE
// reports on each device (a page in a device's VRAM is mapped by that
// device only; devices that both map a page map it in system memory) and
// the counters of both devices in debugfs.
//
// Devices have no interconnect: memory in one device's VRAM reaches
// another device through system memory (into its VRAM, or mapped in system
// memory with MIGRATE_SYSTEM_PAGES), and MADVISE cannot prefer another
// device's VRAM (-ENOLINK). Subtests that need VRAM migration skip without
// DRM_SIMGPU_CAP_VRAM_MIGRATION (a kernel without CONFIG_DEVICE_PRIVATE);
// the others run on both kernels, with everything in system memory where
// nothing migrates. Needs two devices (the module's default num_devices).
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
#include <functional>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include <drm/simgpu_drm.h>

#include "igt.hpp"
#include "simgpu_svm_test.hpp"
#include "simgpu_test.hpp"

namespace {

using namespace simgpu_test;
using namespace simgpu_test::svm;

constexpr int num_gpus = 2;
constexpr uint64_t chunk_pages = chunk_2m / page_size;

uint64_t round_down(uint64_t v, uint64_t align)
{
    return v / align * align;
}

// ---------------------------------------------------------------------------
// The devices.

// Both devices with a mirror VM and a queue each; gpu[i] is device
// envs[i].info.device_id, which is i.
struct Gpus {
    std::array<SvmGpu, num_gpus> gpu;
    std::array<uint32_t, num_gpus> id{};
    bool vram = true; // both devices can migrate to VRAM

    explicit Gpus(const std::vector<Env>& envs)
    {
        for (int i = 0; i < num_gpus; ++i) {
            start_gpu(gpu[i], envs[i]);
            id[i] = envs[i].info.device_id;
            vram = vram && envs[i].has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION);
        }
    }
    const Vm& vm(int i) const { return gpu[i].vm(); }
};

// Runs @work(i) for each device i, each on a thread of its own, all
// released together; waits for all of them and rethrows the first failure
// (an igt assertion in @work included).
void on_both(const std::function<void(int)>& work)
{
    std::latch start(num_gpus);
    std::array<std::future<void>, num_gpus> done;
    for (int i = 0; i < num_gpus; ++i)
        done[i] = std::async(std::launch::async, [&, i] {
            start.arrive_and_wait();
            work(i);
        });
    std::exception_ptr first;
    for (auto& d : done) {
        try {
            d.get();
        } catch (...) {
            if (!first)
                first = std::current_exception();
        }
    }
    if (first)
        std::rethrow_exception(first);
}

// The debugfs counters of both devices.
struct Snapshot {
    std::array<Counters, num_gpus> svm;
    std::array<Counters, num_gpus> stats;
};

Snapshot snapshot(const Gpus& g)
{
    Snapshot s;
    for (int i = 0; i < num_gpus; ++i) {
        s.svm[i] = svm_counters(g.id[i]);
        s.stats[i] = stats_counters(g.id[i]);
    }
    return s;
}

uint64_t svm_delta(const Snapshot& a, const Snapshot& b, int i, const char* key)
{
    return delta(a.svm[i], b.svm[i], key);
}

uint64_t stats_delta(const Snapshot& a, const Snapshot& b, int i, const char* key)
{
    return delta(a.stats[i], b.stats[i], key);
}

// Prints the migration counters' changes on both devices, when memory can
// migrate at all.
void info_both(const char* what, const Gpus& g, const Snapshot& a, const Snapshot& b)
{
    if (!g.vram)
        return;
    for (int i = 0; i < num_gpus; ++i) {
        const std::string line = std::string(what) + ", device " + std::to_string(g.id[i]);
        info_deltas(line.c_str(), a.svm[i], b.svm[i]);
    }
}

// ---------------------------------------------------------------------------
// Placement across devices.

// Every page of the span is mapped on device @i: in its own VRAM where
// memory migrates, else in system memory; never in another device's VRAM
// (there is no interconnect).
void assert_mapped_here(const Gpus& g, int i, const void* p, uint64_t bytes, const char* what)
{
    if (g.vram)
        assert_in_vram(g.vm(i), g.id[i], p, bytes, what);
    else
        assert_in_system(g.vm(i), p, bytes, what);
}

// Every page of the span is mapped on device @i, in system memory or in
// its own VRAM (where the placement policy leaves it depends on the
// memory's history), never in another device's VRAM.
void assert_mapped_local(const Gpus& g, int i, const void* p, uint64_t bytes, const char* what)
{
    const auto pages = query(g.vm(i), p, bytes);
    for (size_t n = 0; n < pages.size(); ++n)
        igt_assert_f((pages[n] & DRM_SIMGPU_PAGE_MAPPED) &&
                         (!(pages[n] & DRM_SIMGPU_PAGE_VRAM) ||
                          (pages[n] & page_device_mask) == g.id[i] << DRM_SIMGPU_PAGE_DEVICE_SHIFT),
                     "%s: on device %u page %zu (0x%llx) has flags 0x%x", what, g.id[i], n,
                     static_cast<unsigned long long>((va(p) & ~(page_size - 1)) + n * page_size),
                     pages[n]);
}

// The two devices' views of each page of the span agree: a page a device
// maps in VRAM is in that device's VRAM and mapped by no other device, so
// that two devices that both map a page map the same system page.
void assert_coherent(const Gpus& g, const void* p, uint64_t bytes, const char* what)
{
    std::array<std::vector<uint32_t>, num_gpus> pages;
    for (int i = 0; i < num_gpus; ++i)
        pages[i] = query(g.vm(i), p, bytes);
    const auto mapped = [](uint32_t f) { return (f & DRM_SIMGPU_PAGE_MAPPED) != 0; };
    const auto in_vram = [&](uint32_t f) { return mapped(f) && (f & DRM_SIMGPU_PAGE_VRAM); };
    for (size_t n = 0; n < pages[0].size(); ++n) {
        const uint32_t f0 = pages[0][n], f1 = pages[1][n];
        bool bad = (mapped(f0) && mapped(f1) && (in_vram(f0) || in_vram(f1)));
        for (int i = 0; i < num_gpus; ++i)
            bad = bad || (in_vram(pages[i][n]) && (pages[i][n] & page_device_mask) !=
                                                      g.id[i] << DRM_SIMGPU_PAGE_DEVICE_SHIFT);
        igt_assert_f(!bad,
                     "%s: page %zu (0x%llx) is mapped inconsistently: device %u flags 0x%x, "
                     "device %u flags 0x%x",
                     what, n,
                     static_cast<unsigned long long>((va(p) & ~(page_size - 1)) + n * page_size),
                     g.id[0], f0, g.id[1], f1);
    }
}

// ---------------------------------------------------------------------------
// Atomics on one counter from both devices and the CPU.

struct AtomicsSetup {
    std::optional<uint32_t> policy; // MADVISE(ATOMIC) on both VMs, or none
    const char* name = "default";
};

void atomics_across_devices(Gpus& g, const AtomicsSetup& setup)
{
    constexpr int min_jobs = 3;
    constexpr int max_jobs = 400;
    constexpr int per_job = 48;
    constexpr double busy_ms = 1500;
    constexpr auto pause = std::chrono::microseconds(500);

    Area a(chunk_2m);
    std::memset(a.data(), 0, 64 * KiB);
    // A qword and a dword counter in one page.
    auto* q = reinterpret_cast<uint64_t*>(a.at(0x1238));
    auto* d = reinterpret_cast<uint32_t*>(a.at(0x1240));
    if (setup.policy)
        for (int i = 0; i < num_gpus; ++i)
            igt_assert_ok(
                g.vm(i).madvise(va(a.data()), chunk_2m, DRM_SIMGPU_MADV_ATOMIC, *setup.policy));

    const auto s0 = snapshot(g);
    std::atomic<uint64_t> cpu_rounds{0};
    std::array<uint64_t, num_gpus> q_adds{}, d_adds{};
    std::array<int, num_gpus> jobs{};
    {
        std::jthread cpu([&](std::stop_token stop) {
            while (!stop.stop_requested()) {
                __atomic_fetch_add(q, 1, __ATOMIC_SEQ_CST);
                __atomic_fetch_add(d, 1, __ATOMIC_SEQ_CST);
                cpu_rounds.fetch_add(1);
                std::this_thread::sleep_for(pause);
            }
        });
        while (cpu_rounds.load() == 0)
            std::this_thread::yield();
        const uint64_t rounds_before = cpu_rounds.load();
        const int64_t t0 = now_ns();
        on_both([&](int i) {
            for (int j = 0; j < max_jobs; ++j) {
                if (j >= min_jobs && elapsed_ms(t0) >= busy_ms)
                    break;
                BatchBuilder b;
                for (int k = 0; k < per_job; ++k) {
                    switch ((k + i) % 3) {
                    case 0:
                        b.atomic(DRM_SIMGPU_ATOMIC_INC, va(q), 0);
                        q_adds[i] += 1;
                        break;
                    case 1:
                        b.atomic(DRM_SIMGPU_ATOMIC_ADD, va(q), 3 + i);
                        q_adds[i] += 3 + i;
                        break;
                    default:
                        b.atomic(DRM_SIMGPU_ATOMIC_ADD, va(d), 5 + i, 0, 0, true);
                        d_adds[i] += 5 + i;
                        break;
                    }
                }
                b.batch_end();
                run_ok(g.gpu[i], b);
                ++jobs[i];
            }
        });
        const uint64_t during = cpu_rounds.load() - rounds_before;
        igt_info("%s: %d and %d jobs of %d atomics on devices %u and %u in %.0f ms, against %llu "
                 "CPU rounds meanwhile\n",
                 setup.name, jobs[0], jobs[1], per_job, g.id[0], g.id[1], elapsed_ms(t0),
                 static_cast<unsigned long long>(during));
        igt_assert_f(during > 0, "the CPU thread made no progress while the GPUs ran");
    }
    const auto s1 = snapshot(g);

    const uint64_t rounds = cpu_rounds.load();
    const uint64_t want_q = rounds + q_adds[0] + q_adds[1];
    const uint32_t want_d = static_cast<uint32_t>(rounds + d_adds[0] + d_adds[1]);
    const uint64_t got_q = *static_cast<volatile uint64_t*>(q);
    const uint32_t got_d = *static_cast<volatile uint32_t*>(d);
    igt_assert_f(got_q == want_q,
                 "qword counter %llu, expected %llu: %llu CPU + %llu device %u + %llu device %u",
                 static_cast<unsigned long long>(got_q), static_cast<unsigned long long>(want_q),
                 static_cast<unsigned long long>(rounds),
                 static_cast<unsigned long long>(q_adds[0]), g.id[0],
                 static_cast<unsigned long long>(q_adds[1]), g.id[1]);
    igt_assert_f(got_d == want_d,
                 "dword counter %u, expected %u: %llu CPU + %llu device %u + %llu device %u",
                 got_d, want_d, static_cast<unsigned long long>(rounds),
                 static_cast<unsigned long long>(d_adds[0]), g.id[0],
                 static_cast<unsigned long long>(d_adds[1]), g.id[1]);
    // Both devices read the same totals.
    for (int i = 0; i < num_gpus; ++i) {
        GpuBuffer out = gpu_read(g.gpu[i], q, 16);
        igt_assert_eq(*out.as<uint64_t>(), want_q);
        igt_assert_eq(out.as<uint32_t>()[2], want_d);
    }
    assert_coherent(g, a.data(), 64 * KiB, "the counters' page after the read");

    info_both(setup.name, g, s0, s1);
    for (int i = 0; i < num_gpus; ++i) {
        igt_assert_eq(stats_delta(s0, s1, i, "jobs_failed"), 0u);
        igt_assert_lte(jobs[i], stats_delta(s0, s1, i, "jobs_completed"));
        const uint64_t excl = svm_delta(s0, s1, i, "exclusive_pages");
        const uint64_t to_vram = svm_delta(s0, s1, i, "migrate_to_vram_pages");
        igt_info("%s, device %u: exclusive_pages %llu, faults %llu\n", setup.name, g.id[i],
                 static_cast<unsigned long long>(excl),
                 static_cast<unsigned long long>(stats_delta(s0, s1, i, "faults")));
        if (!setup.policy)
            continue;
        if (*setup.policy == uint32_t{DRM_SIMGPU_MADV_ATOMIC_GLOBAL}) {
            // Held exclusive in system memory, never migrated.
            igt_assert_lte(1u, excl);
            igt_assert_eq(to_vram, 0u);
        } else {
            // In the device's VRAM, or held exclusive where it could not
            // move.
            igt_assert_lte(1u, excl + to_vram);
        }
    }
}

// ---------------------------------------------------------------------------
// A linked list of malloc'd nodes.

struct SumOut {
    uint64_t sum = 0;
    uint64_t count = 0;
};

// KERNEL_LIST_SUM from @head on @gpu.
SumOut list_sum(SvmGpu& gpu, const drm_simgpu_list_node* head, uint64_t max_nodes)
{
    GpuBuffer out = make_buffer(gpu.vm(), page_size);
    std::memset(out.bytes(), 0xa5, 16);
    const drm_simgpu_kargs_list_sum args{
        .head = va(head), .dst = out.gpu(0), .count_out = out.gpu(8), .max_nodes = max_nodes};
    BatchBuilder b;
    igt_assert(gpu.launch(b, DRM_SIMGPU_KERNEL_LIST_SUM, &args, sizeof(args)));
    b.batch_end();
    run_ok(gpu, b);
    return {out.as<uint64_t>()[0], out.as<uint64_t>()[1]};
}

// A list of @n nodes, each alone in a 2 MiB-aligned block of its own
// malloc'd allocation (so that whatever chunk the kernel moves a node in
// holds no other node), in list order.
class NodeList {
public:
    explicit NodeList(int n, uint32_t seed)
    {
        std::mt19937_64 rng(seed);
        drm_simgpu_list_node* prev = nullptr;
        for (int k = 0; k < n; ++k) {
            void* p = std::malloc(2 * chunk_2m);
            igt_assert(p);
            allocations_.emplace_back(p, &std::free);
            std::byte* block = reinterpret_cast<std::byte*>(round_up(va(p), chunk_2m));
            auto* node = reinterpret_cast<drm_simgpu_list_node*>(
                block + static_cast<uint64_t>(k % 61) * sizeof(drm_simgpu_list_node));
            node->next = 0;
            node->value = rng() >> 8;
            sum_ += node->value;
            if (prev)
                prev->next = va(node);
            else
                head_ = node;
            prev = node;
            blocks_.push_back(block);
        }
    }

    const drm_simgpu_list_node* head() const { return head_; }
    uint64_t sum() const { return sum_; }
    uint64_t size() const { return blocks_.size(); }
    // The 2 MiB block of node @k.
    std::byte* block(size_t k) const { return blocks_[k]; }

private:
    std::vector<std::unique_ptr<void, decltype(&std::free)>> allocations_;
    std::vector<std::byte*> blocks_;
    drm_simgpu_list_node* head_ = nullptr;
    uint64_t sum_ = 0;
};

void check_sum(const SumOut& got, const NodeList& list, const char* what)
{
    igt_assert_f(got.count == list.size() && got.sum == list.sum(),
                 "%s: %llu nodes summing to %llu, expected %llu nodes summing to %llu", what,
                 static_cast<unsigned long long>(got.count),
                 static_cast<unsigned long long>(got.sum),
                 static_cast<unsigned long long>(list.size()),
                 static_cast<unsigned long long>(list.sum()));
}

// ---------------------------------------------------------------------------
// two-processes: the child's work on device @device, reported through its
// exit code (no igt macro in a child).

constexpr uint64_t child_size = 4 * MiB;
constexpr int child_rounds = 6;

[[noreturn]] void child_work(const Pipe& up, const Pipe& down, uint32_t device)
{
    auto found = simgpu::Device::enumerate();
    if (!found.ok() || found.value().size() <= device)
        ::_exit(10);
    SvmGpu gpu;
    if (gpu.init(found.value()[device]) != 0)
        ::_exit(11);
    auto* p = map_aligned(child_size);
    if (!p)
        ::_exit(12);
    fill_words(p, child_size, 70);
    char c = 0;
    if (!up.send('r') || !down.recv(&c, 120000))
        ::_exit(13);
    std::vector<uint32_t> incs;
    for (int r = 0; r < child_rounds; ++r) {
        const uint32_t inc = 700 + static_cast<uint32_t>(r);
        gpu.set_inc(inc);
        BatchBuilder b;
        if (!gpu.add_inc(b, p, child_size))
            ::_exit(14);
        b.batch_end();
        if (const int err = gpu.run(b); err != 0) {
            std::fprintf(stderr, "child %d: job %d failed: %s\n", ::getpid(), r,
                         std::strerror(-err));
            ::_exit(15);
        }
        incs.push_back(inc);
        const uint64_t wrong = first_wrong_word(p, child_size, 70, incs);
        if (wrong != UINT64_MAX) {
            std::fprintf(stderr, "child %d: round %d: word %llu wrong\n", ::getpid(), r,
                         static_cast<unsigned long long>(wrong));
            ::_exit(16);
        }
    }
    ::_exit(0);
}

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    t.set_timeout(std::chrono::seconds(300));
    std::vector<Env> envs;

    t.fixture([&] {
        envs = open_envs();
        igt_require_f(envs.size() >= num_gpus,
                      "%zu simgpu device: load the module with num_devices=2 or more",
                      envs.size());
        for (int i = 0; i < num_gpus; ++i)
            igt_require_f(
                envs[i].has_cap(DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR),
                "device %u cannot mirror the CPU address space (caps 0x%llx)",
                envs[i].info.device_id, static_cast<unsigned long long>(envs[i].info.caps));
        const bool vram =
            std::all_of(envs.begin(), envs.begin() + num_gpus,
                        [](const Env& e) { return e.has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION); });
        igt_info("%zu devices; VRAM migration %s\n", envs.size(),
                 vram ? "supported" : "not supported: everything stays in system memory");
    });

    const auto require_vram = [&] {
        for (int i = 0; i < num_gpus; ++i)
            require_vram_migration(envs[i]);
    };

    // --- one pointer, two devices ------------------------------------------------

    t.subtest("the-program", [&] {
        // fd0/fd1, vm0/vm1, q0/q1 (SvmGpu), then ptr = malloc(): a job on
        // q0 transforms it, then a job on q1, and the CPU checks.
        Gpus g(envs);
        constexpr uint64_t size = 6 * MiB + 12 * KiB + 40;
        std::unique_ptr<uint32_t, decltype(&std::free)> mem(
            static_cast<uint32_t*>(std::malloc(size)), &std::free);
        igt_assert(mem);
        uint32_t* ptr = mem.get();
        // The 2 MiB blocks wholly inside the allocation hold nothing else,
        // so nothing but this test moves them.
        std::byte* in = reinterpret_cast<std::byte*>(round_up(va(ptr), chunk_2m));
        const uint64_t in_bytes = round_down(va(ptr) + size, chunk_2m) - va(in);
        fill_words(ptr, size, 1);

        const auto s0 = snapshot(g);
        gpu_add(g.gpu[0], ptr, size, 11);
        const auto s1 = snapshot(g);
        assert_mapped_here(g, 0, in, in_bytes, "ptr after the job on q0");
        assert_unmapped(g.vm(1), ptr, size, "ptr on device 1 before its job");
        igt_assert_lte(1u, stats_delta(s0, s1, 0, "faults"));
        igt_assert_eq(stats_delta(s0, s1, 1, "faults"), 0u);
        if (g.vram)
            igt_assert_lte(in_bytes / page_size, svm_delta(s0, s1, 0, "migrate_to_vram_pages"));

        gpu_add(g.gpu[1], ptr, size, 12);
        const auto s2 = snapshot(g);
        // Where device 1 takes it from device 0's VRAM to is the business
        // of cross-device-migration.
        assert_mapped_local(g, 1, in, in_bytes, "ptr after the job on q1");
        assert_coherent(g, ptr, size, "ptr after the job on q1");
        igt_assert_lte(1u, stats_delta(s1, s2, 1, "faults"));
        if (g.vram) {
            // Out of device 0's VRAM.
            assert_not_in_vram(g.vm(0), in, in_bytes, "ptr on device 0 after the job on q1");
            igt_assert_lte(in_bytes / page_size, svm_delta(s1, s2, 0, "migrate_to_ram_pages"));
        } else {
            // Both devices map the same system pages.
            assert_in_system(g.vm(0), in, in_bytes, "ptr on device 0 after the job on q1");
            for (int i = 0; i < num_gpus; ++i) {
                igt_assert_eq(svm_delta(s0, s2, i, "migrate_to_vram_pages"), 0u);
                igt_assert_eq(svm_delta(s0, s2, i, "migrate_to_ram_pages"), 0u);
            }
        }
        info_both("the program", g, s0, s2);

        check_added(ptr, size, 1, {11, 12}, "ptr on the CPU after q0 and q1");
    });

    t.subtest("ping-pong", [&] {
        // One buffer goes device 0 -> device 1 -> CPU, many times; each
        // step adds to every word.
        constexpr int rounds = 12;
        Gpus g(envs);
        Area a(chunk_2m);
        fill_words(a.data(), chunk_2m, 2);
        std::vector<uint32_t> shadow(a.words(), a.words() + chunk_2m / 4);
        const auto s0 = snapshot(g);
        for (int r = 0; r < rounds; ++r) {
            for (int i = 0; i < num_gpus; ++i) {
                const uint32_t inc = 200 + static_cast<uint32_t>(r * num_gpus + i);
                gpu_add(g.gpu[i], a.data(), chunk_2m, inc);
                for (uint64_t w = 0; w < shadow.size(); ++w)
                    shadow[w] += SvmGpu::inc_value(inc, w);
                // In this device's VRAM, or in system memory (once the
                // chunk bounced too often); never where the other device
                // has it.
                assert_mapped_local(g, i, a.data(), chunk_2m, "after a device's turn");
                assert_coherent(g, a.data(), chunk_2m, "after a device's turn");
            }
            const uint32_t add = 0x01010101u * static_cast<uint32_t>(r + 1);
            volatile uint32_t* w = a.words();
            for (uint64_t n = 0; n < shadow.size(); ++n) {
                if (w[n] != shadow[n])
                    igt_fail("round %d: word %llu is 0x%08x, expected 0x%08x", r,
                             static_cast<unsigned long long>(n), w[n], shadow[n]);
                w[n] = shadow[n] += add;
            }
            assert_not_in_vram(g.vm(0), a.data(), chunk_2m, "after the CPU's turn");
            assert_not_in_vram(g.vm(1), a.data(), chunk_2m, "after the CPU's turn");
        }
        const auto s1 = snapshot(g);
        for (uint64_t n = 0; n < shadow.size(); ++n)
            igt_assert_f(a.words()[n] == shadow[n], "word %llu is 0x%08x, expected 0x%08x",
                         static_cast<unsigned long long>(n), a.words()[n], shadow[n]);
        info_both("ping-pong", g, s0, s1);
        for (int i = 0; i < num_gpus; ++i) {
            igt_assert_eq(stats_delta(s0, s1, i, "jobs_failed"), 0u);
            if (!g.vram)
                igt_assert_eq(svm_delta(s0, s1, i, "migrate_to_vram_pages"), 0u);
        }
        // Device 0 finds the chunk in system memory on its first turn and
        // moves it to its VRAM, from where it leaves again.
        if (g.vram) {
            igt_assert_lte(chunk_pages, svm_delta(s0, s1, 0, "migrate_to_vram_pages"));
            igt_assert_lte(chunk_pages, svm_delta(s0, s1, 0, "migrate_to_ram_pages"));
        }
    });

    // --- both devices at once ---------------------------------------------------------

    t.subtest("concurrent-disjoint-halves", [&] {
        constexpr uint64_t size = 8 * MiB, half = size / 2;
        constexpr int rounds = 3;
        Gpus g(envs);
        Area a(size);
        fill_words(a.data(), size, 3);
        const auto s0 = snapshot(g);
        on_both([&](int i) {
            for (int r = 0; r < rounds; ++r)
                gpu_add(g.gpu[i], a.at(i * half), half, 300 + 10 * i + r);
        });
        const auto s1 = snapshot(g);
        for (int i = 0; i < num_gpus; ++i) {
            std::byte* mine = a.at(i * half);
            assert_mapped_here(g, i, mine, half, "the device's half");
            assert_unmapped(g.vm(i), a.at((1 - i) * half), half, "the other device's half");
            igt_assert_eq(stats_delta(s0, s1, i, "jobs_failed"), 0u);
            igt_assert_eq(svm_delta(s0, s1, i, "migrate_to_ram_pages"), 0u);
            if (g.vram)
                igt_assert_lte(half / page_size, svm_delta(s0, s1, i, "migrate_to_vram_pages"));
        }
        assert_coherent(g, a.data(), size, "both halves");
        info_both("disjoint halves", g, s0, s1);
        for (int i = 0; i < num_gpus; ++i) {
            const uint32_t b = 300 + 10 * static_cast<uint32_t>(i);
            check_added(a.at(i * half), half, 3, {b, b + 1, b + 2}, "a half on the CPU",
                        i * half / 4);
        }
    });

    t.subtest("concurrent-overlapping", [&] {
        // Both devices read the same memory at once, then update the same
        // counters at once with atomics: both results are defined.
        constexpr uint64_t size = 4 * MiB;
        constexpr int reads = 3;
        Gpus g(envs);
        Area a(size);
        fill_words(a.data(), size, 4);
        const auto s0 = snapshot(g);
        on_both([&](int i) {
            for (int r = 0; r < reads; ++r) {
                GpuBuffer out = gpu_read(g.gpu[i], a.data(), size);
                check_words(out.bytes(), size, 4, "a device's read of the shared memory");
            }
        });
        const auto s1 = snapshot(g);
        assert_coherent(g, a.data(), size, "after the concurrent reads");
        check_words(a.data(), size, 4, "the shared memory on the CPU after the reads");
        info_both("concurrent reads", g, s0, s1);

        // One qword counter in each page of the first 2 MiB; each job adds
        // to every counter.
        constexpr int jobs = 4;
        constexpr uint64_t counters = chunk_pages;
        const auto counter = [&](uint64_t n) { return a.at(n * page_size + 8 * (n % 16)); };
        std::vector<uint64_t> start(counters);
        for (uint64_t n = 0; n < counters; ++n)
            start[n] = *reinterpret_cast<volatile uint64_t*>(counter(n));
        on_both([&](int i) {
            for (int j = 0; j < jobs; ++j) {
                BatchBuilder b;
                for (uint64_t n = 0; n < counters; ++n)
                    b.atomic(DRM_SIMGPU_ATOMIC_ADD, va(counter(n)), 1 + i * 16 + j);
                b.batch_end();
                run_ok(g.gpu[i], b);
            }
        });
        const auto s2 = snapshot(g);
        // Each counter got (1 + 2 + 3 + 4) + (17 + 18 + 19 + 20).
        constexpr uint64_t added = 10 + 74;
        for (uint64_t n = 0; n < counters; ++n) {
            const uint64_t got = *reinterpret_cast<volatile uint64_t*>(counter(n));
            igt_assert_f(got == start[n] + added, "counter %llu is 0x%llx, expected 0x%llx",
                         static_cast<unsigned long long>(n), static_cast<unsigned long long>(got),
                         static_cast<unsigned long long>(start[n] + added));
        }
        // Around the counters, nothing changed.
        for (uint64_t n = 0; n < counters; ++n) {
            const uint64_t off = n * page_size + 8 * (n % 16);
            check_words(a.at(n * page_size), off - n * page_size, 4, "before a counter",
                        n * page_size / 4);
            check_words(a.at(off + 8), (n + 1) * page_size - off - 8, 4, "after a counter",
                        (off + 8) / 4);
        }
        info_both("concurrent atomics", g, s1, s2);
        for (int i = 0; i < num_gpus; ++i)
            igt_assert_eq(stats_delta(s0, s2, i, "jobs_failed"), 0u);
    });

    // --- VRAM of one device, another device's access -----------------------------------

    t.subtest("cross-device-migration", [&] {
        require_vram();
        Gpus g(envs);
        Area a(chunk_2m);
        fill_words(a.data(), chunk_2m, 5);
        const auto s0 = snapshot(g);
        gpu_add(g.gpu[0], a.data(), chunk_2m, 51);
        const auto s1 = snapshot(g);
        assert_in_vram(g.vm(0), g.id[0], a.data(), chunk_2m, "after device 0's job");
        assert_huge(g.vm(0), a.data(), chunk_2m, "after device 0's job");
        igt_assert_lte(chunk_pages, svm_delta(s0, s1, 0, "migrate_to_vram_pages"));
        igt_assert_eq(svm_delta(s0, s1, 1, "migrate_to_vram_pages"), 0u);

        // Device 1 reads it: the data is right, wherever it is now.
        GpuBuffer out = gpu_read(g.gpu[1], a.data(), chunk_2m);
        const auto s2 = snapshot(g);
        check_added(out.bytes(), chunk_2m, 5, {51}, "device 1's read of device 0's VRAM");
        info_both("device 1 reads device 0's VRAM", g, s1, s2);
        // It left device 0's VRAM, through system memory (no
        // interconnect), into device 1's.
        igt_assert_lte(chunk_pages, svm_delta(s1, s2, 0, "migrate_to_ram_pages"));
        igt_assert_lte(1u, svm_delta(s1, s2, 0, "migrate_to_ram_chunks"));
        assert_not_in_vram(g.vm(0), a.data(), chunk_2m, "device 0 after device 1's read");
        assert_in_vram(g.vm(1), g.id[1], a.data(), chunk_2m, "device 1 after its read");
        igt_assert_lte(chunk_pages, svm_delta(s1, s2, 1, "migrate_to_vram_pages"));
        assert_coherent(g, a.data(), chunk_2m, "after device 1's read");

        // Device 1 writes it, device 0 takes it back the same way.
        gpu_add(g.gpu[1], a.data(), chunk_2m, 52);
        gpu_add(g.gpu[0], a.data(), chunk_2m, 53);
        const auto s3 = snapshot(g);
        info_both("device 1 writes, device 0 takes it back", g, s2, s3);
        assert_not_in_vram(g.vm(1), a.data(), chunk_2m, "device 1 after device 0's job");
        assert_in_vram(g.vm(0), g.id[0], a.data(), chunk_2m, "device 0 after its second job");
        igt_assert_lte(chunk_pages, svm_delta(s2, s3, 1, "migrate_to_ram_pages"));
        igt_assert_lte(chunk_pages, svm_delta(s2, s3, 0, "migrate_to_vram_pages"));
        assert_coherent(g, a.data(), chunk_2m, "after device 0's second job");

        check_added(a.data(), chunk_2m, 5, {51, 52, 53}, "the CPU's read at the end");
        const auto s4 = snapshot(g);
        igt_assert_lte(chunk_pages, svm_delta(s3, s4, 0, "migrate_to_ram_pages"));
        for (int i = 0; i < num_gpus; ++i)
            igt_assert_eq(stats_delta(s0, s4, i, "jobs_failed"), 0u);
    });

    t.subtest("preferred-location-other-device", [&] {
        // LOC_DEVICE naming the other device needs an interconnect, and
        // there is none: -ENOLINK, and the attributes stay as they were.
        // Without VRAM migration LOC_DEVICE itself is refused first.
        Gpus g(envs);
        Area a(chunk_2m);
        const uint64_t s = va(a.data());
        const int expect = g.vram ? ENOLINK : EOPNOTSUPP;
        const auto attrs_of = [&](int i) {
            auto r = g.vm(i).query_attrs(s, chunk_2m);
            igt_assert_ok(r);
            return std::move(r).value();
        };
        for (int i = 0; i < num_gpus; ++i) {
            const int other = 1 - i;
            igt_assert_errno(g.vm(i).madvise(s, chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                             DRM_SIMGPU_MADV_LOC_DEVICE, envs[other].dev.fd()),
                             expect);
            const auto attrs = attrs_of(i);
            igt_assert_eq(attrs.size(), 1u);
            igt_assert_eq(attrs[0].preferred_loc, uint32_t{DRM_SIMGPU_MADV_LOC_DEFAULT});
            igt_assert_eq(attrs[0].preferred_device, 0u);
        }
        if (!g.vram)
            return;
        // The own device's fd works, and a refused advice after it changes
        // nothing.
        for (int i = 0; i < num_gpus; ++i) {
            igt_assert_ok(g.vm(i).madvise(s, chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                          DRM_SIMGPU_MADV_LOC_DEVICE, envs[i].dev.fd()));
            igt_assert_errno(g.vm(i).madvise(s, chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                             DRM_SIMGPU_MADV_LOC_DEVICE, envs[1 - i].dev.fd()),
                             ENOLINK);
            const auto attrs = attrs_of(i);
            igt_assert_eq(attrs.size(), 1u);
            igt_assert_eq(attrs[0].preferred_loc, uint32_t{DRM_SIMGPU_MADV_LOC_DEVICE});
            igt_assert_eq(attrs[0].preferred_device, g.id[i]);
        }
    });

    t.subtest("migration-policy-across-devices", [&] {
        // Device 1 prefers its own VRAM for two buffers that device 0
        // moved into its VRAM: MIGRATE_ALL_PAGES brings the pages over
        // (through system memory), MIGRATE_SYSTEM_PAGES maps them in system
        // memory.
        require_vram();
        Gpus g(envs);
        Area all(chunk_2m), sys(chunk_2m);
        for (const Area* a : {&all, &sys})
            igt_assert_ok(g.vm(1).madvise(va(a->data()), chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                          DRM_SIMGPU_MADV_LOC_DEVICE, -1));
        igt_assert_ok(g.vm(1).madvise(va(all.data()), chunk_2m, DRM_SIMGPU_MADV_MIGRATION,
                                      DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES));
        igt_assert_ok(g.vm(1).madvise(va(sys.data()), chunk_2m, DRM_SIMGPU_MADV_MIGRATION,
                                      DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES));
        fill_words(all.data(), chunk_2m, 6);
        fill_words(sys.data(), chunk_2m, 7);
        gpu_add(g.gpu[0], all.data(), chunk_2m, 61);
        gpu_add(g.gpu[0], sys.data(), chunk_2m, 71);
        assert_in_vram(g.vm(0), g.id[0], all.data(), chunk_2m, "device 0's first buffer");
        assert_in_vram(g.vm(0), g.id[0], sys.data(), chunk_2m, "device 0's second buffer");

        const auto s0 = snapshot(g);
        gpu_add(g.gpu[1], sys.data(), chunk_2m, 72);
        const auto s1 = snapshot(g);
        info_both("MIGRATE_SYSTEM_PAGES", g, s0, s1);
        assert_in_system(g.vm(1), sys.data(), chunk_2m, "MIGRATE_SYSTEM_PAGES on device 1");
        assert_coherent(g, sys.data(), chunk_2m, "MIGRATE_SYSTEM_PAGES");
        igt_assert_lte(chunk_pages, svm_delta(s0, s1, 0, "migrate_to_ram_pages"));
        igt_assert_eq(svm_delta(s0, s1, 1, "migrate_to_vram_pages"), 0u);

        gpu_add(g.gpu[1], all.data(), chunk_2m, 62);
        const auto s2 = snapshot(g);
        info_both("MIGRATE_ALL_PAGES", g, s1, s2);
        igt_assert_lte(chunk_pages, svm_delta(s1, s2, 0, "migrate_to_ram_pages"));
        assert_not_in_vram(g.vm(0), all.data(), chunk_2m, "device 0 after device 1's job");
        assert_in_vram(g.vm(1), g.id[1], all.data(), chunk_2m, "MIGRATE_ALL_PAGES on device 1");
        igt_assert_lte(chunk_pages, svm_delta(s1, s2, 1, "migrate_to_vram_pages"));
        assert_coherent(g, all.data(), chunk_2m, "MIGRATE_ALL_PAGES");

        check_added(all.data(), chunk_2m, 6, {61, 62}, "the MIGRATE_ALL_PAGES buffer");
        check_added(sys.data(), chunk_2m, 7, {71, 72}, "the MIGRATE_SYSTEM_PAGES buffer");
    });

    // --- atomics --------------------------------------------------------------------

    t.subtest("atomics-across-devices", [&] {
        // Default attributes: atomics in place wherever the page is (system
        // memory where nothing migrates).
        Gpus g(envs);
        atomics_across_devices(g, {});
    });

    t.subtest("atomics-across-devices-global", [&] {
        require_vram();
        Gpus g(envs);
        atomics_across_devices(g, {DRM_SIMGPU_MADV_ATOMIC_GLOBAL, "ATOMIC_GLOBAL"});
    });

    t.subtest("atomics-across-devices-device", [&] {
        require_vram();
        Gpus g(envs);
        atomics_across_devices(g, {DRM_SIMGPU_MADV_ATOMIC_DEVICE, "ATOMIC_DEVICE"});
    });

    // --- a list across devices --------------------------------------------------------

    t.subtest("linked-list-walk", [&] {
        constexpr int num_nodes = 16;
        Gpus g(envs);
        NodeList list(num_nodes, 8);
        if (g.vram) {
            // Consecutive nodes in different devices' VRAM.
            for (size_t k = 0; k < list.size(); ++k)
                igt_assert_ok(g.vm(k % num_gpus).prefetch(va(list.block(k)), chunk_2m,
                                                          DRM_SIMGPU_MEM_VRAM));
            for (size_t k = 0; k < list.size(); ++k) {
                const int i = static_cast<int>(k % num_gpus);
                assert_in_vram(g.vm(i), g.id[i], list.block(k), chunk_2m, "a prefetched node");
                assert_unmapped(g.vm(1 - i), list.block(k), chunk_2m,
                                "a node prefetched by the other device");
            }
        } else {
            // No VRAM: the nodes stay in system memory, both devices map them.
            igt_assert_errno(g.vm(0).prefetch(va(list.block(0)), chunk_2m, DRM_SIMGPU_MEM_VRAM),
                             EOPNOTSUPP);
            for (int i = 0; i < num_gpus; ++i)
                for (size_t k = 0; k < list.size(); ++k)
                    igt_assert_ok(g.vm(i).prefetch(va(list.block(k)), chunk_2m,
                                                   DRM_SIMGPU_MEM_SYSTEM));
            for (size_t k = 0; k < list.size(); ++k)
                for (int i = 0; i < num_gpus; ++i)
                    assert_in_system(g.vm(i), list.block(k), chunk_2m, "a prefetched node");
        }
        const auto s0 = snapshot(g);
        check_sum(list_sum(g.gpu[0], list.head(), num_nodes + 1), list, "device 0's walk");
        const auto s1 = snapshot(g);
        info_both("device 0's walk", g, s0, s1);
        if (g.vram) {
            // Device 1's nodes came to device 0 through system memory.
            igt_assert_lte(num_nodes / 2 * chunk_pages,
                           svm_delta(s0, s1, 1, "migrate_to_ram_pages"));
            for (size_t k = 1; k < list.size(); k += 2)
                assert_not_in_vram(g.vm(1), list.block(k), chunk_2m,
                                   "device 1's node after device 0's walk");
            // Its own nodes it found in place.
            for (size_t k = 0; k < list.size(); k += 2)
                assert_in_vram(g.vm(0), g.id[0], list.block(k), page_size,
                               "device 0's node after its walk");
        } else {
            igt_assert_eq(stats_delta(s0, s1, 0, "faults"), 0u);
        }
        for (size_t k = 0; k < list.size(); ++k)
            assert_coherent(g, list.block(k), page_size, "a node after device 0's walk");

        // Both devices walk it at once.
        on_both([&](int i) {
            check_sum(list_sum(g.gpu[i], list.head(), num_nodes + 1), list, "a concurrent walk");
        });
        const auto s2 = snapshot(g);
        info_both("concurrent walks", g, s1, s2);
        if (!g.vram)
            for (int i = 0; i < num_gpus; ++i)
                igt_assert_eq(stats_delta(s1, s2, i, "faults"), 0u);
        for (int i = 0; i < num_gpus; ++i)
            igt_assert_eq(stats_delta(s0, s2, i, "jobs_failed"), 0u);
    });

    // --- processes --------------------------------------------------------------------

    t.subtest("two-processes", [&] {
        // This process uses both devices while a child uses device 1.
        constexpr uint64_t size = 4 * MiB;
        constexpr int rounds = 6;
        const uint32_t shared_dev = envs[1].info.device_id;
        const Pipe up, down;
        const pid_t pid = ::fork();
        igt_assert(pid >= 0);
        if (pid == 0)
            child_work(up, down, shared_dev);
        char c = 0;
        if (!up.recv(&c, 120000) || c != 'r') {
            assert_child_ok(pid, 60000, "child on device 1");
            igt_fail("the child did not get ready");
        }
        Gpus g(envs);
        std::array<std::unique_ptr<Area>, num_gpus> areas;
        for (int i = 0; i < num_gpus; ++i) {
            areas[i] = std::make_unique<Area>(size);
            fill_words(areas[i]->data(), size, 80 + i);
        }
        const auto s0 = snapshot(g);
        igt_assert(down.send('g'));
        on_both([&](int i) {
            std::vector<uint32_t> incs;
            for (int r = 0; r < rounds; ++r) {
                incs.push_back(800 + 10 * static_cast<uint32_t>(i) + r);
                gpu_add(g.gpu[i], areas[i]->data(), size, incs.back());
            }
            assert_mapped_here(g, i, areas[i]->data(), size, "this process's memory");
            check_added(areas[i]->data(), size, 80 + i, incs, "this process's memory");
        });
        assert_child_ok(pid, 240000, "child on device 1");
        const auto s1 = snapshot(g);
        info_both("two processes", g, s0, s1);
        // Every job of both processes completed, none failed: this
        // process ran `rounds` jobs on each device, the child
        // child_rounds on device 1.
        for (int i = 0; i < num_gpus; ++i) {
            const uint64_t want = rounds + (g.id[i] == shared_dev ? child_rounds : 0);
            igt_assert_eq(stats_delta(s0, s1, i, "jobs_completed"), want);
            igt_assert_eq(stats_delta(s0, s1, i, "jobs_failed"), 0u);
        }
    });

    return t.exit_code();
}
