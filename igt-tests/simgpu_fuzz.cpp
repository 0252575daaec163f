// SPDX-License-Identifier: MIT
//
// simgpu_fuzz: structured fuzzing of every ioctl of uapi/drm/simgpu_drm.h
// (and of the DRM core ioctls a simgpu program uses: GEM_CLOSE and the
// syncobj ones). Each call starts from a valid argument and has a few of
// its fields replaced by boundary or random values (0, ~0, huge sizes,
// unaligned addresses, bad ids and handles, non-zero pads and reserved
// fields, unknown flags, pointers to unmapped, read-only or kernel memory,
// overflowing counts, extension chains); valid sequences in between build
// the deep states (VMs, CPU-address mirrors on fault-mode VMs, buffer
// objects, queues, jobs of random commands, MADVISE, PREFETCH, waits,
// destroys), and the process munmaps, mprotects and forks the memory the
// GPU uses and closes the device under it.
//
// What is checked: every errno an ioctl returns is one the header (or, for
// the core ioctls, the DRM core) documents for it, and calls that are
// valid in the tracked state succeed (or fail only for lack of memory).
// The guest's kernel log is checked by scripts/qemu-run.sh: a splat fails
// the run.
//
// Reproducible: everything derives from one seed, SIMGPU_FUZZ_SEED or
// --seed N (default: a fixed one), mixed with each subtest's name; a
// failure prints the seed and the last calls. SIMGPU_FUZZ_SECONDS=N (or
// --seconds N) is the long mode: each subtest runs for N seconds instead
// of a fixed count of iterations, and the totals (calls, calls/s, errnos
// per ioctl) are printed at the end; scripts/fuzz.sh runs it in the guest.
//
// Known bugs have opt-in reproducers, skipped unless
// SIMGPU_FUZZ_KNOWN_BUGS=1; the default fuzzing keeps clear of them (sizes
// and counts are capped).
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm/simgpu_drm.h>

#include "igt.hpp"
#include "simgpu_test.hpp"

namespace {

using simgpu_test::KiB;
using simgpu_test::MiB;

constexpr uint64_t page = DRM_SIMGPU_PAGE_SIZE;

// ---------------------------------------------------------------------------
// The ioctls and the errnos each may return.

enum Ioc : int {
    ioc_query,
    ioc_gem_create,
    ioc_gem_mmap_offset,
    ioc_vm_create,
    ioc_vm_destroy,
    ioc_vm_bind,
    ioc_exec_queue_create,
    ioc_exec_queue_destroy,
    ioc_exec_queue_state,
    ioc_exec,
    ioc_wait_user_fence,
    ioc_vm_query_range,
    ioc_vm_madvise,
    ioc_vm_query_attrs,
    ioc_gem_close,
    ioc_syncobj_create,
    ioc_syncobj_destroy,
    ioc_syncobj_wait,
    ioc_syncobj_reset,
    ioc_syncobj_signal,
    ioc_unknown,
    ioc_mmap,
    ioc_count,
};

struct IocInfo {
    const char* name;
    // Besides EFAULT, which every ioctl may return (the header's rule).
    std::array<int, 10> errnos;
};

// From the "-E..." lists of uapi/drm/simgpu_drm.h, ioctl by ioctl. The
// core ioctls (GEM_CLOSE, SYNCOBJ_*) are the DRM core's (drm_gem.c,
// drm_syncobj.c); an unknown driver ioctl number is -EINVAL (drm_ioctl()).
// ERESTARTSYS never reaches userspace: it is EINTR or a restart there.
constexpr std::array<IocInfo, ioc_count> iocs{{
    {"QUERY", {EINVAL, ENOMEM, ENODEV}},
    {"GEM_CREATE", {EINVAL, ENOMEM, ENOSPC}},
    {"GEM_MMAP_OFFSET", {EINVAL, ENOENT}},
    {"VM_CREATE", {EINVAL, EOPNOTSUPP, ENOMEM}},
    {"VM_DESTROY", {EINVAL, ENOENT}},
    {"VM_BIND", {EINVAL, EBADF, ENOENT, ENOMEM, EOPNOTSUPP, EAGAIN, EINTR}},
    {"EXEC_QUEUE_CREATE", {EINVAL, ENOENT, ENOMEM}},
    {"EXEC_QUEUE_DESTROY", {EINVAL, ENOENT}},
    {"EXEC_QUEUE_STATE", {EINVAL, ENOENT}},
    {"EXEC", {EINVAL, EBADF, ENOENT, ENOMEM, EINTR}},
    {"WAIT_USER_FENCE", {EINVAL, ENOENT, ETIME, EIO, EINTR}},
    {"VM_QUERY_RANGE", {EINVAL, ENOENT}},
    {"VM_MADVISE", {EINVAL, ENOENT, EBADF, ENODEV, ENOLINK, EOPNOTSUPP, ENOMEM, EINTR}},
    {"VM_QUERY_ATTRS", {EINVAL, ENOENT, ENOSPC}},
    {"GEM_CLOSE", {EINVAL}},
    {"SYNCOBJ_CREATE", {EINVAL, ENOMEM}},
    {"SYNCOBJ_DESTROY", {EINVAL}},
    {"SYNCOBJ_WAIT", {EINVAL, ENOENT, ENOMEM, ETIME, EINTR}},
    {"SYNCOBJ_RESET", {EINVAL, ENOENT, ENOMEM}},
    {"SYNCOBJ_SIGNAL", {EINVAL, ENOENT, ENOMEM}},
    {"UNKNOWN_IOCTL", {EINVAL, ENOTTY}},
    // mmap(2) of a buffer object: EINVAL for a private mapping (header),
    // EACCES for a bad offset (the DRM core's drm_gem_mmap()), ENOMEM.
    {"MMAP_BO", {EINVAL, EACCES, ENOMEM}},
}};

bool documented(int ioc, int err)
{
    if (err == 0 || err == EFAULT)
        return true;
    for (int e : iocs[ioc].errnos)
        if (e == err)
            return true;
    return false;
}

std::string errno_str(int err)
{
    if (err == 0)
        return "ok";
    const char* n = ::strerrorname_np(err);
    return n ? n : std::to_string(err);
}

// ---------------------------------------------------------------------------
// Counts: plain data, so children can fill them in shared memory.

constexpr int max_errno = 140;

struct Stats {
    uint64_t calls = 0;
    double seconds = 0;
    uint64_t count[ioc_count][max_errno] = {};

    void add(int ioc, int err)
    {
        ++calls;
        ++count[ioc][std::clamp(err, 0, max_errno - 1)];
    }
    void merge(const Stats& o)
    {
        calls += o.calls;
        seconds += o.seconds;
        for (int i = 0; i < ioc_count; ++i)
            for (int e = 0; e < max_errno; ++e)
                count[i][e] += o.count[i][e];
    }
    void print(const char* prefix) const
    {
        std::printf("%s calls %" PRIu64 " seconds %.1f calls/s %.1f\n", prefix, calls, seconds,
                    seconds > 0 ? static_cast<double>(calls) / seconds : 0.0);
        for (int i = 0; i < ioc_count; ++i) {
            std::string line;
            for (int e = 0; e < max_errno; ++e)
                if (count[i][e])
                    line.append(" ").append(errno_str(e)).append(":").append(
                        std::to_string(count[i][e]));
            if (!line.empty())
                std::printf("%s errnos %s%s\n", prefix, iocs[i].name, line.c_str());
        }
        std::fflush(stdout);
    }
};

Stats totals; // of the subtests run by this process

// The last calls, for the report of a failure.
struct History {
    static constexpr int depth = 32;
    char lines[depth][256] = {};
    uint64_t n = 0;

    void add(const char* line)
    {
        std::snprintf(lines[n % depth], sizeof(lines[0]), "%s", line);
        ++n;
    }
    void print(FILE* f) const
    {
        const uint64_t first = n > depth ? n - depth : 0;
        std::fprintf(f, "last %" PRIu64 " calls (of %" PRIu64 "):\n", n - first, n);
        for (uint64_t i = first; i < n; ++i)
            std::fprintf(f, "  #%" PRIu64 " %s\n", i, lines[i % depth]);
    }
};

// ---------------------------------------------------------------------------
// Configuration.

constexpr uint64_t default_seed = 0x51a6f0015eedull;

struct Config {
    uint64_t seed = default_seed;
    double seconds = 0; // 0: the short pass, a fixed number of iterations
    bool known_bugs = false;
};

Config config;

bool long_mode() { return config.seconds > 0; }

// A CPU read and write of the byte at @p.
void bump(void* p)
{
    auto* b = static_cast<volatile uint8_t*>(p);
    *b = static_cast<uint8_t>(*b + 1);
}

uint64_t fnv1a(std::string_view s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (char c : s)
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return h;
}

int64_t mono_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// ---------------------------------------------------------------------------
// Random values.

class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed ? seed : 1) {}
    uint64_t next()
    {
        // splitmix64
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool chance(unsigned percent) { return below(100) < percent; }
    template <typename T>
    T& pick(std::vector<T>& v)
    {
        return v[below(v.size())];
    }

private:
    uint64_t s_;
};

// Values that sit on the edges of what the kernel checks.
constexpr uint64_t boundaries[] = {
    0, 1, 2, 3, 4, 7, 8, 63, 64, 65, 0xff, 0x100, 0x1ff, 0x200, 0x201, 0xfff, page, page + 1,
    page + 8, 0xffff, 0x10000, 0x1fffff, 0x200000, 0x200001, 0x7fffffff, 0x80000000, 0xffffffff,
    0x100000000ull, 0x100001000ull, uint64_t{1} << 40, (uint64_t{1} << 47) - page,
    uint64_t{1} << 47, (uint64_t{1} << 48) - page, (uint64_t{1} << 48) - 1, uint64_t{1} << 48,
    uint64_t{1} << 63, 0x7fffffffffffffffull, ~uint64_t{0} - page + 1, ~uint64_t{0} - 1,
    ~uint64_t{0},
};

// ---------------------------------------------------------------------------
// Field tables: which bytes of a structure hold which field, and what kind
// of value may go there without endangering the fuzzer itself.

enum class Kind {
    plain,     // anything
    out_ptr,   // a pointer the kernel writes through: never into our memory
    in_ptr,    // a pointer the kernel reads through: anything, bad ones often
    fd,        // a file descriptor
    size,      // GEM_CREATE size: capped, to keep the fuzzer fast
    count,     // an array count: capped below 1 << 16, the syncobj bug
    rel_ns,    // a relative timeout: bounded
    abs_ns,    // an absolute CLOCK_MONOTONIC timeout: bounded
};

struct Field {
    const char* name;
    uint32_t off;
    uint32_t size;
    Kind kind = Kind::plain;
};

#define FLD(S, m, ...) Field{#m, offsetof(S, m), sizeof(S::m), ##__VA_ARGS__}

const Field query_fields[] = {FLD(drm_simgpu_query, extensions), FLD(drm_simgpu_query, query),
                              FLD(drm_simgpu_query, flags),
                              FLD(drm_simgpu_query, data, Kind::out_ptr),
                              FLD(drm_simgpu_query, size), FLD(drm_simgpu_query, pad),
                              FLD(drm_simgpu_query, reserved)};
const Field gem_create_fields[] = {
    FLD(drm_simgpu_gem_create, extensions), FLD(drm_simgpu_gem_create, size, Kind::size),
    FLD(drm_simgpu_gem_create, placement),  FLD(drm_simgpu_gem_create, flags),
    FLD(drm_simgpu_gem_create, handle),     FLD(drm_simgpu_gem_create, pad),
    FLD(drm_simgpu_gem_create, reserved)};
const Field mmap_offset_fields[] = {
    FLD(drm_simgpu_gem_mmap_offset, extensions), FLD(drm_simgpu_gem_mmap_offset, handle),
    FLD(drm_simgpu_gem_mmap_offset, flags), FLD(drm_simgpu_gem_mmap_offset, offset),
    FLD(drm_simgpu_gem_mmap_offset, reserved)};
const Field vm_create_fields[] = {FLD(drm_simgpu_vm_create, extensions),
                                  FLD(drm_simgpu_vm_create, flags),
                                  FLD(drm_simgpu_vm_create, vm_id),
                                  FLD(drm_simgpu_vm_create, reserved)};
const Field vm_destroy_fields[] = {FLD(drm_simgpu_vm_destroy, extensions),
                                   FLD(drm_simgpu_vm_destroy, vm_id),
                                   FLD(drm_simgpu_vm_destroy, pad),
                                   FLD(drm_simgpu_vm_destroy, reserved)};
const Field bind_fields[] = {FLD(drm_simgpu_vm_bind, extensions), FLD(drm_simgpu_vm_bind, vm_id),
                             FLD(drm_simgpu_vm_bind, num_binds, Kind::count),
                             FLD(drm_simgpu_vm_bind, binds, Kind::in_ptr),
                             FLD(drm_simgpu_vm_bind, num_syncs, Kind::count),
                             FLD(drm_simgpu_vm_bind, pad), FLD(drm_simgpu_vm_bind, syncs, Kind::in_ptr),
                             FLD(drm_simgpu_vm_bind, reserved)};
const Field bind_op_fields[] = {
    FLD(drm_simgpu_vm_bind_op, extensions), FLD(drm_simgpu_vm_bind_op, op),
    FLD(drm_simgpu_vm_bind_op, flags),      FLD(drm_simgpu_vm_bind_op, handle),
    FLD(drm_simgpu_vm_bind_op, region),     FLD(drm_simgpu_vm_bind_op, obj_offset),
    FLD(drm_simgpu_vm_bind_op, addr),       FLD(drm_simgpu_vm_bind_op, range),
    FLD(drm_simgpu_vm_bind_op, reserved)};
// @addr of a VM_BIND user fence is a CPU address the kernel writes.
const Field bind_sync_fields[] = {
    FLD(drm_simgpu_sync, extensions), FLD(drm_simgpu_sync, type), FLD(drm_simgpu_sync, flags),
    FLD(drm_simgpu_sync, handle, Kind::fd), FLD(drm_simgpu_sync, pad),
    FLD(drm_simgpu_sync, addr, Kind::out_ptr), FLD(drm_simgpu_sync, value),
    FLD(drm_simgpu_sync, reserved)};
// ... of an EXEC, a GPU virtual address.
const Field exec_sync_fields[] = {
    FLD(drm_simgpu_sync, extensions), FLD(drm_simgpu_sync, type), FLD(drm_simgpu_sync, flags),
    FLD(drm_simgpu_sync, handle, Kind::fd), FLD(drm_simgpu_sync, pad),
    FLD(drm_simgpu_sync, addr), FLD(drm_simgpu_sync, value), FLD(drm_simgpu_sync, reserved)};
const Field queue_create_fields[] = {
    FLD(drm_simgpu_exec_queue_create, extensions), FLD(drm_simgpu_exec_queue_create, vm_id),
    FLD(drm_simgpu_exec_queue_create, engine_class),
    FLD(drm_simgpu_exec_queue_create, engine_instance), FLD(drm_simgpu_exec_queue_create, flags),
    FLD(drm_simgpu_exec_queue_create, exec_queue_id), FLD(drm_simgpu_exec_queue_create, reserved)};
const Field queue_destroy_fields[] = {FLD(drm_simgpu_exec_queue_destroy, extensions),
                                      FLD(drm_simgpu_exec_queue_destroy, exec_queue_id),
                                      FLD(drm_simgpu_exec_queue_destroy, pad),
                                      FLD(drm_simgpu_exec_queue_destroy, reserved)};
const Field queue_state_fields[] = {
    FLD(drm_simgpu_exec_queue_state, extensions), FLD(drm_simgpu_exec_queue_state, exec_queue_id),
    FLD(drm_simgpu_exec_queue_state, flags),      FLD(drm_simgpu_exec_queue_state, error),
    FLD(drm_simgpu_exec_queue_state, pad),        FLD(drm_simgpu_exec_queue_state, fault_addr),
    FLD(drm_simgpu_exec_queue_state, jobs_submitted), FLD(drm_simgpu_exec_queue_state, reserved)};
const Field exec_fields[] = {FLD(drm_simgpu_exec, extensions), FLD(drm_simgpu_exec, exec_queue_id),
                             FLD(drm_simgpu_exec, num_syncs, Kind::count),
                             FLD(drm_simgpu_exec, syncs, Kind::in_ptr), FLD(drm_simgpu_exec, address),
                             FLD(drm_simgpu_exec, reserved)};
const Field wait_fields[] = {
    FLD(drm_simgpu_wait_user_fence, extensions), FLD(drm_simgpu_wait_user_fence, addr, Kind::in_ptr),
    FLD(drm_simgpu_wait_user_fence, op),         FLD(drm_simgpu_wait_user_fence, flags),
    FLD(drm_simgpu_wait_user_fence, value),      FLD(drm_simgpu_wait_user_fence, mask),
    FLD(drm_simgpu_wait_user_fence, timeout_ns, Kind::rel_ns),
    FLD(drm_simgpu_wait_user_fence, exec_queue_id), FLD(drm_simgpu_wait_user_fence, pad),
    FLD(drm_simgpu_wait_user_fence, reserved)};
