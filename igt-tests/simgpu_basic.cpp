// SPDX-License-Identifier: MIT
//
// simgpu_basic: device discovery, DRM_IOCTL_SIMGPU_QUERY and its argument
// checking, module unload/reload, and the checks of the module parameters.
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm/simgpu_drm.h>

#include "igt.hpp"
#include "simgpu/device.hpp"
#include "simgpu/fd.hpp"

namespace {

using simgpu::Device;

constexpr const char* module_name = "simgpu";
constexpr const char* module_sysfs = "/sys/module/simgpu";
constexpr uint64_t MiB = uint64_t{1} << 20;
constexpr uint32_t expected_va_bits = 48;
constexpr uint64_t known_caps = DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR |
                                 DRM_SIMGPU_CAP_VRAM_MIGRATION | DRM_SIMGPU_CAP_ATOMIC_HOLD;
constexpr std::array<uint32_t, 2> queries{DRM_SIMGPU_QUERY_DEVICE, DRM_SIMGPU_QUERY_ENGINES};

struct ModuleParams {
    uint64_t num_devices = 0;
    uint64_t vram_size = 0; // MiB
    uint64_t num_compute_engines = 0;
    uint64_t num_copy_engines = 0;

    uint64_t num_engines() const { return num_compute_engines + num_copy_engines; }

    // As finit_module() takes them: the run's own parameters
    // ($SIMGPU_MODPARAMS, e.g. the SVM core, as the guest loaded the
    // module with), then the shape read back from sysfs.
    std::string load_args() const
    {
        std::string args;
        if (const char* run = std::getenv("SIMGPU_MODPARAMS"); run && *run)
            args = std::string(run) + " ";
        return args + "num_devices=" + std::to_string(num_devices) +
               " vram_size=" + std::to_string(vram_size) +
               " num_compute_engines=" + std::to_string(num_compute_engines) +
               " num_copy_engines=" + std::to_string(num_copy_engines);
    }
};

bool module_loaded()
{
    return ::access(module_sysfs, F_OK) == 0;
}

uint64_t read_param(const char* name)
{
    const std::string path = std::string(module_sysfs) + "/parameters/" + name;
    std::ifstream in(path);
    uint64_t value = 0;
    in >> value;
    igt_assert_f(static_cast<bool>(in), "cannot read a number from %s", path.c_str());
    return value;
}

// Writes @value to the parameter @name: 0, or the errno of the open or
// the write.
int write_param(const char* name, const std::string& value)
{
    const std::string path = std::string(module_sysfs) + "/parameters/" + name;
    const simgpu::Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd)
        return errno;
    const ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n < 0)
        return errno;
    return n == static_cast<ssize_t>(value.size()) ? 0 : EIO;
}

// Puts a writable parameter back to its value when a subtest ends.
class ParamRestorer {
public:
    ParamRestorer(const char* name, uint64_t old) : name_(name), old_(old) {}
    ~ParamRestorer()
    {
        if (const int err = write_param(name_, std::to_string(old_)))
            igt_info("could not restore %s to %llu: %s\n", name_,
                     static_cast<unsigned long long>(old_), std::strerror(err));
    }
    ParamRestorer(const ParamRestorer&) = delete;
    ParamRestorer& operator=(const ParamRestorer&) = delete;

private:
    const char* name_;
    uint64_t old_;
};

ModuleParams read_params()
{
    return ModuleParams{
        .num_devices = read_param("num_devices"),
        .vram_size = read_param("vram_size"),
        .num_compute_engines = read_param("num_compute_engines"),
        .num_copy_engines = read_param("num_copy_engines"),
    };
}

std::string module_path()
{
    if (const char* ko = std::getenv("SIMGPU_KO"); ko && *ko)
        return ko;
    utsname uts{};
    ::uname(&uts);
    return std::string("/lib/modules/") + uts.release + "/extra/simgpu.ko";
}

long delete_module(unsigned flags)
{
    return ::syscall(SYS_delete_module, module_name, flags);
}

