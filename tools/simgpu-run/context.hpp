// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "simgpu/batch.hpp"
#include "simgpu/device.hpp"
#include "simgpu/result.hpp"
#include "simgpu/vm.hpp"

namespace simgpu_run {

// Memory both sides reach: the CPU through @cpu, the GPU at @gpu.
struct Region {
    std::byte* cpu = nullptr;
    uint64_t gpu = 0;

    template <typename T>
    T* as() const noexcept
    {
        return reinterpret_cast<T*>(cpu);
    }
};

// Frees memory of malloc() and aligned_alloc(), for std::unique_ptr.
struct FreeDeleter {
    void operator()(void* p) const noexcept { std::free(p); }
};

// What one run needs on one device: a VM, a compute queue on it and the
// memory the run allocates. Everything is released together, the queue
// first, so no job outlives the memory it uses.
class Context {
public:
    virtual ~Context() = default;

    // @bytes of uninitialised memory, 8-byte aligned.
    virtual simgpu::Result<Region> alloc(size_t bytes) = 0;

    // One region per entry of @sizes, each 8-byte aligned: separate heap
    // blocks in svm mode, consecutive slices of one object in bo mode.
    virtual simgpu::Result<std::vector<Region>> alloc_nodes(std::span<const size_t> sizes) = 0;

    // Copies @batch to GPU memory and executes it; returns once the job is
    // queued. One job at a time: wait for it (run_all()) before the next.
    virtual simgpu::Result<void> submit(const simgpu::BatchBuilder& batch) = 0;

    // Readable once the submitted job ended: in bo mode the sync_file of
    // its out-fence (also when the job failed), in svm mode the eventfd of
    // its user fence (only when the job succeeded).
    virtual int done_fd() const = 0;

    // Whether the submitted job completed: true once it succeeded, false
    // while it runs; once it failed, an Error with the queue's error (and
    // the fault address of a page fault).
    virtual simgpu::Result<bool> done() = 0;

    // The VM the context's jobs run in.
    virtual const simgpu::Vm& vm() const = 0;
};

// Submits @batches[i] in @contexts[i], all at once, and waits for every
// job through one Waiter on their done_fd()s rather than with a thread or
// a blocking wait per job. Per job: the wall time of exec + wait in
// milliseconds, or why it failed.
std::vector<simgpu::Result<double>> run_all(std::span<Context* const> contexts,
                                            std::span<const simgpu::BatchBuilder> batches);

// Buffer objects of @placement (DRM_SIMGPU_MEM_*) in a dma-fence VM.
simgpu::Result<std::unique_ptr<Context>> make_bo_context(const simgpu::Device& dev,
                                                         uint32_t placement);

// Heap memory of this process, mirrored by a fault-mode VM.
simgpu::Result<std::unique_ptr<Context>> make_svm_context(const simgpu::Device& dev);

} // namespace simgpu_run