const Field query_range_fields[] = {
    FLD(drm_simgpu_vm_query_range, extensions), FLD(drm_simgpu_vm_query_range, vm_id),
    FLD(drm_simgpu_vm_query_range, flags),      FLD(drm_simgpu_vm_query_range, start),
    FLD(drm_simgpu_vm_query_range, num_pages),
    FLD(drm_simgpu_vm_query_range, pages, Kind::out_ptr),
    FLD(drm_simgpu_vm_query_range, reserved)};
const Field madvise_fields[] = {
    FLD(drm_simgpu_vm_madvise, extensions), FLD(drm_simgpu_vm_madvise, vm_id),
    FLD(drm_simgpu_vm_madvise, attr),       FLD(drm_simgpu_vm_madvise, start),
    FLD(drm_simgpu_vm_madvise, range),      FLD(drm_simgpu_vm_madvise, value),
    FLD(drm_simgpu_vm_madvise, fd, Kind::fd), FLD(drm_simgpu_vm_madvise, reserved)};
const Field query_attrs_fields[] = {
    FLD(drm_simgpu_vm_query_attrs, extensions), FLD(drm_simgpu_vm_query_attrs, vm_id),
    FLD(drm_simgpu_vm_query_attrs, num_attrs),  FLD(drm_simgpu_vm_query_attrs, start),
    FLD(drm_simgpu_vm_query_attrs, range),
    FLD(drm_simgpu_vm_query_attrs, attrs, Kind::out_ptr),
    FLD(drm_simgpu_vm_query_attrs, reserved)};
const Field gem_close_fields[] = {FLD(drm_gem_close, handle), FLD(drm_gem_close, pad)};
const Field syncobj_create_fields[] = {FLD(drm_syncobj_create, handle),
                                       FLD(drm_syncobj_create, flags)};
const Field syncobj_destroy_fields[] = {FLD(drm_syncobj_destroy, handle),
                                        FLD(drm_syncobj_destroy, pad)};
const Field syncobj_wait_fields[] = {
    FLD(drm_syncobj_wait, handles, Kind::in_ptr), FLD(drm_syncobj_wait, timeout_nsec, Kind::abs_ns),
    FLD(drm_syncobj_wait, count_handles, Kind::count), FLD(drm_syncobj_wait, flags),
    FLD(drm_syncobj_wait, first_signaled), FLD(drm_syncobj_wait, pad)};
const Field syncobj_array_fields[] = {FLD(drm_syncobj_array, handles, Kind::in_ptr),
                                      FLD(drm_syncobj_array, count_handles, Kind::count),
                                      FLD(drm_syncobj_array, pad)};

#undef FLD

// ---------------------------------------------------------------------------
// The fuzzer.

// CPU memory the GPU mirrors: a reservation of 2 MiB slots between two
// guard slots that stay PROT_NONE, so no GPU access near the arena reaches
// memory of the fuzzer.
constexpr uint64_t slot_size = 2 * MiB;
constexpr int num_slots = 12;
constexpr uint64_t arena_size = (num_slots + 2) * slot_size;
constexpr uint64_t arena_pages = arena_size / page;

// GPU VAs of buffer objects: nothing of the process lives there, so a GPU
// access a random mirror turned into a CPU access faults.
constexpr uint64_t bo_va_base = uint64_t{1} << 40;
constexpr uint64_t bo_va_span = uint64_t{1} << 39;

// Caps of the tracked state.
constexpr size_t max_vms = 5;
constexpr size_t max_bos = 24;
constexpr size_t max_queues = 6;
constexpr size_t max_jobs = 6;
constexpr size_t max_syncobjs = 16;
constexpr uint64_t max_bo_size = 4 * MiB; // zeroed in the kernel: larger ones are slow

// The commands of a job BO: [0, 8K) batch, [8K, 12K) argument blocks,
// [12K, 16K) fences.
constexpr uint64_t job_bo_size = 16 * KiB;
constexpr uint64_t job_args_off = 8 * KiB;
constexpr uint64_t job_fence_off = 12 * KiB;

struct BoT {
    uint32_t handle;
    uint64_t size;
    uint32_t placement;
    void* cpu = nullptr; // MAP_SHARED mapping of the whole object, or null
};

struct MapT {
    uint64_t va;
    uint64_t size;
};

struct VmT {
    uint32_t id;
    bool fault;
    bool mirrored = false; // by this process
    std::vector<MapT> maps;
};

struct QueueT {
    uint32_t id;
    uint32_t vm_id;
    bool fault;
};

struct JobT {
    uint32_t queue_id;
    uint32_t vm_id;
    bool fault;
    uint64_t fence_addr; // CPU address of the user fence (fault mode)
    uint64_t value;
    bool status; // the fence is a status fence (DRM_SIMGPU_SYNC_FLAG_STATUS)
    uint32_t syncobj; // out-fence (not fault mode), or 0
    uint64_t va;      // the job BO's mapping, unmapped when dropped; 0: none
    void* cpu;        // the job BO's CPU mapping; null: batch in the arena
};

class Fuzzer {
public:
    Fuzzer(uint64_t seed, Stats& stats) : rng_(seed), stats_(stats) {}
    ~Fuzzer() { teardown(); }
    Fuzzer(const Fuzzer&) = delete;
    Fuzzer& operator=(const Fuzzer&) = delete;

    // Opens the device and maps the fuzzer's memory. "" or why not.
    std::string init();

    // Runs ops drawn from @ops for @iterations, or until @deadline_ns
    // (CLOCK_MONOTONIC) in the long mode. False on a failure.
    using Op = void (Fuzzer::*)();
    struct Weighted {
        Op op;
        unsigned weight;
    };
    bool run(std::span<const Weighted> ops, uint64_t iterations, int64_t deadline_ns);

    const std::string& failure() const { return failure_; }
    const History& history() const { return history_; }
    const drm_simgpu_query_device& info() const { return info_; }

    // Valid sequences.
    void op_gem_create();
    void op_gem_close();
    void op_bo_mmap();
    void op_vm_create();
    void op_vm_destroy();
    void op_bind_map();
    void op_bind_unmap();
    void op_mirror();
    void op_queue_create();
    void op_queue_destroy();
    void op_queue_state();
    void op_exec();
    void op_wait_jobs();
    void op_prefetch();
    void op_madvise();
    void op_query_range();
    void op_query_attrs();
    void op_syncobj_create();
    void op_syncobj_destroy();
    void op_cpu_map_slot();
    void op_cpu_unmap();
    void op_cpu_mprotect();
    void op_cpu_touch();
    void op_fork();
    void op_reopen();

