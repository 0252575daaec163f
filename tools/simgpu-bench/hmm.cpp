// SPDX-License-Identifier: MIT
#include "hmm.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "harness.hpp"

// SIMGPU_TEST_HMM_UAPI_H: the path of the kernel tree's
// lib/test_hmm_uapi.h, a string literal, defined by CMake when the header
// was found (see CMakeLists.txt). The header is never copied here.
#ifdef SIMGPU_TEST_HMM_UAPI_H
#include SIMGPU_TEST_HMM_UAPI_H
#endif

// The ioctls moved over kernel versions: 5.x had HMM_DMIRROR_MIGRATE (to
// device only); 6.0 renamed it HMM_DMIRROR_MIGRATE_TO_DEV and added
// HMM_DMIRROR_MIGRATE_TO_SYS.
#if defined(HMM_DMIRROR_MIGRATE_TO_DEV)
#define BENCH_HMM_TO_DEV HMM_DMIRROR_MIGRATE_TO_DEV
#define BENCH_HMM_TO_DEV_NAME "HMM_DMIRROR_MIGRATE_TO_DEV"
#elif defined(HMM_DMIRROR_MIGRATE)
#define BENCH_HMM_TO_DEV HMM_DMIRROR_MIGRATE
#define BENCH_HMM_TO_DEV_NAME "HMM_DMIRROR_MIGRATE"
#endif
#if defined(HMM_DMIRROR_MIGRATE_TO_SYS)
#define BENCH_HMM_TO_SYS HMM_DMIRROR_MIGRATE_TO_SYS
#define BENCH_HMM_TO_SYS_NAME "HMM_DMIRROR_MIGRATE_TO_SYS"
#endif
// HMM_DMIRROR_EXCLUSIVE came with make_device_exclusive_range() in 5.14.
#if defined(HMM_DMIRROR_EXCLUSIVE)
#define BENCH_HMM_EXCLUSIVE_NAME "HMM_DMIRROR_EXCLUSIVE"
#endif