// delete_module(O_NONBLOCK), retried while something (udev, say) still holds
// the module for up to a few seconds. -1 with errno on failure.
long unload_module()
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        if (delete_module(O_NONBLOCK) == 0)
            return 0;
        const int err = errno;
        if (err != EWOULDBLOCK || std::chrono::steady_clock::now() > deadline) {
            errno = err;
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// finit_module(); -1 with errno on failure.
long load_module(const std::string& ko, const std::string& args)
{
    const simgpu::Fd fd(::open(ko.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return -1;
    return ::syscall(SYS_finit_module, fd.get(), args.c_str(), 0);
}

// A query that the driver accepts: @size bytes at @data.
drm_simgpu_query make_query(uint32_t id, void* data = nullptr, uint32_t size = 0)
{
    drm_simgpu_query q{};
    q.query = id;
    q.data = reinterpret_cast<uintptr_t>(data);
    q.size = size;
    return q;
}

simgpu::Result<void> raw_query(const Device& dev, drm_simgpu_query& q)
{
    return dev.ioctl(DRM_IOCTL_SIMGPU_QUERY, &q);
}

uint32_t answer_size(const Device& dev, uint32_t id)
{
    auto q = make_query(id);
    igt_assert_ok(raw_query(dev, q));
    igt_assert_lte(1u, q.size);
    return q.size;
}

// The query must fail with @err.
void assert_query_fails(const Device& dev, drm_simgpu_query q, int err)
{
    const auto r = raw_query(dev, q);
    igt_assert_f(!r.ok() && r.error().err == err,
                 "%s: query %u, size %u, data 0x%llx, flags 0x%x, extensions 0x%llx, pad 0x%x, "
                 "reserved {0x%llx, 0x%llx}: expected %s, got %s",
                 dev.path().c_str(), q.query, q.size, static_cast<unsigned long long>(q.data),
                 q.flags, static_cast<unsigned long long>(q.extensions), q.pad,
                 static_cast<unsigned long long>(q.reserved[0]),
                 static_cast<unsigned long long>(q.reserved[1]), std::strerror(err),
                 r.ok() ? "success" : r.error().message().c_str());
}

void assert_device_answers(const Device& dev, const ModuleParams& params)
{
    const auto info = dev.query_device();
    igt_assert_ok(info);
    igt_assert_lte(info.value().device_id + 1, params.num_devices);
    igt_assert_eq(info.value().vram_size, params.vram_size * MiB);
    igt_assert_eq(info.value().num_engines, params.num_engines());
}

// Every query, with and without a buffer, after @mutate breaks it, fails
// with EINVAL; the device keeps answering good queries.
void assert_rejected(const std::vector<Device>& devices, const ModuleParams& params,
                     const std::function<void(drm_simgpu_query&)>& mutate)
{
    for (const auto& dev : devices) {
        for (const uint32_t id : queries) {
            std::vector<std::byte> buffer(answer_size(dev, id));
            for (const bool with_buffer : {false, true}) {
                auto q = with_buffer
                             ? make_query(id, buffer.data(), static_cast<uint32_t>(buffer.size()))
                             : make_query(id);
                mutate(q);
                assert_query_fails(dev, q, EINVAL);
            }
        }
        assert_device_answers(dev, params);
    }
}

// An anonymous mapping, unmapped on destruction.
class Mapping {
public:
    Mapping(size_t size, int prot) : size_(size)
    {
        addr_ = ::mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        igt_assert_f(addr_ != MAP_FAILED, "mmap of %zu bytes failed", size);
    }
    ~Mapping()
    {
        if (addr_ != MAP_FAILED)
            ::munmap(addr_, size_);
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;

    std::byte* data() const { return static_cast<std::byte*>(addr_); }

private:
    size_t size_;
    void* addr_ = MAP_FAILED;
};

// Puts the module back, with the devices open, however a module subtest
// ends: reloads it when it is gone and reopens the devices when closed.
class ModuleRestorer {
public:
    ModuleRestorer(std::vector<Device>& devices, const ModuleParams& params)
        : devices_(devices), params_(params)
    {
    }
    ~ModuleRestorer()
    {
        if (!module_loaded()) {
            const std::string ko = module_path();
            if (load_module(ko, params_.load_args()) != 0)
                igt_info("could not reload %s: %s\n", ko.c_str(), std::strerror(errno));
        }
        if (devices_.empty() && module_loaded()) {
            auto found = Device::enumerate();
            if (found.ok())
                devices_ = std::move(found).value();
            else
                igt_info("could not reopen the devices: %s\n", found.error().message().c_str());
        }
    }
    ModuleRestorer(const ModuleRestorer&) = delete;
    ModuleRestorer& operator=(const ModuleRestorer&) = delete;

private:
    std::vector<Device>& devices_;
    const ModuleParams& params_;
};

// The devices of a freshly loaded module; waits a little for their nodes.
std::vector<Device> wait_for_devices(const ModuleParams& params)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        auto found = Device::enumerate();
        igt_assert_ok(found);
        if (found.value().size() == params.num_devices ||
            std::chrono::steady_clock::now() > deadline)
            return std::move(found).value();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// The module's file, for the subtests that load it; skips without it.
std::string require_module_file()
{
    const std::string ko = module_path();
    igt_require_f(::access(ko.c_str(), R_OK) == 0, "%s not found (set SIMGPU_KO)", ko.c_str());
    return ko;
}

// --- Subtests on the open devices -----------------------------------------

void open_close(const std::vector<Device>& devices, const ModuleParams& params)
{
    igt_assert_eq(devices.size(), params.num_devices);
    for (size_t i = 0; i < devices.size(); ++i) {
        const auto& dev = devices[i];
        const auto version = dev.driver_version();
        igt_assert_ok(version);
        igt_assert_eq(version.value().name, std::string(module_name));
        igt_assert_eq(version.value().major, 1);
        igt_assert_eq(version.value().minor, 0);

        // enumerate() sorts by device_id, so 0..n-1 in order means distinct.
        const auto info = dev.query_device();
        igt_assert_ok(info);
        igt_assert_eq(info.value().device_id, i);
    }
    for (const auto& dev : devices) {
        for (int i = 0; i < 100; ++i) {
            const auto reopened = Device::open(dev.path());
            igt_assert_ok(reopened);
            igt_assert_neq(reopened.value().fd(), dev.fd());
        }
        assert_device_answers(dev, params);
    }
}

void query_device(const std::vector<Device>& devices, const ModuleParams& params)
{
    for (const auto& dev : devices) {
        // @data is ignored when @size is 0.
        auto q = make_query(DRM_SIMGPU_QUERY_DEVICE, reinterpret_cast<void*>(0x10));
        igt_assert_ok(raw_query(dev, q));
        igt_assert_eq(q.size, sizeof(drm_simgpu_query_device));

        drm_simgpu_query_device info;
        std::memset(&info, 0xa5, sizeof(info));
        q = make_query(DRM_SIMGPU_QUERY_DEVICE, &info, sizeof(info));
        igt_assert_ok(raw_query(dev, q));
        igt_assert_eq(q.size, sizeof(info));

        igt_assert_lte(info.device_id + 1, params.num_devices);
        igt_assert_eq(info.vram_size, params.vram_size * MiB);
        igt_assert_eq(info.va_bits, expected_va_bits);
        igt_assert_eq(info.num_engines, params.num_engines());
        igt_assert_eq(info.caps & ~known_caps, 0u);
        // Where pages migrate to VRAM, GPU atomics can hold them too.
        if (info.caps & DRM_SIMGPU_CAP_VRAM_MIGRATION)
            igt_assert(info.caps & DRM_SIMGPU_CAP_ATOMIC_HOLD);
        igt_assert_eq(info.pad, 0u);
        for (const auto reserved : info.reserved)
            igt_assert_eq(reserved, 0u);

        // A larger buffer: the answer keeps its size, the tail is untouched.
        std::array<std::byte, sizeof(info) + 64> big;
        big.fill(std::byte{0x5a});
        q = make_query(DRM_SIMGPU_QUERY_DEVICE, big.data(), big.size());
        igt_assert_ok(raw_query(dev, q));
        igt_assert_eq(q.size, sizeof(info));
        igt_assert(std::memcmp(big.data(), &info, sizeof(info)) == 0);
        for (size_t i = sizeof(info); i < big.size(); ++i)
            igt_assert_eq(static_cast<int>(big[i]), 0x5a);

        const auto through_lib = dev.query_device();
        igt_assert_ok(through_lib);
        igt_assert(std::memcmp(&through_lib.value(), &info, sizeof(info)) == 0);
    }
}

void query_engines(const std::vector<Device>& devices, const ModuleParams& params)
{
    for (const auto& dev : devices) {
        const size_t expected_size = sizeof(drm_simgpu_query_engines) +
                                     params.num_engines() * sizeof(drm_simgpu_engine_info);
        const uint32_t size = answer_size(dev, DRM_SIMGPU_QUERY_ENGINES);
        igt_assert_eq(size, expected_size);

        std::vector<std::byte> buffer(size, std::byte{0xa5});
        auto q = make_query(DRM_SIMGPU_QUERY_ENGINES, buffer.data(), size);
        igt_assert_ok(raw_query(dev, q));
        igt_assert_eq(q.size, size);

        drm_simgpu_query_engines header;
        std::memcpy(&header, buffer.data(), sizeof(header));
        igt_assert_eq(header.num_engines, params.num_engines());
        igt_assert_eq(header.pad, 0u);
        const auto info = dev.query_device();
        igt_assert_ok(info);
        igt_assert_eq(header.num_engines, info.value().num_engines);

        for (uint32_t i = 0; i < header.num_engines; ++i) {
            drm_simgpu_engine_info engine;
            std::memcpy(&engine, buffer.data() + sizeof(header) + i * sizeof(engine),
                        sizeof(engine));
            const bool compute = i < params.num_compute_engines;
            igt_assert_eq(engine.engine_class, compute ? DRM_SIMGPU_ENGINE_CLASS_COMPUTE
                                                       : DRM_SIMGPU_ENGINE_CLASS_COPY);
            igt_assert_eq(engine.instance, compute ? i : i - params.num_compute_engines);
            igt_assert_eq(engine.pad, 0u);
            igt_assert_eq(engine.reserved, 0u);
        }

        const auto engines = dev.query_engines();
        igt_assert_ok(engines);
        igt_assert_eq(engines.value().size(), header.num_engines);
        igt_assert(std::memcmp(engines.value().data(), buffer.data() + sizeof(header),
                               size - sizeof(header)) == 0);
    }
}

void query_size_too_small(const std::vector<Device>& devices, const ModuleParams& params)
{
    for (const auto& dev : devices) {
        for (const uint32_t id : queries) {
            const uint32_t needed = answer_size(dev, id);
            std::vector<std::byte> buffer(needed);
            for (const uint32_t size : {needed - 1, 1u}) {
                if (size == 0)
                    continue;
                assert_query_fails(dev, make_query(id, buffer.data(), size), EINVAL);
            }
        }
        assert_device_answers(dev, params);
    }
}

void bad_extensions(const std::vector<Device>& devices, const ModuleParams& params)
{
    for (const uint64_t value : {uint64_t{1}, uint64_t{1} << 63, ~uint64_t{0}})
        assert_rejected(devices, params, [value](auto& q) { q.extensions = value; });
}

void bad_flags(const std::vector<Device>& devices, const ModuleParams& params)
{
    for (const uint32_t value : {1u, 1u << 31, ~0u})
        assert_rejected(devices, params, [value](auto& q) { q.flags = value; });
}

void bad_pad(const std::vector<Device>& devices, const ModuleParams& params)
{
    for (const uint32_t value : {1u, ~0u})
        assert_rejected(devices, params, [value](auto& q) { q.pad = value; });
}

void bad_reserved(const std::vector<Device>& devices, const ModuleParams& params)
{
    for (size_t i = 0; i < std::size(drm_simgpu_query{}.reserved); ++i)
        for (const uint64_t value : {uint64_t{1}, ~uint64_t{0}})
            assert_rejected(devices, params, [i, value](auto& q) { q.reserved[i] = value; });
}

void bad_query(const std::vector<Device>& devices, const ModuleParams& params)
{
    for (const uint32_t id : {2u, 3u, 0x80000000u, 0xffffffffu})
        assert_rejected(devices, params, [id](auto& q) { q.query = id; });
}

void bad_data_pointer(const std::vector<Device>& devices, const ModuleParams& params)
{
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const Mapping none(page, PROT_NONE);
    const Mapping readonly(page, PROT_READ);
    // The answer starts in a writable page and runs into a PROT_NONE one.
    const Mapping straddle(2 * page, PROT_READ | PROT_WRITE);
    igt_assert_ok(::mprotect(straddle.data() + page, page, PROT_NONE));

    for (const auto& dev : devices) {
        for (const uint32_t id : queries) {
            const uint32_t size = answer_size(dev, id);
            for (std::byte* data : {reinterpret_cast<std::byte*>(0x10), none.data(),
                                    readonly.data(), straddle.data() + page - 8})
                assert_query_fails(dev, make_query(id, data, size), EFAULT);
        }
        assert_device_answers(dev, params);
    }
}

void bad_ioctl_number(const std::vector<Device>& devices, const ModuleParams& params)
{
    const unsigned long bad = DRM_IOWR(DRM_COMMAND_BASE + 0x3f, struct drm_simgpu_query);
    for (const auto& dev : devices) {
        auto q = make_query(DRM_SIMGPU_QUERY_DEVICE);
        igt_assert_errno(dev.ioctl(bad, &q), EINVAL);
        assert_device_answers(dev, params);
    }
}

struct QueryCase {
    const char* name;
    const char* description;
    void (*fn)(const std::vector<Device>& devices, const ModuleParams& params);
};

const QueryCase query_cases[] = {
    {"open-close",
     "every device answers as simgpu 1.0 with its device_id in order, and opens 100 times more",
     open_close},
    {"query-device",
     "QUERY_DEVICE reports the module's shape, known caps and zero padding, and leaves the "
     "tail of a larger buffer untouched",
     query_device},
    {"query-engines",
     "QUERY_ENGINES lists the compute engines, then the copy engines, as many as QUERY_DEVICE "
     "counts",
     query_engines},
    {"query-size-too-small", "both queries fail with EINVAL into a buffer smaller than the answer",
     query_size_too_small},
    {"bad-extensions", "both queries fail with EINVAL with extensions set", bad_extensions},
    {"bad-flags", "both queries fail with EINVAL with flags set", bad_flags},
    {"bad-pad", "both queries fail with EINVAL with a pad that is not 0", bad_pad},
    {"bad-reserved", "both queries fail with EINVAL with a reserved field set", bad_reserved},
    {"bad-query", "a query of an unknown id fails with EINVAL", bad_query},
    {"bad-data-pointer",
     "both queries fail with EFAULT into a bad, PROT_NONE, read-only or partly PROT_NONE buffer",
     bad_data_pointer},
    {"bad-ioctl-number", "a driver ioctl number past the last one fails with EINVAL",
     bad_ioctl_number},
};

// --- Subtests that unload the module or change its parameters (root) --------

void module_unload_busy(std::vector<Device>& devices, const ModuleParams& params)
{
    const ModuleRestorer restorer(devices, params);
    igt_assert_errno(delete_module(O_NONBLOCK), EWOULDBLOCK);
    igt_assert(module_loaded());
    for (const auto& dev : devices)
        assert_device_answers(dev, params);
}

// Issue #15: values that made the module hang a killed process in D
// state (svm_timeslice_ms) or fail every job (job_timeout_ms) are
// refused, and the parameter keeps its value.
void param_writes_rejected(std::vector<Device>& devices, const ModuleParams& params)
{
    struct Bad {
        const char* param;
        std::vector<std::string> values;
        std::string good; // the documented limit, accepted
    };
    const std::vector<Bad> bad{
        {"svm_timeslice_ms",
         {"4294967295", "4294967295\n", "1001", "4294967296", "-1", "\n", "abc", "20ms"},
         "1000"},
        {"job_timeout_ms", {"0", "0\n", "600001", "4294967295", "-5000", "abc"}, "600000"},
    };
    // (An empty write does not reach the module: sysfs returns 0.)
    for (const auto& b : bad) {
        const uint64_t old = read_param(b.param);
        const ParamRestorer restore(b.param, old);
        for (const auto& value : b.values) {
            igt_assert_f(write_param(b.param, value) == EINVAL,
                         "writing \"%s\" to %s did not fail with EINVAL", value.c_str(),
                         b.param);
            igt_assert_eq(read_param(b.param), old);
        }
        igt_assert_eq(write_param(b.param, b.good), 0);
        igt_assert_eq(std::to_string(read_param(b.param)), b.good);
    }
    // Read-only: set at load only.
    igt_assert_eq(write_param("notifier_size", "3"), EACCES);
    for (const auto& dev : devices)
        assert_device_answers(dev, params);
}

// Issue #15: a notifier_size that is no power of two, or out of
// range, made every CPU_ADDR_MIRROR MAP fail; the load fails instead,
// and so do the other parameters' bad values, the devices' shape and
// malformed link groups included.
void param_load_rejected(std::vector<Device>& devices, const ModuleParams& params)
{
    const std::string ko = require_module_file();
    const std::string args = params.load_args();

    const ModuleRestorer restorer(devices, params);
    devices.clear(); // close every fd: they hold the module
    igt_assert_ok(unload_module());

    for (const char* bad : {"notifier_size=0", "notifier_size=1", "notifier_size=3",
                            "notifier_size=768", "notifier_size=8192",
                            "notifier_size=4294967295", "notifier_size=abc",
                            "svm_timeslice_ms=4294967295", "svm_timeslice_ms=1001",
                            "job_timeout_ms=0", "job_timeout_ms=600001",
                            // The devices' shape, and their links.
                            "num_devices=0", "num_devices=9", "vram_size=0",
                            "vram_size=3", "vram_size=4294967295",
                            "num_compute_engines=0", "num_copy_engines=9",
                            "link_groups=0,0", "link_groups=5", "link_groups=a;b",
                            "link_groups=0,1;1,0", "svm_core=bogus"}) {
        igt_assert_f(load_module(ko, args + " " + bad) == -1 && errno == EINVAL,
                     "loading with %s did not fail with EINVAL: %s", bad,
                     std::strerror(errno));
        igt_assert_f(!module_loaded(), "%s exists after loading with %s", module_sysfs, bad);
    }

    // The reproducer, through modprobe (the guest's, which
    // also loads what simgpu depends on).
    const std::string modprobe =
        "modprobe simgpu " + args + " notifier_size=3 >/dev/null 2>&1";
    const int rc = std::system(modprobe.c_str());
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 127) {
        igt_info("no modprobe: skipped \"%s\"\n", modprobe.c_str());
    } else {
        igt_assert_f(rc != 0, "\"%s\" succeeded", modprobe.c_str());
        igt_assert(!module_loaded());
    }

    // The limits themselves load; then the restorer loads the module
    // as it was.
    for (const auto& [limits, notifier, timeslice, timeout] :
         {std::tuple{"notifier_size=2 svm_timeslice_ms=0 job_timeout_ms=1", 2, 0, 1},
          std::tuple{"notifier_size=4096 svm_timeslice_ms=1000 job_timeout_ms=600000", 4096,
                     1000, 600000}}) {
        igt_assert_ok(load_module(ko, args + " " + limits));
        igt_assert_eq(read_param("notifier_size"), notifier);
        igt_assert_eq(read_param("svm_timeslice_ms"), timeslice);
        igt_assert_eq(read_param("job_timeout_ms"), timeout);
        {
            const auto reloaded = wait_for_devices(params);
            igt_assert_eq(reloaded.size(), params.num_devices);
            for (const auto& dev : reloaded)
                assert_device_answers(dev, params);
        }
        igt_assert_ok(unload_module());
    }
}

void module_reload(std::vector<Device>& devices, const ModuleParams& params)
{
    const std::string ko = require_module_file();
    const std::string args = params.load_args();

    const ModuleRestorer restorer(devices, params);
    devices.clear(); // close every fd: they hold the module
    for (int i = 0; i < 20; ++i) {
        igt_assert_ok(unload_module());
        igt_assert_f(!module_loaded(), "%s still exists after unload %d", module_sysfs, i);

        igt_assert_ok(load_module(ko, args));
        const auto reloaded = wait_for_devices(params);
        igt_assert_eq(reloaded.size(), params.num_devices);
        for (size_t d = 0; d < reloaded.size(); ++d) {
            const auto info = reloaded[d].query_device();
            igt_assert_ok(info);
            igt_assert_eq(info.value().device_id, d);
            igt_assert_eq(info.value().vram_size, params.vram_size * MiB);
            igt_assert_eq(info.value().num_engines, params.num_engines());
        }
    }
}

struct ModuleCase {
    const char* name;
    const char* description;
    void (*fn)(std::vector<Device>& devices, const ModuleParams& params);
};

const ModuleCase module_cases[] = {
    {"module-unload-busy", "the module refuses to unload (EWOULDBLOCK) while its devices are open",
     module_unload_busy},
    {"param-writes-rejected",
     "out-of-range writes to svm_timeslice_ms and job_timeout_ms fail with EINVAL and keep the "
     "value; notifier_size is read-only",
     param_writes_rejected},
    {"param-load-rejected",
     "loading with a bad parameter or device shape fails with EINVAL and leaves no module; "
     "the limits load",
     param_load_rejected},
    {"module-reload", "the module unloads and loads again 20 times, its devices coming back",
     module_reload},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    std::vector<Device> devices;
    ModuleParams params;

    t.fixture([&] {
        igt_require_f(module_loaded(), "the %s module is not loaded", module_name);
        params = read_params();
        auto found = Device::enumerate();
        igt_assert_ok(found);
        devices = std::move(found).value();
        igt_require_f(!devices.empty(), "no %s render node found", module_name);
    });

    for (const QueryCase& c : query_cases)
        t.subtest(c.name, c.description, [&] { c.fn(devices, params); });

    t.fixture([] { igt_require_f(::geteuid() == 0, "module subtests need root"); });

    for (const ModuleCase& c : module_cases)
        t.subtest(c.name, c.description, [&] { c.fn(devices, params); });

    return t.exit_code();
}
