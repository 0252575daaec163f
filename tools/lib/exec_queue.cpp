// SPDX-License-Identifier: MIT
#include "simgpu/exec_queue.hpp"

#include <utility>

namespace simgpu {

drm_simgpu_exec pack_exec(uint32_t exec_queue_id, uint64_t batch_addr,
                          std::span<const drm_simgpu_sync> syncs) noexcept
{
    drm_simgpu_exec args{};
    args.exec_queue_id = exec_queue_id;
    args.num_syncs = static_cast<uint32_t>(syncs.size());
    args.syncs = syncs.empty() ? 0 : reinterpret_cast<uintptr_t>(syncs.data());
    args.address = batch_addr;
    return args;
}

Result<ExecQueue> ExecQueue::create(const Device& dev, const Vm& vm, uint16_t engine_class,
                                    uint16_t instance)
{
    drm_simgpu_exec_queue_create args{};
    args.vm_id = vm.id();
    args.engine_class = engine_class;
    args.engine_instance = instance;
    if (auto r = dev.ioctl(DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, &args); !r.ok())
        return r.error();
    return ExecQueue(dev, args.exec_queue_id, vm.id(), vm.fault_mode());
}

ExecQueue::ExecQueue(ExecQueue&& other) noexcept
    : dev_(other.dev_), id_(std::exchange(other.id_, 0)), vm_id_(other.vm_id_),
      fault_mode_(other.fault_mode_)
{
}

ExecQueue& ExecQueue::operator=(ExecQueue&& other) noexcept
{
    if (this != &other) {
        (void)destroy();
        dev_ = other.dev_;
        id_ = std::exchange(other.id_, 0);
        vm_id_ = other.vm_id_;
        fault_mode_ = other.fault_mode_;
    }
    return *this;
}

Result<void> ExecQueue::exec(uint64_t batch_addr, std::span<const drm_simgpu_sync> syncs) const
{
    auto args = pack_exec(id_, batch_addr, syncs);
    return dev_->ioctl(DRM_IOCTL_SIMGPU_EXEC, &args);
}

Result<drm_simgpu_exec_queue_state> ExecQueue::state() const
{
    drm_simgpu_exec_queue_state args{};
    args.exec_queue_id = id_;
    if (auto r = dev_->ioctl(DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, &args); !r.ok())
        return r.error();
    return args;
}

Result<void> ExecQueue::destroy()
{
    if (id_ == 0)
        return {};
    drm_simgpu_exec_queue_destroy args{};
    args.exec_queue_id = std::exchange(id_, 0);
    return dev_->ioctl(DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, &args);
}

uint32_t ExecQueue::release() noexcept
{
    return std::exchange(id_, 0);
}

} // namespace simgpu