    // Fuzzed calls.
    void fz_query();
    void fz_gem_create();
    void fz_gem_mmap_offset();
    void fz_gem_close();
    void fz_vm_create();
    void fz_vm_destroy();
    void fz_vm_bind();
    void fz_queue_create();
    void fz_queue_destroy();
    void fz_queue_state();
    void fz_exec();
    void fz_wait_user_fence();
    void fz_query_range();
    void fz_madvise();
    void fz_query_attrs();
    void fz_syncobj_create();
    void fz_syncobj_destroy();
    void fz_syncobj_wait();
    void fz_syncobj_reset_signal();
    void fz_unknown_ioctl();
    void fz_bo_mmap();

private:
    // The ioctl on @fd_; records it, checks its errno. Returns 0 or errno.
    int call(int ioc, unsigned long req, void* arg, const std::string& what);
    // A call that is valid in the tracked state: it must succeed, or fail
    // with one of @allowed (besides ENOMEM and EINTR).
    bool expect_ok(int ioc, int err, const std::string& what, std::initializer_list<int> allowed = {});
    void fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    void note(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

    // Values.
    uint64_t value64();
    uint64_t value_of(Kind kind, uint32_t size);
    uint64_t out_ptr();
    uint64_t extension();
    int fd_value();
    uint64_t garbage_gpu_addr();
    // Sets a few fields of @s (or @force of them) to boundary values;
    // returns what it did, "" when nothing.
    template <typename S>
    std::string mutate(S& s, std::span<const Field> fields, unsigned percent, int max_fields = 3);
    std::string mutate_bytes(void* s, size_t size, std::span<const Field> fields, unsigned percent,
                             int max_fields);

    // Tracked state.
    VmT* pick_vm(bool want_fault = false, bool want_mirrored = false);
    VmT* find_vm(uint32_t id);
    BoT* pick_bo();
    QueueT* pick_queue();
    uint32_t some_vm_id();
    uint32_t some_bo_handle();
    uint32_t some_queue_id();
    uint32_t some_syncobj();
    uint64_t alloc_va(uint64_t size);
    void forget_bo(uint32_t handle);
    void forget_vm(uint32_t id);
    void forget_queue(uint32_t id);
    void forget_syncobj(uint32_t handle);
    void drop_job(size_t i, bool wait);
    void close_device();
    bool open_device();
    void teardown();
    uint32_t create_bo(uint64_t size, uint32_t placement);
    bool bind_map(VmT& vm, uint32_t handle, uint64_t bo_size, uint64_t va, uint64_t size,
                  uint64_t offset, uint32_t flags);

    // The arena.
    uint64_t arena_start() const { return reinterpret_cast<uintptr_t>(arena_) + slot_size; }
    uint64_t arena_end() const { return arena_start() + num_slots * slot_size; }
    size_t page_index(uint64_t addr) const { return (addr - reinterpret_cast<uintptr_t>(arena_)) / page; }
    void set_prot(uint64_t addr, uint64_t len, int prot);
    bool writable(uint64_t addr, uint64_t len) const;
    void arena_span(uint64_t& start, uint64_t& len);
    void arena_span(__u64& start, __u64& len)
    {
        uint64_t s = 0, l = 0;
        arena_span(s, l);
        start = s;
        len = l;
    }

    // Jobs.
    uint64_t gpu_target(VmT* vm, uint64_t len, uint64_t align);
    void gen_batch(VmT* vm, uint32_t* cmds, size_t max_dw, uint8_t* args, uint64_t args_gpu);

    Rng rng_;
    Stats& stats_;
    History history_;
    std::string failure_;
    uint64_t iteration_ = 0;

    int fd_ = -1;
    std::vector<std::string> paths_;
    int other_fd_ = -1; // device 1 when there is one
    int eventfd_ = -1;
    int memfd_ = -1;
    drm_simgpu_query_device info_{};
    std::vector<drm_simgpu_engine_info> engines_;

    std::vector<BoT> bos_;
    std::vector<VmT> vms_;
    std::vector<QueueT> queues_;
    std::vector<JobT> jobs_;
    std::vector<uint32_t> syncobjs_; // with a signalled fence or none
    std::vector<std::pair<void*, size_t>> orphan_maps_; // BO mappings after close
    uint64_t next_va_ = bo_va_base;

    std::byte* arena_ = nullptr; // with its two guard slots
    std::vector<uint8_t> prot_;  // per page of arena_: PROT_* the CPU may use
    std::byte* scratch_ = nullptr; // kernel-written answers; a guard page after
    static constexpr uint64_t scratch_size = 4 * MiB;
    std::byte* ro_page_ = nullptr;    // PROT_READ
    std::byte* none_page_ = nullptr;  // PROT_NONE
    uint64_t fence_seq_ = 1;
    bool clean_ = false; // gen_batch(): no bad commands or addresses

    // With @percent chance (always for a clean batch) the good variant.
    bool good(unsigned percent) { return clean_ || rng_.chance(percent); }
};

// ---------------------------------------------------------------------------

void Fuzzer::fail(const char* fmt, ...)
{
    if (!failure_.empty())
        return;
    char buf[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    failure_ = buf;
}

void Fuzzer::note(const char* fmt, ...)
{
    char buf[256];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    history_.add(buf);
}

int Fuzzer::call(int ioc, unsigned long req, void* arg, const std::string& what)
{
    const int ret = ::ioctl(fd_, req, arg);
    const int err = ret < 0 ? errno : 0;
    stats_.add(ioc, err);
    char line[256];
    std::snprintf(line, sizeof(line), "%s(%s) = %s", iocs[ioc].name, what.c_str(),
                  errno_str(err).c_str());
    history_.add(line);
    if (!documented(ioc, err))
        fail("%s returned %s (%s), which the header does not document for it: %s",
             iocs[ioc].name, errno_str(err).c_str(), std::strerror(err), line);
    return err;
}

bool Fuzzer::expect_ok(int ioc, int err, const std::string& what, std::initializer_list<int> allowed)
{
    if (err == 0)
        return true;
    if (err == ENOMEM || err == EINTR)
        return false;
    for (int a : allowed)
        if (a == err)
            return false;
    fail("a valid %s(%s) failed with %s (%s)", iocs[ioc].name, what.c_str(), errno_str(err).c_str(),
         std::strerror(err));
    return false;
}

std::string Fuzzer::init()
{
    for (const auto& p : simgpu::Device::render_nodes()) {
        const int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0)
            continue;
        drm_version v{};
        char name[32] = {};
        v.name = name;
        v.name_len = sizeof(name) - 1;
        const bool ours = ::ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 && std::strcmp(name, "simgpu") == 0;
        ::close(fd);
        if (ours)
            paths_.push_back(p);
    }
    if (paths_.empty())
        return "no simgpu device";
    if (!open_device())
        return "cannot open " + paths_[0] + ": " + std::strerror(errno);
    if (paths_.size() > 1)
        other_fd_ = ::open(paths_[1].c_str(), O_RDWR | O_CLOEXEC);
    eventfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    memfd_ = ::memfd_create("simgpu-fuzz", MFD_CLOEXEC);
    if (memfd_ < 0 || ::ftruncate(memfd_, static_cast<off_t>(slot_size)) != 0)
        return std::string("memfd: ") + std::strerror(errno);

    // The arena, 2 MiB aligned: reserve one slot more and trim.
    auto* raw = static_cast<std::byte*>(::mmap(nullptr, arena_size + slot_size, PROT_NONE,
                                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (raw == MAP_FAILED)
        return std::string("mmap arena: ") + std::strerror(errno);
    const uint64_t r = reinterpret_cast<uintptr_t>(raw);
    const uint64_t a = (r + slot_size - 1) & ~(slot_size - 1);
    if (a > r)
        ::munmap(raw, a - r);
    if (a + arena_size < r + arena_size + slot_size)
        ::munmap(reinterpret_cast<void*>(a + arena_size), r + slot_size - a);
    arena_ = reinterpret_cast<std::byte*>(a);
    prot_.assign(arena_pages, 0);

    scratch_ = static_cast<std::byte*>(::mmap(nullptr, scratch_size + 3 * page,
                                              PROT_READ | PROT_WRITE,
                                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (scratch_ == MAP_FAILED)
        return std::string("mmap scratch: ") + std::strerror(errno);
    ro_page_ = scratch_ + scratch_size + page;
    none_page_ = scratch_ + scratch_size + 2 * page;
    ::mprotect(scratch_ + scratch_size, page, PROT_NONE); // the guard
    ::mprotect(ro_page_, page, PROT_READ);
    ::mprotect(none_page_, page, PROT_NONE);
    return "";
}

bool Fuzzer::open_device()
{
    fd_ = ::open(paths_[0].c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0)
        return false;
    drm_simgpu_query q{};
    q.query = DRM_SIMGPU_QUERY_DEVICE;
    q.data = reinterpret_cast<uintptr_t>(&info_);
    q.size = sizeof(info_);
    if (::ioctl(fd_, DRM_IOCTL_SIMGPU_QUERY, &q) != 0)
        return false;
    std::vector<std::byte> buf(4096);
    q = {};
    q.query = DRM_SIMGPU_QUERY_ENGINES;
    q.data = reinterpret_cast<uintptr_t>(buf.data());
    q.size = static_cast<uint32_t>(buf.size());
    if (::ioctl(fd_, DRM_IOCTL_SIMGPU_QUERY, &q) != 0)
        return false;
    const auto* e = reinterpret_cast<const drm_simgpu_query_engines*>(buf.data());
    engines_.assign(e->engines, e->engines + e->num_engines);
    return true;
}

void Fuzzer::close_device()
{
    for (size_t i = jobs_.size(); i-- > 0;)
        drop_job(i, false);
    for (auto& b : bos_)
        if (b.cpu)
            orphan_maps_.emplace_back(b.cpu, b.size);
    bos_.clear();
    vms_.clear();
    queues_.clear();
    syncobjs_.clear();
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

void Fuzzer::teardown()
{
    close_device();
    for (auto& [p, n] : orphan_maps_)
        ::munmap(p, n);
    orphan_maps_.clear();
    if (other_fd_ >= 0)
        ::close(other_fd_);
    if (eventfd_ >= 0)
        ::close(eventfd_);
    if (memfd_ >= 0)
        ::close(memfd_);
    other_fd_ = eventfd_ = memfd_ = -1;
    if (arena_)
        ::munmap(arena_, arena_size);
    if (scratch_)
        ::munmap(scratch_, scratch_size + 3 * page);
    arena_ = nullptr;
    scratch_ = nullptr;
}

bool Fuzzer::run(std::span<const Weighted> ops, uint64_t iterations, int64_t deadline_ns)
{
    unsigned total = 0;
    for (const auto& w : ops)
        total += w.weight;
    for (iteration_ = 0; failure_.empty(); ++iteration_) {
        if (deadline_ns ? mono_ns() >= deadline_ns : iteration_ >= iterations)
            break;
        if (fd_ < 0 && !open_device()) {
            fail("cannot reopen %s: %s", paths_[0].c_str(), std::strerror(errno));
            break;
        }
        uint64_t r = rng_.below(total);
        for (const auto& w : ops) {
            if (r < w.weight) {
                (this->*w.op)();
                break;
            }
            r -= w.weight;
        }
    }
    // Leave no job running into the next subtest's measurements.
    for (size_t i = jobs_.size(); i-- > 0;)
        drop_job(i, false);
    return failure_.empty();
}

// ---------------------------------------------------------------------------
// Values.

uint64_t Fuzzer::value64()
{
    switch (rng_.below(8)) {
    case 0:
    case 1:
    case 2:
        return boundaries[rng_.below(std::size(boundaries))];
    case 3:
        return rng_.below(64);
    case 4:
        return rng_.next();
    case 5:
        return rng_.below(uint64_t{1} << 32) * page; // below 1 << 44
    case 6:
        return uint64_t{1} << rng_.below(64);
    default:
        return boundaries[rng_.below(std::size(boundaries))] + rng_.below(3) - 1;
    }
}

// A pointer the kernel may write through: null, unmapped, read-only,
// kernel, non-canonical, or into the scratch buffer, whose end is a guard
// page, so no write past an answer reaches the fuzzer's own memory.
uint64_t Fuzzer::out_ptr()
{
    const uint64_t s = reinterpret_cast<uintptr_t>(scratch_);
    switch (rng_.below(10)) {
    case 0:
        return 0;
    case 1:
        return reinterpret_cast<uintptr_t>(none_page_) + rng_.below(page);
    case 2:
        return reinterpret_cast<uintptr_t>(ro_page_) + rng_.below(page);
    case 3:
        return rng_.chance(50) ? 0xffffffff81000000ull : 0xffff888000000000ull + rng_.below(MiB);
    case 4:
        return 0x0000800000000000ull + rng_.below(MiB); // non-canonical
    case 5:
        return s + scratch_size - 1 - rng_.below(64); // runs into the guard
    case 6:
        return s + rng_.below(scratch_size); // unaligned
    default:
        return s + rng_.below(scratch_size / 8) * 8;
    }
}

// An @extensions value: a chain of extension headers (next, name, flags)
// in user memory, one that loops, a bad pointer, or any value. The header
// defines no extension: each must be refused with EINVAL (or EFAULT).
uint64_t Fuzzer::extension()
{
    auto* chain = reinterpret_cast<uint64_t*>(scratch_ + scratch_size - 4 * KiB);
    const uint64_t c = reinterpret_cast<uintptr_t>(chain);
    // [0]: -> [4] -> [8] -> 0; [12]: -> itself.
    chain[0] = c + 32;
    chain[1] = rng_.below(4);
    chain[4] = c + 64;
    chain[5] = rng_.next();
    chain[8] = 0;
    chain[9] = 1;
    chain[12] = c + 96;
    chain[13] = 0;
    switch (rng_.below(5)) {
    case 0:
        return c;
    case 1:
        return c + 96;
    case 2:
        return out_ptr();
    default:
        return value64();
    }
}

int Fuzzer::fd_value()
{
    switch (rng_.below(9)) {
    case 0:
        return -1;
    case 1:
        return 0;
    case 2:
        return fd_;
    case 3:
        return other_fd_;
    case 4:
        return memfd_;
    case 5:
        return 1 << 20;
    case 6:
        return static_cast<int>(rng_.next());
    case 7:
        return 1000;
    default:
        return eventfd_;
    }
}

uint64_t Fuzzer::value_of(Kind kind, uint32_t size)
{
    uint64_t v = 0;
    switch (kind) {
    case Kind::plain:
        v = value64();
        break;
    case Kind::out_ptr:
        v = out_ptr();
        break;
    case Kind::in_ptr:
        v = rng_.chance(50) ? out_ptr() : value64();
        break;
    case Kind::fd:
        v = static_cast<uint64_t>(static_cast<int64_t>(fd_value()));
        break;
    case Kind::size:
        // Page multiples are at most max_bo_size or beyond any RAM
        // (gem-create-oom covers the sizes in between); other sizes are
        // refused unaligned.
        switch (rng_.below(5)) {
        case 0:
            v = (1 + rng_.below(max_bo_size / page)) * page;
            break;
        case 1:
            v = (uint64_t{1} << (40 + rng_.below(24))) - (rng_.chance(50) ? page : 0);
            break;
        case 2:
            v = rng_.next() | 1;
            break;
        case 3:
            v = rng_.chance(50) ? 0 : ~uint64_t{0};
            break;
        default:
            v = rng_.below(max_bo_size) | rng_.below(2);
            break;
        }
        break;
    case Kind::count:
        // Below 1 << 16: drm_syncobj_array_find()'s unbounded allocation
        // is the syncobj-huge-count subtest.
        switch (rng_.below(4)) {
        case 0:
            v = rng_.below(4);
            break;
        case 1:
            v = boundaries[rng_.below(std::size(boundaries))] & 0xffff;
            break;
        case 2:
            v = rng_.below(1 << 16);
            break;
        default:
            v = rng_.below(600);
            break;
        }
        break;
    case Kind::rel_ns:
        switch (rng_.below(4)) {
        case 0:
            v = 0;
            break;
        case 1:
            v = rng_.below(2'000'000);
            break;
        default:
            v = rng_.below(1000);
            break;
        }
        break;
    case Kind::abs_ns:
        v = rng_.chance(50) ? rng_.below(1000) : static_cast<uint64_t>(mono_ns()) + rng_.below(2'000'000);
        break;
    }
    if (size < 8)
        v &= (uint64_t{1} << (8 * size)) - 1;
    return v;
}

std::string Fuzzer::mutate_bytes(void* s, size_t size, std::span<const Field> fields,
                                 unsigned percent, int max_fields)
{
    if (!rng_.chance(percent))
        return "";
    std::string what;
    const int n = 1 + static_cast<int>(rng_.below(max_fields));
    for (int i = 0; i < n; ++i) {
        const Field& f = fields[rng_.below(fields.size())];
        uint32_t off = f.off, sz = f.size;
        if (sz > 8) { // an array of qwords: one element
            off += 8 * static_cast<uint32_t>(rng_.below(sz / 8));
            sz = 8;
        }
        if (off + sz > size)
            continue;
        const uint64_t v = std::strcmp(f.name, "extensions") == 0 ? extension() : value_of(f.kind, sz);
        std::memcpy(static_cast<std::byte*>(s) + off, &v, sz); // little-endian
        char buf[64];
        std::snprintf(buf, sizeof(buf), " %s=%#" PRIx64, f.name, v);
        what += buf;
    }
    return what;
}

template <typename S>
std::string Fuzzer::mutate(S& s, std::span<const Field> fields, unsigned percent, int max_fields)
{
    return mutate_bytes(&s, sizeof(s), fields, percent, max_fields);
}

// A GPU address a job may use that is never the fuzzer's own memory: the
// process maps nothing below 1 << 44 but the arena and what it mmaps, and
// random 64-bit values are never mapped.
uint64_t Fuzzer::garbage_gpu_addr()
{
    switch (rng_.below(4)) {
    case 0:
        return boundaries[rng_.below(std::size(boundaries))];
    case 1:
        return rng_.below(uint64_t{1} << 32) * page + rng_.below(page);
    case 2:
        return rng_.next();
    default:
        return bo_va_base + rng_.below(bo_va_span);
    }
}

// ---------------------------------------------------------------------------
// Tracked state.

VmT* Fuzzer::find_vm(uint32_t id)
{
    for (auto& v : vms_)
        if (v.id == id)
            return &v;
    return nullptr;
}

VmT* Fuzzer::pick_vm(bool want_fault, bool want_mirrored)
{
    std::vector<VmT*> c;
    for (auto& v : vms_)
        if ((!want_fault || v.fault) && (!want_mirrored || v.mirrored))
            c.push_back(&v);
    return c.empty() ? nullptr : rng_.pick(c);
}

BoT* Fuzzer::pick_bo() { return bos_.empty() ? nullptr : &rng_.pick(bos_); }
QueueT* Fuzzer::pick_queue() { return queues_.empty() ? nullptr : &rng_.pick(queues_); }

uint32_t Fuzzer::some_vm_id()
{
    if (!vms_.empty() && rng_.chance(60))
        return rng_.pick(vms_).id;
    return static_cast<uint32_t>(value64());
}

uint32_t Fuzzer::some_bo_handle()
{
    if (!bos_.empty() && rng_.chance(60))
        return rng_.pick(bos_).handle;
    return static_cast<uint32_t>(value64());
}

uint32_t Fuzzer::some_queue_id()
{
    if (!queues_.empty() && rng_.chance(60))
        return rng_.pick(queues_).id;
    return static_cast<uint32_t>(value64());
}

uint32_t Fuzzer::some_syncobj()
{
    if (!syncobjs_.empty() && rng_.chance(70))
        return rng_.pick(syncobjs_);
    return static_cast<uint32_t>(value64());
}

uint64_t Fuzzer::alloc_va(uint64_t size)
{
    // 2 MiB aligned with a free 2 MiB after: overruns fault.
    const uint64_t va = next_va_;
    next_va_ += (size + 2 * slot_size + slot_size - 1) & ~(slot_size - 1);
    if (next_va_ >= bo_va_base + bo_va_span)
        next_va_ = bo_va_base;
    return va;
}

void Fuzzer::forget_bo(uint32_t handle)
{
    for (size_t i = 0; i < bos_.size(); ++i)
        if (bos_[i].handle == handle) {
            if (bos_[i].cpu)
                ::munmap(bos_[i].cpu, bos_[i].size);
            bos_.erase(bos_.begin() + static_cast<long>(i));
            return;
        }
}

void Fuzzer::forget_vm(uint32_t id)
{
    std::erase_if(vms_, [&](const VmT& v) { return v.id == id; });
}

void Fuzzer::forget_queue(uint32_t id)
{
    std::erase_if(queues_, [&](const QueueT& q) { return q.id == id; });
    for (auto& j : jobs_)
        if (j.queue_id == id)
            j.queue_id = 0; // cancelled: nothing to wait for
}

void Fuzzer::forget_syncobj(uint32_t handle)
{
    std::erase(syncobjs_, handle);
}

uint32_t Fuzzer::create_bo(uint64_t size, uint32_t placement)
{
    drm_simgpu_gem_create c{};
    c.size = size;
    c.placement = placement;
    char what[64];
    std::snprintf(what, sizeof(what), "size=%#" PRIx64 " placement=%u", size, placement);
    const int err = call(ioc_gem_create, DRM_IOCTL_SIMGPU_GEM_CREATE, &c, what);
    if (!expect_ok(ioc_gem_create, err, what, {ENOSPC}))
        return 0;
    for (auto& b : bos_)
        if (b.handle == c.handle) {
            fail("GEM_CREATE returned handle %u, which is still open", c.handle);
            return 0;
        }
    bos_.push_back({c.handle, size, placement, nullptr});
    return c.handle;
}

bool Fuzzer::bind_map(VmT& vm, uint32_t handle, uint64_t bo_size, uint64_t va, uint64_t size,
                      uint64_t offset, uint32_t flags)
{
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_MAP;
    op.flags = flags;
    op.handle = handle;
    op.obj_offset = offset;
    op.addr = va;
    op.range = size;
    drm_simgpu_vm_bind b{};
    b.vm_id = vm.id;
    b.num_binds = 1;
    b.binds = reinterpret_cast<uintptr_t>(&op);
    char what[160];
    std::snprintf(what, sizeof(what),
                  "vm=%u MAP handle=%u (size %#" PRIx64 ") offset=%#" PRIx64 " va=%#" PRIx64
                  " range=%#" PRIx64 " flags=%#x",
                  vm.id, handle, bo_size, offset, va, size, flags);
    const int err = call(ioc_vm_bind, DRM_IOCTL_SIMGPU_VM_BIND, &b, what);
    if (!expect_ok(ioc_vm_bind, err, what))
        return false;
    if (vm.maps.size() < 64)
        vm.maps.push_back({va, size});
    return true;
}

void Fuzzer::drop_job(size_t i, bool wait)
{
    JobT j = jobs_[i];
    jobs_.erase(jobs_.begin() + static_cast<long>(i));
    if (wait && j.queue_id && fd_ >= 0) {
        if (j.fault && j.fence_addr) {
            drm_simgpu_wait_user_fence w{};
            w.addr = j.fence_addr;
            w.op = DRM_SIMGPU_CMP_EQ;
            w.value = j.value;
            w.mask = ~uint64_t{0};
            w.timeout_ns = long_mode() ? 20'000'000 : 5'000'000;
            w.exec_queue_id = rng_.chance(50) ? j.queue_id : 0;
            char what[96];
            std::snprintf(what, sizeof(what), "job fence %#" PRIx64 " == %#" PRIx64 " queue=%u",
                          static_cast<uint64_t>(w.addr), static_cast<uint64_t>(w.value),
                          w.exec_queue_id);
            const int err = call(ioc_wait_user_fence, DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, &w, what);
            // A status fence carries 0 or an errno the header lists for
            // jobs (read only in a job BO: the arena may be unmapped).
            const auto status = j.status && j.cpu && !err ?
                static_cast<int64_t>(reinterpret_cast<volatile uint64_t*>(j.fence_addr)[1]) : 0;
            if (status && status != -EFAULT && status != -ENOMEM && status != -ETIMEDOUT &&
                status != -EILSEQ)
                fail("job status fence %#" PRIx64 ": status %" PRId64 " is not a job errno",
                     static_cast<uint64_t>(j.fence_addr), status);
        } else if (j.syncobj) {
            drm_syncobj_wait w{};
            w.handles = reinterpret_cast<uintptr_t>(&j.syncobj);
            w.count_handles = 1;
            w.timeout_nsec = mono_ns() + (long_mode() ? 20'000'000 : 5'000'000);
            (void)call(ioc_syncobj_wait, DRM_IOCTL_SYNCOBJ_WAIT, &w,
                       "job syncobj " + std::to_string(j.syncobj));
        }
    }
    if (j.syncobj && fd_ >= 0) {
        drm_syncobj_destroy d{};
        d.handle = j.syncobj;
        (void)call(ioc_syncobj_destroy, DRM_IOCTL_SYNCOBJ_DESTROY, &d,
                   "job syncobj " + std::to_string(j.syncobj));
    }
    if (j.va && fd_ >= 0) {
        if (VmT* vm = find_vm(j.vm_id)) {
            drm_simgpu_vm_bind_op op{};
            op.op = DRM_SIMGPU_VM_BIND_OP_UNMAP;
            op.addr = j.va;
            op.range = job_bo_size;
            drm_simgpu_vm_bind b{};
            b.vm_id = vm->id;
            b.num_binds = 1;
            b.binds = reinterpret_cast<uintptr_t>(&op);
            char what[96];
            std::snprintf(what, sizeof(what), "vm=%u UNMAP job va=%#" PRIx64, vm->id, j.va);
            const int err = call(ioc_vm_bind, DRM_IOCTL_SIMGPU_VM_BIND, &b, what);
            expect_ok(ioc_vm_bind, err, what);
        }
    }
    if (j.cpu)
        ::munmap(j.cpu, job_bo_size);
}

// ---------------------------------------------------------------------------
// The arena.

void Fuzzer::set_prot(uint64_t addr, uint64_t len, int prot)
{
    const size_t first = page_index(addr);
    for (size_t i = 0; i < len / page; ++i)
        prot_[first + i] = static_cast<uint8_t>(prot);
}

bool Fuzzer::writable(uint64_t addr, uint64_t len) const
{
    if (addr < arena_start() || addr + len > arena_end())
        return false;
    const size_t first = page_index(addr & ~(page - 1));
    const size_t last = page_index((addr + len - 1) & ~(page - 1));
    for (size_t i = first; i <= last; ++i)
        if (prot_[i] != (PROT_READ | PROT_WRITE))
            return false;
    return true;
}

// A page-aligned span of the arena: a few pages, a slot or several.
void Fuzzer::arena_span(uint64_t& start, uint64_t& len)
{
    const uint64_t slot = rng_.below(num_slots);
    switch (rng_.below(3)) {
    case 0:
        start = arena_start() + slot * slot_size + rng_.below(slot_size / page) * page;
        len = (1 + rng_.below(16)) * page;
        break;
    case 1:
        start = arena_start() + slot * slot_size;
        len = slot_size;
        break;
    default:
        start = arena_start() + slot * slot_size;
        len = (1 + rng_.below(num_slots - slot)) * slot_size;
        break;
    }
    len = std::min(len, arena_end() - start);
}

void Fuzzer::op_cpu_map_slot()
{
    const uint64_t slot = rng_.below(num_slots);
    void* addr = reinterpret_cast<void*>(arena_start() + slot * slot_size);
    const char* kind = "anon";
    void* p = MAP_FAILED;
    switch (rng_.below(6)) {
    case 0:
    case 1:
        p = ::mmap(addr, slot_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
        if (p != MAP_FAILED)
            ::madvise(p, slot_size, MADV_NOHUGEPAGE);
        break;
    case 2:
        kind = "anon-thp";
        p = ::mmap(addr, slot_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
        if (p != MAP_FAILED)
            ::madvise(p, slot_size, MADV_HUGEPAGE);
        break;
    case 3:
        kind = "shared-anon";
        p = ::mmap(addr, slot_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
        break;
    case 4:
        kind = "memfd-shared";
        p = ::mmap(addr, slot_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, memfd_, 0);
        break;
    default:
        kind = "memfd-private";
        p = ::mmap(addr, slot_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, memfd_, 0);
        break;
    }
    note("cpu: mmap slot %" PRIu64 " %s = %s", slot, kind, p == MAP_FAILED ? "failed" : "ok");
    if (p != MAP_FAILED)
        set_prot(reinterpret_cast<uintptr_t>(p), slot_size, PROT_READ | PROT_WRITE);
}

void Fuzzer::op_cpu_unmap()
{
    uint64_t start, len;
    arena_span(start, len);
    void* p = reinterpret_cast<void*>(start);
    // munmap, then reserve the hole again before anything else can take it
    // (the fuzzer is one thread).
    const int r = ::munmap(p, len);
    void* q = ::mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                     -1, 0);
    note("cpu: munmap %#" PRIx64 "+%#" PRIx64 " = %d, reserve = %s", start, len, r,
         q == p ? "ok" : "failed");
    if (q != p)
        fail("cannot reserve the arena hole at %p again: %s", p, std::strerror(errno));
    set_prot(start, len, 0);
}

void Fuzzer::op_cpu_mprotect()
{
    uint64_t start, len;
    arena_span(start, len);
    static constexpr int prots[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE};
    const int prot = prots[rng_.below(std::size(prots))];
    const int r = ::mprotect(reinterpret_cast<void*>(start), len, prot);
    note("cpu: mprotect %#" PRIx64 "+%#" PRIx64 " %d = %d", start, len, prot, r);
    if (r == 0)
        set_prot(start, len, prot);
}

void Fuzzer::op_cpu_touch()
{
    // CPU reads and writes of pages the GPU may hold: in VRAM they migrate
    // back, held exclusive they are revoked.
    uint64_t start, len;
    arena_span(start, len);
    uint64_t n = 0;
    const bool dontneed = rng_.chance(10);
    for (uint64_t a = start; a < start + len; a += page) {
        const uint8_t p = prot_[page_index(a)];
        auto* b = reinterpret_cast<volatile uint64_t*>(a + rng_.below(page / 8) * 8);
        if (p & PROT_WRITE) {
            *b = *b + 1;
            ++n;
        } else if (p & PROT_READ) {
            (void)*b;
            ++n;
        }
        if (n > 64)
            break;
    }
    if (dontneed)
        ::madvise(reinterpret_cast<void*>(start), len, MADV_DONTNEED);
    note("cpu: touch %#" PRIx64 "+%#" PRIx64 " %" PRIu64 " pages%s", start, len, n,
         dontneed ? ", MADV_DONTNEED" : "");
}

void Fuzzer::op_fork()
{
    // The child writes pages of the arena (COW of private memory, shared
    // memory for real), may try a few calls on the inherited file, and
    // exits with the device file still open. It destroys nothing the
    // parent tracks: the file is shared.
    const pid_t pid = ::fork();
    if (pid == 0) {
        uint64_t start, len;
        arena_span(start, len);
        for (uint64_t a = start; a < start + len; a += page)
            if (prot_[page_index(a)] & PROT_WRITE)
                bump(reinterpret_cast<void*>(a));
        int bad = 0;
        if (!queues_.empty()) {
            drm_simgpu_exec_queue_state s{};
            s.exec_queue_id = queues_[0].id;
            if (::ioctl(fd_, DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, &s) != 0 && errno != EFAULT)
                bad = 1;
        }
        if (VmT* vm = pick_vm(true, true)) {
            // A mirror MAP from a process the VM does not mirror: EINVAL.
            drm_simgpu_vm_bind_op op{};
            op.op = DRM_SIMGPU_VM_BIND_OP_MAP;
            op.flags = DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR;
            op.addr = arena_start();
            op.range = page;
            drm_simgpu_vm_bind b{};
            b.vm_id = vm->id;
            b.num_binds = 1;
            b.binds = reinterpret_cast<uintptr_t>(&op);
            const int r = ::ioctl(fd_, DRM_IOCTL_SIMGPU_VM_BIND, &b);
            if (r == 0 || (errno != EINVAL && errno != EINTR))
                bad = 2;
        }
        ::_exit(bad);
    }
    int status = 0;
    if (pid > 0)
        ::waitpid(pid, &status, 0);
    note("cpu: fork = %d, child status %#x", pid, status);
    if (pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fail("forked child ended with status %#x (1: EXEC_QUEUE_STATE failed, 2: a mirror MAP "
             "from another process did not fail with EINVAL)",
             status);
}

void Fuzzer::op_reopen()
{
    note("close the device file, %zu VMs, %zu BOs, %zu queues, %zu jobs", vms_.size(),
         bos_.size(), queues_.size(), jobs_.size());
    close_device();
    if (!open_device())
        fail("cannot reopen %s: %s", paths_[0].c_str(), std::strerror(errno));
    // BO mappings outlive the file: touch one.
    if (!orphan_maps_.empty()) {
        auto& [p, n] = orphan_maps_.back();
        bump(static_cast<std::byte*>(p) + rng_.below(n));
        ::munmap(p, n);
        orphan_maps_.pop_back();
    }
}

// ---------------------------------------------------------------------------
// Valid sequences.

void Fuzzer::op_gem_create()
{
    if (bos_.size() >= max_bos)
        return op_gem_close();
    const bool vram = rng_.chance(30);
    const uint64_t size = rng_.chance(20) ? (1 + rng_.below(max_bo_size / page)) * page
                                          : (1 + rng_.below(16)) * page;
    create_bo(size, vram ? DRM_SIMGPU_MEM_VRAM : DRM_SIMGPU_MEM_SYSTEM);
}

void Fuzzer::op_gem_close()
{
    BoT* bo = pick_bo();
    if (!bo)
        return;
    drm_gem_close c{};
    c.handle = bo->handle;
    const int err = call(ioc_gem_close, DRM_IOCTL_GEM_CLOSE, &c, "handle=" + std::to_string(c.handle));
    expect_ok(ioc_gem_close, err, "handle=" + std::to_string(c.handle));
    forget_bo(c.handle);
}

void Fuzzer::op_bo_mmap()
{
    BoT* bo = pick_bo();
    if (!bo)
        return;
    if (bo->cpu) {
        // Write through the mapping, maybe unmap it.
        bump(static_cast<std::byte*>(bo->cpu) + rng_.below(bo->size));
        if (rng_.chance(30)) {
            ::munmap(bo->cpu, bo->size);
            bo->cpu = nullptr;
        }
        return;
    }
    drm_simgpu_gem_mmap_offset m{};
    m.handle = bo->handle;
    const std::string what = "handle=" + std::to_string(m.handle);
    const int err = call(ioc_gem_mmap_offset, DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m, what);
    if (!expect_ok(ioc_gem_mmap_offset, err, what))
        return;
    void* p = ::mmap(nullptr, bo->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(m.offset));
    const int merr = p == MAP_FAILED ? errno : 0;
    stats_.add(ioc_mmap, merr);
    note("mmap(handle=%u size=%#" PRIx64 " offset=%#" PRIx64 ") = %s", bo->handle, bo->size,
         static_cast<uint64_t>(m.offset), errno_str(merr).c_str());
    if (!expect_ok(ioc_mmap, merr, what))
        return;
    bo->cpu = p;
    bump(static_cast<std::byte*>(p) + rng_.below(bo->size));
}

void Fuzzer::op_vm_create()
{
    if (vms_.size() >= max_vms)
        return op_vm_destroy();
    const bool fault = (info_.caps & DRM_SIMGPU_CAP_FAULT_MODE) && rng_.chance(60);
    drm_simgpu_vm_create c{};
    c.flags = fault ? DRM_SIMGPU_VM_CREATE_FAULT_MODE : 0;
    const std::string what = fault ? "fault" : "";
    const int err = call(ioc_vm_create, DRM_IOCTL_SIMGPU_VM_CREATE, &c, what);
    if (!expect_ok(ioc_vm_create, err, what))
        return;
    if (find_vm(c.vm_id))
        return fail("VM_CREATE returned id %u, which is still in use", c.vm_id);
    vms_.push_back({c.vm_id, fault, false, {}});
}

void Fuzzer::op_vm_destroy()
{
    if (vms_.empty())
        return;
    const uint32_t id = rng_.pick(vms_).id;
    drm_simgpu_vm_destroy d{};
    d.vm_id = id;
    const std::string what = "vm=" + std::to_string(id);
    const int err = call(ioc_vm_destroy, DRM_IOCTL_SIMGPU_VM_DESTROY, &d, what);
    expect_ok(ioc_vm_destroy, err, what);
    forget_vm(id);
}

void Fuzzer::op_bind_map()
{
    VmT* vm = pick_vm();
    BoT* bo = pick_bo();
    if (!vm || !bo) {
        if (vms_.empty())
            op_vm_create();
        else
            op_gem_create();
        return;
    }
    // Part of the object, at a fresh VA or over an earlier mapping.
    const uint64_t pages = bo->size / page;
    const uint64_t first = rng_.below(pages);
    const uint64_t n = 1 + rng_.below(pages - first);
    uint64_t va;
    if (!vm->maps.empty() && rng_.chance(30)) {
        const MapT& m = rng_.pick(vm->maps);
        va = m.va + rng_.below(m.size / page) * page;
    } else {
        va = alloc_va(n * page);
        if (rng_.chance(20))
            va += rng_.below(slot_size / page) * page; // not 2 MiB aligned
    }
    const uint32_t flags = rng_.chance(20) ? DRM_SIMGPU_VM_BIND_FLAG_READONLY : 0;
    bind_map(*vm, bo->handle, bo->size, va, n * page, first * page, flags);
}

void Fuzzer::op_bind_unmap()
{
    VmT* vm = pick_vm();
    if (!vm || vm->maps.empty())
        return;
    const size_t i = rng_.below(vm->maps.size());
    const MapT m = vm->maps[i];
    uint64_t va = m.va, size = m.size;
    if (rng_.chance(40)) { // a piece: splits the mapping
        const uint64_t first = rng_.below(m.size / page);
        va += first * page;
        size = (1 + rng_.below(m.size / page - first)) * page;
    } else {
        vm->maps.erase(vm->maps.begin() + static_cast<long>(i));
    }
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_UNMAP;
    op.addr = va;
    op.range = size;
    drm_simgpu_vm_bind b{};
    b.vm_id = vm->id;
    b.num_binds = 1;
    b.binds = reinterpret_cast<uintptr_t>(&op);
    char what[96];
    std::snprintf(what, sizeof(what), "vm=%u UNMAP va=%#" PRIx64 " range=%#" PRIx64, vm->id, va, size);
    const int err = call(ioc_vm_bind, DRM_IOCTL_SIMGPU_VM_BIND, &b, what);
    expect_ok(ioc_vm_bind, err, what);
}

void Fuzzer::op_mirror()
{
    if (!(info_.caps & DRM_SIMGPU_CAP_CPU_ADDR_MIRROR))
        return;
    VmT* vm = pick_vm(true);
    if (!vm)
        return op_vm_create();
    uint64_t start = arena_start(), len = arena_end() - arena_start();
    if (rng_.chance(50))
        arena_span(start, len);
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_MAP;
    op.flags = DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR;
    op.addr = start;
    op.range = len;
    drm_simgpu_vm_bind b{};
    b.vm_id = vm->id;
    b.num_binds = 1;
    b.binds = reinterpret_cast<uintptr_t>(&op);
    char what[96];
    std::snprintf(what, sizeof(what), "vm=%u MIRROR %#" PRIx64 "+%#" PRIx64, vm->id, start, len);
    const int err = call(ioc_vm_bind, DRM_IOCTL_SIMGPU_VM_BIND, &b, what);
    if (expect_ok(ioc_vm_bind, err, what))
        vm->mirrored = true;
}

void Fuzzer::op_queue_create()
{
    if (queues_.size() >= max_queues)
        return op_queue_destroy();
    VmT* vm = pick_vm();
    if (!vm || engines_.empty())
        return op_vm_create();
    const auto& e = engines_[rng_.below(engines_.size())];
    drm_simgpu_exec_queue_create c{};
    c.vm_id = vm->id;
    c.engine_class = e.engine_class;
    c.engine_instance = e.instance;
    char what[64];
    std::snprintf(what, sizeof(what), "vm=%u engine=%u.%u", vm->id, e.engine_class, e.instance);
    const int err = call(ioc_exec_queue_create, DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, &c, what);
    if (!expect_ok(ioc_exec_queue_create, err, what))
        return;
    queues_.push_back({c.exec_queue_id, vm->id, vm->fault});
}

void Fuzzer::op_queue_destroy()
{
    QueueT* q = pick_queue();
    if (!q)
        return;
    const uint32_t id = q->id;
    drm_simgpu_exec_queue_destroy d{};
    d.exec_queue_id = id;
    const std::string what = "queue=" + std::to_string(id);
    const int err = call(ioc_exec_queue_destroy, DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, &d, what);
    expect_ok(ioc_exec_queue_destroy, err, what);
    forget_queue(id);
}

void Fuzzer::op_queue_state()
{
    QueueT* q = pick_queue();
    if (!q)
        return;
    drm_simgpu_exec_queue_state s{};
    s.exec_queue_id = q->id;
    const std::string what = "queue=" + std::to_string(q->id);
    const int err = call(ioc_exec_queue_state, DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, &s, what);
    if (!expect_ok(ioc_exec_queue_state, err, what))
        return;
    static constexpr int job_errors[] = {0, -EFAULT, -ETIMEDOUT, -EILSEQ, -ECANCELED, -ENOMEM};
    if (std::find(std::begin(job_errors), std::end(job_errors), s.error) == std::end(job_errors))
        fail("EXEC_QUEUE_STATE(queue=%u): error %d is none the header lists", q->id, s.error);
    if (s.jobs_completed > s.jobs_submitted || s.jobs_failed > s.jobs_completed)
        fail("EXEC_QUEUE_STATE(queue=%u): %" PRIu64 " submitted, %" PRIu64 " completed, %" PRIu64
             " failed",
             q->id, static_cast<uint64_t>(s.jobs_submitted), static_cast<uint64_t>(s.jobs_completed),
             static_cast<uint64_t>(s.jobs_failed));
}

// An address for a command of a job in @vm to access @len bytes at.
uint64_t Fuzzer::gpu_target(VmT* vm, uint64_t len, uint64_t align)
{
    const unsigned r = static_cast<unsigned>(rng_.below(10));
    if (vm && vm->mirrored && r < 4) {
        const uint64_t span = num_slots * slot_size - std::min(len, slot_size);
        for (int tries = 0; tries < (clean_ ? 4 : 1); ++tries) {
            const uint64_t a = (arena_start() + rng_.below(span)) & ~(align - 1);
            if (!clean_ || writable(a, std::max<uint64_t>(len, 1)))
                return a;
        }
    }
    if (vm && !vm->maps.empty() && r < 8) {
        const MapT& m = rng_.pick(vm->maps);
        const uint64_t off = m.size > len ? rng_.below(m.size - len) : 0;
        return (m.va + off) & ~(align - 1);
    }
    if (clean_ && vm && !vm->maps.empty()) {
        const MapT& m = rng_.pick(vm->maps);
        return (m.va + (m.size > len ? rng_.below(m.size - len) : 0)) & ~(align - 1);
    }
    return garbage_gpu_addr() & ~(align - 1);
}

// Random commands: mostly well-formed ones on addresses of the VM, some
// with bad operands, some garbage. Bounded: small sizes and counts, WAITs
// with a timeout of at most 1 ms.
void Fuzzer::gen_batch(VmT* vm, uint32_t* cmds, size_t max_dw, uint8_t* args, uint64_t args_gpu)
{
    size_t n = 0;
    auto put = [&](uint32_t v) {
        if (n < max_dw)
            cmds[n++] = v;
    };
    auto put64 = [&](uint64_t v) {
        put(static_cast<uint32_t>(v));
        put(static_cast<uint32_t>(v >> 32));
    };
    size_t arg_off = 0;
    const int count = 1 + static_cast<int>(rng_.below(10));
    for (int i = 0; i < count && n + 16 < max_dw; ++i) {
        switch (rng_.below(clean_ ? 10 : 13)) {
        case 0:
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_NOP, 0, 1));
            break;
        case 1:
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_STORE_DW, 0, 4));
            put64(gpu_target(vm, 4, good(90) ? 4 : 1));
            put(static_cast<uint32_t>(rng_.next()));
            break;
        case 2:
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_STORE_QW, 0, 5));
            put64(gpu_target(vm, 8, good(90) ? 8 : 1));
            put64(rng_.next());
            break;
        case 3: {
            const uint64_t size = rng_.below(16 * KiB) & ~uint64_t{good(90) ? 3u : 0u};
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_FILL, 0, 6));
            put64(gpu_target(vm, size, 4));
            put64(size);
            put(static_cast<uint32_t>(rng_.next()));
            break;
        }
        case 4: {
            const uint64_t size = rng_.below(16 * KiB);
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_COPY, 0, 7));
            put64(gpu_target(vm, size, 1));
            put64(gpu_target(vm, size, 1));
            put64(size);
            break;
        }
        case 5: {
            const bool dw = rng_.chance(30);
            uint32_t sub = static_cast<uint32_t>(rng_.below(good(95) ? 4 : 128));
            if (dw)
                sub |= DRM_SIMGPU_ATOMIC_32;
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_ATOMIC, sub, 9));
            put64(gpu_target(vm, 8, dw ? 4 : 8));
            put64(rng_.below(4));
            put64(rng_.below(4));
            put64(rng_.chance(50) ? 0 : gpu_target(vm, 8, 8));
            break;
        }
        case 6:
            if (clean_) // a condition nobody makes true fails the job
                break;
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_WAIT, rng_.below(good(95) ? 6 : 256), 8));
            put64(gpu_target(vm, 8, 8));
            put64(rng_.below(4));
            put64(rng_.chance(50) ? ~uint64_t{0} : rng_.below(4));
            put(1 + static_cast<uint32_t>(rng_.below(1000))); // never 0: the job timeout
            break;
        case 7:
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_SIGNAL, 0, 5));
            put64(gpu_target(vm, 8, 8));
            put64(rng_.next());
            break;
        case 8:
        case 9: {
            // LAUNCH with an argument block of pointers into the VM and
            // small counts.
            if (arg_off + 64 > job_fence_off - job_args_off)
                break;
            uint64_t a[8];
            const uint64_t cnt = rng_.below(good(90) ? 1024 : 65536);
            for (auto& v : a)
                v = gpu_target(vm, cnt * 8, 8);
            const uint32_t kernel = static_cast<uint32_t>(rng_.below(good(95) ? 8 : 256));
            // The count field sits at a different place per kernel: put
            // small values wherever the kernel reads a count.
            switch (kernel) {
            case DRM_SIMGPU_KERNEL_MEMSET:
                a[1] = cnt;
                a[2] = rng_.next();
                break;
            case DRM_SIMGPU_KERNEL_COPY:
            case DRM_SIMGPU_KERNEL_SAXPY:
            case DRM_SIMGPU_KERNEL_REDUCE_SUM:
                a[2] = cnt;
                a[3] = rng_.next() & 0xffffffff;
                break;
            case DRM_SIMGPU_KERNEL_HISTOGRAM:
                a[2] = cnt;
                a[3] = rng_.below(good(90) ? 256 : 1u << 31);
                break;
            case DRM_SIMGPU_KERNEL_LIST_SUM:
                a[3] = rng_.below(64); // max_nodes: cycles end quickly
                break;
            default:
                a[3] = cnt;
                break;
            }
            std::memcpy(args + arg_off, a, sizeof(a));
            const uint64_t args_addr = good(90) ? args_gpu + arg_off : gpu_target(vm, 64, 8);
            arg_off += 64;
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_LAUNCH, kernel, 4));
            put64(args_addr);
            put(static_cast<uint32_t>(good(80) ? rng_.below(4097) : rng_.next()));
            break;
        }
        case 10:
            // Continue somewhere else: unmapped, or data (garbage
            // commands). Never the batch itself: that loops until the job
            // timeout.
            put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_BATCH_START, 0, 3));
            put64(rng_.chance(50) ? garbage_gpu_addr() & ~uint64_t{3} : args_gpu);
            break;
        case 11: {
            // A known opcode with a wrong length, or flags where unused.
            const uint32_t op = static_cast<uint32_t>(rng_.below(11));
            put(DRM_SIMGPU_CMD(op, rng_.below(256), rng_.below(12)));
            for (int k = 0; k < 3; ++k)
                put(static_cast<uint32_t>(rng_.next()));
            break;
        }
        default:
            put(static_cast<uint32_t>(rng_.next()));
            break;
        }
    }
    if (good(92))
        put(DRM_SIMGPU_CMD(DRM_SIMGPU_OP_BATCH_END, 0, 1));
}

