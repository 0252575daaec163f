// SPDX-License-Identifier: MIT
//
// simgpu_multi_gpu: several GPUs, one address space. Each device has its own
// fd, its own fault-mode VM mirroring the whole process and its own exec
// queue (SvmGpu), and all of them work on the same CPU pointers: malloc'd
// memory handed from one device to the other, a buffer passed around
// between two devices and the CPU, both devices at once on disjoint and on
// overlapping memory, one counter incremented atomically by both devices
// and the CPU, a linked list whose nodes live in different devices' VRAM,
// a second process sharing a device, and last one device unbound from the
// driver while both run jobs (then bound again). Every subtest checks the
// data the GPUs wrote or read, and where it matters the placement
// VM_QUERY_RANGE reports on each device (a page in a device's VRAM is
// mapped by that device and the devices linked to it only; devices that
// both map a page map the same page) and the counters of both devices in
// debugfs.
//
// Without an interconnect (the default), memory in one device's VRAM
// reaches another device through system memory (into its VRAM, or mapped
// in system memory with MIGRATE_SYSTEM_PAGES), and MADVISE cannot prefer
// another device's VRAM (-ENOLINK). With simgpu loaded with
// link_groups=0,1 the two devices share one: each maps a page in the
// other's VRAM in place, nothing migrates between them unless MADVISE
// PREFERRED_LOC LOC_DEVICE with MIGRATE_ALL_PAGES or a PREFETCH to VRAM
// asks for it (then device to device, not through system memory), and
// LOC_DEVICE may name the other device. The subtests run in both
// configurations and expect what the configuration does
// (QUERY_DEVICE.link_mask tells which); cross-device-migration needs the
// devices unlinked, the subtests "over a link" at the end need them linked.
// Subtests that need VRAM migration skip without
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
#include <utility>
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
const std::string platform_driver = "/sys/bus/platform/drivers/simgpu";
constexpr uint64_t chunk_pages = chunk_2m / page_size;

uint64_t round_down(uint64_t v, uint64_t align)
{
    return v / align * align;
}

// ---------------------------------------------------------------------------
// The devices.

// Whether both devices can migrate to VRAM and share an interconnect, so
// that each maps pages in the other's VRAM in place.
bool devices_linked(const std::vector<Env>& envs)
{
    for (int i = 0; i < num_gpus; ++i)
        if (!envs[i].has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION) ||
            !(envs[i].info.link_mask >> envs[1 - i].info.device_id & 1))
            return false;
    return true;
}

// What the fixture sets up: the simgpu devices, opened; the first two are
// the ones the subtests use.
struct Fixture {
    std::vector<Env> envs;
};

// The fixture: opens the devices, requires two that mirror the CPU
// address space, and checks that a link between them joins both ways.
void open_devices(Fixture& fx)
{
    std::vector<Env>& envs = fx.envs;
    envs = open_envs();
    igt_require_f(envs.size() >= num_gpus,
                  "%zu simgpu device: load the module with num_devices=2 or more", envs.size());
    for (int i = 0; i < num_gpus; ++i)
        igt_require_f(envs[i].has_cap(DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR),
                      "device %u cannot mirror the CPU address space (caps 0x%llx)",
                      envs[i].info.device_id, static_cast<unsigned long long>(envs[i].info.caps));
    const bool vram =
        std::all_of(envs.begin(), envs.begin() + num_gpus,
                    [](const Env& e) { return e.has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION); });
    // A link joins both ways.
    const auto links_to = [&](int i, int j) {
        return (envs[i].info.link_mask >> envs[j].info.device_id & 1) != 0;
    };
    igt_assert_f(links_to(0, 1) == links_to(1, 0),
                 "device %u link_mask 0x%llx, device %u link_mask 0x%llx", envs[0].info.device_id,
                 static_cast<unsigned long long>(envs[0].info.link_mask), envs[1].info.device_id,
                 static_cast<unsigned long long>(envs[1].info.link_mask));
    igt_info("%zu devices; VRAM migration %s; devices %u and %u %s\n", envs.size(),
             vram ? "supported" : "not supported: everything stays in system memory",
             envs[0].info.device_id, envs[1].info.device_id,
             links_to(0, 1) ? "linked" : "not linked");
}

// Skips unless both devices can migrate memory to their VRAM.
void require_vram(const std::vector<Env>& envs)
{
    for (int i = 0; i < num_gpus; ++i)
        require_vram_migration(envs[i]);
}

// Skips unless both devices can migrate to VRAM and share an interconnect.
void require_link(const std::vector<Env>& envs)
{
    require_vram(envs);
    igt_require_f(devices_linked(envs),
                  "devices %u and %u share no interconnect: load simgpu with link_groups=0,1",
                  envs[0].info.device_id, envs[1].info.device_id);
}

// Both devices with a mirror VM and a queue each; gpu[i] is device
// envs[i].info.device_id, which is i.
struct Gpus {
    std::array<SvmGpu, num_gpus> gpu;
    std::array<uint32_t, num_gpus> id{};
    bool vram = true; // both devices can migrate to VRAM
    bool linked;      // and map each other's VRAM in place

    explicit Gpus(const std::vector<Env>& envs) : linked(devices_linked(envs))
    {
        for (int i = 0; i < num_gpus; ++i) {
            start_gpu(gpu[i], envs[i]);
            id[i] = envs[i].info.device_id;
            vram = vram && envs[i].has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION);
        }
    }
    const Vm& vm(int i) const { return gpu[i].vm(); }
    // Whether device @i may map a page in the VRAM of device @device: its
    // own, or a linked one's.
    bool reaches(int i, uint32_t device) const
    {
        return device == id[i] || (linked && device == id[1 - i]);
    }
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

// No page moved into or out of either device's VRAM between @a and @b.
void assert_no_migrations(const Snapshot& a, const Snapshot& b, const Gpus& g, const char* what)
{
    for (int i = 0; i < num_gpus; ++i)
        for (const char* key : {"migrate_to_vram_pages", "migrate_to_ram_pages", "evicted_pages"})
            igt_assert_f(svm_delta(a, b, i, key) == 0, "%s: %s of device %u went up by %llu",
                         what, key, g.id[i],
                         static_cast<unsigned long long>(svm_delta(a, b, i, key)));
}

// Between @a and @b, a chunk's pages went into the VRAM of device @to, and
// none left for system memory on either device: they came device to device.
void assert_chunk_moved_device_to_device(const Snapshot& a, const Snapshot& b, int to)
{
    igt_assert_eq(svm_delta(a, b, to, "migrate_to_vram_pages"), chunk_pages);
    for (int i = 0; i < num_gpus; ++i)
        igt_assert_eq(svm_delta(a, b, i, "migrate_to_ram_pages"), 0u);
}

// No job failed on either device between @a and @b.
void assert_no_failed_jobs(const Snapshot& a, const Snapshot& b)
{
    for (int i = 0; i < num_gpus; ++i)
        igt_assert_eq(stats_delta(a, b, i, "jobs_failed"), 0u);
}

// ---------------------------------------------------------------------------
// Placement across devices.

uint32_t vram_device(uint32_t flags)
{
    return (flags & page_device_mask) >> DRM_SIMGPU_PAGE_DEVICE_SHIFT;
}

