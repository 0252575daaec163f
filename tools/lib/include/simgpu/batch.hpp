// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <drm/simgpu_drm.h>

namespace simgpu {

// Builds a batch of simgpu commands (the ISA of simgpu_drm.h): each method
// appends one command, exactly as the header encodes it.
class BatchBuilder {
public:
    BatchBuilder& nop();
    BatchBuilder& store_dw(uint64_t addr, uint32_t value);
    BatchBuilder& store_qw(uint64_t addr, uint64_t value);
    BatchBuilder& fill(uint64_t addr, uint64_t size, uint32_t pattern);
    BatchBuilder& copy(uint64_t dst, uint64_t src, uint64_t size);
    // @op: DRM_SIMGPU_ATOMIC_ADD/INC/CMPXCHG/XCHG; @dword sets
    // DRM_SIMGPU_ATOMIC_32. @ret 0: the old value is not written.
    BatchBuilder& atomic(uint32_t op, uint64_t addr, uint64_t operand, uint64_t compare = 0,
                         uint64_t ret = 0, bool dword = false);
    // @op: DRM_SIMGPU_CMP_*; @timeout_us 0: until the job timeout.
    BatchBuilder& wait(uint32_t op, uint64_t addr, uint64_t value, uint64_t mask = ~uint64_t{0},
                       uint32_t timeout_us = 0);
    BatchBuilder& signal(uint64_t addr, uint64_t value);
    BatchBuilder& batch_start(uint64_t addr);
    BatchBuilder& batch_end();
    // @kernel: DRM_SIMGPU_KERNEL_*; @workgroup 0: 64.
    BatchBuilder& launch(uint32_t kernel, uint64_t args_addr, uint32_t workgroup = 0);

    // Raw dwords, for malformed commands.
    BatchBuilder& dword(uint32_t value);
    BatchBuilder& qword(uint64_t value);

    const std::vector<uint32_t>& dwords() const noexcept { return dwords_; }
    size_t size_bytes() const noexcept { return dwords_.size() * sizeof(uint32_t); }
    // Byte offset of the next command.
    size_t offset() const noexcept { return size_bytes(); }

    static constexpr uint32_t header(uint32_t op, uint32_t sub, uint32_t len) noexcept
    {
        return DRM_SIMGPU_CMD(op, sub, len);
    }

private:
    void addr64(uint64_t value);

    std::vector<uint32_t> dwords_;
};

} // namespace simgpu
