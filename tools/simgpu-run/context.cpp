// SPDX-License-Identifier: MIT
#include "context.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include <drm/simgpu_drm.h>

#include "simgpu/bo.hpp"
#include "simgpu/exec_queue.hpp"
#include "simgpu/fd.hpp"
#include "simgpu/sync.hpp"
#include "simgpu/waiter.hpp"

namespace simgpu_run {
namespace {

using simgpu::Error;
using simgpu::Result;

constexpr uint64_t page_size = DRM_SIMGPU_PAGE_SIZE;
// Generous: the engine itself ends a job after job_timeout_ms (5 s).
constexpr double wait_timeout_ms = 60'000;
// A failed svm job signals no eventfd: between Waiter slices of this
// length every job still running is asked whether it failed.
constexpr int64_t wait_slice_ns = 100'000'000;

constexpr uint64_t page_align(uint64_t bytes)
{
    return (bytes + page_size - 1) & ~(page_size - 1);
}

constexpr size_t align8(size_t bytes)
{
    return (bytes + 7) & ~size_t{7};
}

class Stopwatch {
public:
    double ms() const
    {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
            .count();
    }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// What the queue state's error of a failed job means (the uAPI's list).
std::string job_error_meaning(int error, uint64_t fault_addr)
{
    char text[64];
    switch (error) {
    case -EFAULT:
        std::snprintf(text, sizeof(text), "GPU page fault at 0x%llx",
                      static_cast<unsigned long long>(fault_addr));
        return text;
    case -EILSEQ:
        return "invalid command (EILSEQ)";
    case -ETIMEDOUT:
        return "ran longer than the job timeout (ETIMEDOUT)";
    case -ECANCELED:
        return "cancelled (ECANCELED)";
    default:
        return "error " + std::to_string(error);
    }
}

// The error of a job that ended badly, from its queue's state.
Error job_error(const simgpu::ExecQueue& queue, const Error& fallback)
{
    auto state = queue.state();
    if (!state.ok())
        return state.error();
    const drm_simgpu_exec_queue_state& s = state.value();
    if (s.error == 0)
        return fallback;
    return Error{-s.error, "job failed on exec queue " + std::to_string(queue.id()) + ", " +
                               job_error_meaning(s.error, s.fault_addr)};
}

// Every allocation is its own buffer object, mapped at the next free GPU
// VA (with an unmapped page in between) and through mmap for the CPU.
class BoContext final : public Context {
public:
    BoContext(const simgpu::Device& dev, uint32_t placement, simgpu::Vm vm,
              simgpu::ExecQueue queue)
        : dev_(dev), placement_(placement), vm_(std::move(vm)), queue_(std::move(queue))
    {
    }

    Result<Region> alloc(size_t bytes) override
    {
        const uint64_t size = page_align(bytes);
        auto bo = simgpu::Bo::create(dev_, size, placement_);
        if (!bo.ok())
            return bo.error();
        auto mapping = bo.value().map();
        if (!mapping.ok())
            return mapping.error();
        if (auto r = vm_.map(bo.value(), next_va_, size); !r.ok())
            return r.error();

        const Region region{mapping.value().bytes(), next_va_};
        next_va_ += size + page_size;
        bos_.push_back(std::move(bo).value());
        mappings_.push_back(std::move(mapping).value());
        return region;
    }

    Result<std::vector<Region>> alloc_nodes(std::span<const size_t> sizes) override
    {
        size_t total = 0;
        for (const size_t size : sizes)
            total += align8(size);
        auto block = alloc(total);
        if (!block.ok())
            return block.error();

        std::vector<Region> nodes;
        nodes.reserve(sizes.size());
        size_t offset = 0;
        for (const size_t size : sizes) {
            nodes.push_back({block.value().cpu + offset, block.value().gpu + offset});
            offset += align8(size);
        }
        return nodes;
    }