// Every page of the span is mapped on device @i: in its own VRAM where
// memory migrates, else in system memory.
void assert_mapped_here(const Gpus& g, int i, const void* p, uint64_t bytes, const char* what)
{
    if (g.vram)
        assert_in_vram(g.vm(i), g.id[i], p, bytes, what);
    else
        assert_in_system(g.vm(i), p, bytes, what);
}

// Every page of the span is mapped on device @i, in system memory, in its
// own VRAM or in a linked device's (where the placement policy leaves it
// depends on the memory's history), never in the VRAM of a device it has
// no link to.
void assert_mapped_local(const Gpus& g, int i, const void* p, uint64_t bytes, const char* what)
{
    const auto pages = query(g.vm(i), p, bytes);
    for (size_t n = 0; n < pages.size(); ++n)
        igt_assert_f((pages[n] & DRM_SIMGPU_PAGE_MAPPED) &&
                         (!(pages[n] & DRM_SIMGPU_PAGE_VRAM) ||
                          g.reaches(i, vram_device(pages[n]))),
                     "%s: on device %u page %zu (0x%llx) has flags 0x%x", what, g.id[i], n,
                     static_cast<unsigned long long>((va(p) & ~(page_size - 1)) + n * page_size),
                     pages[n]);
}

// Every page of the span that device @i maps is in the VRAM of device
// @device; pages it does not map are not checked. A fault over a linked
// device's VRAM zaps the other devices' mappings of the range, even when
// it moves nothing (migrate_vma_setup() invalidates the whole range).
void assert_in_vram_where_mapped(const Gpus& g, int i, uint32_t device, const void* p,
                                 uint64_t bytes, const char* what)
{
    const auto pages = query(g.vm(i), p, bytes);
    for (size_t n = 0; n < pages.size(); ++n)
        igt_assert_f(!(pages[n] & DRM_SIMGPU_PAGE_MAPPED) ||
                         (pages[n] & (DRM_SIMGPU_PAGE_VRAM | page_device_mask)) ==
                             (DRM_SIMGPU_PAGE_VRAM | device << DRM_SIMGPU_PAGE_DEVICE_SHIFT),
                     "%s: on device %u page %zu (0x%llx) has flags 0x%x, expected VRAM of device "
                     "%u or unmapped",
                     what, g.id[i], n,
                     static_cast<unsigned long long>((va(p) & ~(page_size - 1)) + n * page_size),
                     pages[n], device);
}

// The two devices' views of each page of the span agree: a page a device
// maps in VRAM is in its own VRAM or a linked device's, and two devices
// that both map a page map the same page: the same system page, or the
// same device's VRAM. Without a link, a page in VRAM is mapped by its
// device only.
void assert_coherent(const Gpus& g, const void* p, uint64_t bytes, const char* what)
{
    std::array<std::vector<uint32_t>, num_gpus> pages;
    for (int i = 0; i < num_gpus; ++i)
        pages[i] = query(g.vm(i), p, bytes);
    const auto mapped = [](uint32_t f) { return (f & DRM_SIMGPU_PAGE_MAPPED) != 0; };
    const auto in_vram = [&](uint32_t f) { return mapped(f) && (f & DRM_SIMGPU_PAGE_VRAM); };
    // Where a mapped page is: system memory, or the VRAM of a device.
    const auto where = [](uint32_t f) { return f & (DRM_SIMGPU_PAGE_VRAM | page_device_mask); };
    for (size_t n = 0; n < pages[0].size(); ++n) {
        const uint32_t f0 = pages[0][n], f1 = pages[1][n];
        bool bad = mapped(f0) && mapped(f1) && where(f0) != where(f1);
        for (int i = 0; i < num_gpus; ++i)
            bad = bad || (in_vram(pages[i][n]) && !g.reaches(i, vram_device(pages[i][n])));
        igt_assert_f(!bad,
                     "%s: page %zu (0x%llx) is mapped inconsistently: device %u flags 0x%x, "
                     "device %u flags 0x%x (devices %s)",
                     what, n,
                     static_cast<unsigned long long>((va(p) & ~(page_size - 1)) + n * page_size),
                     g.id[0], f0, g.id[1], f1, g.linked ? "linked" : "not linked");
    }
}

// ---------------------------------------------------------------------------
// Atomics on one counter from both devices and the CPU.

struct AtomicsSetup {
    std::optional<uint32_t> policy; // MADVISE(ATOMIC) on both VMs, or none
    const char* name = "default";
    // The starvation case: the counters on a THP (THP=always), and
    // contended_jobs jobs a device, each submitted once the CPU has had
    // the counters back; every job must finish within the job timeout.
    bool contended = false;
};

constexpr int contended_jobs = 50;

// The atomics-across-devices family: a subtest a setup.
struct AtomicsSection {
    const char* suffix; // of the subtest's name, after "atomics-across-devices"
    bool needs_vram;    // skips without VRAM migration
    AtomicsSetup setup;
    const char* description;
};

// A qword and a dword counter in one page, added to at once by the CPU and
// by jobs of both devices: the totals are exact, both devices read them, and
// the placement is what the setup's MADVISE(ATOMIC) policy asks for.
void atomics_across_devices(Fixture& fx, const AtomicsSection& section)
{
    if (section.needs_vram)
        require_vram(fx.envs);
    Gpus g(fx.envs);
    const AtomicsSetup& setup = section.setup;
    const int min_jobs = setup.contended ? contended_jobs : 3;
    constexpr int max_jobs = 400;
    constexpr int per_job = 48;
    constexpr double busy_ms = 1500;
    constexpr auto pause = std::chrono::microseconds(500);

    std::optional<ThpMode> thp;
    if (setup.contended)
        thp.emplace("always");
    Area a(chunk_2m, setup.contended ? Thp::any : Thp::off);
    std::memset(a.data(), 0, setup.contended ? chunk_2m : 64 * KiB);
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
                if (j >= min_jobs && (setup.contended || elapsed_ms(t0) >= busy_ms))
                    break;
                if (setup.contended) {
                    const uint64_t seen = cpu_rounds.load();
                    while (cpu_rounds.load() < seen + 2)
                        std::this_thread::yield();
                }
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
    uint64_t placed = 0; // ATOMIC_DEVICE: pages moved to VRAM or held, both devices
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
            // move. A linked device may find it in the other one's VRAM
            // each time, and take its atomics there in place.
            if (!g.linked)
                igt_assert_lte(1u, excl + to_vram);
            placed += excl + to_vram;
        }
    }
    if (setup.policy == uint32_t{DRM_SIMGPU_MADV_ATOMIC_DEVICE})
        igt_assert_lte(1u, placed);
}

// Unbinds a device from simgpu (sysfs) for its lifetime.
class Unbind {
public:
    explicit Unbind(std::string name) : name_(std::move(name))
    {
        igt_assert_f(write_file(platform_driver + "/unbind", name_), "unbind %s: %s",
                     name_.c_str(), std::strerror(errno));
        bound_ = false;
    }
    ~Unbind()
    {
        if (!bound_ && !write_file(platform_driver + "/bind", name_))
            std::fprintf(stderr, "simgpu_multi_gpu: could not bind %s again: %s\n",
                         name_.c_str(), std::strerror(errno));
    }
    Unbind(const Unbind&) = delete;
    Unbind& operator=(const Unbind&) = delete;

