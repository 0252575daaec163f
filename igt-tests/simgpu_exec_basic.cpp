// SPDX-License-Identifier: MIT
//
// simgpu_exec_basic: exec queues and EXEC: the command ISA and the built-in
// kernels checked against CPU references, atomics across queues, chaining,
// WAIT against the CPU, job errors (faults, invalid commands, timeouts)
// and recovery, preemption, user fences and their eventfds (EXEC and
// VM_BIND), and the argument checking of EXEC, EXEC_QUEUE_* and
// WAIT_USER_FENCE.
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm/simgpu_drm.h>
#include <xf86drm.h>

#include "igt.hpp"
#include "simgpu/fd.hpp"
#include "simgpu/waiter.hpp"
#include "simgpu_test.hpp"

namespace {

using namespace simgpu_test;
using simgpu::EventFd;
using simgpu::Result;
using simgpu::Waiter;

constexpr uint64_t large_size = 16 * MiB;
constexpr uint32_t num_elements = 64 * 1024;
constexpr uint32_t num_list_nodes = 4096;

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Deterministic data.
std::vector<uint32_t> random_u32(size_t n, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::vector<uint32_t> v(n);
    for (auto& x : v)
        x = rng();
    return v;
}

template <typename T>
void put(const GpuBuffer& buf, const std::vector<T>& data, uint64_t offset = 0)
{
    igt_assert_lte(offset + data.size() * sizeof(T), buf.size);
    std::memcpy(buf.bytes() + offset, data.data(), data.size() * sizeof(T));
}

// Compares @n elements of @buf with @expected, reporting the first mismatch.
template <typename T>
void check_equal(const T* got, const T* expected, size_t n, const char* what)
{
    for (size_t i = 0; i < n; ++i)
        if (got[i] != expected[i])
            igt_fail("%s: element %zu is 0x%llx, expected 0x%llx", what, i,
                     static_cast<unsigned long long>(got[i]),
                     static_cast<unsigned long long>(expected[i]));
}

template <typename Args>
JobResult run_kernel(const Vm& vm, const ExecQueue& queue, uint32_t kernel, const Args& args,
                     uint32_t workgroup = 0)
{
    GpuBuffer block = make_buffer(vm, sizeof(Args));
    std::memcpy(block.bytes(), &args, sizeof(Args));
    BatchBuilder b;
    b.launch(kernel, block.gpu(), workgroup).batch_end();
    return run_batch(vm, queue, b);
}

// The errno-returning raw ioctl.
template <typename T>
Result<void> raw(const Env& env, unsigned long request, T& args)
{
    return env.dev.ioctl(request, &args);
}

// Calls @check on copies of the ioctl argument @base, each with one more
// field that must be zero made nonzero: extensions, pad (where @with_pad and
// @base has one), then each reserved word.
template <typename T, typename Check>
void each_nonzero_field(const T& base, bool with_pad, const Check& check)
{
    T x = base;
    x.extensions = 1;
    check(x);
    if constexpr (requires { x.pad; }) {
        if (with_pad) {
            x = base;
            x.pad = 1;
            check(x);
        }
    }
    for (int i = 0; i < 2; ++i) {
        x = base;
        x.reserved[i] = 1;
        check(x);
    }
}

// @request fails with EINVAL on each copy of @base that each_nonzero_field()
// makes.
template <typename T>
void assert_nonzero_fields_rejected(const Env& env, unsigned long request, const T& base,
                                    bool with_pad)
{
    each_nonzero_field(base, with_pad,
                       [&](T& x) { igt_assert_errno(raw(env, request, x), EINVAL); });
}

// An anonymous mapping, unmapped on destruction.
class AnonMapping {
public:
    AnonMapping(size_t size, int prot) : size_(size)
    {
        addr_ = ::mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        igt_assert_f(addr_ != MAP_FAILED, "mmap of %zu bytes failed", size);
    }
    ~AnonMapping() { ::munmap(addr_, size_); }
    AnonMapping(const AnonMapping&) = delete;
    AnonMapping& operator=(const AnonMapping&) = delete;
    std::byte* data() const { return static_cast<std::byte*>(addr_); }

private:
    size_t size_;
    void* addr_;
};

// A VM without fault mode and a queue on it: most subtests' set-up.
struct VmQueue {
    Vm vm;
    ExecQueue queue;

    explicit VmQueue(const Env& env) : vm(make_vm(env)), queue(make_queue(env, vm)) {}
};

void store_dword(const Env& env, uint32_t placement)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer buf = make_buffer(vm, 2 * page_size, placement);
    std::memset(buf.bytes(), 0xcc, buf.size);
    std::vector<std::byte> expected(buf.size, std::byte{0xcc});

    BatchBuilder b;
    const auto dw = [&](uint64_t off, uint32_t v) {
        b.store_dw(buf.gpu(off), v);
        std::memcpy(expected.data() + off, &v, 4);
    };
    const auto qw = [&](uint64_t off, uint64_t v) {
        b.store_qw(buf.gpu(off), v);
        std::memcpy(expected.data() + off, &v, 8);
    };
    dw(0, 0x12345678);
    dw(4, 0);
    dw(page_size - 4, 0xdeadbeef);
    dw(page_size, 0xcafef00d);
    dw(2 * page_size - 4, 0xffffffff);
    qw(64, 0x0123456789abcdefULL);
    qw(page_size - 8 - 64, 0xfedcba9876543210ULL);
    qw(page_size + 8, 0);
    qw(2 * page_size - 16, 0x8000000000000001ULL);
    for (uint32_t i = 0; i < 64; ++i)
        dw(1024 + 4 * i, i * 0x01010101u);
    dw(0, 0xa5a5a5a5); // later commands win
    b.batch_end();

    assert_job_ok(run_batch(vm, queue, b));
    check_equal(reinterpret_cast<const uint8_t*>(buf.bytes()),
                reinterpret_cast<const uint8_t*>(expected.data()), buf.size, "buffer");
    const auto s = queue_state(queue);
    igt_assert_eq(s.error, 0);
    igt_assert_eq(s.jobs_submitted, 1u);
    igt_assert_eq(s.jobs_completed, 1u);
    igt_assert_eq(s.jobs_failed, 0u);
}

// A batch that WAITs until the qword at @flag_va equals @value, then stores
// @marker at @done_va.
BatchBuilder wait_then_store(uint64_t flag_va, uint64_t value, uint64_t done_va, uint32_t marker,
                             uint32_t timeout_us = 0)
{
    BatchBuilder b;
    b.wait(DRM_SIMGPU_CMP_EQ, flag_va, value, ~uint64_t{0}, timeout_us)
        .store_dw(done_va, marker)
        .batch_end();
    return b;
}

// A queue whose last job was made to fail with @err, and that recovers.
void assert_recovers(const Vm& vm, const ExecQueue& queue)
{
    assert_queue_works(vm, queue);
    assert_queue_works(vm, queue);
}

EventFd make_eventfd()
{
    auto e = EventFd::create();
    igt_assert_ok(e);
    return std::move(e).value();
}

Syncobj make_syncobj(const Env& env, uint32_t flags = 0)
{
    auto s = Syncobj::create(env.dev, flags);
    igt_assert_ok(s);
    return std::move(s).value();
}

Waiter make_waiter()
{
    auto w = Waiter::create();
    igt_assert_ok(w);
    return std::move(w).value();
}

uint64_t eventfd_count(const EventFd& e)
{
    auto n = e.take();
    igt_assert_ok(n);
    return n.value();
}

// A buffer of @vm, zeroed.
GpuBuffer make_zeroed(const Vm& vm, uint64_t size = page_size)
{
    GpuBuffer buf = make_buffer(vm, size);
    std::memset(buf.bytes(), 0, buf.size);
    return buf;
}

// Two pages of @vm: a flag whose first qword, 0, jobs WAIT on, and a zeroed
// page for their stores.
std::pair<GpuBuffer, GpuBuffer> flag_and_out(const Vm& vm)
{
    std::pair<GpuBuffer, GpuBuffer> r{make_buffer(vm, page_size), make_zeroed(vm)};
    r.first.as<uint64_t>()[0] = 0;
    return r;
}

// Jobs on two queues of a VM (@vm_flags), each with a user fence that
// signals an eventfd of its own; all held back by a WAIT until the CPU
// releases them. No eventfd is readable before, each one is reported once
// by a Waiter, and when it is, its job's fence value is already in memory.
void exec_user_fence_eventfd(const Env& env, uint32_t vm_flags)
{
    constexpr unsigned num_jobs = 16;
    constexpr uint64_t value_base = 0x5eed000000000000ULL;
    const Vm vm = make_vm(env, vm_flags);
    const auto compute = env.instances(DRM_SIMGPU_ENGINE_CLASS_COMPUTE);
    const ExecQueue queues[2] = {
        make_queue(env, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, compute.front()),
        make_queue(env, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, compute.back())};
    auto [flag, fences] = flag_and_out(vm);
    GpuBuffer batch = make_buffer(vm, page_size);
    BatchBuilder b;
    b.wait(DRM_SIMGPU_CMP_EQ, flag.gpu(), 1, ~uint64_t{0}, 0).batch_end();
    std::memcpy(batch.bytes(), b.dwords().data(), b.size_bytes());

    Waiter waiter = make_waiter();
    std::vector<EventFd> events;
    for (unsigned i = 0; i < num_jobs; ++i) {
        events.push_back(make_eventfd());
        // The first job names a duplicate, closed once EXEC returned: the
        // kernel holds its own reference to the eventfd.
        simgpu::Fd dup(i == 0 ? ::fcntl(events[i].fd(), F_DUPFD_CLOEXEC, 0) : -1);
        const int fd = i == 0 ? dup.get() : events[i].fd();
        igt_assert_lte(0, fd);
        const auto sync = simgpu::user_fence_out(fences.gpu(8 * i), value_base + i, fd);
        igt_assert_ok(queues[i % 2].exec(batch.gpu(), {&sync, 1}));
        igt_assert_ok(waiter.add(events[i].fd(), i));
    }
    sleep_ms(100);
    igt_assert_errno(waiter.wait(0), ETIME);
    for (unsigned i = 0; i < num_jobs; ++i)
        igt_assert_eq(fences.as<uint64_t>()[i], 0u);

    reinterpret_cast<volatile uint64_t*>(flag.as<uint64_t>())[0] = 1;
    std::vector<bool> seen(num_jobs);
    while (waiter.pending() > 0) {
        auto ready = waiter.wait(job_timeout_ns);
        igt_assert_ok(ready);
        for (const uint64_t tag : ready.value()) {
            igt_assert_lte(tag, uint64_t{num_jobs - 1});
            igt_assert_f(!seen[tag], "eventfd of job %llu reported twice",
                         static_cast<unsigned long long>(tag));
            seen[tag] = true;
            const uint64_t got =
                reinterpret_cast<const volatile uint64_t*>(fences.as<uint64_t>())[tag];
            igt_assert_f(got == value_base + tag,
                         "eventfd of job %llu readable with its fence at 0x%llx",
                         static_cast<unsigned long long>(tag),
                         static_cast<unsigned long long>(got));
            igt_assert_eq(eventfd_count(events[tag]), 1u);
        }
    }
    for (const auto& q : queues) {
        igt_assert_eq(queue_state(q).jobs_failed, 0u);
        assert_queue_works(vm, q);
    }
}

