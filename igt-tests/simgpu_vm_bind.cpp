// SPDX-License-Identifier: MIT
//
// simgpu_vm_bind: buffer objects (GEM_CREATE, GEM_MMAP_OFFSET), VMs and
// VM_BIND: mapping, unmapping, splitting and replacing mappings checked by
// GPU writes read back through mmap, 2 MiB mappings, bind fences, TLB
// invalidation against a running job, and the argument checking of every
// field.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm/simgpu_drm.h>
#include <xf86drm.h>

#include "igt.hpp"
#include "simgpu_test.hpp"

namespace {

using namespace simgpu_test;
using simgpu::Result;
using simgpu::map_op;
using simgpu::unmap_op;

constexpr uint64_t va_bits_limit = uint64_t{1} << 48;

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

Result<void> raw_gem_create(const Env& env, drm_simgpu_gem_create& c)
{
    return env.dev.ioctl(DRM_IOCTL_SIMGPU_GEM_CREATE, &c);
}

drm_simgpu_gem_create gem_create_args(uint64_t size, uint32_t placement)
{
    drm_simgpu_gem_create c{};
    c.size = size;
    c.placement = placement;
    return c;
}

// GEM_CREATE must fail with @err and hand out no handle.
void assert_gem_create_fails(const Env& env, drm_simgpu_gem_create c, int err)
{
    c.handle = 0;
    igt_assert_errno(raw_gem_create(env, c), err);
}

// GEM_CREATE of a page of @placement, changed by @mutate, must fail with
// EINVAL.
template <typename Mutate>
void assert_bad_gem_create(const Env& env, uint32_t placement, const Mutate& mutate)
{
    auto c = gem_create_args(page_size, placement);
    mutate(c);
    assert_gem_create_fails(env, c, EINVAL);
}

// Stores @value at each of @vas in one job.
JobResult store_job(const Vm& vm, const ExecQueue& queue, const std::vector<uint64_t>& vas,
                    uint32_t value)
{
    BatchBuilder b;
    for (size_t i = 0; i < vas.size(); ++i)
        b.store_dw(vas[i], value + static_cast<uint32_t>(i));
    b.batch_end();
    return run_batch(vm, queue, b);
}

// A job storing to @va fails with EFAULT at @va (VM without fault mode).
void assert_unmapped(const Vm& vm, const ExecQueue& queue, uint64_t va)
{
    const JobResult r = store_job(vm, queue, {va}, 0xbad);
    assert_job_failed(r, EFAULT, true);
    igt_assert_eq(r.state.fault_addr, va);
}

uint32_t dword_at(const GpuBuffer& buf, uint64_t offset)
{
    return buf.as<uint32_t>()[offset / 4];
}

// Asserts every dword of @buf is @value except those listed in @except.
void assert_all(const GpuBuffer& buf, uint32_t value, const std::vector<uint64_t>& except = {})
{
    const auto* d = buf.as<uint32_t>();
    for (uint64_t i = 0; i < buf.size / 4; ++i) {
        if (std::find(except.begin(), except.end(), i * 4) != except.end())
            continue;
        if (d[i] != value)
            igt_fail("dword at offset 0x%llx is 0x%x, expected 0x%x",
                     static_cast<unsigned long long>(i * 4), d[i], value);
    }
}

// A VM, a queue, a BO and a sentinel VA for the bind-bad-* subtests: every
// rejected VM_BIND also carries a valid MAP of the sentinel, which must not
// be applied.
struct BindSetup {
    const Env& env;
    Vm vm;
    ExecQueue queue;
    GpuBuffer bo; // 4 pages, not mapped
    uint64_t sentinel;
    uint64_t va; // 4 free pages for the operations under test

    explicit BindSetup(const Env& e)
        : env(e), vm(make_vm(e)), queue(make_queue(e, vm)),
          bo(make_unbound(e.dev, 4 * page_size)), sentinel(alloc_va(page_size)),
          va(alloc_va(4 * page_size))
    {
    }

    drm_simgpu_vm_bind_op good() const { return map_op(bo.bo, va, 4 * page_size); }

    void fails(const drm_simgpu_vm_bind& args, int err) const
    {
        drm_simgpu_vm_bind copy = args;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_BIND, &copy), err);
    }

    // [sentinel MAP, @bad] with @syncs fails with @err.
    void op_fails(const drm_simgpu_vm_bind_op& bad, int err,
                  std::span<const drm_simgpu_sync> syncs = {}) const
    {
        const std::array<drm_simgpu_vm_bind_op, 2> ops{map_op(bo.bo, sentinel, page_size), bad};
        fails(simgpu::pack_vm_bind(vm.id(), ops, syncs), err);
    }

    // [sentinel MAP, good() changed by @mutate] fails with @err.
    template <typename Mutate>
    void good_fails(const Mutate& mutate, int err) const
    {
        auto op = good();
        mutate(op);
        op_fails(op, err);
    }

    // The sentinel MAP alone, its arguments changed by @mutate, fails with
    // @err.
    template <typename Mutate>
    void args_fail(const Mutate& mutate, int err) const
    {
        const auto ops = std::array{map_op(bo.bo, sentinel, page_size)};
        auto args = simgpu::pack_vm_bind(vm.id(), ops);
        mutate(args);
        fails(args, err);
    }

    void sync_fails(const drm_simgpu_sync& sync, int err) const
    {
        op_fails(good(), err, {&sync, 1});
    }

    // Nothing of the rejected binds was applied; the VM still works.
    void check() const
    {
        assert_unmapped(vm, queue, sentinel);
        assert_unmapped(vm, queue, va);
        igt_assert_ok(vm.bind(std::array{good()}));
        const JobResult r = store_job(vm, queue, {va + 8}, 0x77);
        assert_job_ok(r);
        igt_assert_eq(dword_at(bo, 8), 0x77u);
    }
};

// A gem-create-* subtest, on objects of @placement.
void gem_create(const Env& env, uint32_t placement)
{
    const Vm vm = make_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    for (const uint64_t size : {page_size, 17 * page_size, 2 * MiB, 4 * MiB + page_size}) {
        for (int round = 0; round < 2; ++round) {
            // The second round reuses memory the first one dirtied.
            GpuBuffer buf = make_unbound(env.dev, size, placement);
            igt_assert_eq(buf.bo.size(), size);
            igt_assert_neq(buf.bo.handle(), 0u);
            assert_all(buf, 0);
            auto* d = buf.as<uint32_t>();
            for (uint64_t i = 0; i < size / 4; ++i)
                d[i] = static_cast<uint32_t>(i * 2654435761u) ^ 0xa5a5a5a5u;
            // A second mapping sees the same memory.
            auto again = buf.bo.map();
            igt_assert_ok(again);
            const auto* e = again.value().as<uint32_t>();
            for (uint64_t i = 0; i < size / 4; ++i)
                if (e[i] != (static_cast<uint32_t>(i * 2654435761u) ^ 0xa5a5a5a5u))
                    igt_fail("second mapping differs at dword %llu",
                             static_cast<unsigned long long>(i));
            // The GPU sees the CPU's data and the CPU the GPU's.
            if (round == 0) {
                igt_assert_ok(vm.map(buf.bo, buf.va = alloc_va(size), size));
                BatchBuilder b;
                b.store_dw(buf.gpu(size - 4), 0x12345678).copy(buf.gpu(0), buf.gpu(size / 2), 64)
                    .batch_end();
                assert_job_ok(run_batch(vm, queue, b));
                igt_assert_eq(d[size / 4 - 1], 0x12345678u);
                igt_assert(std::memcmp(d, d + size / 8, 64) == 0);
                igt_assert_ok(vm.unmap(buf.va, size));
            }
        }
    }
    // Handles are distinct, mmap offsets too.
    GpuBuffer a = make_unbound(env.dev, page_size, placement);
    GpuBuffer b = make_unbound(env.dev, page_size, placement);
    igt_assert_neq(a.bo.handle(), b.bo.handle());
    const auto off_a = a.bo.mmap_offset();
    const auto off_b = b.bo.mmap_offset();
    igt_assert_ok(off_a);
    igt_assert_ok(off_b);
    const uint64_t oa = off_a.value(), ob = off_b.value();
    igt_assert_neq(oa, ob);
}