    void bind()
    {
        igt_assert_f(write_file(platform_driver + "/bind", name_), "bind %s: %s", name_.c_str(),
                     std::strerror(errno));
        bound_ = true;
    }

private:
    std::string name_;
    bool bound_ = true;
};

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

// ---------------------------------------------------------------------------
// One pointer, two devices.

void the_program(Fixture& fx)
{
    Gpus g(fx.envs);
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
    if (g.linked) {
        // Used where it is, over the link: device 1 maps device 0's
        // VRAM, nothing left it.
        assert_in_vram(g.vm(1), g.id[0], in, in_bytes, "ptr on device 1 after the job on q1");
        igt_assert_eq(svm_delta(s1, s2, 0, "migrate_to_ram_pages"), 0u);
    } else if (g.vram) {
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
}

void ping_pong(Fixture& fx)
{
    constexpr int rounds = 12;
    Gpus g(fx.envs);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 2);
    std::vector<uint32_t> shadow(a.words(), a.words() + chunk_2m / 4);
    const auto s0 = snapshot(g);
    for (int r = 0; r < rounds; ++r) {
        for (int i = 0; i < num_gpus; ++i) {
            const uint32_t inc = 200 + static_cast<uint32_t>(r * num_gpus + i);
            const auto before = snapshot(g);
            gpu_add(g.gpu[i], a.data(), chunk_2m, inc);
            const auto after = snapshot(g);
            for (uint64_t w = 0; w < shadow.size(); ++w)
                shadow[w] += SvmGpu::inc_value(inc, w);
            // In this device's VRAM, or in system memory (once the
            // chunk bounced too often); never where the other device
            // has it, unless the devices are linked: then the turn
            // uses it in the other device's VRAM, in place.
            assert_mapped_local(g, i, a.data(), chunk_2m, "after a device's turn");
            assert_coherent(g, a.data(), chunk_2m, "after a device's turn");
            if (g.linked)
                igt_assert_eq(svm_delta(before, after, 1 - i, "migrate_to_ram_pages"), 0u);
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
}

// ---------------------------------------------------------------------------
// Both devices at once.

void concurrent_disjoint_halves(Fixture& fx)
{
    constexpr uint64_t size = 8 * MiB, half = size / 2;
    constexpr int rounds = 3;
    Gpus g(fx.envs);
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
}

void concurrent_overlapping(Fixture& fx)
{
    constexpr uint64_t size = 4 * MiB;
    constexpr int reads = 3;
    Gpus g(fx.envs);
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
    assert_no_failed_jobs(s0, s2);
}

// ---------------------------------------------------------------------------
// VRAM of one device, another device's access.

// Device 0's job adds @inc to every word of the chunk @a, which takes it
// into device 0's VRAM; returns the counters after the job.
Snapshot device0_takes_chunk(Gpus& g, const Area& a, uint32_t inc)
{
    gpu_add(g.gpu[0], a.data(), chunk_2m, inc);
    const auto s = snapshot(g);
    assert_in_vram(g.vm(0), g.id[0], a.data(), chunk_2m, "after device 0's job");
    return s;
}

void cross_device_migration(Fixture& fx)
{
    require_vram(fx.envs);
    igt_require_f(!devices_linked(fx.envs),
                  "devices %u and %u are linked: they map each other's VRAM in place instead "
                  "(peer-vram-mapped-in-place)",
                  fx.envs[0].info.device_id, fx.envs[1].info.device_id);
    Gpus g(fx.envs);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 5);
    const auto s0 = snapshot(g);
    const auto s1 = device0_takes_chunk(g, a, 51);
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
    assert_no_failed_jobs(s0, s4);
}

// LOC_DEVICE naming the other device needs an interconnect: without one,
// -ENOLINK, and the attributes stay as they were; over a link the span
// prefers the other device. Without VRAM migration LOC_DEVICE itself is
// refused first.
void preferred_location_other_device(Fixture& fx)
{
    Gpus g(fx.envs);
    Area a(chunk_2m);
    const uint64_t s = va(a.data());
    const auto attrs_of = [&](int i) {
        auto r = g.vm(i).query_attrs(s, chunk_2m);
        igt_assert_ok(r);
        auto attrs = std::move(r).value();
        igt_assert_eq(attrs.size(), 1u);
        return attrs[0];
    };
    const auto prefer_other = [&](int i) {
        return g.vm(i).madvise(s, chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                               DRM_SIMGPU_MADV_LOC_DEVICE, fx.envs[1 - i].dev.fd());
    };
    for (int i = 0; i < num_gpus; ++i) {
        if (g.linked)
            igt_assert_ok(prefer_other(i));
        else
            igt_assert_errno(prefer_other(i), g.vram ? ENOLINK : EOPNOTSUPP);
        const auto attr = attrs_of(i);
        igt_assert_eq(attr.preferred_loc, g.linked ? uint32_t{DRM_SIMGPU_MADV_LOC_DEVICE}
                                                   : uint32_t{DRM_SIMGPU_MADV_LOC_DEFAULT});
        igt_assert_eq(attr.preferred_device, g.linked ? g.id[1 - i] : 0u);
    }
    if (!g.vram)
        return;
    // The own device's fd works, and after it the other device's
    // replaces it over a link, and without one is refused and changes
    // nothing.
    for (int i = 0; i < num_gpus; ++i) {
        igt_assert_ok(g.vm(i).madvise(s, chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                      DRM_SIMGPU_MADV_LOC_DEVICE, fx.envs[i].dev.fd()));
        igt_assert_eq(attrs_of(i).preferred_device, g.id[i]);
        if (g.linked)
            igt_assert_ok(prefer_other(i));
        else
            igt_assert_errno(prefer_other(i), ENOLINK);
        const auto attr = attrs_of(i);
        igt_assert_eq(attr.preferred_loc, uint32_t{DRM_SIMGPU_MADV_LOC_DEVICE});
        igt_assert_eq(attr.preferred_device, g.id[g.linked ? 1 - i : i]);
    }
}

// Device 1 prefers its own VRAM for two buffers that device 0 moved into its
// VRAM: MIGRATE_ALL_PAGES brings the pages over (through system memory, or
// device to device over a link), MIGRATE_SYSTEM_PAGES leaves them: mapped in
// system memory, or in place in device 0's VRAM over a link.
void migration_policy_across_devices(Fixture& fx)
{
    require_vram(fx.envs);
    Gpus g(fx.envs);
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
    if (g.linked) {
        assert_in_vram(g.vm(1), g.id[0], sys.data(), chunk_2m,
                       "MIGRATE_SYSTEM_PAGES on device 1, over the link");
        assert_no_migrations(s0, s1, g, "MIGRATE_SYSTEM_PAGES over the link");
    } else {
        assert_in_system(g.vm(1), sys.data(), chunk_2m, "MIGRATE_SYSTEM_PAGES on device 1");
        igt_assert_lte(chunk_pages, svm_delta(s0, s1, 0, "migrate_to_ram_pages"));
        igt_assert_eq(svm_delta(s0, s1, 1, "migrate_to_vram_pages"), 0u);
    }
    assert_coherent(g, sys.data(), chunk_2m, "MIGRATE_SYSTEM_PAGES");

    gpu_add(g.gpu[1], all.data(), chunk_2m, 62);
    const auto s2 = snapshot(g);
    info_both("MIGRATE_ALL_PAGES", g, s1, s2);
    if (g.linked)
        igt_assert_eq(svm_delta(s1, s2, 0, "migrate_to_ram_pages"), 0u);
    else
        igt_assert_lte(chunk_pages, svm_delta(s1, s2, 0, "migrate_to_ram_pages"));
    assert_not_in_vram(g.vm(0), all.data(), chunk_2m, "device 0 after device 1's job");
    assert_in_vram(g.vm(1), g.id[1], all.data(), chunk_2m, "MIGRATE_ALL_PAGES on device 1");
    igt_assert_lte(chunk_pages, svm_delta(s1, s2, 1, "migrate_to_vram_pages"));
    assert_coherent(g, all.data(), chunk_2m, "MIGRATE_ALL_PAGES");

    check_added(all.data(), chunk_2m, 6, {61, 62}, "the MIGRATE_ALL_PAGES buffer");
    check_added(sys.data(), chunk_2m, 7, {71, 72}, "the MIGRATE_SYSTEM_PAGES buffer");
}

// ---------------------------------------------------------------------------
// A list across devices.

void linked_list_walk(Fixture& fx)
{
    constexpr int num_nodes = 16;
    Gpus g(fx.envs);
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
        // Not as THPs: khugepaged collapsing a block the prefetch filled
        // with small pages invalidates it, and the walks below that
        // count on finding every node mapped would fault (seen on stock
        // 6.12 with THP=always on a loaded host).
        for (size_t k = 0; k < list.size(); ++k)
            igt_assert_eq(::madvise(list.block(k), chunk_2m, MADV_NOHUGEPAGE), 0);
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
    // Where device @i maps the node of block @k, it maps it where the
    // node was prefetched to: over a link, whichever device that was.
    const auto assert_node_in_place = [&](int i, size_t k, const char* what) {
        assert_in_vram_where_mapped(g, i, g.id[k % num_gpus], list.block(k), page_size, what);
    };
    if (g.linked) {
        // Device 1's nodes stay in its VRAM, device 0 reads them there.
        assert_no_migrations(s0, s1, g, "device 0's walk over the link");
        for (size_t k = 0; k < list.size(); ++k) {
            assert_in_vram(g.vm(0), g.id[k % num_gpus], list.block(k), page_size,
                           "a node on device 0 after its walk");
            assert_node_in_place(1, k, "a node on device 1 after device 0's walk");
        }
    } else if (g.vram) {
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
    if (g.linked) {
        // Nothing moves: the nodes stay where they were prefetched.
        assert_no_migrations(s1, s2, g, "concurrent walks over the link");
        for (size_t k = 0; k < list.size(); ++k)
            for (int i = 0; i < num_gpus; ++i)
                assert_node_in_place(i, k, "a node after the concurrent walks");
    }
    assert_no_failed_jobs(s0, s2);
}

// ---------------------------------------------------------------------------
// Processes.

void two_processes(Fixture& fx)
{
    constexpr uint64_t size = 4 * MiB;
    constexpr int rounds = 6;
    const uint32_t shared_dev = fx.envs[1].info.device_id;
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
    Gpus g(fx.envs);
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
}

// ---------------------------------------------------------------------------
// Over a link.

void peer_vram_mapped_in_place(Fixture& fx)
{
    require_link(fx.envs);
    Gpus g(fx.envs);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 5);
    const auto s0 = snapshot(g);
    const auto s1 = device0_takes_chunk(g, a, 51);
    igt_assert_lte(chunk_pages, svm_delta(s0, s1, 0, "migrate_to_vram_pages"));

    GpuBuffer out = gpu_read(g.gpu[1], a.data(), chunk_2m);
    check_added(out.bytes(), chunk_2m, 5, {51}, "device 1's read of device 0's VRAM");
    gpu_add(g.gpu[1], a.data(), chunk_2m, 52);
    const auto s2 = snapshot(g);
    info_both("device 1 uses device 0's VRAM", g, s1, s2);
    assert_no_migrations(s1, s2, g, "device 1's jobs in device 0's VRAM");
    igt_assert_lte(1u, stats_delta(s1, s2, 1, "faults"));
    assert_in_vram(g.vm(1), g.id[0], a.data(), chunk_2m, "device 1, over the link");
    assert_huge(g.vm(1), a.data(), chunk_2m, "device 1, over the link");

    // Device 0 sees device 1's writes, in its VRAM.
    gpu_add(g.gpu[0], a.data(), chunk_2m, 53);
    const auto s3 = snapshot(g);
    assert_in_vram(g.vm(0), g.id[0], a.data(), chunk_2m, "device 0 after device 1's jobs");
    assert_no_migrations(s2, s3, g, "device 0's job after device 1's");

    // The CPU brings it back from device 0's VRAM; neither device
    // maps it any more.
    check_added(a.data(), chunk_2m, 5, {51, 52, 53}, "the CPU's read at the end");
    const auto s4 = snapshot(g);
    igt_assert_lte(chunk_pages, svm_delta(s3, s4, 0, "migrate_to_ram_pages"));
    igt_assert_eq(svm_delta(s3, s4, 1, "migrate_to_ram_pages"), 0u);
    for (int i = 0; i < num_gpus; ++i) {
        assert_unmapped(g.vm(i), a.data(), chunk_2m, "after the CPU's read");
        igt_assert_eq(stats_delta(s0, s4, i, "jobs_failed"), 0u);
    }
}

// Once both devices map a chunk of device 0's VRAM, they work on it at once,
// each on a half, without faulting again: a device that maps a linked
// device's VRAM in place moves nothing, so it has no reason to take the chunk
// from the other device's page tables.
void shared_in_place_without_refaults(Fixture& fx)
{
    constexpr uint64_t half = chunk_2m / 2;
    constexpr int rounds = 3;
    require_link(fx.envs);
    Gpus g(fx.envs);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 13);
    gpu_add(g.gpu[0], a.data(), chunk_2m, 131);
    check_added(gpu_read(g.gpu[1], a.data(), chunk_2m).bytes(), chunk_2m, 13, {131},
                "device 1's read over the link");
    const auto s0 = snapshot(g);
    for (int i = 0; i < num_gpus; ++i)
        assert_in_vram(g.vm(i), g.id[0], a.data(), chunk_2m, "both devices, in place");
    on_both([&](int i) {
        for (int r = 0; r < rounds; ++r)
            gpu_add(g.gpu[i], a.at(i * half), half, 133 + 10 * i + r);
    });
    const auto s1 = snapshot(g);
    info_both("both devices in place", g, s0, s1);
    assert_no_migrations(s0, s1, g, "both devices in place");
    for (int i = 0; i < num_gpus; ++i) {
        igt_assert_eq(stats_delta(s0, s1, i, "faults"), 0u);
        assert_in_vram(g.vm(i), g.id[0], a.data(), chunk_2m, "a device after the rounds");
    }
    // Each half: the pattern, device 0's first job over the chunk, and
    // its device's rounds over the half.
    const uint32_t* w = a.words();
    for (uint64_t n = 0; n < chunk_2m / 4; ++n) {
        const uint64_t in_half = n % (half / 4);
        uint32_t want = pattern(13, n) + SvmGpu::inc_value(131, n);
        for (int r = 0; r < rounds; ++r)
            want += SvmGpu::inc_value(133 + 10 * static_cast<uint32_t>(n / (half / 4)) + r,
                                      in_half);
        if (w[n] != want)
            igt_fail("word %llu is 0x%08x, expected 0x%08x",
                     static_cast<unsigned long long>(n), w[n], want);
    }
}