// The failing job stores to an unmapped VA.
void exec_user_fence_eventfd_failed_job(const Env& env, uint32_t vm_flags)
{
    const Vm vm = make_vm(env, vm_flags);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer fences = make_zeroed(vm);
    GpuBuffer batch = make_buffer(vm, page_size);
    BatchBuilder bad;
    bad.store_dw(alloc_va(page_size) + 0x40, 1).batch_end();
    std::memcpy(batch.bytes(), bad.dwords().data(), bad.size_bytes());
    BatchBuilder good;
    good.batch_end();
    std::memcpy(batch.bytes() + 512, good.dwords().data(), good.size_bytes());

    const EventFd event = make_eventfd();
    Waiter waiter = make_waiter();
    igt_assert_ok(waiter.add(event.fd(), 1));
    const auto sync = simgpu::user_fence_out(fences.gpu(), 1, event.fd());
    igt_assert_ok(queue.exec(batch.gpu(), {&sync, 1}));
    const int64_t deadline = now_ns() + job_timeout_ns;
    while (queue_state(queue).jobs_completed < 1) {
        igt_assert_f(now_ns() < deadline, "the failing job did not end");
        sleep_ms(5);
    }
    const auto s = queue_state(queue);
    igt_assert_eq(s.jobs_failed, 1u);
    igt_assert_eq(s.error, -EFAULT);
    igt_assert_errno(waiter.wait(200 * ms_ns), ETIME);
    igt_assert_eq(eventfd_count(event), 0u);
    igt_assert_eq(fences.as<uint64_t>()[0], 0u);

    const auto next = simgpu::user_fence_out(fences.gpu(), 2, event.fd());
    igt_assert_ok(queue.exec(batch.gpu(512), {&next, 1}));
    auto ready = waiter.wait(job_timeout_ns);
    igt_assert_ok(ready);
    igt_assert(ready.value() == std::vector<uint64_t>{1});
    igt_assert_eq(fences.as<uint64_t>()[0], 2u);
    igt_assert_eq(eventfd_count(event), 1u);
}

// Four jobs on one queue, each with a status fence: one that succeeds, one
// that faults (-EFAULT; it also has a plain user fence, which stays
// unwritten, and an eventfd, which is signalled), one with an invalid
// command (-EILSEQ), one that succeeds.
void exec_status_fence(const Env& env, uint32_t vm_flags)
{
    const Vm vm = make_vm(env, vm_flags);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer fences = make_zeroed(vm);
    GpuBuffer batch = make_buffer(vm, page_size);
    const uint64_t gone = alloc_va(page_size) + 0x40;
    BatchBuilder ok, fault, illegal;
    ok.store_dw(fences.gpu(1024), 0x11).batch_end();
    fault.store_dw(gone, 1).batch_end();
    illegal.dword(BatchBuilder::header(0x7f, 0, 1)).batch_end();
    const std::array<const BatchBuilder*, 4> jobs{&ok, &fault, &illegal, &ok};
    const std::array<int64_t, 4> status{0, -EFAULT, -EILSEQ, 0};
    const EventFd event = make_eventfd();
    for (size_t i = 0; i < jobs.size(); ++i) {
        std::memcpy(batch.bytes() + i * 256, jobs[i]->dwords().data(), jobs[i]->size_bytes());
        std::vector<drm_simgpu_sync> syncs{
            simgpu::user_fence_status_out(fences.gpu(i * 16), i + 1)};
        if (i == 1) {
            syncs.push_back(simgpu::user_fence_out(fences.gpu(512), 9));
            syncs.back().flags |= DRM_SIMGPU_SYNC_FLAG_STATUS;
            syncs.push_back(simgpu::user_fence_out(fences.gpu(768), 9, event.fd()));
            syncs.back().flags |= DRM_SIMGPU_SYNC_FLAG_STATUS;
            syncs.push_back(simgpu::user_fence_out(fences.gpu(256), 9));
        }
        igt_assert_ok(queue.exec(batch.gpu(i * 256), syncs));
    }
    igt_assert_ok(simgpu::wait_user_fence(env.dev, fences.as<uint64_t>() + 6, 4,
                                          DRM_SIMGPU_CMP_EQ, job_timeout_ns));
    const auto* f = fences.as<uint64_t>();
    for (size_t i = 0; i < jobs.size(); ++i) {
        igt_assert_eq(f[2 * i], uint64_t{i + 1});
        igt_assert_f(static_cast<int64_t>(f[2 * i + 1]) == status[i],
                     "job %zu: status %" PRId64 ", expected %" PRId64, i,
                     static_cast<int64_t>(f[2 * i + 1]), status[i]);
    }
    igt_assert_eq(f[512 / 8], 9u);
    igt_assert_eq(static_cast<int64_t>(f[512 / 8 + 1]), int64_t{-EFAULT});
    igt_assert_eq(f[768 / 8], 9u);
    igt_assert_eq(static_cast<int64_t>(f[768 / 8 + 1]), int64_t{-EFAULT});
    igt_assert_eq(eventfd_count(event), 1u);
    igt_assert_eq(f[256 / 8], 0u); // a plain user fence of a failed job
    igt_assert_eq(fences.as<uint32_t>()[1024 / 4], 0x11u);
    const auto st = queue_state(queue);
    igt_assert_eq(st.jobs_completed, 4u);
    igt_assert_eq(st.jobs_failed, 2u);
    igt_assert_eq(st.error, -EILSEQ);
}

// @test on a VM without fault mode, then on a fault-mode VM where the
// device has them.
template <void (*test)(const Env&, uint32_t)>
void on_both_vm_kinds(const Env& env)
{
    igt_info("dma-fence VM\n");
    test(env, 0);
    if (env.fault_mode()) {
        igt_info("fault-mode VM\n");
        test(env, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    }
}

// A minimal valid EXEC, with every field for the bad-field subtests to break.
struct ExecSetup {
    Vm vm;
    ExecQueue queue;
    GpuBuffer batch;

    explicit ExecSetup(const Env& env, uint32_t vm_flags = 0)
        : vm(make_vm(env, vm_flags)), queue(make_queue(env, vm)), batch(make_buffer(vm, page_size))
    {
        BatchBuilder b;
        b.batch_end();
        std::memcpy(batch.bytes(), b.dwords().data(), b.size_bytes());
    }

    drm_simgpu_exec args(std::span<const drm_simgpu_sync> syncs = {}) const
    {
        return simgpu::pack_exec(queue.id(), batch.gpu(), syncs);
    }

    // The EXEC fails with @err and queues nothing.
    void assert_fails(const Env& env, drm_simgpu_exec e, int err) const
    {
        const uint64_t before = queue_state(queue).jobs_submitted;
        igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC, e), err);
        igt_assert_eq(queue_state(queue).jobs_submitted, before);
    }

    // A sync array of one entry broken by @mutate fails with @err.
    void assert_sync_fails(const Env& env, drm_simgpu_sync sync, int err) const
    {
        const std::array<drm_simgpu_sync, 1> syncs{sync};
        assert_fails(env, args(syncs), err);
    }
};

void fill_large(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer sys = make_buffer(vm, large_size, DRM_SIMGPU_MEM_SYSTEM);
    GpuBuffer vram = make_buffer(vm, large_size, DRM_SIMGPU_MEM_VRAM);
    std::memset(vram.bytes(), 0x11, vram.size);

    // Whole buffers, then a dword-aligned window that is not
    // page-aligned at either end.
    const uint64_t win_off = 3 * page_size + 4, win_size = 5 * MiB + 12;
    BatchBuilder b;
    b.fill(sys.gpu(), large_size, 0xdeadbeef)
        .fill(vram.gpu(), large_size, 0x01234567)
        .fill(vram.gpu(win_off), win_size, 0xa5a55a5a)
        .batch_end();
    assert_job_ok(run_batch(vm, queue, b));

    const auto* s = sys.as<uint32_t>();
    const auto* v = vram.as<uint32_t>();
    for (uint64_t i = 0; i < large_size / 4; ++i) {
        if (s[i] != 0xdeadbeef)
            igt_fail("system dword %llu is 0x%x", static_cast<unsigned long long>(i), s[i]);
        const bool in_win = i * 4 >= win_off && i * 4 < win_off + win_size;
        const uint32_t want = in_win ? 0xa5a55a5a : 0x01234567;
        if (v[i] != want)
            igt_fail("vram dword %llu is 0x%x, expected 0x%x",
                     static_cast<unsigned long long>(i), v[i], want);
    }
}

void copy_large(const Env& env)
{
    const Vm vm = make_vm(env);
    const auto copy_engines = env.instances(DRM_SIMGPU_ENGINE_CLASS_COPY);
    const ExecQueue compute = make_queue(env, vm);
    GpuBuffer src = make_buffer(vm, large_size, DRM_SIMGPU_MEM_SYSTEM);
    GpuBuffer vram = make_buffer(vm, large_size, DRM_SIMGPU_MEM_VRAM);
    GpuBuffer back = make_buffer(vm, large_size, DRM_SIMGPU_MEM_SYSTEM);
    const auto data = random_u32(large_size / 4, 1);
    put(src, data);
    std::memset(back.bytes(), 0xee, back.size);

    // Copies run on the copy engine when there is one, and on compute.
    std::vector<const ExecQueue*> queues{&compute};
    std::optional<ExecQueue> copy;
    if (!copy_engines.empty()) {
        copy.emplace(make_queue(env, vm, DRM_SIMGPU_ENGINE_CLASS_COPY, copy_engines[0]));
        queues.insert(queues.begin(), &*copy);
    }
    for (const ExecQueue* q : queues) {
        std::memset(vram.bytes(), 0, vram.size);
        BatchBuilder b;
        b.copy(vram.gpu(), src.gpu(), large_size).batch_end();
        assert_job_ok(run_batch(vm, *q, b));
        check_equal(vram.as<uint32_t>(), data.data(), data.size(), "system->vram");

        BatchBuilder c;
        c.copy(back.gpu(), vram.gpu(), large_size).batch_end();
        assert_job_ok(run_batch(vm, *q, c));
        check_equal(back.as<uint32_t>(), data.data(), data.size(), "vram->system");
    }

    // Byte granularity: odd offsets and size.
    std::memset(back.bytes(), 0xee, back.size);
    const uint64_t src_off = 3, dst_off = page_size + 5, len = MiB + 7;
    BatchBuilder b;
    b.copy(back.gpu(dst_off), src.gpu(src_off), len).batch_end();
    assert_job_ok(run_batch(vm, *queues.front(), b));
    const auto* bytes = reinterpret_cast<const uint8_t*>(back.bytes());
    const auto* ref = reinterpret_cast<const uint8_t*>(data.data());
    for (uint64_t i = 0; i < back.size; ++i) {
        const uint8_t want = (i >= dst_off && i < dst_off + len) ? ref[i - dst_off + src_off]
                                                                  : 0xee;
        if (bytes[i] != want)
            igt_fail("byte %llu is 0x%x, expected 0x%x", static_cast<unsigned long long>(i),
                     bytes[i], want);
    }
}

void kernel_memset(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer dst = make_buffer(vm, (num_elements + 64) * 4, DRM_SIMGPU_MEM_VRAM);
    std::memset(dst.bytes(), 0xcc, dst.size);
    const uint32_t count = num_elements - 3; // not a multiple of the workgroup
    drm_simgpu_kargs_memset args{};
    args.dst = dst.gpu();
    args.count = count;
    args.value = 0x5eed1234;
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_MEMSET, args));
    const auto* d = dst.as<uint32_t>();
    for (uint32_t i = 0; i < dst.size / 4; ++i)
        igt_assert_eq(d[i], i < count ? 0x5eed1234u : 0xccccccccu);
}

void kernel_copy(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer src = make_buffer(vm, num_elements * 4, DRM_SIMGPU_MEM_SYSTEM);
    GpuBuffer dst = make_buffer(vm, (num_elements + 16) * 4, DRM_SIMGPU_MEM_VRAM);
    const auto data = random_u32(num_elements, 2);
    put(src, data);
    std::memset(dst.bytes(), 0xcc, dst.size);
    drm_simgpu_kargs_copy args{};
    args.dst = dst.gpu();
    args.src = src.gpu();
    args.count = num_elements;
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_COPY, args, 256));
    check_equal(dst.as<uint32_t>(), data.data(), data.size(), "dst");
    for (uint32_t i = num_elements; i < dst.size / 4; ++i)
        igt_assert_eq(dst.as<uint32_t>()[i], 0xccccccccu);
}

void kernel_add(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer a = make_buffer(vm, num_elements * 4);
    GpuBuffer bb = make_buffer(vm, num_elements * 4, DRM_SIMGPU_MEM_VRAM);
    GpuBuffer c = make_buffer(vm, num_elements * 4);
    const auto va = random_u32(num_elements, 3), vb = random_u32(num_elements, 4);
    put(a, va);
    put(bb, vb);
    std::vector<uint32_t> ref(num_elements);
    for (uint32_t i = 0; i < num_elements; ++i)
        ref[i] = va[i] + vb[i]; // wraps
    drm_simgpu_kargs_add args{};
    args.a = a.gpu();
    args.b = bb.gpu();
    args.c = c.gpu();
    args.count = num_elements;
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_ADD, args, 100));
    check_equal(c.as<uint32_t>(), ref.data(), ref.size(), "c");
}

