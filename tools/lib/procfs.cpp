// SPDX-License-Identifier: MIT
#include "simgpu/procfs.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace simgpu {

uint64_t anon_huge_kb(const void* p)
{
    const auto addr = reinterpret_cast<uintptr_t>(p);
    std::ifstream in("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        unsigned long long lo = 0, hi = 0;
        char dash = 0;
        std::istringstream ls(line);
        if (line.find('-') != std::string::npos && line.find(':') > line.find(' ') &&
            (ls >> std::hex >> lo >> dash >> hi) && dash == '-') {
            inside = addr >= lo && addr < hi;
            continue;
        }
        if (inside && line.rfind("AnonHugePages:", 0) == 0)
            return std::strtoull(line.c_str() + 14, nullptr, 10);
    }
    return 0;
}

} // namespace simgpu
