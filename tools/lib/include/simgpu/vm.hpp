// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <drm/simgpu_drm.h>

#include "simgpu/bo.hpp"
#include "simgpu/device.hpp"
#include "simgpu/result.hpp"

namespace simgpu {

// A MAP operation of @range bytes of @handle from @obj_offset at GPU VA @addr.
drm_simgpu_vm_bind_op map_op(uint32_t handle, uint64_t addr, uint64_t range,
                             uint64_t obj_offset = 0, uint32_t flags = 0) noexcept;
inline drm_simgpu_vm_bind_op map_op(const Bo& bo, uint64_t addr, uint64_t range,
                                    uint64_t obj_offset = 0, uint32_t flags = 0) noexcept
{
    return map_op(bo.handle(), addr, range, obj_offset, flags);
}

// A CPU_ADDR_MIRROR MAP of [@addr, @addr + @range): no object, no offset.
drm_simgpu_vm_bind_op mirror_op(uint64_t addr, uint64_t range) noexcept;

// The whole user address space a process can mirror: [4 KiB, 1 << 47)
// without its last page.
inline constexpr uint64_t mirror_all_start = DRM_SIMGPU_PAGE_SIZE;
inline constexpr uint64_t mirror_all_end = (uint64_t{1} << 47) - DRM_SIMGPU_PAGE_SIZE;

// The DRM_IOCTL_SIMGPU_VM_QUERY_RANGE argument; @pages receives
// @num_pages entries and must outlive its use.
drm_simgpu_vm_query_range pack_vm_query_range(uint32_t vm_id, uint64_t start, uint64_t num_pages,
                                              uint32_t* pages) noexcept;

// An UNMAP operation of [@addr, @addr + @range).
drm_simgpu_vm_bind_op unmap_op(uint64_t addr, uint64_t range) noexcept;

// A PREFETCH operation of [@addr, @addr + @range), a span of CPU_ADDR_MIRROR
// mappings, to @region (DRM_SIMGPU_MEM_SYSTEM or DRM_SIMGPU_MEM_VRAM): no
// object, no offset, no flags.
drm_simgpu_vm_bind_op prefetch_op(uint64_t addr, uint64_t range, uint32_t region) noexcept;

// The DRM_IOCTL_SIMGPU_VM_MADVISE argument: attribute @attr
// (DRM_SIMGPU_MADV_*) of [@start, @start + @range) set to @value; @fd is
// the device file of PREFERRED_LOC = LOC_DEVICE (-1: the VM's own device)
// and 0 otherwise.
drm_simgpu_vm_madvise pack_vm_madvise(uint32_t vm_id, uint64_t start, uint64_t range,
                                      uint32_t attr, uint32_t value, int32_t fd = 0) noexcept;

// The DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS argument; @attrs receives up to
// @num_attrs entries (0: count only, @attrs may be null) and must outlive
// its use.
drm_simgpu_vm_query_attrs pack_vm_query_attrs(uint32_t vm_id, uint64_t start, uint64_t range,
                                              uint32_t num_attrs,
                                              drm_simgpu_vm_attr* attrs) noexcept;

// The DRM_IOCTL_SIMGPU_VM_BIND argument for @ops and @syncs; the spans
// must outlive its use.
drm_simgpu_vm_bind pack_vm_bind(uint32_t vm_id, std::span<const drm_simgpu_vm_bind_op> ops,
                                std::span<const drm_simgpu_sync> syncs = {}) noexcept;

// A GPU virtual address space: owns its id and destroys it
// (DRM_IOCTL_SIMGPU_VM_DESTROY) on destruction. The Device must outlive it.
// Move-only.
class Vm {
public:
    static Result<Vm> create(const Device& dev, uint32_t flags = 0);

    // Owns nothing.
    Vm() noexcept = default;
    // Adopts @id.
    Vm(const Device& dev, uint32_t id, uint32_t flags) noexcept : dev_(&dev), id_(id), flags_(flags)
    {
    }
    ~Vm() { (void)destroy(); }

    Vm(Vm&& other) noexcept;
    Vm& operator=(Vm&& other) noexcept;
    Vm(const Vm&) = delete;
    Vm& operator=(const Vm&) = delete;

    uint32_t id() const noexcept { return id_; }
    uint32_t flags() const noexcept { return flags_; }
    bool fault_mode() const noexcept { return flags_ & DRM_SIMGPU_VM_CREATE_FAULT_MODE; }
    const Device& device() const noexcept { return *dev_; }

    // DRM_IOCTL_SIMGPU_VM_BIND.
    Result<void> bind(std::span<const drm_simgpu_vm_bind_op> ops,
                      std::span<const drm_simgpu_sync> syncs = {}) const;

    Result<void> map(const Bo& bo, uint64_t addr, uint64_t range, uint64_t bo_offset = 0,
                     uint32_t flags = 0) const;
    Result<void> unmap(uint64_t addr, uint64_t range) const;

    // MAP with DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR: [@addr, @addr +
    // @range) of the GPU VA mirrors the calling process (fault-mode VMs).
    Result<void> mirror(uint64_t addr = mirror_all_start,
                        uint64_t range = mirror_all_end - mirror_all_start) const;

    // PREFETCH of [@addr, @addr + @range) to @region: moves the mirrored
    // pages there and maps them on the GPU ahead of access.
    Result<void> prefetch(uint64_t addr, uint64_t range, uint32_t region,
                          std::span<const drm_simgpu_sync> syncs = {}) const;

    // DRM_IOCTL_SIMGPU_VM_QUERY_RANGE: DRM_SIMGPU_PAGE_* of @num_pages
    // pages from @start.
    Result<std::vector<uint32_t>> query_range(uint64_t start, uint64_t num_pages) const;

    // DRM_IOCTL_SIMGPU_VM_MADVISE: sets attribute @attr (DRM_SIMGPU_MADV_*)
    // of the mirrored span [@start, @start + @range) to @value. @fd: for
    // PREFERRED_LOC = LOC_DEVICE, an open simgpu file of the preferred
    // device or -1 for the VM's own; 0 for everything else.
    Result<void> madvise(uint64_t start, uint64_t range, uint32_t attr, uint32_t value,
                         int32_t fd = 0) const;

    // DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS: [@start, @start + @range) as
    // consecutive spans of equal attributes. Counts the spans first, then
    // fetches them; starts over when the spans changed in between (the
    // kernel's ENOSPC), a bounded number of times.
    Result<std::vector<drm_simgpu_vm_attr>> query_attrs(uint64_t start, uint64_t range) const;

    // Destroys the VM now; a no-op once destroyed.
    Result<void> destroy();

    // Gives up ownership of the id without destroying the VM.
    uint32_t release() noexcept;

private:
    const Device* dev_ = nullptr;
    uint32_t id_ = 0;
    uint32_t flags_ = 0;
};

} // namespace simgpu
