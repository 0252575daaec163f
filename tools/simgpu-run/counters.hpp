// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "placement.hpp"
#include "simgpu/result.hpp"

namespace simgpu_run {

// Prints the debugfs counters of simgpu device @device_id (simgpu_stats
// and simgpu_svm), or a note saying why they cannot be read.
void print_counters(uint32_t device_id);

// The migration counters of each device of @device_ids, in that order;
// fails, saying why, when debugfs or a counter cannot be read.
simgpu::Result<std::vector<Migrations>> read_migrations(std::span<const uint32_t> device_ids);

} // namespace simgpu_run
