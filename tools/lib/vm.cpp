// SPDX-License-Identifier: MIT
#include "simgpu/vm.hpp"

#include <utility>

namespace simgpu {

drm_simgpu_vm_bind_op map_op(uint32_t handle, uint64_t addr, uint64_t range, uint64_t obj_offset,
                             uint32_t flags) noexcept
{
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_MAP;
    op.flags = flags;
    op.handle = handle;
    op.obj_offset = obj_offset;
    op.addr = addr;
    op.range = range;
    return op;
}

drm_simgpu_vm_bind_op mirror_op(uint64_t addr, uint64_t range) noexcept
{
    return map_op(0, addr, range, 0, DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR);
}

drm_simgpu_vm_query_range pack_vm_query_range(uint32_t vm_id, uint64_t start, uint64_t num_pages,
                                              uint32_t* pages) noexcept
{
    drm_simgpu_vm_query_range args{};
    args.vm_id = vm_id;
    args.start = start;
    args.num_pages = num_pages;
    args.pages = reinterpret_cast<uintptr_t>(pages);
    return args;
}

drm_simgpu_vm_bind_op unmap_op(uint64_t addr, uint64_t range) noexcept
{
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_UNMAP;
    op.addr = addr;
    op.range = range;
    return op;
}

drm_simgpu_vm_bind pack_vm_bind(uint32_t vm_id, std::span<const drm_simgpu_vm_bind_op> ops,
                                std::span<const drm_simgpu_sync> syncs) noexcept
{
    drm_simgpu_vm_bind args{};
    args.vm_id = vm_id;
    args.num_binds = static_cast<uint32_t>(ops.size());
    args.binds = reinterpret_cast<uintptr_t>(ops.data());
    args.num_syncs = static_cast<uint32_t>(syncs.size());
    args.syncs = syncs.empty() ? 0 : reinterpret_cast<uintptr_t>(syncs.data());
    return args;
}

Result<Vm> Vm::create(const Device& dev, uint32_t flags)
{
    drm_simgpu_vm_create args{};
    args.flags = flags;
    if (auto r = dev.ioctl(DRM_IOCTL_SIMGPU_VM_CREATE, &args); !r.ok())
        return r.error();
    return Vm(dev, args.vm_id, flags);
}

Vm::Vm(Vm&& other) noexcept
    : dev_(other.dev_), id_(std::exchange(other.id_, 0)), flags_(other.flags_)
{
}

Vm& Vm::operator=(Vm&& other) noexcept
{
    if (this != &other) {
        (void)destroy();
        dev_ = other.dev_;
        id_ = std::exchange(other.id_, 0);
        flags_ = other.flags_;
    }
    return *this;
}

Result<void> Vm::bind(std::span<const drm_simgpu_vm_bind_op> ops,
                      std::span<const drm_simgpu_sync> syncs) const
{
    auto args = pack_vm_bind(id_, ops, syncs);
    return dev_->ioctl(DRM_IOCTL_SIMGPU_VM_BIND, &args);
}

Result<void> Vm::map(const Bo& bo, uint64_t addr, uint64_t range, uint64_t bo_offset,
                     uint32_t flags) const
{
    const drm_simgpu_vm_bind_op op = map_op(bo, addr, range, bo_offset, flags);
    return bind({&op, 1});
}

Result<void> Vm::unmap(uint64_t addr, uint64_t range) const
{
    const drm_simgpu_vm_bind_op op = unmap_op(addr, range);
    return bind({&op, 1});
}

Result<void> Vm::mirror(uint64_t addr, uint64_t range) const
{
    const drm_simgpu_vm_bind_op op = mirror_op(addr, range);
    return bind({&op, 1});
}

Result<std::vector<uint32_t>> Vm::query_range(uint64_t start, uint64_t num_pages) const
{
    std::vector<uint32_t> pages(num_pages);
    auto args = pack_vm_query_range(id_, start, num_pages, pages.data());
    if (auto r = dev_->ioctl(DRM_IOCTL_SIMGPU_VM_QUERY_RANGE, &args); !r.ok())
        return r.error();
    return pages;
}

Result<void> Vm::destroy()
{
    if (id_ == 0)
        return {};
    drm_simgpu_vm_destroy args{};
    args.vm_id = std::exchange(id_, 0);
    return dev_->ioctl(DRM_IOCTL_SIMGPU_VM_DESTROY, &args);
}

uint32_t Vm::release() noexcept
{
    return std::exchange(id_, 0);
}

} // namespace simgpu
