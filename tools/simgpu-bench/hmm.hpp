// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "simgpu/fd.hpp"

namespace simgpu_bench {

// The kernel's reference HMM driver, test_hmm.ko (lib/test_hmm.c): a
// device file that mirrors the calling process and migrates its memory to
// fake device-private memory, driven by ioctls. simgpu-bench times those
// ioctls on the same sizes as its own workloads, as anchors. Built against
// the header of the svm-dev kernel tree (lib/test_hmm_uapi.h, CMake
// variable SIMGPU_TEST_HMM_UAPI); without it every anchor is unavailable.
class HmmMirror {
public:
    // The device file the anchors use (a device-private one).
    static constexpr const char* device_path = "/dev/hmm_dmirror0";

    // Whether the test_hmm uAPI header was there at build time, and which.
    static bool compiled();
    static std::string header();

    // Which ioctl each operation uses ("HMM_DMIRROR_READ", ...), as the
    // header names them; "" when the header lacks it.
    static std::string read_ioctl();
    static std::string write_ioctl();
    static std::string to_dev_ioctl();
    static std::string to_sys_ioctl();
    static std::string exclusive_ioctl();

    // Empty when the anchors can be measured, else why not (compiled out,
    // no device file: "modprobe test_hmm", cannot open it).
    static std::string unavailable_reason();

    // Opens device_path: a mirror of this process's whole address space
    // (an MMU interval notifier over all of it), until destruction. Throws
    // BenchError when it cannot.
    HmmMirror();

    // Each runs one ioctl over [@addr, @addr + @size) (page aligned) and
    // returns its wall time in seconds; throws BenchError when it fails or
    // copies fewer pages than asked. @bounce: @size bytes the driver copies
    // the mirrored data to (read, migrate to device) or from (write).
    // read: HMM_DMIRROR_READ, the device reads through its mirror,
    // faulting pages in (hmm_range_fault) where it has none.
    double read(void* addr, uint64_t size, void* bounce) const;
    // write: HMM_DMIRROR_WRITE, the same for writing.
    double write(void* addr, uint64_t size, const void* bounce) const;
    // to_dev: migration to device memory (migrate_vma_*), then, as
    // test_hmm always does, a read-back of the range into @bounce.
    double migrate_to_dev(void* addr, uint64_t size, void* bounce) const;
    // to_sys: migration of device pages back to system memory; throws
    // when the header has no such ioctl (see to_sys_ioctl()).
    double migrate_to_sys(void* addr, uint64_t size) const;
    // exclusive: HMM_DMIRROR_EXCLUSIVE, the device takes the pages
    // exclusive (make_device_exclusive_range(), as a GPU atomic fault does
    // under MADVISE ATOMIC_GLOBAL; a CPU access takes them back), then
    // reads them into @bounce; throws when the header has no such ioctl
    // (see exclusive_ioctl()).
    double exclusive(void* addr, uint64_t size, void* bounce) const;

private:
    simgpu::Fd fd_;
};

} // namespace simgpu_bench
