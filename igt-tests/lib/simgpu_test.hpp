// SPDX-License-Identifier: MIT
//
// Helpers shared by the simgpu IGT tests that run jobs: the device, GPU
// virtual address allocation, buffers mapped for both CPU and GPU, and jobs
// submitted and waited for with the right kind of fence for their VM.
// Everything asserts through the igt_* macros, so use it only in fixtures
// and subtests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <drm/simgpu_drm.h>

#include "igt.hpp"
#include "simgpu/batch.hpp"
#include "simgpu/bo.hpp"
#include "simgpu/procfs.hpp"
#include "simgpu/device.hpp"
#include "simgpu/exec_queue.hpp"
#include "simgpu/sync.hpp"
#include "simgpu/vm.hpp"

namespace simgpu_test {

using simgpu::BatchBuilder;
using simgpu::Bo;
using simgpu::Device;
using simgpu::ExecQueue;
using simgpu::Mapping;
using simgpu::Syncobj;
using simgpu::Vm;

inline constexpr uint64_t KiB = uint64_t{1} << 10;
inline constexpr uint64_t MiB = uint64_t{1} << 20;
inline constexpr uint64_t page_size = DRM_SIMGPU_PAGE_SIZE;
inline constexpr int64_t ms_ns = 1'000'000;
inline constexpr int64_t sec_ns = 1'000'000'000;
// How long a job that should complete may take (TCG guests are slow).
inline constexpr int64_t job_timeout_ns = 60 * sec_ns;

inline constexpr uint64_t round_up(uint64_t v, uint64_t align) { return (v + align - 1) / align * align; }

// A device with its answers.
struct Env {
    Device dev;
    drm_simgpu_query_device info{};
    std::vector<drm_simgpu_engine_info> engines;

    bool has_cap(uint64_t cap) const { return (info.caps & cap) == cap; }
    bool fault_mode() const { return has_cap(DRM_SIMGPU_CAP_FAULT_MODE); }
    // Instances of @engine_class, in query order.
    std::vector<uint16_t> instances(uint16_t engine_class) const;
    uint16_t num_compute() const;
};

// Opens device 0 (igt_require: one exists).
Env open_env();
// Opens every simgpu device, in device_id order (igt_require: one exists).
std::vector<Env> open_envs();

// A fresh GPU VA range of @size bytes aligned to @align, never handed out
// before in this process (so it is unmapped in every VM), with an unmapped
// guard page after it. Starts at 0x100000000.
uint64_t alloc_va(uint64_t size, uint64_t align = page_size);

// Creates VMs and queues, asserting success.
Vm make_vm(const Env& env, uint32_t flags = 0);
// Skips when the device has no fault mode.
Vm make_fault_vm(const Env& env);
ExecQueue make_queue(const Env& env, const Vm& vm,
                     uint16_t engine_class = DRM_SIMGPU_ENGINE_CLASS_COMPUTE, uint16_t instance = 0);
// A fault-mode VM of @dev mirroring the whole user address space of the
// calling process. Skips when the device cannot mirror.
Vm make_mirror_vm(const Env& env);
Vm make_mirror_vm(const Device& dev, const drm_simgpu_query_device& info);

// The "name value" lines of debugfs file @file (say "simgpu_svm") of
// device @device (the index of its simgpu primary minor, which is its
// device_id), or nullopt when debugfs, the device or the file is not there.
std::optional<std::map<std::string, uint64_t>> read_debugfs_counters(const std::string& file,
                                                                   uint32_t device = 0);

// A buffer object with its CPU mapping and its GPU mapping at @va.
struct GpuBuffer {
    Bo bo;
    Mapping map;
    uint64_t va = 0;
    uint64_t size = 0;

    template <typename T>
    T* as() const
    {
        return map.as<T>();
    }
    std::byte* bytes() const { return map.bytes(); }
    uint64_t gpu(uint64_t offset = 0) const { return va + offset; }
};

// A BO of @size bytes (rounded up to a page) in @placement, mapped for the
// CPU and in @vm at @va (0: a fresh alloc_va()) with @flags.
GpuBuffer make_buffer(const Vm& vm, uint64_t size, uint32_t placement = DRM_SIMGPU_MEM_SYSTEM,
                      uint64_t va = 0, uint32_t flags = 0);
// A BO and its CPU mapping, not mapped in any VM.
GpuBuffer make_unbound(const Device& dev, uint64_t size, uint32_t placement = DRM_SIMGPU_MEM_SYSTEM);

// How a job ended.
struct JobResult {
    // The job's error: from the syncobj fence in a VM without fault mode,
    // else the queue's error when its jobs_failed count grew; 0 on success.
    int error = 0;
    // VM without fault mode: the out-fence's sync_file status (1, or the
    // negative error). Fault mode: 1 when the user fence was written, else 0.
    int fence_status = 0;
    drm_simgpu_exec_queue_state state{};
};

// A submitted job. Its batch lives in its own BO (mapped in the VM at a
// fresh VA) that also holds the user fence of fault-mode queues; queues of
// other VMs get a syncobj out-fence.
class Job {
public:
    // Copies @batch into a new BO and execs it on @queue.
    static Job submit(const Vm& vm, const ExecQueue& queue, const BatchBuilder& batch);
    // Execs the batch already mapped at @batch_va.
    static Job submit_at(const Vm& vm, const ExecQueue& queue, uint64_t batch_va);

