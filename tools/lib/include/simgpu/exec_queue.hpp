// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <span>

#include <drm/simgpu_drm.h>

#include "simgpu/device.hpp"
#include "simgpu/result.hpp"
#include "simgpu/vm.hpp"

namespace simgpu {

// The DRM_IOCTL_SIMGPU_EXEC argument; @syncs must outlive its use.
drm_simgpu_exec pack_exec(uint32_t exec_queue_id, uint64_t batch_addr,
                          std::span<const drm_simgpu_sync> syncs = {}) noexcept;

// An exec queue: owns its id and destroys it on destruction (cancelling
// jobs not yet complete). The Device must outlive it. Move-only.
class ExecQueue {
public:
    static Result<ExecQueue> create(const Device& dev, const Vm& vm, uint16_t engine_class,
                                    uint16_t instance);

    // Owns nothing.
    ExecQueue() noexcept = default;
    // Adopts @id.
    ExecQueue(const Device& dev, uint32_t id, uint32_t vm_id, bool fault_mode) noexcept
        : dev_(&dev), id_(id), vm_id_(vm_id), fault_mode_(fault_mode)
    {
    }
    ~ExecQueue() { (void)destroy(); }

    ExecQueue(ExecQueue&& other) noexcept;
    ExecQueue& operator=(ExecQueue&& other) noexcept;
    ExecQueue(const ExecQueue&) = delete;
    ExecQueue& operator=(const ExecQueue&) = delete;

    uint32_t id() const noexcept { return id_; }
    uint32_t vm_id() const noexcept { return vm_id_; }
    // Whether the queue's VM was created in fault mode (user fences only).
    bool fault_mode() const noexcept { return fault_mode_; }
    const Device& device() const noexcept { return *dev_; }

    // DRM_IOCTL_SIMGPU_EXEC of the batch at GPU VA @batch_addr.
    Result<void> exec(uint64_t batch_addr, std::span<const drm_simgpu_sync> syncs = {}) const;

    // DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE.
    Result<drm_simgpu_exec_queue_state> state() const;

    // Destroys the queue now; a no-op once destroyed.
    Result<void> destroy();

    uint32_t release() noexcept;

private:
    const Device* dev_ = nullptr;
    uint32_t id_ = 0;
    uint32_t vm_id_ = 0;
    bool fault_mode_ = false;
};

} // namespace simgpu
