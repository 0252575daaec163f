// SPDX-License-Identifier: MIT
//
// simgpu_exec_system_allocator: shared virtual memory on the system
// allocator's memory. A fault-mode VM mirrors the process
// (DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR) and jobs use plain CPU pointers:
// malloc'd, mmap'd (private, shared, file, THP, hugetlbfs), stack, globals.
// Batches and user fences live in malloc'd memory too. Checks data through
// CPU changes of the address space (free, munmap, mprotect, madvise,
// mremap, fork), concurrency (threads, processes), BOs inside the mirror,
// faults, teardown with jobs in flight, where the GPU maps each kind of
// memory (system memory, or VRAM on a device with
// DRM_SIMGPU_CAP_VRAM_MIGRATION), the argument checking of the mirror and
// of VM_QUERY_RANGE, and the SVM counters and VM list in debugfs.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm/simgpu_drm.h>

#include "igt.hpp"
#include "simgpu/counters.hpp"
#include "simgpu_svm_test.hpp"
#include "simgpu_test.hpp"

namespace {

using namespace simgpu_test;
using simgpu_test::svm::assert_child_ok;
using simgpu_test::svm::check_value;
using simgpu_test::svm::check_words;
using simgpu_test::svm::fill_words;
using simgpu_test::svm::kernel_svm;
using simgpu_test::svm::pattern;
using simgpu_test::svm::va;
using simgpu::Result;

constexpr uint64_t huge_size = 2 * MiB;
constexpr uint32_t page_ok = DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_WRITE | DRM_SIMGPU_PAGE_ATOMIC;

template <typename T = std::byte>
T* align_ptr(void* p, uint64_t align)
{
    return reinterpret_cast<T*>(round_up(va(p), align));
}

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// ---------------------------------------------------------------------------
// Data patterns (words: simgpu_svm_test.hpp).

void fill_bytes(void* p, uint64_t n, uint32_t seed)
{
    auto* b = static_cast<uint8_t*>(p);
    for (uint64_t i = 0; i < n; ++i)
        b[i] = static_cast<uint8_t>(pattern(seed, i) >> 8);
}

void check_bytes(const void* p, uint64_t n, uint32_t seed, const char* what)
{
    const auto* b = static_cast<const uint8_t*>(p);
    for (uint64_t i = 0; i < n; ++i)
        if (b[i] != static_cast<uint8_t>(pattern(seed, i) >> 8))
            igt_fail("%s: byte %llu is 0x%02x, expected 0x%02x", what,
                     static_cast<unsigned long long>(i), b[i],
                     static_cast<uint8_t>(pattern(seed, i) >> 8));
}

void check_same(const void* got, const void* expected, uint64_t bytes, const char* what)
{
    if (std::memcmp(got, expected, bytes) == 0)
        return;
    const auto* a = static_cast<const uint8_t*>(got);
    const auto* b = static_cast<const uint8_t*>(expected);
    for (uint64_t i = 0; i < bytes; ++i)
        if (a[i] != b[i])
            igt_fail("%s: byte %llu is 0x%02x, expected 0x%02x", what,
                     static_cast<unsigned long long>(i), a[i], b[i]);
}

// ---------------------------------------------------------------------------
// Memory.

// An mmap(2)ed area, unmapped on destruction (munmap of holes is harmless).
class Map {
public:
    explicit Map(uint64_t size, int prot = PROT_READ | PROT_WRITE,
                 int flags = MAP_PRIVATE | MAP_ANONYMOUS, int fd = -1, void* hint = nullptr)
        : size_(size)
    {
        void* p = ::mmap(hint, size, prot, flags, fd, 0);
        igt_assert_f(p != MAP_FAILED, "mmap of %llu bytes failed: %s",
                     static_cast<unsigned long long>(size), std::strerror(errno));
        addr_ = static_cast<std::byte*>(p);
    }
    // Private anonymous memory in a VMA of its own: PROT_NONE guard pages
    // on both sides keep the kernel from merging it with a neighbour, so
    // that no SVM chunk around it holds memory the CPU uses meanwhile (say,
    // the TLS block ld.so mmaps): a chunk in VRAM comes back whole as soon
    // as the CPU touches any page of it.
    struct Own {};
    static constexpr Own own{};
    Map(Own, uint64_t size, int prot = PROT_READ | PROT_WRITE)
        : Map(size + 2 * page_size, PROT_NONE)
    {
        addr_ += page_size;
        size_ -= 2 * page_size;
        guard_ = page_size;
        igt_assert_eq(::mprotect(addr_, size_, prot), 0);
    }
    // Adopts a mapping.
    Map(void* addr, uint64_t size) : addr_(static_cast<std::byte*>(addr)), size_(size) {}
    ~Map()
    {
        if (addr_)
            ::munmap(addr_ - guard_, size_ + 2 * guard_);
    }
    Map(const Map&) = delete;
    Map& operator=(const Map&) = delete;

    std::byte* data() const { return addr_; }
    uint64_t size() const { return size_; }
    template <typename T>
    T* as() const
    {
        return reinterpret_cast<T*>(addr_);
    }
    // Gives up the mapping without unmapping it.
    std::byte* release() { return std::exchange(addr_, nullptr); }

private:
    std::byte* addr_ = nullptr;
    uint64_t size_ = 0;
    uint64_t guard_ = 0;
};

// malloc'd memory, freed on destruction.
struct Malloc {
    void* p;
    explicit Malloc(uint64_t size, bool zero = false)
        : p(zero ? std::calloc(1, size) : std::malloc(size))
    {
        igt_assert_f(p, "malloc of %llu bytes failed", static_cast<unsigned long long>(size));
    }
    ~Malloc() { std::free(p); }
    Malloc(const Malloc&) = delete;
    Malloc& operator=(const Malloc&) = delete;
    std::byte* data() const { return static_cast<std::byte*>(p); }
    template <typename T>
    T* as() const
    {
        return static_cast<T*>(p);
    }
};

// An address no VMA covers: reserved, then unmapped.
uintptr_t unmapped_address(uint64_t size = page_size)
{
    void* p = ::mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    igt_assert(p != MAP_FAILED);
    igt_assert_eq(::munmap(p, size), 0);
    return va(p);
}

// ---------------------------------------------------------------------------
// Jobs whose batch and user fence live in malloc'd memory, reached by the
// GPU through the mirror. The non-asserting core is also used by forked
// children.

std::atomic<uint64_t> next_fence_value{0x5e3f000000000001ULL};

struct Outcome {
    int error = 0;      // 0, or the job's -errno
    bool fence = false; // the user fence was written
    drm_simgpu_exec_queue_state state{};
};

struct Submission {
    std::byte* mem = nullptr; // fence at 0, batch at 64
    uint64_t value = 0;
    uint64_t index = 0;
    uint64_t failed_before = 0;
    bool ended = false;

    const uint64_t* fence() const { return reinterpret_cast<const uint64_t*>(mem); }
    uint64_t batch_va() const { return va(mem + 64); }
};

// 0, or the errno that failed.
int svm_submit(const ExecQueue& q, const BatchBuilder& b, Submission& s)
{
    const uint64_t size = round_up(64 + b.size_bytes(), page_size);
    s.mem = static_cast<std::byte*>(std::aligned_alloc(page_size, size));
    if (!s.mem)
        return ENOMEM;
    std::memset(s.mem, 0, 64);
    std::memcpy(s.mem + 64, b.dwords().data(), b.size_bytes());
    s.value = next_fence_value.fetch_add(1);
    auto st = q.state();
    if (!st.ok())
        return st.error().err;
    s.failed_before = st.value().jobs_failed;
    const auto sync = simgpu::user_fence_out(s.fence(), s.value);
    if (auto r = q.exec(s.batch_va(), {&sync, 1}); !r.ok())
        return r.error().err;
    st = q.state();
    if (!st.ok())
        return st.error().err;
    s.index = st.value().jobs_submitted;
    return 0;
}

// 0 when the job ended (its outcome in @out), ETIME, or an ioctl's errno.
int svm_wait(const ExecQueue& q, Submission& s, int64_t timeout_ns, Outcome& out)
{
    const int64_t deadline = now_ns() + timeout_ns;
    const volatile uint64_t* fence = s.fence();
    for (;;) {
        if (*fence == s.value)
            break;
        auto st = q.state();
        if (!st.ok())
            return st.error().err;
        if (st.value().jobs_completed >= s.index)
            break;
        const int64_t left = deadline - now_ns();
        if (left <= 0)
            return ETIME;
        // With the queue id the wait ends with EIO as soon as a job fails.
        auto r = simgpu::wait_user_fence(q.device(), s.fence(), s.value, DRM_SIMGPU_CMP_EQ,
                                         std::min<int64_t>(left, 50 * ms_ns), q.id());
        if (r.ok())
            break;
        if (r.error().err != ETIME && r.error().err != EIO)
            return r.error().err;
    }
    s.ended = true;
    // The counters may trail the fence a little.
    const int64_t settle = now_ns() + 2 * sec_ns;
    for (;;) {
        auto st = q.state();
        if (!st.ok())
            return st.error().err;
        out.state = st.value();
        if (out.state.jobs_completed >= s.index || now_ns() > settle)
            break;
        sleep_ms(1);
    }
    out.fence = *fence == s.value;
    out.error = out.state.jobs_failed > s.failed_before ? out.state.error : 0;
    if (out.error == 0 && !out.fence)
        out.error = out.state.error ? out.state.error : -EPROTO;
    return 0;
}

// Submits and waits: 0 when the job succeeded, else its -errno (or an
// ioctl's -errno).
int svm_run(const ExecQueue& q, const BatchBuilder& b, int64_t timeout_ns = job_timeout_ns,
            Outcome* outcome = nullptr)
{
    Submission s;
    int err = svm_submit(q, b, s);
    if (err) {
        std::free(s.mem);
        return -err;
    }
    Outcome o;
    err = svm_wait(q, s, timeout_ns, o);
    if (!s.ended)
        return -err; // still running: its memory stays allocated
    std::free(s.mem);
    if (outcome)
        *outcome = o;
    return err ? -err : o.error;
}

// The asserting job.
class SvmJob {
public:
    SvmJob(const ExecQueue& q, const BatchBuilder& b) : q_(&q)
    {
        const int err = svm_submit(q, b, s_);
        igt_assert_f(err == 0, "EXEC on queue %u: %s", q.id(), std::strerror(err));
    }
    ~SvmJob()
    {
        // A job still running may read its batch: leak it then.
        if (s_.ended)
            std::free(s_.mem);
    }
    SvmJob(SvmJob&& o) noexcept : q_(o.q_), s_(std::exchange(o.s_, Submission{})) {}
    SvmJob& operator=(SvmJob&&) = delete;
    SvmJob(const SvmJob&) = delete;

    Outcome result(int64_t timeout_ns = job_timeout_ns)
    {
        Outcome o;
        const int err = svm_wait(*q_, s_, timeout_ns, o);
        igt_assert_f(err == 0, "job %llu on queue %u: %s",
                     static_cast<unsigned long long>(s_.index), q_->id(),
                     err == ETIME ? "did not end in time" : std::strerror(err));
        return o;
    }

private:
    const ExecQueue* q_;
    Submission s_;
};

void assert_ok(const Outcome& o)
{
    igt_assert_f(o.error == 0 && o.fence,
                 "job failed: error %d (%s), fence %s, queue error %d, fault_addr 0x%llx", o.error,
                 o.error ? std::strerror(-o.error) : "none", o.fence ? "written" : "not written",
                 o.state.error, static_cast<unsigned long long>(o.state.fault_addr));
}

void run_ok(const ExecQueue& q, const BatchBuilder& b, int64_t timeout_ns = job_timeout_ns)
{
    SvmJob job(q, b);
    assert_ok(job.result(timeout_ns));
}

// The job fails with -EFAULT on exactly @fault_addr.
void run_fault(const ExecQueue& q, const BatchBuilder& b, uint64_t fault_addr)
{
    SvmJob job(q, b);
    const Outcome o = job.result();
    igt_assert_f(o.error == -EFAULT, "job error %d (%s), expected -EFAULT", o.error,
                 o.error ? std::strerror(-o.error) : "none");
    igt_assert(!o.fence);
    igt_assert_eq(o.state.error, -EFAULT);
    igt_assert_f(o.state.fault_addr == fault_addr, "fault_addr 0x%llx, expected 0x%llx",
                 static_cast<unsigned long long>(o.state.fault_addr),
                 static_cast<unsigned long long>(fault_addr));
}

// Whether GPU faults of @env's device move anonymous private memory to
// VRAM: DRM_SIMGPU_CAP_VRAM_MIGRATION (a kernel with device-private
// memory), unless the svm_migrate module parameter turned it off.
bool migrates(const Env& env)
{
    if (!env.has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION))
        return false;
    const auto param = read_param("svm_migrate");
    return !param || (*param != "N" && *param != "0");
}

// A fault-mode VM mirroring this process, and a compute queue on it.
struct Svm {
    const Env* env;
    Vm vm;
    ExecQueue q;
    // The placement bits (DRM_SIMGPU_PAGE_VRAM and the device) that a GPU
    // fault gives anonymous private memory: this device's VRAM where it
    // migrates, else 0 (system memory).
    uint32_t anon_place;
    // The permissions a GPU read gives pages the CPU maps writable: the
    // simgpu core maps them writable and atomic-capable, as the CPU PTE
    // is; drm_gpusvm collects a read fault read-only (it keeps no
    // per-page write bit, docs/upstream-findings.md), and the first GPU
    // write faults again.
    uint32_t read_perm;

    explicit Svm(const Env& e, uint16_t engine_class = DRM_SIMGPU_ENGINE_CLASS_COMPUTE,
                 uint16_t instance = 0)
        : env(&e), vm(make_mirror_vm(e)), q(make_queue(e, vm, engine_class, instance)),
          anon_place(migrates(e) ? DRM_SIMGPU_PAGE_VRAM |
                                       e.info.device_id << DRM_SIMGPU_PAGE_DEVICE_SHIFT
                                 : 0),
          read_perm(kernel_svm() ? uint32_t{DRM_SIMGPU_PAGE_MAPPED} : page_ok)
    {
    }
};

// The queue still works: a store to malloc'd memory lands.
void assert_works(const ExecQueue& q)
{
    Malloc m(64, true);
    BatchBuilder b;
    b.store_qw(va(m.data() + 8), 0x600d5157600d5157ULL).batch_end();
    run_ok(q, b);
    igt_assert_eq(m.as<uint64_t>()[1], 0x600d5157600d5157ULL);
    igt_assert_eq(m.as<uint64_t>()[0], 0u);
}

// ioctl(2) on @dev's fd, retried on EINTR and EAGAIN, touching no
// malloc'd memory (the library's ioctl backend is an object on the heap):
// a CPU access to a chunk in VRAM takes it back, and with it the GPU
// mapping of malloc'd memory that shares the chunk.
int raw_ioctl(const simgpu::Device& dev, unsigned long request, void* arg)
{
    int ret;
    do {
        ret = ::ioctl(dev.fd(), request, arg);
    } while (ret == -1 && (errno == EINTR || errno == EAGAIN));
    return ret == 0 ? 0 : errno;
}

// The GPU mapping of the pages of [@start, +@bytes) (DRM_SIMGPU_PAGE_*),
// as it is before the CPU touches any malloc'd memory: the kernel writes
// the answer into a shared mapping, not the heap (see raw_ioctl()).
std::vector<uint32_t> query(const Vm& vm, const void* start, uint64_t bytes)
{
    const uint64_t first = va(start) & ~(page_size - 1);
    const uint64_t n = (round_up(va(start) + bytes, page_size) - first) / page_size;
    const Map answer(round_up(n * sizeof(uint32_t), page_size), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS);
    auto args = simgpu::pack_vm_query_range(vm.id(), first, n, answer.as<uint32_t>());
    const int err = raw_ioctl(vm.device(), DRM_IOCTL_SIMGPU_VM_QUERY_RANGE, &args);
    igt_assert_f(err == 0, "VM_QUERY_RANGE of %llu pages at 0x%llx: %s",
                 static_cast<unsigned long long>(n), static_cast<unsigned long long>(first),
                 std::strerror(err));
    return {answer.as<uint32_t>(), answer.as<uint32_t>() + n};
}

