// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

namespace simgpu_run {

// Prints the debugfs counters of simgpu device @device_id (simgpu_stats
// and simgpu_svm), or a note saying why they cannot be read.
void print_counters(uint32_t device_id);

} // namespace simgpu_run
