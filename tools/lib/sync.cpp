// SPDX-License-Identifier: MIT
#include "simgpu/sync.hpp"

#include <cerrno>
#include <ctime>
#include <limits>
#include <string>
#include <utility>

#include <linux/sync_file.h>
#include <sys/ioctl.h>
#include <xf86drm.h>

#include "simgpu/fd.hpp"

namespace simgpu {
namespace {

// libdrm returns either -1 with errno or -errno, depending on the call.
int libdrm_errno(int ret)
{
    return ret == -1 ? errno : -ret;
}

int64_t monotonic_now_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

} // namespace

drm_simgpu_sync syncobj_in(uint32_t handle) noexcept
{
    drm_simgpu_sync sync{};
    sync.type = DRM_SIMGPU_SYNC_SYNCOBJ;
    sync.handle = handle;
    return sync;
}

drm_simgpu_sync syncobj_out(uint32_t handle) noexcept
{
    drm_simgpu_sync sync = syncobj_in(handle);
    sync.flags = DRM_SIMGPU_SYNC_FLAG_SIGNAL;
    return sync;
}

drm_simgpu_sync user_fence_out(uint64_t addr, uint64_t value) noexcept
{
    drm_simgpu_sync sync{};
    sync.type = DRM_SIMGPU_SYNC_USER_FENCE;
    sync.flags = DRM_SIMGPU_SYNC_FLAG_SIGNAL;
    sync.addr = addr;
    sync.value = value;
    return sync;
}

drm_simgpu_sync user_fence_out(uint64_t addr, uint64_t value, int eventfd) noexcept
{
    drm_simgpu_sync sync = user_fence_out(addr, value);
    sync.flags |= DRM_SIMGPU_SYNC_FLAG_EVENTFD;
    sync.handle = static_cast<uint32_t>(eventfd);
    return sync;
}

drm_simgpu_sync user_fence_status_out(uint64_t addr, uint64_t value) noexcept
{
    drm_simgpu_sync sync = user_fence_out(addr, value);
    sync.flags |= DRM_SIMGPU_SYNC_FLAG_STATUS;
    return sync;
}

Result<Syncobj> Syncobj::create(const Device& dev, uint32_t flags)
{
    uint32_t handle = 0;
    if (const int ret = ::drmSyncobjCreate(dev.fd(), flags, &handle); ret != 0)
        return Error{libdrm_errno(ret), "drmSyncobjCreate on " + dev.path()};
    return Syncobj(dev.fd(), handle);
}

Syncobj::Syncobj(Syncobj&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), handle_(std::exchange(other.handle_, 0))
{
}

Syncobj& Syncobj::operator=(Syncobj&& other) noexcept
{
    if (this != &other) {
        reset();
        fd_ = std::exchange(other.fd_, -1);
        handle_ = std::exchange(other.handle_, 0);
    }
    return *this;
}

void Syncobj::reset() noexcept
{
    if (handle_ != 0 && fd_ >= 0)
        ::drmSyncobjDestroy(fd_, handle_);
    handle_ = 0;
    fd_ = -1;
}

Result<void> Syncobj::wait(int64_t timeout_ns) const
{
    int64_t deadline = std::numeric_limits<int64_t>::max();
    if (timeout_ns >= 0 && timeout_ns < deadline - monotonic_now_ns())
        deadline = monotonic_now_ns() + timeout_ns;
    uint32_t handle = handle_;
    const int ret = ::drmSyncobjWait(fd_, &handle, 1, deadline,
                                     DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, nullptr);
    if (ret != 0)
        return Error{libdrm_errno(ret), "drmSyncobjWait of syncobj " + std::to_string(handle_)};
    return {};
}

Result<Fd> Syncobj::export_sync_file() const
{
    int sync_file = -1;
    if (const int ret = ::drmSyncobjExportSyncFile(fd_, handle_, &sync_file); ret != 0)
        return Error{libdrm_errno(ret),
                     "drmSyncobjExportSyncFile of syncobj " + std::to_string(handle_)};
    return Fd(sync_file);
}

Result<int> Syncobj::fence_status() const
{
    auto owned = export_sync_file();
    if (!owned.ok())
        return owned.error();

    sync_file_info info{};
    if (::ioctl(owned.value().get(), SYNC_IOC_FILE_INFO, &info) != 0)
        return Error::from_errno("SYNC_IOC_FILE_INFO of syncobj " + std::to_string(handle_));
    return int{info.status};
}

drm_simgpu_wait_user_fence pack_wait_user_fence(const uint64_t* addr, uint64_t value, uint32_t op,
                                                int64_t timeout_ns, uint32_t exec_queue_id,
                                                uint64_t mask) noexcept
{
    drm_simgpu_wait_user_fence args{};
    args.addr = reinterpret_cast<uintptr_t>(addr);
    args.op = op;
    args.value = value;
    args.mask = mask;
    args.timeout_ns = timeout_ns;
    args.exec_queue_id = exec_queue_id;
    return args;
}

Result<void> wait_user_fence(const Device& dev, const uint64_t* addr, uint64_t value, uint32_t op,
                             int64_t timeout_ns, uint32_t exec_queue_id, uint64_t mask)
{
    auto args = pack_wait_user_fence(addr, value, op, timeout_ns, exec_queue_id, mask);
    return dev.ioctl(DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, &args);
}

} // namespace simgpu