void Fuzzer::op_exec()
{
    QueueT* q = pick_queue();
    if (!q)
        return op_queue_create();
    VmT* vm = find_vm(q->vm_id);
    if (!vm)
        return op_queue_destroy(); // its VM id is gone: nothing to map a batch in
    if (jobs_.size() >= max_jobs)
        drop_job(0, true);

    JobT j{};
    j.queue_id = q->id;
    j.vm_id = vm->id;
    j.fault = q->fault;
    j.value = fence_seq_++;
    uint32_t* cmds = nullptr;
    uint8_t* args = nullptr;
    uint64_t batch_gpu = 0, fence_gpu = 0;

    uint64_t span_start = 0, span_len = 0;
    if (vm->mirrored && rng_.chance(30)) {
        // The batch in mirrored CPU memory, if a writable page is there.
        const uint64_t a = arena_start() + rng_.below(num_slots * slot_size / job_bo_size) * job_bo_size;
        if (writable(a, job_bo_size)) {
            span_start = a;
            span_len = job_bo_size;
        }
    }
    if (span_len) {
        cmds = reinterpret_cast<uint32_t*>(span_start);
        args = reinterpret_cast<uint8_t*>(span_start + job_args_off);
        batch_gpu = span_start;
        fence_gpu = span_start + job_fence_off;
        j.fence_addr = fence_gpu;
        *reinterpret_cast<volatile uint64_t*>(fence_gpu) = 0;
    } else {
        drm_simgpu_gem_create c{};
        c.size = job_bo_size;
        c.placement = rng_.chance(25) ? DRM_SIMGPU_MEM_VRAM : DRM_SIMGPU_MEM_SYSTEM;
        const int err = call(ioc_gem_create, DRM_IOCTL_SIMGPU_GEM_CREATE, &c, "job bo");
        if (!expect_ok(ioc_gem_create, err, "job bo", {ENOSPC}))
            return;
        drm_simgpu_gem_mmap_offset m{};
        m.handle = c.handle;
        int merr = call(ioc_gem_mmap_offset, DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m, "job bo");
        void* p = MAP_FAILED;
        if (expect_ok(ioc_gem_mmap_offset, merr, "job bo")) {
            p = ::mmap(nullptr, job_bo_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_,
                       static_cast<off_t>(m.offset));
            merr = p == MAP_FAILED ? errno : 0;
            stats_.add(ioc_mmap, merr);
            expect_ok(ioc_mmap, merr, "job bo");
        }
        j.va = alloc_va(job_bo_size);
        const bool mapped = p != MAP_FAILED &&
                            bind_map(*vm, c.handle, job_bo_size, j.va, job_bo_size, 0, 0);
        // The VM's mapping keeps the object: close the handle now.
        drm_gem_close gc{};
        gc.handle = c.handle;
        const int cerr = call(ioc_gem_close, DRM_IOCTL_GEM_CLOSE, &gc, "job bo " + std::to_string(c.handle));
        expect_ok(ioc_gem_close, cerr, "job bo");
        if (!mapped) {
            if (p != MAP_FAILED)
                ::munmap(p, job_bo_size);
            return;
        }
        vm->maps.pop_back(); // the job's own: not a target of other jobs
        j.cpu = p;
        cmds = static_cast<uint32_t*>(p);
        args = static_cast<uint8_t*>(p) + job_args_off;
        batch_gpu = j.va;
        fence_gpu = j.va + job_fence_off;
        j.fence_addr = reinterpret_cast<uintptr_t>(p) + job_fence_off;
    }
    // Half the batches are clean: well-formed commands on memory that is
    // there, so jobs get far (migrations, atomics, kernels) and complete.
    clean_ = rng_.chance(50);
    gen_batch(vm, cmds, job_args_off / 4, args, batch_gpu + job_args_off);
    clean_ = false;

    std::array<drm_simgpu_sync, 2> syncs{};
    uint32_t num_syncs = 0;
    if (q->fault || rng_.chance(30)) {
        syncs[num_syncs].type = DRM_SIMGPU_SYNC_USER_FENCE;
        syncs[num_syncs].flags = DRM_SIMGPU_SYNC_FLAG_SIGNAL;
        if (rng_.chance(20)) {
            syncs[num_syncs].flags |= DRM_SIMGPU_SYNC_FLAG_EVENTFD;
            syncs[num_syncs].handle = static_cast<uint32_t>(eventfd_);
        }
        if (rng_.chance(30)) {
            syncs[num_syncs].flags |= DRM_SIMGPU_SYNC_FLAG_STATUS;
            j.status = true;
        }
        syncs[num_syncs].addr = fence_gpu;
        syncs[num_syncs].value = j.value;
        ++num_syncs;
    }
    if (!q->fault) {
        drm_syncobj_create sc{};
        const int err = call(ioc_syncobj_create, DRM_IOCTL_SYNCOBJ_CREATE, &sc, "job");
        if (expect_ok(ioc_syncobj_create, err, "job")) {
            j.syncobj = sc.handle;
            syncs[num_syncs].type = DRM_SIMGPU_SYNC_SYNCOBJ;
            syncs[num_syncs].flags = DRM_SIMGPU_SYNC_FLAG_SIGNAL;
            syncs[num_syncs].handle = sc.handle;
            ++num_syncs;
        }
    }
    drm_simgpu_exec e{};
    e.exec_queue_id = q->id;
    e.num_syncs = num_syncs;
    e.syncs = reinterpret_cast<uintptr_t>(syncs.data());
    e.address = batch_gpu;
    char what[128];
    std::snprintf(what, sizeof(what), "queue=%u batch=%#" PRIx64 "%s syncs=%u", q->id, batch_gpu,
                  span_len ? " (svm)" : "", num_syncs);
    const int err = call(ioc_exec, DRM_IOCTL_SIMGPU_EXEC, &e, what);
    if (!expect_ok(ioc_exec, err, what))
        j.queue_id = 0; // nothing to wait for
    if (!j.fault)
        j.fence_addr = 0;
    jobs_.push_back(j);
    if (rng_.chance(30))
        drop_job(jobs_.size() - 1, true);
}

