// SPDX-License-Identifier: MIT
#include "simgpu/bo.hpp"

#include <cerrno>
#include <string>
#include <utility>

#include <sys/mman.h>

namespace simgpu {

Mapping::Mapping(Mapping&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0))
{
}

Mapping& Mapping::operator=(Mapping&& other) noexcept
{
    if (this != &other) {
        reset();
        addr_ = std::exchange(other.addr_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void Mapping::reset() noexcept
{
    if (addr_)
        ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
}

Result<Bo> Bo::create(const Device& dev, uint64_t size, uint32_t placement)
{
    drm_simgpu_gem_create args{};
    args.size = size;
    args.placement = placement;
    if (auto r = dev.ioctl(DRM_IOCTL_SIMGPU_GEM_CREATE, &args); !r.ok())
        return Error{r.error().err, r.error().what + " (size " + std::to_string(size) +
                                        ", placement " + std::to_string(placement) + ")"};
    return Bo(dev, args.handle, size, placement);
}

Bo::Bo(Bo&& other) noexcept
    : dev_(other.dev_), handle_(std::exchange(other.handle_, 0)), size_(other.size_),
      placement_(other.placement_)
{
}

Bo& Bo::operator=(Bo&& other) noexcept
{
    if (this != &other) {
        (void)close();
        dev_ = other.dev_;
        handle_ = std::exchange(other.handle_, 0);
        size_ = other.size_;
        placement_ = other.placement_;
    }
    return *this;
}

Result<uint64_t> Bo::mmap_offset() const
{
    drm_simgpu_gem_mmap_offset args{};
    args.handle = handle_;
    if (auto r = dev_->ioctl(DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &args); !r.ok())
        return r.error();
    return uint64_t{args.offset};
}

Result<Mapping> Bo::map() const
{
    auto offset = mmap_offset();
    if (!offset.ok())
        return offset.error();
    void* addr = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, dev_->fd(),
                        static_cast<off_t>(offset.value()));
    if (addr == MAP_FAILED)
        return Error::from_errno("mmap of GEM handle " + std::to_string(handle_));
    return Mapping(addr, size_);
}

Result<void> Bo::close()
{
    if (handle_ == 0)
        return {};
    drm_gem_close args{};
    args.handle = std::exchange(handle_, 0);
    return dev_->ioctl(DRM_IOCTL_GEM_CLOSE, &args);
}

uint32_t Bo::release() noexcept
{
    return std::exchange(handle_, 0);
}

} // namespace simgpu