void kernel_saxpy(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer x = make_buffer(vm, num_elements * 4);
    GpuBuffer y = make_buffer(vm, num_elements * 4, DRM_SIMGPU_MEM_VRAM);
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> dist(-1000.0f, 1000.0f);
    std::vector<float> vx(num_elements), vy(num_elements), ref(num_elements);
    const float a = 2.5f;
    for (uint32_t i = 0; i < num_elements; ++i) {
        vx[i] = dist(rng);
        vy[i] = dist(rng);
        ref[i] = a * vx[i] + vy[i];
    }
    put(x, vx);
    put(y, vy);
    drm_simgpu_kargs_saxpy args{};
    args.x = x.gpu();
    args.y = y.gpu();
    args.count = num_elements;
    args.a = std::bit_cast<uint32_t>(a);
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_SAXPY, args));
    const float* got = y.as<float>();
    for (uint32_t i = 0; i < num_elements; ++i) {
        const float tol = 1e-5f * std::max(std::fabs(ref[i]), 1.0f);
        if (!(std::fabs(got[i] - ref[i]) <= tol))
            igt_fail("y[%u] = %.9g, expected %.9g", i, static_cast<double>(got[i]),
                     static_cast<double>(ref[i]));
    }
}

void kernel_reduce_sum(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer src = make_buffer(vm, num_elements * 4, DRM_SIMGPU_MEM_VRAM);
    GpuBuffer dst = make_buffer(vm, page_size);
    const auto data = random_u32(num_elements, 6);
    put(src, data);
    dst.as<uint64_t>()[0] = 0xdeaddeaddeaddeadULL; // *dst is assigned, not added to
    dst.as<uint64_t>()[1] = 0x1111111111111111ULL;
    const uint64_t ref = std::accumulate(data.begin(), data.end(), uint64_t{0});
    igt_assert_lte(uint64_t{1} << 32, ref); // the sum needs 64 bits
    drm_simgpu_kargs_reduce args{};
    args.src = src.gpu();
    args.dst = dst.gpu();
    args.count = num_elements;
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_REDUCE_SUM, args, 128));
    igt_assert_eq(dst.as<uint64_t>()[0], ref);
    igt_assert_eq(dst.as<uint64_t>()[1], 0x1111111111111111ULL);
}

void kernel_gather(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer src = make_buffer(vm, num_elements * 4);
    GpuBuffer idx = make_buffer(vm, num_elements * 4, DRM_SIMGPU_MEM_VRAM);
    GpuBuffer dst = make_buffer(vm, num_elements * 4);
    const auto data = random_u32(num_elements, 7);
    std::vector<uint32_t> index = random_u32(num_elements, 8), ref(num_elements);
    for (uint32_t i = 0; i < num_elements; ++i) {
        index[i] %= num_elements;
        ref[i] = data[index[i]];
    }
    put(src, data);
    put(idx, index);
    drm_simgpu_kargs_gather args{};
    args.dst = dst.gpu();
    args.src = src.gpu();
    args.idx = idx.gpu();
    args.count = num_elements;
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_GATHER, args));
    check_equal(dst.as<uint32_t>(), ref.data(), ref.size(), "dst");
}

void kernel_histogram(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    constexpr uint32_t num_bins = 61;
    GpuBuffer src = make_buffer(vm, num_elements * 4);
    GpuBuffer bins = make_buffer(vm, page_size, DRM_SIMGPU_MEM_VRAM);
    const auto data = random_u32(num_elements, 9);
    put(src, data);
    std::vector<uint32_t> ref(num_bins + 4, 0);
    for (const uint32_t v : data)
        ++ref[v % num_bins];
    // Bins are added to, not reset: start from a known offset.
    for (uint32_t i = 0; i < num_bins; ++i) {
        bins.as<uint32_t>()[i] = i;
        ref[i] += i;
    }
    for (uint32_t i = num_bins; i < num_bins + 4; ++i) {
        bins.as<uint32_t>()[i] = 0xcccccccc;
        ref[i] = 0xcccccccc;
    }
    drm_simgpu_kargs_histogram args{};
    args.src = src.gpu();
    args.bins = bins.gpu();
    args.count = num_elements;
    args.num_bins = num_bins;
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_HISTOGRAM, args, 32));
    check_equal(bins.as<uint32_t>(), ref.data(), ref.size(), "bins");
}

void kernel_list_sum(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer nodes = make_buffer(vm, num_list_nodes * sizeof(drm_simgpu_list_node),
                                  DRM_SIMGPU_MEM_VRAM);
    GpuBuffer out = make_buffer(vm, page_size);
    // List position i lives in slot order[i].
    std::vector<uint32_t> order(num_list_nodes);
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin(), order.end(), std::mt19937(10));
    const auto values = random_u32(num_list_nodes, 11);
    auto* slot = nodes.as<drm_simgpu_list_node>();
    uint64_t ref = 0;
    for (uint32_t i = 0; i < num_list_nodes; ++i) {
        auto& node = slot[order[i]];
        node.value = (uint64_t{values[i]} << 20) | i;
        node.next = i + 1 < num_list_nodes
                        ? nodes.gpu(uint64_t{order[i + 1]} * sizeof(drm_simgpu_list_node))
                        : 0;
        ref += node.value;
    }
    // Zero: the header does not say whether *dst is assigned or added to.
    out.as<uint64_t>()[0] = 0;
    out.as<uint64_t>()[1] = 0;
    drm_simgpu_kargs_list_sum args{};
    args.head = nodes.gpu(uint64_t{order[0]} * sizeof(drm_simgpu_list_node));
    args.dst = out.gpu(0);
    args.count_out = out.gpu(8);
    args.max_nodes = num_list_nodes; // exactly enough
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_LIST_SUM, args));
    igt_assert_eq(out.as<uint64_t>()[0], ref);
    igt_assert_eq(out.as<uint64_t>()[1], uint64_t{num_list_nodes});
}

void list_sum_cycle(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer nodes = make_buffer(vm, page_size);
    GpuBuffer out = make_buffer(vm, page_size);
    auto* n = nodes.as<drm_simgpu_list_node>();
    for (uint64_t i = 0; i < 3; ++i) { // 0 -> 1 -> 2 -> 0 -> ...
        n[i].value = i + 1;
        n[i].next = nodes.gpu(((i + 1) % 3) * sizeof(drm_simgpu_list_node));
    }
    drm_simgpu_kargs_list_sum args{};
    args.head = nodes.gpu();
    args.dst = out.gpu(0);
    args.count_out = out.gpu(8);
    args.max_nodes = 16;
    const JobResult r = run_kernel(vm, queue, DRM_SIMGPU_KERNEL_LIST_SUM, args);
    assert_job_failed(r, EILSEQ, true);
    igt_assert_eq(r.state.jobs_failed, 1u);
    assert_recovers(vm, queue);

    // The same list, cut after three nodes, passes with max_nodes 3.
    n[2].next = 0;
    args.max_nodes = 3;
    std::memset(out.bytes(), 0, 16);
    assert_job_ok(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_LIST_SUM, args));
    igt_assert_eq(out.as<uint64_t>()[0], 6u);
    igt_assert_eq(out.as<uint64_t>()[1], 3u);
    // ... and four nodes with max_nodes 3 fail.
    n[2].next = nodes.gpu(3 * sizeof(drm_simgpu_list_node));
    n[3].value = 4;
    n[3].next = 0;
    assert_job_failed(run_kernel(vm, queue, DRM_SIMGPU_KERNEL_LIST_SUM, args), EILSEQ, true);
    assert_recovers(vm, queue);
    igt_assert_eq(queue_state(queue).jobs_failed, 2u);
}

void atomics_many_queues(const Env& env)
{
    constexpr uint32_t num_queues = 8, iterations = 256;
    const Vm vm = make_vm(env);
    GpuBuffer counters = make_buffer(vm, page_size, DRM_SIMGPU_MEM_VRAM);
    GpuBuffer rets = make_buffer(vm, num_queues * iterations * 8);
    std::memset(counters.bytes(), 0, counters.size);
    counters.as<uint64_t>()[1] = 0x00000000fffff000ULL; // ADD carries across dwords
    counters.as<uint32_t>()[5] = 0xfffff000u;          // 32-bit ADD wraps
    counters.as<uint64_t>()[3] = 1000;                  // XCHG chain start
    // Qwords: [0] INC, [1] ADD; dwords [4] INC32, [5] ADD32; qword [3] XCHG.
    std::vector<ExecQueue> queues;
    std::vector<Job> jobs;
    const uint16_t compute = env.num_compute();
    for (uint32_t q = 0; q < num_queues; ++q)
        queues.push_back(make_queue(env, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE,
                                    static_cast<uint16_t>(q % compute)));
    for (uint32_t q = 0; q < num_queues; ++q) {
        BatchBuilder b;
        for (uint32_t k = 0; k < iterations; ++k) {
            b.atomic(DRM_SIMGPU_ATOMIC_INC, counters.gpu(0), 0)
                .atomic(DRM_SIMGPU_ATOMIC_ADD, counters.gpu(8), q + 1)
                .atomic(DRM_SIMGPU_ATOMIC_INC, counters.gpu(16), 0, 0, 0, true)
                .atomic(DRM_SIMGPU_ATOMIC_ADD, counters.gpu(20), 3 * (q + 1), 0, 0, true)
                .atomic(DRM_SIMGPU_ATOMIC_XCHG, counters.gpu(24),
                        (uint64_t{q + 1} << 32) | (k + 1), 0,
                        rets.gpu((uint64_t{q} * iterations + k) * 8));
        }
        b.batch_end();
        jobs.push_back(Job::submit(vm, queues[q], b));
    }
    for (auto& job : jobs)
        assert_job_ok(job.result());

    const uint64_t sum_ids = uint64_t{num_queues} * (num_queues + 1) / 2;
    igt_assert_eq(counters.as<uint64_t>()[0], uint64_t{num_queues} * iterations);
    igt_assert_eq(counters.as<uint64_t>()[1], 0x00000000fffff000ULL + iterations * sum_ids);
    igt_assert_eq(counters.as<uint32_t>()[4], num_queues * iterations);
    igt_assert_eq(counters.as<uint32_t>()[5],
                  static_cast<uint32_t>(0xfffff000u + iterations * 3 * sum_ids));

    // XCHG: the old values plus the final value are exactly the initial
    // value plus every operand, each once.
    std::vector<uint64_t> given{1000}, seen{counters.as<uint64_t>()[3]};
    for (uint32_t q = 0; q < num_queues; ++q)
        for (uint32_t k = 0; k < iterations; ++k) {
            given.push_back((uint64_t{q + 1} << 32) | (k + 1));
            seen.push_back(rets.as<uint64_t>()[q * iterations + k]);
        }
    std::sort(given.begin(), given.end());
    std::sort(seen.begin(), seen.end());
    igt_assert(given == seen);

    // CMPXCHG and XCHG return the old value, 64 and 32 bits.
    GpuBuffer x = make_buffer(vm, page_size);
    auto* xq = x.as<uint64_t>();
    std::memset(x.bytes(), 0xff, x.size);
    xq[0] = 5;
    xq[1] = 0x1111111100000007ULL; // dword target: low half 7
    BatchBuilder b;
    b.atomic(DRM_SIMGPU_ATOMIC_CMPXCHG, x.gpu(0), 9, 5, x.gpu(64))   // hit: 5 -> 9
        .atomic(DRM_SIMGPU_ATOMIC_CMPXCHG, x.gpu(0), 11, 5, x.gpu(72)) // miss: stays 9
        .atomic(DRM_SIMGPU_ATOMIC_XCHG, x.gpu(0), 0x123456789ULL, 0, x.gpu(80))
        .atomic(DRM_SIMGPU_ATOMIC_ADD, x.gpu(0), 1, 0, x.gpu(88))
        .atomic(DRM_SIMGPU_ATOMIC_CMPXCHG, x.gpu(8), 0x99, 7, x.gpu(128), true)
        .atomic(DRM_SIMGPU_ATOMIC_CMPXCHG, x.gpu(8), 0x55, 7, x.gpu(136), true)
        .atomic(DRM_SIMGPU_ATOMIC_XCHG, x.gpu(8), 0xabcdef01, 0, x.gpu(144), true)
        .atomic(DRM_SIMGPU_ATOMIC_INC, x.gpu(8), 0, 0, x.gpu(152), true)
        .batch_end();
    assert_job_ok(run_batch(vm, queues[0], b));
    igt_assert_eq(xq[0], 0x12345678aULL);
    igt_assert_eq(xq[8], 5u);
    igt_assert_eq(xq[9], 9u);
    igt_assert_eq(xq[10], 9u);
    igt_assert_eq(xq[11], 0x123456789ULL);
    // The dword atomics touch only the low half of qword 1.
    igt_assert_eq(xq[1], 0x11111111abcdef02ULL);
    // A 32-bit old value: its low dword is exact; whether the high dword
    // of @ret is written (as 0) or left alone the header does not say.
    const uint32_t olds[] = {7, 0x99, 0x99, 0xabcdef01};
    for (int i = 0; i < 4; ++i) {
        const uint64_t ret = xq[16 + i];
        igt_assert_eq(static_cast<uint32_t>(ret), olds[i]);
        igt_assert_f((ret >> 32) == 0 || (ret >> 32) == 0xffffffffu,
                     "ret %d of a 32-bit atomic has high dword 0x%llx", i,
                     static_cast<unsigned long long>(ret >> 32));
    }
    // ret 0: nothing else written.
    for (int i = 12; i < 16; ++i)
        igt_assert_eq(xq[i], ~uint64_t{0});
    for (int i = 20; i < 512; ++i)
        igt_assert_eq(xq[i], ~uint64_t{0});
}

