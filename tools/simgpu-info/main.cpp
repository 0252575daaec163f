// SPDX-License-Identifier: MIT
//
// simgpu-info: lists the simgpu devices of this machine.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simgpu/counters.hpp"
#include "simgpu/device.hpp"
#include "simgpu/format.hpp"

namespace {

struct DeviceReport {
    std::string node;
    simgpu::DriverVersion version;
    drm_simgpu_query_device info;
    std::vector<drm_simgpu_engine_info> engines;
    // From debugfs (root only): VRAM held by buffer objects and by SVM,
    // and the VMs of every open file.
    std::optional<uint64_t> vram_bo;
    std::optional<uint64_t> vram_svm;
    std::optional<std::vector<simgpu::VmInfo>> vms;
};

// Fills the VRAM use and the VMs of @reports from the devices' debugfs
// directories, which come in device order; left empty where debugfs
// cannot be read.
void add_debugfs(std::vector<DeviceReport>& reports)
{
    auto dirs = simgpu::counter_dirs();
    if (!dirs.ok())
        return;
    for (auto& r : reports) {
        if (r.info.device_id >= dirs.value().size())
            continue;
        const auto& dir = dirs.value()[r.info.device_id];
        if (auto c = simgpu::read_counter_file(dir, "simgpu_vram"); c.ok()) {
            r.vram_bo = simgpu::find_counter(c.value(), "vram_used_bo");
            r.vram_svm = simgpu::find_counter(c.value(), "vram_used_svm");
        }
        auto vms = simgpu::read_vms(dir);
        if (vms.ok())
            r.vms = std::move(vms).value();
        else if (vms.error().err != ENOENT)
            std::fprintf(stderr, "simgpu-info: %s\n", vms.error().message().c_str());
    }
}

uint64_t value(const simgpu::VmInfo& vm, std::string_view name)
{
    return vm.value(name).value_or(0);
}

std::string pages(const simgpu::VmInfo& vm, std::string_view name)
{
    return simgpu::format_bytes(value(vm, name) * DRM_SIMGPU_PAGE_SIZE);
}

void print_vm(const simgpu::VmInfo& vm)
{
    std::cout << "    vm " << vm.client << "/" << vm.id << "  pid " << value(vm, "pid") << " "
              << vm.comm << "  " << (value(vm, "fault_mode") ? "fault-mode" : "no fault-mode");
    if (value(vm, "mirror"))
        std::cout << ", mirrors pid " << value(vm, "mirror_pid");
    std::cout << "\n";
    std::cout << "      mappings  buffer objects " << value(vm, "bo_mappings") << ", mirror "
              << value(vm, "mirror_mappings") << "\n";
    std::cout << "      ranges    " << value(vm, "ranges") << ": 2M " << value(vm, "ranges_2M")
              << ", 64K " << value(vm, "ranges_64K") << ", 4K " << value(vm, "ranges_4K") << "\n";
    std::cout << "      mapped    SVM " << pages(vm, "svm_system_pages") << " system, "
              << pages(vm, "svm_vram_pages") << " VRAM, " << pages(vm, "svm_peer_pages")
              << " peer VRAM; buffer objects " << pages(vm, "bo_system_pages") << " system, "
              << pages(vm, "bo_vram_pages") << " VRAM\n";
    std::cout << "      faults    retried " << value(vm, "faults_retried") << ", cancelled "
              << value(vm, "faults_cancelled") << ", pages faulted in "
              << value(vm, "pages_faulted") << "\n";
}

simgpu::Result<DeviceReport> report(const simgpu::Device& device)
{
    auto version = device.driver_version();
    if (!version.ok())
        return version.error();
    auto info = device.query_device();
    if (!info.ok())
        return info.error();
    auto engines = device.query_engines();
    if (!engines.ok())
        return engines.error();
    return DeviceReport{device.path(), std::move(version).value(), info.value(),
                        std::move(engines).value(), std::nullopt, std::nullopt,
                        std::nullopt};
}

std::string json_string(std::string_view s)
{
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

void print_text(const std::vector<DeviceReport>& reports)
{
    std::cout << "simgpu: " << reports.size() << (reports.size() == 1 ? " device" : " devices")
              << "\n";
    for (const auto& r : reports) {
        std::cout << "device " << r.info.device_id << "  " << r.node << "  " << r.version.name
                  << " " << r.version.number() << "\n";
        std::cout << "  vram      " << simgpu::format_bytes(r.info.vram_size);
        if (r.vram_bo && r.vram_svm)
            std::cout << " (in use: " << simgpu::format_bytes(*r.vram_bo) << " buffer objects, "
                      << simgpu::format_bytes(*r.vram_svm) << " SVM)";
        std::cout << "\n";
        std::cout << "  va bits   " << r.info.va_bits << "\n";
        std::cout << "  caps      " << simgpu::caps_to_string(r.info.caps) << "\n";
        std::cout << "  links    ";
        if (!r.info.link_mask)
            std::cout << " none";
        for (uint32_t d = 0; d < 64; ++d)
            if (r.info.link_mask >> d & 1)
                std::cout << " device " << d;
        std::cout << "\n";
        std::cout << "  engines  ";
        if (r.engines.empty())
            std::cout << " none";
        for (const auto& e : r.engines)
            std::cout << " " << simgpu::engine_name(e);
        std::cout << "\n";
        if (!r.vms)
            continue;
        std::cout << "  vms       ";
        if (r.vms->empty())
            std::cout << "none";
        else
            std::cout << r.vms->size();
        std::cout << "\n";
        for (const auto& vm : *r.vms)
            print_vm(vm);
    }
}

void print_json(const std::vector<DeviceReport>& reports)
{
    std::ostringstream out;
    out << "{\"devices\": [";
    for (size_t i = 0; i < reports.size(); ++i) {
        const auto& r = reports[i];
        out << (i ? ", " : "") << "{\"device_id\": " << r.info.device_id
            << ", \"node\": " << json_string(r.node)
            << ", \"driver\": {\"name\": " << json_string(r.version.name)
            << ", \"major\": " << r.version.major << ", \"minor\": " << r.version.minor
            << ", \"patchlevel\": " << r.version.patchlevel
            << "}, \"vram_size\": " << r.info.vram_size << ", \"va_bits\": " << r.info.va_bits
            << ", \"caps\": " << r.info.caps << ", \"caps_names\": [";
        const auto caps = simgpu::caps_names(r.info.caps);
        for (size_t c = 0; c < caps.size(); ++c)
            out << (c ? ", " : "") << json_string(caps[c]);
        out << "], \"links\": [";
        for (uint32_t d = 0, n = 0; d < 64; ++d)
            if (r.info.link_mask >> d & 1)
                out << (n++ ? ", " : "") << d;
        out << "]";
        if (r.vram_bo && r.vram_svm)
            out << ", \"vram_used_bo\": " << *r.vram_bo << ", \"vram_used_svm\": " << *r.vram_svm;
        out << ", \"engines\": [";
        for (size_t e = 0; e < r.engines.size(); ++e) {
            const auto& engine = r.engines[e];
            out << (e ? ", " : "") << "{\"name\": " << json_string(simgpu::engine_name(engine))
                << ", \"class\": " << json_string(simgpu::engine_class_name(engine.engine_class))
                << ", \"instance\": " << engine.instance << "}";
        }
        out << "]";
        if (r.vms) {
            out << ", \"vms\": [";
            for (size_t v = 0; v < r.vms->size(); ++v) {
                const auto& vm = (*r.vms)[v];
                out << (v ? ", " : "") << "{\"client\": " << vm.client << ", \"id\": " << vm.id
                    << ", \"comm\": " << json_string(vm.comm);
                for (const auto& c : vm.values)
                    out << ", " << json_string(c.name) << ": " << c.value;
                out << "}";
            }
            out << "]";
        }
        out << "}";
    }
    out << "]}\n";
    std::cout << out.str();
}

void usage(std::FILE* stream, const char* argv0)
{
    std::fprintf(stream,
                 "Usage: %s [--json]\n"
                 "List the simgpu devices and what they report; as root also their\n"
                 "VRAM use by buffer objects and by SVM, and every VM of every open\n"
                 "file: its owner, mappings, SVM ranges, pages mapped and faults\n"
                 "(from debugfs).\n"
                 "\n"
                 "  --json   print one JSON object instead of text\n"
                 "  --help   show this help\n",
                 argv0);
}

} // namespace

int main(int argc, char** argv)
{
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--json") {
            json = true;
        } else if (arg == "--help" || arg == "-h") {
            usage(stdout, argv[0]);
            return 0;
        } else {
            std::fprintf(stderr, "simgpu-info: unknown argument '%s'\n", argv[i]);
            usage(stderr, argv[0]);
            return 2;
        }
    }

    auto devices = simgpu::Device::enumerate();
    if (!devices.ok()) {
        std::fprintf(stderr, "simgpu-info: %s\n", devices.error().message().c_str());
        return 1;
    }
    if (devices.value().empty()) {
        std::fprintf(stderr,
                     "simgpu-info: no simgpu device found (is the simgpu module loaded?)\n");
        return 1;
    }

    std::vector<DeviceReport> reports;
    for (const auto& device : devices.value()) {
        auto r = report(device);
        if (!r.ok()) {
            std::fprintf(stderr, "simgpu-info: %s\n", r.error().message().c_str());
            return 1;
        }
        reports.push_back(std::move(r).value());
    }

    add_debugfs(reports);
    if (json)
        print_json(reports);
    else
        print_text(reports);
    return 0;
}