// Device 1 prefers device 0's VRAM: its faults migrate the pages there
// (device 0's allocator and copy engine) and map them over the link, every
// time; device 0 finds them in its own VRAM.
void preferred_location_linked_device(Fixture& fx)
{
    require_link(fx.envs);
    Gpus g(fx.envs);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 9);
    igt_assert_ok(g.vm(1).madvise(va(a.data()), chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                  DRM_SIMGPU_MADV_LOC_DEVICE, fx.envs[0].dev.fd()));
    const uint64_t used0 = settled_used_svm(g.id[0]);
    const uint64_t used1 = settled_used_svm(g.id[1]);
    const auto s0 = snapshot(g);
    gpu_add(g.gpu[1], a.data(), chunk_2m, 91);
    const auto s1 = snapshot(g);
    info_both("device 1 prefers device 0's VRAM", g, s0, s1);
    assert_in_vram(g.vm(1), g.id[0], a.data(), chunk_2m,
                   "device 1's job, preferring device 0's VRAM");
    assert_unmapped(g.vm(0), a.data(), chunk_2m, "device 0 before touching it");
    igt_assert_lte(used0 + chunk_2m, used_svm(g.id[0]));
    igt_assert_lte(used_svm(g.id[1]), used1);
    for (int i = 0; i < num_gpus; ++i)
        igt_assert_eq(svm_delta(s0, s1, i, "migrate_to_ram_pages"), 0u);

    gpu_add(g.gpu[0], a.data(), chunk_2m, 92);
    const auto s2 = snapshot(g);
    assert_in_vram(g.vm(0), g.id[0], a.data(), chunk_2m, "device 0 in its own VRAM");
    assert_no_migrations(s1, s2, g, "device 0's job in its own VRAM");

    // The CPU takes it back; device 1's next fault puts it in device
    // 0's VRAM again.
    check_added(a.data(), chunk_2m, 9, {91, 92}, "the CPU's read");
    const auto s3 = snapshot(g);
    igt_assert_lte(chunk_pages, svm_delta(s2, s3, 0, "migrate_to_ram_pages"));
    gpu_add(g.gpu[1], a.data(), chunk_2m, 93);
    const auto s4 = snapshot(g);
    info_both("device 1's second job", g, s3, s4);
    assert_in_vram(g.vm(1), g.id[0], a.data(), chunk_2m, "device 1's second job");
    check_added(a.data(), chunk_2m, 9, {91, 92, 93}, "the CPU's read at the end");
    assert_no_failed_jobs(s0, s4);
    // The migrations into device 0's VRAM count there, where the
    // pages leaving it count too.
    for (const auto& [a0, a1] : {std::pair{&s0, &s1}, std::pair{&s3, &s4}}) {
        igt_assert_lte(chunk_pages, svm_delta(*a0, *a1, 0, "migrate_to_vram_pages"));
        igt_assert_eq(svm_delta(*a0, *a1, 1, "migrate_to_vram_pages"), 0u);
    }
}