void Fuzzer::op_wait_jobs()
{
    if (!jobs_.empty())
        drop_job(rng_.below(jobs_.size()), true);
}

void Fuzzer::op_prefetch()
{
    VmT* vm = pick_vm(true, true);
    if (!vm)
        return op_mirror();
    uint64_t start, len;
    arena_span(start, len);
    // Prefetching 24 MiB under TCG takes seconds: the short pass moves at
    // most 4 MiB at a time.
    if (!long_mode())
        len = std::min<uint64_t>(len, 4 * MiB);
    const bool vram = rng_.chance(60);
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_PREFETCH;
    op.region = vram ? DRM_SIMGPU_MEM_VRAM : DRM_SIMGPU_MEM_SYSTEM;
    op.addr = start;
    op.range = len;
    drm_simgpu_vm_bind b{};
    b.vm_id = vm->id;
    b.num_binds = 1;
    b.binds = reinterpret_cast<uintptr_t>(&op);
    char what[112];
    std::snprintf(what, sizeof(what), "vm=%u PREFETCH %#" PRIx64 "+%#" PRIx64 " %s", vm->id, start,
                  len, vram ? "vram" : "system");
    const int err = call(ioc_vm_bind, DRM_IOCTL_SIMGPU_VM_BIND, &b, what);
    // EFAULT: the span has pages the process unmapped or protected;
    // EINVAL: a random mirror MAP elsewhere may have replaced part of it.
    const bool can_vram = info_.caps & DRM_SIMGPU_CAP_VRAM_MIGRATION;
    if (err == EOPNOTSUPP && !(vram && !can_vram))
        fail("PREFETCH(%s): EOPNOTSUPP on a device that can migrate", what);
    if (err == 0 && vram && !can_vram)
        fail("PREFETCH(%s) to VRAM succeeded on a device without VRAM migration", what);
}

void Fuzzer::op_madvise()
{
    VmT* vm = pick_vm(true, true);
    if (!vm)
        return op_mirror();
    uint64_t start, len;
    arena_span(start, len);
    drm_simgpu_vm_madvise m{};
    m.vm_id = vm->id;
    m.attr = static_cast<uint32_t>(rng_.below(4));
    m.start = start;
    m.range = len;
    switch (m.attr) {
    case DRM_SIMGPU_MADV_PREFERRED_LOC:
        m.value = static_cast<uint32_t>(rng_.below(3));
        if (m.value == DRM_SIMGPU_MADV_LOC_DEVICE)
            m.fd = rng_.chance(70) || other_fd_ < 0 ? -1 : other_fd_;
        break;
    case DRM_SIMGPU_MADV_MIGRATION:
        m.value = static_cast<uint32_t>(rng_.below(2));
        break;
    case DRM_SIMGPU_MADV_ATOMIC:
        m.value = static_cast<uint32_t>(rng_.below(4));
        break;
    default:
        m.value = static_cast<uint32_t>(rng_.below(2));
        break;
    }
    char what[128];
    std::snprintf(what, sizeof(what), "vm=%u %#" PRIx64 "+%#" PRIx64 " attr=%u value=%u fd=%d",
                  vm->id, start, len, m.attr, m.value, m.fd);
    (void)call(ioc_vm_madvise, DRM_IOCTL_SIMGPU_VM_MADVISE, &m, what);
}

void Fuzzer::op_query_range()
{
    VmT* vm = pick_vm();
    if (!vm)
        return;
    uint64_t start = 0, len = 0;
    if (vm->mirrored && rng_.chance(50))
        arena_span(start, len);
    else if (!vm->maps.empty()) {
        const MapT& m = rng_.pick(vm->maps);
        start = m.va;
        len = m.size;
    } else
        return;
    drm_simgpu_vm_query_range r{};
    r.vm_id = vm->id;
    r.start = start;
    r.num_pages = len / page;
    r.pages = reinterpret_cast<uintptr_t>(scratch_);
    char what[96];
    std::snprintf(what, sizeof(what), "vm=%u %#" PRIx64 " pages=%" PRIu64, vm->id, start, len / page);
    const int err = call(ioc_vm_query_range, DRM_IOCTL_SIMGPU_VM_QUERY_RANGE, &r, what);
    expect_ok(ioc_vm_query_range, err, what);
}

void Fuzzer::op_query_attrs()
{
    VmT* vm = pick_vm(true, true);
    if (!vm)
        return;
    uint64_t start, len;
    arena_span(start, len);
    drm_simgpu_vm_query_attrs q{};
    q.vm_id = vm->id;
    q.start = start;
    q.range = len;
    q.num_attrs = static_cast<uint32_t>(rng_.below(64));
    q.attrs = reinterpret_cast<uintptr_t>(scratch_);
    char what[112];
    std::snprintf(what, sizeof(what), "vm=%u %#" PRIx64 "+%#" PRIx64 " num=%u", vm->id, start, len,
                  q.num_attrs);
    (void)call(ioc_vm_query_attrs, DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS, &q, what);
}

void Fuzzer::op_syncobj_create()
{
    if (syncobjs_.size() >= max_syncobjs)
        return op_syncobj_destroy();
    drm_syncobj_create c{};
    c.flags = rng_.chance(60) ? DRM_SYNCOBJ_CREATE_SIGNALED : 0;
    const int err = call(ioc_syncobj_create, DRM_IOCTL_SYNCOBJ_CREATE, &c, "flags=" + std::to_string(c.flags));
    if (expect_ok(ioc_syncobj_create, err, "syncobj"))
        syncobjs_.push_back(c.handle);
}

void Fuzzer::op_syncobj_destroy()
{
    if (syncobjs_.empty())
        return;
    drm_syncobj_destroy d{};
    d.handle = rng_.pick(syncobjs_);
    const std::string what = "handle=" + std::to_string(d.handle);
    const int err = call(ioc_syncobj_destroy, DRM_IOCTL_SYNCOBJ_DESTROY, &d, what);
    expect_ok(ioc_syncobj_destroy, err, what);
    forget_syncobj(d.handle);
}

// ---------------------------------------------------------------------------
// Fuzzed calls: a valid argument with a few fields replaced.

void Fuzzer::fz_query()
{
    drm_simgpu_query q{};
    q.query = static_cast<uint32_t>(rng_.below(2));
    q.size = rng_.chance(30) ? 0 : static_cast<uint32_t>(rng_.below(2048));
    q.data = out_ptr();
    const std::string m = mutate(q, query_fields, 60);
    (void)call(ioc_query, DRM_IOCTL_SIMGPU_QUERY, &q, "query=" + std::to_string(q.query) + " size=" + std::to_string(q.size) + m);
}

void Fuzzer::fz_gem_create()
{
    drm_simgpu_gem_create c{};
    c.size = (1 + rng_.below(64)) * page;
    c.placement = static_cast<uint32_t>(rng_.below(2));
    const std::string m = mutate(c, gem_create_fields, 80);
    const uint64_t size = c.size;
    const uint32_t placement = c.placement;
    const int err = call(ioc_gem_create, DRM_IOCTL_SIMGPU_GEM_CREATE, &c, m);
    if (err == 0) {
        if (bos_.size() < max_bos && size <= max_bo_size) {
            bos_.push_back({c.handle, size, placement, nullptr});
        } else {
            drm_gem_close gc{};
            gc.handle = c.handle;
            (void)call(ioc_gem_close, DRM_IOCTL_GEM_CLOSE, &gc, "handle=" + std::to_string(gc.handle));
        }
    }
}

