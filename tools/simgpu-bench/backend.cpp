// SPDX-License-Identifier: MIT
#include "backend.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <spawn.h>
#include <sys/klog.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "util.hpp"

extern char** environ;

namespace simgpu_bench {
namespace {

constexpr const char* svm_core_param = "/sys/module/simgpu/parameters/svm_core";

// Runs @args (the program looked up in PATH) and waits for it; its output
// goes where ours does.
simgpu::Result<void> run(const std::vector<std::string>& args)
{
    std::string line;
    std::vector<char*> argv;
    for (const std::string& a : args) {
        line += (line.empty() ? "" : " ") + a;
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int err = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
    if (err)
        return simgpu::Error{err, line + ": " + std::strerror(err)};
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return simgpu::Error{errno, line + ": waitpid: " + std::strerror(errno)};
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {};
    return simgpu::Error{EIO, line + (WIFEXITED(status)
                                          ? " exited " + std::to_string(WEXITSTATUS(status))
                                          : " was killed by signal " +
                                                std::to_string(WTERMSIG(status)))};
}

// The text of the last kernel log line holding @needle, from @needle on;
// empty when there is none (or the log cannot be read).
std::string last_kernel_message(const std::string& needle)
{
    const int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
    if (size <= 0)
        return "";
    std::string log(static_cast<size_t>(size), '\0');
    const int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log.data(), size);
    if (n <= 0)
        return "";
    log.resize(static_cast<size_t>(n));
    const size_t at = log.rfind(needle);
    if (at == std::string::npos)
        return "";
    return log.substr(at, log.find('\n', at) - at);
}

// Waits (10 s at most) until nothing holds the simgpu module. On
// svm_core=kernel a drm_pagemap holds it while it is in use and drops the
// reference from a worker just after its last user went.
void wait_module_unused()
{
    using namespace std::chrono_literals;
    for (int i = 0; i < 100; ++i) {
        std::ifstream f("/sys/module/simgpu/refcnt");
        int refs = -1;
        if (!(f >> refs) || refs == 0)
            return;
        std::this_thread::sleep_for(100ms);
    }
}

} // namespace

std::string loaded_backend()
{
    std::ifstream f(svm_core_param);
    if (!f) {
        // A simgpu of before the parameter has only its own core.
        std::ifstream loaded("/sys/module/simgpu/initstate");
        return loaded ? "simgpu" : "";
    }
    std::string line;
    std::getline(f, line);
    return backend_of(line);
}

simgpu::Result<void> load_backend(const std::string& backend)
{
    if (!loaded_backend().empty()) {
        wait_module_unused();
        auto r = run({"rmmod", "simgpu"});
        if (!r.ok())
            return r;
    }
    const char* params = std::getenv("SIMGPU_MODPARAMS");
    auto r = run(modprobe_args(params ? params : "", backend));
    if (r.ok())
        return r;
    const std::string why = last_kernel_message("simgpu: svm_core=");
    if (why.empty())
        return r;
    return simgpu::Error{r.error().err, r.error().what + " (" + why + ")"};
}

} // namespace simgpu_bench