void many_queues_one_vm(const Env& env)
{
    constexpr uint32_t num_queues = 32;
    const Vm vm = make_vm(env);
    GpuBuffer buf = make_buffer(vm, num_queues * page_size, DRM_SIMGPU_MEM_VRAM);
    std::memset(buf.bytes(), 0, buf.size);
    const uint16_t compute = env.num_compute();
    std::vector<ExecQueue> queues;
    for (uint32_t q = 0; q < num_queues; ++q)
        queues.push_back(make_queue(env, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE,
                                    static_cast<uint16_t>(q % compute)));
    std::vector<Job> jobs;
    for (uint32_t q = 0; q < num_queues; ++q) {
        const uint64_t base = buf.gpu(uint64_t{q} * page_size);
        BatchBuilder b;
        b.fill(base, page_size, 0xf0000000u | q);
        for (uint32_t i = 0; i < 64; ++i)
            b.store_dw(base + 4 * (i * 16), (q << 16) | i);
        b.store_qw(base + page_size - 8, 0xabcd000000000000ULL | q).batch_end();
        jobs.push_back(Job::submit(vm, queues[q], b));
    }
    for (auto& job : jobs)
        assert_job_ok(job.result());
    for (uint32_t q = 0; q < num_queues; ++q) {
        const auto* d = buf.as<uint32_t>() + q * page_size / 4;
        for (uint32_t i = 0; i < page_size / 4 - 2; ++i) {
            const uint32_t want = (i % 16 == 0 && i / 16 < 64) ? (q << 16) | (i / 16)
                                                              : 0xf0000000u | q;
            if (d[i] != want)
                igt_fail("queue %u dword %u is 0x%x, expected 0x%x", q, i, d[i], want);
        }
        igt_assert_eq(reinterpret_cast<const uint64_t*>(d)[page_size / 8 - 1],
                      0xabcd000000000000ULL | q);
        const auto s = queue_state(queues[q]);
        igt_assert_eq(s.jobs_completed, 1u);
        igt_assert_eq(s.jobs_failed, 0u);
    }
}

void batch_chaining(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer data = make_buffer(vm, page_size);
    GpuBuffer second = make_buffer(vm, page_size, DRM_SIMGPU_MEM_VRAM);
    GpuBuffer third = make_buffer(vm, page_size);
    std::memset(data.bytes(), 0, data.size);

    // first -> second (at an offset) -> third, which ends.
    BatchBuilder c;
    c.store_dw(data.gpu(8), 3).batch_end().store_dw(data.gpu(12), 0xbad);
    std::memcpy(third.bytes(), c.dwords().data(), c.size_bytes());
    BatchBuilder s2;
    s2.store_dw(data.gpu(4), 2).batch_start(third.gpu()).store_dw(data.gpu(12), 0xbad);
    std::memcpy(second.bytes() + 256, s2.dwords().data(), s2.size_bytes());
    BatchBuilder first;
    first.store_dw(data.gpu(0), 1).batch_start(second.gpu(256)).store_dw(data.gpu(12), 0xbad);
    assert_job_ok(run_batch(vm, queue, first));
    igt_assert_eq(data.as<uint32_t>()[0], 1u);
    igt_assert_eq(data.as<uint32_t>()[1], 2u);
    igt_assert_eq(data.as<uint32_t>()[2], 3u);
    igt_assert_eq(data.as<uint32_t>()[3], 0u); // nothing after a jump or the end ran

    // A batch whose commands straddle a page boundary, the two pages
    // from different BOs mapped back to back.
    const uint64_t va = alloc_va(2 * page_size);
    GpuBuffer lo = make_buffer(vm, page_size, DRM_SIMGPU_MEM_SYSTEM, va);
    GpuBuffer hi = make_buffer(vm, page_size, DRM_SIMGPU_MEM_VRAM, va + page_size);
    BatchBuilder x;
    x.store_qw(data.gpu(16), 0x1122334455667788ULL)
        .store_dw(data.gpu(24), 0x99)
        .nop()
        .store_qw(data.gpu(32), 0x0102030405060708ULL)
        .batch_end();
    const uint64_t start = page_size - 12; // the first STORE_QW straddles
    std::vector<std::byte> bytes(x.size_bytes());
    std::memcpy(bytes.data(), x.dwords().data(), bytes.size());
    std::memcpy(lo.bytes() + start, bytes.data(), page_size - start);
    std::memcpy(hi.bytes(), bytes.data() + (page_size - start), bytes.size() - (page_size - start));
    Job job = Job::submit_at(vm, queue, va + start);
    assert_job_ok(job.result());
    igt_assert_eq(data.as<uint64_t>()[2], 0x1122334455667788ULL);
    igt_assert_eq(data.as<uint32_t>()[6], 0x99u);
    igt_assert_eq(data.as<uint64_t>()[4], 0x0102030405060708ULL);

    // BATCH_START to an unaligned address is an invalid command.
    BatchBuilder bad;
    bad.batch_start(third.gpu(2)).batch_end();
    assert_job_failed(run_batch(vm, queue, bad), EILSEQ, true);
    assert_recovers(vm, queue);
}

void wait_cpu_signal(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    auto [flag, out] = flag_and_out(vm);
    auto* f = reinterpret_cast<volatile uint64_t*>(flag.as<uint64_t>());

    Job job = Job::submit(vm, queue, wait_then_store(flag.gpu(), 0xabc, out.gpu(), 0x77));
    sleep_ms(100);
    igt_assert(!job.done());
    igt_assert_eq(out.as<uint32_t>()[0], 0u);
    f[0] = 0xab; // not yet
    sleep_ms(50);
    igt_assert(!job.done());
    f[0] = 0xabc;
    assert_job_ok(job.result());
    igt_assert_eq(out.as<uint32_t>()[0], 0x77u);

    // GTE under a mask: only the bits of 0xff00 count.
    f[0] = 0x10ff;
    BatchBuilder b;
    b.wait(DRM_SIMGPU_CMP_GTE, flag.gpu(), 0x2000, 0xff00).store_dw(out.gpu(4), 0x88).batch_end();
    Job masked = Job::submit(vm, queue, b);
    sleep_ms(100);
    igt_assert(!masked.done());
    f[0] = 0x2001;
    assert_job_ok(masked.result());
    igt_assert_eq(out.as<uint32_t>()[1], 0x88u);
}

void wait_timeout(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    auto [flag, out] = flag_and_out(vm);
    const int64_t start = now_ns();
    const JobResult r = run_batch(vm, queue, wait_then_store(flag.gpu(), 1, out.gpu(), 0x77, 1000));
    assert_job_failed(r, ETIMEDOUT, true);
    igt_assert_eq(out.as<uint32_t>()[0], 0u);
    igt_info("WAIT timed out after %.1f ms\n", elapsed_ms(start));
    assert_recovers(vm, queue);

    // A condition that holds at once does not time out.
    flag.as<uint64_t>()[0] = 1;
    assert_job_ok(run_batch(vm, queue, wait_then_store(flag.gpu(), 1, out.gpu(), 0x66, 1000)));
    igt_assert_eq(out.as<uint32_t>()[0], 0x66u);
}

