// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include <drm/simgpu_drm.h>

#include "context.hpp"

namespace simgpu_run {

struct KernelInfo {
    std::string_view name;
    uint32_t id; // DRM_SIMGPU_KERNEL_*
    std::string_view unit; // what the element count counts
};

inline constexpr std::array<KernelInfo, 8> kernels{{
    {"memset", DRM_SIMGPU_KERNEL_MEMSET, "elements"},
    {"copy", DRM_SIMGPU_KERNEL_COPY, "elements"},
    {"add", DRM_SIMGPU_KERNEL_ADD, "elements"},
    {"saxpy", DRM_SIMGPU_KERNEL_SAXPY, "elements"},
    {"reduce-sum", DRM_SIMGPU_KERNEL_REDUCE_SUM, "elements"},
    {"gather", DRM_SIMGPU_KERNEL_GATHER, "elements"},
    {"histogram", DRM_SIMGPU_KERNEL_HISTOGRAM, "elements"},
    {"list-sum", DRM_SIMGPU_KERNEL_LIST_SUM, "nodes"},
}};

// What a run found.
struct Outcome {
    bool match = false;
    std::string check;  // "65536/65536 elements match", "sum 12 == cpu 12"
    std::string detail; // the first difference; empty on a match
};

// A kernel run prepared in a context: the batch of its one LAUNCH, and
// the comparison of its outputs with the CPU's, for once the job
// completed. The context must outlive both.
struct PreparedRun {
    simgpu::BatchBuilder batch;
    std::function<Outcome()> check;
};

// Puts the argument block @args in @ctx's memory; the batch of one LAUNCH
// of @kernel (DRM_SIMGPU_KERNEL_*) with it. Throws simgpu::Exception when
// the allocation fails.
template <typename Args>
simgpu::BatchBuilder launch(Context& ctx, uint32_t kernel, const Args& args)
{
    const Region block = ctx.alloc(sizeof(Args)).value();
    std::memcpy(block.cpu, &args, sizeof(Args));
    simgpu::BatchBuilder batch;
    batch.launch(kernel, block.gpu).batch_end();
    return batch;
}

// Prepares the inputs of @kernel over @count elements (list nodes for
// list-sum) in @ctx and the batch that runs it. Throws simgpu::Exception
// when an allocation fails.
PreparedRun prepare_kernel(Context& ctx, const KernelInfo& kernel, uint64_t count);

} // namespace simgpu_run
