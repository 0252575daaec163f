// SPDX-License-Identifier: MIT
#include "simgpu/format.hpp"

#include <array>
#include <bit>
#include <cstdio>
#include <utility>

namespace simgpu {

std::vector<std::string> caps_names(uint64_t caps)
{
    static constexpr std::array<std::pair<uint64_t, const char*>, 4> known{{
        {DRM_SIMGPU_CAP_FAULT_MODE, "fault-mode"},
        {DRM_SIMGPU_CAP_CPU_ADDR_MIRROR, "cpu-addr-mirror"},
        {DRM_SIMGPU_CAP_VRAM_MIGRATION, "vram-migration"},
        {DRM_SIMGPU_CAP_ATOMIC_HOLD, "atomic-hold"},
    }};

    std::vector<std::string> names;
    for (const auto& [bit, name] : known) {
        if (caps & bit) {
            names.emplace_back(name);
            caps &= ~bit;
        }
    }
    while (caps) {
        const uint64_t bit = uint64_t{1} << std::countr_zero(caps);
        char buf[32];
        std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(bit));
        names.emplace_back(buf);
        caps &= ~bit;
    }
    return names;
}

std::string caps_to_string(uint64_t caps)
{
    if (caps == 0)
        return "none";
    std::string out;
    for (const auto& name : caps_names(caps)) {
        if (!out.empty())
            out += ' ';
        out += name;
    }
    return out;
}

std::string engine_class_name(uint16_t engine_class)
{
    switch (engine_class) {
    case DRM_SIMGPU_ENGINE_CLASS_COMPUTE:
        return "compute";
    case DRM_SIMGPU_ENGINE_CLASS_COPY:
        return "copy";
    default:
        return "class-" + std::to_string(engine_class);
    }
}

std::string engine_name(const drm_simgpu_engine_info& engine)
{
    return engine_class_name(engine.engine_class) + "." + std::to_string(engine.instance);
}

std::string format_bytes(uint64_t bytes)
{
    static constexpr std::array<const char*, 7> units{"B",   "KiB", "MiB", "GiB",
                                                      "TiB", "PiB", "EiB"};

    size_t unit = 0;
    while (unit + 1 < units.size() && bytes >= (uint64_t{1} << (10 * (unit + 1))))
        ++unit;

    const uint64_t scale = uint64_t{1} << (10 * unit);
    if (bytes % scale == 0)
        return std::to_string(bytes / scale) + " " + units[unit];

    // Up to two decimals, trailing zeros dropped: "1.5 GiB", "1.25 MiB".
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f",
                  static_cast<double>(bytes) / static_cast<double>(scale));
    std::string number = buf;
    while (number.back() == '0')
        number.pop_back();
    if (number.back() == '.')
        number.pop_back();
    return number + " " + units[unit];
}

std::vector<std::string_view> split_words(std::string_view text)
{
    constexpr std::string_view blanks = " \t\r\n";
    std::vector<std::string_view> words;
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t start = text.find_first_not_of(blanks, pos);
        if (start == std::string_view::npos)
            break;
        size_t end = text.find_first_of(blanks, start);
        if (end == std::string_view::npos)
            end = text.size();
        words.push_back(text.substr(start, end - start));
        pos = end;
    }
    return words;
}

} // namespace simgpu