void job_timeout(const Env& env)
{
    const std::string param = "job_timeout_ms";
    const auto old = read_param(param);
    igt_require_f(old.has_value(), "no %s parameter", param.c_str());
    igt_require_f(write_param(param, *old), "cannot write the %s parameter", param.c_str());
    const ParamRestorer restore(param, *old);
    igt_assert(write_param(param, "1000"));
    igt_assert_eq(read_param(param).value_or(""), std::string("1000"));

    std::vector<uint32_t> modes{0};
    if (env.fault_mode())
        modes.push_back(DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    for (const uint32_t mode : modes) {
        igt_info("%s VM\n", mode ? "fault-mode" : "dma-fence");
        const Vm vm = make_vm(env, mode);
        const ExecQueue queue = make_queue(env, vm);
        const ExecQueue other = make_queue(env, vm);
        auto [flag, out] = flag_and_out(vm);

        const int64_t start = now_ns();
        Job hung = Job::submit(vm, queue, wait_then_store(flag.gpu(), 1, out.gpu(), 0x77));
        // Another queue on the same engine runs meanwhile.
        assert_queue_works(vm, other);
        const JobResult r = hung.result(30 * sec_ns);
        const double ms = elapsed_ms(start);
        igt_info("job timed out after %.1f ms\n", ms);
        assert_job_failed(r, ETIMEDOUT, mode == 0);
        igt_assert_f(ms >= 900 && ms < 15000, "timed out after %.1f ms, expected about 1000",
                     ms);
        igt_assert_eq(out.as<uint32_t>()[0], 0u);
        assert_recovers(vm, queue);

        const auto s = queue_state(other);
        igt_assert_eq(s.error, 0);
        igt_assert_eq(s.jobs_failed, 0u);
        assert_queue_works(vm, other);
    }
}

// A batch that stores 1 at @out, 0xdead at the unmapped VA @bad, then 2
// at @out + 4.
BatchBuilder stores_around(const GpuBuffer& out, uint64_t bad)
{
    BatchBuilder b;
    b.store_dw(out.gpu(0), 1).store_dw(bad, 0xdead).store_dw(out.gpu(4), 2).batch_end();
    return b;
}

// The stores_around() job that ended as @r failed with -EFAULT at @bad,
// after its first store and before its second, and its queue recovers.
void assert_faulted_at(const Vm& vm, const ExecQueue& queue, const JobResult& r,
                       const GpuBuffer& out, uint64_t bad, bool syncobj_fence)
{
    assert_job_failed(r, EFAULT, syncobj_fence);
    igt_assert_eq(r.state.fault_addr, bad);
    igt_assert_eq(out.as<uint32_t>()[0], 1u); // before the fault
    igt_assert_eq(out.as<uint32_t>()[1], 0u); // the job ended at the fault
    assert_recovers(vm, queue);
}

void invalid_va_dma_fence(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer out = make_zeroed(vm);
    const uint64_t bad = alloc_va(page_size) + 0x48;
    assert_faulted_at(vm, queue, run_batch(vm, queue, stores_around(out, bad)), out, bad, true);

    // A read fault (COPY source) reports the source address.
    const uint64_t bad_src = alloc_va(page_size) + 0x100;
    BatchBuilder c;
    c.copy(out.gpu(64), bad_src, 64).batch_end();
    const JobResult rc = run_batch(vm, queue, c);
    assert_job_failed(rc, EFAULT, true);
    igt_assert_eq(rc.state.fault_addr, bad_src);
    assert_recovers(vm, queue);
}

void invalid_va_fault_mode(const Env& env)
{
    const Vm vm = make_fault_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer out = make_zeroed(vm);
    const uint64_t bad = alloc_va(page_size) + 0x80;
    Job job = Job::submit(vm, queue, stores_around(out, bad));
    const auto w = simgpu::wait_user_fence(env.dev, job.fence_cpu(), job.fence_value(),
                                           DRM_SIMGPU_CMP_EQ, job_timeout_ns, queue.id());
    const JobResult r = job.result();
    // The wait ends with EIO, or at least the queue reports the fault.
    const bool eio = !w.ok() && w.error().err == EIO;
    igt_assert_f(eio || r.state.error == -EFAULT, "WAIT_USER_FENCE: %s; queue error %d",
                 w.ok() ? "succeeded" : w.error().message().c_str(), r.state.error);
    assert_faulted_at(vm, queue, r, out, bad, false);
}

void readonly_mapping(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer ro = make_buffer(vm, 4 * page_size, DRM_SIMGPU_MEM_SYSTEM, 0,
                               DRM_SIMGPU_VM_BIND_FLAG_READONLY);
    GpuBuffer dst = make_buffer(vm, 4 * page_size, DRM_SIMGPU_MEM_VRAM);
    const auto data = random_u32(ro.size / 4, 12);
    put(ro, data);

    BatchBuilder c;
    c.copy(dst.gpu(), ro.gpu(), ro.size).batch_end();
    assert_job_ok(run_batch(vm, queue, c));
    check_equal(dst.as<uint32_t>(), data.data(), data.size(), "copy of the read-only BO");

    const uint64_t target = ro.gpu(page_size + 16);
    for (int kind = 0; kind < 3; ++kind) {
        BatchBuilder w;
        if (kind == 0)
            w.store_dw(target, 0xbad);
        else if (kind == 1)
            w.atomic(DRM_SIMGPU_ATOMIC_INC, target, 0);
        else
            w.copy(target, dst.gpu(), 64);
        w.batch_end();
        const JobResult r = run_batch(vm, queue, w);
        assert_job_failed(r, EFAULT, true);
        igt_assert_eq(r.state.fault_addr, target);
        check_equal(ro.as<uint32_t>(), data.data(), data.size(), "read-only BO");
        assert_queue_works(vm, queue);
    }
}

void invalid_command(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer out = make_zeroed(vm);
    const std::vector<std::pair<const char*, std::function<void(BatchBuilder&)>>> cases{
        {"unknown opcode", [](BatchBuilder& b) { b.dword(BatchBuilder::header(0x7f, 0, 1)); }},
        {"unknown opcode 0xff",
         [](BatchBuilder& b) { b.dword(BatchBuilder::header(0xff, 0, 1)); }},
        {"STORE_DW length 5",
         [&](BatchBuilder& b) {
             b.dword(BatchBuilder::header(DRM_SIMGPU_OP_STORE_DW, 0, 5))
                 .qword(out.gpu(32))
                 .dword(1)
                 .dword(0);
         }},
        {"STORE_DW length 3",
         [&](BatchBuilder& b) {
             b.dword(BatchBuilder::header(DRM_SIMGPU_OP_STORE_DW, 0, 3)).qword(out.gpu(32));
         }},
        {"NOP length 2", [](BatchBuilder& b) { b.dword(BatchBuilder::header(0, 0, 2)).dword(0); }},
        {"NOP length 0", [](BatchBuilder& b) { b.dword(BatchBuilder::header(0, 0, 0)); }},
        {"BATCH_END length 2",
         [](BatchBuilder& b) {
             b.dword(BatchBuilder::header(DRM_SIMGPU_OP_BATCH_END, 0, 2)).dword(0);
         }},
        {"unknown atomic", [&](BatchBuilder& b) { b.atomic(0x7f, out.gpu(64), 1); }},
        {"unknown WAIT compare", [&](BatchBuilder& b) { b.wait(6, out.gpu(64), 0, ~0ull, 1000); }},
        {"unknown kernel", [&](BatchBuilder& b) { b.launch(0xff, out.gpu(128)); }},
        {"unaligned STORE_DW", [&](BatchBuilder& b) { b.store_dw(out.gpu(34), 1); }},
        {"unaligned STORE_QW", [&](BatchBuilder& b) { b.store_qw(out.gpu(36), 1); }},
        {"unaligned ATOMIC",
         [&](BatchBuilder& b) { b.atomic(DRM_SIMGPU_ATOMIC_INC, out.gpu(36), 0); }},
    };
    for (const auto& [name, emit] : cases) {
        igt_info("%s\n", name);
        BatchBuilder b;
        b.store_dw(out.gpu(0), 1);
        emit(b);
        b.store_dw(out.gpu(4), 2).batch_end();
        out.as<uint32_t>()[0] = 0;
        const JobResult r = run_batch(vm, queue, b);
        assert_job_failed(r, EILSEQ, true);
        igt_assert_eq(out.as<uint32_t>()[0], 1u);
        igt_assert_eq(out.as<uint32_t>()[1], 0u);
        assert_queue_works(vm, queue);
    }
    igt_assert_eq(queue_state(queue).jobs_failed, cases.size());
}

void preemption(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue hog = make_queue(env, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0);
    const ExecQueue quick = make_queue(env, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0);
    auto [flag, out] = flag_and_out(vm);

    Job blocked = Job::submit(vm, hog, wait_then_store(flag.gpu(), 1, out.gpu(), 0x11));
    sleep_ms(50);
    for (int i = 0; i < 3; ++i) {
        BatchBuilder b;
        b.store_dw(out.gpu(4 + 4 * i), 0x22 + i).batch_end();
        assert_job_ok(run_batch(vm, quick, b, 10 * sec_ns));
        igt_assert_eq(out.as<uint32_t>()[1 + i], 0x22u + i);
    }
    igt_assert(!blocked.done());
    igt_assert_eq(out.as<uint32_t>()[0], 0u);
    reinterpret_cast<volatile uint64_t*>(flag.as<uint64_t>())[0] = 1;
    assert_job_ok(blocked.result());
    igt_assert_eq(out.as<uint32_t>()[0], 0x11u);
}

void exec_in_syncobj(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue a = make_queue(env, vm);
    const ExecQueue b = make_queue(env, vm);
    auto [flag, out] = flag_and_out(vm);
    GpuBuffer batch = make_buffer(vm, page_size);
    BatchBuilder second;
    second.store_dw(out.gpu(4), 0x22).batch_end();
    std::memcpy(batch.bytes(), second.dwords().data(), second.size_bytes());

    Job first = Job::submit(vm, a, wait_then_store(flag.gpu(), 1, out.gpu(), 0x11));
    // Job 1's fence gates queue b: export it through a syncobj.
    Syncobj gate = make_syncobj(env);
    Syncobj done = make_syncobj(env);
    BatchBuilder signal_gate;
    signal_gate.batch_end();
    {
        // Queue a second job on a behind the first; its out-fence is the gate.
        GpuBuffer nop = make_buffer(vm, page_size);
        std::memcpy(nop.bytes(), signal_gate.dwords().data(), signal_gate.size_bytes());
        const auto out_sync = simgpu::syncobj_out(gate.handle());
        igt_assert_ok(a.exec(nop.gpu(), {&out_sync, 1}));
    }
    const std::array<drm_simgpu_sync, 2> syncs{simgpu::syncobj_in(gate.handle()),
                                               simgpu::syncobj_out(done.handle())};
    igt_assert_ok(b.exec(batch.gpu(), syncs));
    sleep_ms(200);
    igt_assert_errno(done.wait(0), ETIME);
    igt_assert_eq(out.as<uint32_t>()[1], 0u);
    reinterpret_cast<volatile uint64_t*>(flag.as<uint64_t>())[0] = 1;
    assert_job_ok(first.result());
    igt_assert_ok(done.wait(job_timeout_ns));
    igt_assert_eq(fence_status(done), 1);
    igt_assert_eq(out.as<uint32_t>()[0], 0x11u);
    igt_assert_eq(out.as<uint32_t>()[1], 0x22u);

    // An already signalled in-fence does not hold a job back.
    Syncobj ready = make_syncobj(env, DRM_SYNCOBJ_CREATE_SIGNALED);
    Syncobj done2 = make_syncobj(env);
    out.as<uint32_t>()[1] = 0;
    const std::array<drm_simgpu_sync, 2> syncs2{simgpu::syncobj_in(ready.handle()),
                                                simgpu::syncobj_out(done2.handle())};
    igt_assert_ok(b.exec(batch.gpu(), syncs2));
    igt_assert_ok(done2.wait(job_timeout_ns));
    igt_assert_eq(out.as<uint32_t>()[1], 0x22u);
}

void exec_user_fence(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    GpuBuffer fences = make_zeroed(vm);
    GpuBuffer batch = make_buffer(vm, page_size);
    BatchBuilder b;
    b.store_dw(fences.gpu(64), 0x5a).batch_end();
    std::memcpy(batch.bytes(), b.dwords().data(), b.size_bytes());
    Syncobj done = make_syncobj(env);
    const std::array<drm_simgpu_sync, 3> syncs{
        simgpu::user_fence_out(fences.gpu(0), 0x1234567890abcdefULL),
        simgpu::user_fence_out(fences.gpu(8), 7), simgpu::syncobj_out(done.handle())};
    igt_assert_ok(queue.exec(batch.gpu(), syncs));
    igt_assert_ok(simgpu::wait_user_fence(env.dev, fences.as<uint64_t>(),
                                          0x1234567890abcdefULL, DRM_SIMGPU_CMP_EQ,
                                          job_timeout_ns, queue.id()));
    igt_assert_ok(simgpu::wait_user_fence(env.dev, fences.as<uint64_t>() + 1, 7));
    igt_assert_ok(done.wait(job_timeout_ns));
    igt_assert_eq(fences.as<uint32_t>()[16], 0x5au);
    igt_assert_eq(fences.as<uint64_t>()[2], 0u);
}

// A job that times out writes its status fence with -ETIMEDOUT
// (the write gets a new job timeout of its own).
void exec_status_fence_timeout(const Env& env)
{
    const auto [vm, queue] = VmQueue(env);
    auto [flag, fences] = flag_and_out(vm);
    const ParamRestorer restore("job_timeout_ms", read_param("job_timeout_ms").value());
    igt_assert(write_param("job_timeout_ms", "200"));
    GpuBuffer batch = make_buffer(vm, page_size);
    BatchBuilder b;
    b.wait(DRM_SIMGPU_CMP_EQ, flag.gpu(), 1, ~0ull, 0).batch_end();
    std::memcpy(batch.bytes(), b.dwords().data(), b.size_bytes());
    const auto sync = simgpu::user_fence_status_out(fences.gpu(), 5);
    igt_assert_ok(queue.exec(batch.gpu(), {&sync, 1}));
    igt_assert_ok(simgpu::wait_user_fence(env.dev, fences.as<uint64_t>(), 5,
                                          DRM_SIMGPU_CMP_EQ, job_timeout_ns));
    igt_assert_eq(static_cast<int64_t>(fences.as<uint64_t>()[1]), int64_t{-ETIMEDOUT});
    igt_assert_eq(queue_state(queue).error, -ETIMEDOUT);
}

void exec_status_fence_bad(const Env& env)
{
    const ExecSetup s(env);
    Syncobj syncobj = make_syncobj(env);
    // Not on a syncobj, in or out.
    for (auto sync : {simgpu::syncobj_in(syncobj.handle()),
                      simgpu::syncobj_out(syncobj.handle())}) {
        sync.flags |= DRM_SIMGPU_SYNC_FLAG_STATUS;
        s.assert_sync_fails(env, sync, EINVAL);
    }
    // 16 bytes that wrap around the address space.
    for (const uint64_t addr : {~uint64_t{7}, ~uint64_t{15} + 8})
        s.assert_sync_fails(env, simgpu::user_fence_status_out(addr, 1), EINVAL);
    // Without SIGNAL.
    auto x = simgpu::user_fence_status_out(s.batch.gpu(512), 1);
    x.flags = DRM_SIMGPU_SYNC_FLAG_STATUS;
    s.assert_sync_fails(env, x, EINVAL);
    // Not on VM_BIND: its errors are the ioctl's.
    uint64_t word = 0;
    auto bind_sync = simgpu::user_fence_out(&word, 1);
    bind_sync.flags |= DRM_SIMGPU_SYNC_FLAG_STATUS;
    GpuBuffer extra = make_buffer(s.vm, page_size);
    drm_simgpu_vm_bind_op op{};
    op.op = DRM_SIMGPU_VM_BIND_OP_UNMAP;
    op.addr = extra.gpu();
    op.range = page_size;
    drm_simgpu_vm_bind bind{};
    bind.vm_id = s.vm.id();
    bind.num_binds = 1;
    bind.binds = reinterpret_cast<uintptr_t>(&op);
    bind.num_syncs = 1;
    bind.syncs = reinterpret_cast<uintptr_t>(&bind_sync);
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_VM_BIND, bind), EINVAL);
    igt_assert_eq(word, 0u);
    // Nothing was unbound.
    extra.as<uint32_t>()[0] = 0;
    BatchBuilder b;
    b.store_dw(extra.gpu(), 0x77).batch_end();
    assert_job_ok(run_batch(s.vm, s.queue, b));
    igt_assert_eq(extra.as<uint32_t>()[0], 0x77u);
    assert_queue_works(s.vm, s.queue);
}

