// SPDX-License-Identifier: MIT
#include "simgpu/vm.hpp"

#include <cerrno>
#include <optional>
#include <string>
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

drm_simgpu_vm_bind_op prefetch_op(uint64_t addr, uint64_t range, uint32_t region) noexcept
{
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_PREFETCH;
    op.region = region;
    op.addr = addr;
    op.range = range;
    return op;
}

drm_simgpu_vm_madvise pack_vm_madvise(uint32_t vm_id, uint64_t start, uint64_t range,
                                      uint32_t attr, uint32_t value, int32_t fd) noexcept
{
    drm_simgpu_vm_madvise args{};
    args.vm_id = vm_id;
    args.attr = attr;
    args.start = start;
    args.range = range;
    args.value = value;
    args.fd = fd;
    return args;
}

drm_simgpu_vm_query_attrs pack_vm_query_attrs(uint32_t vm_id, uint64_t start, uint64_t range,
                                              uint32_t num_attrs,
                                              drm_simgpu_vm_attr* attrs) noexcept
{
    drm_simgpu_vm_query_attrs args{};
    args.vm_id = vm_id;
    args.num_attrs = num_attrs;
    args.start = start;
    args.range = range;
    args.attrs = num_attrs ? reinterpret_cast<uintptr_t>(attrs) : 0;
    return args;
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

Result<void> Vm::prefetch(uint64_t addr, uint64_t range, uint32_t region,
                          std::span<const drm_simgpu_sync> syncs) const
{
    const drm_simgpu_vm_bind_op op = prefetch_op(addr, range, region);
    return bind({&op, 1}, syncs);
}

Result<std::vector<uint32_t>> Vm::query_range(uint64_t start, uint64_t num_pages) const
{
    std::vector<uint32_t> pages(num_pages);
    auto args = pack_vm_query_range(id_, start, num_pages, pages.data());
    if (auto r = dev_->ioctl(DRM_IOCTL_SIMGPU_VM_QUERY_RANGE, &args); !r.ok())
        return r.error();
    return pages;
}

Result<void> Vm::madvise(uint64_t start, uint64_t range, uint32_t attr, uint32_t value,
                         int32_t fd) const
{
    auto args = pack_vm_madvise(id_, start, range, attr, value, fd);
    return dev_->ioctl(DRM_IOCTL_SIMGPU_VM_MADVISE, &args);
}

Result<std::vector<drm_simgpu_vm_attr>> Vm::query_attrs(uint64_t start, uint64_t range) const
{
    // Another thread's MADVISE, or the kernel resetting attributes of
    // memory the process unmapped, can add spans between the count and the
    // fetch; the fetch then fails with ENOSPC and the protocol starts over.
    // Bounded so a VM whose spans keep changing cannot hang us.
    constexpr int max_attempts = 8;
    std::optional<Error> last;

    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        // Counting: num_attrs 0. Whether the kernel answers that with 0 or
        // with ENOSPC, num_attrs holds the count.
        auto count = pack_vm_query_attrs(id_, start, range, 0, nullptr);
        if (auto r = dev_->ioctl(DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS, &count);
            !r.ok() && r.error().err != ENOSPC)
            return Error{r.error().err, "count: " + r.error().what};
        const uint32_t n = count.num_attrs;
        if (n == 0)
            return std::vector<drm_simgpu_vm_attr>{};

        std::vector<drm_simgpu_vm_attr> attrs(n);
        auto fetch = pack_vm_query_attrs(id_, start, range, n, attrs.data());
        auto r = dev_->ioctl(DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS, &fetch);
        if (r.ok()) {
            if (fetch.num_attrs > n)
                return Error{EPROTO, "DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS: driver reported " +
                                         std::to_string(fetch.num_attrs) +
                                         " spans after filling " + std::to_string(n)};
            attrs.resize(fetch.num_attrs);
            return attrs;
        }
        if (r.error().err != ENOSPC)
            return r.error();
        last = r.error();
    }
    return Error{EAGAIN, "DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS: the spans kept changing after " +
                             std::to_string(max_attempts) + " attempts (last: " +
                             last->message() + ")"};
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