// ftrace through tracefs; the events of the simgpu trace system and of its
// SVM core's (ranges, migrations, evictions).
constexpr const char* tracefs = "/sys/kernel/tracing";
constexpr const char* trace_systems[] = {"simgpu", "simgpu_gpusvm"};

void trace_write(const std::string& file, const std::string& value)
{
    std::ofstream out(std::string(tracefs) + "/" + file);
    out << value << std::flush;
    igt_assert_f(static_cast<bool>(out), "cannot write '%s' to %s/%s", value.c_str(), tracefs,
                 file.c_str());
}

std::string trace_read()
{
    std::ifstream in(std::string(tracefs) + "/trace");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Whether an event of a span class (simgpu_span, simgpu_gpusvm_span) covers @addr.
bool trace_span_covers(const std::string& trace, const std::string& event, uint64_t addr)
{
    std::istringstream lines(trace);
    std::string line;
    while (std::getline(lines, line)) {
        const auto at = line.find(event + ": start=");
        unsigned long long start = 0, end = 0;
        if (at != std::string::npos &&
            std::sscanf(line.c_str() + at + event.size(), ": start=0x%llx end=0x%llx", &start,
                        &end) == 2 &&
            start <= addr && addr < end)
            return true;
    }
    return false;
}

bool trace_has(const std::string& trace, const std::string& event, const std::string& detail)
{
    std::istringstream lines(trace);
    std::string line;
    while (std::getline(lines, line))
        if (line.find(event + ":") != std::string::npos && line.find(detail) != std::string::npos)
            return true;
    return false;
}

// Every page of [@start, +@bytes) has (flags & @mask) == @want.
void assert_pages(const Vm& vm, const void* start, uint64_t bytes, uint32_t mask, uint32_t want,
                  const char* what)
{
    const auto pages = query(vm, start, bytes);
    for (size_t i = 0; i < pages.size(); ++i)
        igt_assert_f((pages[i] & mask) == want,
                     "%s: page %zu (0x%llx) has flags 0x%x, expected 0x%x under mask 0x%x", what,
                     i, static_cast<unsigned long long>((va(start) & ~(page_size - 1)) + i * page_size),
                     pages[i], want, mask);
}

// ---------------------------------------------------------------------------
// Placement: where a GPU fault puts memory (see "Placement" under
// DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR in the uAPI header). On a device
// that migrates, a GPU fault moves the chunk (2 MiB, 64 KiB or 4 KiB)
// around the address to VRAM when it is anonymous private memory, mapped
// writable where the VMA is; a CPU access to it takes the whole chunk back
// to system memory and removes its GPU mapping; a chunk that went to VRAM
// three times stays in system memory. Elsewhere everything stays in
// system memory. So query before the CPU touches the memory.

// DRM_SIMGPU_PAGE_VRAM and the device bits.
constexpr uint32_t place_mask = DRM_SIMGPU_PAGE_VRAM | 0xffu << DRM_SIMGPU_PAGE_DEVICE_SHIFT;

enum class Mem {
    // Anonymous private memory in chunks of its own, which the CPU leaves
    // alone while the GPU maps it and which have not been to VRAM three
    // times in the VM: in this device's VRAM where it migrates.
    anon,
    // malloc'd memory: anonymous private too, but a chunk of it may also
    // hold what the CPU uses while the GPU works (the batches and user
    // fences of these jobs, malloc's own data), so that the CPU took it
    // back (not mapped) or, after three times, the GPU maps it in system
    // memory. Mapped memory is still never in another device's VRAM.
    heap,
    // File-backed and shared memory (MAP_SHARED, a private file mapping,
    // hugetlbfs, whose pages are files too): system memory on any device.
    system,
    // Anonymous private memory that may move or not: pages the kernel finds
    // busy stay in system memory (mlock()ed pages still held by a per-CPU
    // mlock batch), and a GPU write to pages that sit read-only in VRAM
    // takes their chunk back to system memory, where the fault makes them
    // writable. Mapped in this device's VRAM or in system memory.
    anon_or_system,
};

const char* mem_name(Mem kind)
{
    switch (kind) {
    case Mem::anon:
        return "anonymous";
    case Mem::heap:
        return "malloc'd";
    case Mem::system:
        return "file-backed or shared";
    case Mem::anon_or_system:
        return "anonymous";
    }
    return "?";
}

// Whether page flags @f are what @kind gives after a GPU fault: (f &
// @perm_mask) == @perm, in the place the policy says.
bool placed(const Svm& s, uint32_t f, Mem kind, uint32_t perm, uint32_t perm_mask)
{
    const uint32_t where = kind == Mem::system ? 0 : s.anon_place;
    const uint32_t mask = perm_mask | place_mask;
    if ((f & mask) == (perm | where))
        return true;
    if (kind == Mem::anon_or_system)
        return (f & mask) == perm;
    // malloc'd memory on a device that migrates: not mapped (the CPU took
    // the chunk back), or mapped in system memory (three trips).
    return kind == Mem::heap && s.anon_place &&
           (!(f & DRM_SIMGPU_PAGE_MAPPED) || (f & mask) == perm);
}

// The line of /proc/self/maps that holds @addr, for messages.
std::string vma_of(uint64_t addr)
{
    std::ifstream in("/proc/self/maps");
    std::string line;
    while (std::getline(in, line)) {
        unsigned long long lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx", &lo, &hi) == 2 && lo <= addr && addr < hi)
            return line;
    }
    return "none";
}

// Every page of [@start, +@bytes) is mapped with (flags & @perm_mask) ==
// @perm (by default: as a GPU read maps it, Svm::read_perm), where a GPU
// fault puts memory of @kind (see Mem).
void assert_placed(const Svm& s, const void* start, uint64_t bytes, Mem kind, const char* what,
                   uint32_t perm = 0, uint32_t perm_mask = page_ok)
{
    if (!perm)
        perm = perm_mask = s.read_perm;
    const auto pages = query(s.vm, start, bytes);
    for (size_t i = 0; i < pages.size(); ++i) {
        const uint64_t addr = (va(start) & ~(page_size - 1)) + i * page_size;
        igt_assert_f(placed(s, pages[i], kind, perm, perm_mask),
                     "%s: page %zu (0x%llx, VMA %s) of %s memory has flags 0x%x, expected 0x%x "
                     "under mask 0x%x%s",
                     what, i, static_cast<unsigned long long>(addr), vma_of(addr).c_str(),
                     mem_name(kind), pages[i], perm | (kind == Mem::system ? 0 : s.anon_place),
                     perm_mask | place_mask,
                     !s.anon_place                 ? ""
                     : kind == Mem::heap           ? " (or not mapped, or in system memory)"
                     : kind == Mem::anon_or_system ? " (or in system memory)"
                                                   : "");
    }
}

// Where a first GPU fault puts malloc'd memory, without the noise of
// Mem::heap: a fresh VM (no chunk has been to VRAM for it yet) reads a
// dword of every page of [@p, +@bytes) into a buffer object, from a batch
// and user fence in a buffer object too; the wait and the query go
// straight to ioctl(2) and allocate nothing, so the CPU touches no
// malloc'd memory until the query has answered. Every page is then mapped
// where anonymous memory goes. A read, not a write: after a fork() the
// pages of the heap the process has not written since are write-protected,
// and a GPU write to such pages in VRAM brings their chunk back to system
// memory.
void assert_placed_fresh(const Svm& s, std::byte* p, uint64_t bytes, const char* what)
{
    igt_assert(va(p) % 4 == 0 && bytes % 4 == 0 && bytes > 0);
    const Svm fresh(*s.env);
    std::vector<std::byte*> reads;
    for (std::byte* at = p; at < p + bytes;
         at = reinterpret_cast<std::byte*>((va(at) & ~(page_size - 1)) + page_size))
        reads.push_back(at);
    GpuBuffer sink = make_buffer(fresh.vm, reads.size() * 4);
    BatchBuilder b;
    for (size_t i = 0; i < reads.size(); ++i)
        b.copy(sink.gpu(i * 4), va(reads[i]), 4);
    b.batch_end();
    const uint64_t fence_off = round_up(b.size_bytes(), 8);
    GpuBuffer batch = make_buffer(fresh.vm, fence_off + 8);
    std::memcpy(batch.bytes(), b.dwords().data(), b.size_bytes());
    const auto* fence = reinterpret_cast<const volatile uint64_t*>(batch.bytes() + fence_off);
    const uint64_t fence_value = next_fence_value.fetch_add(1);
    const auto sync = simgpu::user_fence_out(batch.gpu(fence_off), fence_value);
    auto exec = simgpu::pack_exec(fresh.q.id(), batch.gpu(), {&sync, 1});
    drm_simgpu_exec_queue_state state{};
    state.exec_queue_id = fresh.q.id();
    int err = raw_ioctl(fresh.q.device(), DRM_IOCTL_SIMGPU_EXEC, &exec);
    igt_assert_f(err == 0, "%s: EXEC: %s", what, std::strerror(err));
    // From here on, only ioctl(2) and the buffer objects until the query.
    const int64_t deadline = now_ns() + job_timeout_ns;
    for (;;) {
        err = raw_ioctl(fresh.q.device(), DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, &state);
        igt_assert_f(err == 0, "%s: EXEC_QUEUE_STATE: %s", what, std::strerror(err));
        if (*fence == fence_value || state.jobs_completed >= 1)
            break;
        igt_assert_f(now_ns() < deadline, "%s: the job did not end in time", what);
        sleep_ms(1);
    }
    const auto pages = query(fresh.vm, p, bytes);
    igt_assert_f(*fence == fence_value && state.jobs_failed == 0,
                 "%s: the job failed: error %d, fault_addr 0x%llx", what, state.error,
                 static_cast<unsigned long long>(state.fault_addr));
    // The CPU keeps touching its TLS block (the stack protector's canary,
    // errno) meanwhile, and a big allocation is an mmap() that may share a
    // VMA with it: pages in a 2 MiB block of the TLS block may share a
    // chunk with it, so they count as Mem::heap there.
    const uint64_t tp = reinterpret_cast<uintptr_t>(::pthread_self());
    const auto near_tls = [tp](uint64_t addr) {
        const uint64_t block = addr & ~(huge_size - 1);
        return block == ((tp - 64 * KiB) & ~(huge_size - 1)) ||
               block == ((tp + 64 * KiB) & ~(huge_size - 1));
    };
    for (size_t i = 0; i < pages.size(); ++i) {
        const uint64_t addr = (va(p) & ~(page_size - 1)) + i * page_size;
        const Mem kind = near_tls(addr) ? Mem::heap : Mem::anon;
        igt_assert_f(placed(fresh, pages[i], kind, DRM_SIMGPU_PAGE_MAPPED, DRM_SIMGPU_PAGE_MAPPED),
                     "%s: page %zu (0x%llx) has flags 0x%x, expected 0x%x under mask 0x%x "
                     "(thread pointer 0x%llx; VMA %s)",
                     what, i, static_cast<unsigned long long>(addr), pages[i],
                     DRM_SIMGPU_PAGE_MAPPED | fresh.anon_place, DRM_SIMGPU_PAGE_MAPPED | place_mask,
                     static_cast<unsigned long long>(tp), vma_of(addr).c_str());
    }
    for (size_t i = 0; i < reads.size(); ++i) {
        uint32_t want;
        std::memcpy(&want, reads[i], 4);
        igt_assert_eq(sink.as<const volatile uint32_t>()[i], want);
    }
}

// Checks a piece of memory of any kind: the CPU writes a pattern in the
// first half, the GPU copies it to the second half, stores a qword and
// adds atomically; all of it visible to the CPU, every page mapped
// writable (and by 2 MiB entries with @huge) where a GPU fault puts
// memory of @kind.
void exercise(const Svm& s, std::byte* p, uint64_t size, uint32_t seed, Mem kind,
              uint32_t huge = 0)
{
    igt_assert(size % 16 == 0 && size >= 64);
    const uint64_t half = size / 2;
    fill_words(p, half, seed);
    const uint64_t orig1 = reinterpret_cast<uint64_t*>(p)[1];
    const uint64_t magic = 0x5157ab1e00000000ULL | seed;
    BatchBuilder b;
    b.copy(va(p + half), va(p), half)
        .store_qw(va(p), magic)
        .atomic(DRM_SIMGPU_ATOMIC_ADD, va(p + 8), 5)
        .batch_end();
    run_ok(s.q, b);
    // Before the CPU reads the results back (which takes VRAM back).
    if (kind == Mem::heap || s.read_perm != page_ok) {
        // Pages of the heap that the GPU only read may be mapped read-only:
        // by a range the VM faulted in while they were write-protected
        // (copy-on-write after a fork()), which the CPU's writes since made
        // writable without invalidating anything; and with the kernel's
        // core, pages the GPU only read are.
        const uint32_t mapped = DRM_SIMGPU_PAGE_MAPPED;
        assert_placed(s, p, size, kind, "after the job", mapped | huge, mapped | huge);
        assert_placed(s, p, 16, kind, "written by the GPU", page_ok | huge, page_ok | huge);
        assert_placed(s, p + half, half, kind, "written by the GPU", page_ok | huge,
                      page_ok | huge);
    } else {
        assert_placed(s, p, size, kind, "after the job", page_ok | huge, page_ok | huge);
    }
    check_words(p + half, half, seed, "GPU copy");
    igt_assert_eq(reinterpret_cast<volatile uint64_t*>(p)[0], magic);
    igt_assert_eq(reinterpret_cast<volatile uint64_t*>(p)[1], orig1 + 5);
    check_words(p + 16, half - 16, seed, "source", 4);
    if (kind == Mem::heap)
        assert_placed_fresh(s, p, size, "malloc'd memory, first GPU fault");
}

// ---------------------------------------------------------------------------
// Sizes.

// Copies a malloc'd buffer of @size to another one @jobs times, changing
// the source between jobs.
void copy_jobs(const Svm& s, uint64_t size, int jobs, uint32_t seed)
{
    Malloc src(size), dst(size);
    for (int j = 0; j < jobs; ++j) {
        fill_words(src.p, size, seed + j);
        BatchBuilder b;
        b.copy(va(dst.p), va(src.p), size).store_dw(va(src.p), 0xa11c0000u + j).batch_end();
        run_ok(s.q, b);
        check_words(dst.p, size, seed + j, "destination");
        igt_assert_eq(src.as<volatile uint32_t>()[0], 0xa11c0000u + j);
        check_words(src.data() + 4, size - 4, seed + j, "source", 1);
    }
}

void fill_big(const Svm& s, uint64_t size)
{
    Malloc m(size);
    const uint32_t value = 0xf111f111u;
    BatchBuilder b;
    b.fill(va(m.p), size, value);
    for (uint64_t off = 0; off < size; off += size / 16)
        b.store_dw(va(m.data() + off + 12), static_cast<uint32_t>(off >> 12));
    b.batch_end();
    run_ok(s.q, b, 4 * job_timeout_ns);
    const auto* w = m.as<const uint64_t>();
    const uint64_t pair = uint64_t{value} << 32 | value;
    for (uint64_t i = 0; i < size / 8; ++i) {
        const uint64_t off = i * 8;
        if (off % (size / 16) == 8) {
            const uint64_t want = uint64_t{static_cast<uint32_t>((off - 8) >> 12)} << 32 | value;
            igt_assert_eq(w[i], want);
        } else if (w[i] != pair) {
            igt_fail("qword %llu is 0x%llx", static_cast<unsigned long long>(i),
                     static_cast<unsigned long long>(w[i]));
        }
    }
}

// Many independent malloc'd buffers, all jobs queued before any is waited for.
void many_jobs(const Svm& s, int jobs, uint64_t min_size, uint64_t max_size)
{
    std::mt19937 rng(jobs);
    std::vector<std::unique_ptr<Malloc>> src, dst;
    std::vector<uint64_t> sizes;
    std::vector<SvmJob> running;
    for (int j = 0; j < jobs; ++j) {
        const uint64_t size = round_up(std::uniform_int_distribution<uint64_t>(min_size, max_size)(rng), 4);
        sizes.push_back(size);
        src.push_back(std::make_unique<Malloc>(size));
        dst.push_back(std::make_unique<Malloc>(size));
        fill_words(src.back()->p, size, 100 + j);
        BatchBuilder b;
        b.copy(va(dst.back()->p), va(src.back()->p), size).batch_end();
        running.emplace_back(s.q, b);
    }
    for (int j = 0; j < jobs; ++j) {
        assert_ok(running[j].result());
        check_words(dst[j]->p, sizes[j], 100 + j, "destination");
    }
}

// ---------------------------------------------------------------------------
// Environment probes.

bool is_root()
{
    return ::geteuid() == 0;
}

// Pipe helpers for forked children; false on error or a 30 s timeout.
bool pipe_send(int fd, char c)
{
    return ::write(fd, &c, 1) == 1;
}

bool pipe_recv(int fd, char* c, int timeout_ms = 30000)
{
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) != 1)
        return false;
    return ::read(fd, c, 1) == 1;
}