void exec_user_fence_eventfd_cancelled(const Env& env)
{
    const Vm vm = make_vm(env);
    ExecQueue queue = make_queue(env, vm);
    auto [flag, fences] = flag_and_out(vm);
    const EventFd event = make_eventfd();
    Job blocked = Job::submit(vm, queue, wait_then_store(flag.gpu(), 1, fences.gpu(64), 1));
    const auto sync = simgpu::user_fence_out(fences.gpu(), 1, event.fd());
    GpuBuffer batch = make_buffer(vm, page_size);
    BatchBuilder b;
    b.batch_end();
    std::memcpy(batch.bytes(), b.dwords().data(), b.size_bytes());
    igt_assert_ok(queue.exec(batch.gpu(), {&sync, 1}));
    sleep_ms(50);
    igt_assert_ok(queue.destroy());
    sleep_ms(100);
    igt_assert_eq(eventfd_count(event), 0u);
    igt_assert_eq(fences.as<uint64_t>()[0], 0u);
    igt_assert_eq(fences.as<uint32_t>()[16], 0u);
}

void exec_user_fence_eventfd_bad(const Env& env)
{
    const ExecSetup s(env);
    Syncobj syncobj = make_syncobj(env);
    const EventFd event = make_eventfd();
    const uint64_t fence_va = s.batch.gpu(512);
    const auto uf = [&](uint32_t handle) {
        return simgpu::user_fence_out(fence_va, 1, static_cast<int>(handle));
    };
    int closed;
    {
        const EventFd gone = make_eventfd();
        closed = gone.fd();
    }
    // Not an open descriptor.
    for (const uint32_t fd : {static_cast<uint32_t>(closed), 0x7fffffffu, 0xffffffffu})
        s.assert_sync_fails(env, uf(fd), EBADF);
    // Open, but not an eventfd: the DRM file, /dev/null, a sync_file.
    const simgpu::Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    igt_assert(null.valid());
    Syncobj ready = make_syncobj(env, DRM_SYNCOBJ_CREATE_SIGNALED);
    auto sync_file = ready.export_sync_file();
    igt_assert_ok(sync_file);
    for (const int fd : {env.dev.fd(), null.get(), sync_file.value().get()})
        s.assert_sync_fails(env, uf(static_cast<uint32_t>(fd)), EINVAL);
    // The flag without SIGNAL, beside an unknown flag, on syncobjs.
    auto x = uf(static_cast<uint32_t>(event.fd()));
    x.flags = DRM_SIMGPU_SYNC_FLAG_EVENTFD;
    s.assert_sync_fails(env, x, EINVAL);
    for (const uint32_t unknown : {1u << 3, 1u << 31}) {
        x = uf(static_cast<uint32_t>(event.fd()));
        x.flags |= unknown;
        s.assert_sync_fails(env, x, EINVAL);
    }
    for (auto sync : {simgpu::syncobj_in(syncobj.handle()),
                      simgpu::syncobj_out(syncobj.handle())}) {
        sync.flags |= DRM_SIMGPU_SYNC_FLAG_EVENTFD;
        s.assert_sync_fails(env, sync, EINVAL);
        sync.handle = static_cast<uint32_t>(event.fd());
        s.assert_sync_fails(env, sync, EINVAL);
    }
    // A good eventfd beside a bad one: nothing queued, nothing signalled.
    // (Not @closed: /dev/null may have taken its number.)
    const std::array<drm_simgpu_sync, 2> pair{uf(static_cast<uint32_t>(event.fd())),
                                              uf(0x7fffffffu)};
    s.assert_fails(env, s.args(pair), EBADF);
    sleep_ms(50);
    igt_assert_eq(eventfd_count(event), 0u);
    assert_queue_works(s.vm, s.queue);
}

void vm_bind_user_fence_eventfd(const Env& env)
{
    const Vm vm = make_vm(env);
    GpuBuffer buf = make_unbound(env.dev, page_size);
    alignas(8) static uint64_t fence_words[2];
    fence_words[0] = fence_words[1] = 0;
    const EventFd event = make_eventfd();
    const EventFd other = make_eventfd();
    const uint64_t va = alloc_va(page_size);
    const auto op = simgpu::map_op(buf.bo, va, page_size);
    const auto mapped = [&] {
        auto pages = vm.query_range(va, 1);
        igt_assert_ok(pages);
        return (pages.value()[0] & DRM_SIMGPU_PAGE_MAPPED) != 0;
    };

    // Signalled by the time VM_BIND returns, after the value was written;
    // two user fences on one eventfd count 2.
    const std::array<drm_simgpu_sync, 3> syncs{
        simgpu::user_fence_out(&fence_words[0], 0xb1d0, event.fd()),
        simgpu::user_fence_out(&fence_words[1], 0xb1d1, event.fd()),
        simgpu::user_fence_out(&fence_words[1], 0xb1d1, other.fd())};
    Waiter waiter = make_waiter();
    igt_assert_ok(waiter.add(event.fd(), 0));
    igt_assert_ok(vm.bind({&op, 1}, syncs));
    igt_assert(mapped());
    auto ready = waiter.wait(0);
    igt_assert_ok(ready);
    igt_assert(ready.value() == std::vector<uint64_t>{0});
    igt_assert_eq(fence_words[0], 0xb1d0u);
    igt_assert_eq(fence_words[1], 0xb1d1u);
    igt_assert_eq(eventfd_count(event), 2u);
    igt_assert_eq(eventfd_count(other), 1u);
    igt_assert_ok(vm.unmap(va, page_size));

    // A failed bind writes no value and signals nothing: a mirror MAP
    // in a VM without fault mode (EINVAL once the syncs were looked
    // up), a fence in read-only memory (EFAULT after the bind), a bad
    // eventfd (EBADF, nothing applied).
    fence_words[0] = 0;
    const auto uf = simgpu::user_fence_out(&fence_words[0], 3, event.fd());
    const auto mirror = simgpu::mirror_op(alloc_va(page_size), page_size);
    igt_assert_errno(vm.bind({&mirror, 1}, {&uf, 1}), EINVAL);
    const AnonMapping ro(page_size, PROT_READ);
    const auto ro_uf = simgpu::user_fence_out(
        reinterpret_cast<const uint64_t*>(ro.data()), 4, event.fd());
    igt_assert_errno(vm.bind({&op, 1}, {&ro_uf, 1}), EFAULT);
    igt_assert_ok(vm.unmap(va, page_size));
    int closed;
    {
        const EventFd gone = make_eventfd();
        closed = gone.fd();
    }
    const std::array<drm_simgpu_sync, 2> bad{
        uf, simgpu::user_fence_out(&fence_words[1], 5, closed)};
    igt_assert_errno(vm.bind({&op, 1}, bad), EBADF);
    igt_assert(!mapped());
    igt_assert_eq(fence_words[0], 0u);
    igt_assert_eq(fence_words[1], 0xb1d1u);
    igt_assert_eq(eventfd_count(event), 0u);

    // The flag on a syncobj.
    Syncobj syncobj = make_syncobj(env);
    auto so = simgpu::syncobj_out(syncobj.handle());
    so.flags |= DRM_SIMGPU_SYNC_FLAG_EVENTFD;
    igt_assert_errno(vm.bind({&op, 1}, {&so, 1}), EINVAL);
    igt_assert(!mapped());
}

// --- EXEC argument checking -------------------------------------------

void exec_bad_extensions(const Env& env)
{
    const ExecSetup s(env);
    for (const uint64_t v : {uint64_t{1}, ~uint64_t{0}}) {
        auto e = s.args();
        e.extensions = v;
        s.assert_fails(env, e, EINVAL);
    }
    assert_queue_works(s.vm, s.queue);
}

void exec_bad_reserved(const Env& env)
{
    const ExecSetup s(env);
    for (size_t i = 0; i < 2; ++i) {
        auto e = s.args();
        e.reserved[i] = 1;
        s.assert_fails(env, e, EINVAL);
    }
}

void exec_bad_queue(const Env& env)
{
    const ExecSetup s(env);
    auto e = s.args();
    e.exec_queue_id = s.queue.id() + 1000;
    s.assert_fails(env, e, ENOENT);
    e.exec_queue_id = 0;
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC, e), ENOENT);

    ExecQueue gone = make_queue(env, s.vm);
    const uint32_t id = gone.id();
    igt_assert_ok(gone.destroy());
    e.exec_queue_id = id;
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC, e), ENOENT);
}

void exec_bad_syncs_pointer(const Env& env)
{
    const ExecSetup s(env);
    const AnonMapping none(page_size, PROT_NONE);
    for (const uint64_t ptr : {uint64_t{0}, uint64_t{0x10},
                               static_cast<uint64_t>(reinterpret_cast<uintptr_t>(none.data()))}) {
        auto e = s.args();
        e.num_syncs = 1;
        e.syncs = ptr;
        s.assert_fails(env, e, EFAULT);
    }
}

void exec_too_many_syncs(const Env& env)
{
    const ExecSetup s(env);
    Syncobj ready = make_syncobj(env, DRM_SYNCOBJ_CREATE_SIGNALED);
    Syncobj done = make_syncobj(env);
    std::vector<drm_simgpu_sync> syncs(65, simgpu::syncobj_in(ready.handle()));
    syncs[0] = simgpu::syncobj_out(done.handle());
    auto e = s.args({syncs.data(), 65});
    s.assert_fails(env, e, EINVAL);
    e.num_syncs = 0xffffffffu;
    s.assert_fails(env, e, EINVAL);
    // 64 is the limit and is accepted.
    e = s.args({syncs.data(), 64});
    igt_assert_ok(raw(env, DRM_IOCTL_SIMGPU_EXEC, e));
    igt_assert_ok(done.wait(job_timeout_ns));
    igt_assert_eq(fence_status(done), 1);
}

void exec_bad_sync_type(const Env& env)
{
    const ExecSetup s(env);
    Syncobj done = make_syncobj(env);
    for (const uint32_t type : {2u, 0x80000000u, ~0u}) {
        auto sync = simgpu::syncobj_out(done.handle());
        sync.type = type;
        s.assert_sync_fails(env, sync, EINVAL);
    }
}

void exec_bad_sync_flags(const Env& env)
{
    const ExecSetup s(env);
    Syncobj done = make_syncobj(env);
    // Bit 1 is DRM_SIMGPU_SYNC_FLAG_EVENTFD (the exec-user-fence-eventfd-*
    // subtests), bit 2 DRM_SIMGPU_SYNC_FLAG_STATUS (exec-status-fence-*;
    // alone it lacks SIGNAL).
    for (const uint32_t flags : {4u, 8u, 9u, 0x80000001u}) {
        auto sync = simgpu::syncobj_out(done.handle());
        sync.flags = flags;
        s.assert_sync_fails(env, sync, EINVAL);
        auto uf = simgpu::user_fence_out(s.batch.gpu(512), 1);
        uf.flags = flags;
        s.assert_sync_fails(env, uf, EINVAL);
    }
}