// Anonymous memory of this process for PREFETCH, unmapped on destruction
// (munmap of holes punched into it is harmless).
class CpuMem {
public:
    explicit CpuMem(uint64_t size, int prot = PROT_READ | PROT_WRITE) : size_(size)
    {
        void* p = ::mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        igt_assert_f(p != MAP_FAILED, "mmap of %llu bytes: %s",
                     static_cast<unsigned long long>(size), std::strerror(errno));
        p_ = static_cast<std::byte*>(p);
    }
    ~CpuMem() { ::munmap(p_, size_); }
    CpuMem(const CpuMem&) = delete;
    CpuMem& operator=(const CpuMem&) = delete;

    std::byte* data() const { return p_; }
    uint64_t addr(uint64_t offset = 0) const { return reinterpret_cast<uintptr_t>(p_) + offset; }
    uint64_t size() const { return size_; }

private:
    std::byte* p_ = nullptr;
    uint64_t size_ = 0;
};

uint32_t prefetch_word(uint64_t i)
{
    return static_cast<uint32_t>(i * 2654435761u) ^ 0x5eed5eedu;
}

// The "faults" counter of simgpu_stats, when debugfs can be read.
std::optional<uint64_t> gpu_faults()
{
    const auto c = read_debugfs_counters("simgpu_stats");
    if (!c || !c->count("faults"))
        return std::nullopt;
    return c->at("faults");
}


// --- GEM -------------------------------------------------------------------

void gem_create_bad_size(const Env& env)
{
    for (const uint32_t placement : {DRM_SIMGPU_MEM_SYSTEM, DRM_SIMGPU_MEM_VRAM})
        for (const uint64_t size : {uint64_t{0}, uint64_t{1}, page_size - 1, page_size + 1,
                                    page_size + 4, 2 * MiB - 8})
            assert_gem_create_fails(env, gem_create_args(size, placement), EINVAL);
}

void gem_create_bad_placement(const Env& env)
{
    for (const uint32_t placement : {2u, 3u, 0x80000000u, ~0u})
        assert_gem_create_fails(env, gem_create_args(page_size, placement), EINVAL);
}

void gem_create_bad_flags(const Env& env)
{
    for (const uint32_t flags : {1u, 0x80000000u, ~0u})
        assert_bad_gem_create(env, DRM_SIMGPU_MEM_SYSTEM, [flags](auto& c) { c.flags = flags; });
}

void gem_create_bad_pad(const Env& env)
{
    assert_bad_gem_create(env, DRM_SIMGPU_MEM_VRAM, [](auto& c) { c.pad = 1; });
}

void gem_create_bad_reserved(const Env& env)
{
    for (int i = 0; i < 2; ++i)
        assert_bad_gem_create(env, DRM_SIMGPU_MEM_SYSTEM, [i](auto& c) { c.reserved[i] = 1; });
}

void gem_create_bad_extensions(const Env& env)
{
    assert_bad_gem_create(env, DRM_SIMGPU_MEM_SYSTEM, [](auto& c) { c.extensions = 1; });
}

void gem_create_bad_vram_size(const Env& env)
{
    const uint64_t vram = env.info.vram_size;
    assert_gem_create_fails(env, gem_create_args(vram + page_size, DRM_SIMGPU_MEM_VRAM),
                            ENOSPC);
    assert_gem_create_fails(env, gem_create_args(round_up(vram * 4, page_size),
                                                  DRM_SIMGPU_MEM_VRAM),
                            ENOSPC);
    // Half of VRAM twice fits at most twice; a third half does not
    // while the two are pinned (mapped in a VM without fault mode:
    // idle objects would be evicted for it, see simgpu_bo_evict).
    Vm pin = make_vm(env);
    std::vector<Bo> held;
    for (int i = 0; i < 2; ++i) {
        auto bo = Bo::create(env.dev, vram / 2, DRM_SIMGPU_MEM_VRAM);
        if (!bo.ok()) {
            igt_assert_eq(bo.error().err, ENOSPC); // other users of VRAM
            break;
        }
        igt_assert_ok(pin.map(bo.value(), alloc_va(vram / 2), vram / 2));
        held.push_back(std::move(bo).value());
    }
    if (held.size() == 2)
        assert_gem_create_fails(env, gem_create_args(vram / 2, DRM_SIMGPU_MEM_VRAM), ENOSPC);
    pin = Vm();
    held.clear();
    // Freed VRAM can be allocated again.
    auto bo = Bo::create(env.dev, vram / 2, DRM_SIMGPU_MEM_VRAM);
    igt_assert_ok(bo);
}

void gem_mmap_offset_bad_handle(const Env& env)
{
    uint32_t closed;
    {
        auto bo = Bo::create(env.dev, page_size, DRM_SIMGPU_MEM_SYSTEM);
        igt_assert_ok(bo);
        closed = bo.value().handle();
    }
    for (const uint32_t handle : {0u, closed, 0xfffffu}) {
        drm_simgpu_gem_mmap_offset m{};
        m.handle = handle;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m), ENOENT);
    }
}

void gem_mmap_offset_bad_flags(const Env& env)
{
    auto bo = Bo::create(env.dev, page_size, DRM_SIMGPU_MEM_SYSTEM);
    igt_assert_ok(bo);
    const auto base = [&] {
        drm_simgpu_gem_mmap_offset m{};
        m.handle = bo.value().handle();
        return m;
    };
    for (const uint32_t flags : {1u, 0x80000000u}) {
        auto m = base();
        m.flags = flags;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m), EINVAL);
    }
    auto m = base();
    m.extensions = 1;
    igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m), EINVAL);
    for (int i = 0; i < 2; ++i) {
        m = base();
        m.reserved[i] = 1;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m), EINVAL);
    }
    m = base();
    igt_assert_ok(env.dev.ioctl(DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET, &m));
    igt_assert_eq(m.offset % page_size, 0u);
}

// --- VM --------------------------------------------------------------------

void vm_create_destroy(const Env& env)
{
    std::vector<Vm> vms;
    std::vector<uint32_t> ids;
    for (int i = 0; i < 16; ++i) {
        vms.push_back(make_vm(env));
        ids.push_back(vms.back().id());
    }
    std::sort(ids.begin(), ids.end());
    igt_assert(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
    igt_assert_lte(1u, ids.front());
    for (auto& vm : vms) {
        const uint32_t id = vm.id();
        igt_assert_ok(vm.destroy());
        drm_simgpu_vm_destroy d{};
        d.vm_id = id;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_DESTROY, &d), ENOENT);
        Vm stale(env.dev, id, 0);
        auto bo = Bo::create(env.dev, page_size, DRM_SIMGPU_MEM_SYSTEM);
        igt_assert_ok(bo);
        igt_assert_errno(stale.map(bo.value(), alloc_va(page_size), page_size), ENOENT);
        (void)stale.release();
    }
    for (const uint32_t id : {0u, 0xfffffu}) {
        drm_simgpu_vm_destroy d{};
        d.vm_id = id;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_DESTROY, &d), ENOENT);
    }
}

void vm_create_bad_flags(const Env& env)
{
    for (const uint32_t flags : {2u, 0x80000000u, ~0u}) {
        drm_simgpu_vm_create c{};
        c.flags = flags;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_CREATE, &c), EINVAL);
    }
    drm_simgpu_vm_create c{};
    c.extensions = 1;
    igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_CREATE, &c), EINVAL);
    for (int i = 0; i < 2; ++i) {
        c = drm_simgpu_vm_create{};
        c.reserved[i] = 1;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_CREATE, &c), EINVAL);
    }
    // Fault mode exactly when the device reports it.
    auto fault = Vm::create(env.dev, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    if (env.fault_mode())
        igt_assert_ok(fault);
    else
        igt_assert_errno(fault, EOPNOTSUPP);
}

void vm_destroy_bad_fields(const Env& env)
{
    Vm vm = make_vm(env);
    const auto base = [&] {
        drm_simgpu_vm_destroy d{};
        d.vm_id = vm.id();
        return d;
    };
    auto d = base();
    d.extensions = 1;
    igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_DESTROY, &d), EINVAL);
    d = base();
    d.pad = 1;
    igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_DESTROY, &d), EINVAL);
    for (int i = 0; i < 2; ++i) {
        d = base();
        d.reserved[i] = 1;
        igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_DESTROY, &d), EINVAL);
    }
    // Still alive.
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer buf = make_buffer(vm, page_size);
    assert_job_ok(store_job(vm, queue, {buf.gpu()}, 0x42));
    igt_assert_eq(dword_at(buf, 0), 0x42u);
}