    Result<void> submit(const simgpu::BatchBuilder& batch) override
    {
        auto memory = alloc(batch.size_bytes());
        if (!memory.ok())
            return memory.error();
        std::memcpy(memory.value().cpu, batch.dwords().data(), batch.size_bytes());
        auto done = simgpu::Syncobj::create(dev_);
        if (!done.ok())
            return done.error();
        const drm_simgpu_sync out = simgpu::syncobj_out(done.value().handle());
        if (auto r = queue_.exec(memory.value().gpu, {&out, 1}); !r.ok())
            return r.error();
        // EXEC attached the job's fence to the syncobj.
        auto sync_file = done.value().export_sync_file();
        if (!sync_file.ok())
            return sync_file.error();
        done_.emplace(std::move(done).value());
        sync_file_ = std::move(sync_file).value();
        return {};
    }

    int done_fd() const override { return sync_file_.get(); }

    Result<bool> done() override
    {
        auto status = done_->fence_status();
        if (!status.ok())
            return status.error();
        if (status.value() < 0)
            return job_error(queue_,
                             Error{-status.value(), "the job's out-fence signalled an error"});
        return status.value() == 1;
    }

    const simgpu::Vm& vm() const override { return vm_; }

private:
    const simgpu::Device& dev_;
    uint32_t placement_;
    uint64_t next_va_ = uint64_t{1} << 32;
    // Declared before the VM and the queue: destroyed after them.
    std::vector<simgpu::Bo> bos_;
    std::vector<simgpu::Mapping> mappings_;
    simgpu::Vm vm_;
    simgpu::ExecQueue queue_;
    // The submitted job's out-fence and its sync_file.
    std::optional<simgpu::Syncobj> done_;
    simgpu::Fd sync_file_;
};

// The GPU uses this process's pointers: allocations are plain malloc()
// memory, the batch an aligned_alloc() block, completion a user fence in a
// heap qword.
class SvmContext final : public Context {
public:
    SvmContext(const simgpu::Device& dev, simgpu::EventFd done, simgpu::Vm vm,
               simgpu::ExecQueue queue)
        : dev_(dev), done_(std::move(done)), vm_(std::move(vm)), queue_(std::move(queue))
    {
    }

    Result<Region> alloc(size_t bytes) override
    {
        return keep(std::malloc(bytes), "malloc");
    }

    Result<std::vector<Region>> alloc_nodes(std::span<const size_t> sizes) override
    {
        std::vector<Region> nodes;
        nodes.reserve(sizes.size());
        for (const size_t size : sizes) {
            auto node = alloc(size);
            if (!node.ok())
                return node.error();
            nodes.push_back(node.value());
        }
        return nodes;
    }

    Result<void> submit(const simgpu::BatchBuilder& batch) override
    {
        auto memory = keep(std::aligned_alloc(page_size, page_align(batch.size_bytes())),
                           "aligned_alloc of the batch");
        if (!memory.ok())
            return memory.error();
        std::memcpy(memory.value().cpu, batch.dwords().data(), batch.size_bytes());
        if (auto r = done_.take(); !r.ok())
            return r.error();
        auto state = queue_.state();
        if (!state.ok())
            return state.error();
        failed_before_ = state.value().jobs_failed;
        const drm_simgpu_sync out = simgpu::user_fence_out(fence_.get(), ++fence_value_, done_.fd());
        return queue_.exec(memory.value().gpu, {&out, 1});
    }

    int done_fd() const override { return done_.fd(); }

    Result<bool> done() override
    {
        if (*static_cast<volatile uint64_t*>(fence_.get()) == fence_value_)
            return true;
        auto state = queue_.state();
        if (!state.ok())
            return state.error();
        if (state.value().jobs_failed == failed_before_)
            return false;
        return job_error(queue_, Error{EIO, "a job of exec queue " + std::to_string(queue_.id()) +
                                                " failed"});
    }

    const simgpu::Vm& vm() const override { return vm_; }

private:
    Result<Region> keep(void* p, const char* what)
    {
        if (!p)
            return Error{ENOMEM, what};
        blocks_.emplace_back(p);
        auto* bytes = static_cast<std::byte*>(p);
        return Region{bytes, reinterpret_cast<uintptr_t>(bytes)};
    }