void Fuzzer::fz_gem_mmap_offset()
{
    drm_simgpu_gem_mmap_offset m{};
    m.handle = some_bo_handle();
    const std::string mu = mutate(m, mmap_offset_fields, 60);
    (void)call(ioc_gem_mmap_offset, DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m,
               "handle=" + std::to_string(m.handle) + mu);
}

void Fuzzer::fz_bo_mmap()
{
    // mmap(2) of a BO with a bad offset, length, or as a private mapping.
    BoT* bo = pick_bo();
    if (!bo)
        return;
    drm_simgpu_gem_mmap_offset m{};
    m.handle = bo->handle;
    if (call(ioc_gem_mmap_offset, DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m, "handle=" + std::to_string(m.handle)) != 0)
        return;
    uint64_t off = m.offset, len = bo->size;
    int flags = MAP_SHARED;
    switch (rng_.below(4)) {
    case 0:
        flags = MAP_PRIVATE;
        break;
    case 1:
        len += page * (1 + rng_.below(4)); // beyond the object
        break;
    case 2:
        off += page * (1 + rng_.below(4));
        break;
    default:
        off = rng_.below(uint64_t{1} << 32) * page;
        break;
    }
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, flags, fd_, static_cast<off_t>(off));
    const int err = p == MAP_FAILED ? errno : 0;
    stats_.add(ioc_mmap, err);
    char line[160];
    std::snprintf(line, sizeof(line), "MMAP_BO(handle=%u len=%#" PRIx64 " off=%#" PRIx64 " %s) = %s",
                  bo->handle, len, off, flags == MAP_PRIVATE ? "private" : "shared",
                  errno_str(err).c_str());
    history_.add(line);
    if (!documented(ioc_mmap, err))
        fail("mmap of a buffer object failed with %s, not documented: %s", errno_str(err).c_str(), line);
    if (p != MAP_FAILED)
        ::munmap(p, len); // never touched: a mapping past the object may SIGBUS
}

void Fuzzer::fz_gem_close()
{
    drm_gem_close c{};
    c.handle = some_bo_handle();
    const std::string m = mutate(c, gem_close_fields, 40);
    const int err = call(ioc_gem_close, DRM_IOCTL_GEM_CLOSE, &c, "handle=" + std::to_string(c.handle) + m);
    if (err == 0)
        forget_bo(c.handle);
}

void Fuzzer::fz_vm_create()
{
    drm_simgpu_vm_create c{};
    c.flags = rng_.chance(50) ? DRM_SIMGPU_VM_CREATE_FAULT_MODE : 0;
    const std::string m = mutate(c, vm_create_fields, 80);
    const uint32_t flags = c.flags;
    const int err = call(ioc_vm_create, DRM_IOCTL_SIMGPU_VM_CREATE, &c, m);
    if (err == 0) {
        if (vms_.size() < max_vms) {
            vms_.push_back({c.vm_id, (flags & DRM_SIMGPU_VM_CREATE_FAULT_MODE) != 0, false, {}});
        } else {
            drm_simgpu_vm_destroy d{};
            d.vm_id = c.vm_id;
            (void)call(ioc_vm_destroy, DRM_IOCTL_SIMGPU_VM_DESTROY, &d, "vm=" + std::to_string(d.vm_id));
        }
    }
}

void Fuzzer::fz_vm_destroy()
{
    drm_simgpu_vm_destroy d{};
    d.vm_id = some_vm_id();
    const std::string m = mutate(d, vm_destroy_fields, 60);
    const int err = call(ioc_vm_destroy, DRM_IOCTL_SIMGPU_VM_DESTROY, &d, "vm=" + std::to_string(d.vm_id) + m);
    if (err == 0)
        forget_vm(d.vm_id);
}

void Fuzzer::fz_vm_bind()
{
    // Up to 4 operations, each made valid for the tracked state first, then
    // perhaps mutated; up to 3 syncs; then the bind itself perhaps mutated.
    const uint32_t vm_id = some_vm_id();
    VmT* vm = find_vm(vm_id);
    std::array<drm_simgpu_vm_bind_op, 4> ops{};
    const uint32_t nops = 1 + static_cast<uint32_t>(rng_.below(ops.size()));
    std::string what = "vm=" + std::to_string(vm_id);
    bool mirror_touched = false;
    for (uint32_t i = 0; i < nops; ++i) {
        auto& op = ops[i];
        op.op = static_cast<uint32_t>(rng_.below(3));
        BoT* bo = pick_bo();
        switch (op.op) {
        case DRM_SIMGPU_VM_BIND_OP_MAP:
            if (rng_.chance(30) && vm && vm->fault) {
                op.flags = DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR;
                arena_span(op.addr, op.range);
                mirror_touched = true;
            } else if (bo) {
                op.handle = bo->handle;
                op.range = (1 + rng_.below(bo->size / page)) * page;
                op.obj_offset = rng_.below((bo->size - op.range) / page + 1) * page;
                op.addr = alloc_va(op.range);
            }
            break;
        case DRM_SIMGPU_VM_BIND_OP_UNMAP:
            if (vm && !vm->maps.empty()) {
                const MapT& m = rng_.pick(vm->maps);
                op.addr = m.va;
                op.range = m.size;
            } else {
                arena_span(op.addr, op.range);
            }
            break;
        default:
            op.region = static_cast<uint32_t>(rng_.below(2));
            arena_span(op.addr, op.range);
            break;
        }
        char buf[128];
        std::snprintf(buf, sizeof(buf), " [op=%u flags=%u h=%u %#" PRIx64 "+%#" PRIx64 "]", op.op,
                      op.flags, op.handle, static_cast<uint64_t>(op.addr), static_cast<uint64_t>(op.range));
        what += buf;
        const std::string m = mutate(op, bind_op_fields, 30, 2);
        if (!m.empty()) {
            what += "{" + m + " }";
            // A mutated MAP may mirror anything: the mirror of this VM is
            // no longer known.
            mirror_touched = true;
        }
    }
    std::array<drm_simgpu_sync, 3> syncs{};
    const uint32_t nsyncs = static_cast<uint32_t>(rng_.below(syncs.size() + 1));
    for (uint32_t i = 0; i < nsyncs; ++i) {
        auto& s = syncs[i];
        if (rng_.chance(50)) {
            s.type = DRM_SIMGPU_SYNC_USER_FENCE;
            s.flags = DRM_SIMGPU_SYNC_FLAG_SIGNAL;
            s.addr = reinterpret_cast<uintptr_t>(scratch_) + rng_.below(scratch_size / 8) * 8;
            s.value = rng_.next();
            if (rng_.chance(30)) {
                s.flags |= DRM_SIMGPU_SYNC_FLAG_EVENTFD;
                s.handle = static_cast<uint32_t>(eventfd_);
            }
        } else {
            s.type = DRM_SIMGPU_SYNC_SYNCOBJ;
            s.flags = rng_.chance(50) ? DRM_SIMGPU_SYNC_FLAG_SIGNAL : 0;
            s.handle = some_syncobj();
        }
        const std::string m = mutate(s, bind_sync_fields, 30, 2);
        what += " sync[type=" + std::to_string(s.type) + " flags=" + std::to_string(s.flags) + m + "]";
    }
    drm_simgpu_vm_bind b{};
    b.vm_id = vm_id;
    b.num_binds = nops;
    b.binds = reinterpret_cast<uintptr_t>(ops.data());
    b.num_syncs = nsyncs;
    b.syncs = reinterpret_cast<uintptr_t>(syncs.data());
    const std::string m = mutate(b, bind_fields, 25, 2);
    // A count beyond the arrays reads past them: harmless reads of the
    // stack, or EFAULT.
    const int err = call(ioc_vm_bind, DRM_IOCTL_SIMGPU_VM_BIND, &b, what + m);
    if (vm && (err == 0 || err == ENOMEM || err == EFAULT || err == EAGAIN || err == EINTR ||
               err == EOPNOTSUPP)) {
        // Some operations may have been applied: forget what they could
        // have unmapped, learn a mirror.
        for (uint32_t i = 0; i < nops; ++i)
            if (ops[i].op == DRM_SIMGPU_VM_BIND_OP_UNMAP || ops[i].op == DRM_SIMGPU_VM_BIND_OP_MAP)
                std::erase_if(vm->maps, [&](const MapT& mp) {
                    return mp.va < ops[i].addr + ops[i].range && ops[i].addr < mp.va + mp.size;
                });
        if (err == 0 && mirror_touched)
            for (uint32_t i = 0; i < nops; ++i)
                if (ops[i].op == DRM_SIMGPU_VM_BIND_OP_MAP &&
                    (ops[i].flags & DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR))
                    vm->mirrored = true;
    }
}

void Fuzzer::fz_queue_create()
{
    drm_simgpu_exec_queue_create c{};
    c.vm_id = some_vm_id();
    if (!engines_.empty()) {
        const auto& e = engines_[rng_.below(engines_.size())];
        c.engine_class = e.engine_class;
        c.engine_instance = e.instance;
    }
    const std::string m = mutate(c, queue_create_fields, 60);
    const int err = call(ioc_exec_queue_create, DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, &c,
                         "vm=" + std::to_string(c.vm_id) + m);
    if (err == 0) {
        VmT* vm = find_vm(c.vm_id);
        if (vm && queues_.size() < max_queues) {
            queues_.push_back({c.exec_queue_id, vm->id, vm->fault});
        } else {
            drm_simgpu_exec_queue_destroy d{};
            d.exec_queue_id = c.exec_queue_id;
            (void)call(ioc_exec_queue_destroy, DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, &d,
                       "queue=" + std::to_string(d.exec_queue_id));
        }
    }
}

void Fuzzer::fz_queue_destroy()
{
    drm_simgpu_exec_queue_destroy d{};
    d.exec_queue_id = some_queue_id();
    const std::string m = mutate(d, queue_destroy_fields, 60);
    const int err = call(ioc_exec_queue_destroy, DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, &d,
                         "queue=" + std::to_string(d.exec_queue_id) + m);
    if (err == 0)
        forget_queue(d.exec_queue_id);
}

void Fuzzer::fz_queue_state()
{
    drm_simgpu_exec_queue_state s{};
    s.exec_queue_id = some_queue_id();
    const std::string m = mutate(s, queue_state_fields, 60);
    (void)call(ioc_exec_queue_state, DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, &s,
               "queue=" + std::to_string(s.exec_queue_id) + m);
}

void Fuzzer::fz_exec()
{
    // A fuzzed EXEC: in-fences only from syncobjs that are signalled or
    // have no fence (a fault-mode EXEC waits for its in-fences itself).
    QueueT* q = pick_queue();
    drm_simgpu_exec e{};
    e.exec_queue_id = q && rng_.chance(80) ? q->id : some_queue_id();
    VmT* vm = q ? find_vm(q->vm_id) : nullptr;
    e.address = gpu_target(vm, 64, 4);
    std::array<drm_simgpu_sync, 3> syncs{};
    const uint32_t nsyncs = static_cast<uint32_t>(rng_.below(syncs.size() + 1));
    std::string what = "queue=" + std::to_string(e.exec_queue_id);
    for (uint32_t i = 0; i < nsyncs; ++i) {
        auto& s = syncs[i];
        if (rng_.chance(50)) {
            s.type = DRM_SIMGPU_SYNC_USER_FENCE;
            s.flags = DRM_SIMGPU_SYNC_FLAG_SIGNAL;
            s.addr = gpu_target(vm, 8, 8);
            s.value = rng_.next();
            if (rng_.chance(30)) {
                s.flags |= DRM_SIMGPU_SYNC_FLAG_EVENTFD;
                s.handle = static_cast<uint32_t>(eventfd_);
            }
        } else {
            s.type = DRM_SIMGPU_SYNC_SYNCOBJ;
            s.flags = rng_.chance(50) ? DRM_SIMGPU_SYNC_FLAG_SIGNAL : 0;
            s.handle = some_syncobj();
            // An out-fence on a pool syncobj would give it a job's fence:
            // the pool keeps only signalled ones. Use a syncobj of its own.
            if (s.flags & DRM_SIMGPU_SYNC_FLAG_SIGNAL)
                s.handle = static_cast<uint32_t>(value64());
        }
        const std::string m = mutate(s, exec_sync_fields, 30, 2);
        what += " sync[type=" + std::to_string(s.type) + " flags=" + std::to_string(s.flags) + m + "]";
    }
    e.num_syncs = nsyncs;
    e.syncs = reinterpret_cast<uintptr_t>(syncs.data());
    const std::string m = mutate(e, exec_fields, 60, 2);
    (void)call(ioc_exec, DRM_IOCTL_SIMGPU_EXEC, &e, what + m);
}

void Fuzzer::fz_wait_user_fence()
{
    drm_simgpu_wait_user_fence w{};
    if (!jobs_.empty() && jobs_.back().fault && rng_.chance(50)) {
        w.addr = jobs_.back().fence_addr;
        w.value = jobs_.back().value;
        w.exec_queue_id = jobs_.back().queue_id;
    } else {
        w.addr = reinterpret_cast<uintptr_t>(scratch_) + rng_.below(scratch_size / 8) * 8;
        w.value = rng_.next();
        w.exec_queue_id = rng_.chance(50) ? some_queue_id() : 0;
    }
    w.op = static_cast<uint32_t>(rng_.below(6));
    w.mask = rng_.chance(70) ? ~uint64_t{0} : rng_.next();
    w.timeout_ns = static_cast<int64_t>(rng_.below(1'000'000));
    const std::string m = mutate(w, wait_fields, 60);
    char what[96];
    std::snprintf(what, sizeof(what), "addr=%#" PRIx64 " op=%u queue=%u", static_cast<uint64_t>(w.addr),
                  w.op, w.exec_queue_id);
    (void)call(ioc_wait_user_fence, DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, &w, what + m);
}

void Fuzzer::fz_query_range()
{
    drm_simgpu_vm_query_range r{};
    r.vm_id = some_vm_id();
    VmT* vm = find_vm(r.vm_id);
    if (vm && !vm->maps.empty()) {
        const MapT& m = rng_.pick(vm->maps);
        r.start = m.va;
        r.num_pages = m.size / page;
    } else {
        arena_span(r.start, r.num_pages);
        r.num_pages /= page;
    }
    r.pages = out_ptr();
    const std::string m = mutate(r, query_range_fields, 60);
    char what[96];
    std::snprintf(what, sizeof(what), "vm=%u start=%#" PRIx64 " n=%#" PRIx64, r.vm_id,
                  static_cast<uint64_t>(r.start), static_cast<uint64_t>(r.num_pages));
    (void)call(ioc_vm_query_range, DRM_IOCTL_SIMGPU_VM_QUERY_RANGE, &r, what + m);
}

void Fuzzer::fz_madvise()
{
    drm_simgpu_vm_madvise a{};
    a.vm_id = some_vm_id();
    arena_span(a.start, a.range);
    a.attr = static_cast<uint32_t>(rng_.below(5));
    a.value = static_cast<uint32_t>(rng_.below(5));
    if (a.attr == DRM_SIMGPU_MADV_PREFERRED_LOC && a.value == DRM_SIMGPU_MADV_LOC_DEVICE)
        a.fd = fd_value();
    const std::string m = mutate(a, madvise_fields, 60);
    char what[128];
    std::snprintf(what, sizeof(what), "vm=%u %#" PRIx64 "+%#" PRIx64 " attr=%u value=%u fd=%d",
                  a.vm_id, static_cast<uint64_t>(a.start), static_cast<uint64_t>(a.range), a.attr,
                  a.value, a.fd);
    (void)call(ioc_vm_madvise, DRM_IOCTL_SIMGPU_VM_MADVISE, &a, what + m);
}

void Fuzzer::fz_query_attrs()
{
    drm_simgpu_vm_query_attrs q{};
    q.vm_id = some_vm_id();
    arena_span(q.start, q.range);
    q.num_attrs = static_cast<uint32_t>(rng_.below(16));
    q.attrs = out_ptr();
    const std::string m = mutate(q, query_attrs_fields, 60);
    char what[128];
    std::snprintf(what, sizeof(what), "vm=%u %#" PRIx64 "+%#" PRIx64 " num=%u", q.vm_id,
                  static_cast<uint64_t>(q.start), static_cast<uint64_t>(q.range), q.num_attrs);
    (void)call(ioc_vm_query_attrs, DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS, &q, what + m);
}

void Fuzzer::fz_syncobj_create()
{
    drm_syncobj_create c{};
    c.flags = rng_.chance(50) ? DRM_SYNCOBJ_CREATE_SIGNALED : 0;
    const std::string m = mutate(c, syncobj_create_fields, 60);
    const uint32_t flags = c.flags;
    const int err = call(ioc_syncobj_create, DRM_IOCTL_SYNCOBJ_CREATE, &c, "flags=" + std::to_string(flags) + m);
    if (err == 0) {
        if (syncobjs_.size() < max_syncobjs) {
            syncobjs_.push_back(c.handle);
        } else {
            drm_syncobj_destroy d{};
            d.handle = c.handle;
            (void)call(ioc_syncobj_destroy, DRM_IOCTL_SYNCOBJ_DESTROY, &d, "handle=" + std::to_string(d.handle));
        }
    }
}