// Pages in device 0's VRAM and in system memory, in one 2 MiB range; device
// 1 prefers its own VRAM with MIGRATE_ALL_PAGES: one fault moves them all
// there, device 0's device to device (not through system memory), and device
// 0's VRAM is freed. Then device 0 uses them in place, and takes them back
// the same way.
void device_to_device_migration(Fixture& fx)
{
    require_link(fx.envs);
    Gpus g(fx.envs);
    constexpr uint64_t half = chunk_2m / 2;
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 10);
    const uint64_t used0 = settled_used_svm(g.id[0]);
    igt_assert_ok(g.vm(0).prefetch(va(a.data()), half, DRM_SIMGPU_MEM_VRAM));
    assert_in_vram(g.vm(0), g.id[0], a.data(), half, "the first half, prefetched");
    igt_assert_lte(used0 + half, used_svm(g.id[0]));
    for (int i = 0; i < num_gpus; ++i)
        igt_assert_ok(g.vm(i).madvise(va(a.data()), chunk_2m, DRM_SIMGPU_MADV_MIGRATION,
                                      DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES));
    igt_assert_ok(g.vm(1).madvise(va(a.data()), chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                  DRM_SIMGPU_MADV_LOC_DEVICE, -1));

    const auto s0 = snapshot(g);
    gpu_add(g.gpu[1], a.data(), chunk_2m, 101);
    const auto s1 = snapshot(g);
    info_both("device 1 pulls device 0's pages", g, s0, s1);
    assert_in_vram(g.vm(1), g.id[1], a.data(), chunk_2m, "device 1 after its job");
    assert_huge(g.vm(1), a.data(), chunk_2m, "device 1 after its job");
    assert_chunk_moved_device_to_device(s0, s1, 1);
    assert_unmapped(g.vm(0), a.data(), chunk_2m, "device 0 after its pages left");
    igt_assert_f(wait_used_svm_at_most(used0, g.id[0]) <= used0,
                 "device 0's VRAM still holds %llu bytes of SVM memory, %llu before",
                 static_cast<unsigned long long>(used_svm(g.id[0])),
                 static_cast<unsigned long long>(used0));

    // Device 0's default policy uses them where they are.
    gpu_add(g.gpu[0], a.data(), chunk_2m, 102);
    const auto s2 = snapshot(g);
    assert_in_vram(g.vm(0), g.id[1], a.data(), chunk_2m, "device 0, over the link");
    assert_no_migrations(s1, s2, g, "device 0's job in device 1's VRAM");

    // Device 0 prefers its own VRAM now: back device to device.
    igt_assert_ok(g.vm(0).madvise(va(a.data()), chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                  DRM_SIMGPU_MADV_LOC_DEVICE, -1));
    gpu_add(g.gpu[0], a.data(), chunk_2m, 103);
    const auto s3 = snapshot(g);
    info_both("device 0 pulls them back", g, s2, s3);
    assert_in_vram(g.vm(0), g.id[0], a.data(), chunk_2m, "device 0 preferring its VRAM");
    assert_unmapped(g.vm(1), a.data(), chunk_2m, "device 1 after its pages left");
    assert_chunk_moved_device_to_device(s2, s3, 0);

    check_added(a.data(), chunk_2m, 10, {101, 102, 103}, "the CPU's read at the end");
    assert_no_failed_jobs(s0, s3);
}