    const simgpu::Device& dev_;
    // Declared before the VM and the queue: freed after them.
    std::vector<std::unique_ptr<void, FreeDeleter>> blocks_;
    std::unique_ptr<uint64_t> fence_ = std::make_unique<uint64_t>(0);
    uint64_t fence_value_ = 0;
    // Signalled by the user fence; jobs_failed of the queue before the job.
    simgpu::EventFd done_;
    uint64_t failed_before_ = 0;
    simgpu::Vm vm_;
    simgpu::ExecQueue queue_;
};

} // namespace

Result<std::unique_ptr<Context>> make_bo_context(const simgpu::Device& dev, uint32_t placement)
{
    auto vm = simgpu::Vm::create(dev);
    if (!vm.ok())
        return vm.error();
    auto queue = simgpu::ExecQueue::create(dev, vm.value(), DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0);
    if (!queue.ok())
        return queue.error();
    return std::unique_ptr<Context>(std::make_unique<BoContext>(
        dev, placement, std::move(vm).value(), std::move(queue).value()));
}

Result<std::unique_ptr<Context>> make_svm_context(const simgpu::Device& dev)
{
    auto vm = simgpu::Vm::create(dev, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    if (!vm.ok())
        return vm.error();
    // [4 KiB, 128 TiB - 4 KiB): the whole user address space.
    if (auto r = vm.value().mirror(simgpu::mirror_all_start,
                                   simgpu::mirror_all_end - simgpu::mirror_all_start);
        !r.ok())
        return r.error();
    auto queue = simgpu::ExecQueue::create(dev, vm.value(), DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0);
    if (!queue.ok())
        return queue.error();
    auto done = simgpu::EventFd::create();
    if (!done.ok())
        return done.error();
    return std::unique_ptr<Context>(std::make_unique<SvmContext>(
        dev, std::move(done).value(), std::move(vm).value(), std::move(queue).value()));
}

std::vector<Result<double>> run_all(std::span<Context* const> contexts,
                                    std::span<const simgpu::BatchBuilder> batches)
{
    const size_t n = contexts.size();
    std::vector<std::optional<Result<double>>> out(n);
    if (batches.size() != n)
        return std::vector<Result<double>>(
            n, Error{EINVAL, "run_all: " + std::to_string(batches.size()) + " batches for " +
                                 std::to_string(n) + " contexts"});
    auto waiter = simgpu::Waiter::create();
    if (!waiter.ok())
        return std::vector<Result<double>>(n, waiter.error());

    std::vector<Stopwatch> clocks(n);
    size_t left = 0;
    for (size_t i = 0; i < n; ++i) {
        clocks[i] = Stopwatch();
        if (auto r = contexts[i]->submit(batches[i]); !r.ok())
            out[i] = r.error();
        else if (auto a = waiter.value().add(contexts[i]->done_fd(), i); !a.ok())
            out[i] = a.error();
        else
            ++left;
    }

    const Stopwatch total;
    while (left > 0) {
        // The jobs whose descriptor became readable; after a slice with
        // none, every job still running, to find the failed ones.
        auto ready = waiter.value().wait(wait_slice_ns);
        const bool readable = ready.ok();
        std::vector<uint64_t> look;
        if (readable) {
            look = std::move(ready).value();
        } else if (ready.error().err == ETIME) {
            for (size_t i = 0; i < n; ++i)
                if (!out[i])
                    look.push_back(i);
        } else {
            for (auto& o : out)
                if (!o)
                    o = ready.error();
            break;
        }
        for (const uint64_t i : look) {
            if (out[i])
                continue;
            const double ms = clocks[i].ms();
            auto done = contexts[i]->done();
            if (!done.ok())
                out[i] = done.error();
            else if (done.value())
                out[i] = ms;
            else if (readable)
                out[i] = Error{EPROTO, "job descriptor readable but the job is not done"};
            if (out[i])
                --left;
        }
        if (left > 0 && total.ms() > wait_timeout_ms) {
            for (auto& o : out)
                if (!o)
                    o = Error{ETIME, "the job did not complete within " +
                                         std::to_string(static_cast<int>(wait_timeout_ms / 1000)) +
                                         " s"};
            break;
        }
    }

    std::vector<Result<double>> results;
    results.reserve(n);
    for (auto& o : out)
        results.push_back(std::move(*o));
    return results;
}

} // namespace simgpu_run