void exec_bad_sync_fields(const Env& env)
{
    const ExecSetup s(env);
    Syncobj done = make_syncobj(env);
    const auto good = simgpu::syncobj_out(done.handle());
    const auto good_uf = simgpu::user_fence_out(s.batch.gpu(512), 1);
    for (const auto& base : {good, good_uf})
        each_nonzero_field(base, true, [&](const drm_simgpu_sync& x) {
            s.assert_sync_fails(env, x, EINVAL);
        });
    // SYNCOBJ: addr and value must be 0.
    auto x = good;
    x.addr = s.batch.gpu(512);
    s.assert_sync_fails(env, x, EINVAL);
    x = good;
    x.value = 1;
    s.assert_sync_fails(env, x, EINVAL);
    // USER_FENCE: handle must be 0, addr 8-byte aligned.
    x = good_uf;
    x.handle = done.handle();
    s.assert_sync_fails(env, x, EINVAL);
    for (const uint64_t off : {uint64_t{4}, uint64_t{1}}) {
        x = good_uf;
        x.addr += off;
        s.assert_sync_fails(env, x, EINVAL);
    }
    assert_queue_works(s.vm, s.queue);
}

void exec_bad_sync_handle(const Env& env)
{
    const ExecSetup s(env);
    uint32_t gone_handle;
    {
        Syncobj gone = make_syncobj(env);
        gone_handle = gone.handle();
    }
    for (const uint32_t handle : {gone_handle, 0xfffffu}) {
        s.assert_sync_fails(env, simgpu::syncobj_out(handle), ENOENT);
        s.assert_sync_fails(env, simgpu::syncobj_in(handle), ENOENT);
    }
}

void exec_user_fence_without_signal(const Env& env)
{
    const ExecSetup s(env);
    auto uf = simgpu::user_fence_out(s.batch.gpu(512), 1);
    uf.flags = 0;
    s.assert_sync_fails(env, uf, EINVAL);
}

void exec_syncobj_out_on_fault_mode(const Env& env)
{
    igt_require_f(env.fault_mode(), "the device has no fault mode");
    const ExecSetup s(env, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    Syncobj done = make_syncobj(env);
    s.assert_sync_fails(env, simgpu::syncobj_out(done.handle()), EINVAL);
    // With a user fence beside it too.
    const std::array<drm_simgpu_sync, 2> syncs{
        simgpu::user_fence_out(s.batch.gpu(512), 1),
        simgpu::syncobj_out(done.handle())};
    s.assert_fails(env, s.args(syncs), EINVAL);
    assert_queue_works(s.vm, s.queue);
}

void exec_unaligned_address(const Env& env)
{
    const ExecSetup s(env);
    for (const uint64_t off : {uint64_t{1}, uint64_t{2}, uint64_t{3}}) {
        auto e = s.args();
        e.address += off;
        s.assert_fails(env, e, EINVAL);
    }
    assert_queue_works(s.vm, s.queue);
}

// --- EXEC_QUEUE_* argument checking -----------------------------------

void queue_create_bad_engine(const Env& env)
{
    const Vm vm = make_vm(env);
    const auto ncompute =
        static_cast<uint16_t>(env.instances(DRM_SIMGPU_ENGINE_CLASS_COMPUTE).size());
    const auto ncopy = static_cast<uint16_t>(env.instances(DRM_SIMGPU_ENGINE_CLASS_COPY).size());
    const std::pair<uint16_t, uint16_t> bad[] = {
        {2, 0}, {0xffff, 0}, {DRM_SIMGPU_ENGINE_CLASS_COMPUTE, ncompute},
        {DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0xffff}, {DRM_SIMGPU_ENGINE_CLASS_COPY, ncopy},
        {DRM_SIMGPU_ENGINE_CLASS_COPY, 0xffff}};
    for (const auto& [cls, inst] : bad) {
        igt_info("class %u instance %u\n", cls, inst);
        igt_assert_errno(ExecQueue::create(env.dev, vm, cls, inst), EINVAL);
    }
    // Every engine the query lists is accepted.
    for (const auto& e : env.engines) {
        auto q = ExecQueue::create(env.dev, vm, e.engine_class, e.instance);
        igt_assert_ok(q);
    }
}

void queue_create_bad_vm(const Env& env)
{
    Vm vm = make_vm(env);
    for (const uint32_t id : {vm.id() + 1000, 0u}) {
        drm_simgpu_exec_queue_create c{};
        c.vm_id = id;
        igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, c), ENOENT);
    }
    const uint32_t id = vm.id();
    igt_assert_ok(vm.destroy());
    drm_simgpu_exec_queue_create c{};
    c.vm_id = id;
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, c), ENOENT);
}

void queue_create_bad_flags(const Env& env)
{
    const Vm vm = make_vm(env);
    const auto base = [&] {
        drm_simgpu_exec_queue_create c{};
        c.vm_id = vm.id();
        return c;
    };
    for (const uint32_t flags : {1u, 0x80000000u}) {
        auto c = base();
        c.flags = flags;
        igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, c), EINVAL);
    }
    assert_nonzero_fields_rejected(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, base(), false);
    auto c = base();
    igt_assert_ok(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, c));
    const ExecQueue adopted(env.dev, c.exec_queue_id, vm.id(), false);
    igt_assert_neq(c.exec_queue_id, 0u);
}

void queue_ids(const Env& env)
{
    const Vm vm = make_vm(env);
    std::vector<ExecQueue> queues;
    std::vector<uint32_t> ids;
    for (int i = 0; i < 16; ++i) {
        queues.push_back(make_queue(env, vm));
        ids.push_back(queues.back().id());
    }
    std::sort(ids.begin(), ids.end());
    igt_assert(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
    igt_assert_lte(1u, ids.front());
    for (auto& q : queues) {
        const auto st = queue_state(q);
        igt_assert_eq(st.error, 0);
        igt_assert_eq(st.jobs_submitted, 0u);
        igt_assert_eq(st.jobs_completed, 0u);
        igt_assert_eq(st.jobs_failed, 0u);
        igt_assert_eq(st.fault_addr, 0u);
    }
}

void queue_destroy_bad_id(const Env& env)
{
    const Vm vm = make_vm(env);
    ExecQueue q = make_queue(env, vm);
    drm_simgpu_exec_queue_destroy d{};
    d.exec_queue_id = q.id() + 1000;
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, d), ENOENT);
    d.exec_queue_id = 0;
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, d), ENOENT);

    // Bad fields leave the queue alone.
    const auto base = [&] {
        drm_simgpu_exec_queue_destroy x{};
        x.exec_queue_id = q.id();
        return x;
    };
    assert_nonzero_fields_rejected(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, base(), true);
    assert_queue_works(vm, q);

    const uint32_t id = q.id();
    igt_assert_ok(q.destroy());
    d.exec_queue_id = id;
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY, d), ENOENT);
    drm_simgpu_exec_queue_state st{};
    st.exec_queue_id = id;
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, st), ENOENT);
}

void queue_destroy_cancels(const Env& env)
{
    const Vm vm = make_vm(env);
    ExecQueue q = make_queue(env, vm);
    auto [flag, out] = flag_and_out(vm);
    GpuBuffer batch = make_buffer(vm, page_size);
    const BatchBuilder b = wait_then_store(flag.gpu(), 1, out.gpu(), 0x11);
    std::memcpy(batch.bytes(), b.dwords().data(), b.size_bytes());
    Syncobj done = make_syncobj(env);
    const auto sync = simgpu::syncobj_out(done.handle());
    igt_assert_ok(q.exec(batch.gpu(), {&sync, 1}));
    sleep_ms(50);
    igt_assert_ok(q.destroy());
    igt_assert_ok(done.wait(10 * sec_ns));
    igt_assert_eq(fence_status(done), -ECANCELED);
    reinterpret_cast<volatile uint64_t*>(flag.as<uint64_t>())[0] = 1;
    sleep_ms(100);
    igt_assert_eq(out.as<uint32_t>()[0], 0u);
}

void queue_state_bad_id(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue q = make_queue(env, vm);
    for (const uint32_t id : {q.id() + 1000, 0u}) {
        drm_simgpu_exec_queue_state st{};
        st.exec_queue_id = id;
        igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, st), ENOENT);
    }
}

void queue_state_bad_fields(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue q = make_queue(env, vm);
    const auto base = [&] {
        drm_simgpu_exec_queue_state st{};
        st.exec_queue_id = q.id();
        return st;
    };
    auto st = base();
    st.flags = 1;
    igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, st), EINVAL);
    assert_nonzero_fields_rejected(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, base(), false);
    st = base();
    igt_assert_ok(raw(env, DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE, st));
}

// --- WAIT_USER_FENCE --------------------------------------------------

void wait_ufence_ops(const Env& env)
{
    alignas(8) uint64_t v = 0x100;
    const auto check = [&](uint32_t op, uint64_t value, uint64_t mask, bool holds) {
        const auto r = simgpu::wait_user_fence(env.dev, &v, value, op, 0, 0, mask);
        if (holds)
            igt_assert_f(r.ok(), "op %u value 0x%llx mask 0x%llx on 0x%llx: %s", op,
                         static_cast<unsigned long long>(value),
                         static_cast<unsigned long long>(mask),
                         static_cast<unsigned long long>(v), r.error().message().c_str());
        else
            igt_assert_errno(r, ETIME);
    };
    const uint64_t all = ~uint64_t{0};
    check(DRM_SIMGPU_CMP_EQ, 0x100, all, true);
    check(DRM_SIMGPU_CMP_EQ, 0x101, all, false);
    check(DRM_SIMGPU_CMP_NEQ, 0x101, all, true);
    check(DRM_SIMGPU_CMP_NEQ, 0x100, all, false);
    check(DRM_SIMGPU_CMP_GT, 0xff, all, true);
    check(DRM_SIMGPU_CMP_GT, 0x100, all, false);
    check(DRM_SIMGPU_CMP_GTE, 0x100, all, true);
    check(DRM_SIMGPU_CMP_GTE, 0x101, all, false);
    check(DRM_SIMGPU_CMP_LT, 0x101, all, true);
    check(DRM_SIMGPU_CMP_LT, 0x100, all, false);
    check(DRM_SIMGPU_CMP_LTE, 0x100, all, true);
    check(DRM_SIMGPU_CMP_LTE, 0xff, all, false);
    // The mask applies to both sides; the comparison is unsigned.
    check(DRM_SIMGPU_CMP_EQ, 0xf100, 0xfff, true);
    check(DRM_SIMGPU_CMP_EQ, 0x1ff, 0xf0f, false);
    v = 0x8000000000000000ULL;
    check(DRM_SIMGPU_CMP_GT, 1, all, true);
    check(DRM_SIMGPU_CMP_LT, 1, all, false);
}

void wait_ufence_bad_op(const Env& env)
{
    alignas(8) uint64_t v = 0;
    for (const uint32_t op : {6u, 0x80000000u, ~0u})
        igt_assert_errno(simgpu::wait_user_fence(env.dev, &v, 0, op, 0), EINVAL);
}

void wait_ufence_unaligned(const Env& env)
{
    alignas(8) uint64_t v[2] = {0, 0};
    for (const size_t off : {1, 4, 7}) {
        const auto* p = reinterpret_cast<const uint64_t*>(reinterpret_cast<const char*>(v) + off);
        igt_assert_errno(simgpu::wait_user_fence(env.dev, p, 0, DRM_SIMGPU_CMP_EQ, 0), EINVAL);
    }
}

void wait_ufence_bad_flags(const Env& env)
{
    alignas(8) uint64_t v = 0;
    const auto base = [&] {
        return simgpu::pack_wait_user_fence(&v, 0, DRM_SIMGPU_CMP_EQ, 0, 0, ~uint64_t{0});
    };
    auto w = base();
    igt_assert_ok(raw(env, DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, w));
    for (const uint32_t flags : {1u, 0x80000000u}) {
        w = base();
        w.flags = flags;
        igt_assert_errno(raw(env, DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, w), EINVAL);
    }
    assert_nonzero_fields_rejected(env, DRM_IOCTL_SIMGPU_WAIT_USER_FENCE, base(), true);
}

