// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simgpu/result.hpp"

namespace simgpu {

// Where the DRM minors keep their debugfs directories.
inline const std::filesystem::path debugfs_dri_dir = "/sys/kernel/debug/dri";

// The counter files of a simgpu primary minor, in the order they are read.
inline constexpr std::array<const char*, 4> counter_files{"simgpu_stats", "simgpu_svm",
                                                          "simgpu_vram", "simgpu_engines"};

// One counter of a device, named as read_device_counters() names it.
struct Counter {
    std::string name;
    uint64_t value = 0;

    bool operator==(const Counter&) const = default;
};

// Counters in file order.
using Counters = std::vector<Counter>;

// The value of counter @name, if present.
std::optional<uint64_t> find_counter(const Counters& counters, std::string_view name);

// Parses a debugfs counter text. Each non-empty line is either "name value"
// or "object key value key value ..." (simgpu_engines), read as the
// counters "object.key". Every name gets @prefix in front. Values are
// unsigned decimal; anything else is an error naming the line.
Result<Counters> parse_counters(std::string_view text, std::string_view prefix = {});

// The debugfs directories of the simgpu primary minors under @dri, lowest
// minor first: simgpu registers its devices in order, so entry i is
// device i. Fails when @dri cannot be read (no debugfs, not root).
Result<std::vector<std::filesystem::path>>
counter_dirs(const std::filesystem::path& dri = debugfs_dri_dir);

// The counters in counter file @file (one of counter_files) of the device
// whose debugfs directory is @dir: simgpu_stats and simgpu_svm by their
// own names, simgpu_vram as "vram_size" and "vram_used", simgpu_engines as
// "compute0.cmds" and so on. A missing file fails with err ENOENT.
Result<Counters> read_counter_file(const std::filesystem::path& dir, std::string_view file);

// The counters of all counter_files in @dir, in that order. simgpu_stats
// must be there; the other files are skipped when absent.
Result<Counters> read_device_counters(const std::filesystem::path& dir);

// The debugfs file listing every VM of every open file of a device.
inline constexpr const char* vms_file = "simgpu_vms";

// One VM of simgpu_vms: its line "vm <client>/<id>" and the indented
// "name value" lines after it (the kernel's simgpu_debugfs.c lists them).
struct VmInfo {
    uint32_t client = 0; // the open file's number on its device
    uint32_t id = 0;     // the VM id in that file
    std::string comm;    // the command that opened the file, unescaped
    Counters values;     // every other line in file order: pid, fault_mode, ...

    // The value of line @name, if present.
    std::optional<uint64_t> value(std::string_view name) const
    {
        return find_counter(values, name);
    }

    bool operator==(const VmInfo&) const = default;
};

// Parses the text of simgpu_vms. "comm" takes the octal escapes (\ooo)
// the kernel writes for whitespace and backslashes, and may be empty; every
// other value is an unsigned decimal. A header line that is not
// "vm <client>/<id>", an indented line before the first header, or a bad
// value or escape is an error (EINVAL) naming the line.
Result<std::vector<VmInfo>> parse_vms(std::string_view text);

// The VMs in simgpu_vms of the device whose debugfs directory is @dir. A
// missing file fails with err ENOENT.
Result<std::vector<VmInfo>> read_vms(const std::filesystem::path& dir);

} // namespace simgpu
