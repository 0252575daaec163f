// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <vector>

#include "simgpu/device.hpp"

namespace simgpu_run {

struct SharedOptions {
    uint64_t elements = 0;
    unsigned steps = 0;
    bool counters = false;
};

// Several GPUs, one address space: every device of @devices (at least
// two) gets a fault-mode VM mirroring this process and a compute queue, and
// all of them work on one heap buffer in turn, followed by the CPU:
// device 0, device 1, ..., the CPU, device 0, ... for @opts.steps steps.
// Each GPU step adds the buffer to itself in place (the add kernel with a
// = b = c = the buffer's pointer), each CPU step reads and checks every
// element. After each step it prints where the buffer's pages are as each
// device maps them (VM_QUERY_RANGE) and, with @opts.counters, how the
// migration counters moved; at the end it checks every element. Returns
// the exit status: 0 when every step and the final check succeeded.
int run_shared(const std::vector<simgpu::Device>& devices, const SharedOptions& opts);

} // namespace simgpu_run