void Fuzzer::fz_syncobj_destroy()
{
    drm_syncobj_destroy d{};
    d.handle = some_syncobj();
    const std::string m = mutate(d, syncobj_destroy_fields, 40);
    // A random handle may be a job's out-fence syncobj: that job then
    // destroys an unknown handle (EINVAL), which is fine.
    const int err = call(ioc_syncobj_destroy, DRM_IOCTL_SYNCOBJ_DESTROY, &d, "handle=" + std::to_string(d.handle) + m);
    if (err == 0) {
        forget_syncobj(d.handle);
        for (auto& j : jobs_)
            if (j.syncobj == d.handle)
                j.syncobj = 0;
    }
}

void Fuzzer::fz_syncobj_wait()
{
    // Handles from the pool (signalled or without a fence), bounded
    // timeouts, counts below 1 << 16 (see syncobj-huge-count).
    auto* handles = reinterpret_cast<uint32_t*>(scratch_);
    const uint32_t n = 1 + static_cast<uint32_t>(rng_.below(8));
    for (uint32_t i = 0; i < n; ++i)
        handles[i] = some_syncobj();
    drm_syncobj_wait w{};
    w.handles = reinterpret_cast<uintptr_t>(handles);
    w.count_handles = n;
    w.flags = static_cast<uint32_t>(rng_.below(16));
    w.timeout_nsec = mono_ns() + static_cast<int64_t>(rng_.below(1'000'000));
    const std::string m = mutate(w, syncobj_wait_fields, 50, 2);
    (void)call(ioc_syncobj_wait, DRM_IOCTL_SYNCOBJ_WAIT, &w,
               "n=" + std::to_string(w.count_handles) + " flags=" + std::to_string(w.flags) + m);
}

void Fuzzer::fz_syncobj_reset_signal()
{
    // RESET leaves a syncobj without a fence, SIGNAL gives it a signalled
    // one: both keep the pool's promise.
    auto* handles = reinterpret_cast<uint32_t*>(scratch_);
    const uint32_t n = 1 + static_cast<uint32_t>(rng_.below(4));
    for (uint32_t i = 0; i < n; ++i)
        handles[i] = some_syncobj();
    drm_syncobj_array a{};
    a.handles = reinterpret_cast<uintptr_t>(handles);
    a.count_handles = n;
    const std::string m = mutate(a, syncobj_array_fields, 50, 2);
    const bool reset = rng_.chance(50);
    (void)call(reset ? ioc_syncobj_reset : ioc_syncobj_signal,
               reset ? DRM_IOCTL_SYNCOBJ_RESET : DRM_IOCTL_SYNCOBJ_SIGNAL, &a,
               "n=" + std::to_string(a.count_handles) + m);
}

void Fuzzer::fz_unknown_ioctl()
{
    // Driver ioctl numbers past the last, and known numbers with a size or
    // direction the header does not give them (the DRM core copies what
    // the table says and zero-fills the rest).
    uint8_t buf[256] = {};
    unsigned long req;
    const unsigned nr = DRM_COMMAND_BASE + static_cast<unsigned>(rng_.below(0x20));
    switch (rng_.below(3)) {
    case 0:
        req = DRM_IOWR(DRM_COMMAND_BASE + DRM_SIMGPU_VM_QUERY_ATTRS + 1 + rng_.below(0x40), uint64_t);
        break;
    case 1:
        req = _IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE, nr, rng_.below(sizeof(buf)));
        break;
    default:
        req = _IOC(static_cast<unsigned>(rng_.below(4)), DRM_IOCTL_BASE, nr, 8 * rng_.below(sizeof(buf) / 8));
        break;
    }
    // Known numbers get a zeroed argument (random bytes could ask
    // GEM_CREATE for all of RAM, or wait without a timeout); unknown ones
    // random bytes. A zeroed VM_CREATE creates a VM nobody tracks: it goes
    // with the file.
    const unsigned n = _IOC_NR(req);
    const bool known = n >= DRM_COMMAND_BASE && n <= DRM_COMMAND_BASE + DRM_SIMGPU_VM_QUERY_ATTRS;
    if (!known)
        for (auto& b : buf)
            b = static_cast<uint8_t>(rng_.chance(80) ? 0 : rng_.next());
    char what[64];
    std::snprintf(what, sizeof(what), "req=%#lx", req);
    const int ret = ::ioctl(fd_, req, buf);
    const int err = ret < 0 ? errno : 0;
    stats_.add(ioc_unknown, err);
    char line[128];
    std::snprintf(line, sizeof(line), "ioctl(%s) = %s", what, errno_str(err).c_str());
    history_.add(line);
    if (!known && !documented(ioc_unknown, err))
        fail("an unknown ioctl returned %s: %s", errno_str(err).c_str(), line);
    if (known && err && !documented(n - DRM_COMMAND_BASE, err))
        fail("%s with a size of %lu returned %s, not documented: %s", iocs[n - DRM_COMMAND_BASE].name,
             _IOC_SIZE(req), errno_str(err).c_str(), line);
}

} // namespace

// ---------------------------------------------------------------------------
// Subtests.

namespace {

using F = Fuzzer;
using W = Fuzzer::Weighted;

// One subtest per ioctl family: the family's fuzzed calls, and the valid
// calls that build the state they need.
struct Family {
    const char* name;
    const char* description;
    std::vector<W> ops;
    uint64_t iterations; // of the short pass
};

const std::vector<W> mixed_ops = {
    {&F::op_gem_create, 4},     {&F::op_gem_close, 2},       {&F::op_bo_mmap, 2},
    {&F::op_vm_create, 3},      {&F::op_vm_destroy, 1},      {&F::op_bind_map, 5},
    {&F::op_bind_unmap, 2},     {&F::op_mirror, 3},          {&F::op_queue_create, 3},
    {&F::op_queue_destroy, 1},  {&F::op_queue_state, 2},     {&F::op_exec, 8},
    {&F::op_wait_jobs, 3},      {&F::op_prefetch, 3},        {&F::op_madvise, 3},
    {&F::op_query_range, 2},    {&F::op_query_attrs, 2},     {&F::op_syncobj_create, 2},
    {&F::op_syncobj_destroy, 1}, {&F::op_cpu_map_slot, 4},   {&F::op_cpu_unmap, 2},
    {&F::op_cpu_mprotect, 2},   {&F::op_cpu_touch, 3},       {&F::op_fork, 1},
    {&F::op_reopen, 1},         {&F::fz_query, 2},           {&F::fz_gem_create, 3},
    {&F::fz_gem_mmap_offset, 2}, {&F::fz_gem_close, 2},      {&F::fz_bo_mmap, 1},
    {&F::fz_vm_create, 2},      {&F::fz_vm_destroy, 2},      {&F::fz_vm_bind, 8},
    {&F::fz_queue_create, 2},   {&F::fz_queue_destroy, 2},   {&F::fz_queue_state, 2},
    {&F::fz_exec, 5},           {&F::fz_wait_user_fence, 3}, {&F::fz_query_range, 3},
    {&F::fz_madvise, 4},        {&F::fz_query_attrs, 3},     {&F::fz_syncobj_create, 1},
    {&F::fz_syncobj_destroy, 1}, {&F::fz_syncobj_wait, 2},   {&F::fz_syncobj_reset_signal, 2},
    {&F::fz_unknown_ioctl, 1},
};

const std::vector<Family>& families()
{
    static const std::vector<Family> f = {
        {"query", "QUERY: both queries, every field", {{&F::fz_query, 10}}, 150},
        {"gem",
         "GEM_CREATE, GEM_MMAP_OFFSET, GEM_CLOSE and mmap(2) of objects",
         {{&F::op_gem_create, 4}, {&F::op_gem_close, 2}, {&F::op_bo_mmap, 3},
          {&F::fz_gem_create, 6}, {&F::fz_gem_mmap_offset, 4}, {&F::fz_gem_close, 3},
          {&F::fz_bo_mmap, 2}},
         200},
        {"vm",
         "VM_CREATE and VM_DESTROY, VMs with and without queues",
         {{&F::op_vm_create, 3}, {&F::op_vm_destroy, 2}, {&F::op_queue_create, 1},
          {&F::fz_vm_create, 6}, {&F::fz_vm_destroy, 4}},
         200},
        {"vm-bind",
         "VM_BIND: MAP, UNMAP, PREFETCH, mirrors, syncs, against objects and CPU memory",
         {{&F::op_vm_create, 2}, {&F::op_gem_create, 2}, {&F::op_bind_map, 6},
          {&F::op_bind_unmap, 3}, {&F::op_mirror, 2}, {&F::op_cpu_map_slot, 2},
          {&F::op_syncobj_create, 1}, {&F::op_vm_destroy, 1}, {&F::op_gem_close, 1},
          {&F::fz_vm_bind, 12}},
         200},
        {"exec-queue",
         "EXEC_QUEUE_CREATE, EXEC_QUEUE_DESTROY and EXEC_QUEUE_STATE, with jobs in flight",
         {{&F::op_vm_create, 2}, {&F::op_queue_create, 3}, {&F::op_queue_destroy, 2},
          {&F::op_queue_state, 2}, {&F::op_exec, 1}, {&F::op_vm_destroy, 1},
          {&F::op_gem_create, 1}, {&F::fz_queue_create, 5}, {&F::fz_queue_destroy, 3},
          {&F::fz_queue_state, 4}},
         200},
        {"exec",
         "EXEC of batches of random commands on objects and mirrored memory; fuzzed EXECs",
         {{&F::op_vm_create, 1}, {&F::op_gem_create, 2}, {&F::op_bind_map, 3},
          {&F::op_mirror, 1}, {&F::op_cpu_map_slot, 2}, {&F::op_queue_create, 2},
          {&F::op_exec, 8}, {&F::op_wait_jobs, 3}, {&F::op_queue_state, 2},
          {&F::op_syncobj_create, 1}, {&F::op_cpu_touch, 1}, {&F::fz_exec, 8}},
         150},
        {"wait-user-fence",
         "WAIT_USER_FENCE on jobs' fences and on memory nobody writes",
         {{&F::op_vm_create, 1}, {&F::op_queue_create, 1}, {&F::op_exec, 3},
          {&F::op_wait_jobs, 2}, {&F::op_cpu_map_slot, 1}, {&F::op_mirror, 1},
          {&F::fz_wait_user_fence, 10}},
         150},
        {"svm",
         "Mirrors, PREFETCH, MADVISE, VM_QUERY_RANGE and VM_QUERY_ATTRS against munmap, "
         "mprotect, MADV_DONTNEED, CPU access and fork",
         {{&F::op_vm_create, 1}, {&F::op_mirror, 3}, {&F::op_cpu_map_slot, 4},
          {&F::op_cpu_unmap, 2}, {&F::op_cpu_mprotect, 2}, {&F::op_cpu_touch, 3},
          {&F::op_prefetch, 4}, {&F::op_madvise, 4}, {&F::op_query_range, 2},
          {&F::op_query_attrs, 2}, {&F::op_queue_create, 1}, {&F::op_exec, 3},
          {&F::op_wait_jobs, 1}, {&F::op_fork, 1}, {&F::op_gem_create, 1}, {&F::op_bind_map, 1},
          {&F::fz_madvise, 5}, {&F::fz_query_range, 4}, {&F::fz_query_attrs, 4},
          {&F::fz_vm_bind, 2}},
         110},
        {"syncobj",
         "The DRM core's syncobj ioctls on simgpu's fences, counts below 1 << 16",
         {{&F::op_syncobj_create, 3}, {&F::op_syncobj_destroy, 2}, {&F::op_vm_create, 1},
          {&F::op_queue_create, 1}, {&F::op_exec, 2}, {&F::fz_syncobj_create, 4},
          {&F::fz_syncobj_destroy, 3}, {&F::fz_syncobj_wait, 5},
          {&F::fz_syncobj_reset_signal, 4}},
         200},
        {"ioctl-numbers",
         "Driver ioctl numbers past the last, known ones with other sizes and directions",
         {{&F::fz_unknown_ioctl, 10}},
         150},
        {"mixed", "Every call above, interleaved, with device reopens", mixed_ops, 300},
    };
    return f;
}

uint64_t subtest_seed(std::string_view name) { return config.seed ^ fnv1a(name); }

int64_t deadline_ns()
{
    return long_mode() ? mono_ns() + static_cast<int64_t>(config.seconds * 1e9) : 0;
}

void report(const char* name, const Stats& stats)
{
    if (long_mode())
        stats.print((std::string("fuzz-stats ") + name + ":").c_str());
    else
        igt_info("%s: %" PRIu64 " calls in %.2fs\n", name, stats.calls, stats.seconds);
}

void run_family(const Family& f)
{
    const uint64_t seed = subtest_seed(f.name);
    igt_info("%s\n", f.description);
    igt_info("seed %#" PRIx64 " (subtest seed %#" PRIx64 "); reproduce: SIMGPU_FUZZ_SEED=%#" PRIx64
             " simgpu_fuzz --run-subtest %s\n",
             config.seed, seed, config.seed, f.name);
    auto stats = std::make_unique<Stats>();
    Fuzzer fz(seed, *stats);
    const std::string why = fz.init();
    igt_require_f(why.empty(), "%s\n", why.c_str());
    const int64_t start = mono_ns();
    const bool ok = fz.run(f.ops, f.iterations, deadline_ns());
    stats->seconds = static_cast<double>(mono_ns() - start) / 1e9;
    totals.merge(*stats);
    report(f.name, *stats);
    if (!ok) {
        fz.history().print(stderr);
        igt_fail("%s\n  seed %#" PRIx64 ": SIMGPU_FUZZ_SEED=%#" PRIx64 " simgpu_fuzz --run-subtest %s",
                 fz.failure().c_str(), config.seed, config.seed, f.name);
    }
}

// What a child of multi-process reports, in shared memory.
struct ChildReport {
    Stats stats;
    History history;
    char failure[512];
    int ran;
};

void multi_process()
{
    const int nproc = long_mode() ? 4 : 3;
    const uint64_t iterations = 140;
    const size_t bytes = sizeof(ChildReport) * nproc;
    void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    igt_assert(mem != MAP_FAILED);
    auto* reports = static_cast<ChildReport*>(mem);
    std::memset(mem, 0, bytes);
    const int64_t deadline = deadline_ns();
    std::vector<pid_t> pids;
    for (int i = 0; i < nproc; ++i) {
        const uint64_t seed = subtest_seed("multi-process") + static_cast<uint64_t>(i);
        igt_info("process %d: subtest seed %#" PRIx64 "\n", i, seed);
        std::fflush(stdout);
        const pid_t pid = ::fork();
        igt_assert(pid >= 0);
        if (pid == 0) {
            int rc = 1;
            try {
                ChildReport& r = reports[i];
                Fuzzer fz(seed, r.stats);
                const std::string why = fz.init();
                if (!why.empty()) {
                    std::snprintf(r.failure, sizeof(r.failure), "init: %s", why.c_str());
                } else {
                    r.ran = 1;
                    const int64_t start = mono_ns();
                    const bool ok = fz.run(mixed_ops, iterations, deadline);
                    r.stats.seconds = static_cast<double>(mono_ns() - start) / 1e9;
                    r.history = fz.history();
                    if (!ok)
                        std::snprintf(r.failure, sizeof(r.failure), "%s", fz.failure().c_str());
                    rc = ok ? 0 : 1;
                }
            } catch (...) {
                rc = 2;
            }
            std::fflush(stdout);
            ::_exit(rc);
        }
        pids.push_back(pid);
    }
    bool failed = false;
    auto stats = std::make_unique<Stats>();
    for (int i = 0; i < nproc; ++i) {
        int status = 0;
        ::waitpid(pids[i], &status, 0);
        ChildReport& r = reports[i];
        stats->merge(r.stats);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        failed = true;
        std::fprintf(stderr, "process %d (seed %#" PRIx64 "): status %#x: %s\n", i,
                     subtest_seed("multi-process") + static_cast<uint64_t>(i), status, r.failure);
        r.history.print(stderr);
    }
    // Seconds of wall time, not the sum of the processes'.
    double longest = 0;
    for (int i = 0; i < nproc; ++i)
        longest = std::max(longest, reports[i].stats.seconds);
    stats->seconds = longest;
    const bool ran = reports[0].ran;
    const std::string first_failure = reports[0].failure;
    ::munmap(mem, bytes);
    totals.merge(*stats);
    report("multi-process", *stats);
    igt_require_f(ran || first_failure.find("no simgpu device") == std::string::npos,
                  "%s\n", first_failure.c_str());
    if (failed)
        igt_fail("a process failed; seed %#" PRIx64 ": SIMGPU_FUZZ_SEED=%#" PRIx64
                 " simgpu_fuzz --run-subtest multi-process",
                 config.seed, config.seed);
}

// ---------------------------------------------------------------------------
// Known bugs: opt-in reproducers.

void require_known_bugs(const char* bug)
{
    igt_require_f(config.known_bugs,
                  "known bug, reproducer runs only with SIMGPU_FUZZ_KNOWN_BUGS=1: %s\n", bug);
}

int open_device_fd()
{
    for (const auto& p : simgpu::Device::render_nodes()) {
        const int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0)
            continue;
        drm_version v{};
        char name[32] = {};
        v.name = name;
        v.name_len = sizeof(name) - 1;
        if (::ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 && std::strcmp(name, "simgpu") == 0)
            return fd;
        ::close(fd);
    }
    return -1;
}

