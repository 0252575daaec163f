// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

namespace simgpu {

// AnonHugePages (kB) of the VMA holding @p, from /proc/self/smaps; 0 when
// the VMA is not found.
uint64_t anon_huge_kb(const void* p);

} // namespace simgpu
