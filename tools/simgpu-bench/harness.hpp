// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "simgpu/batch.hpp"
#include "simgpu/counters.hpp"
#include "util.hpp"
#include "simgpu/device.hpp"
#include "simgpu/exec_queue.hpp"
#include "simgpu/vm.hpp"
#include "simgpu/waiter.hpp"

namespace simgpu_bench {

// A GPU job that failed (queue error, fault address), a wrong result or a
// failed ioctl: ends the run with a non-zero exit.
class BenchError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline double now_s()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Fresh anonymous memory of @size bytes (page-rounded), 2 MiB aligned, in a
// VMA of its own: it sits between PROT_NONE guards, so it never merges with
// a neighbour and SVM ranges (2 MiB / 64 KiB / 4 KiB, bounded by the VMA)
// cover this buffer only. Never touched until the caller does. Unmapped on
// destruction. Move-only.
class Buffer {
public:
    explicit Buffer(uint64_t size);
    ~Buffer();
    Buffer(Buffer&& other) noexcept;
    Buffer& operator=(Buffer&&) = delete;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    std::byte* data() const noexcept { return data_; }
    uint64_t gpu() const noexcept { return reinterpret_cast<uintptr_t>(data_); }
    uint64_t size() const noexcept { return size_; }

    // munmap()s the buffer itself (not the guards) now; the time it took in
    // seconds.
    double unmap_data();

private:
    std::byte* reserve_ = nullptr;
    uint64_t reserve_size_ = 0;
    std::byte* data_ = nullptr;
    uint64_t size_ = 0;
    bool data_mapped_ = false;
};

// A fault-mode VM on one device mirroring this whole process.
struct Gpu {
    Gpu(const simgpu::Device& dev, uint32_t index);
    const simgpu::Device& dev;
    uint32_t index;
    simgpu::Vm vm;
    uint32_t compute_engines = 1;
    uint64_t caps = 0;      // DRM_SIMGPU_CAP_*
    uint64_t vram_size = 0; // bytes

    bool vram_migration() const { return caps & DRM_SIMGPU_CAP_VRAM_MIGRATION; }
    bool atomic_hold() const { return caps & DRM_SIMGPU_CAP_ATOMIC_HOLD; }

    // VM_BIND PREFETCH of [@addr, @addr + @size) to @region
    // (DRM_SIMGPU_MEM_*); the wall time of the ioctl in seconds.
    double prefetch(uint64_t addr, uint64_t size, uint32_t region) const;
    // VM_MADVISE of attribute @attr (DRM_SIMGPU_MADV_*) of [@addr,
    // @addr + @size) set to @value.
    void madvise(uint64_t addr, uint64_t size, uint32_t attr, uint32_t value) const;
    // VM_MADVISE PREFERRED_LOC of [@addr, @addr + @size) set to @loc
    // (DRM_SIMGPU_MADV_LOC_SYSTEM or _DEFAULT).
    void prefer(uint64_t addr, uint64_t size, uint32_t loc) const;
    // How many of the @size / 4 KiB pages from @addr the GPU maps in VRAM.
    uint64_t vram_pages(uint64_t addr, uint64_t size) const;
};

// An exec queue on a compute engine of @gpu with its own control memory
// (batch and user fence), GPU-mapped before the first measured job so that
// timings see only the faults of the data.
class Queue {
public:
    Queue(Gpu& gpu, uint16_t instance);

    // Executes @batch (BATCH_END appended by the caller) and waits for it;
    // the wall time of exec + wait in seconds. Throws BenchError with the
    // queue's error and fault address when the job fails.
    double run(const simgpu::BatchBuilder& batch);

    // Executes @batch and returns at once: its user fence signals
    // done_fd() once written. One job at a time: wait for it (run_all())
    // before the next.
    void submit(const simgpu::BatchBuilder& batch);
    // An eventfd, readable once the submitted job completed successfully.
    int done_fd() const { return done_.fd(); }
    // After done_fd() became readable: resets it and checks the fence.
    void complete();
    // Throws BenchError with the queue's error when a job of the queue
    // failed.
    void check_failed() const;

    Gpu& gpu() { return gpu_; }

private:
    // "device D, exec queue Q: "
    std::string name() const;
    // "job failed: ..." from the queue state, or empty when no job failed.
    std::string failure() const;

