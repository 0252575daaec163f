// SPDX-License-Identifier: MIT
#include "simgpu/batch.hpp"

namespace simgpu {

void BatchBuilder::addr64(uint64_t value)
{
    dwords_.push_back(static_cast<uint32_t>(value));
    dwords_.push_back(static_cast<uint32_t>(value >> 32));
}

BatchBuilder& BatchBuilder::dword(uint32_t value)
{
    dwords_.push_back(value);
    return *this;
}

BatchBuilder& BatchBuilder::qword(uint64_t value)
{
    addr64(value);
    return *this;
}

BatchBuilder& BatchBuilder::nop()
{
    return dword(header(DRM_SIMGPU_OP_NOP, 0, 1));
}

BatchBuilder& BatchBuilder::store_dw(uint64_t addr, uint32_t value)
{
    dword(header(DRM_SIMGPU_OP_STORE_DW, 0, 4));
    addr64(addr);
    return dword(value);
}

BatchBuilder& BatchBuilder::store_qw(uint64_t addr, uint64_t value)
{
    dword(header(DRM_SIMGPU_OP_STORE_QW, 0, 5));
    addr64(addr);
    return qword(value);
}

BatchBuilder& BatchBuilder::fill(uint64_t addr, uint64_t size, uint32_t pattern)
{
    dword(header(DRM_SIMGPU_OP_FILL, 0, 6));
    addr64(addr);
    addr64(size);
    return dword(pattern);
}

BatchBuilder& BatchBuilder::copy(uint64_t dst, uint64_t src, uint64_t size)
{
    dword(header(DRM_SIMGPU_OP_COPY, 0, 7));
    addr64(dst);
    addr64(src);
    return qword(size);
}

BatchBuilder& BatchBuilder::atomic(uint32_t op, uint64_t addr, uint64_t operand, uint64_t compare,
                                   uint64_t ret, bool dword_width)
{
    const uint32_t sub = (op | (dword_width ? DRM_SIMGPU_ATOMIC_32 : 0)) & 0xff;
    dword(header(DRM_SIMGPU_OP_ATOMIC, sub, 9));
    addr64(addr);
    addr64(operand);
    addr64(compare);
    return qword(ret);
}

BatchBuilder& BatchBuilder::wait(uint32_t op, uint64_t addr, uint64_t value, uint64_t mask,
                                 uint32_t timeout_us)
{
    dword(header(DRM_SIMGPU_OP_WAIT, op & 0xff, 8));
    addr64(addr);
    addr64(value);
    addr64(mask);
    return dword(timeout_us);
}

BatchBuilder& BatchBuilder::signal(uint64_t addr, uint64_t value)
{
    dword(header(DRM_SIMGPU_OP_SIGNAL, 0, 5));
    addr64(addr);
    return qword(value);
}

BatchBuilder& BatchBuilder::batch_start(uint64_t addr)
{
    dword(header(DRM_SIMGPU_OP_BATCH_START, 0, 3));
    return qword(addr);
}

BatchBuilder& BatchBuilder::batch_end()
{
    return dword(header(DRM_SIMGPU_OP_BATCH_END, 0, 1));
}

BatchBuilder& BatchBuilder::launch(uint32_t kernel, uint64_t args_addr, uint32_t workgroup)
{
    dword(header(DRM_SIMGPU_OP_LAUNCH, kernel & 0xff, 4));
    addr64(args_addr);
    return dword(workgroup);
}

} // namespace simgpu
