// SPDX-License-Identifier: MIT
#include "simgpu/fd.hpp"

#include <unistd.h>

namespace simgpu {

void Fd::reset(int fd) noexcept
{
    if (fd_ >= 0)
        ::close(fd_); // Linux releases the descriptor even when close fails.
    fd_ = fd;
}

} // namespace simgpu