void prefetch_pulls_from_peer(Fixture& fx)
{
    require_link(fx.envs);
    Gpus g(fx.envs);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 11);
    gpu_add(g.gpu[0], a.data(), chunk_2m, 111);
    assert_in_vram(g.vm(0), g.id[0], a.data(), chunk_2m, "after device 0's job");

    const auto s0 = snapshot(g);
    igt_assert_ok(g.vm(1).prefetch(va(a.data()), chunk_2m, DRM_SIMGPU_MEM_VRAM));
    const auto s1 = snapshot(g);
    info_both("device 1's prefetch to VRAM", g, s0, s1);
    assert_in_vram(g.vm(1), g.id[1], a.data(), chunk_2m, "device 1 after its prefetch");
    assert_unmapped(g.vm(0), a.data(), chunk_2m, "device 0 after device 1's prefetch");
    assert_chunk_moved_device_to_device(s0, s1, 1);
    // Mapped by the prefetch: device 1's job takes no fault.
    gpu_add(g.gpu[1], a.data(), chunk_2m, 112);
    const auto s2 = snapshot(g);
    igt_assert_eq(stats_delta(s1, s2, 1, "faults"), 0u);

    igt_assert_ok(g.vm(0).prefetch(va(a.data()), chunk_2m, DRM_SIMGPU_MEM_SYSTEM));
    const auto s3 = snapshot(g);
    info_both("device 0's prefetch to system memory", g, s2, s3);
    assert_in_system(g.vm(0), a.data(), chunk_2m, "device 0 after its prefetch");
    assert_not_in_vram(g.vm(1), a.data(), chunk_2m, "device 1 after device 0's prefetch");
    igt_assert_lte(chunk_pages, svm_delta(s2, s3, 1, "migrate_to_ram_pages"));
    // The CPU finds them in system memory.
    check_added(a.data(), chunk_2m, 11, {111, 112}, "the CPU's read at the end");
    const auto s4 = snapshot(g);
    for (int i = 0; i < num_gpus; ++i)
        igt_assert_eq(svm_delta(s3, s4, i, "migrate_to_ram_pages"), 0u);
}

void atomics_across_linked_devices(Fixture& fx)
{
    constexpr int jobs = 4;
    constexpr uint64_t per_chunk = 16;
    require_link(fx.envs);
    Gpus g(fx.envs);
    Area a(num_gpus * chunk_2m);
    std::memset(a.data(), 0, num_gpus * chunk_2m);
    for (int i = 0; i < num_gpus; ++i)
        igt_assert_ok(
            g.vm(i).prefetch(va(a.at(i * chunk_2m)), chunk_2m, DRM_SIMGPU_MEM_VRAM));
    // Counter n in the chunk of device n % 2, in a page of its own.
    const auto offset = [](uint64_t n) {
        return (n % num_gpus) * chunk_2m + (n / num_gpus) * 7 * page_size + 8 * n;
    };
    const auto counter = [&](uint64_t n) {
        return reinterpret_cast<uint64_t*>(a.at(offset(n)));
    };
    constexpr uint64_t counters = per_chunk * num_gpus;
    const auto s0 = snapshot(g);
    on_both([&](int i) {
        for (int j = 0; j < jobs; ++j) {
            BatchBuilder b;
            for (uint64_t n = 0; n < counters; ++n) {
                if (n % 3 == 0)
                    b.atomic(DRM_SIMGPU_ATOMIC_INC, va(counter(n)), 0);
                else
                    b.atomic(DRM_SIMGPU_ATOMIC_ADD, va(counter(n)), 1 + i * 16 + j);
            }
            b.batch_end();
            run_ok(g.gpu[i], b);
        }
    });
    const auto s1 = snapshot(g);
    info_both("atomics over the link", g, s0, s1);
    assert_no_migrations(s0, s1, g, "atomics over the link");
    for (int i = 0; i < num_gpus; ++i)
        for (int c = 0; c < num_gpus; ++c)
            assert_in_vram_where_mapped(g, i, g.id[c], a.at(c * chunk_2m), chunk_2m,
                                        "a chunk of counters after the atomics");
    // INC: once per job and device; ADD: (1 + 2 + 3 + 4) + (17 + ... + 20).
    const auto want = [](uint64_t n) -> uint64_t { return n % 3 == 0 ? 2 * jobs : 10 + 74; };
    const auto check = [&](const std::byte* base, const char* who) {
        for (uint64_t n = 0; n < counters; ++n) {
            uint64_t got;
            std::memcpy(&got, base + offset(n), sizeof(got));
            igt_assert_f(got == want(n), "%s reads counter %llu as %llu, expected %llu", who,
                         static_cast<unsigned long long>(n),
                         static_cast<unsigned long long>(got),
                         static_cast<unsigned long long>(want(n)));
        }
    };
    for (int i = 0; i < num_gpus; ++i) {
        const std::string who = "device " + std::to_string(g.id[i]);
        check(gpu_read(g.gpu[i], a.data(), a.size()).bytes(), who.c_str());
    }
    assert_no_migrations(s1, snapshot(g), g, "both devices' reads of the counters");
    check(a.data(), "the CPU");
}

void eviction_of_peer_mapped_vram(Fixture& fx)
{
    require_link(fx.envs);
    Gpus g(fx.envs);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 12);
    gpu_add(g.gpu[0], a.data(), chunk_2m, 121);
    gpu_add(g.gpu[1], a.data(), chunk_2m, 122);
    assert_in_vram(g.vm(1), g.id[0], a.data(), chunk_2m, "device 1, over the link");

    // A buffer object as large as all VRAM no object holds: every SVM
    // chunk of device 0 has to go.
    const auto v = vram_counters(g.id[0]);
    const uint64_t bo_size = round_down(v.at("size") - v.at("used_bo"), chunk_2m);
    const auto s0 = snapshot(g);
    auto bo = simgpu::Bo::create(fx.envs[0].dev, bo_size, DRM_SIMGPU_MEM_VRAM);
    igt_assert_ok(bo);
    const auto s1 = snapshot(g);
    info_both("a VRAM object fills device 0", g, s0, s1);
    igt_assert_lte(1u, svm_delta(s0, s1, 0, "evictions"));
    igt_assert_lte(chunk_pages, svm_delta(s0, s1, 0, "evicted_pages"));
    for (int i = 0; i < num_gpus; ++i)
        assert_unmapped(g.vm(i), a.data(), chunk_2m, "after the eviction");

    // Device 1 faults it into its own VRAM, device 0 uses it there.
    GpuBuffer out = gpu_read(g.gpu[1], a.data(), chunk_2m);
    check_added(out.bytes(), chunk_2m, 12, {121, 122}, "device 1's read after the eviction");
    gpu_add(g.gpu[1], a.data(), chunk_2m, 123);
    const auto s2 = snapshot(g);
    assert_in_vram(g.vm(1), g.id[1], a.data(), chunk_2m, "device 1 after the eviction");
    gpu_add(g.gpu[0], a.data(), chunk_2m, 124);
    const auto s3 = snapshot(g);
    info_both("both devices after the eviction", g, s1, s3);
    assert_in_vram(g.vm(0), g.id[1], a.data(), chunk_2m, "device 0 after the eviction");
    assert_no_migrations(s2, s3, g, "device 0's job after the eviction");
    check_added(a.data(), chunk_2m, 12, {121, 122, 123, 124}, "the CPU's read at the end");
    assert_no_failed_jobs(s0, s3);
}

// ---------------------------------------------------------------------------
// Removal.