void vm_destroy_with_queue(const Env& env)
{
    // The header says VM_DESTROY "unmaps everything" but also that the
    // VM lives on while its queues exist and their jobs keep running;
    // this checks the latter: the mappings stay usable by the queue.
    Vm vm = make_vm(env);
    ExecQueue queue = make_queue(env, vm);
    GpuBuffer buf = make_buffer(vm, page_size);
    GpuBuffer flag = make_buffer(vm, page_size);
    std::memset(buf.bytes(), 0, buf.size);
    flag.as<uint64_t>()[0] = 0;
    assert_job_ok(store_job(vm, queue, {buf.gpu()}, 0x11));

    // Batches mapped before the destroy: one that waits for the CPU
    // (in flight across the destroy) and one submitted after it.
    GpuBuffer batches = make_buffer(vm, 2 * page_size);
    BatchBuilder waiting;
    waiting.wait(DRM_SIMGPU_CMP_EQ, flag.gpu(), 1).store_dw(buf.gpu(8), 0x33).batch_end();
    std::memcpy(batches.bytes(), waiting.dwords().data(), waiting.size_bytes());
    BatchBuilder later;
    later.store_dw(buf.gpu(4), 0x22).batch_end();
    std::memcpy(batches.bytes() + page_size, later.dwords().data(), later.size_bytes());

    auto first = Syncobj::create(env.dev);
    igt_assert_ok(first);
    const auto sync1 = simgpu::syncobj_out(first.value().handle());
    igt_assert_ok(queue.exec(batches.gpu(), {&sync1, 1}));
    sleep_ms(50);

    const uint32_t id = vm.id();
    igt_assert_ok(vm.destroy());
    // The id is gone for new work...
    drm_simgpu_exec_queue_create c{};
    c.vm_id = id;
    igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE, &c), ENOENT);
    const auto op = map_op(buf.bo, alloc_va(page_size), page_size);
    auto args = simgpu::pack_vm_bind(id, {&op, 1});
    igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_BIND, &args), ENOENT);
    drm_simgpu_vm_destroy d{};
    d.vm_id = id;
    igt_assert_errno(env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_DESTROY, &d), ENOENT);

    // ... but the queue's jobs keep running in it.
    igt_assert_eq(fence_status(first.value()), 0);
    reinterpret_cast<volatile uint64_t*>(flag.as<uint64_t>())[0] = 1;
    igt_assert_ok(first.value().wait(job_timeout_ns));
    igt_assert_eq(fence_status(first.value()), 1);
    igt_assert_eq(dword_at(buf, 8), 0x33u);

    auto second = Syncobj::create(env.dev);
    igt_assert_ok(second);
    const auto sync2 = simgpu::syncobj_out(second.value().handle());
    igt_assert_ok(queue.exec(batches.gpu(page_size), {&sync2, 1}));
    igt_assert_ok(second.value().wait(job_timeout_ns));
    igt_assert_eq(fence_status(second.value()), 1);
    igt_assert_eq(dword_at(buf, 4), 0x22u);
    igt_assert_eq(dword_at(buf, 0), 0x11u);
    const auto st = queue_state(queue);
    igt_assert_eq(st.error, 0);
    igt_assert_eq(st.jobs_completed, 3u);
    igt_assert_eq(st.jobs_failed, 0u);
    igt_assert_ok(queue.destroy());
}

// --- VM_BIND ---------------------------------------------------------------

void bind_unbind_rebind(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer a = make_unbound(env.dev, 2 * page_size, DRM_SIMGPU_MEM_SYSTEM);
    GpuBuffer b = make_unbound(env.dev, 2 * page_size, DRM_SIMGPU_MEM_VRAM);
    const uint64_t va = alloc_va(2 * page_size);

    igt_assert_ok(vm.map(a.bo, va, a.size));
    assert_job_ok(store_job(vm, queue, {va, va + page_size + 12}, 0xa0));
    igt_assert_eq(dword_at(a, 0), 0xa0u);
    igt_assert_eq(dword_at(a, page_size + 12), 0xa1u);

    igt_assert_ok(vm.unmap(va, a.size));
    assert_unmapped(vm, queue, va);
    assert_unmapped(vm, queue, va + page_size + 12);
    igt_assert_ok(vm.unmap(va, a.size)); // an empty range is fine

    igt_assert_ok(vm.map(b.bo, va, b.size));
    assert_job_ok(store_job(vm, queue, {va, va + page_size + 12}, 0xb0));
    igt_assert_eq(dword_at(b, 0), 0xb0u);
    igt_assert_eq(dword_at(b, page_size + 12), 0xb1u);
    assert_all(a, 0, {0, page_size + 12});
    igt_assert_eq(dword_at(a, 0), 0xa0u);
    igt_assert_eq(dword_at(a, page_size + 12), 0xa1u);

    // Many cycles on the same VA alternate between the two.
    for (uint32_t i = 0; i < 20; ++i) {
        const GpuBuffer& target = i % 2 ? a : b;
        igt_assert_ok(vm.map(target.bo, va, target.size));
        assert_job_ok(store_job(vm, queue, {va + 64}, 0x1000 + i));
        igt_assert_eq(dword_at(target, 64), 0x1000u + i);
        igt_assert_ok(vm.unmap(va, target.size));
    }
}

void bind_offset(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer bo = make_unbound(env.dev, 8 * page_size, DRM_SIMGPU_MEM_VRAM);
    std::memset(bo.bytes(), 0, bo.size);
    const uint64_t va = alloc_va(2 * page_size);
    igt_assert_ok(vm.map(bo.bo, va, 2 * page_size, 3 * page_size));
    assert_job_ok(store_job(vm, queue, {va, va + page_size + 8, va + 2 * page_size - 4}, 0x50));
    igt_assert_eq(dword_at(bo, 3 * page_size), 0x50u);
    igt_assert_eq(dword_at(bo, 4 * page_size + 8), 0x51u);
    igt_assert_eq(dword_at(bo, 5 * page_size - 4), 0x52u);
    assert_all(bo, 0, {3 * page_size, 4 * page_size + 8, 5 * page_size - 4});
    assert_unmapped(vm, queue, va + 2 * page_size); // the range ends there

    // The same pages through two VAs alias.
    const uint64_t alias = alloc_va(page_size);
    igt_assert_ok(vm.map(bo.bo, alias, page_size, 4 * page_size));
    BatchBuilder b;
    b.store_dw(alias + 100, 0x77).copy(va + 200, va + page_size + 100, 4).batch_end();
    assert_job_ok(run_batch(vm, queue, b));
    igt_assert_eq(dword_at(bo, 4 * page_size + 100), 0x77u);
    igt_assert_eq(dword_at(bo, 3 * page_size + 200), 0x77u);
}

void partial_unbind(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer bo = make_unbound(env.dev, 16 * page_size, DRM_SIMGPU_MEM_SYSTEM);
    std::memset(bo.bytes(), 0, bo.size);
    const uint64_t va = alloc_va(16 * page_size);
    igt_assert_ok(vm.map(bo.bo, va, bo.size));
    igt_assert_ok(vm.unmap(va + 4 * page_size, 4 * page_size));

    std::vector<uint64_t> vas, offsets;
    for (uint64_t p = 0; p < 16; ++p) {
        if (p >= 4 && p < 8)
            continue;
        vas.push_back(va + p * page_size + 4 * p);
        offsets.push_back(p * page_size + 4 * p);
    }
    // Pages 0-3, then 8-15, in separate jobs.
    assert_job_ok(store_job(vm, queue, {vas.begin(), vas.begin() + 4}, 0x100));
    assert_job_ok(store_job(vm, queue, {vas.begin() + 4, vas.end()}, 0x104));
    for (size_t i = 0; i < offsets.size(); ++i)
        igt_assert_eq(dword_at(bo, offsets[i]), 0x100u + i);
    for (uint64_t p = 4; p < 8; ++p)
        assert_unmapped(vm, queue, va + p * page_size + 4 * p);
    // A job over all 16 pages stops at page 4.
    const JobResult r = store_job(vm, queue, {va + 5 * page_size}, 0xbad);
    assert_job_failed(r, EFAULT, true);
    igt_assert_eq(r.state.fault_addr, va + 5 * page_size);
    assert_all(bo, 0, offsets);
    // The pieces on either side of the hole unmap on their own.
    igt_assert_ok(vm.unmap(va + 8 * page_size, page_size));
    assert_unmapped(vm, queue, va + 8 * page_size);
    assert_job_ok(store_job(vm, queue, {va + 9 * page_size, va + 3 * page_size}, 0x200));
    igt_assert_eq(dword_at(bo, 9 * page_size), 0x200u);
    igt_assert_eq(dword_at(bo, 3 * page_size), 0x201u);
}

