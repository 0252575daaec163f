// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <drm/simgpu_drm.h>

namespace simgpu {

// Names of the set capability bits, lowest bit first ("fault-mode",
// "cpu-addr-mirror", "vram-migration", "atomic-hold"); unknown bits as
// "0x..".
std::vector<std::string> caps_names(uint64_t caps);

// caps_names() joined by spaces, "none" for 0.
std::string caps_to_string(uint64_t caps);

// "compute", "copy", or "class-N" for an unknown class.
std::string engine_class_name(uint16_t engine_class);

// "compute.0", "copy.1", ...
std::string engine_name(const drm_simgpu_engine_info& engine);

// Binary units: "512 B", "4 KiB", "256 MiB", "1.5 GiB".
std::string format_bytes(uint64_t bytes);

// The words of @text separated by blanks (space, tab, CR, LF), as views
// into @text.
std::vector<std::string_view> split_words(std::string_view text);

} // namespace simgpu