    Job(Job&&) noexcept = default;
    Job& operator=(Job&&) noexcept = default;
    ~Job();

    // Waits up to @timeout_ns for the job to end, successfully or not.
    bool wait(int64_t timeout_ns);
    // Whether the job has ended, without waiting.
    bool done() { return wait(0); }
    // Waits for the end (asserting it comes within @timeout_ns) and
    // collects the outcome.
    JobResult result(int64_t timeout_ns = job_timeout_ns);

    uint64_t batch_va() const { return batch_va_; }
    // The GPU VA and CPU address of the fault-mode user fence.
    uint64_t fence_va() const { return batch_va_ + fence_offset_; }
    const uint64_t* fence_cpu() const { return map_.as<uint64_t>() + fence_offset_ / 8; }
    uint64_t fence_value() const { return fence_value_; }
    // jobs_submitted of the queue once this job was queued.
    uint64_t index() const { return index_; }

private:
    Job(const Vm& vm, const ExecQueue& queue, uint64_t batch_bytes);
    void exec(uint64_t batch_va);
    bool counted_complete(drm_simgpu_exec_queue_state* state = nullptr) const;

    const Vm* vm_ = nullptr;
    const ExecQueue* queue_ = nullptr;
    Bo bo_;
    Mapping map_;
    uint64_t bo_va_ = 0;
    uint64_t batch_va_ = 0;
    uint64_t fence_offset_ = 0;
    uint64_t fence_value_ = 0;
    std::optional<Syncobj> syncobj_;
    uint64_t index_ = 0;
    uint64_t failed_before_ = 0;
    bool ended_ = false;
};

// Submits @batch and waits for it (asserting it ends within @timeout_ns).
JobResult run_batch(const Vm& vm, const ExecQueue& queue, const BatchBuilder& batch,
                    int64_t timeout_ns = job_timeout_ns);

// Asserts the job succeeded: no error, fence signalled cleanly.
void assert_job_ok(const JobResult& r);
// Asserts the job failed with -@err: in the fence (VM without fault mode),
// the queue's error and its failure count.
void assert_job_failed(const JobResult& r, int err, bool syncobj_fence);

// The status of @syncobj's fence (asserting it can be read): 1 signalled,
// 0 pending, negative: the error it signalled with.
int fence_status(const Syncobj& syncobj);

// Asserts the queue's state.
drm_simgpu_exec_queue_state queue_state(const ExecQueue& queue);

// A short job that writes a qword and checks it: the queue still works.
void assert_queue_works(const Vm& vm, const ExecQueue& queue);

// Milliseconds since @start.
double elapsed_ms(int64_t start_ns);
int64_t now_ns();

// Writes a module parameter; returns false when it cannot be written.
bool write_param(const std::string& name, const std::string& value);
std::optional<std::string> read_param(const std::string& name);

// Restores a module parameter to @old when it goes out of scope.
class ParamRestorer {
public:
    ParamRestorer(std::string name, std::string old) : name_(std::move(name)), old_(std::move(old)) {}
    ~ParamRestorer();
    ParamRestorer(const ParamRestorer&) = delete;
    ParamRestorer& operator=(const ParamRestorer&) = delete;

private:
    std::string name_;
    std::string old_;
};

// The whole content of a (small) file, empty when it cannot be read.
std::string read_file(const std::string& path);
// Writes @value with one write(2), as sysfs wants it; false with errno set
// when it could not.
bool write_file(const std::string& path, const std::string& value);

using simgpu::anon_huge_kb;

// A file descriptor, closed on destruction.
struct FileFd {
    int fd;
    explicit FileFd(int f) : fd(f) {}
    ~FileFd();
    FileFd(const FileFd&) = delete;
    FileFd& operator=(const FileFd&) = delete;
};

} // namespace simgpu_test