// ---------------------------------------------------------------------------
// Work of a forked child with its own fd, VM and mirror: no igt asserts
// (they throw), an exit code instead.

#define CHILD_CHECK(cond, code)                                                                   \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            std::fprintf(stderr, "child %d: %s failed (line %d)\n", ::getpid(), #cond,          \
                         __LINE__);                                                               \
            return code;                                                                          \
        }                                                                                         \
    } while (0)

int child_svm_work(uint32_t seed, int iterations, uint64_t size)
{
    auto found = simgpu::Device::enumerate();
    CHILD_CHECK(found.ok() && !found.value().empty(), 10);
    const simgpu::Device& dev = found.value().front();
    auto vm = Vm::create(dev, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    CHILD_CHECK(vm.ok(), 11);
    CHILD_CHECK(vm.value().mirror().ok(), 12);
    auto q = ExecQueue::create(dev, vm.value(), DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0);
    CHILD_CHECK(q.ok(), 13);
    for (int it = 0; it < iterations; ++it) {
        auto* src = static_cast<uint32_t*>(std::malloc(size));
        auto* dst = static_cast<uint32_t*>(std::malloc(size));
        CHILD_CHECK(src && dst, 14);
        for (uint64_t i = 0; i < size / 4; ++i)
            src[i] = pattern(seed + it, i);
        BatchBuilder b;
        b.copy(va(dst), va(src), size).atomic(DRM_SIMGPU_ATOMIC_INC, va(src), 0).batch_end();
        const int64_t t0 = now_ns();
        const int err = svm_run(q.value(), b);
        if (err)
            std::fprintf(stderr, "child %d: job %d failed after %.0f ms: %d (%s)\n", ::getpid(),
                         it, elapsed_ms(t0), err, std::strerror(-err));
        CHILD_CHECK(err == 0, 15);
        for (uint64_t i = 0; i < size / 4; ++i)
            CHILD_CHECK(dst[i] == pattern(seed + it, i), 16);
        CHILD_CHECK(*reinterpret_cast<uint64_t*>(src) ==
                        (uint64_t{pattern(seed + it, 1)} << 32 | pattern(seed + it, 0)) + 1,
                    17);
        std::free(src);
        std::free(dst);
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Partial munmap of a GPU-mapped 2 MiB range.

enum class Where { start, middle, end };

void partial_munmap(const Env& env, Where where, bool cpu_touch)
{
    const Svm s(env);
    Map area(2 * huge_size);
    std::byte* r = align_ptr(area.data(), huge_size);
    const uint64_t npages = huge_size / page_size;
    const uint64_t hole_size = 64 * KiB;
    const uint64_t hole_off = where == Where::start    ? 0
                              : where == Where::middle ? huge_size / 2
                                                       : huge_size - hole_size;
    std::byte* hole = r + hole_off;

    if (cpu_touch)
        fill_words(r, huge_size, 7);
    // The GPU writes a dword in every page: every page is mapped.
    BatchBuilder b;
    for (uint64_t i = 0; i < npages; ++i)
        b.store_dw(va(r + i * page_size + 64), 0xa0000000u | static_cast<uint32_t>(i));
    b.batch_end();
    run_ok(s.q, b);
    // Before the CPU looks: every page is mapped writable; where the
    // device migrates, the whole 2 MiB range went to VRAM and is mapped by
    // one 2 MiB entry.
    const uint32_t huge = s.anon_place ? DRM_SIMGPU_PAGE_HUGE : 0;
    assert_placed(s, r, huge_size, Mem::anon, "mapped range", page_ok | huge, page_ok | huge);
    for (uint64_t i = 0; i < npages; ++i) {
        const auto* page = reinterpret_cast<const uint32_t*>(r + i * page_size);
        igt_assert_eq(page[16], 0xa0000000u | static_cast<uint32_t>(i));
        if (cpu_touch)
            igt_assert_eq(page[0], pattern(7, i * page_size / 4));
        else
            igt_assert_eq(page[0], 0u);
    }
    std::vector<std::byte> snapshot(r, r + huge_size);

    // The CPU's reads took the range back from VRAM and its GPU mapping
    // with it, where the device migrates: one GPU read maps the whole range
    // again, so that the munmap below cuts into a live GPU mapping on any
    // device.
    Malloc sink(64, true);
    BatchBuilder again;
    again.copy(va(sink.p), va(r + 0x100), 8).batch_end();
    run_ok(s.q, again);
    assert_placed(s, r, huge_size, Mem::anon, "mapped again", page_ok | huge, page_ok | huge);
    check_same(sink.p, snapshot.data() + 0x100, 8, "read of the range");

    igt_assert_eq(::munmap(hole, hole_size), 0);
    // The notifier zapped the unmapped part at once.
    assert_pages(s.vm, hole, hole_size, DRM_SIMGPU_PAGE_MAPPED, 0, "unmapped hole");

    // The rest of the range still reads right.
    Malloc out(huge_size, true);
    BatchBuilder c;
    if (hole_off)
        c.copy(va(out.p), va(r), hole_off);
    if (hole_off + hole_size < huge_size)
        c.copy(va(out.data() + hole_off + hole_size), va(hole + hole_size),
               huge_size - hole_off - hole_size);
    c.batch_end();
    run_ok(s.q, c);
    check_same(out.data(), snapshot.data(), hole_off, "before the hole");
    check_same(out.data() + hole_off + hole_size, snapshot.data() + hole_off + hole_size,
               huge_size - hole_off - hole_size, "after the hole");
    check_value(out.data() + hole_off, hole_size, 0, "hole not copied");

    // The hole faults, on the exact byte, for writes and for reads.
    BatchBuilder w;
    w.store_dw(va(hole + hole_size / 2 + 0x44), 1).batch_end();
    run_fault(s.q, w, va(hole + hole_size / 2 + 0x44));
    BatchBuilder rd;
    rd.copy(va(out.p), va(hole + 0x123), 16).batch_end();
    run_fault(s.q, rd, va(hole + 0x123));

    // And the rest keeps working for writes too, the CPU seeing them.
    std::byte* other = where == Where::start ? r + hole_size : r;
    BatchBuilder w2;
    w2.store_dw(va(other + 0x80), 0x600d0001u).batch_end();
    run_ok(s.q, w2);
    igt_assert_eq(reinterpret_cast<volatile uint32_t*>(other)[0x20], 0x600d0001u);
    assert_works(s.q);
}

// ---------------------------------------------------------------------------
// Files.

struct TmpFile {
    int fd = -1;
    explicit TmpFile(const std::string& dir, uint64_t size)
    {
        std::string path = dir + "/simgpu-svm-XXXXXX";
        fd = ::mkstemp(path.data());
        igt_require_f(fd >= 0, "cannot create a file in %s: %s", dir.c_str(), std::strerror(errno));
        ::unlink(path.c_str());
        igt_assert_eq(::ftruncate(fd, static_cast<off_t>(size)), 0);
    }
    ~TmpFile() { ::close(fd); }
    TmpFile(const TmpFile&) = delete;
    TmpFile& operator=(const TmpFile&) = delete;
};

void file_shared_test(const Env& env, const std::string& dir)
{
    const Svm s(env);
    const uint64_t size = 256 * KiB;
    TmpFile f(dir, size);
    Map m(size, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd);
    exercise(s, m.data(), size, 31, Mem::system);
    // The GPU's writes are in the file.
    std::vector<std::byte> back(size);
    igt_assert_eq(::pread(f.fd, back.data(), size, 0), static_cast<ssize_t>(size));
    check_same(back.data(), m.data(), size, "file contents");
    check_words(back.data() + size / 2, size / 2, 31, "file copy");
}

// ---------------------------------------------------------------------------

struct HugePagesRestorer {
    std::optional<std::string> old;
    ~HugePagesRestorer()
    {
        if (old) {
            std::ofstream out("/proc/sys/vm/nr_hugepages");
            out << *old;
        }
    }
};

// Room for a 64 KiB-aligned 64 KiB window with a page on either side.
alignas(4096) std::byte global_bss[192 * KiB];
uint32_t global_data[2048] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};

[[gnu::noinline]] void stack_test(const Svm& s)
{
    // 64 KiB of stack in chunks of their own: a 64 KiB-aligned window of a
    // larger array, so that no live frame shares a chunk with it (the CPU
    // would take such a chunk back from VRAM as soon as it runs).
    alignas(4096) std::array<std::byte, 128 * KiB> buf{};
    exercise(s, align_ptr(buf.data(), 64 * KiB), 64 * KiB, 41, Mem::anon);
    // A small unaligned stack variable as a plain source and destination.
    alignas(8) volatile uint64_t local = 0x1234567890abcdefULL;
    alignas(8) volatile uint64_t copy = 0;
    BatchBuilder b;
    b.copy(va(const_cast<uint64_t*>(&copy)), va(const_cast<uint64_t*>(&local)), 8)
        .store_dw(va(const_cast<uint64_t*>(&local)), 0x5151u)
        .batch_end();
    run_ok(s.q, b);
    igt_assert_eq(copy, 0x1234567890abcdefULL);
    igt_assert_eq(local, 0x1234567800005151ULL);
}

// Counters of simgpu_svm; skips when debugfs cannot be read.
std::map<std::string, uint64_t> read_svm_counters()
{
    auto c = read_debugfs_counters("simgpu_svm");
    igt_require_f(c.has_value(), "no simgpu_svm in /sys/kernel/debug/dri (not root or no debugfs)");
    for (const char* key : {"ranges_created", "ranges_removed", "ranges_2M", "ranges_64K",
                            "ranges_4K", "pages_faulted", "invalidations"})
        igt_assert_f(c->count(key), "simgpu_svm has no %s line", key);
    return *c;
}

// The VAs of @vm as the simgpu_vms debugfs file counts them: buffer-object
// mappings and mirror pieces. Skips when debugfs cannot be read.
std::pair<uint64_t, uint64_t> va_counts(const Env& env, const Vm& vm)
{
    const uint32_t device = env.info.device_id;
    auto dirs = simgpu::counter_dirs();
    igt_require_f(dirs.ok() && dirs.value().size() > device,
                  "no debugfs directory of device %u (not root or no debugfs)", device);
    auto vms = simgpu::read_vms(dirs.value()[device]);
    igt_assert_f(vms.ok(), "%s", vms.ok() ? "" : vms.error().message().c_str());
    const uint64_t pid = static_cast<uint64_t>(::getpid());
    for (const auto& v : vms.value()) {
        if (v.id != vm.id() || v.value("pid") != pid)
            continue;
        const auto bo = v.value("bo_mappings"), mirror = v.value("mirror_mappings");
        igt_assert_f(bo && mirror, "vm %u has no bo_mappings or mirror_mappings line", v.id);
        return {*bo, *mirror};
    }
    igt_assert_f(false, "vm %u of pid %llu is not in simgpu_vms", vm.id(),
                 static_cast<unsigned long long>(pid));
    return {};
}

// Binds split the VAs they overlap (drm_gpuvm's remap): an object bound
// inside a mirror leaves the mirror pieces around it, a mirror bound over
// it removes it, an UNMAP punches a hole that faults, and an object across
// the end of a piece trims it. The debugfs counts are the VA tree's.
void mirror_split(const Env& env)
{
    const Svm s(env);
    Map m(256 * KiB);
    const uint64_t base = va(m.data()), bo_size = 32 * KiB;
    GpuBuffer bo = make_unbound(env.dev, bo_size);
    const auto [bo0, mirror0] = va_counts(env, s.vm);
    const auto expect = [&](uint64_t bos, uint64_t mirrors, const char* step) {
        const auto [b, mi] = va_counts(env, s.vm);
        igt_assert_f(b == bo0 + bos && mi == mirror0 + mirrors,
                     "%s: %llu object VAs and %llu mirror pieces, expected %llu and %llu", step,
                     static_cast<unsigned long long>(b), static_cast<unsigned long long>(mi),
                     static_cast<unsigned long long>(bo0 + bos),
                     static_cast<unsigned long long>(mirror0 + mirrors));
    };

    igt_assert_ok(s.vm.map(bo.bo, base + 64 * KiB, bo_size));
    expect(1, 1, "object inside the mirror");
    igt_assert_ok(s.vm.mirror(base, 256 * KiB));
    expect(0, 0, "mirror bound over the object: one piece again");
    igt_assert_ok(s.vm.unmap(base + 64 * KiB, bo_size));
    expect(0, 1, "hole unmapped in the mirror");
    igt_assert_ok(s.vm.map(bo.bo, base + 240 * KiB, bo_size));
    expect(1, 2, "object inside the piece after the hole");

    BatchBuilder hole;
    hole.store_dw(base + 64 * KiB + 0x40, 1).batch_end();
    run_fault(s.q, hole, base + 64 * KiB + 0x40);
    BatchBuilder fill;
    fill.fill(base, 64 * KiB, 0x5a5a5a5au).fill(base + 96 * KiB, 144 * KiB, 0x5a5a5a5au)
        .batch_end();
    run_ok(s.q, fill);
    check_value(m.data(), 64 * KiB, 0x5a5a5a5au, "CPU memory before the hole");
    check_value(m.data() + 96 * KiB, 144 * KiB, 0x5a5a5a5au, "CPU memory after the hole");
}

// A mirror UNMAP of a hole and a MAP of the mirror over it again leave one
// mirror piece, as before: the GPU maps the THP around the hole with one
// 2 MiB entry again (it stayed 4 KiB entries, the pieces never merged).
void mirror_remap_merges(const Env& env)
{
    const Svm s(env);
    const auto [bo0, mirror0] = va_counts(env, s.vm);
    simgpu_test::svm::Area a(huge_size, simgpu_test::svm::Thp::on);
    std::memset(a.data(), 0x11, huge_size);
    igt_require_f(anon_huge_kb(a.data()) >= huge_size / KiB,
                  "the kernel did not back the 2 MiB area with a THP");
    Malloc out(huge_size);
    BatchBuilder rd;
    rd.copy(va(out.p), va(a.data()), huge_size).batch_end();
    run_ok(s.q, rd);
    simgpu_test::svm::assert_huge(s.vm, a.data(), huge_size, "after the first GPU read");

    const uint64_t hole = va(a.data()) + MiB;
    igt_assert_ok(s.vm.unmap(hole, 8 * KiB));
    igt_assert_ok(s.vm.mirror(hole, 8 * KiB));
    const auto [bos, mirrors] = va_counts(env, s.vm);
    igt_assert_eq(bos, bo0);
    igt_assert_eq(mirrors, mirror0);
    run_ok(s.q, rd);
    simgpu_test::svm::assert_huge(s.vm, a.data(), huge_size, "after the mirror was mapped again");
    check_value(out.p, huge_size, 0x11111111u, "GPU copy of the THP");
}

// The CPU unmaps a range in two steps while the VM's garbage collector
// removes it: the range between the two munmap()s takes two unmap
// invalidations, one of which may come while the collector has it in
// hand. It must be removed once (the kernel backend removed it twice:
// WARNING in drm_gpusvm_range_remove()), and the VM keeps working.
void unmap_while_collecting(const Env& env)
{
    const Svm s(env);
    constexpr uint64_t size = 256 * KiB, first = 96 * KiB;
    for (int round = 0; round < 64; ++round) {
        Map m(Map::own, size);
        BatchBuilder b;
        b.fill(va(m.data()), size, 0x0c0110c7u + round).batch_end();
        run_ok(s.q, b);
        check_value(m.data(), size, 0x0c0110c7u + round, "memory the GPU filled");
        igt_assert_eq(::munmap(m.data(), first), 0);
        igt_assert_eq(::munmap(m.data() + first, size - first), 0);
    }
    assert_works(s.q);
}


// ---------------------------------------------------------------------------
// Helpers of the subtests below.

// @n queues on @vm, on the engines of @env in turn.
std::vector<ExecQueue> make_queues(const Env& env, const Vm& vm, int n)
{
    std::vector<ExecQueue> queues;
    for (int i = 0; i < n; ++i) {
        const auto& e = env.engines[i % env.engines.size()];
        queues.push_back(make_queue(env, vm, e.engine_class, e.instance));
    }
    return queues;
}

// Runs @fn(0) to @fn(@n - 1) at once, each on a thread of its own; waits
// for all of them, then rethrows the first failure.
void on_threads(int n, const std::function<void(int)>& fn)
{
    std::vector<std::future<void>> futures;
    for (int i = 0; i < n; ++i)
        futures.push_back(std::async(std::launch::async, [&fn, i] { fn(i); }));
    for (auto& f : futures)
        f.wait();
    for (auto& f : futures)
        f.get();
}

// Anonymous memory of its own (@m) that the CPU filled with pattern
// @seed, and a job (@rd) that copies it whole to malloc'd @out: run once,
// checking where the memory went and what the job read (@what).
struct ReadBack {
    Map m;
    Malloc out;
    BatchBuilder rd;

    ReadBack(const Svm& s, uint64_t size, uint32_t seed, const char* what)
        : m(Map::own, size), out(size)
    {
        fill_words(m.data(), size, seed);
        rd.copy(va(out.p), va(m.data()), size).batch_end();
        run_ok(s.q, rd);
        assert_placed(s, m.data(), size, Mem::anon, what);
        check_words(out.p, size, seed, what);
    }
};

// VM_QUERY_RANGE of 4 pages of a fresh mirroring VM, its arguments
// changed by @mutate, fails with @err.
template <typename Mutate>
void query_bad(const Env& env, Mutate mutate, int err)
{
    const Vm vm = make_mirror_vm(env);
    std::vector<uint32_t> pages(8, 0xffffffffu);
    auto args = simgpu::pack_vm_query_range(vm.id(), 0x100000, 4, pages.data());
    mutate(args);
    igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_QUERY_RANGE, &args), err);
}

