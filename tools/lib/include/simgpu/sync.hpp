// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

#include <drm/simgpu_drm.h>

#include "simgpu/device.hpp"
#include "simgpu/fd.hpp"
#include "simgpu/result.hpp"

namespace simgpu {

// drm_simgpu_sync entries.
drm_simgpu_sync syncobj_in(uint32_t handle) noexcept;  // waited for first
drm_simgpu_sync syncobj_out(uint32_t handle) noexcept; // signalled on completion
// Writes @value to @addr on completion: a GPU VA for EXEC, a CPU address
// for VM_BIND.
drm_simgpu_sync user_fence_out(uint64_t addr, uint64_t value) noexcept;
inline drm_simgpu_sync user_fence_out(const uint64_t* cpu_addr, uint64_t value) noexcept
{
    return user_fence_out(reinterpret_cast<uintptr_t>(cpu_addr), value);
}
// The same, and signals eventfd @eventfd right after the write
// (DRM_SIMGPU_SYNC_FLAG_EVENTFD): what a Waiter waits for.
drm_simgpu_sync user_fence_out(uint64_t addr, uint64_t value, int eventfd) noexcept;
inline drm_simgpu_sync user_fence_out(const uint64_t* cpu_addr, uint64_t value,
                                      int eventfd) noexcept
{
    return user_fence_out(reinterpret_cast<uintptr_t>(cpu_addr), value, eventfd);
}

// A job's completion record (DRM_SIMGPU_SYNC_FLAG_STATUS, EXEC only): 16
// bytes at GPU VA @addr, written when the job ended, failed or not: its
// status (0 or the negative errno) at @addr + 8, then @value at @addr.
drm_simgpu_sync user_fence_status_out(uint64_t addr, uint64_t value) noexcept;

// A DRM syncobj (libdrm), destroyed on destruction. The Device must outlive
// it. Move-only.
class Syncobj {
public:
    // drmSyncobjCreate; DRM_SYNCOBJ_CREATE_SIGNALED in @flags starts it
    // signalled.
    static Result<Syncobj> create(const Device& dev, uint32_t flags = 0);

    Syncobj(int fd, uint32_t handle) noexcept : fd_(fd), handle_(handle) {}
    ~Syncobj() { reset(); }

    Syncobj(Syncobj&& other) noexcept;
    Syncobj& operator=(Syncobj&& other) noexcept;
    Syncobj(const Syncobj&) = delete;
    Syncobj& operator=(const Syncobj&) = delete;

    uint32_t handle() const noexcept { return handle_; }

    // Waits up to @timeout_ns for the fence (ETIME when it did not signal),
    // also for a fence not yet attached (WAIT_FOR_SUBMIT).
    Result<void> wait(int64_t timeout_ns) const;

    // Status of the current fence, through a sync_file: 1 signalled without
    // error, 0 not yet signalled, negative: the errno it signalled with.
    Result<int> fence_status() const;

    // The current fence as a sync_file descriptor (drmSyncobjExportSyncFile),
    // readable once the fence signalled: what a Waiter waits for. EINVAL
    // when no fence is attached yet.
    Result<Fd> export_sync_file() const;

    void reset() noexcept;

private:
    int fd_ = -1;
    uint32_t handle_ = 0;
};

// The DRM_IOCTL_SIMGPU_WAIT_USER_FENCE argument.
drm_simgpu_wait_user_fence pack_wait_user_fence(const uint64_t* addr, uint64_t value, uint32_t op,
                                                int64_t timeout_ns, uint32_t exec_queue_id,
                                                uint64_t mask) noexcept;

inline constexpr int64_t default_user_fence_timeout_ns = 10'000'000'000;

// DRM_IOCTL_SIMGPU_WAIT_USER_FENCE: waits until (*@addr & @mask) @op
// (@value & @mask). ETIME on timeout, EIO when a job of @exec_queue_id
// failed.
Result<void> wait_user_fence(const Device& dev, const uint64_t* addr, uint64_t value,
                             uint32_t op = DRM_SIMGPU_CMP_EQ,
                             int64_t timeout_ns = default_user_fence_timeout_ns,
                             uint32_t exec_queue_id = 0, uint64_t mask = ~uint64_t{0});

} // namespace simgpu
