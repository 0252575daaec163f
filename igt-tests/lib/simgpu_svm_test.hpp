// SPDX-License-Identifier: MIT
//
// Helpers of the tests of shared virtual memory in VRAM and across devices
// (simgpu_svm_migrate, simgpu_svm_evict, simgpu_madvise, simgpu_multi_gpu):
// data patterns, aligned CPU memory, a mirror VM with a queue whose
// batches, argument blocks and user fences all live in buffer objects (so
// the GPU touches no SVM memory but the memory under test, and the
// migration counters count only that), page placement from VM_QUERY_RANGE,
// the debugfs counters of migration and VRAM use of each device, and
// forked children.
//
// The pattern functions, map_aligned() and SvmGpu use no igt_* macro, so
// forked children may call them (an assertion would throw into the
// harness of the child); everything else asserts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/types.h>

#include <drm/simgpu_drm.h>

#include "simgpu_test.hpp"

namespace simgpu_test::svm {

inline constexpr uint64_t chunk_2m = 2 * MiB;
inline constexpr uint32_t page_device_mask = 0xffu << DRM_SIMGPU_PAGE_DEVICE_SHIFT;

inline uint64_t va(const void* p)
{
    return reinterpret_cast<uintptr_t>(p);
}

// ---------------------------------------------------------------------------
// Data. Words are 32-bit; word i of a pattern depends on the seed and i only.

// Never 0, so zeros never pass for data.
uint32_t pattern(uint32_t seed, uint64_t i);

// Words [first, first + bytes / 4) of the pattern of @seed at @p.
void fill_words(void* p, uint64_t bytes, uint32_t seed, uint64_t first = 0);

// Asserts the words at @p are that pattern.
void check_words(const void* p, uint64_t bytes, uint32_t seed, const char* what,
                 uint64_t first = 0);
// Asserts every word at @p is @value.
void check_value(const void* p, uint64_t bytes, uint32_t value, const char* what);

// Word @i of memory the CPU filled with the pattern of @seed (nullopt:
// never written, zeros) after the GPU added the increments of each of
// @incs (SvmGpu::add_inc() over a span starting at word 0).
uint32_t expected_word(std::optional<uint32_t> seed, std::span<const uint32_t> incs, uint64_t i);
// Index of the first word of [@p, @p + @bytes), word @first of the span,
// that is not expected_word(), or UINT64_MAX. No igt macro.
uint64_t first_wrong_word(const void* p, uint64_t bytes, std::optional<uint32_t> seed,
                          std::span<const uint32_t> incs, uint64_t first = 0);
// Asserts there is none.
void check_added(const void* p, uint64_t bytes, std::optional<uint32_t> seed,
                 std::span<const uint32_t> incs, const char* what, uint64_t first = 0);
inline void check_added(const void* p, uint64_t bytes, std::optional<uint32_t> seed,
                        std::initializer_list<uint32_t> incs, const char* what, uint64_t first = 0)
{
    check_added(p, bytes, seed, std::span<const uint32_t>(incs.begin(), incs.size()), what, first);
}

// ---------------------------------------------------------------------------
// Memory.

enum class Thp {
    off, // MADV_NOHUGEPAGE: small pages, whatever the system's THP setting
    on,  // MADV_HUGEPAGE
    any, // no advice
};

inline constexpr const char* thp_enabled_path = "/sys/kernel/mm/transparent_hugepage/enabled";

// Sets transparent_hugepage/enabled to a mode and restores the old one on
// destruction. Skips when the file is absent or cannot be written.
class ThpMode {
public:
    explicit ThpMode(const char* mode);
    ~ThpMode();
    ThpMode(const ThpMode&) = delete;
    ThpMode& operator=(const ThpMode&) = delete;

private:
    static bool write(const char* mode);

    std::string old_;
    bool armed_ = false;
};

// mmap(2)s @size bytes aligned to @align (the VMA is exactly that span: a
// PROT_NONE reservation is trimmed around it) with @prot, @flags (MAP_FIXED
// is added) and @fd, advised by @thp for private anonymous memory. nullptr
// on failure, with errno set. No igt macro.
std::byte* map_aligned(uint64_t size, uint64_t align = chunk_2m, int prot = PROT_READ | PROT_WRITE,
                       int flags = MAP_PRIVATE | MAP_ANONYMOUS, int fd = -1, Thp thp = Thp::off);

// map_aligned() memory, unmapped on destruction (munmap of holes is
// harmless).
class Area {
public:
    explicit Area(uint64_t size, Thp thp = Thp::off, int prot = PROT_READ | PROT_WRITE,
                  int flags = MAP_PRIVATE | MAP_ANONYMOUS, int fd = -1, uint64_t align = chunk_2m);
    ~Area();
    Area(const Area&) = delete;
    Area& operator=(const Area&) = delete;