    Gpu& gpu_;
    // Declared before the queue: unmapped after it is destroyed.
    Buffer control_;
    simgpu::ExecQueue queue_;
    simgpu::EventFd done_;
    uint64_t seq_ = 0;
};

// Submits @batches[i] on @queues[i], all at once, and waits for every job
// through one Waiter on their done_fd()s, not with a thread or a blocking
// wait per job; now_s() when each job's completion was seen. Throws
// BenchError when a job fails or they do not all complete within 120 s.
std::vector<double> run_all(std::span<Queue* const> queues,
                            std::span<const simgpu::BatchBuilder> batches);

// Deltas of the VRAM migration counters of simgpu_svm.
struct MigrationDelta {
    uint64_t to_vram_pages = 0;  // migrate_to_vram_pages
    uint64_t to_ram_pages = 0;   // migrate_to_ram_pages (CPU faults, PREFETCH to system)
    uint64_t to_ram_chunks = 0;  // migrate_to_ram_chunks
    uint64_t evictions = 0;      // chunks evicted
    uint64_t evicted_pages = 0;
    uint64_t fallbacks = 0;      // migrate_fallbacks: faults that mapped system memory instead
    uint64_t to_vram_thp = 0;    // migrate_to_vram_thp: 2 MiB compound device folios in
    uint64_t to_ram_thp = 0;     // migrate_to_ram_thp: and back whole

    MigrationDelta& operator+=(const MigrationDelta& o);
};

// Deltas of some device counters; absent when debugfs cannot be read.
struct CounterDelta {
    uint64_t faults = 0;
    uint64_t pages_faulted = 0;
    uint64_t ranges_created = 0;
    uint64_t invalidations = 0;
    // Absent for a module without the migration counters.
    std::optional<MigrationDelta> migration;
    // Pages GPU atomic faults took exclusive (make_device_exclusive_range);
    // absent for a module without the counter.
    std::optional<uint64_t> exclusive_pages;
    // Nanoseconds the faults spent in each stage (fault_stages); absent
    // for a module that does not time them.
    std::optional<StageNs> stage_ns;

    CounterDelta& operator+=(const CounterDelta& o);
};

struct CounterSum;

// Reads the counters of one device, if debugfs lets us.
class CounterReader {
public:
    explicit CounterReader(uint32_t device_index);
    bool available() const { return dir_.has_value(); }
    const std::string& why_not() const { return why_not_; }

    // A snapshot; nullopt when unavailable.
    std::optional<simgpu::Counters> snapshot() const;
    static std::optional<CounterDelta> delta(const std::optional<simgpu::Counters>& before,
                                             const std::optional<simgpu::Counters>& after);

    // Runs @measure (which returns its own timing) between two snapshots
    // and adds the counter delta to @sum.
    template <typename F>
    double measured(CounterSum& sum, F&& measure) const;

private:
    std::optional<std::filesystem::path> dir_;
    std::string why_not_;
};

// Sums counter deltas over the samples of one measurement; absent once a
// sample had none (and before the first).
struct CounterSum {
    std::optional<CounterDelta> total;
    void add(const std::optional<CounterDelta>& d)
    {
        if (broken_)
            return;
        if (!d) {
            broken_ = true;
            total.reset();
        } else if (!total) {
            total = d;
        } else {
            *total += *d;
        }
    }

private:
    bool broken_ = false;
};

template <typename F>
double CounterReader::measured(CounterSum& sum, F&& measure) const
{
    const auto before = snapshot();
    const double t = measure();
    sum.add(delta(before, snapshot()));
    return t;
}

// Fills @size bytes at @p with a pattern derived from @seed (CPU writes).
void cpu_fill(std::byte* p, uint64_t size, uint32_t seed);

// Reads the first dword of every 4 KiB page of @size bytes at @p (a CPU
// touch of each page) and checks it against cpu_fill()'s pattern of @seed;
// the number of pages that differ.
uint64_t cpu_touch(const std::byte* p, uint64_t size, uint32_t seed);

// Counter @name of the device counters (read_device_counters() names),
// when @reader can read it.
std::optional<uint64_t> read_counter(const CounterReader& reader, const char* name);

} // namespace simgpu_bench
