// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>

#include <drm/simgpu_drm.h>

#include "simgpu/device.hpp"
#include "simgpu/result.hpp"

namespace simgpu {

// A CPU mapping of a buffer object, unmapped on destruction. Move-only.
class Mapping {
public:
    Mapping() noexcept = default;
    // Adopts @addr, a mapping of @size bytes from mmap(2).
    Mapping(void* addr, size_t size) noexcept : addr_(addr), size_(size) {}
    ~Mapping() { reset(); }

    Mapping(Mapping&& other) noexcept;
    Mapping& operator=(Mapping&& other) noexcept;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;

    void* data() const noexcept { return addr_; }
    std::byte* bytes() const noexcept { return static_cast<std::byte*>(addr_); }
    template <typename T>
    T* as() const noexcept
    {
        return static_cast<T*>(addr_);
    }
    size_t size() const noexcept { return size_; }
    bool valid() const noexcept { return addr_ != nullptr; }

    // munmap()s now.
    void reset() noexcept;

private:
    void* addr_ = nullptr;
    size_t size_ = 0;
};

// A GEM buffer object: owns its handle and closes it (DRM_IOCTL_GEM_CLOSE)
// on destruction. The Device must outlive it. Move-only.
class Bo {
public:
    // DRM_IOCTL_SIMGPU_GEM_CREATE.
    static Result<Bo> create(const Device& dev, uint64_t size, uint32_t placement);

    // Owns nothing.
    Bo() noexcept = default;
    // Adopts @handle.
    Bo(const Device& dev, uint32_t handle, uint64_t size, uint32_t placement) noexcept
        : dev_(&dev), handle_(handle), size_(size), placement_(placement)
    {
    }
    ~Bo() { (void)close(); }

    Bo(Bo&& other) noexcept;
    Bo& operator=(Bo&& other) noexcept;
    Bo(const Bo&) = delete;
    Bo& operator=(const Bo&) = delete;

    uint32_t handle() const noexcept { return handle_; }
    uint64_t size() const noexcept { return size_; }
    uint32_t placement() const noexcept { return placement_; }
    const Device& device() const noexcept { return *dev_; }

    // DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET.
    Result<uint64_t> mmap_offset() const;

    // The whole object, PROT_READ | PROT_WRITE, MAP_SHARED.
    Result<Mapping> map() const;

    // Closes the handle now; a no-op once closed.
    Result<void> close();

    // Gives up ownership of the handle without closing it.
    uint32_t release() noexcept;

private:
    const Device* dev_ = nullptr;
    uint32_t handle_ = 0;
    uint64_t size_ = 0;
    uint32_t placement_ = 0;
};

} // namespace simgpu
