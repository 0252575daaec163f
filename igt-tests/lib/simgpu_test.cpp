// SPDX-License-Identifier: MIT
#include "simgpu_test.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <unistd.h>
#include <xf86drm.h>

#include "simgpu/counters.hpp"

namespace simgpu_test {
namespace {

constexpr uint64_t va_start = 0x100000000ULL;
constexpr uint64_t va_limit = 0x7fff00000000ULL;

std::atomic<uint64_t> next_va{va_start};
std::atomic<uint64_t> next_fence_value{0x5157000000000001ULL};

const char* param_dir = "/sys/module/simgpu/parameters/";

} // namespace

std::vector<uint16_t> Env::instances(uint16_t engine_class) const
{
    std::vector<uint16_t> out;
    for (const auto& e : engines)
        if (e.engine_class == engine_class)
            out.push_back(e.instance);
    return out;
}

uint16_t Env::num_compute() const
{
    return static_cast<uint16_t>(instances(DRM_SIMGPU_ENGINE_CLASS_COMPUTE).size());
}

std::vector<Env> open_envs()
{
    auto found = Device::enumerate();
    igt_require_f(found.ok(), "no simgpu device: %s",
                  found.ok() ? "" : found.error().message().c_str());
    igt_require_f(!found.value().empty(), "no simgpu render node found");
    std::vector<Env> envs;
    for (Device& dev : found.value()) {
        Env env{std::move(dev), {}, {}};
        auto info = env.dev.query_device();
        igt_assert_ok(info);
        env.info = info.value();
        auto engines = env.dev.query_engines();
        igt_assert_ok(engines);
        env.engines = std::move(engines).value();
        igt_assert_lte(1u, env.num_compute());
        envs.push_back(std::move(env));
    }
    return envs;
}

Env open_env()
{
    return std::move(open_envs().front());
}

uint64_t alloc_va(uint64_t size, uint64_t align)
{
    size = round_up(std::max<uint64_t>(size, 1), page_size);
    uint64_t cur = next_va.load();
    uint64_t start;
    do {
        start = round_up(cur, align);
    } while (!next_va.compare_exchange_weak(cur, start + size + page_size));
    igt_assert_f(start + size <= va_limit, "out of test GPU VA space");
    return start;
}

Vm make_vm(const Env& env, uint32_t flags)
{
    if (flags & DRM_SIMGPU_VM_CREATE_FAULT_MODE)
        igt_require_f(env.fault_mode(), "the device has no fault mode");
    auto vm = Vm::create(env.dev, flags);
    igt_assert_ok(vm);
    igt_assert_neq(vm.value().id(), 0u);
    return std::move(vm).value();
}

Vm make_fault_vm(const Env& env)
{
    return make_vm(env, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
}

ExecQueue make_queue(const Env& env, const Vm& vm, uint16_t engine_class, uint16_t instance)
{
    auto queue = ExecQueue::create(env.dev, vm, engine_class, instance);
    igt_assert_ok(queue);
    igt_assert_neq(queue.value().id(), 0u);
    return std::move(queue).value();
}

Vm make_mirror_vm(const Device& dev, const drm_simgpu_query_device& info)
{
    constexpr uint64_t caps = DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR;
    igt_require_f((info.caps & caps) == caps, "the device cannot mirror the CPU address space");
    auto vm = Vm::create(dev, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    igt_assert_ok(vm);
    igt_assert_ok(vm.value().mirror());
    return std::move(vm).value();
}

Vm make_mirror_vm(const Env& env)
{
    return make_mirror_vm(env.dev, env.info);
}

std::optional<std::map<std::string, uint64_t>> read_debugfs_counters(const std::string& file,
                                                                   uint32_t device)
{
    auto dirs = simgpu::counter_dirs();
    if (!dirs.ok() || dirs.value().size() <= device)
        return std::nullopt;
    std::ifstream in(dirs.value()[device] / file);
    if (!in)
        return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    auto counters = simgpu::parse_counters(text.str());
    if (!counters.ok())
        return std::nullopt;
    std::map<std::string, uint64_t> out;
    for (const auto& c : counters.value())
        out[c.name] = c.value;
    return out;
}

GpuBuffer make_unbound(const Device& dev, uint64_t size, uint32_t placement)
{
    size = round_up(size, page_size);
    auto bo = Bo::create(dev, size, placement);
    igt_assert_ok(bo);
    auto map = bo.value().map();
    igt_assert_ok(map);
    return GpuBuffer{std::move(bo).value(), std::move(map).value(), 0, size};
}

GpuBuffer make_buffer(const Vm& vm, uint64_t size, uint32_t placement, uint64_t va, uint32_t flags)
{
    GpuBuffer buf = make_unbound(vm.device(), size, placement);
    buf.va = va ? va : alloc_va(buf.size);
    igt_assert_ok(vm.map(buf.bo, buf.va, buf.size, 0, flags));
    return buf;
}

Job::Job(const Vm& vm, const ExecQueue& queue, uint64_t batch_bytes)
    : vm_(&vm), queue_(&queue)
{
    fence_offset_ = round_up(batch_bytes, 8);
    const uint64_t size = round_up(fence_offset_ + 8, page_size);
    auto bo = Bo::create(vm.device(), size, DRM_SIMGPU_MEM_SYSTEM);
    igt_assert_ok(bo);
    bo_ = std::move(bo).value();
    auto map = bo_.map();
    igt_assert_ok(map);
    map_ = std::move(map).value();
    bo_va_ = alloc_va(size);
    igt_assert_ok(vm.map(bo_, bo_va_, size));
    fence_value_ = next_fence_value.fetch_add(1);
}

Job::~Job()
{
    // A job that ended no longer reads its batch: give the VA back. One
    // still running keeps its mapping (the kernel keeps the pages).
    if (bo_.handle() != 0 && ended_)
        (void)vm_->unmap(bo_va_, bo_.size());
}

void Job::exec(uint64_t batch_va)
{
    batch_va_ = batch_va;
    const auto before = queue_->state();
    igt_assert_ok(before);
    failed_before_ = before.value().jobs_failed;

    if (queue_->fault_mode()) {
        const auto sync = simgpu::user_fence_out(bo_va_ + fence_offset_, fence_value_);
        igt_assert_ok(queue_->exec(batch_va, {&sync, 1}));
    } else {
        auto syncobj = Syncobj::create(vm_->device());
        igt_assert_ok(syncobj);
        syncobj_ = std::move(syncobj).value();
        const auto sync = simgpu::syncobj_out(syncobj_->handle());
        igt_assert_ok(queue_->exec(batch_va, {&sync, 1}));
    }
    const auto after = queue_->state();
    igt_assert_ok(after);
    index_ = after.value().jobs_submitted;
    igt_assert_lte(before.value().jobs_submitted + 1, index_);
}

Job Job::submit(const Vm& vm, const ExecQueue& queue, const BatchBuilder& batch)
{
    Job job(vm, queue, batch.size_bytes());
    std::memcpy(job.map_.data(), batch.dwords().data(), batch.size_bytes());
    job.exec(job.bo_va_);
    return job;
}

Job Job::submit_at(const Vm& vm, const ExecQueue& queue, uint64_t batch_va)
{
    Job job(vm, queue, 0);
    job.fence_offset_ = 0;
    job.exec(batch_va);
    return job;
}

bool Job::counted_complete(drm_simgpu_exec_queue_state* state) const
{
    const auto s = queue_->state();
    igt_assert_ok(s);
    if (state)
        *state = s.value();
    return s.value().jobs_completed >= index_;
}

bool Job::wait(int64_t timeout_ns)
{
    if (ended_)
        return true;
    if (syncobj_) {
        const auto r = syncobj_->wait(timeout_ns);
        if (!r.ok() && r.error().err == ETIME)
            return false;
        igt_assert_ok(r);
        ended_ = true;
        return true;
    }

    // Fault mode: the user fence is written on success; a failed job may
    // not write it, so the queue's completion count also ends the wait.
    const int64_t deadline = now_ns() + timeout_ns;
    const volatile uint64_t* fence = fence_cpu();
    for (;;) {
        if (*fence == fence_value_ || counted_complete()) {
            ended_ = true;
            return true;
        }
        const int64_t left = deadline - now_ns();
        if (left <= 0)
            return false;
        const auto r = simgpu::wait_user_fence(vm_->device(), fence_cpu(), fence_value_,
                                               DRM_SIMGPU_CMP_EQ, std::min<int64_t>(left, 20 * ms_ns));
        if (r.ok()) {
            ended_ = true;
            return true;
        }
        igt_assert_f(r.error().err == ETIME, "waiting for the user fence: %s",
                     r.error().message().c_str());
    }
}

JobResult Job::result(int64_t timeout_ns)
{
    igt_assert_f(wait(timeout_ns), "job %llu on queue %u did not end within %lld ms",
                 static_cast<unsigned long long>(index_), queue_->id(),
                 static_cast<long long>(timeout_ns / ms_ns));
    JobResult r;
    // The counters may trail the fence a little.
    const int64_t deadline = now_ns() + 2 * sec_ns;
    while (!counted_complete(&r.state) && now_ns() < deadline) {
        const timespec ts{0, 1'000'000};
        ::nanosleep(&ts, nullptr);
    }
    igt_assert_f(r.state.jobs_completed >= index_,
                 "job %llu ended but the queue counts %llu completed",
                 static_cast<unsigned long long>(index_),
                 static_cast<unsigned long long>(r.state.jobs_completed));

    if (syncobj_) {
        const auto status = syncobj_->fence_status();
        igt_assert_ok(status);
        r.fence_status = status.value();
        r.error = r.fence_status < 0 ? r.fence_status : 0;
    } else {
        r.fence_status = *fence_cpu() == fence_value_ ? 1 : 0;
        r.error = r.state.jobs_failed > failed_before_ ? r.state.error : 0;
        // A failed job the queue did not report would look like success.
        if (r.error == 0 && r.fence_status == 0)
            r.error = r.state.error ? r.state.error : -EPROTO;
    }
    return r;
}

JobResult run_batch(const Vm& vm, const ExecQueue& queue, const BatchBuilder& batch,
                    int64_t timeout_ns)
{
    Job job = Job::submit(vm, queue, batch);
    return job.result(timeout_ns);
}

void assert_job_ok(const JobResult& r)
{
    igt_assert_f(r.error == 0 && r.fence_status == 1,
                 "job failed: error %d (%s), fence status %d, queue error %d, fault_addr 0x%llx",
                 r.error, r.error ? std::strerror(-r.error) : "none", r.fence_status,
                 r.state.error, static_cast<unsigned long long>(r.state.fault_addr));
}

void assert_job_failed(const JobResult& r, int err, bool syncobj_fence)
{
    igt_assert_f(r.error == -err, "job error %d (%s), expected %d (%s)", r.error,
                 r.error ? std::strerror(-r.error) : "none", -err, std::strerror(err));
    if (syncobj_fence)
        igt_assert_eq(r.fence_status, -err);
    igt_assert_eq(r.state.error, -err);
    igt_assert_lte(1u, r.state.jobs_failed);
}

int fence_status(const Syncobj& syncobj)
{
    const auto status = syncobj.fence_status();
    igt_assert_ok(status);
    const int value = status.value();
    return value;
}

drm_simgpu_exec_queue_state queue_state(const ExecQueue& queue)
{
    auto s = queue.state();
    igt_assert_ok(s);
    return s.value();
}

void assert_queue_works(const Vm& vm, const ExecQueue& queue)
{
    GpuBuffer buf = make_buffer(vm, page_size);
    BatchBuilder b;
    b.store_qw(buf.gpu(8), 0x600d600d12345678ULL).store_dw(buf.gpu(0), 0x600d).batch_end();
    assert_job_ok(run_batch(vm, queue, b));
    igt_assert_eq(buf.as<uint64_t>()[1], 0x600d600d12345678ULL);
    igt_assert_eq(buf.as<uint32_t>()[0], 0x600du);
}

int64_t now_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * sec_ns + ts.tv_nsec;
}

double elapsed_ms(int64_t start_ns)
{
    return static_cast<double>(now_ns() - start_ns) / 1e6;
}

ParamRestorer::~ParamRestorer()
{
    if (!write_param(name_, old_))
        igt_info("could not restore %s to %s\n", name_.c_str(), old_.c_str());
}

bool write_param(const std::string& name, const std::string& value)
{
    return write_file(param_dir + name, value);
}

bool write_file(const std::string& path, const std::string& value)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const ssize_t n = ::write(fd, value.data(), value.size());
    const int err = errno;
    ::close(fd);
    errno = err;
    return n == static_cast<ssize_t>(value.size());
}

std::optional<std::string> read_param(const std::string& name)
{
    std::ifstream in(param_dir + name);
    std::string value;
    if (!(in >> value))
        return std::nullopt;
    return value;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

FileFd::~FileFd()
{
    if (fd >= 0)
        ::close(fd);
}

} // namespace simgpu_test
