// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <drm/simgpu_drm.h>

#include "simgpu/fd.hpp"
#include "simgpu/result.hpp"

namespace simgpu {

// Where Device sends its ioctls. The default calls ioctl(2); unit tests
// substitute a fake driver.
class IoctlBackend {
public:
    virtual ~IoctlBackend() = default;

    // Returns 0 on success or -errno. No retrying.
    virtual int ioctl(int fd, unsigned long request, void* arg) = 0;
};

// The backend that calls ioctl(2).
std::shared_ptr<IoctlBackend> system_ioctl_backend();

// Answer of DRM_IOCTL_VERSION.
struct DriverVersion {
    std::string name;
    int major = 0;
    int minor = 0;
    int patchlevel = 0;
    std::string desc;

    // "1.0.0"
    std::string number() const;
};

// An open simgpu render node.
class Device {
public:
    static constexpr const char* driver_name = "simgpu";

    // Opens @path read-write; fails with ENODEV when it is not a simgpu node.
    static Result<Device> open(const std::string& path);

    // Every /dev/dri/renderD* node, in node-number order.
    static std::vector<std::string> render_nodes();

    // Every simgpu render node, in device_id order. Nodes of other drivers
    // are skipped; an error is returned only when a node fails for another
    // reason and no simgpu device was found, or when a simgpu device fails
    // its query.
    static Result<std::vector<Device>> enumerate();

    // Wraps an already open descriptor; @backend carries the ioctls.
    Device(Fd fd, std::string path, std::shared_ptr<IoctlBackend> backend = system_ioctl_backend());

    int fd() const noexcept { return fd_.get(); }
    const std::string& path() const noexcept { return path_; }

    // Through libdrm (drmGetVersion), not through the backend.
    Result<DriverVersion> driver_version() const;

    // ioctl(2) through the backend, retried on EINTR and EAGAIN.
    Result<void> ioctl(unsigned long request, void* arg) const;

    // DRM_IOCTL_SIMGPU_QUERY with the size protocol: asks for the size,
    // then for the data; retries when the answer grew in between.
    Result<std::vector<std::byte>> query(uint32_t query_id) const;

    Result<drm_simgpu_query_device> query_device() const;
    Result<std::vector<drm_simgpu_engine_info>> query_engines() const;

private:
    Fd fd_;
    std::string path_;
    std::shared_ptr<IoctlBackend> backend_;
};

} // namespace simgpu
