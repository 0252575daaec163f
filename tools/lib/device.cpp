// SPDX-License-Identifier: MIT
#include "simgpu/device.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <xf86drm.h>

namespace simgpu {
namespace {

class SystemIoctlBackend final : public IoctlBackend {
public:
    int ioctl(int fd, unsigned long request, void* arg) override
    {
        return ::ioctl(fd, request, arg) == 0 ? 0 : -errno;
    }
};

std::string query_name(uint32_t query_id)
{
    switch (query_id) {
    case DRM_SIMGPU_QUERY_DEVICE:
        return "DRM_SIMGPU_QUERY_DEVICE";
    case DRM_SIMGPU_QUERY_ENGINES:
        return "DRM_SIMGPU_QUERY_ENGINES";
    default:
        return "query " + std::to_string(query_id);
    }
}

std::string request_name(unsigned long request)
{
    static constexpr std::pair<unsigned long, const char*> known[] = {
        {DRM_IOCTL_SIMGPU_QUERY, "DRM_IOCTL_SIMGPU_QUERY"},
        {DRM_IOCTL_SIMGPU_GEM_CREATE, "DRM_IOCTL_SIMGPU_GEM_CREATE"},
        {DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, "DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET"},
        {DRM_IOCTL_SIMGPU_VM_CREATE, "DRM_IOCTL_SIMGPU_VM_CREATE"},
        {DRM_IOCTL_SIMGPU_VM_DESTROY, "DRM_IOCTL_SIMGPU_VM_DESTROY"},
        {DRM_IOCTL_SIMGPU_VM_BIND, "DRM_IOCTL_SIMGPU_VM_BIND"},
        {DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, "DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE"},
        {DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, "DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY"},
        {DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, "DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE"},
        {DRM_IOCTL_SIMGPU_EXEC, "DRM_IOCTL_SIMGPU_EXEC"},
        {DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, "DRM_IOCTL_SIMGPU_WAIT_USER_FENCE"},
        {DRM_IOCTL_SIMGPU_VM_QUERY_RANGE, "DRM_IOCTL_SIMGPU_VM_QUERY_RANGE"},
        {DRM_IOCTL_SIMGPU_VM_MADVISE, "DRM_IOCTL_SIMGPU_VM_MADVISE"},
        {DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS, "DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS"},
        {DRM_IOCTL_GEM_CLOSE, "DRM_IOCTL_GEM_CLOSE"},
    };
    for (const auto& [number, name] : known)
        if (request == number)
            return name;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "ioctl 0x%lx", request);
    return buf;
}

Error with_context(const Error& error, const std::string& context)
{
    return Error{error.err, context + ": " + error.what};
}

// Number of a "renderD<N>" node name, or -1.
int render_minor(const std::string& name)
{
    static constexpr std::string_view prefix = "renderD";
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0)
        return -1;
    int minor = -1;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(first, last, minor);
    return ec == std::errc() && end == last ? minor : -1;
}

} // namespace

std::shared_ptr<IoctlBackend> system_ioctl_backend()
{
    static const auto backend = std::make_shared<SystemIoctlBackend>();
    return backend;
}

std::string DriverVersion::number() const
{
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patchlevel);
}

Device::Device(Fd fd, std::string path, std::shared_ptr<IoctlBackend> backend)
    : fd_(std::move(fd)), path_(std::move(path)), backend_(std::move(backend))
{
}

Result<Device> Device::open(const std::string& path)
{
    Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd)
        return Error::from_errno("open " + path);

    Device device(std::move(fd), path);
    auto version = device.driver_version();
    if (!version.ok())
        return version.error();
    if (version.value().name != driver_name)
        return Error{ENODEV,
                     path + " is driven by " + version.value().name + ", not " + driver_name};
    return device;
}

std::vector<std::string> Device::render_nodes()
{
    namespace fs = std::filesystem;

    std::vector<std::pair<int, std::string>> nodes;
    std::error_code ec;
    for (fs::directory_iterator it("/dev/dri", ec), end; !ec && it != end; it.increment(ec)) {
        const int minor = render_minor(it->path().filename().string());
        if (minor >= 0)
            nodes.emplace_back(minor, it->path().string());
    }
    std::sort(nodes.begin(), nodes.end());

    std::vector<std::string> paths;
    paths.reserve(nodes.size());
    for (auto& node : nodes)
        paths.push_back(std::move(node.second));
    return paths;
}