    std::byte* data() const { return p_; }
    std::byte* at(uint64_t offset) const { return p_ + offset; }
    uint32_t* words() const { return reinterpret_cast<uint32_t*>(p_); }
    uint64_t size() const { return size_; }
    // munmap()s now.
    void reset();

private:
    std::byte* p_ = nullptr;
    uint64_t size_ = 0;
};

// ---------------------------------------------------------------------------
// Debugfs counters of device @device (device_id), 0 by default.

using Counters = std::map<std::string, uint64_t>;

// simgpu_svm with its migration lines; skips when debugfs cannot be read,
// fails when a migration line is missing.
Counters svm_counters(uint32_t device = 0);
// simgpu_stats (faults, ...).
Counters stats_counters(uint32_t device = 0);
// simgpu_vram: size, used, used_bo, used_svm (bytes).
Counters vram_counters(uint32_t device = 0);

// @after[@key] - @before[@key], asserting the counter did not go back.
uint64_t delta(const Counters& before, const Counters& after, const std::string& key);

// used_svm of device @device.
uint64_t used_svm(uint32_t device = 0);
// Polls used_svm (freeing VRAM behind pages is deferred to a worker) until
// it is at most @limit or @timeout_ms passed; returns the last value.
uint64_t wait_used_svm_at_most(uint64_t limit, uint32_t device = 0, int timeout_ms = 10000);
// used_svm once it reached 0 or stopped changing for a second (at most
// @timeout_ms): the baseline of a test.
uint64_t settled_used_svm(uint32_t device = 0, int timeout_ms = 10000);

// Prints the migration counters' changes.
void info_deltas(const char* what, const Counters& before, const Counters& after);

// ---------------------------------------------------------------------------
// Placement.

// DRM_SIMGPU_PAGE_* of the pages of [@p, @p + @bytes).
std::vector<uint32_t> query(const Vm& vm, const void* p, uint64_t bytes);
// What a page in the VRAM of device @device_id reports under
// MAPPED | VRAM | the device bits.
constexpr uint32_t in_vram(uint32_t device_id)
{
    return DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_VRAM | (device_id << DRM_SIMGPU_PAGE_DEVICE_SHIFT);
}
// Pages whose flags show VRAM.
uint64_t count_vram(const std::vector<uint32_t>& pages);

// Every page of the span is mapped in the VRAM of device @device_id.
void assert_in_vram(const Vm& vm, uint32_t device_id, const void* p, uint64_t bytes,
                    const char* what);
// No page of the span is in VRAM (mapped or not).
void assert_not_in_vram(const Vm& vm, const void* p, uint64_t bytes, const char* what);
// Every page of the span is mapped, in system memory.
void assert_in_system(const Vm& vm, const void* p, uint64_t bytes, const char* what);
// No page of the span is mapped on the GPU.
void assert_unmapped(const Vm& vm, const void* p, uint64_t bytes, const char* what);
// Every page of the span is mapped by a 2 MiB entry.
void assert_huge(const Vm& vm, const void* p, uint64_t bytes, const char* what);

// ---------------------------------------------------------------------------
// The GPU side. No igt macro: usable in forked children.

struct JobOutcome {
    int error = 0;      // 0, or the job's -errno
    bool fence = false; // the user fence was written
    drm_simgpu_exec_queue_state state{};
};

// A fault-mode VM of a device mirroring the whole address space of the
// calling process, a compute queue on it, a control BO (batch, argument
// blocks, user fence) and a 2 MiB BO of increments, both in system memory
// and mapped at fresh GPU VAs. Runs one job at a time.
class SvmGpu {
public:
    static constexpr uint64_t inc_bytes = 2 * MiB;
    static constexpr uint64_t inc_words = inc_bytes / 4;

    SvmGpu() = default;
    SvmGpu(const SvmGpu&) = delete;
    SvmGpu& operator=(const SvmGpu&) = delete;

    // 0 or the errno of what failed.
    int init(const simgpu::Device& dev, uint16_t compute_instance = 0);

    const simgpu::Device& device() const { return *dev_; }
    const Vm& vm() const { return vm_; }
    const ExecQueue& queue() const { return queue_; }

    // Writes increment j = inc_value(@seed, j) into the increments BO; the
    // next add_inc() jobs use them.
    void set_inc(uint32_t seed);
    static uint32_t inc_value(uint32_t seed, uint64_t word) { return pattern(seed ^ 0x1ac0ffeeu, word % inc_words); }