void map_replaces(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer a = make_unbound(env.dev, 4 * page_size, DRM_SIMGPU_MEM_SYSTEM);
    GpuBuffer b = make_unbound(env.dev, 4 * page_size, DRM_SIMGPU_MEM_VRAM);
    std::memset(a.bytes(), 0, a.size);
    std::memset(b.bytes(), 0, b.size);
    const uint64_t va = alloc_va(4 * page_size);
    igt_assert_ok(vm.map(a.bo, va, 4 * page_size));
    // B's pages 2-3 over the middle of A's mapping: the old one splits.
    igt_assert_ok(vm.map(b.bo, va + page_size, 2 * page_size, 2 * page_size));
    std::vector<uint64_t> vas;
    for (uint64_t p = 0; p < 4; ++p)
        vas.push_back(va + p * page_size + 16);
    assert_job_ok(store_job(vm, queue, vas, 0x10));
    igt_assert_eq(dword_at(a, 16), 0x10u);
    igt_assert_eq(dword_at(b, 2 * page_size + 16), 0x11u);
    igt_assert_eq(dword_at(b, 3 * page_size + 16), 0x12u);
    igt_assert_eq(dword_at(a, 3 * page_size + 16), 0x13u);
    assert_all(a, 0, {16, 3 * page_size + 16});
    assert_all(b, 0, {2 * page_size + 16, 3 * page_size + 16});

    // A MAP covering all of it replaces everything.
    igt_assert_ok(vm.map(b.bo, va, 4 * page_size));
    assert_job_ok(store_job(vm, queue, vas, 0x20));
    for (uint64_t p = 0; p < 4; ++p)
        igt_assert_eq(dword_at(b, p * page_size + 16), 0x20u + p);
    igt_assert_eq(dword_at(a, page_size + 16), 0u);
}

void huge_mapping(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer bo = make_unbound(env.dev, 4 * MiB, DRM_SIMGPU_MEM_VRAM);
    const uint64_t va = alloc_va(4 * MiB, 2 * MiB);
    igt_assert_eq(va % (2 * MiB), 0u);
    igt_assert_ok(vm.map(bo.bo, va, 4 * MiB));
    const uint64_t pages = 4 * MiB / page_size;
    BatchBuilder b;
    b.fill(va, 4 * MiB, 0x5a5a5a5a);
    for (uint64_t p = 0; p < pages; ++p)
        b.store_dw(va + p * page_size + (p % 1024) * 4, static_cast<uint32_t>(p));
    b.batch_end();
    assert_job_ok(run_batch(vm, queue, b));
    const auto* d = bo.as<uint32_t>();
    for (uint64_t i = 0; i < 4 * MiB / 4; ++i) {
        const uint64_t p = i / 1024;
        const uint32_t want = (i % 1024 == p % 1024) ? static_cast<uint32_t>(p) : 0x5a5a5a5au;
        if (d[i] != want)
            igt_fail("dword %llu is 0x%x, expected 0x%x", static_cast<unsigned long long>(i),
                     d[i], want);
    }
    // Punch a 4 KiB hole into the first 2 MiB: only that page goes.
    const uint64_t hole = va + 300 * page_size;
    igt_assert_ok(vm.unmap(hole, page_size));
    assert_unmapped(vm, queue, hole + 8);
    assert_job_ok(store_job(vm, queue, {hole - 4, hole + page_size, va, va + 2 * MiB}, 0xe0));
    igt_assert_eq(d[(300 * page_size - 4) / 4], 0xe0u);
    igt_assert_eq(d[301 * page_size / 4], 0xe1u);
    igt_assert_eq(d[0], 0xe2u);
    igt_assert_eq(d[2 * MiB / 4], 0xe3u);
}

void multi_op_bind(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer a = make_unbound(env.dev, 2 * page_size);
    GpuBuffer b = make_unbound(env.dev, page_size, DRM_SIMGPU_MEM_VRAM);
    std::memset(a.bytes(), 0, a.size);
    std::memset(b.bytes(), 0, b.size);
    const uint64_t va1 = alloc_va(2 * page_size), va2 = alloc_va(page_size);
    const std::array<drm_simgpu_vm_bind_op, 3> ops{
        map_op(a.bo, va1, 2 * page_size), map_op(b.bo, va2, page_size),
        unmap_op(va1 + page_size, page_size)};
    igt_assert_ok(vm.bind(ops));
    assert_job_ok(store_job(vm, queue, {va1 + 4, va2 + 8}, 0x30));
    igt_assert_eq(dword_at(a, 4), 0x30u);
    igt_assert_eq(dword_at(b, 8), 0x31u);
    assert_unmapped(vm, queue, va1 + page_size);

    // Applied in order: MAP then UNMAP of the same range leaves nothing,
    // UNMAP then MAP leaves the mapping.
    const uint64_t va3 = alloc_va(page_size), va4 = alloc_va(page_size);
    const std::array<drm_simgpu_vm_bind_op, 4> ordered{
        map_op(b.bo, va3, page_size), unmap_op(va3, page_size), unmap_op(va4, page_size),
        map_op(b.bo, va4, page_size)};
    igt_assert_ok(vm.bind(ordered));
    assert_unmapped(vm, queue, va3);
    assert_job_ok(store_job(vm, queue, {va4 + 12}, 0x40));
    igt_assert_eq(dword_at(b, 12), 0x40u);

    // One bad operation: none is applied.
    const uint64_t va5 = alloc_va(page_size);
    std::array<drm_simgpu_vm_bind_op, 3> bad{map_op(b.bo, va5, page_size),
                                             unmap_op(va2, page_size),
                                             map_op(b.bo, va5, page_size)};
    bad[2].range = 3; // unaligned
    igt_assert_errno(vm.bind(bad), EINVAL);
    assert_unmapped(vm, queue, va5);
    assert_job_ok(store_job(vm, queue, {va2 + 16}, 0x50)); // not unmapped
    igt_assert_eq(dword_at(b, 16), 0x50u);

    // The maximum of 512 operations in one call.
    std::vector<drm_simgpu_vm_bind_op> many;
    const uint64_t base = alloc_va(512 * page_size);
    for (uint64_t i = 0; i < 512; ++i)
        many.push_back(map_op(a.bo, base + i * page_size, page_size, (i % 2) * page_size));
    igt_assert_ok(vm.bind(many));
    assert_job_ok(store_job(vm, queue, {base + 511 * page_size + 20, base + 510 * page_size + 24},
                            0x60));
    igt_assert_eq(dword_at(a, page_size + 20), 0x60u);
    igt_assert_eq(dword_at(a, 24), 0x61u);
}

void bind_syncs(const Env& env)
{
    const Vm vm = make_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    GpuBuffer bo = make_unbound(env.dev, page_size);
    const uint64_t va = alloc_va(page_size);
    auto out = Syncobj::create(env.dev);
    igt_assert_ok(out);
    auto in = Syncobj::create(env.dev, DRM_SYNCOBJ_CREATE_SIGNALED);
    igt_assert_ok(in);
    auto fence = std::make_unique<uint64_t>(0);
    const std::array<drm_simgpu_sync, 3> syncs{
        simgpu::syncobj_in(in.value().handle()), simgpu::syncobj_out(out.value().handle()),
        simgpu::user_fence_out(fence.get(), 0xfeedface12345678ULL)};
    const auto op = map_op(bo.bo, va, page_size);
    igt_assert_ok(vm.bind({&op, 1}, syncs));
    // Both out-fences signalled by the time the ioctl returned.
    igt_assert_eq(*fence, 0xfeedface12345678ULL);
    igt_assert_eq(fence_status(out.value()), 1);
    igt_assert_ok(out.value().wait(0));
    assert_job_ok(store_job(vm, queue, {va + 4}, 0x99));
    igt_assert_eq(dword_at(bo, 4), 0x99u);

    // The user fence can be waited for with WAIT_USER_FENCE.
    igt_assert_ok(simgpu::wait_user_fence(env.dev, fence.get(), 0xfeedface12345678ULL,
                                          DRM_SIMGPU_CMP_EQ, 0));
    // An UNMAP signals too; the syncobj gets a fresh signalled fence.
    *fence = 0;
    const auto un = unmap_op(va, page_size);
    const std::array<drm_simgpu_sync, 2> syncs2{
        simgpu::syncobj_out(out.value().handle()), simgpu::user_fence_out(fence.get(), 2)};
    igt_assert_ok(vm.bind({&un, 1}, syncs2));
    igt_assert_eq(*fence, 2u);
    igt_assert_eq(fence_status(out.value()), 1);
    assert_unmapped(vm, queue, va + 4);
}