void require_unbind()
{
    igt_require_f(::access((platform_driver + "/unbind").c_str(), W_OK) == 0,
                  "cannot write %s/unbind", platform_driver.c_str());
}

// Binds device 1 again once every file of it is closed, and opens both
// devices again in @fx.
void bind_again(Fixture& fx, Unbind& unbind)
{
    unbind.bind();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((fx.envs = open_envs()).size() < num_gpus &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    igt_assert_eq(fx.envs.size(), static_cast<size_t>(num_gpus));
}

// Device 0 prefers device 1's VRAM (over the link) when device 1 leaves
// the driver: device 0's next fault there maps the memory in system
// memory, and nothing touches what device 1 left behind (its pagemap
// cache goes with the unbind).
void fault_targeting_removed_peer(Fixture& fx)
{
    require_unbind();
    require_link(fx.envs);
    const std::string name = "simgpu." + std::to_string(fx.envs[1].info.device_id);
    Area a(chunk_2m);
    fill_words(a.data(), chunk_2m, 11);
    std::optional<Gpus> g(std::in_place, fx.envs);
    igt_assert_ok(g->vm(0).madvise(va(a.data()), chunk_2m, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                   DRM_SIMGPU_MADV_LOC_DEVICE, fx.envs[1].dev.fd()));
    // Device 1 has had a pagemap of its VRAM.
    Area warm(chunk_2m);
    fill_words(warm.data(), chunk_2m, 12);
    gpu_add(g->gpu[1], warm.data(), chunk_2m, 13);
    assert_in_vram(g->vm(1), g->id[1], warm.data(), chunk_2m, "device 1's own memory");

    Unbind unbind(name);
    const auto s0 = snapshot(*g);
    gpu_add(g->gpu[0], a.data(), chunk_2m, 14);
    assert_not_in_vram(g->vm(0), a.data(), chunk_2m,
                       "device 0's memory preferring the removed device 1");
    igt_assert_eq(svm_delta(s0, snapshot(*g), 0, "migrate_to_vram_pages"), 0u);
    check_added(a.data(), chunk_2m, 11, {14}, "device 0's job memory");
    check_added(warm.data(), chunk_2m, 12, {13}, "device 1's memory after the unbind");

    g.reset();
    fx.envs.clear();
    bind_again(fx, unbind);
}

void device_removal_while_busy(Fixture& fx)
{
    require_unbind();
    const std::string name = "simgpu." + std::to_string(fx.envs[1].info.device_id);
    constexpr uint64_t size = 4 * MiB;
    // read: the CPU reads it while device 1 is unplugged but open;
    // left: only once device 1 is gone; busy0/busy1: the jobs' memory.
    Area read(size), left(size), busy0(size), busy1(size);
    fill_words(read.data(), size, 91);
    fill_words(left.data(), size, 92);
    fill_words(busy0.data(), size, 93);
    fill_words(busy1.data(), size, 94);

    std::optional<Gpus> g(std::in_place, fx.envs);
    const bool vram = g->vram;
    for (Area* a : {&read, &left}) {
        gpu_add(g->gpu[1], a->data(), size, 95);
        if (vram)
            assert_in_vram(g->vm(1), g->id[1], a->data(), size, "device 1's memory");
    }
    // A second VM of device 0 outlives device 1; over a link it maps
    // what is left in device 1's VRAM in place until device 1 goes.
    std::optional<SvmGpu> keep0(std::in_place);
    start_gpu(*keep0, fx.envs[0]);
    std::vector<uint32_t> left_incs{95};
    if (g->linked) {
        gpu_add(*keep0, left.data(), size, 100);
        left_incs.push_back(100);
        assert_in_vram(keep0->vm(), g->id[1], left.data(), size,
                       "device 1's memory mapped by device 0 over the link");
    }

    // Device 1 runs jobs until one fails (no igt macro off the main
    // thread); device 0 until told to stop, each one checked.
    std::atomic<int> jobs1{0}, jobs0{0};
    std::atomic<bool> stop{false};
    auto busy_1 = std::async(std::launch::async, [&] {
        SvmGpu& gpu = g->gpu[1];
        gpu.set_inc(96);
        BatchBuilder b;
        if (!gpu.add_inc(b, busy1.data(), size))
            return -ENOSPC;
        b.batch_end();
        while (!stop.load()) {
            if (const int err = gpu.run(b, 60 * sec_ns); err != 0)
                return err;
            ++jobs1;
        }
        return 0;
    });
    auto busy_0 = std::async(std::launch::async, [&] {
        while (!stop.load()) {
            gpu_add(g->gpu[0], busy0.data(), size, 97);
            ++jobs0;
        }
    });
    // A failed assertion stops both before their futures wait for them.
    const std::unique_ptr<std::atomic<bool>, void (*)(std::atomic<bool>*)> stopper(
        &stop, [](std::atomic<bool>* s) { s->store(true); });
    const auto running = [](const auto& f) {
        return f.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
    };
    while ((jobs1.load() < 2 || jobs0.load() < 1) && running(busy_0) && running(busy_1))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    igt_assert_f(jobs1.load() >= 2 && jobs0.load() >= 1,
                 "the jobs before the unbind failed (%d on device 0, %d on device 1)",
                 jobs0.load(), jobs1.load());

    const int64_t t0 = now_ns();
    Unbind unbind(name);
    igt_info("unbound %s in %.0f ms after %d jobs on it\n", name.c_str(), elapsed_ms(t0),
             jobs1.load());
    igt_assert_f(busy_1.wait_for(std::chrono::seconds(60)) == std::future_status::ready,
                 "device 1's job loop still runs 60 s after the unbind");
    const int err1 = busy_1.get();
    igt_assert_f(err1 == -ENODEV, "device 1's next job after the unbind: %s, expected %s",
                 std::strerror(-err1), std::strerror(ENODEV));
    const auto q = g->vm(1).query_range(va(read.data()), 1);
    igt_assert_f(!q.ok() && q.error().err == ENODEV,
                 "a range query on the unplugged device did not fail with ENODEV");

    // A job in flight at the unbind runs to its end (its user fence),
    // even though no ioctl can wait for it: nothing is half done.
    const int last = g->gpu[1].finish(60 * sec_ns);
    igt_assert_f(last >= 0, "device 1's job in flight at the unbind did not finish");
    const std::vector<uint32_t> incs1(static_cast<size_t>(jobs1.load() + last), 96u);
    check_added(busy1.data(), size, 94, incs1, "device 1's job memory after the unbind");
    // Device 1's VRAM comes back to the CPU while the device is open.
    check_added(read.data(), size, 91, {95}, "memory in device 1's VRAM, read after the unbind");
    // Device 0 goes on, and takes over device 1's memory.
    const int before = jobs0.load();
    while (jobs0.load() < before + 2 && running(busy_0))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop.store(true);
    busy_0.get();
    const std::vector<uint32_t> incs0(static_cast<size_t>(jobs0.load()), 97u);
    check_added(busy0.data(), size, 93, incs0, "device 0's job memory");
    gpu_add(g->gpu[0], read.data(), size, 98);
    check_added(read.data(), size, 91, {95, 98}, "device 1's former memory after device 0");

    // The unplugged device keeps its index while its files are open.
    igt_assert_f(!write_file(platform_driver + "/bind", name) && errno == EBUSY,
                 "bind %s while the unbound instance is open: %s, expected %s",
                 name.c_str(), std::strerror(errno), std::strerror(EBUSY));
    // The last file of device 1 closes: the device and its VRAM go,
    // and what was left there comes back to system memory first.
    g.reset();
    fx.envs.erase(fx.envs.begin() + 1);
    assert_not_in_vram(keep0->vm(), left.data(), size,
                       "memory left in device 1's VRAM, on device 0 after device 1 went");
    gpu_add(*keep0, left.data(), size, 101);
    left_incs.push_back(101);
    check_added(left.data(), size, 92, left_incs,
                "memory left in device 1's VRAM until it went, then added to by device 0");
    keep0.reset();
    fx.envs.clear();

    bind_again(fx, unbind);
    Gpus again(fx.envs);
    gpu_add(again.gpu[1], busy1.data(), size, 99);
    std::vector<uint32_t> incs = incs1;
    incs.push_back(99);
    check_added(busy1.data(), size, 94, incs, "device 1's job memory after the bind");
}

// ---------------------------------------------------------------------------
// The subtests, in the order they run: the atomics-across-devices family
// between the two tables.

using Case = igt::Case<Fixture&>;

constexpr Case cases_before_atomics[] = {
    // One pointer, two devices.
    {"the-program",
     "fd0/fd1, vm0/vm1, q0/q1 (SvmGpu), then ptr = malloc(): a job on q0 transforms it, then a "
     "job on q1, and the CPU checks",
     the_program},
    {"ping-pong",
     "one buffer goes device 0 -> device 1 -> CPU, many times; each step adds to every word",
     ping_pong},
    // Both devices at once.
    {"concurrent-disjoint-halves",
     "both devices at once, each on a half of one buffer: each maps its own half only (in its "
     "VRAM where memory migrates), and the CPU finds both devices' work",
     concurrent_disjoint_halves},
    {"concurrent-overlapping",
     "both devices read the same memory at once, then update the same counters at once with "
     "atomics: both results are defined",
     concurrent_overlapping},
    // VRAM of one device, another device's access.
    {"cross-device-migration",
     "without an interconnect, device 1 takes a chunk in device 0's VRAM through system memory "
     "into its own VRAM, and device 0 takes it back the same way, data intact",
     cross_device_migration},
    {"preferred-location-other-device",
     "PREFERRED_LOC LOC_DEVICE naming the other device fails with ENOLINK and changes nothing "
     "without an interconnect, and prefers that device over a link",
     preferred_location_other_device},
    {"migration-policy-across-devices",
     "device 1 preferring its own VRAM: MIGRATE_ALL_PAGES brings pages in device 0's VRAM "
     "over, MIGRATE_SYSTEM_PAGES leaves them",
     migration_policy_across_devices},
};

constexpr AtomicsSection atomics_sections[] = {
    {"", false, {},
     "atomics on one counter from both devices and the CPU at once, with default attributes: "
     "in place wherever the page is (system memory where nothing migrates), totals exact"},
    {"-global", true, {DRM_SIMGPU_MADV_ATOMIC_GLOBAL, "ATOMIC_GLOBAL"},
     "the same with MADVISE ATOMIC_GLOBAL: the counters held exclusive in system memory, never "
     "migrated, totals exact"},
    {"-device", true, {DRM_SIMGPU_MADV_ATOMIC_DEVICE, "ATOMIC_DEVICE"},
     "the same with MADVISE ATOMIC_DEVICE: the counters moved to a device's VRAM or held "
     "exclusive, totals exact"},
    {"-contended", false, {std::nullopt, "default, contended", true},
     "the same on a THP, each device's job submitted once the CPU has had the counters back: "
     "every job finishes within the job timeout, totals exact"},
    {"-contended-device", true, {DRM_SIMGPU_MADV_ATOMIC_DEVICE, "ATOMIC_DEVICE, contended", true},
     "the contended case with MADVISE ATOMIC_DEVICE: every job finishes within the job "
     "timeout, totals exact"},
};

constexpr Case cases_after_atomics[] = {
    // A list across devices.
    {"linked-list-walk",
     "a linked list whose consecutive nodes are in different devices' VRAM: each device alone, "
     "then both at once, walk it to the right sum, and over a link nothing moves",
     linked_list_walk},
    // Processes.
    {"two-processes",
     "this process uses both devices while a child uses device 1: both processes' data right, "
     "every job of both completed",
     two_processes},
    // Over a link.
    {"peer-vram-mapped-in-place",
     "device 1 reads and writes a buffer in device 0's VRAM where it is, with one 2 MiB entry: "
     "nothing migrates, device 0 sees the writes in its VRAM, and the CPU takes the buffer back",
     peer_vram_mapped_in_place},
    {"shared-in-place-without-refaults",
     "both devices work at once, each on a half, on a chunk of device 0's VRAM that both map "
     "over the link, without faulting again",
     shared_in_place_without_refaults},
    {"preferred-location-linked-device",
     "device 1 preferring device 0's VRAM migrates the pages there on each fault and maps them "
     "over the link; device 0 finds them in its own VRAM",
     preferred_location_linked_device},
    {"device-to-device-migration",
     "a device preferring its own VRAM with MIGRATE_ALL_PAGES takes pages in the linked "
     "device's VRAM device to device (not through system memory) in one fault",
     device_to_device_migration},
    {"prefetch-pulls-from-peer",
     "a PREFETCH to VRAM on device 1 moves pages in device 0's VRAM device to device; a "
     "PREFETCH to system memory on device 0 brings them back from device 1's VRAM",
     prefetch_pulls_from_peer},
    {"atomics-across-linked-devices",
     "counters in both devices' VRAM, each device adding to all of them at once: atomics in "
     "place over the link, nothing moves, the totals are exact",
     atomics_across_linked_devices},
    {"eviction-of-peer-mapped-vram",
     "device 1 maps a chunk of device 0's VRAM in place when a buffer object allocation on "
     "device 0 evicts it: device 1's mapping goes with it, the data is intact, and device 1 "
     "faults it in again",
     eviction_of_peer_mapped_vram},
    // Last: they unbind a device and bind it again.
    {"fault-targeting-removed-peer",
     "device 0 prefers device 1's VRAM when device 1 leaves the driver (sysfs unbind): its "
     "next fault maps the memory in system memory, data intact",
     fault_targeting_removed_peer},
    {"device-removal-while-busy",
     "device 1 leaves the driver (sysfs unbind) while both devices run jobs and device 1's "
     "VRAM holds our memory, then comes back: nothing half done, no data lost",
     device_removal_while_busy},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    t.set_timeout(std::chrono::seconds(300));
    Fixture fx;
    t.fixture([&] { open_devices(fx); });

    const auto fixture = [&]() -> Fixture& { return fx; };
    igt::add_cases(t, cases_before_atomics, fixture);
    for (const AtomicsSection& s : atomics_sections)
        t.subtest(std::string("atomics-across-devices") + s.suffix, s.description,
                  [&fx, &s] { atomics_across_devices(fx, s); });
    igt::add_cases(t, cases_after_atomics, fixture);

    return t.exit_code();
}