void wait_ufence_timeout(const Env& env)
{
    alignas(8) uint64_t v = 1;
    for (const int64_t timeout : {int64_t{0}, 10 * ms_ns, 200 * ms_ns}) {
        const int64_t start = now_ns();
        igt_assert_errno(simgpu::wait_user_fence(env.dev, &v, 2, DRM_SIMGPU_CMP_EQ, timeout),
                         ETIME);
        const double ms = elapsed_ms(start);
        igt_assert_f(ms >= static_cast<double>(timeout) / 1e6 * 0.9 &&
                         ms < static_cast<double>(timeout) / 1e6 + 2000,
                     "a %lld ns timeout took %.1f ms", static_cast<long long>(timeout), ms);
    }
    // A condition already true returns at once, whatever the timeout.
    igt_assert_ok(simgpu::wait_user_fence(env.dev, &v, 1, DRM_SIMGPU_CMP_EQ, -1));
}

void wait_ufence_bad_address(const Env& env)
{
    const AnonMapping none(page_size, PROT_NONE);
    for (const uintptr_t addr : {uintptr_t{0x10}, uintptr_t{0x1000},
                                 reinterpret_cast<uintptr_t>(none.data())})
        igt_assert_errno(simgpu::wait_user_fence(env.dev,
                                                 reinterpret_cast<const uint64_t*>(addr), 0,
                                                 DRM_SIMGPU_CMP_EQ, 10 * ms_ns),
                         EFAULT);
}

void wait_ufence_bad_queue(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue q = make_queue(env, vm);
    alignas(8) uint64_t v = 0;
    igt_assert_errno(simgpu::wait_user_fence(env.dev, &v, 1, DRM_SIMGPU_CMP_EQ, 0,
                                             q.id() + 1000),
                     ENOENT);
    // An existing queue is accepted.
    igt_assert_ok(simgpu::wait_user_fence(env.dev, &v, 0, DRM_SIMGPU_CMP_EQ, 0, q.id()));
}

// The store-dword-* family: the same stores to a buffer of each placement.
struct StorePlacement {
    const char* name;
    uint32_t placement;
    const char* description;
};

constexpr StorePlacement store_placements[] = {
    {"system", DRM_SIMGPU_MEM_SYSTEM,
     "STORE_DW and STORE_QW to a system-memory buffer write exactly their values, the last "
     "store winning"},
    {"vram", DRM_SIMGPU_MEM_VRAM,
     "STORE_DW and STORE_QW to a VRAM buffer write exactly their values, the last store winning"},
};

using Case = igt::Case<const Env&>;

constexpr Case cases[] = {
    {"fill-large",
     "FILL of whole 16 MiB system and VRAM buffers and of an unaligned window writes exactly "
     "those dwords",
     fill_large},
    {"copy-large",
     "COPY of 16 MiB between system memory and VRAM, on the copy and compute engines, and at odd "
     "byte offsets copies exactly",
     copy_large},
    {"kernel-memset",
     "the MEMSET kernel writes its value to exactly count dwords, a count that is not a multiple "
     "of the workgroup",
     kernel_memset},
    {"kernel-copy", "the COPY kernel copies 64Ki dwords from system memory to VRAM and no more",
     kernel_copy},
    {"kernel-add", "the ADD kernel's wrapping sums match the CPU's", kernel_add},
    {"kernel-saxpy", "the SAXPY kernel's results match the CPU's to a relative 1e-5",
     kernel_saxpy},
    {"kernel-reduce-sum",
     "the REDUCE_SUM kernel assigns the 64-bit sum of 64Ki dwords to its destination, touching "
     "nothing else",
     kernel_reduce_sum},
    {"kernel-gather", "the GATHER kernel matches the CPU's gather through a random index",
     kernel_gather},
    {"kernel-histogram",
     "the HISTOGRAM kernel adds the counts of 61 bins to their old values and touches no other "
     "dword",
     kernel_histogram},
    {"kernel-list-sum",
     "the LIST_SUM kernel walks a shuffled 4096-node list in VRAM and returns its sum and length",
     kernel_list_sum},
    {"list-sum-cycle",
     "LIST_SUM on a cyclic list, or one longer than max_nodes, fails its job with -EILSEQ and the "
     "queue recovers",
     list_sum_cycle},
    {"atomics-many-queues",
     "64- and 32-bit INC, ADD and XCHG from 8 queues at once lose no update, and CMPXCHG and XCHG "
     "return the old value",
     atomics_many_queues},
    {"many-queues-one-vm",
     "32 queues of one VM each fill and store into a page of their own, each with exactly its data",
     many_queues_one_vm},
    {"batch-chaining",
     "BATCH_START chains batches across BOs, a batch runs across two BOs' pages, and an unaligned "
     "BATCH_START fails",
     batch_chaining},
    {"wait-cpu-signal",
     "a WAIT holds its job back until the CPU writes the value it waits for, also GTE under a mask",
     wait_cpu_signal},
    {"wait-timeout",
     "a WAIT that times out fails its job with -ETIMEDOUT, and one whose condition holds passes",
     wait_timeout},
    {"job-timeout",
     "a hung job fails with -ETIMEDOUT after job_timeout_ms while another queue runs, and its "
     "queue recovers",
     job_timeout},
    {"invalid-va-dma-fence",
     "a write or read of an unmapped VA fails its job with -EFAULT at that address on a VM "
     "without fault mode",
     invalid_va_dma_fence},
    {"invalid-va-fault-mode",
     "a store to an unmapped VA fails its job with -EFAULT at that address on a fault-mode VM",
     invalid_va_fault_mode},
    {"readonly-mapping",
     "a read-only mapping can be copied from, while a store, atomic or COPY to it faults and "
     "leaves it intact",
     readonly_mapping},
    {"invalid-command",
     "each invalid command (opcode, length, operand, alignment) fails its job with -EILSEQ where "
     "it stands",
     invalid_command},
    {"preemption",
     "a job blocked on a WAIT does not hold back another queue's jobs on the same engine",
     preemption},
    {"exec-in-syncobj",
     "an in-syncobj holds a job back until it is signalled, and a signalled one does not",
     exec_in_syncobj},
    {"exec-user-fence",
     "a job's user fences on a VM without fault mode, beside a syncobj out-fence, get their values",
     exec_user_fence},
    {"exec-user-fence-eventfd",
     "each job's user fence signals its eventfd once, after its value is written",
     on_both_vm_kinds<exec_user_fence_eventfd>},
    {"exec-user-fence-eventfd-failed-job",
     "a failed job writes no user fence and signals no eventfd; the queue's next job does both",
     on_both_vm_kinds<exec_user_fence_eventfd_failed_job>},
    {"exec-status-fence",
     "each job's status fence tells its own outcome, the queue state only the last failure",
     on_both_vm_kinds<exec_status_fence>},
    {"exec-status-fence-timeout",
     "a job timed out by a job_timeout_ms of 200 has -ETIMEDOUT in its status fence and queue "
     "state",
     exec_status_fence_timeout},
    {"exec-status-fence-bad",
     "the STATUS flag on a syncobj, on a fence that wraps, without SIGNAL or on VM_BIND is "
     "rejected with EINVAL",
     exec_status_fence_bad},
    {"exec-user-fence-eventfd-cancelled",
     "a job cancelled by its queue's destruction writes no user fence and signals no eventfd",
     exec_user_fence_eventfd_cancelled},
    {"exec-user-fence-eventfd-bad",
     "a sync naming a closed fd or no eventfd, or a misused EVENTFD flag, fails EXEC and signals "
     "nothing",
     exec_user_fence_eventfd_bad},
    {"vm-bind-user-fence-eventfd",
     "VM_BIND's user fences signal their eventfds by the time it returns; a failed bind signals "
     "nothing",
     vm_bind_user_fence_eventfd},

    // EXEC argument checking.
    {"exec-bad-extensions", "EXEC with nonzero extensions fails with EINVAL and queues nothing",
     exec_bad_extensions},
    {"exec-bad-reserved", "EXEC with a nonzero reserved word fails with EINVAL and queues nothing",
     exec_bad_reserved},
    {"exec-bad-queue", "EXEC on an unknown, zero or destroyed queue id fails with ENOENT",
     exec_bad_queue},
    {"exec-bad-syncs-pointer",
     "EXEC with a NULL, low or unreadable syncs pointer fails with EFAULT", exec_bad_syncs_pointer},
    {"exec-too-many-syncs", "EXEC with more than 64 syncs fails with EINVAL; 64 are accepted",
     exec_too_many_syncs},
    {"exec-bad-sync-type", "a sync of an unknown type fails EXEC with EINVAL", exec_bad_sync_type},
    {"exec-bad-sync-flags", "a sync with unknown flags, or STATUS alone, fails EXEC with EINVAL",
     exec_bad_sync_flags},
    {"exec-bad-sync-fields",
     "a sync with a nonzero unused field or an unaligned fence address fails EXEC with EINVAL",
     exec_bad_sync_fields},
    {"exec-bad-sync-handle", "a sync naming a destroyed or unknown syncobj fails EXEC with ENOENT",
     exec_bad_sync_handle},
    {"exec-user-fence-without-signal",
     "a user fence without the SIGNAL flag fails EXEC with EINVAL", exec_user_fence_without_signal},
    {"exec-syncobj-out-on-fault-mode",
     "an out-syncobj on a fault-mode VM fails EXEC with EINVAL, also beside a user fence",
     exec_syncobj_out_on_fault_mode},
    {"exec-unaligned-address", "EXEC of a batch address not dword-aligned fails with EINVAL",
     exec_unaligned_address},

    // EXEC_QUEUE_* argument checking.
    {"queue-create-bad-engine",
     "EXEC_QUEUE_CREATE rejects an unknown engine class or instance with EINVAL and accepts every "
     "engine listed",
     queue_create_bad_engine},
    {"queue-create-bad-vm",
     "EXEC_QUEUE_CREATE on an unknown, zero or destroyed VM fails with ENOENT",
     queue_create_bad_vm},
    {"queue-create-bad-flags",
     "EXEC_QUEUE_CREATE with unknown flags, extensions or reserved words fails with EINVAL",
     queue_create_bad_flags},
    {"queue-ids", "16 queues of a VM get distinct nonzero ids and a clean state", queue_ids},
    {"queue-destroy-bad-id",
     "EXEC_QUEUE_DESTROY of an unknown or destroyed id fails with ENOENT, with bad fields EINVAL",
     queue_destroy_bad_id},
    {"queue-destroy-cancels",
     "destroying a queue cancels its blocked job with -ECANCELED, which then never runs",
     queue_destroy_cancels},
    {"queue-state-bad-id", "EXEC_QUEUE_STATE of an unknown or zero queue id fails with ENOENT",
     queue_state_bad_id},
    {"queue-state-bad-fields",
     "EXEC_QUEUE_STATE with nonzero extensions, flags or reserved words fails with EINVAL",
     queue_state_bad_fields},

    // WAIT_USER_FENCE.
    {"wait-ufence-ops",
     "each WAIT_USER_FENCE comparison holds exactly when it should, unsigned and under the mask",
     wait_ufence_ops},
    {"wait-ufence-bad-op", "WAIT_USER_FENCE with an unknown comparison fails with EINVAL",
     wait_ufence_bad_op},
    {"wait-ufence-unaligned", "WAIT_USER_FENCE on an address not 8-byte aligned fails with EINVAL",
     wait_ufence_unaligned},
    {"wait-ufence-bad-flags",
     "WAIT_USER_FENCE with unknown flags or nonzero extensions, pad or reserved fails with EINVAL",
     wait_ufence_bad_flags},
    {"wait-ufence-timeout",
     "WAIT_USER_FENCE fails with ETIME after about its timeout, and returns at once when it holds",
     wait_ufence_timeout},
    {"wait-ufence-bad-address",
     "WAIT_USER_FENCE on an unmapped or inaccessible address fails with EFAULT",
     wait_ufence_bad_address},
    {"wait-ufence-bad-queue",
     "WAIT_USER_FENCE naming an unknown queue fails with ENOENT, an existing one is accepted",
     wait_ufence_bad_queue},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    std::optional<Env> env;

    t.fixture([&] { env.emplace(open_env()); });

    for (const StorePlacement& p : store_placements)
        t.subtest(std::string("store-dword-") + p.name, p.description,
                  [&] { store_dword(*env, p.placement); });
    igt::add_cases(t, cases, [&]() -> const Env& { return *env; });

    return t.exit_code();
}