namespace simgpu_bench {

#if defined(SIMGPU_TEST_HMM_UAPI_H) && defined(HMM_DMIRROR_READ) && defined(BENCH_HMM_TO_DEV)
#define BENCH_HAVE_TEST_HMM 1

namespace {

constexpr uint64_t page = 4096;

double run(int fd, unsigned long request, const char* name, void* addr, uint64_t size,
           const void* bounce)
{
    hmm_dmirror_cmd cmd{};
    cmd.addr = reinterpret_cast<uintptr_t>(addr);
    cmd.ptr = reinterpret_cast<uintptr_t>(bounce);
    cmd.npages = size / page;
    const double t0 = now_s();
    int r;
    do
        r = ioctl(fd, request, &cmd);
    while (r != 0 && errno == EINTR);
    const double t = now_s() - t0;
    if (r != 0)
        throw BenchError(std::string("test_hmm ") + name + " of " + std::to_string(size) +
                         " bytes: " + std::strerror(errno));
    if (cmd.cpages != cmd.npages)
        throw BenchError(std::string("test_hmm ") + name + " of " + std::to_string(cmd.npages) +
                         " pages copied " + std::to_string(cmd.cpages));
    return t;
}

} // namespace

bool HmmMirror::compiled()
{
    return true;
}

std::string HmmMirror::header()
{
    return SIMGPU_TEST_HMM_UAPI_H;
}

std::string HmmMirror::read_ioctl()
{
    return "HMM_DMIRROR_READ";
}

std::string HmmMirror::write_ioctl()
{
    return "HMM_DMIRROR_WRITE";
}

std::string HmmMirror::to_dev_ioctl()
{
    return BENCH_HMM_TO_DEV_NAME;
}

std::string HmmMirror::to_sys_ioctl()
{
#ifdef BENCH_HMM_TO_SYS
    return BENCH_HMM_TO_SYS_NAME;
#else
    return "";
#endif
}

std::string HmmMirror::exclusive_ioctl()
{
#ifdef BENCH_HMM_EXCLUSIVE_NAME
    return BENCH_HMM_EXCLUSIVE_NAME;
#else
    return "";
#endif
}

std::string HmmMirror::unavailable_reason()
{
    if (access(device_path, F_OK) != 0)
        return std::string("no ") + device_path + " (test_hmm.ko not loaded: modprobe test_hmm)";
    const int fd = open(device_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return std::string("cannot open ") + device_path + ": " + std::strerror(errno);
    close(fd);
    return "";
}

HmmMirror::HmmMirror() : fd_(open(device_path, O_RDWR | O_CLOEXEC))
{
    if (!fd_)
        throw BenchError(std::string("cannot open ") + device_path + ": " + std::strerror(errno));
}

double HmmMirror::read(void* addr, uint64_t size, void* bounce) const
{
    return run(fd_.get(), HMM_DMIRROR_READ, "HMM_DMIRROR_READ", addr, size, bounce);
}

double HmmMirror::write(void* addr, uint64_t size, const void* bounce) const
{
    return run(fd_.get(), HMM_DMIRROR_WRITE, "HMM_DMIRROR_WRITE", addr, size, bounce);
}

double HmmMirror::migrate_to_dev(void* addr, uint64_t size, void* bounce) const
{
    return run(fd_.get(), BENCH_HMM_TO_DEV, BENCH_HMM_TO_DEV_NAME, addr, size, bounce);
}

double HmmMirror::migrate_to_sys(void* addr, uint64_t size) const
{
#ifdef BENCH_HMM_TO_SYS
    return run(fd_.get(), BENCH_HMM_TO_SYS, BENCH_HMM_TO_SYS_NAME, addr, size, nullptr);
#else
    (void)addr;
    (void)size;
    throw BenchError("test_hmm_uapi.h has no HMM_DMIRROR_MIGRATE_TO_SYS");
#endif
}

double HmmMirror::exclusive(void* addr, uint64_t size, void* bounce) const
{
#ifdef BENCH_HMM_EXCLUSIVE_NAME
    return run(fd_.get(), HMM_DMIRROR_EXCLUSIVE, BENCH_HMM_EXCLUSIVE_NAME, addr, size, bounce);
#else
    (void)addr;
    (void)size;
    (void)bounce;
    throw BenchError("test_hmm_uapi.h has no HMM_DMIRROR_EXCLUSIVE");
#endif
}

#else // no usable test_hmm_uapi.h

bool HmmMirror::compiled()
{
    return false;
}

std::string HmmMirror::header()
{
    return "";
}

std::string HmmMirror::read_ioctl()
{
    return "";
}

std::string HmmMirror::write_ioctl()
{
    return "";
}

std::string HmmMirror::to_dev_ioctl()
{
    return "";
}

std::string HmmMirror::to_sys_ioctl()
{
    return "";
}

std::string HmmMirror::exclusive_ioctl()
{
    return "";
}

std::string HmmMirror::unavailable_reason()
{
#ifdef SIMGPU_TEST_HMM_UAPI_H
    return std::string("built against ") + SIMGPU_TEST_HMM_UAPI_H +
           ", which lacks HMM_DMIRROR_READ or a migrate-to-device ioctl";
#else
    return "built without test_hmm_uapi.h (configure with "
           "-DSIMGPU_TEST_HMM_UAPI=<svm-dev tree>/lib/test_hmm_uapi.h)";
#endif
}

HmmMirror::HmmMirror()
{
    throw BenchError("test_hmm anchors: " + unavailable_reason());
}

double HmmMirror::read(void*, uint64_t, void*) const
{
    throw BenchError("test_hmm anchors compiled out");
}

double HmmMirror::write(void*, uint64_t, const void*) const
{
    throw BenchError("test_hmm anchors compiled out");
}

double HmmMirror::migrate_to_dev(void*, uint64_t, void*) const
{
    throw BenchError("test_hmm anchors compiled out");
}

double HmmMirror::migrate_to_sys(void*, uint64_t) const
{
    throw BenchError("test_hmm anchors compiled out");
}

double HmmMirror::exclusive(void*, uint64_t, void*) const
{
    throw BenchError("test_hmm anchors compiled out");
}

#endif

} // namespace simgpu_bench