// drm_syncobj_array_find() (the DRM core, drm_syncobj.c) allocates its
// arrays with kmalloc_array() and no bound on count_handles: 1 << 19
// handles and more make an allocation beyond the page allocator's largest
// order, a WARN in __alloc_pages(). Any driver with syncobjs has it.
void syncobj_huge_count()
{
    require_known_bugs("drm_syncobj_array_find() kmalloc()s count_handles entries unbounded: "
                       "a WARN from the page allocator at >= 1 << 19 handles");
    const int fd = open_device_fd();
    igt_require_f(fd >= 0, "no simgpu device\n");
    drm_syncobj_create c{};
    c.flags = DRM_SYNCOBJ_CREATE_SIGNALED;
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c), 0);
    for (uint32_t count : {1u << 19, 1u << 20}) {
        std::vector<uint32_t> handles(count, c.handle);
        drm_syncobj_wait w{};
        w.handles = reinterpret_cast<uintptr_t>(handles.data());
        w.count_handles = count;
        w.timeout_nsec = mono_ns();
        const int r = ::ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w);
        igt_info("SYNCOBJ_WAIT of %u handles: %s\n", count, r ? errno_str(errno).c_str() : "ok");
        drm_syncobj_array a{};
        a.handles = w.handles;
        a.count_handles = count;
        const int r2 = ::ioctl(fd, DRM_IOCTL_SYNCOBJ_SIGNAL, &a);
        igt_info("SYNCOBJ_SIGNAL of %u handles: %s\n", count, r2 ? errno_str(errno).c_str() : "ok");
    }
    ::close(fd);
    igt_info("the bug shows in the kernel log (a WARNING in __alloc_pages), which fails the run\n");
}

// GEM_CREATE of a system object allocated its pages without
// __GFP_RETRY_MAYFAIL and uncharged: an object of nearly all of RAM sent
// the OOM killer after other processes instead of failing with -ENOMEM,
// and a memory cgroup's limit did not apply to it. A child in a memory
// cgroup of 64 MiB asks for 256 MiB: -ENOMEM, no OOM kill in the cgroup
// or the system, and an object of 16 MiB still works there.
void gem_create_oom()
{
    const std::string root = "/sys/fs/cgroup/";
    if (::access((root + "cgroup.controllers").c_str(), F_OK) != 0)
        (void)::mount("none", root.c_str(), "cgroup2", 0, nullptr);
    igt_require_f(simgpu_test::read_file(root + "cgroup.controllers").find("memory") !=
                      std::string::npos,
                  "no cgroup v2 memory controller at %s\n", root.c_str());
    igt_require_f(simgpu_test::write_file(root + "cgroup.subtree_control", "+memory"),
                  "cannot enable the memory controller below %s\n", root.c_str());
    const std::string cg = root + "simgpu-fuzz-oom/";
    (void)::rmdir(cg.c_str());
    igt_assert_f(::mkdir(cg.c_str(), 0755) == 0, "mkdir %s: %s", cg.c_str(),
                 std::strerror(errno));
    igt_assert(simgpu_test::write_file(cg + "memory.max", std::to_string(64 * MiB)));
    const auto vm_oom_kills = [] {
        const std::string v = simgpu_test::read_file("/proc/vmstat");
        const auto at = v.find("\noom_kill ");
        return at == std::string::npos ? uint64_t{0} : std::stoull(v.substr(at + 10));
    };
    const uint64_t kills = vm_oom_kills();
    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0) {
        if (!simgpu_test::write_file(cg + "cgroup.procs", "0"))
            ::_exit(4);
        const int fd = open_device_fd();
        if (fd < 0)
            ::_exit(3);
        drm_simgpu_gem_create c{};
        c.size = 256 * MiB;
        c.placement = DRM_SIMGPU_MEM_SYSTEM;
        if (::ioctl(fd, DRM_IOCTL_SIMGPU_GEM_CREATE, &c) == 0)
            ::_exit(10);
        if (errno != ENOMEM)
            ::_exit(11);
        c = {};
        c.size = 16 * MiB;
        c.placement = DRM_SIMGPU_MEM_SYSTEM;
        ::_exit(::ioctl(fd, DRM_IOCTL_SIMGPU_GEM_CREATE, &c) == 0 ? 0 : 12);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    const std::string events = simgpu_test::read_file(cg + "memory.events");
    (void)::rmdir(cg.c_str());
    igt_info("child status %#x; memory.events: %s\n", status, events.c_str());
    igt_require_f(!(WIFEXITED(status) && WEXITSTATUS(status) == 3), "no simgpu device\n");
    igt_assert_f(!(WIFEXITED(status) && WEXITSTATUS(status) == 4),
                 "could not move the child into %s", cg.c_str());
    igt_assert_f(!WIFSIGNALED(status), "the child was killed by signal %d", WTERMSIG(status));
    igt_assert_f(!(WIFEXITED(status) && WEXITSTATUS(status) == 10),
                 "GEM_CREATE of 256 MiB succeeded in a memory cgroup of 64 MiB: the pages are "
                 "not charged to it");
    igt_assert_f(!(WIFEXITED(status) && WEXITSTATUS(status) == 11),
                 "GEM_CREATE of 256 MiB in a memory cgroup of 64 MiB failed, but not with "
                 "ENOMEM");
    igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "GEM_CREATE of 16 MiB in the cgroup failed after the refused one (status %#x)",
                 status);
    igt_assert_f(events.find("oom_kill 0") != std::string::npos,
                 "the cgroup's OOM killer ran: %s", events.c_str());
    igt_assert_eq(vm_oom_kills(), kills);
}

// A forked child shares its parent's DRM file, and with it the handle and
// id spaces, which hand out the lowest free number: a child that closes a
// buffer object and creates a smaller one gets the same handle, and the
// parent's MAP of "its" long-lived object into a new VM then fails with
// EINVAL (obj_offset + range beyond the object). This is what an earlier
// fuzzer saw in its multi-process mode as an unexplained EINVAL; the
// driver is right. The fuzzer gives each process a file of its own and
// keeps forked children to calls that change nothing.
void fork_shares_handles()
{
    const int fd = open_device_fd();
    igt_require_f(fd >= 0, "no simgpu device\n");
    drm_simgpu_gem_create big{};
    big.size = 2 * MiB;
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_GEM_CREATE, &big), 0);

    const pid_t pid = ::fork();
    igt_assert(pid >= 0);
    if (pid == 0) {
        drm_gem_close c{};
        c.handle = big.handle;
        drm_simgpu_gem_create small{};
        small.size = page;
        const bool ok = ::ioctl(fd, DRM_IOCTL_GEM_CLOSE, &c) == 0 &&
                        ::ioctl(fd, DRM_IOCTL_SIMGPU_GEM_CREATE, &small) == 0 &&
                        small.handle == big.handle;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "the child did not get the parent's handle back (status %#x)", status);

    drm_simgpu_vm_create vc{};
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_VM_CREATE, &vc), 0);
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_MAP;
    op.handle = big.handle;
    op.addr = bo_va_base;
    op.range = 2 * MiB;
    drm_simgpu_vm_bind b{};
    b.vm_id = vc.vm_id;
    b.num_binds = 1;
    b.binds = reinterpret_cast<uintptr_t>(&op);
    errno = 0;
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_VM_BIND, &b), -1);
    igt_assert_eq(errno, EINVAL);
    // The handle is the child's one page: that maps.
    op.range = page;
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_VM_BIND, &b), 0);
    ::close(fd);
}

// Found by the long run (seed 0x15f0003, subtest mixed, svm-dev on the
// kernel's SVM core): WAIT_USER_FENCE on a fence in mirrored private
// memory reads it with get_user(), which faults on the device-private page
// while GPU faults of the job migrate the same chunk; the CPU fault ended
// in drm_pagemap_migrate_to_ram() -> __migrate_device_finalize() ->
// folio_unlock() of a device folio that was not locked: kernel BUG at
// mm/filemap.c (VM_BUG_ON_FOLIO(!folio_test_locked(folio))), the process
// left in an oops. The kernel's migrate_vma_collect_pmd() kept a stale
// fault folio after splitting the device folio (docs/upstream-findings.md;
// fixed by scripts/kernel/patches/, and reproduced every time by
// simgpu_svm_migrate/thp-device-folio-split-cpu-fault). Jobs here FILL the
// 2 MiB around the fence, then SIGNAL it; the CPU waits on it from two
// threads and prefetches it to VRAM.
void wait_fence_in_vram()
{
    const int fd = open_device_fd();
    igt_require_f(fd >= 0, "no simgpu device\n");
    drm_simgpu_query_device info{};
    drm_simgpu_query q{};
    q.query = DRM_SIMGPU_QUERY_DEVICE;
    q.data = reinterpret_cast<uintptr_t>(&info);
    q.size = sizeof(info);
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_QUERY, &q), 0);
    igt_require_f(info.caps & DRM_SIMGPU_CAP_VRAM_MIGRATION, "no VRAM migration\n");

    constexpr uint64_t size = 4 * MiB;
    auto* raw = static_cast<std::byte*>(::mmap(nullptr, size + 2 * MiB, PROT_READ | PROT_WRITE,
                                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    igt_assert(raw != MAP_FAILED);
    auto* area = reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(raw) + 2 * MiB - 1) &
                                              ~(2 * MiB - 1));
    // THP: the folio of the BUG was a 2 MiB device folio.
    ::madvise(area, size, MADV_HUGEPAGE);
    std::memset(area, 1, size);
    const uint64_t base = reinterpret_cast<uintptr_t>(area);

    drm_simgpu_vm_create vc{};
    vc.flags = DRM_SIMGPU_VM_CREATE_FAULT_MODE;
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_VM_CREATE, &vc), 0);
    auto bind = [&](uint32_t opcode, uint32_t flags, uint32_t handle, uint64_t addr, uint64_t range,
                    uint32_t region) {
        drm_simgpu_vm_bind_op op{};
        op.op = opcode;
        op.flags = flags;
        op.handle = handle;
        op.addr = addr;
        op.range = range;
        op.region = region;
        drm_simgpu_vm_bind b{};
        b.vm_id = vc.vm_id;
        b.num_binds = 1;
        b.binds = reinterpret_cast<uintptr_t>(&op);
        return ::ioctl(fd, DRM_IOCTL_SIMGPU_VM_BIND, &b) == 0 ? 0 : errno;
    };
    igt_assert_eq(bind(DRM_SIMGPU_VM_BIND_OP_MAP, DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR, 0, base,
                       size, 0),
                  0);
    drm_simgpu_gem_create bc{};
    bc.size = 64 * KiB;
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_GEM_CREATE, &bc), 0);
    drm_simgpu_gem_mmap_offset mo{};
    mo.handle = bc.handle;
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &mo), 0);
    auto* batch = static_cast<uint32_t*>(::mmap(nullptr, bc.size, PROT_READ | PROT_WRITE,
                                                MAP_SHARED, fd, static_cast<off_t>(mo.offset)));
    igt_assert(batch != MAP_FAILED);
    igt_assert_eq(bind(DRM_SIMGPU_VM_BIND_OP_MAP, 0, bc.handle, bo_va_base, bc.size, 0), 0);
    drm_simgpu_exec_queue_create qc{};
    qc.vm_id = vc.vm_id;
    igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, &qc), 0);

    // As in the fuzzer's run: the batch itself in the second 2 MiB chunk
    // of mirrored memory, its fence 12 KiB after it; the job writes both
    // chunks.
    auto* svm_batch = reinterpret_cast<uint32_t*>(area + 2 * MiB);
    const uint64_t batch_va = base + 2 * MiB;
    const uint64_t fence = batch_va + 12 * KiB;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> polls{0};
    std::thread poller([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            drm_simgpu_wait_user_fence w{};
            w.addr = fence;
            w.op = DRM_SIMGPU_CMP_EQ;
            w.value = ~uint64_t{0};
            w.mask = ~uint64_t{0};
            w.timeout_ns = 100'000;
            (void)::ioctl(fd, DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, &w);
            polls.fetch_add(1, std::memory_order_relaxed);
        }
    });
    const int64_t end = mono_ns() + 8'000'000'000LL;
    uint64_t jobs = 0;
    while (mono_ns() < end) {
        uint32_t* cmds = (jobs % 2) ? svm_batch : batch;
        uint32_t n = 0;
        for (int k = 0; k < 16; ++k) {
            const uint64_t dst = base + (k % 2) * (2 * MiB + 64 * KiB);
            cmds[n++] = DRM_SIMGPU_CMD(DRM_SIMGPU_OP_FILL, 0, 6);
            cmds[n++] = static_cast<uint32_t>(dst);
            cmds[n++] = static_cast<uint32_t>(dst >> 32);
            cmds[n++] = static_cast<uint32_t>(MiB);
            cmds[n++] = 0;
            cmds[n++] = static_cast<uint32_t>(jobs + k);
        }
        cmds[n++] = DRM_SIMGPU_CMD(DRM_SIMGPU_OP_SIGNAL, 0, 5);
        cmds[n++] = static_cast<uint32_t>(fence);
        cmds[n++] = static_cast<uint32_t>(fence >> 32);
        cmds[n++] = static_cast<uint32_t>(jobs + 1);
        cmds[n++] = 0;
        cmds[n++] = DRM_SIMGPU_CMD(DRM_SIMGPU_OP_BATCH_END, 0, 1);
        drm_simgpu_exec e{};
        e.exec_queue_id = qc.exec_queue_id;
        e.address = (jobs % 2) ? batch_va : bo_va_base;
        igt_assert_eq(::ioctl(fd, DRM_IOCTL_SIMGPU_EXEC, &e), 0);
        (void)bind(DRM_SIMGPU_VM_BIND_OP_PREFETCH, 0, 0, base, size, DRM_SIMGPU_MEM_VRAM);
        drm_simgpu_wait_user_fence w{};
        w.addr = fence;
        w.op = DRM_SIMGPU_CMP_EQ;
        w.value = jobs + 1;
        w.mask = ~uint64_t{0};
        w.timeout_ns = 5'000'000'000LL;
        w.exec_queue_id = qc.exec_queue_id;
        (void)::ioctl(fd, DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, &w);
        ++jobs;
    }
    stop = true;
    poller.join();
    igt_info("%" PRIu64 " jobs, %" PRIu64 " polling waits\n", jobs, polls.load());
    ::munmap(batch, bc.size);
    ::munmap(raw, size + 2 * MiB);
    ::close(fd);
}

} // namespace

int main(int argc, char** argv)
{
    // --seed N and --seconds N are ours; the rest goes to the harness.
    std::vector<char*> args;
    bool listing = false;
    if (const char* s = std::getenv("SIMGPU_FUZZ_SEED"))
        config.seed = std::strtoull(s, nullptr, 0);
    if (const char* s = std::getenv("SIMGPU_FUZZ_SECONDS"))
        config.seconds = std::strtod(s, nullptr);
    if (const char* s = std::getenv("SIMGPU_FUZZ_KNOWN_BUGS"))
        config.known_bugs = std::strcmp(s, "1") == 0;
    for (int i = 0; i < argc; ++i) {
        const std::string_view a = argv[i];
        if ((a == "--seed" || a == "--seconds") && i + 1 < argc) {
            if (a == "--seed")
                config.seed = std::strtoull(argv[++i], nullptr, 0);
            else
                config.seconds = std::strtod(argv[++i], nullptr);
            continue;
        }
        if (a == "--list-subtests" || a == "--describe" || a.starts_with("--describe="))
            listing = true;
        args.push_back(argv[i]);
    }
    args.push_back(nullptr);

    igt::Test t(static_cast<int>(args.size()) - 1, args.data());
    if (!listing) {
        std::printf("simgpu_fuzz: seed %#" PRIx64 ", %s\n", config.seed,
                    long_mode() ? ("long mode, " + std::to_string(config.seconds) + " s a subtest").c_str()
                                : "short pass");
        std::fflush(stdout);
    }
    // Each subtest runs for SIMGPU_FUZZ_SECONDS in the long mode; jobs
    // may run on for a job timeout after.
    t.set_timeout(std::chrono::milliseconds(
        static_cast<int64_t>((long_mode() ? config.seconds + 180 : 120) * 1000)));

    for (const auto& f : families())
        t.subtest(f.name, f.description, [&f] { run_family(f); });
    t.subtest("multi-process", "processes of their own seeds and files fuzz every call at once",
              multi_process);
    t.subtest("fork-shares-handles",
              "a forked child shares the handle space: a handle it recreates is the parent's",
              fork_shares_handles);
    t.subtest("wait-fence-in-vram",
              "WAIT_USER_FENCE on a fence that GPU faults migrate to VRAM, without a kernel BUG",
              wait_fence_in_vram);
    t.subtest("syncobj-huge-count",
              "SYNCOBJ_WAIT/SIGNAL of 1 << 19 handles and more without a WARN (known bug, opt-in)",
              syncobj_huge_count);
    t.subtest("gem-create-oom",
              "an object beyond a memory cgroup's limit fails with ENOMEM and kills nothing",
              gem_create_oom);

    const int rc = t.exit_code();
    if (long_mode() && !listing)
        totals.print("fuzz-total:");
    return rc;
}