void stale_tlb(const Env& env)
{
    // The endless job must outlive the test's waits.
    std::optional<ParamRestorer> restore;
    if (const auto old = read_param("job_timeout_ms"); old && write_param("job_timeout_ms", *old)) {
        restore.emplace("job_timeout_ms", *old);
        igt_assert(write_param("job_timeout_ms", "60000"));
    }
    const Vm vm = make_vm(env);
    ExecQueue queue = make_queue(env, vm);
    GpuBuffer a = make_unbound(env.dev, page_size, DRM_SIMGPU_MEM_VRAM);
    GpuBuffer b = make_unbound(env.dev, page_size, DRM_SIMGPU_MEM_SYSTEM);
    std::memset(a.bytes(), 0, a.size);
    std::memset(b.bytes(), 0, b.size);
    const uint64_t x = alloc_va(page_size);
    igt_assert_ok(vm.map(a.bo, x, page_size));

    GpuBuffer batch = make_buffer(vm, page_size);
    BatchBuilder loop;
    loop.atomic(DRM_SIMGPU_ATOMIC_INC, x + 8, 0).batch_start(batch.gpu());
    std::memcpy(batch.bytes(), loop.dwords().data(), loop.size_bytes());
    auto done = Syncobj::create(env.dev);
    igt_assert_ok(done);
    const auto sync = simgpu::syncobj_out(done.value().handle());
    igt_assert_ok(queue.exec(batch.gpu(), {&sync, 1}));

    const auto* ca = reinterpret_cast<const volatile uint64_t*>(a.as<uint64_t>() + 1);
    const auto* cb = reinterpret_cast<const volatile uint64_t*>(b.as<uint64_t>() + 1);
    const auto wait_for = [](const volatile uint64_t* c, uint64_t above, const char* what) {
        const int64_t deadline = now_ns() + 20 * sec_ns;
        while (*c <= above) {
            igt_assert_f(now_ns() < deadline, "%s stayed at %llu", what,
                         static_cast<unsigned long long>(*c));
            sleep_ms(1);
        }
    };
    wait_for(ca, 100, "A's counter");
    igt_assert_eq(fence_status(done.value()), 0); // still running

    for (int round = 0; round < 3; ++round) {
        const GpuBuffer& from = round % 2 ? b : a;
        const GpuBuffer& to = round % 2 ? a : b;
        const auto* cf = reinterpret_cast<const volatile uint64_t*>(from.as<uint64_t>() + 1);
        const auto* ct = reinterpret_cast<const volatile uint64_t*>(to.as<uint64_t>() + 1);
        igt_assert_ok(vm.map(to.bo, x, page_size));
        const uint64_t v1 = *cf;
        const uint64_t t1 = *ct;
        sleep_ms(200);
        const uint64_t v2 = *cf;
        igt_assert_f(v1 == v2, "round %d: the old pages changed from %llu to %llu after "
                               "VM_BIND returned", round,
                     static_cast<unsigned long long>(v1), static_cast<unsigned long long>(v2));
        wait_for(ct, t1 + 100, "the new pages' counter");
    }
    igt_assert_eq(fence_status(done.value()), 0);
    igt_assert_ok(queue.destroy());
    igt_assert_ok(done.value().wait(10 * sec_ns));
    igt_assert_f(fence_status(done.value()) < 0, "a cancelled job's fence signalled cleanly");
    // Cancelled: nothing counts any more.
    const uint64_t final_a = *ca, final_b = *cb;
    sleep_ms(100);
    igt_assert_eq(*ca, final_a);
    igt_assert_eq(*cb, final_b);
}

// --- VM_BIND argument checking ---------------------------------------------

void bind_bad_extensions(const Env& env)
{
    const BindSetup s(env);
    s.args_fail([](auto& args) { args.extensions = 1; }, EINVAL);
    s.good_fails([](auto& op) { op.extensions = 1; }, EINVAL);
    s.check();
}

void bind_bad_reserved(const Env& env)
{
    const BindSetup s(env);
    for (int i = 0; i < 2; ++i) {
        s.args_fail([i](auto& args) { args.reserved[i] = 1; }, EINVAL);
        s.good_fails([i](auto& op) { op.reserved[i] = 1; }, EINVAL);
    }
    s.check();
}

void bind_bad_pad(const Env& env)
{
    const BindSetup s(env);
    s.args_fail([](auto& args) { args.pad = 1; }, EINVAL);
    // The op's former pad is the PREFETCH region now: MAP and UNMAP
    // still take only 0.
    for (const uint32_t region : {1u, 2u, ~0u}) {
        s.good_fails([region](auto& op) { op.region = region; }, EINVAL);
        auto un = unmap_op(s.va, page_size);
        un.region = region;
        s.op_fails(un, EINVAL);
    }
    s.check();
}

void bind_bad_vm(const Env& env)
{
    const BindSetup s(env);
    for (const uint32_t id : {s.vm.id() + 1000, 0u})
        s.args_fail([id](auto& args) { args.vm_id = id; }, ENOENT);
    s.check();
}

void bind_bad_num_binds(const Env& env)
{
    const BindSetup s(env);
    std::vector<drm_simgpu_vm_bind_op> ops(513, map_op(s.bo.bo, s.sentinel, page_size));
    s.fails(simgpu::pack_vm_bind(s.vm.id(), {ops.data(), 0}), EINVAL);
    s.fails(simgpu::pack_vm_bind(s.vm.id(), {ops.data(), 513}), EINVAL);
    auto args = simgpu::pack_vm_bind(s.vm.id(), ops);
    args.num_binds = 0xffffffffu;
    s.fails(args, EINVAL);
    s.check();
}