Result<std::vector<Device>> Device::enumerate()
{
    std::vector<std::pair<uint32_t, Device>> found;
    std::optional<Error> first_error;

    for (const auto& path : render_nodes()) {
        auto device = open(path);
        if (!device.ok()) {
            if (device.error().err != ENODEV && !first_error)
                first_error = device.error();
            continue;
        }
        auto info = device.value().query_device();
        if (!info.ok())
            return info.error();
        found.emplace_back(info.value().device_id, std::move(device).value());
    }
    if (found.empty() && first_error)
        return *first_error;

    std::stable_sort(found.begin(), found.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Device> devices;
    devices.reserve(found.size());
    for (auto& entry : found)
        devices.push_back(std::move(entry.second));
    return devices;
}

Result<DriverVersion> Device::driver_version() const
{
    std::unique_ptr<drmVersion, decltype(&drmFreeVersion)> version(drmGetVersion(fd()),
                                                                   &drmFreeVersion);
    if (!version)
        return Error::from_errno("DRM_IOCTL_VERSION on " + path_);

    const auto text = [](const char* s, int len) {
        return s ? std::string(s, len) : std::string();
    };
    return DriverVersion{
        .name = text(version->name, version->name_len),
        .major = version->version_major,
        .minor = version->version_minor,
        .patchlevel = version->version_patchlevel,
        .desc = text(version->desc, version->desc_len),
    };
}

Result<void> Device::ioctl(unsigned long request, void* arg) const
{
    int ret;
    do {
        ret = backend_->ioctl(fd(), request, arg);
    } while (ret == -EINTR || ret == -EAGAIN);

    if (ret < 0)
        return Error{-ret, request_name(request) + " on " + path_};
    return {};
}

Result<std::vector<std::byte>> Device::query(uint32_t query_id) const
{
    // An answer can grow between the size call and the data call (say, an
    // engine appears); the kernel then rejects the buffer with EINVAL and
    // the protocol starts over. Bounded so a flapping driver cannot hang us.
    constexpr int max_attempts = 8;
    const std::string context = query_name(query_id);
    uint32_t previous_size = 0;
    std::optional<Error> too_small;

    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        drm_simgpu_query q{};
        q.query = query_id;
        if (auto r = ioctl(DRM_IOCTL_SIMGPU_QUERY, &q); !r.ok())
            return with_context(r.error(), context + " size");
        if (too_small && q.size <= previous_size)
            return *too_small; // The size did not grow: a genuine EINVAL.

        const uint32_t size = q.size;
        std::vector<std::byte> answer(size);
        if (size == 0)
            return answer;

        q = drm_simgpu_query{};
        q.query = query_id;
        q.size = size;
        q.data = reinterpret_cast<uintptr_t>(answer.data());
        auto r = ioctl(DRM_IOCTL_SIMGPU_QUERY, &q);
        if (r.ok()) {
            if (q.size > size)
                return Error{EPROTO, context + ": driver reported " + std::to_string(q.size) +
                                         " bytes after filling a " + std::to_string(size) +
                                         "-byte buffer"};
            answer.resize(q.size);
            return answer;
        }
        if (r.error().err != EINVAL)
            return with_context(r.error(), context);

        too_small = with_context(r.error(), context);
        previous_size = size;
    }
    return Error{EAGAIN, context + ": answer size kept changing after " +
                             std::to_string(max_attempts) + " attempts"};
}

Result<drm_simgpu_query_device> Device::query_device() const
{
    auto answer = query(DRM_SIMGPU_QUERY_DEVICE);
    if (!answer.ok())
        return answer.error();

    const auto& bytes = answer.value();
    drm_simgpu_query_device info{};
    if (bytes.size() < sizeof(info))
        return Error{EPROTO, "DRM_SIMGPU_QUERY_DEVICE on " + path_ + ": answer is " +
                                 std::to_string(bytes.size()) + " bytes, expected " +
                                 std::to_string(sizeof(info))};
    std::memcpy(&info, bytes.data(), sizeof(info));
    return info;
}

Result<std::vector<drm_simgpu_engine_info>> Device::query_engines() const
{
    auto answer = query(DRM_SIMGPU_QUERY_ENGINES);
    if (!answer.ok())
        return answer.error();

    const auto& bytes = answer.value();
    const std::string context = "DRM_SIMGPU_QUERY_ENGINES on " + path_;
    drm_simgpu_query_engines header{};
    if (bytes.size() < sizeof(header))
        return Error{EPROTO, context + ": answer is " + std::to_string(bytes.size()) +
                                 " bytes, shorter than its header"};
    std::memcpy(&header, bytes.data(), sizeof(header));

    const size_t needed =
        sizeof(header) + size_t{header.num_engines} * sizeof(drm_simgpu_engine_info);
    if (bytes.size() < needed)
        return Error{EPROTO, context + ": " + std::to_string(header.num_engines) +
                                 " engines do not fit in " + std::to_string(bytes.size()) +
                                 " bytes"};

    std::vector<drm_simgpu_engine_info> engines(header.num_engines);
    std::memcpy(engines.data(), bytes.data() + sizeof(header),
                engines.size() * sizeof(drm_simgpu_engine_info));
    return engines;
}

} // namespace simgpu