// ---------------------------------------------------------------------------
// Subtests, in the order they run. A subtest that needs only the device
// is a function of the Env; a family (the same body with other sizes or
// places) is one function of its table's row.

// --- once / twice / many ---------------------------------------------------

// Jobs on malloc'd buffers of a size: @run gets a fresh Svm and the row.
struct SizeCase {
    const char* name;
    void (*run)(const Svm&, const SizeCase&);
    uint64_t size; // of each buffer; the largest for many_jobs()
    int jobs;
    uint32_t seed;     // for copy_jobs()
    uint64_t min_size; // for many_jobs()
    const char* description;
};

void run_copy_jobs(const Svm& s, const SizeCase& c)
{
    copy_jobs(s, c.size, c.jobs, c.seed);
}

void run_fill_big(const Svm& s, const SizeCase& c)
{
    fill_big(s, c.size);
}

void run_many_jobs(const Svm& s, const SizeCase& c)
{
    many_jobs(s, c.jobs, c.min_size, c.size);
}

constexpr SizeCase size_cases[] = {
    {"once-4k", run_copy_jobs, 4 * KiB, 1, 1, 0,
     "a job copies a malloc'd 4 KiB buffer to another one and stores to the source"},
    {"once-64k", run_copy_jobs, 64 * KiB, 1, 1, 0,
     "a job copies a malloc'd 64 KiB buffer to another one and stores to the source"},
    {"once-2m", run_copy_jobs, 2 * MiB, 1, 1, 0,
     "a job copies a malloc'd 2 MiB buffer to another one and stores to the source"},
    {"once-16m", run_copy_jobs, 16 * MiB, 1, 1, 0,
     "a job copies a malloc'd 16 MiB buffer to another one and stores to the source"},
    {"once-64m", run_fill_big, 64 * MiB, 1, 0, 0,
     "a job fills a malloc'd 64 MiB buffer, storing a dword every 4 MiB"},
    {"twice-64k", run_copy_jobs, 64 * KiB, 2, 11, 0,
     "two jobs copy a malloc'd 64 KiB buffer, the CPU changing the source in between"},
    {"twice-2m", run_copy_jobs, 2 * MiB, 2, 21, 0,
     "two jobs copy a malloc'd 2 MiB buffer, the CPU changing the source in between"},
    {"many-4k", run_many_jobs, 4 * KiB, 64, 0, 16,
     "64 jobs, all queued before the first wait, copy malloc'd buffers of up to 4 KiB"},
    {"many-256k", run_many_jobs, 256 * KiB, 16, 0, 4 * KiB,
     "16 jobs, all queued before the first wait, copy malloc'd buffers of 4 to 256 KiB"},
};

void sizes(const Env& env, const SizeCase& c)
{
    const Svm s(env);
    c.run(s, c);
}

// --- access patterns, memory kinds -----------------------------------------

void unaligned(const Env& env)
{
    const Svm s(env);
    for (const auto& [src_off, dst_off, size] :
         std::initializer_list<std::array<uint64_t, 3>>{{3, 5, 1},
                                                        {1, 7, 4095},
                                                        {4093, 11, 4099},
                                                        {13, 4090, 3 * 4096 + 17},
                                                        {4095, 1, 70001}}) {
        Malloc src(size + 8192), dst(size + 8192);
        std::memset(dst.p, 0xee, size + 8192);
        std::byte* sp = src.data() + src_off;
        std::byte* dp = dst.data() + dst_off;
        fill_bytes(sp, size, static_cast<uint32_t>(size));
        BatchBuilder b;
        b.copy(va(dp), va(sp), size).batch_end();
        run_ok(s.q, b);
        check_bytes(dp, size, static_cast<uint32_t>(size), "unaligned copy");
        // Nothing around the destination was written.
        for (uint64_t i = 0; i < dst_off; ++i)
            igt_assert_eq(static_cast<uint8_t>(dst.data()[i]), 0xeeu);
        for (uint64_t i = dst_off + size; i < size + 8192; ++i)
            igt_assert_eq(static_cast<uint8_t>(dst.data()[i]), 0xeeu);
    }
}

void strided(const Env& env)
{
    const Svm s(env);
    const uint64_t size = 8 * MiB;
    const uint64_t stride = 3 * page_size + 28;
    Malloc m(size, true);
    BatchBuilder b;
    uint32_t n = 0;
    for (uint64_t off = 4; off + 4 <= size; off += stride, ++n)
        b.store_dw(va(m.data() + off), 0x5700000u + n);
    b.batch_end();
    run_ok(s.q, b);
    // Before the CPU reads it back: pages the GPU touched are mapped,
    // where a GPU fault puts malloc'd memory; some untouched pages of a
    // touched range may be mapped too, but all touched ones are. The
    // 2 MiB blocks inside the buffer hold nothing else, so nothing the
    // CPU uses meanwhile: all of their pages are mapped (each has
    // touched pages), as anonymous memory of its own.
    const auto pages = query(s.vm, m.p, size);
    const uint64_t first = va(m.p) & ~(page_size - 1);
    for (uint64_t off = 4; off + 4 <= size; off += stride) {
        const uint64_t page = (va(m.data() + off) - first) / page_size;
        igt_assert_f(placed(s, pages[page], Mem::heap, page_ok, page_ok),
                     "touched page %llu (offset 0x%llx) has flags 0x%x",
                     static_cast<unsigned long long>(page),
                     static_cast<unsigned long long>(off), pages[page]);
    }
    const uint64_t own = round_up(va(m.p), huge_size);
    const uint64_t own_end = (va(m.p) + size) & ~(huge_size - 1);
    igt_assert(own < own_end);
    for (uint64_t a = own; a < own_end; a += page_size) {
        const uint64_t page = (a - first) / page_size;
        igt_assert_f(placed(s, pages[page], Mem::anon, page_ok, page_ok),
                     "page %llu (0x%llx) of a 2 MiB block inside the buffer has flags 0x%x, "
                     "expected 0x%x",
                     static_cast<unsigned long long>(page), static_cast<unsigned long long>(a),
                     pages[page], page_ok | s.anon_place);
    }
    const auto* w = m.as<const uint32_t>();
    uint64_t next = 4;
    n = 0;
    for (uint64_t i = 0; i < size / 4; ++i) {
        if (i * 4 == next) {
            igt_assert_eq(w[i], 0x5700000u + n);
            next += stride;
            ++n;
        } else if (w[i] != 0) {
            igt_fail("word %llu is 0x%x, expected 0", static_cast<unsigned long long>(i), w[i]);
        }
    }
}

void many_queues(const Env& env)
{
    const Vm vm = make_mirror_vm(env);
    const uint64_t size = 256 * KiB;
    constexpr int num_queues = 8;
    constexpr int jobs_per_queue = 3;
    const std::vector<ExecQueue> queues = make_queues(env, vm, num_queues);
    std::vector<std::unique_ptr<Malloc>> src, dst;
    std::vector<SvmJob> jobs;
    for (int j = 0; j < jobs_per_queue; ++j)
        for (int i = 0; i < num_queues; ++i) {
            const uint32_t seed = 1000 + j * num_queues + i;
            src.push_back(std::make_unique<Malloc>(size));
            dst.push_back(std::make_unique<Malloc>(size));
            fill_words(src.back()->p, size, seed);
            BatchBuilder b;
            b.copy(va(dst.back()->p), va(src.back()->p), size).batch_end();
            jobs.emplace_back(queues[i], b);
        }
    for (size_t k = 0; k < jobs.size(); ++k) {
        assert_ok(jobs[k].result());
        const uint32_t seed = 1000 + static_cast<uint32_t>(k);
        check_words(dst[k]->p, size, seed, "destination");
    }
}

void mem_malloc(const Env& env)
{
    const Svm s(env);
    for (const uint64_t size : {uint64_t{64}, 4 * KiB, 100 * KiB, 1 * MiB}) {
        Malloc m(size);
        exercise(s, m.data(), size, static_cast<uint32_t>(size), Mem::heap);
    }
}

void mem_mmap_private(const Env& env)
{
    const Svm s(env);
    Map m(Map::own, 512 * KiB);
    exercise(s, m.data(), m.size(), 51, Mem::anon);
}