void bind_bad_binds_pointer(const Env& env)
{
    const BindSetup s(env);
    void* none = ::mmap(nullptr, page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    igt_assert(none != MAP_FAILED);
    for (const uint64_t ptr : {uint64_t{0}, uint64_t{0x10},
                               static_cast<uint64_t>(reinterpret_cast<uintptr_t>(none))}) {
        auto args = simgpu::pack_vm_bind(s.vm.id(), std::array{s.good()});
        args.binds = ptr;
        s.fails(args, EFAULT);
    }
    ::munmap(none, page_size);
    s.check();
}

void bind_bad_op(const Env& env)
{
    const BindSetup s(env);
    // 2 is DRM_SIMGPU_VM_BIND_OP_PREFETCH (the prefetch-* subtests).
    for (const uint32_t code : {3u, 4u, 0x80000000u, ~0u})
        s.good_fails([code](auto& op) { op.op = code; }, EINVAL);
    s.check();
}

void bind_bad_flags(const Env& env)
{
    const BindSetup s(env);
    // Bit 1 (CPU_ADDR_MIRROR, being added) is invalid here too: this VM
    // has no fault mode and the MAP has a handle.
    for (const uint32_t flags : {2u, 4u, 0x80000000u, ~0u})
        s.good_fails([flags](auto& op) { op.flags = flags; }, EINVAL);
    s.check();
}

void bind_bad_handle(const Env& env)
{
    const BindSetup s(env);
    uint32_t closed;
    {
        auto bo = Bo::create(env.dev, 4 * page_size, DRM_SIMGPU_MEM_SYSTEM);
        igt_assert_ok(bo);
        closed = bo.value().handle();
    }
    for (const uint32_t handle : {closed, 0xfffffu})
        s.good_fails([handle](auto& op) { op.handle = handle; }, ENOENT);
    auto op = s.good();
    op.handle = 0; // MAP needs an object
    const std::array<drm_simgpu_vm_bind_op, 2> ops{map_op(s.bo.bo, s.sentinel, page_size), op};
    const auto args = simgpu::pack_vm_bind(s.vm.id(), ops);
    drm_simgpu_vm_bind copy = args;
    const auto r = env.dev.ioctl(DRM_IOCTL_SIMGPU_VM_BIND, &copy);
    igt_assert_f(!r.ok() && (r.error().err == ENOENT || r.error().err == EINVAL),
                 "MAP of handle 0: %s", r.ok() ? "succeeded" : r.error().message().c_str());
    s.check();
}

void bind_bad_unaligned(const Env& env)
{
    const BindSetup s(env);
    for (const uint64_t off : {uint64_t{1}, uint64_t{8}, page_size / 2}) {
        s.good_fails([off](auto& op) { op.addr += off; }, EINVAL);
        s.good_fails([off](auto& op) { op.range -= off; }, EINVAL);
        s.good_fails(
            [off](auto& op) {
                op.range = page_size;
                op.obj_offset = off;
            },
            EINVAL);
        auto un = unmap_op(s.va + off, page_size);
        s.op_fails(un, EINVAL);
        un = unmap_op(s.va, page_size + off);
        s.op_fails(un, EINVAL);
    }
    s.check();
}

void bind_bad_range_zero(const Env& env)
{
    const BindSetup s(env);
    s.good_fails([](auto& op) { op.range = 0; }, EINVAL);
    s.op_fails(unmap_op(s.va, 0), EINVAL);
    s.check();
}

void bind_bad_va_range(const Env& env)
{
    const BindSetup s(env);
    const uint64_t limit = uint64_t{1} << env.info.va_bits;
    igt_assert_eq(limit, va_bits_limit);
    const std::pair<uint64_t, uint64_t> bad[] = {
        {limit - page_size, 2 * page_size}, // straddles the end
        {limit, page_size},                 // starts at the end
        {~uint64_t{0} - page_size + 1, page_size},
        {page_size, ~uint64_t{0} - page_size + 1}, // addr + range wraps
    };
    for (const auto& [addr, range] : bad) {
        auto op = map_op(s.bo.bo, addr, std::min(range, 4 * page_size));
        if (range > 4 * page_size)
            op.range = range;
        s.op_fails(op, EINVAL);
        s.op_fails(unmap_op(addr, range), EINVAL);
    }
    // The last page below the limit is fine.
    const auto last = map_op(s.bo.bo, limit - page_size, page_size);
    igt_assert_ok(s.vm.bind(std::array{last}));
    assert_job_ok(store_job(s.vm, s.queue, {limit - 8}, 0x44));
    igt_assert_eq(dword_at(s.bo, page_size - 8), 0x44u);
    igt_assert_ok(s.vm.unmap(limit - page_size, page_size));
    s.check();
}

void bind_bad_obj_range(const Env& env)
{
    const BindSetup s(env);
    const std::pair<uint64_t, uint64_t> bad[] = {
        {0, 5 * page_size}, {page_size, 4 * page_size}, {4 * page_size, page_size},
        {~uint64_t{0} - page_size + 1, 2 * page_size}};
    for (const auto& [offset, range] : bad) {
        auto op = map_op(s.bo.bo, s.va, range, offset);
        s.op_fails(op, EINVAL);
    }
    // Exactly to the end is fine.
    igt_assert_ok(s.vm.bind(std::array{map_op(s.bo.bo, s.va, page_size, 3 * page_size)}));
    assert_job_ok(store_job(s.vm, s.queue, {s.va + 4}, 0x33));
    igt_assert_eq(dword_at(s.bo, 3 * page_size + 4), 0x33u);
    igt_assert_ok(s.vm.unmap(s.va, page_size));
    s.check();
}

void bind_bad_unmap_fields(const Env& env)
{
    const BindSetup s(env);
    auto un = unmap_op(s.va, page_size);
    un.handle = s.bo.bo.handle();
    s.op_fails(un, EINVAL);
    un = unmap_op(s.va, page_size);
    un.obj_offset = page_size;
    s.op_fails(un, EINVAL);
    for (const uint32_t flags : {uint32_t{DRM_SIMGPU_VM_BIND_FLAG_READONLY}, 2u}) {
        un = unmap_op(s.va, page_size);
        un.flags = flags;
        s.op_fails(un, EINVAL);
    }
    s.check();
}

void bind_bad_sync(const Env& env)
{
    const BindSetup s(env);
    auto obj = Syncobj::create(env.dev, DRM_SYNCOBJ_CREATE_SIGNALED);
    igt_assert_ok(obj);
    const uint32_t h = obj.value().handle();
    alignas(8) static uint64_t fence_word = 0;
    const auto good_in = simgpu::syncobj_in(h);
    const auto good_uf = simgpu::user_fence_out(&fence_word, 1);
    for (const auto& base : {good_in, simgpu::syncobj_out(h), good_uf}) {
        for (const uint32_t type : {2u, ~0u}) {
            auto x = base;
            x.type = type;
            s.sync_fails(x, EINVAL);
        }
        // 2 is DRM_SIMGPU_SYNC_FLAG_EVENTFD (simgpu_exec_basic); 4,
        // DRM_SIMGPU_SYNC_FLAG_STATUS, is EXEC's only.
        for (const uint32_t flags : {4u, 8u, 0x80000000u}) {
            auto x = base;
            x.flags |= flags;
            s.sync_fails(x, EINVAL);
        }
        auto x = base;
        x.pad = 1;
        s.sync_fails(x, EINVAL);
        x = base;
        x.extensions = 1;
        s.sync_fails(x, EINVAL);
        for (int i = 0; i < 2; ++i) {
            x = base;
            x.reserved[i] = 1;
            s.sync_fails(x, EINVAL);
        }
    }
    // Syncobj handle that does not exist.
    for (const uint32_t handle : {0xfffffu, h + 1000}) {
        s.sync_fails(simgpu::syncobj_in(handle), ENOENT);
        s.sync_fails(simgpu::syncobj_out(handle), ENOENT);
    }
    // A user fence is an out-fence, 8-byte aligned, with no handle.
    auto x = good_uf;
    x.flags = 0;
    s.sync_fails(x, EINVAL);
    x = good_uf;
    x.addr += 4;
    s.sync_fails(x, EINVAL);
    x = good_uf;
    x.handle = h;
    s.sync_fails(x, EINVAL);
    // A syncobj has no addr or value.
    x = good_in;
    x.addr = reinterpret_cast<uintptr_t>(&fence_word);
    s.sync_fails(x, EINVAL);
    x = good_in;
    x.value = 1;
    s.sync_fails(x, EINVAL);
    igt_assert_eq(fence_word, 0u);

    // Too many, or unreadable.
    std::vector<drm_simgpu_sync> many(65, good_in);
    const auto ops = std::array{map_op(s.bo.bo, s.sentinel, page_size)};
    s.fails(simgpu::pack_vm_bind(s.vm.id(), ops, many), EINVAL);
    auto args = simgpu::pack_vm_bind(s.vm.id(), ops, {many.data(), 1});
    args.syncs = 0x10;
    s.fails(args, EFAULT);
    s.check();
    // 64 are accepted.
    const auto ok_op = map_op(s.bo.bo, alloc_va(page_size), page_size);
    igt_assert_ok(s.vm.bind({&ok_op, 1}, {many.data(), 64}));
}

// --- PREFETCH argument checking: holds with and without VRAM migration ---

// The PREFETCH region every device has.
constexpr uint32_t sys = DRM_SIMGPU_MEM_SYSTEM;

void prefetch_bad_region(const Env& env)
{
    const Vm vm = make_mirror_vm(env);
    const CpuMem mem(64 * KiB);
    std::memset(mem.data(), 0x5a, mem.size());
    for (const uint32_t region : {2u, 3u, 0x80000000u, ~0u})
        igt_assert_errno(vm.prefetch(mem.addr(), mem.size(), region), EINVAL);
    igt_assert_ok(vm.prefetch(mem.addr(), mem.size(), sys));
}

void prefetch_bad_fields(const Env& env)
{
    const Vm vm = make_mirror_vm(env);
    const CpuMem mem(64 * KiB);
    std::memset(mem.data(), 0x5a, mem.size());
    const GpuBuffer bo = make_unbound(env.dev, page_size);
    const auto good = simgpu::prefetch_op(mem.addr(), mem.size(), sys);
    const auto fails = [&](auto mutate) {
        auto op = good;
        mutate(op);
        igt_assert_errno(vm.bind({&op, 1}), EINVAL);
    };
    for (const uint32_t flags :
         {uint32_t{DRM_SIMGPU_VM_BIND_FLAG_READONLY},
          uint32_t{DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR}, 4u, 0x80000000u, ~0u})
        fails([&](auto& op) { op.flags = flags; });
    for (const uint32_t handle : {bo.bo.handle(), 0xfffffu})
        fails([&](auto& op) { op.handle = handle; });
    for (const uint64_t offset : {uint64_t{1}, page_size, 2 * MiB})
        fails([&](auto& op) { op.obj_offset = offset; });
    fails([](auto& op) { op.extensions = 1; });
    fails([](auto& op) { op.reserved[0] = 1; });
    fails([](auto& op) { op.reserved[1] = 1; });
    // Alignment and range, as for every operation.
    fails([](auto& op) { op.addr += 8; });
    fails([](auto& op) { op.range -= page_size / 2; });
    fails([](auto& op) { op.range = 0; });
    fails([](auto& op) {
        op.addr = va_bits_limit - page_size;
        op.range = 2 * page_size;
    });
    fails([](auto& op) { op.range = ~uint64_t{0} - page_size + 1; });
    // With the region of the other kind too.
    fails([](auto& op) {
        op.region = DRM_SIMGPU_MEM_VRAM;
        op.handle = 1;
    });
    igt_assert_ok(vm.bind({&good, 1}));
}

void prefetch_bad_span(const Env& env)
{
    const CpuMem mem(64 * KiB);
    std::memset(mem.data(), 0x5a, mem.size());
    const uint64_t a = mem.addr();
    {
        // A VM without fault mode mirrors nothing; a BO mapping is no
        // mirror either.
        const Vm vm = make_vm(env);
        igt_assert_errno(vm.prefetch(a, 64 * KiB, sys), EINVAL);
        const GpuBuffer buf = make_buffer(vm, 16 * KiB);
        igt_assert_errno(vm.prefetch(buf.va, buf.size, sys), EINVAL);
    }
    {
        // A fault-mode VM that mirrors nothing.
        const Vm vm = make_fault_vm(env);
        igt_assert_errno(vm.prefetch(a, 64 * KiB, sys), EINVAL);
        const GpuBuffer buf = make_buffer(vm, 16 * KiB);
        igt_assert_errno(vm.prefetch(buf.va, buf.size, sys), EINVAL);
    }
    igt_require_f(env.has_cap(DRM_SIMGPU_CAP_FAULT_MODE | DRM_SIMGPU_CAP_CPU_ADDR_MIRROR),
                  "the device cannot mirror the CPU address space");
    {
        // A mirror of the first half only.
        const Vm vm = make_fault_vm(env);
        igt_assert_ok(vm.mirror(a, 32 * KiB));
        igt_assert_errno(vm.prefetch(a, 64 * KiB, sys), EINVAL);
        igt_assert_errno(vm.prefetch(a + 32 * KiB, 32 * KiB, sys), EINVAL);
        igt_assert_errno(vm.prefetch(a - page_size, 2 * page_size, sys), EINVAL);
        igt_assert_ok(vm.prefetch(a, 32 * KiB, sys));
    }
    {
        // A BO mapped inside the mirror, over memory the process maps,
        // and then an UNMAP hole in the mirror.
        const Vm vm = make_mirror_vm(env);
        const GpuBuffer buf = make_buffer(vm, 16 * KiB, DRM_SIMGPU_MEM_SYSTEM, a + 32 * KiB);
        igt_assert_errno(vm.prefetch(a, 64 * KiB, sys), EINVAL);
        igt_assert_errno(vm.prefetch(a + 32 * KiB, 16 * KiB, sys), EINVAL);
        igt_assert_errno(vm.prefetch(a + 44 * KiB, 8 * KiB, sys), EINVAL);
        igt_assert_ok(vm.prefetch(a, 32 * KiB, sys));
        igt_assert_ok(vm.prefetch(a + 48 * KiB, 16 * KiB, sys));
        igt_assert_ok(vm.unmap(a + 8 * KiB, 8 * KiB));
        igt_assert_errno(vm.prefetch(a, 32 * KiB, sys), EINVAL);
        igt_assert_ok(vm.prefetch(a, 8 * KiB, sys));
        igt_assert_ok(vm.prefetch(a + 16 * KiB, 16 * KiB, sys));

        // From another process than the one the VM mirrors (a child
        // sharing the fd, with the same addresses mapped).
        const pid_t pid = ::fork();
        igt_assert(pid >= 0);
        if (pid == 0) {
            const auto r = vm.prefetch(a, 8 * KiB, sys);
            ::_exit(!r.ok() && r.error().err == EINVAL ? 0 : 1);
        }
        int status = 0;
        igt_assert_eq(::waitpid(pid, &status, 0), pid);
        igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                     "a PREFETCH from a child of the mirrored process was not rejected "
                     "with EINVAL (status 0x%x)", status);
    }
}