    // Appends to @b a LAUNCH of built-in kernel @kernel (DRM_SIMGPU_KERNEL_*)
    // whose argument block, @size bytes at @args, is copied into the
    // control BO, in workgroups of @workgroup elements. False when the
    // argument blocks of one job ran out.
    bool launch(BatchBuilder& b, uint32_t kernel, const void* args, size_t size,
                uint32_t workgroup = 0);

    // Appends to @b LAUNCHes of KERNEL_ADD adding increment i % inc_words
    // to word i of [@gpu_addr, @gpu_addr + @bytes) in place: the GPU reads
    // and writes every word. False when the argument blocks of one job ran
    // out.
    bool add_inc(BatchBuilder& b, uint64_t gpu_addr, uint64_t bytes);
    bool add_inc(BatchBuilder& b, const void* p, uint64_t bytes) { return add_inc(b, va(p), bytes); }

    // Submits @b and waits up to @timeout_ns: 0 when the job succeeded,
    // its -errno when it failed, or an ioctl's -errno (-ETIME: still
    // running; the context is then unusable). @out gets the details.
    int run(const BatchBuilder& b, int64_t timeout_ns = job_timeout_ns, JobOutcome* out = nullptr);

    // After run() gave up on a job it submitted (an ioctl failed: -ENODEV
    // once the device is unplugged), waits up to @timeout_ns for the job's
    // user fence, reading memory only. 1 when that job completed, 0 when
    // run() left none behind, -ETIME.
    int finish(int64_t timeout_ns);

private:
    uint64_t arg_block(const void* data, size_t size);

    const simgpu::Device* dev_ = nullptr;
    Vm vm_;
    ExecQueue queue_;
    simgpu::Bo ctl_bo_;
    simgpu::Mapping ctl_map_;
    uint64_t ctl_va_ = 0;
    simgpu::Bo inc_bo_;
    simgpu::Mapping inc_map_;
    uint64_t inc_va_ = 0;
    uint64_t args_used_ = 0;
    uint64_t pending_ = 0; // the fence value of a job run() gave up on
    bool broken_ = false;
};

// The CPU's turn of a ping-pong over @w: each word must hold @shadow plus
// the GPU's increment @inc (SvmGpu::inc_value()); then every eighth word,
// from @round % 8, changes, and @shadow follows.
void cpu_turn(volatile uint32_t* w, std::vector<uint32_t>& shadow, uint32_t inc, int round);

// Asserting wrappers for the test process.

// Skips unless the device can migrate mirrored memory to VRAM.
void require_vram_migration(const Env& env);

// The SVM core simgpu runs on is the kernel's (svm_core=kernel: drm_gpusvm and
// drm_pagemap) rather than simgpu's own.
bool kernel_svm();

// Skips unless a GPU atomic can hold a system page exclusive on the
// device (DRM_SIMGPU_CAP_ATOMIC_HOLD: MADVISE ATOMIC_DEVICE and
// ATOMIC_GLOBAL).
void require_atomic_hold(const Env& env);
void start_gpu(SvmGpu& gpu, const Env& env);
void run_ok(SvmGpu& gpu, const BatchBuilder& b, int64_t timeout_ns = job_timeout_ns);
// The job fails with -EFAULT at exactly @fault_addr.
void run_fault(SvmGpu& gpu, const BatchBuilder& b, uint64_t fault_addr);
// The GPU adds the increments of @inc_seed to every word of [@p, @p +
// @bytes), @per_job bytes (a multiple of inc_bytes) per job.
void gpu_add(SvmGpu& gpu, const void* p, uint64_t bytes, uint32_t inc_seed,
             uint64_t per_job = 4 * MiB);
// The GPU copies [@src, @src + @bytes) into a new system BO (filled with
// 0xa5 first): what the GPU reads there.
GpuBuffer gpu_read(SvmGpu& gpu, const void* src, uint64_t bytes);

// ---------------------------------------------------------------------------
// Forked children: they report through their exit code.

// Waits up to @timeout_ms for @pid: its wait status, or -1 after killing it.
int wait_child(pid_t pid, int timeout_ms);
void assert_child_ok(pid_t pid, int timeout_ms, const char* what);

// A pipe, both ends closed on destruction.
struct Pipe {
    int rd = -1;
    int wr = -1;
    Pipe();
    ~Pipe();
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;

    bool send(char c) const;
    // False on error or after @timeout_ms.
    bool recv(char* c, int timeout_ms = 60000) const;
};

} // namespace simgpu_test::svm