void mem_mmap_shared(const Env& env)
{
    const Svm s(env);
    Map m(512 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    exercise(s, m.data(), m.size(), 52, Mem::system);
}

void mem_file_tmp(const Env& env)
{
    file_shared_test(env, "/tmp");
}

void mem_file_shm(const Env& env)
{
    igt_require_f(::access("/dev/shm", W_OK) == 0, "no writable /dev/shm");
    file_shared_test(env, "/dev/shm");
}

void mem_file_private(const Env& env)
{
    // A private mapping of a file: the GPU's writes are CoW, the file
    // keeps its contents.
    const Svm s(env);
    const uint64_t size = 64 * KiB;
    TmpFile f("/tmp", size);
    std::vector<uint32_t> data(size / 4);
    fill_words(data.data(), size, 61);
    igt_assert_eq(::pwrite(f.fd, data.data(), size, 0), static_cast<ssize_t>(size));
    Map m(size, PROT_READ | PROT_WRITE, MAP_PRIVATE, f.fd);
    Malloc out(size);
    BatchBuilder b;
    b.copy(va(out.p), va(m.data()), size).fill(va(m.data()), size, 0xdeadbeef).batch_end();
    run_ok(s.q, b);
    // Its copied pages are anonymous, but the mapping is a file's: they
    // stay in system memory.
    assert_placed(s, m.data(), size, Mem::system, "private file mapping");
    check_words(out.p, size, 61, "file read by the GPU");
    check_value(m.data(), size, 0xdeadbeef, "private copy");
    std::vector<uint32_t> back(size / 4);
    igt_assert_eq(::pread(f.fd, back.data(), size, 0), static_cast<ssize_t>(size));
    check_words(back.data(), size, 61, "file after GPU writes to a private mapping");
}

void mem_thp(const Env& env)
{
    const std::string enabled = read_file("/sys/kernel/mm/transparent_hugepage/enabled");
    igt_require_f(!enabled.empty() && enabled.find("[never]") == std::string::npos,
                  "transparent hugepages are off (enabled: %s)",
                  enabled.empty() ? "missing" : enabled.c_str());
    const Svm s(env);
    Map area(2 * huge_size);
    std::byte* p = align_ptr(area.data(), huge_size);
    igt_assert_eq(::madvise(p, huge_size, MADV_HUGEPAGE), 0);
    std::memset(p, 0x5a, huge_size); // the CPU faults it in first
    const uint64_t kb = anon_huge_kb(p);
    igt_require_f(kb >= huge_size / KiB,
                  "the kernel did not back the 2 MiB area with a THP (AnonHugePages %llu kB)",
                  static_cast<unsigned long long>(kb));
    // A THP in system memory, or the 2 MiB chunk it became in VRAM: one
    // 2 MiB entry either way.
    exercise(s, p, huge_size, 71, Mem::anon, DRM_SIMGPU_PAGE_HUGE);
    igt_info("THP: AnonHugePages %llu kB, all 512 pages HUGE\n",
             static_cast<unsigned long long>(kb));
}

void mem_hugetlb(const Env& env)
{
    HugePagesRestorer restore;
    void* p = ::mmap(nullptr, huge_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED && is_root()) {
        const std::string old = read_file("/proc/sys/vm/nr_hugepages");
        std::ofstream out("/proc/sys/vm/nr_hugepages");
        if (out && (out << "8").flush()) {
            restore.old = old.empty() ? "0" : old;
            out.close();
            p = ::mmap(nullptr, huge_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        }
    }
    igt_require_f(p != MAP_FAILED, "no hugetlbfs pages: mmap(MAP_HUGETLB) failed: %s",
                  std::strerror(errno));
    const Map m(p, huge_size);
    const Svm s(env);
    exercise(s, m.data(), huge_size, 81, Mem::system);
    const auto pages = query(s.vm, m.data(), huge_size);
    igt_info("hugetlb page 0 flags 0x%x\n", pages[0]);
}

void mem_stack(const Env& env)
{
    const Svm s(env);
    stack_test(s);
}

void mem_global(const Env& env)
{
    const Svm s(env);
    // A 64 KiB window of .bss in chunks of its own: read-only pages of
    // global_bss on either side split it into a VMA of its own, so that
    // no chunk around it holds another variable, which the CPU may
    // touch while the GPU works (or the heap, where brk follows .bss).
    std::byte* window = align_ptr(global_bss + page_size, 64 * KiB);
    igt_assert(window + 64 * KiB + page_size <= global_bss + sizeof(global_bss));
    for (std::byte* guard : {window - page_size, window + 64 * KiB})
        igt_assert_eq(::mprotect(guard, page_size, PROT_READ), 0);
    exercise(s, window, 64 * KiB, 91, Mem::anon);
    for (std::byte* guard : {window - page_size, window + 64 * KiB})
        igt_assert_eq(::mprotect(guard, page_size, PROT_READ | PROT_WRITE), 0);
    // Initialised data (a private file mapping of the binary).
    Malloc out(sizeof(global_data), true);
    BatchBuilder b;
    b.copy(va(out.p), va(global_data), sizeof(global_data))
        .store_dw(va(&global_data[2047]), 0x99999999u)
        .batch_end();
    run_ok(s.q, b);
    // A private file mapping stays in system memory, copied on write.
    assert_placed(s, global_data, sizeof(global_data), Mem::system, "initialised data",
                  DRM_SIMGPU_PAGE_MAPPED, DRM_SIMGPU_PAGE_MAPPED);
    assert_placed(s, &global_data[2047], 4, Mem::system, "written initialised data");
    igt_assert_eq(out.as<uint32_t>()[0], 0x11111111u);
    igt_assert_eq(out.as<uint32_t>()[3], 0x44444444u);
    igt_assert_eq(out.as<uint32_t>()[4], 0u);
    igt_assert_eq(reinterpret_cast<volatile uint32_t*>(global_data)[2047], 0x99999999u);
}

void mem_mlock(const Env& env)
{
    const Svm s(env);
    Map m(Map::own, 256 * KiB);
    igt_require_f(::mlock(m.data(), m.size()) == 0, "mlock failed: %s", std::strerror(errno));
    exercise(s, m.data(), m.size(), 101, Mem::anon_or_system);
    igt_assert_eq(::munlock(m.data(), m.size()), 0);
}

// --- address reuse ---------------------------------------------------------

// malloc() and free() of a size, four times over: the GPU reads each new
// allocation, wherever malloc() puts it.
struct FreeCase {
    const char* name;
    uint64_t size;
    const char* description;
};

constexpr FreeCase free_malloc_cases[] = {
    {"free-malloc-small", 8 * KiB,
     "the GPU reads the data of each of four malloc()s of 8 KiB, each freed after the read"},
    {"free-malloc-large", 4 * MiB,
     "the GPU reads the data of each of four malloc()s of 4 MiB, each freed after the read"},
};

void free_malloc(const Env& env, uint64_t sz)
{
    const Svm s(env);
    Malloc out(sz);
    int same = 0;
    void* previous = nullptr;
    for (uint32_t round = 0; round < 4; ++round) {
        void* p = std::malloc(sz);
        igt_assert(p);
        same += p == previous;
        previous = p;
        fill_words(p, sz, 200 + round);
        BatchBuilder b;
        b.copy(va(out.p), va(p), sz).batch_end();
        run_ok(s.q, b);
        check_words(out.p, sz, 200 + round, "GPU read of the new allocation");
        std::free(p);
    }
    igt_info("%d of 3 allocations reused the previous address\n", same);
}

void munmap_mmap_fixed(const Env& env)
{
    const Svm s(env);
    const uint64_t size = 256 * KiB;
    Malloc out(size);
    Map m(Map::own, size);
    fill_words(m.data(), size, 301);
    BatchBuilder b;
    b.copy(va(out.p), va(m.data()), size).batch_end();
    run_ok(s.q, b);
    assert_placed(s, m.data(), size, Mem::anon, "first mapping");
    check_words(out.p, size, 301, "first mapping");

    // New memory at the same address: zeros, then new CPU data.
    igt_assert_eq(::munmap(m.data(), size), 0);
    void* again = ::mmap(m.data(), size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    igt_assert(again == m.data());
    assert_pages(s.vm, m.data(), size, DRM_SIMGPU_PAGE_MAPPED, 0, "after munmap");
    run_ok(s.q, b);
    check_value(out.p, size, 0, "fresh mapping");
    fill_words(m.data(), size, 302);
    run_ok(s.q, b);
    check_words(out.p, size, 302, "fresh mapping with new data");

    // MAP_FIXED over the live mapping replaces it too.
    again = ::mmap(m.data(), size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    igt_assert(again == m.data());
    fill_words(m.data(), size, 303);
    run_ok(s.q, b);
    check_words(out.p, size, 303, "replaced mapping");
}

// --- partial munmap --------------------------------------------------------

// Where partial_munmap() cuts its 64 KiB hole into a GPU-mapped 2 MiB
// range; each place runs twice, the second time ("-cpu-touched") with the
// CPU having written the range first.
struct PartialCase {
    const char* suffix;
    Where where;
    const char* description;
};

constexpr PartialCase partial_munmap_cases[] = {
    {"start", Where::start,
     "munmap() of the first 64 KiB of a GPU-mapped 2 MiB range: the hole faults, the rest works"},
    {"middle", Where::middle,
     "munmap() of 64 KiB amid a GPU-mapped 2 MiB range: the hole faults, the rest works"},
    {"end", Where::end,
     "munmap() of the last 64 KiB of a GPU-mapped 2 MiB range: the hole faults, the rest works"},
};

// --- protection changes ----------------------------------------------------

void mprotect_readonly(const Env& env)
{
    const Svm s(env);
    const uint64_t size = 64 * KiB;
    Map m(Map::own, size);
    Malloc out(size);
    fill_words(m.data(), size, 401);
    BatchBuilder b;
    b.copy(va(out.p), va(m.data()), size).store_dw(va(m.data()), 0x77777777u).batch_end();
    run_ok(s.q, b);
    assert_placed(s, m.data(), size, Mem::anon, "writable mapping");
    check_words(out.p, size, 401, "first read");

    igt_assert_eq(::mprotect(m.data(), size, PROT_READ), 0);
    assert_pages(s.vm, m.data(), size, DRM_SIMGPU_PAGE_WRITE | DRM_SIMGPU_PAGE_ATOMIC, 0,
                 "after mprotect(PROT_READ)");
    // Reads work.
    BatchBuilder rd;
    rd.copy(va(out.p), va(m.data()), size).batch_end();
    run_ok(s.q, rd);
    // Where the device migrates, the pages are still in VRAM, now
    // read-only there.
    assert_placed(s, m.data(), size, Mem::anon, "read-only mapping", DRM_SIMGPU_PAGE_MAPPED);
    igt_assert_eq(out.as<uint32_t>()[0], 0x77777777u);
    check_words(out.data() + 4, size - 4, 401, "read-only read", 1);
    // Writes and atomics fault on the exact byte; nothing changes.
    BatchBuilder w;
    w.store_dw(va(m.data() + 0x1004), 1).batch_end();
    run_fault(s.q, w, va(m.data() + 0x1004));
    BatchBuilder a;
    a.atomic(DRM_SIMGPU_ATOMIC_INC, va(m.data() + 0x2008), 0).batch_end();
    run_fault(s.q, a, va(m.data() + 0x2008));
    igt_assert_eq(m.as<uint32_t>()[0], 0x77777777u);
    check_words(m.data() + 4, size - 4, 401, "read-only memory", 1);
    // Reads still work after the faults.
    run_ok(s.q, rd);
    check_words(out.data() + 4, size - 4, 401, "read-only read again", 1);
}

void mprotect_restore_write(const Env& env)
{
    // Write permission comes back with the CPU's.
    const Svm s(env);
    const uint64_t size = 64 * KiB;
    Map m(Map::own, size);
    fill_words(m.data(), size, 411);
    Malloc out(size);
    BatchBuilder rd;
    rd.copy(va(out.p), va(m.data()), size).batch_end();
    igt_assert_eq(::mprotect(m.data(), size, PROT_READ), 0);
    run_ok(s.q, rd); // the range is created read-only
    assert_placed(s, m.data(), size, Mem::anon, "read-only range", DRM_SIMGPU_PAGE_MAPPED);
    check_words(out.p, size, 411, "read-only read");
    BatchBuilder w;
    w.store_dw(va(m.data() + 0x3000), 0x12121212u).batch_end();
    run_fault(s.q, w, va(m.data() + 0x3000));
    igt_assert_eq(::mprotect(m.data(), size, PROT_READ | PROT_WRITE), 0);
    run_ok(s.q, w);
    // Where the device migrates, the read moved the pages to VRAM
    // read-only, and mprotect() leaves them read-only there.
    assert_placed(s, m.data() + 0x3000, page_size, Mem::anon_or_system, "writable again");
    igt_assert_eq(m.as<uint32_t>()[0x3000 / 4], 0x12121212u);
}

void read_then_write(const Env& env)
{
    // A GPU read of untouched memory maps the shared zero page
    // read-only (no copy-on-write break); a GPU write then faults
    // again and upgrades the mapping in place. Where the device
    // migrates, the read moves the memory to VRAM instead, zero-filled
    // and writable at once, and the write takes no fault.
    const Svm s(env);
    const uint64_t size = 64 * KiB;
    Map m(Map::own, size);
    Malloc out(size);
    std::memset(out.p, 0xa5, size);
    BatchBuilder rd;
    rd.copy(va(out.p), va(m.data()), size).batch_end();
    run_ok(s.q, rd);
    assert_placed(s, m.data(), size, Mem::anon, "after the GPU read",
                  s.anon_place ? page_ok : DRM_SIMGPU_PAGE_MAPPED);
    check_value(out.p, size, 0, "read of untouched memory");

    BatchBuilder w;
    for (uint64_t off = 0; off < size; off += page_size)
        w.store_dw(va(m.data() + off), 0x600d0000u + static_cast<uint32_t>(off / page_size));
    w.batch_end();
    run_ok(s.q, w);
    assert_placed(s, m.data(), size, Mem::anon, "after the GPU write");
    for (uint64_t off = 0; off < size; off += page_size)
        igt_assert_eq(m.as<uint32_t>()[off / 4],
                      0x600d0000u + static_cast<uint32_t>(off / page_size));
}

void tracepoints(const Env& env)
{
    for (const char* sys : trace_systems)
        igt_require_f(::access((std::string(tracefs) + "/events/" + sys + "/enable").c_str(),
                               W_OK) == 0,
                      "no writable %s/events/%s (tracefs or root missing)", tracefs, sys);
    const Svm s(env);
    const uint64_t size = 64 * KiB;
    auto m = std::make_optional<Map>(size);
    const uint64_t addr = va(m->data());
    char hex[32];
    std::snprintf(hex, sizeof(hex), "addr=0x%llx", static_cast<unsigned long long>(addr));

    trace_write("trace", "");
    for (const char* sys : trace_systems)
        trace_write(std::string("events/") + sys + "/enable", "1");
    trace_write("tracing_on", "1");
    BatchBuilder w;
    w.store_dw(addr, 0x7ace).batch_end();
    run_ok(s.q, w);
    m.reset();  // munmap: invalidation, then the range goes
    sleep_ms(100);
    for (const char* sys : trace_systems)
        trace_write(std::string("events/") + sys + "/enable", "0");
    const std::string trace = trace_read();

    igt_assert_f(trace_has(trace, "simgpu_fault", std::string(hex) + " access=write"),
                 "no simgpu_fault for the write at %s in:\n%s", hex, trace.c_str());
    igt_assert_f(trace_has(trace, "simgpu_fault_done", std::string(hex) + " reply=retry"),
                 "no retry reply for %s", hex);
    // The simgpu core traces its ranges; for drm_gpusvm's, the driver.
    const std::string range_event = kernel_svm() ? "simgpu_svm_range" : "simgpu_range";
    igt_assert_f(trace_span_covers(trace, range_event + "_create", addr),
                 "no range created around %s in:\n%s", hex, trace.c_str());
    igt_assert_f(trace_span_covers(trace, "simgpu_invalidate", addr),
                 "no invalidation of the range at munmap");
    igt_assert_f(trace_span_covers(trace, range_event + "_remove", addr),
                 "the unmapped range was not removed");
    igt_assert_f(trace_has(trace, "simgpu_job_end", "error=0"), "no job end");
}

void mprotect_none(const Env& env)
{
    const Svm s(env);
    const uint64_t size = 64 * KiB;
    ReadBack r(s, size, 421, "before mprotect(PROT_NONE)");
    auto& [m, out, rd] = r;

    igt_assert_eq(::mprotect(m.data(), size, PROT_NONE), 0);
    assert_pages(s.vm, m.data(), size, DRM_SIMGPU_PAGE_MAPPED, 0, "PROT_NONE");
    BatchBuilder rd2;
    rd2.copy(va(out.p), va(m.data() + 0x2345), 64).batch_end();
    run_fault(s.q, rd2, va(m.data() + 0x2345));
    BatchBuilder w;
    w.store_dw(va(m.data() + 0x100), 1).batch_end();
    run_fault(s.q, w, va(m.data() + 0x100));

    igt_assert_eq(::mprotect(m.data(), size, PROT_READ | PROT_WRITE), 0);
    std::memset(out.p, 0, size);
    run_ok(s.q, rd);
    check_words(out.p, size, 421, "read after PROT_READ|PROT_WRITE again");
}

void madvise_dontneed(const Env& env)
{
    const Svm s(env);
    const uint64_t size = 256 * KiB;
    ReadBack r(s, size, 431, "before MADV_DONTNEED");
    auto& [m, out, rd] = r;
    igt_assert_eq(::madvise(m.data(), size, MADV_DONTNEED), 0);
    assert_pages(s.vm, m.data(), size, DRM_SIMGPU_PAGE_MAPPED, 0, "after MADV_DONTNEED");
    run_ok(s.q, rd);
    check_value(out.p, size, 0, "after MADV_DONTNEED");
    // Half of it only: the other half keeps its data.
    fill_words(m.data(), size, 432);
    run_ok(s.q, rd);
    igt_assert_eq(::madvise(m.data() + size / 2, size / 2, MADV_DONTNEED), 0);
    run_ok(s.q, rd);
    check_words(out.p, size / 2, 432, "kept half");
    check_value(out.data() + size / 2, size / 2, 0, "dropped half");
}

void mremap_test(const Env& env)
{
    const Svm s(env);
    const uint64_t size = 128 * KiB;
    Malloc out(size);
    const Map own_old(Map::own, size); // the mremap below moves it away
    void* old = own_old.data();
    Map reservation(size, PROT_NONE);
    void* target = reservation.release(); // the mremap below takes it over
    fill_words(old, size, 441);
    BatchBuilder rd;
    rd.copy(va(out.p), va(old), size).batch_end();
    run_ok(s.q, rd);
    assert_placed(s, old, size, Mem::anon, "before mremap");
    check_words(out.p, size, 441, "before mremap");

    void* moved = ::mremap(old, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    igt_assert_f(moved == target, "mremap failed: %s", std::strerror(errno));
    assert_pages(s.vm, old, size, DRM_SIMGPU_PAGE_MAPPED, 0, "old address after mremap");
    BatchBuilder rd_old;
    rd_old.copy(va(out.p), va(static_cast<std::byte*>(old) + 0x1010), 32).batch_end();
    run_fault(s.q, rd_old, va(static_cast<std::byte*>(old) + 0x1010));
    std::memset(out.p, 0, size);
    BatchBuilder rd_new;
    rd_new.copy(va(out.p), va(moved), size).store_dw(va(moved), 0x4e4e4e4eu).batch_end();
    run_ok(s.q, rd_new);
    check_words(out.p, size, 441, "new address");
    igt_assert_eq(static_cast<volatile uint32_t*>(moved)[0], 0x4e4e4e4eu);

    // Growing in place or moving: the new part is readable too.
    void* grown = ::mremap(moved, size, 2 * size, MREMAP_MAYMOVE);
    igt_assert(grown != MAP_FAILED);
    const Map keep(grown, 2 * size);
    Malloc out2(2 * size);
    BatchBuilder rd_grown;
    rd_grown.copy(va(out2.p), va(grown), 2 * size).batch_end();
    run_ok(s.q, rd_grown);
    igt_assert_eq(out2.as<uint32_t>()[0], 0x4e4e4e4eu);
    check_words(out2.data() + 4, size - 4, 441, "grown mapping", 1);
    check_value(out2.data() + size, size, 0, "grown part");
}

// --- fork ------------------------------------------------------------------

void fork_cow(const Env& env)
{
    const Svm s(env);
    const uint64_t size = 64 * KiB, half = size / 2;
    ReadBack r(s, size, 501, "before fork");
    auto& [buf, out, rd] = r;

    int to_child[2], to_parent[2];
    igt_assert_eq(::pipe(to_child), 0);
    igt_assert_eq(::pipe(to_parent), 0);
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0) {
        // The child writes its copy of the first half, then checks that
        // the parent's GPU writes did not reach its copy.
        fill_words(buf.data(), half, 502);
        char c;
        if (!pipe_send(to_parent[1], 'w') || !pipe_recv(to_child[0], &c))
            ::_exit(3);
        for (uint64_t i = 0; i < half / 4; ++i)
            if (buf.as<uint32_t>()[i] != pattern(502, i))
                ::_exit(4);
        for (uint64_t i = half / 4; i < size / 4; ++i)
            if (buf.as<uint32_t>()[i] != pattern(501, i)) {
                std::fprintf(stderr, "child: word %llu is 0x%x\n",
                             static_cast<unsigned long long>(i), buf.as<uint32_t>()[i]);
                ::_exit(5);
            }
        ::_exit(0);
    }
    ::close(to_child[0]);
    ::close(to_parent[1]);
    char c;
    igt_assert(pipe_recv(to_parent[0], &c));
    // The parent's GPU still sees the parent's data, and its writes go
    // to the parent's pages.
    std::memset(out.p, 0, size);
    BatchBuilder b;
    b.copy(va(out.p), va(buf.data()), half)
        .fill(va(buf.data() + half), half, 0xc0ffee00u)
        .batch_end();
    run_ok(s.q, b);
    check_words(out.p, half, 501, "parent's first half after the child wrote its copy");
    check_value(buf.data() + half, half, 0xc0ffee00u, "parent's second half");
    check_words(buf.data(), half, 501, "parent's first half (CPU)");
    igt_assert(pipe_send(to_child[1], 'c'));
    assert_child_ok(pid, 30000, "fork-cow child");
    ::close(to_child[1]);
    ::close(to_parent[0]);
    // And the GPU keeps using the parent's pages.
    run_ok(s.q, rd);
    check_words(out.p, half, 501, "after the child exited");
    check_value(out.data() + half, half, 0xc0ffee00u, "after the child exited");
}

void fork_child_vm(const Env& env)
{
    const Svm s(env);
    Malloc m(64 * KiB);
    fill_words(m.p, 64 * KiB, 511);
    exercise(s, m.data(), 64 * KiB, 512, Mem::heap);
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0)
        ::_exit(child_svm_work(513, 2, 256 * KiB));
    assert_child_ok(pid, 120000, "child with its own VM");
    exercise(s, m.data(), 64 * KiB, 514, Mem::heap);
}

void mirror_bad_other_process(const Env& env)
{
    // The parent's VM mirrors the parent: the child cannot mirror it.
    const Svm s(env);
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0) {
        const auto r = s.vm.mirror();
        if (r.ok())
            ::_exit(2);
        ::_exit(r.error().err == EINVAL ? 0 : 3);
    }
    assert_child_ok(pid, 30000, "mirror from another process");
    // The parent still may, and the VM still works.
    igt_assert_ok(s.vm.mirror());
    assert_works(s.q);
    // A VM not yet mirroring is bound by the first process to mirror.
    const Vm fresh = make_vm(env, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    const pid_t pid2 = ::fork();
    igt_assert(pid2 >= 0);
    if (pid2 == 0)
        ::_exit(fresh.mirror().ok() ? 0 : 4);
    assert_child_ok(pid2, 30000, "first mirror from a child");
    igt_assert_errno(fresh.mirror(), EINVAL);
}

// --- concurrency -----------------------------------------------------------

void threads_disjoint(const Env& env)
{
    const Vm vm = make_mirror_vm(env);
    constexpr int num_threads = 4, iterations = 6;
    const uint64_t half = 64 * KiB;
    const std::vector<ExecQueue> queues = make_queues(env, vm, num_threads);
    on_threads(num_threads, [&](int i) {
        Malloc buf(2 * half), out(half);
        for (int it = 0; it < iterations; ++it) {
            const uint32_t seed = 600 + i * 100 + it;
            std::byte* read_half = buf.data() + (it & 1) * half;
            std::byte* cpu_half = buf.data() + ((it + 1) & 1) * half;
            fill_words(read_half, half, seed);
            BatchBuilder b;
            b.copy(va(out.p), va(read_half), half).batch_end();
            SvmJob job(queues[i], b);
            // The CPU writes the other half while the GPU reads.
            for (uint32_t k = 0; k < 8; ++k)
                fill_words(cpu_half, half, 0xbad0000 + k);
            assert_ok(job.result());
            check_words(out.p, half, seed, "thread copy");
        }
    });
}

void threads_shared(const Env& env)
{
    const Vm vm = make_mirror_vm(env);
    constexpr int num_threads = 4, iterations = 5;
    const uint64_t size = 128 * KiB;
    Malloc shared(size);
    fill_words(shared.p, size, 701);
    Malloc counter(64, true);
    const std::vector<ExecQueue> queues = make_queues(env, vm, num_threads);
    on_threads(num_threads, [&](int i) {
        Malloc out(size);
        for (int it = 0; it < iterations; ++it) {
            std::memset(out.p, 0, size);
            BatchBuilder b;
            b.copy(va(out.p), va(shared.p), size)
                .atomic(DRM_SIMGPU_ATOMIC_ADD, va(counter.p), 1 + i)
                .batch_end();
            run_ok(queues[i], b);
            check_words(out.p, size, 701, "shared source");
        }
    });
    uint64_t want = 0;
    for (int i = 0; i < num_threads; ++i)
        want += uint64_t(1 + i) * iterations;
    igt_assert_eq(counter.as<uint64_t>()[0], want);
}

void processes(const Env&)
{
    constexpr int num_procs = 4;
    std::vector<pid_t> pids;
    for (int i = 0; i < num_procs; ++i) {
        const pid_t pid = ::fork();
        igt_assert(pid >= 0);
        if (pid == 0)
            ::_exit(child_svm_work(800 + 10 * i, 3, 512 * KiB));
        pids.push_back(pid);
    }
    for (const pid_t pid : pids)
        assert_child_ok(pid, 180000, "process");
}

// --- BOs inside the mirror -------------------------------------------------

void mix_bo(const Env& env)
{
    const Svm s(env);
    const uint64_t size = 64 * KiB, bo_off = 16 * KiB, bo_size = 16 * KiB;
    Map m(size);
    fill_words(m.data(), size, 901);
    GpuBuffer bo = make_unbound(env.dev, bo_size);
    std::memset(bo.bytes(), 0x11, bo_size);
    igt_assert_ok(s.vm.map(bo.bo, va(m.data() + bo_off), bo_size));

    BatchBuilder f1;
    f1.fill(va(m.data()), size, 0xb0b0b0b0u).batch_end();
    run_ok(s.q, f1);
    check_value(m.data(), bo_off, 0xb0b0b0b0u, "CPU memory before the BO");
    check_words(m.data() + bo_off, bo_size, 901, "CPU memory under the BO", bo_off / 4);
    check_value(m.data() + bo_off + bo_size, size - bo_off - bo_size, 0xb0b0b0b0u,
                "CPU memory after the BO");
    check_value(bo.bytes(), bo_size, 0xb0b0b0b0u, "BO");
    // Reads there come from the BO too.
    std::memset(bo.bytes(), 0x22, bo_size);
    Malloc out(bo_size);
    BatchBuilder rd;
    rd.copy(va(out.p), va(m.data() + bo_off), bo_size).batch_end();
    run_ok(s.q, rd);
    check_value(out.p, bo_size, 0x22222222u, "read through the BO");

    // Unbound: a hole that faults.
    igt_assert_ok(s.vm.unmap(va(m.data() + bo_off), bo_size));
    BatchBuilder w;
    w.store_dw(va(m.data() + bo_off + 0x40), 1).batch_end();
    run_fault(s.q, w, va(m.data() + bo_off + 0x40));

    // Mirrored again: SVM is back there.
    igt_assert_ok(s.vm.mirror(va(m.data() + bo_off), bo_size));
    BatchBuilder f2;
    f2.fill(va(m.data()), size, 0xc3c3c3c3u).batch_end();
    run_ok(s.q, f2);
    check_value(m.data(), size, 0xc3c3c3c3u, "CPU memory after mirroring again");
    check_value(bo.bytes(), bo_size, 0x22222222u, "BO after unbinding");
}

// --- list-sum --------------------------------------------------------------

void list_sum(const Env& env)
{
    const Svm s(env);
    constexpr int num_nodes = 1000;
    std::mt19937 rng(4242);
    const uint64_t sizes[] = {16, 24, 40, 100, 600, 3000, 5000, 20000, 70000, 300000};
    std::vector<void*> allocations;
    drm_simgpu_list_node* head = nullptr;
    uint64_t sum = 0;
    for (int i = 0; i < num_nodes; ++i) {
        const uint64_t size = sizes[std::uniform_int_distribution<int>(0, 9)(rng) %
                                    (i % 25 == 0 ? 10 : 9)];
        void* p = std::malloc(size);
        igt_assert(p);
        allocations.push_back(p);
        const uint64_t slots = size / sizeof(drm_simgpu_list_node);
        const uint64_t slot = std::uniform_int_distribution<uint64_t>(0, slots - 1)(rng);
        auto* node = reinterpret_cast<drm_simgpu_list_node*>(static_cast<std::byte*>(p) +
                                                             slot * sizeof(drm_simgpu_list_node));
        node->value = rng() | uint64_t{rng()} << 20;
        node->next = va(head);
        sum += node->value;
        head = node;
    }
    struct SumOut {
        uint64_t sum, count;
    };
    Malloc res(sizeof(SumOut), true);
    Malloc args_mem(sizeof(drm_simgpu_kargs_list_sum), true);
    auto* args = args_mem.as<drm_simgpu_kargs_list_sum>();
    args->head = va(head);
    args->dst = va(&res.as<SumOut>()->sum);
    args->count_out = va(&res.as<SumOut>()->count);
    args->max_nodes = num_nodes + 1;
    BatchBuilder b;
    b.launch(DRM_SIMGPU_KERNEL_LIST_SUM, va(args)).batch_end();
    run_ok(s.q, b, 4 * job_timeout_ns);
    igt_assert_eq(res.as<SumOut>()->count, uint64_t{num_nodes});
    igt_assert_eq(res.as<SumOut>()->sum, sum);
    for (void* p : allocations)
        std::free(p);
}

// --- faults ----------------------------------------------------------------

void invalid_fault(const Env& env)
{
    const Svm s(env);
    Malloc out(64, true);
    const uintptr_t bad = unmapped_address() + 0x84;
    BatchBuilder b;
    b.store_dw(va(out.p), 1).store_dw(bad, 0xdead).store_dw(va(out.data() + 4), 2).batch_end();
    run_fault(s.q, b, bad);
    igt_assert_eq(out.as<uint32_t>()[0], 1u);
    igt_assert_eq(out.as<uint32_t>()[1], 0u);
    assert_works(s.q);
    assert_works(s.q);
}

void invalid_fault_read(const Env& env)
{
    const Svm s(env);
    Malloc out(64, true);
    const uintptr_t bad = unmapped_address(4 * page_size) + 2 * page_size + 0x101;
    BatchBuilder b;
    b.copy(va(out.p), bad, 16).batch_end();
    run_fault(s.q, b, bad);
    // An address outside the mirror (above the user VA) too.
    const uint64_t outside = (uint64_t{1} << 47) + 0x2340;
    BatchBuilder c;
    c.store_qw(outside, 1).batch_end();
    run_fault(s.q, c, outside);
    assert_works(s.q);
}

void mirror_whole_va(const Env& env)
{
    // The header's way to mirror everything: one MAP of
    // [0, 1 << va_bits). Heap and stack are the GPU's; an address
    // above the CPU's user addresses faults like an unmapped one.
    auto vm = Vm::create(env.dev, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    igt_assert_ok(vm);
    igt_require_f(env.has_cap(DRM_SIMGPU_CAP_CPU_ADDR_MIRROR), "no CPU address mirror");
    igt_assert_ok(vm.value().mirror(0, uint64_t{1} << env.info.va_bits));
    const ExecQueue q = make_queue(env, vm.value());
    Malloc heap(64, true);
    alignas(8) volatile uint64_t on_stack = 0;
    BatchBuilder b;
    b.store_qw(va(heap.data()), 0x4ea9).store_qw(va(const_cast<uint64_t*>(&on_stack)), 0x57ac)
        .batch_end();
    run_ok(q, b);
    igt_assert_eq(heap.as<uint64_t>()[0], 0x4ea9u);
    igt_assert_eq(static_cast<uint64_t>(on_stack), 0x57acu);
    const uint64_t above = (uint64_t{1} << 47) + 0x1000;
    igt_require_f(above < (uint64_t{1} << env.info.va_bits), "va_bits %u", env.info.va_bits);
    BatchBuilder c;
    c.store_qw(above, 1).batch_end();
    run_fault(q, c, above);
    assert_works(q);
}

void invalid_fault_status_fence(const Env& env)
{
    // A job that faults on a hole writes its status fence in mirrored
    // memory the GPU never touched (the write faults it in); a status
    // fence in a hole is left unwritten and the job still ends, with
    // the error of its first fault.
    const Svm s(env);
    Malloc rec(4096, true);
    const uintptr_t bad = unmapped_address() + 0x84;
    BatchBuilder b;
    b.store_dw(bad, 0xdead).batch_end();
    Malloc batch(b.size_bytes());
    std::memcpy(batch.p, b.dwords().data(), b.size_bytes());
    const auto sync = simgpu::user_fence_status_out(va(rec.data() + 2048), 0x5a5a);
    igt_assert_ok(s.q.exec(va(batch.p), {&sync, 1}));
    igt_assert_ok(simgpu::wait_user_fence(env.dev, rec.as<uint64_t>() + 256, 0x5a5a,
                                          DRM_SIMGPU_CMP_EQ, job_timeout_ns));
    igt_assert_eq(static_cast<int64_t>(rec.as<uint64_t>()[257]), int64_t{-EFAULT});

    const uintptr_t hole = unmapped_address();
    const auto lost = simgpu::user_fence_status_out(hole, 1);
    igt_assert_ok(s.q.exec(va(batch.p), {&lost, 1}));
    const int64_t deadline = now_ns() + job_timeout_ns;
    while (s.q.state().value().jobs_completed < 2) {
        igt_assert_f(now_ns() < deadline, "the job with a fence in a hole did not end");
        sleep_ms(5);
    }
    const auto st = s.q.state().value();
    igt_assert_eq(st.jobs_failed, 2u);
    igt_assert_eq(st.error, -EFAULT);
    igt_assert_eq(st.fault_addr, uint64_t{bad});
    assert_works(s.q);
}

// --- mirror argument checking ----------------------------------------------

void mirror_bad_non_fault_vm(const Env& env)
{
    const Vm vm = make_vm(env);
    igt_assert_errno(vm.mirror(), EINVAL);
    igt_assert_errno(vm.mirror(0x100000, 0x100000), EINVAL);
}

void mirror_bad_readonly(const Env& env)
{
    const Vm vm = make_fault_vm(env);
    const auto op = simgpu::map_op(0, simgpu::mirror_all_start,
                                   simgpu::mirror_all_end - simgpu::mirror_all_start, 0,
                                   DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR |
                                       DRM_SIMGPU_VM_BIND_FLAG_READONLY);
    igt_assert_errno(vm.bind({&op, 1}), EINVAL);
    igt_assert_ok(vm.mirror()); // the VM is still usable
}

void mirror_bad_handle(const Env& env)
{
    const Vm vm = make_fault_vm(env);
    GpuBuffer bo = make_unbound(env.dev, page_size);
    const auto op = simgpu::map_op(bo.bo.handle(), 0x100000, page_size, 0,
                                   DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR);
    igt_assert_errno(vm.bind({&op, 1}), EINVAL);
    igt_assert_ok(vm.mirror());
}

void mirror_bad_obj_offset(const Env& env)
{
    const Vm vm = make_fault_vm(env);
    const auto op = simgpu::map_op(0, 0x100000, page_size, page_size,
                                   DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR);
    igt_assert_errno(vm.bind({&op, 1}), EINVAL);
    igt_assert_ok(vm.mirror());
}

// --- VM_QUERY_RANGE --------------------------------------------------------

void query_range_bad_extensions(const Env& env)
{
    query_bad(env, [](auto& a) { a.extensions = 1; }, EINVAL);
}

void query_range_bad_flags(const Env& env)
{
    query_bad(env, [](auto& a) { a.flags = 1; }, EINVAL);
    query_bad(env, [](auto& a) { a.flags = 0x80000000u; }, EINVAL);
}

void query_range_bad_reserved(const Env& env)
{
    query_bad(env, [](auto& a) { a.reserved[0] = 1; }, EINVAL);
    query_bad(env, [](auto& a) { a.reserved[1] = 1; }, EINVAL);
}

void query_range_bad_unaligned(const Env& env)
{
    query_bad(env, [](auto& a) { a.start += 1; }, EINVAL);
    query_bad(env, [](auto& a) { a.start += 2048; }, EINVAL);
}

void query_range_bad_num_pages(const Env& env)
{
    query_bad(env, [](auto& a) { a.num_pages = 0; }, EINVAL);
    query_bad(env, [](auto& a) { a.num_pages = (uint64_t{1} << 20) + 1; }, EINVAL);
    query_bad(env, [](auto& a) { a.num_pages = ~uint64_t{0}; }, EINVAL);
    // The largest count is fine.
    const Vm vm = make_mirror_vm(env);
    auto pages = vm.query_range(0x100000, uint64_t{1} << 20);
    igt_assert_ok(pages);
}

void query_range_bad_range(const Env& env)
{
    const uint64_t top = uint64_t{1} << 48;
    query_bad(env, [&](auto& a) { a.start = top; }, EINVAL);
    query_bad(env, [&](auto& a) { a.start = top - page_size; a.num_pages = 2; }, EINVAL);
    query_bad(env, [&](auto& a) { a.start = top - 4 * page_size; a.num_pages = 5; }, EINVAL);
    query_bad(env, [&](auto& a) { a.start = ~uint64_t{0} & ~(page_size - 1); a.num_pages = 1; },
              EINVAL);
    // The last page itself is fine, and reports nothing mapped.
    const Vm vm = make_mirror_vm(env);
    auto pages = vm.query_range(top - page_size, 1);
    igt_assert_ok(pages);
    igt_assert_eq(pages.value()[0], 0u);
}

void query_range_bad_vm(const Env& env)
{
    query_bad(env, [](auto& a) { a.vm_id += 1000; }, ENOENT);
    query_bad(env, [](auto& a) { a.vm_id = 0; }, ENOENT);
}

void query_range_bad_pages_pointer(const Env& env)
{
    query_bad(env, [](auto& a) { a.pages = 0; }, EFAULT);
    query_bad(env, [](auto& a) { a.pages = 0x10; }, EFAULT);
    Map none(page_size, PROT_NONE);
    query_bad(env, [&](auto& a) { a.pages = va(none.data()); }, EFAULT);
    Map ro(page_size, PROT_READ);
    query_bad(env, [&](auto& a) { a.pages = va(ro.data()); }, EFAULT);
}

void query_range(const Env& env)
{
    const Svm s(env);
    // Separate VMAs between PROT_NONE guards, so that no range of one
    // spills into another.
    Map reservation(8 * MiB, PROT_NONE);
    std::byte* rw = reservation.data() + 1 * MiB;
    std::byte* far = reservation.data() + 5 * MiB;
    std::byte* ro = reservation.data() + 3 * MiB;
    igt_assert_eq(::mprotect(rw, 64 * KiB, PROT_READ | PROT_WRITE), 0);
    igt_assert_eq(::mprotect(far, 64 * KiB, PROT_READ | PROT_WRITE), 0);
    igt_assert_eq(::mprotect(ro, 16 * KiB, PROT_READ), 0);
    Malloc out(16 * KiB);
    auto before = query(s.vm, rw, 64 * KiB);
    for (const uint32_t f : before)
        igt_assert_eq(f, 0u);

    BatchBuilder b;
    b.store_dw(va(rw + 5 * page_size + 0x10), 1)
        .copy(va(out.p), va(ro), 16 * KiB)
        .batch_end();
    run_ok(s.q, b);
    // The touched page is mapped for everything, in this device's VRAM
    // where it migrates, else in system memory.
    const auto touched = query(s.vm, rw + 5 * page_size, page_size);
    igt_assert_eq(touched[0] & ~uint32_t{DRM_SIMGPU_PAGE_HUGE}, page_ok | s.anon_place);
    // Far-away pages that nothing touched: nothing.
    for (const uint32_t f : query(s.vm, far, 64 * KiB))
        igt_assert_eq(f, 0u);
    for (const uint32_t f : query(s.vm, reinterpret_cast<const void*>(0x1000), 16 * page_size))
        igt_assert_eq(f, 0u);
    // Read-only VMA: mapped, not writable, no atomics (anonymous
    // memory, so zero-filled in VRAM where the device migrates).
    assert_placed(s, ro, 16 * KiB, Mem::anon, "read-only VMA", DRM_SIMGPU_PAGE_MAPPED);
    check_value(out.p, 16 * KiB, 0, "read-only memory");
    // After munmap nothing is mapped there any more.
    igt_assert_eq(::munmap(rw, 64 * KiB), 0);
    for (const uint32_t f : query(s.vm, rw, 64 * KiB))
        igt_assert_eq(f & DRM_SIMGPU_PAGE_MAPPED, 0u);
}

// --- counters --------------------------------------------------------------

// One job's first touch of 2 MiB the CPU filled: its faults are timed
// through every stage (simgpu_stats fault_<stage>_ns): each stage the fault
// went through took time (migrate only where the device migrates), and
// together they took no longer than the job did, seen from here.
void fault_stages_timed(const Env& env)
{
    static constexpr std::array stages{"queue", "lock",  "range", "migrate",
                                       "pages", "bind", "other", "resume"};
    const auto read = [] {
        auto c = read_debugfs_counters("simgpu_stats");
        igt_require_f(c.has_value(), "no simgpu_stats in /sys/kernel/debug/dri");
        for (const char* s : stages)
            igt_assert_f(c->count(std::string("fault_") + s + "_ns"),
                         "simgpu_stats has no fault_%s_ns line", s);
        return *c;
    };
    const Svm s(env);
    Map area(2 * huge_size);
    std::byte* p = align_ptr(area.data(), huge_size);
    std::memset(p, 7, huge_size);
    Malloc out(huge_size);
    BatchBuilder b;
    b.copy(va(out.p), va(p), huge_size).batch_end();
    const auto c0 = read();
    const int64_t t0 = now_ns();
    run_ok(s.q, b);
    const auto wall = static_cast<uint64_t>(now_ns() - t0);
    const auto c1 = read();
    check_value(out.p, huge_size, 0x07070707u, "GPU copy of the faulted 2 MiB");

    const uint64_t faults = c1.at("faults") - c0.at("faults");
    igt_assert_lte(1u, faults);
    uint64_t total = 0;
    std::string line;
    for (const char* st : stages) {
        const std::string key = std::string("fault_") + st + "_ns";
        const uint64_t ns = c1.at(key) - c0.at(key);
        total += ns;
        line += std::string(" ") + st + " " + std::to_string(ns / 1000) + " us";
        const bool expected = std::string_view(st) != "migrate" || s.anon_place != 0;
        if (expected && std::string_view(st) != "lock" && std::string_view(st) != "other")
            igt_assert_f(ns > 0, "%llu faults spent no time in stage %s",
                         static_cast<unsigned long long>(faults), st);
    }
    igt_info("%llu faults, job %llu us:%s\n", static_cast<unsigned long long>(faults),
             static_cast<unsigned long long>(wall / 1000), line.c_str());
    igt_assert_f(total <= wall, "the faults' stages add up to %llu us, the job took %llu us",
                 static_cast<unsigned long long>(total / 1000),
                 static_cast<unsigned long long>(wall / 1000));
}

void svm_counters(const Env& env)
{
    const auto c0 = read_svm_counters();
    const Svm s(env);
    // 2 MiB: a 2 MiB-aligned block inside a larger VMA, touched by the CPU.
    Map area(3 * huge_size);
    std::byte* big = align_ptr(area.data() + page_size, huge_size);
    std::memset(big, 1, huge_size);
    BatchBuilder b2;
    b2.store_dw(va(big + 0x1234 * 4), 2).batch_end();
    run_ok(s.q, b2);
    const auto c1 = read_svm_counters();
    igt_assert_lte(c0.at("ranges_created") + 1, c1.at("ranges_created"));
    igt_assert_lte(c0.at("ranges_2M") + 1, c1.at("ranges_2M"));
    igt_assert_lte(c0.at("pages_faulted") + huge_size / page_size, c1.at("pages_faulted"));
    // Where the device migrates, the 2 MiB chunk went to VRAM whole:
    // one 2 MiB entry.
    const uint32_t huge = s.anon_place ? DRM_SIMGPU_PAGE_HUGE : 0;
    assert_placed(s, big, huge_size, Mem::anon, "2 MiB range", page_ok | huge, page_ok | huge);

    // 64 KiB: a VMA too small for 2 MiB, between PROT_NONE guards.
    Map mid(256 * KiB + 2 * page_size, PROT_NONE);
    igt_assert_eq(::mprotect(mid.data() + page_size, 256 * KiB, PROT_READ | PROT_WRITE), 0);
    std::byte* m64 = align_ptr(mid.data() + page_size, 64 * KiB);
    BatchBuilder b64;
    b64.store_dw(va(m64 + 0x100), 3).batch_end();
    run_ok(s.q, b64);
    const auto c2 = read_svm_counters();
    igt_assert_lte(c1.at("ranges_64K") + 1, c2.at("ranges_64K"));
    assert_placed(s, m64, 64 * KiB, Mem::anon, "64 KiB range");

    // 4 KiB: a one-page VMA between PROT_NONE guards.
    Map guarded(3 * page_size, PROT_NONE);
    std::byte* one = guarded.data() + page_size;
    igt_assert_eq(::mprotect(one, page_size, PROT_READ | PROT_WRITE), 0);
    BatchBuilder b4;
    b4.store_dw(va(one + 0x10), 4).batch_end();
    run_ok(s.q, b4);
    const auto c3 = read_svm_counters();
    igt_assert_lte(c2.at("ranges_4K") + 1, c3.at("ranges_4K"));
    assert_placed(s, one, page_size, Mem::anon, "4 KiB range");
    igt_assert_eq(reinterpret_cast<uint32_t*>(one)[4], 4u);

    // munmap: invalidations now, removal soon after (the collector).
    igt_assert_eq(::munmap(area.data(), area.size()), 0);
    (void)area.release();
    const auto c4 = read_svm_counters();
    igt_assert_lte(c3.at("invalidations") + 1, c4.at("invalidations"));
    auto c5 = c4;
    for (int i = 0; i < 500 && c5.at("ranges_removed") < c3.at("ranges_removed") + 1; ++i) {
        sleep_ms(10);
        c5 = read_svm_counters();
    }
    igt_assert_lte(c3.at("ranges_removed") + 1, c5.at("ranges_removed"));
    igt_info("ranges created %llu, removed %llu, 2M/64K/4K %llu/%llu/%llu, pages %llu, "
             "invalidations %llu (deltas)\n",
             static_cast<unsigned long long>(c5.at("ranges_created") - c0.at("ranges_created")),
             static_cast<unsigned long long>(c5.at("ranges_removed") - c0.at("ranges_removed")),
             static_cast<unsigned long long>(c5.at("ranges_2M") - c0.at("ranges_2M")),
             static_cast<unsigned long long>(c5.at("ranges_64K") - c0.at("ranges_64K")),
             static_cast<unsigned long long>(c5.at("ranges_4K") - c0.at("ranges_4K")),
             static_cast<unsigned long long>(c5.at("pages_faulted") - c0.at("pages_faulted")),
             static_cast<unsigned long long>(c5.at("invalidations") - c0.at("invalidations")));
}

void debugfs_vms(const Env& env)
{
    namespace svm = simgpu_test::svm;
    const uint32_t device = env.info.device_id;
    const auto read_vms = [&] {
        auto dirs = simgpu::counter_dirs();
        igt_require_f(dirs.ok() && dirs.value().size() > device,
                      "no debugfs directory of device %u (not root or no debugfs)", device);
        auto vms = simgpu::read_vms(dirs.value()[device]);
        igt_assert_f(vms.ok(), "%s", vms.ok() ? "" : vms.error().message().c_str());
        return std::move(vms).value();
    };
    const uint64_t pid = static_cast<uint64_t>(::getpid());
    // This process's VMs with id @id; their clients differ.
    const auto ours = [&](const std::vector<simgpu::VmInfo>& vms, uint32_t id) {
        std::vector<simgpu::VmInfo> found;
        for (const auto& v : vms)
            if (v.id == id && v.value("pid") == pid)
                found.push_back(v);
        return found;
    };
    const auto at = [](const simgpu::VmInfo& v, const char* name) {
        const auto value = v.value(name);
        igt_assert_f(value.has_value(), "vm %u/%u has no %s line", v.client, v.id, name);
        return *value;
    };

    const auto stats0 = svm::stats_counters(device);
    const auto svm0 = svm::svm_counters(device);
    // The batch and the fence are in buffer objects: the GPU faults
    // only on the memory under test, a VMA of its own too small for
    // 2 MiB ranges: three 64 KiB ones.
    constexpr uint64_t num_pages = 48;
    const uint64_t bytes = num_pages * page_size;
    auto gpu = std::make_unique<svm::SvmGpu>();
    svm::start_gpu(*gpu, env);
    const uint32_t vm_id = gpu->vm().id();
    svm::Area area(bytes);
    BatchBuilder b;
    b.fill(va(area.data()), bytes, 0x5eedf00du).batch_end();
    svm::run_ok(*gpu, b);

    // Before the CPU touches the data (it would take it back from VRAM).
    const auto found = ours(read_vms(), vm_id);
    const auto pages = svm::query(gpu->vm(), area.data(), bytes);
    const auto stats1 = svm::stats_counters(device);
    const auto svm1 = svm::svm_counters(device);
    igt_assert_eq(found.size(), size_t{1});
    const simgpu::VmInfo& v = found[0];
    igt_info("vm %u/%u: %llu retried faults, %llu pages faulted, %llu/%llu pages in "
             "system/VRAM\n",
             v.client, v.id, static_cast<unsigned long long>(at(v, "faults_retried")),
             static_cast<unsigned long long>(at(v, "pages_faulted")),
             static_cast<unsigned long long>(at(v, "svm_system_pages")),
             static_cast<unsigned long long>(at(v, "svm_vram_pages")));
    igt_assert_eq(at(v, "fault_mode"), 1u);
    igt_assert_eq(at(v, "mirror"), 1u);
    igt_assert_eq(at(v, "mirror_pid"), pid);
    // The control BO and the increments BO split the mirror.
    igt_assert_eq(at(v, "bo_mappings"), 2u);
    igt_assert_lte(1u, at(v, "mirror_mappings"));
    igt_assert_lte(svm::SvmGpu::inc_bytes / page_size + 1, at(v, "bo_system_pages"));
    igt_assert_eq(at(v, "bo_vram_pages"), 0u);
    igt_assert_eq(at(v, "ranges"), 3u);
    igt_assert_eq(at(v, "ranges_64K"), 3u);
    igt_assert_eq(at(v, "ranges_2M") + at(v, "ranges_4K"), 0u);
    // What the page table maps is what VM_QUERY_RANGE reports: all of it.
    const uint64_t mapped = static_cast<uint64_t>(
        std::count_if(pages.begin(), pages.end(),
                      [](uint32_t f) { return f & DRM_SIMGPU_PAGE_MAPPED; }));
    igt_assert_eq(mapped, num_pages);
    igt_assert_eq(at(v, "svm_system_pages") + at(v, "svm_vram_pages"), num_pages);
    igt_assert_eq(at(v, "svm_vram_pages"), svm::count_vram(pages));
    igt_assert_eq(at(v, "svm_peer_pages"), 0u);
    // One fault at least per range, none cancelled; the only VM
    // faulting on the device: its counts are the device's.
    igt_assert_lte(3u, at(v, "faults_retried"));
    igt_assert_eq(at(v, "faults_cancelled"), 0u);
    igt_assert_eq(at(v, "faults_retried"), svm::delta(stats0, stats1, "faults_retried"));
    igt_assert_eq(svm::delta(stats0, stats1, "faults_cancelled"), 0u);
    igt_assert_lte(num_pages, at(v, "pages_faulted"));
    igt_assert_eq(at(v, "pages_faulted"), svm::delta(svm0, svm1, "pages_faulted"));
    svm::check_value(area.data(), bytes, 0x5eedf00du, "filled memory");

    // A VM of a second file of this process: perhaps the same id, not
    // the same client; nothing mapped, no faults.
    const auto find = [](const std::vector<simgpu::VmInfo>& vms, uint32_t client,
                         uint32_t id) -> std::optional<simgpu::VmInfo> {
        for (const auto& x : vms)
            if (x.client == client && x.id == id)
                return x;
        return std::nullopt;
    };
    auto opened = simgpu::Device::open(env.dev.path());
    igt_assert_ok(opened);
    auto dev2 = std::make_unique<simgpu::Device>(std::move(opened).value());
    auto vm2 = Vm::create(*dev2);
    igt_assert_ok(vm2);
    const uint32_t vm2_id = vm2.value().id();
    const auto vms2 = read_vms();
    igt_assert(find(vms2, v.client, vm_id).has_value());
    std::optional<simgpu::VmInfo> w;
    for (const auto& x : ours(vms2, vm2_id))
        if (x.client != v.client)
            w = x;
    igt_assert_f(w.has_value(), "no VM %u of the second file", vm2_id);
    igt_assert_lte(v.client + 1, w->client);
    igt_assert_eq(at(*w, "fault_mode"), 0u);
    igt_assert_eq(at(*w, "mirror"), 0u);
    igt_assert_eq(at(*w, "bo_mappings") + at(*w, "mirror_mappings") + at(*w, "ranges"), 0u);
    igt_assert_eq(at(*w, "faults_retried") + at(*w, "pages_faulted"), 0u);

    // VM_DESTROY takes the first VM off the list, closing the file the
    // second.
    gpu.reset();
    const auto left = read_vms();
    igt_assert_f(!find(left, v.client, vm_id), "vm %u/%u is listed after VM_DESTROY",
                 v.client, vm_id);
    igt_assert(find(left, w->client, vm2_id).has_value());
    (void)vm2.value().release();
    dev2.reset();
    for (const auto& x : read_vms())
        igt_assert_f(x.client != w->client,
                     "vm %u/%u is listed after its file was closed", x.client, x.id);
}

// --- teardown --------------------------------------------------------------

void exit_mid_fault(const Env& env)
{
    const Svm s(env);
    for (const int delay_ms : {0, 5, 50}) {
        const pid_t pid = ::fork();
        igt_assert(pid >= 0);
        if (pid == 0) {
            auto found = simgpu::Device::enumerate();
            if (!found.ok() || found.value().empty())
                ::_exit(10);
            const simgpu::Device& dev = found.value().front();
            auto vm = Vm::create(dev, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
            if (!vm.ok() || !vm.value().mirror().ok())
                ::_exit(11);
            auto q = ExecQueue::create(dev, vm.value(), DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0);
            if (!q.ok())
                ::_exit(12);
            const uint64_t size = 32 * MiB;
            void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                ::_exit(13);
            BatchBuilder b;
            b.fill(va(p), size, 0x5a5a5a5au).batch_end();
            Submission sub;
            if (svm_submit(q.value(), b, sub))
                ::_exit(14);
            if (delay_ms)
                sleep_ms(delay_ms);
            ::_exit(0);
        }
        assert_child_ok(pid, 60000, "child exiting mid-fault");
    }
    assert_works(s.q);
    Malloc m(256 * KiB);
    exercise(s, m.data(), 256 * KiB, 1001, Mem::heap);
}

void fd_close_inflight(const Env& env)
{
    const Svm s(env);
    auto opened = simgpu::Device::open(env.dev.path());
    igt_assert_ok(opened);
    auto dev2 = std::make_unique<simgpu::Device>(std::move(opened).value());
    // Leaked on purpose: nothing may touch them once the fd is closed,
    // but keep them valid in case something does.
    auto* flag = static_cast<uint64_t*>(std::calloc(1, 64));
    auto* out = static_cast<uint32_t*>(std::calloc(1, 64));
    constexpr int num_jobs = 3;
    {
        Vm vm2 = make_mirror_vm(*dev2, env.info);
        auto q2 = ExecQueue::create(*dev2, vm2, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0);
        igt_assert_ok(q2);
        for (int i = 0; i < num_jobs; ++i) {
            BatchBuilder b;
            b.wait(DRM_SIMGPU_CMP_EQ, va(flag), 1).store_dw(va(out + i), 1).batch_end();
            Submission sub;
            igt_assert_eq(svm_submit(q2.value(), b, sub), 0);
        }
        sleep_ms(50);
        const auto st = q2.value().state();
        igt_assert_ok(st);
        igt_assert_eq(st.value().jobs_submitted, uint64_t{num_jobs});
        igt_assert_eq(st.value().jobs_completed, 0u);
        (void)q2.value().release();
        (void)vm2.release();
    }
    const int64_t start = now_ns();
    dev2.reset(); // closes the fd with the jobs waiting
    const double ms = elapsed_ms(start);
    igt_info("close with %d jobs in flight took %.1f ms\n", num_jobs, ms);
    const auto timeout = read_param("job_timeout_ms");
    const double limit = timeout ? std::stod(*timeout) : 5000.0;
    igt_assert_f(ms < limit, "close took %.1f ms, the job timeout is %.0f ms", ms, limit);
    // The jobs were cancelled: releasing the flag runs nothing.
    *reinterpret_cast<volatile uint64_t*>(flag) = 1;
    sleep_ms(100);
    for (int i = 0; i < num_jobs; ++i)
        igt_assert_eq(reinterpret_cast<volatile uint32_t*>(out)[i], 0u);
    assert_works(s.q);
}

// ---------------------------------------------------------------------------
// The subtests that need only the device, in the order they run, between
// the families.

struct Case {
    const char* name;
    void (*fn)(const Env&);
    const char* description;
};

// After once / twice / many (size_cases), before address reuse.
constexpr Case access_cases[] = {
    {"unaligned", unaligned,
     "GPU copies at odd offsets and of odd sizes copy every byte and write nothing around"},
    {"strided", strided,
     "a job storing a dword every 3 pages of a malloc'd 8 MiB buffer maps every touched page"},
    {"many-queues", many_queues,
     "jobs on 8 queues of one VM, 3 queued on each before any wait, copy malloc'd buffers"},
    // --- memory kinds: the GPU reads, writes and adds atomically to each.
    {"mem-malloc", mem_malloc,
     "malloc'd memory of 64 bytes to 1 MiB works for the GPU, mapped where the heap goes"},
    {"mem-mmap-private", mem_mmap_private,
     "private anonymous mmap()ed memory works for the GPU, in VRAM where the device migrates"},
    {"mem-mmap-shared", mem_mmap_shared,
     "shared anonymous mmap()ed memory works for the GPU, mapped in system memory"},
    {"mem-file-tmp", mem_file_tmp,
     "a shared mapping of a file in /tmp works for the GPU, its writes reaching the file"},
    {"mem-file-shm", mem_file_shm,
     "a shared mapping of a file in /dev/shm works for the GPU, its writes reaching the file"},
    {"mem-file-private", mem_file_private,
     "GPU writes to a private file mapping are copied on write in system memory, not in the file"},
    {"mem-thp", mem_thp, "a transparent huge page works for the GPU, mapped by one 2 MiB entry"},
    {"mem-hugetlb", mem_hugetlb,
     "a hugetlbfs page (MAP_HUGETLB) works for the GPU, mapped in system memory"},
    {"mem-stack", mem_stack,
     "a 64 KiB window of the stack and a small unaligned stack variable work for the GPU"},
    {"mem-global", mem_global,
     "a window of .bss works for the GPU; GPU writes to initialised data are copied on write"},
    {"mem-mlock", mem_mlock, "mlock()ed memory works for the GPU, mapped in VRAM or system memory"},
};

// After partial munmap.
constexpr Case change_cases[] = {
    // --- protection changes
    {"mprotect-readonly", mprotect_readonly,
     "after mprotect(PROT_READ) GPU reads work and writes and atomics fault, changing nothing"},
    {"mprotect-restore-write", mprotect_restore_write,
     "GPU writes to a read-only range fault, and land once mprotect() allows writes again"},
    {"read-then-write", read_then_write,
     "a GPU read of untouched memory reads zeros, and a GPU write after it lands"},
    {"tracepoints", tracepoints,
     "a GPU write fault and a munmap() trace the fault, its range, invalidation and removal"},
    {"mprotect-none", mprotect_none,
     "after mprotect(PROT_NONE) GPU accesses fault; with access back, the GPU reads the data"},
    {"madvise-dontneed", madvise_dontneed,
     "after MADV_DONTNEED of all, then half, of GPU-mapped memory the GPU reads zeros there"},
    {"mremap", mremap_test,
     "after mremap() the old address faults on the GPU and the new one holds the data"},
    // --- fork
    {"fork-cow", fork_cow,
     "after fork() the parent's GPU reads and writes the parent's pages, not the child's copies"},
    {"fork-child-vm", fork_child_vm,
     "a forked child runs jobs on a VM of its own while the parent's VM keeps working"},
    {"mirror-bad-other-process", mirror_bad_other_process,
     "a VM mirrors the first process to mirror it: another one gets EINVAL"},
    // --- concurrency
    {"threads-disjoint", threads_disjoint,
     "4 threads' GPU copies of their buffers' halves are right while the CPU writes the others"},
    {"threads-shared", threads_shared,
     "4 threads' jobs read one shared buffer and add atomically to one counter, missing none"},
    {"processes", processes, "4 processes, each with a mirroring VM of its own, run jobs at once"},
    // --- BOs inside the mirror
    {"mix-bo", mix_bo,
     "a BO bound inside the mirror takes the GPU's accesses there; unbound, a hole that faults"},
    {"mirror-split", mirror_split,
     "binds split the mirror and the objects they overlap, as debugfs counts the VAs"},
    {"mirror-remap-merges", mirror_remap_merges,
     "a hole unmapped from the mirror and mirrored again leaves one piece: 2 MiB entries again"},
    {"unmap-while-collecting", unmap_while_collecting,
     "a range unmapped in two munmap()s while the collector removes it is removed once"},
    // --- list-sum
    {"list-sum", list_sum,
     "the list-sum kernel follows 1000 malloc'd nodes of a linked list, counting and summing them"},
    // --- faults
    {"invalid-fault", invalid_fault,
     "a GPU store to an unmapped address fails the job with -EFAULT there; the queue still works"},
    {"invalid-fault-read", invalid_fault_read,
     "GPU reads of an unmapped address and stores above the user VA fail with -EFAULT there"},
    {"mirror-whole-va", mirror_whole_va,
     "a mirror of [0, 1 << va_bits) maps heap and stack; an address above the user VA faults"},
    {"invalid-fault-status-fence", invalid_fault_status_fence,
     "a faulting job writes -EFAULT to its status fence; with the fence in a hole it still ends"},
    // --- mirror argument checking
    {"mirror-bad-non-fault-vm", mirror_bad_non_fault_vm,
     "mirroring a VM without fault mode fails with EINVAL"},
    {"mirror-bad-readonly", mirror_bad_readonly, "a read-only mirror bind fails with EINVAL"},
    {"mirror-bad-handle", mirror_bad_handle, "a mirror bind with a BO handle fails with EINVAL"},
    {"mirror-bad-obj-offset", mirror_bad_obj_offset,
     "a mirror bind with an object offset fails with EINVAL"},
    // --- VM_QUERY_RANGE
    {"query-range-bad-extensions", query_range_bad_extensions,
     "VM_QUERY_RANGE with extensions fails with EINVAL"},
    {"query-range-bad-flags", query_range_bad_flags,
     "VM_QUERY_RANGE with unknown flags fails with EINVAL"},
    {"query-range-bad-reserved", query_range_bad_reserved,
     "VM_QUERY_RANGE with a reserved field set fails with EINVAL"},
    {"query-range-bad-unaligned", query_range_bad_unaligned,
     "VM_QUERY_RANGE of an unaligned start fails with EINVAL"},
    {"query-range-bad-num-pages", query_range_bad_num_pages,
     "VM_QUERY_RANGE of 0 or over 1 << 20 pages fails with EINVAL; of 1 << 20 it works"},
    {"query-range-bad-range", query_range_bad_range,
     "VM_QUERY_RANGE past the 48-bit VA fails with EINVAL; of its last page it works"},
    {"query-range-bad-vm", query_range_bad_vm, "VM_QUERY_RANGE of an unknown VM fails with ENOENT"},
    {"query-range-bad-pages-pointer", query_range_bad_pages_pointer,
     "VM_QUERY_RANGE into an unwritable pages array fails with EFAULT"},
    {"query-range", query_range,
     "VM_QUERY_RANGE reports the GPU mapping of written, read-only, untouched and unmapped pages"},
    // --- counters
    {"fault-stages-timed", fault_stages_timed,
     "a job's GPU faults are timed through their stages in simgpu_stats, which add up to no "
     "more than the job's time"},
    {"svm-counters", svm_counters,
     "the simgpu_svm debugfs counters count ranges of each size, pages, invalidations, removals"},
    {"debugfs-vms", debugfs_vms,
     "simgpu_vms in debugfs lists a VM's mirror, mappings, ranges and faults until it goes"},
    // --- teardown (last: a kernel that breaks here breaks later subtests)
    {"exit-mid-fault", exit_mid_fault,
     "processes exiting while their jobs fault leave the parent's VM working"},
    {"fd-close-inflight", fd_close_inflight,
     "closing a device file with jobs waiting cancels them within the job timeout"},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    t.set_timeout(std::chrono::seconds(300));
    std::optional<Env> env;
    const auto add = [&](std::span<const Case> cases) {
        for (const Case& c : cases)
            t.subtest(c.name, c.description, [&] { c.fn(*env); });
    };

    t.fixture([&] {
        env.emplace(open_env());
        igt_require_f(env->has_cap(DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR),
                      "device 0 cannot mirror the CPU address space (caps 0x%llx)",
                      static_cast<unsigned long long>(env->info.caps));
    });

    for (const SizeCase& c : size_cases)
        t.subtest(c.name, c.description, [&] { sizes(*env, c); });
    add(access_cases);
    for (const FreeCase& c : free_malloc_cases)
        t.subtest(c.name, c.description, [&] { free_malloc(*env, c.size); });
    t.subtest("munmap-mmap-fixed",
              "the GPU reads new memory mapped where it read old memory, after munmap() or over it",
              [&] { munmap_mmap_fixed(*env); });
    for (const PartialCase& c : partial_munmap_cases)
        for (const bool cpu_touch : {false, true})
            t.subtest(std::string("partial-munmap-") + c.suffix + (cpu_touch ? "-cpu-touched" : ""),
                      std::string(c.description) +
                          (cpu_touch ? " (the CPU wrote the range first)" : ""),
                      [&] { partial_munmap(*env, c.where, cpu_touch); });
    add(change_cases);

    return t.exit_code();
}