void prefetch_vram_unsupported(const Env& env)
{
    igt_require_f(!env.has_cap(DRM_SIMGPU_CAP_VRAM_MIGRATION),
                  "the device has VRAM migration (covered by simgpu_svm_migrate)");
    const Vm vm = make_mirror_vm(env);
    const CpuMem mem(64 * KiB);
    std::memset(mem.data(), 0x5a, 32 * KiB); // the second half untouched
    igt_assert_errno(vm.prefetch(mem.addr(), mem.size(), DRM_SIMGPU_MEM_VRAM), EOPNOTSUPP);
    igt_assert_errno(vm.prefetch(mem.addr(32 * KiB), 32 * KiB, DRM_SIMGPU_MEM_VRAM),
                     EOPNOTSUPP);
    igt_assert_ok(vm.prefetch(mem.addr(), mem.size(), sys));
    auto pages = vm.query_range(mem.addr(), mem.size() / page_size);
    igt_assert_ok(pages);
    for (const uint32_t f : pages.value())
        igt_assert_eq(f & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_VRAM),
                      uint32_t{DRM_SIMGPU_PAGE_MAPPED});
}

void prefetch_system_unmapped(const Env& env)
{
    const Vm vm = make_mirror_vm(env);
    // Pages 0-1 mapped and written, 2 unmapped, 3 PROT_NONE.
    const CpuMem mem(4 * page_size);
    std::memset(mem.data(), 0x5a, 2 * page_size);
    igt_assert_eq(::munmap(mem.data() + 2 * page_size, page_size), 0);
    igt_assert_eq(::mprotect(mem.data() + 3 * page_size, page_size, PROT_NONE), 0);
    igt_assert_errno(vm.prefetch(mem.addr(2 * page_size), page_size, sys), EFAULT);
    igt_assert_errno(vm.prefetch(mem.addr(), 3 * page_size, sys), EFAULT);
    igt_assert_errno(vm.prefetch(mem.addr(3 * page_size), page_size, sys), EFAULT);
    // Far from anything mapped.
    void* far = ::mmap(nullptr, 64 * KiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    igt_assert(far != MAP_FAILED);
    igt_assert_eq(::munmap(far, 64 * KiB), 0);
    igt_assert_errno(vm.prefetch(reinterpret_cast<uintptr_t>(far), 64 * KiB, sys), EFAULT);
    // The mapped pages prefetch fine.
    igt_assert_ok(vm.prefetch(mem.addr(), 2 * page_size, sys));
}

void prefetch_system_maps(const Env& env)
{
    // Written and untouched memory, prefetched to system memory: mapped
    // on the GPU, so that a GPU read takes no page fault.
    const Vm vm = make_mirror_vm(env);
    const ExecQueue queue = make_queue(env, vm);
    const uint64_t size = 128 * KiB;
    const CpuMem mem(size);
    auto* w = reinterpret_cast<uint32_t*>(mem.data());
    for (uint64_t i = 0; i < size / 8; ++i)
        w[i] = prefetch_word(i);
    const auto fence = std::make_unique<uint64_t>(0);
    const auto sync = simgpu::user_fence_out(fence.get(), 0x5157f00dULL);
    igt_assert_ok(vm.prefetch(mem.addr(), size, sys, {&sync, 1}));
    igt_assert_eq(*fence, 0x5157f00dULL);
    auto pages = vm.query_range(mem.addr(), size / page_size);
    igt_assert_ok(pages);
    for (size_t i = 0; i < pages.value().size(); ++i)
        igt_assert_f((pages.value()[i] & (DRM_SIMGPU_PAGE_MAPPED | DRM_SIMGPU_PAGE_VRAM)) ==
                         DRM_SIMGPU_PAGE_MAPPED,
                     "page %zu has flags 0x%x after a PREFETCH to system memory", i,
                     pages.value()[i]);

    GpuBuffer out = make_buffer(vm, size);
    std::memset(out.bytes(), 0xa5, size);
    const auto faults_before = gpu_faults();
    BatchBuilder b;
    b.copy(out.gpu(), mem.addr(), size).batch_end();
    assert_job_ok(run_batch(vm, queue, b));
    const auto faults_after = gpu_faults();
    if (faults_before && faults_after)
        igt_assert_eq(*faults_after - *faults_before, 0u);
    else
        igt_info("simgpu_stats cannot be read: GPU faults not checked\n");
    const auto* o = out.as<uint32_t>();
    for (uint64_t i = 0; i < size / 4; ++i) {
        const uint32_t want = i < size / 8 ? prefetch_word(i) : 0;
        if (o[i] != want)
            igt_fail("word %llu read by the GPU is 0x%x, expected 0x%x",
                     static_cast<unsigned long long>(i), o[i], want);
    }
}

// The gem-create-* subtests: gem_create() of each placement.
struct Placement {
    const char* name;
    uint32_t placement;
    const char* description;
};

constexpr Placement placements[] = {
    {"gem-create-system", DRM_SIMGPU_MEM_SYSTEM,
     "system objects of several sizes start zeroed and share their data with a second mapping "
     "and the GPU"},
    {"gem-create-vram", DRM_SIMGPU_MEM_VRAM,
     "VRAM objects of several sizes start zeroed and share their data with a second mapping "
     "and the GPU"},
};

using Case = igt::Case<const Env&>;

constexpr Case cases[] = {
    // GEM.
    {"gem-create-bad-size",
     "GEM_CREATE of size 0 or of a size that is no multiple of a page fails with EINVAL",
     gem_create_bad_size},
    {"gem-create-bad-placement", "GEM_CREATE with an unknown placement fails with EINVAL",
     gem_create_bad_placement},
    {"gem-create-bad-flags", "GEM_CREATE with flags set fails with EINVAL", gem_create_bad_flags},
    {"gem-create-bad-pad", "GEM_CREATE with a pad that is not 0 fails with EINVAL",
     gem_create_bad_pad},
    {"gem-create-bad-reserved", "GEM_CREATE with a reserved field set fails with EINVAL",
     gem_create_bad_reserved},
    {"gem-create-bad-extensions", "GEM_CREATE with extensions set fails with EINVAL",
     gem_create_bad_extensions},
    {"gem-create-bad-vram-size",
     "VRAM objects beyond VRAM, or beyond what pinned objects leave, fail with ENOSPC; freed "
     "VRAM is allocated again",
     gem_create_bad_vram_size},
    {"gem-mmap-offset-bad-handle",
     "GEM_MMAP_OFFSET of handle 0, a closed or an unknown handle fails with ENOENT",
     gem_mmap_offset_bad_handle},
    {"gem-mmap-offset-bad-flags",
     "GEM_MMAP_OFFSET with flags, extensions or a reserved field set fails with EINVAL",
     gem_mmap_offset_bad_flags},
    // VM.
    {"vm-create-destroy",
     "VM ids are distinct and not 0; a destroyed or unknown VM is gone (ENOENT) for VM_DESTROY "
     "and VM_BIND",
     vm_create_destroy},
    {"vm-create-bad-flags",
     "VM_CREATE with unknown flags, extensions or a reserved field fails with EINVAL; fault mode "
     "exactly where the device has it",
     vm_create_bad_flags},
    {"vm-destroy-bad-fields",
     "VM_DESTROY with extensions, pad or a reserved field set fails with EINVAL; the VM still "
     "works",
     vm_destroy_bad_fields},
    {"vm-destroy-with-queue",
     "a destroyed VM's id is gone for new work while the jobs of its queue keep running in it",
     vm_destroy_with_queue},
    // VM_BIND.
    {"bind-unbind-rebind",
     "MAP, UNMAP and MAP of another object at one VA: GPU writes reach the mapped object only",
     bind_unbind_rebind},
    {"bind-offset", "a MAP at an object offset maps those pages, and two VAs of one page alias",
     bind_offset},
    {"partial-unbind",
     "an UNMAP in the middle of a mapping leaves a hole that faults and two pieces that work",
     partial_unbind},
    {"map-replaces", "a MAP over part of a mapping splits it, one over all of it replaces it",
     map_replaces},
    {"huge-mapping",
     "a 4 MiB mapping of 2 MiB-aligned VRAM takes GPU writes, a 4 KiB hole unmaps one page",
     huge_mapping},
    {"multi-op-bind",
     "a VM_BIND's operations, up to 512, apply in order, and none of them when one is bad",
     multi_op_bind},
    {"bind-syncs",
     "the out-fences of a MAP and an UNMAP have signalled when VM_BIND returns",
     bind_syncs},
    {"stale-tlb",
     "once a VM_BIND that remaps a VA returns, a running job writes to the new pages only",
     stale_tlb},
    // VM_BIND argument checking.
    {"bind-bad-extensions",
     "VM_BIND with extensions set, of the call or an operation, fails with EINVAL",
     bind_bad_extensions},
    {"bind-bad-reserved",
     "VM_BIND with a reserved field set, of the call or an operation, fails with EINVAL",
     bind_bad_reserved},
    {"bind-bad-pad",
     "VM_BIND with a pad, or a MAP or UNMAP with a region, that is not 0 fails with EINVAL",
     bind_bad_pad},
    {"bind-bad-vm", "VM_BIND on an unknown VM fails with ENOENT", bind_bad_vm},
    {"bind-bad-num-binds", "VM_BIND of no operations or of more than 512 fails with EINVAL",
     bind_bad_num_binds},
    {"bind-bad-binds-pointer", "VM_BIND whose operations cannot be read fails with EFAULT",
     bind_bad_binds_pointer},
    {"bind-bad-op", "an operation of an unknown kind fails with EINVAL", bind_bad_op},
    {"bind-bad-flags", "a MAP with unknown flags fails with EINVAL", bind_bad_flags},
    {"bind-bad-handle",
     "a MAP of a closed or unknown handle fails with ENOENT, one of handle 0 fails too",
     bind_bad_handle},
    {"bind-bad-unaligned",
     "a MAP or UNMAP whose address, range or offset is not page-aligned fails with EINVAL",
     bind_bad_unaligned},
    {"bind-bad-range-zero", "a MAP or UNMAP of range 0 fails with EINVAL", bind_bad_range_zero},
    {"bind-bad-va-range",
     "a MAP or UNMAP beyond the VA bits or wrapping around fails with EINVAL; the last page maps",
     bind_bad_va_range},
    {"bind-bad-obj-range",
     "a MAP beyond the object's end fails with EINVAL; one up to the end works",
     bind_bad_obj_range},
    {"bind-bad-unmap-fields",
     "an UNMAP with a handle, an object offset or flags fails with EINVAL",
     bind_bad_unmap_fields},
    {"bind-bad-sync",
     "VM_BIND with a bad sync, unreadable syncs or more than 64 fails; 64 are accepted",
     bind_bad_sync},
    // PREFETCH argument checking.
    {"prefetch-bad-region", "a PREFETCH to an unknown region fails with EINVAL",
     prefetch_bad_region},
    {"prefetch-bad-fields",
     "a PREFETCH with flags, a handle, an offset, a reserved field or a bad range fails with "
     "EINVAL",
     prefetch_bad_fields},
    {"prefetch-bad-span",
     "a PREFETCH of memory the VM does not mirror, or from another process, fails with EINVAL",
     prefetch_bad_span},
    {"prefetch-vram-unsupported",
     "without VRAM migration a PREFETCH to VRAM fails with EOPNOTSUPP and moves nothing",
     prefetch_vram_unsupported},
    {"prefetch-system-unmapped",
     "a PREFETCH of unmapped or PROT_NONE memory fails with EFAULT",
     prefetch_system_unmapped},
    {"prefetch-system-maps",
     "a PREFETCH to system memory maps the pages on the GPU: a job reads them without a fault",
     prefetch_system_maps},
};

} // namespace

int main(int argc, char** argv)
{
    igt::Test t(argc, argv);
    std::optional<Env> env;

    t.fixture([&] { env.emplace(open_env()); });

    for (const Placement& p : placements)
        t.subtest(p.name, p.description, [&] { gem_create(*env, p.placement); });
    igt::add_cases(t, cases, [&]() -> const Env& { return *env; });

    return t.exit_code();
}
