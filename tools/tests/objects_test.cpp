// SPDX-License-Identifier: MIT
//
// Argument packing of Bo, Vm, ExecQueue and wait_user_fence against a fake
// driver that records every ioctl.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include <sys/mman.h>

#include <gtest/gtest.h>

#include "simgpu/bo.hpp"
#include "simgpu/device.hpp"
#include "simgpu/exec_queue.hpp"
#include "simgpu/sync.hpp"
#include "simgpu/vm.hpp"

namespace {

using namespace simgpu;

struct Call {
    unsigned long request;
    std::vector<std::byte> arg; // as received
    std::vector<drm_simgpu_vm_bind_op> ops;
    std::vector<drm_simgpu_sync> syncs;

    template <typename T>
    T as() const
    {
        T value{};
        EXPECT_EQ(arg.size(), sizeof(T));
        std::memcpy(&value, arg.data(), std::min(sizeof(T), arg.size()));
        return value;
    }
};

class Recorder : public IoctlBackend {
public:
    std::vector<Call> calls;
    std::function<int(unsigned long, void*)> answer; // returns 0 or -errno

    int ioctl(int, unsigned long request, void* arg) override
    {
        Call call{request, {}, {}, {}};
        const size_t size = _IOC_SIZE(request);
        call.arg.resize(size);
        std::memcpy(call.arg.data(), arg, size);
        if (request == DRM_IOCTL_SIMGPU_VM_BIND) {
            const auto* bind = static_cast<const drm_simgpu_vm_bind*>(arg);
            const auto* ops = reinterpret_cast<const drm_simgpu_vm_bind_op*>(bind->binds);
            call.ops.assign(ops, ops + bind->num_binds);
            const auto* syncs = reinterpret_cast<const drm_simgpu_sync*>(bind->syncs);
            if (bind->num_syncs)
                call.syncs.assign(syncs, syncs + bind->num_syncs);
        }
        if (request == DRM_IOCTL_SIMGPU_EXEC) {
            const auto* exec = static_cast<const drm_simgpu_exec*>(arg);
            const auto* syncs = reinterpret_cast<const drm_simgpu_sync*>(exec->syncs);
            if (exec->num_syncs)
                call.syncs.assign(syncs, syncs + exec->num_syncs);
        }
        calls.push_back(std::move(call));
        return answer ? answer(request, arg) : 0;
    }
};

class Objects : public ::testing::Test {
protected:
    Objects()
    {
        recorder->answer = [](unsigned long request, void* arg) {
            switch (request) {
            case DRM_IOCTL_SIMGPU_GEM_CREATE:
                static_cast<drm_simgpu_gem_create*>(arg)->handle = 7;
                break;
            case DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET:
                static_cast<drm_simgpu_gem_mmap_offset*>(arg)->offset = 0x100000;
                break;
            case DRM_IOCTL_SIMGPU_VM_CREATE:
                static_cast<drm_simgpu_vm_create*>(arg)->vm_id = 3;
                break;
            case DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE:
                static_cast<drm_simgpu_exec_queue_create*>(arg)->exec_queue_id = 5;
                break;
            case DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE: {
                auto* s = static_cast<drm_simgpu_exec_queue_state*>(arg);
                s->error = -EFAULT;
                s->fault_addr = 0x1000;
                s->jobs_submitted = 4;
                s->jobs_completed = 3;
                s->jobs_failed = 1;
                break;
            }
            default:
                break;
            }
            return 0;
        };
    }

    std::shared_ptr<Recorder> recorder = std::make_shared<Recorder>();
    Device device{Fd(), "fake", recorder};
};

TEST_F(Objects, BoCreateAndClose)
{
    {
        auto bo = Bo::create(device, 0x20000, DRM_SIMGPU_MEM_VRAM);
        ASSERT_TRUE(bo.ok()) << bo.error().message();
        EXPECT_EQ(bo.value().handle(), 7u);
        EXPECT_EQ(bo.value().size(), 0x20000u);
        EXPECT_EQ(bo.value().placement(), uint32_t{DRM_SIMGPU_MEM_VRAM});
        ASSERT_EQ(recorder->calls.size(), 1u);
        const auto args = recorder->calls[0].as<drm_simgpu_gem_create>();
        EXPECT_EQ(recorder->calls[0].request, DRM_IOCTL_SIMGPU_GEM_CREATE);
        EXPECT_EQ(args.size, 0x20000u);
        EXPECT_EQ(args.placement, uint32_t{DRM_SIMGPU_MEM_VRAM});
        EXPECT_EQ(args.extensions, 0u);
        EXPECT_EQ(args.flags, 0u);
        EXPECT_EQ(args.pad, 0u);
        EXPECT_EQ(args.reserved[0] | args.reserved[1], 0u);

        auto offset = bo.value().mmap_offset();
        ASSERT_TRUE(offset.ok());
        EXPECT_EQ(offset.value(), 0x100000u);
        const auto mo = recorder->calls[1].as<drm_simgpu_gem_mmap_offset>();
        EXPECT_EQ(mo.handle, 7u);
        EXPECT_EQ(mo.flags, 0u);

        // Moving transfers ownership: one close only.
        Bo moved = std::move(bo).value();
        EXPECT_EQ(moved.handle(), 7u);
    }
    ASSERT_EQ(recorder->calls.size(), 3u);
    EXPECT_EQ(recorder->calls[2].request, DRM_IOCTL_GEM_CLOSE);
    EXPECT_EQ(recorder->calls[2].as<drm_gem_close>().handle, 7u);
}

TEST_F(Objects, BoCreateFailureCarriesErrno)
{
    recorder->answer = [](unsigned long, void*) { return -ENOSPC; };
    auto bo = Bo::create(device, 1ULL << 40, DRM_SIMGPU_MEM_VRAM);
    ASSERT_FALSE(bo.ok());
    EXPECT_EQ(bo.error().err, ENOSPC);
    EXPECT_NE(bo.error().what.find("DRM_IOCTL_SIMGPU_GEM_CREATE"), std::string::npos);
    EXPECT_EQ(recorder->calls.size(), 1u); // nothing to close
}

TEST_F(Objects, BoExplicitCloseIsOnce)
{
    auto bo = Bo::create(device, 4096, DRM_SIMGPU_MEM_SYSTEM).value();
    EXPECT_TRUE(bo.close().ok());
    EXPECT_TRUE(bo.close().ok());
    EXPECT_EQ(bo.handle(), 0u);
    EXPECT_EQ(recorder->calls.size(), 2u);
}

TEST_F(Objects, VmCreateBindDestroy)
{
    {
        auto vm = Vm::create(device, DRM_SIMGPU_VM_CREATE_FAULT_MODE).value();
        EXPECT_EQ(vm.id(), 3u);
        EXPECT_TRUE(vm.fault_mode());
        EXPECT_EQ(recorder->calls[0].as<drm_simgpu_vm_create>().flags,
                  uint32_t{DRM_SIMGPU_VM_CREATE_FAULT_MODE});

        const Bo bo(device, 9, 0x10000, DRM_SIMGPU_MEM_SYSTEM);
        ASSERT_TRUE(
            vm.map(bo, 0x100000000ULL, 0x4000, 0x2000, DRM_SIMGPU_VM_BIND_FLAG_READONLY).ok());
        const auto& map = recorder->calls[1];
        EXPECT_EQ(map.request, DRM_IOCTL_SIMGPU_VM_BIND);
        const auto bind = map.as<drm_simgpu_vm_bind>();
        EXPECT_EQ(bind.vm_id, 3u);
        EXPECT_EQ(bind.num_binds, 1u);
        EXPECT_EQ(bind.num_syncs, 0u);
        EXPECT_EQ(bind.syncs, 0u);
        EXPECT_EQ(bind.extensions | bind.pad | bind.reserved[0] | bind.reserved[1], 0u);
        ASSERT_EQ(map.ops.size(), 1u);
        EXPECT_EQ(map.ops[0].op, uint32_t{DRM_SIMGPU_VM_BIND_OP_MAP});
        EXPECT_EQ(map.ops[0].flags, uint32_t{DRM_SIMGPU_VM_BIND_FLAG_READONLY});
        EXPECT_EQ(map.ops[0].handle, 9u);
        EXPECT_EQ(map.ops[0].obj_offset, 0x2000u);
        EXPECT_EQ(map.ops[0].addr, 0x100000000ULL);
        EXPECT_EQ(map.ops[0].range, 0x4000u);
        EXPECT_EQ(map.ops[0].extensions | map.ops[0].region | map.ops[0].reserved[0] |
                      map.ops[0].reserved[1],
                  0u);

        ASSERT_TRUE(vm.unmap(0x100001000ULL, 0x1000).ok());
        const auto& unmap = recorder->calls[2];
        ASSERT_EQ(unmap.ops.size(), 1u);
        EXPECT_EQ(unmap.ops[0].op, uint32_t{DRM_SIMGPU_VM_BIND_OP_UNMAP});
        EXPECT_EQ(unmap.ops[0].handle, 0u);
        EXPECT_EQ(unmap.ops[0].obj_offset, 0u);
        EXPECT_EQ(unmap.ops[0].flags, 0u);
        EXPECT_EQ(unmap.ops[0].addr, 0x100001000ULL);
        EXPECT_EQ(unmap.ops[0].range, 0x1000u);
        EXPECT_EQ(unmap.ops[0].region, 0u);

        std::array<drm_simgpu_vm_bind_op, 3> ops{map_op(1, 0x1000, 0x1000),
                                                 map_op(2, 0x2000, 0x1000, 0x1000),
                                                 unmap_op(0x1000, 0x1000)};
        uint64_t fence = 0;
        std::array<drm_simgpu_sync, 2> syncs{syncobj_out(4), user_fence_out(&fence, 42)};
        ASSERT_TRUE(vm.bind(ops, syncs).ok());
        const auto& multi = recorder->calls[3];
        EXPECT_EQ(multi.as<drm_simgpu_vm_bind>().num_binds, 3u);
        EXPECT_EQ(multi.as<drm_simgpu_vm_bind>().num_syncs, 2u);
        ASSERT_EQ(multi.ops.size(), 3u);
        EXPECT_EQ(multi.ops[1].handle, 2u);
        EXPECT_EQ(multi.ops[2].op, uint32_t{DRM_SIMGPU_VM_BIND_OP_UNMAP});
        ASSERT_EQ(multi.syncs.size(), 2u);
        EXPECT_EQ(multi.syncs[0].type, uint32_t{DRM_SIMGPU_SYNC_SYNCOBJ});
        EXPECT_EQ(multi.syncs[0].flags, uint32_t{DRM_SIMGPU_SYNC_FLAG_SIGNAL});
        EXPECT_EQ(multi.syncs[0].handle, 4u);
        EXPECT_EQ(multi.syncs[0].addr | multi.syncs[0].value, 0u);
        EXPECT_EQ(multi.syncs[1].type, uint32_t{DRM_SIMGPU_SYNC_USER_FENCE});
        EXPECT_EQ(multi.syncs[1].flags, uint32_t{DRM_SIMGPU_SYNC_FLAG_SIGNAL});
        EXPECT_EQ(multi.syncs[1].handle, 0u);
        EXPECT_EQ(multi.syncs[1].addr, reinterpret_cast<uintptr_t>(&fence));
        EXPECT_EQ(multi.syncs[1].value, 42u);
        (void)bo; // closes handle 9 below
    }
    // GEM_CLOSE of 9, then VM_DESTROY of 3 (reverse construction order).
    ASSERT_EQ(recorder->calls.size(), 6u);
    EXPECT_EQ(recorder->calls[4].request, DRM_IOCTL_GEM_CLOSE);
    EXPECT_EQ(recorder->calls[5].request, DRM_IOCTL_SIMGPU_VM_DESTROY);
    const auto destroy = recorder->calls[5].as<drm_simgpu_vm_destroy>();
    EXPECT_EQ(destroy.vm_id, 3u);
    EXPECT_EQ(destroy.pad | destroy.reserved[0] | destroy.reserved[1], 0u);
}

TEST_F(Objects, VmMirrorPacking)
{
    Vm vm(device, 3, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    ASSERT_TRUE(vm.mirror().ok());
    ASSERT_TRUE(vm.mirror(0x7f0000000000ULL, 0x200000).ok());
    ASSERT_EQ(recorder->calls.size(), 2u);
    const auto check = [&](const Call& call, uint64_t addr, uint64_t range) {
        EXPECT_EQ(call.request, DRM_IOCTL_SIMGPU_VM_BIND);
        const auto bind = call.as<drm_simgpu_vm_bind>();
        EXPECT_EQ(bind.vm_id, 3u);
        EXPECT_EQ(bind.num_binds, 1u);
        EXPECT_EQ(bind.num_syncs, 0u);
        ASSERT_EQ(call.ops.size(), 1u);
        const auto& op = call.ops[0];
        EXPECT_EQ(op.op, uint32_t{DRM_SIMGPU_VM_BIND_OP_MAP});
        EXPECT_EQ(op.flags, uint32_t{DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR});
        EXPECT_EQ(op.handle, 0u);
        EXPECT_EQ(op.obj_offset, 0u);
        EXPECT_EQ(op.addr, addr);
        EXPECT_EQ(op.range, range);
        EXPECT_EQ(op.extensions | op.region | op.reserved[0] | op.reserved[1], 0u);
    };
    // The default covers the whole user VA but its first and last page.
    check(recorder->calls[0], 0x1000, (uint64_t{1} << 47) - 0x2000);
    check(recorder->calls[1], 0x7f0000000000ULL, 0x200000);

    const auto op = mirror_op(0x5000, 0x3000);
    EXPECT_EQ(op.flags, uint32_t{DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR});
    EXPECT_EQ(op.handle, 0u);
    EXPECT_EQ(op.addr, 0x5000u);
    EXPECT_EQ(op.range, 0x3000u);
    (void)vm.release();
}

TEST_F(Objects, VmPrefetchPacking)
{
    Vm vm(device, 3, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    ASSERT_TRUE(vm.prefetch(0x7f0000200000ULL, 0x200000, DRM_SIMGPU_MEM_VRAM).ok());
    uint64_t fence = 0;
    const std::array<drm_simgpu_sync, 1> syncs{user_fence_out(&fence, 7)};
    ASSERT_TRUE(vm.prefetch(0x5000, 0x3000, DRM_SIMGPU_MEM_SYSTEM, syncs).ok());
    ASSERT_EQ(recorder->calls.size(), 2u);
    const auto check = [&](const Call& call, uint64_t addr, uint64_t range, uint32_t region,
                           uint32_t num_syncs) {
        EXPECT_EQ(call.request, DRM_IOCTL_SIMGPU_VM_BIND);
        const auto bind = call.as<drm_simgpu_vm_bind>();
        EXPECT_EQ(bind.vm_id, 3u);
        EXPECT_EQ(bind.num_binds, 1u);
        EXPECT_EQ(bind.num_syncs, num_syncs);
        EXPECT_EQ(bind.extensions | bind.pad | bind.reserved[0] | bind.reserved[1], 0u);
        ASSERT_EQ(call.ops.size(), 1u);
        const auto& op = call.ops[0];
        EXPECT_EQ(op.op, uint32_t{DRM_SIMGPU_VM_BIND_OP_PREFETCH});
        EXPECT_EQ(op.region, region);
        EXPECT_EQ(op.flags, 0u);
        EXPECT_EQ(op.handle, 0u);
        EXPECT_EQ(op.obj_offset, 0u);
        EXPECT_EQ(op.addr, addr);
        EXPECT_EQ(op.range, range);
        EXPECT_EQ(op.extensions | op.reserved[0] | op.reserved[1], 0u);
    };
    check(recorder->calls[0], 0x7f0000200000ULL, 0x200000, DRM_SIMGPU_MEM_VRAM, 0);
    check(recorder->calls[1], 0x5000, 0x3000, DRM_SIMGPU_MEM_SYSTEM, 1);
    ASSERT_EQ(recorder->calls[1].syncs.size(), 1u);
    EXPECT_EQ(recorder->calls[1].syncs[0].type, uint32_t{DRM_SIMGPU_SYNC_USER_FENCE});
    EXPECT_EQ(recorder->calls[1].syncs[0].addr, reinterpret_cast<uintptr_t>(&fence));
    EXPECT_EQ(recorder->calls[1].syncs[0].value, 7u);

    // The builder alone, and next to the other builders.
    const auto op = prefetch_op(0x10000, 0x1000, DRM_SIMGPU_MEM_VRAM);
    EXPECT_EQ(op.op, uint32_t{DRM_SIMGPU_VM_BIND_OP_PREFETCH});
    EXPECT_EQ(op.region, uint32_t{DRM_SIMGPU_MEM_VRAM});
    EXPECT_EQ(op.flags | op.handle, 0u);
    EXPECT_EQ(op.obj_offset | op.extensions | op.reserved[0] | op.reserved[1], 0u);
    EXPECT_EQ(op.addr, 0x10000u);
    EXPECT_EQ(op.range, 0x1000u);
    EXPECT_EQ(map_op(1, 0x1000, 0x1000).region, 0u);
    EXPECT_EQ(mirror_op(0x1000, 0x1000).region, 0u);
    EXPECT_EQ(unmap_op(0x1000, 0x1000).region, 0u);

    // Errors carry the errno of the ioctl.
    recorder->answer = [](unsigned long, void*) { return -EOPNOTSUPP; };
    const auto bad = vm.prefetch(0x1000, 0x1000, DRM_SIMGPU_MEM_VRAM);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().err, EOPNOTSUPP);
    EXPECT_NE(bad.error().message().find("VM_BIND"), std::string::npos) << bad.error().message();
    (void)vm.release();
}

TEST_F(Objects, VmQueryRangePacking)
{
    recorder->answer = [](unsigned long request, void* arg) {
        if (request != DRM_IOCTL_SIMGPU_VM_QUERY_RANGE)
            return 0;
        const auto* q = static_cast<const drm_simgpu_vm_query_range*>(arg);
        auto* pages = reinterpret_cast<uint32_t*>(q->pages);
        for (uint64_t i = 0; i < q->num_pages; ++i)
            pages[i] = static_cast<uint32_t>(i * 3 + 1);
        return 0;
    };
    Vm vm(device, 4, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    auto pages = vm.query_range(0x7f0000001000ULL, 5);
    ASSERT_TRUE(pages.ok()) << pages.error().message();
    EXPECT_EQ(pages.value(), (std::vector<uint32_t>{1, 4, 7, 10, 13}));
    ASSERT_EQ(recorder->calls.size(), 1u);
    EXPECT_EQ(recorder->calls[0].request, DRM_IOCTL_SIMGPU_VM_QUERY_RANGE);
    const auto args = recorder->calls[0].as<drm_simgpu_vm_query_range>();
    EXPECT_EQ(args.vm_id, 4u);
    EXPECT_EQ(args.start, 0x7f0000001000ULL);
    EXPECT_EQ(args.num_pages, 5u);
    EXPECT_NE(args.pages, 0u);
    EXPECT_EQ(args.extensions | args.flags | args.reserved[0] | args.reserved[1], 0u);

    uint32_t buf[2];
    const auto packed = pack_vm_query_range(9, 0x2000, 2, buf);
    EXPECT_EQ(packed.vm_id, 9u);
    EXPECT_EQ(packed.start, 0x2000u);
    EXPECT_EQ(packed.num_pages, 2u);
    EXPECT_EQ(packed.pages, reinterpret_cast<uintptr_t>(buf));

    recorder->answer = [](unsigned long, void*) { return -ENOENT; };
    auto bad = vm.query_range(0x1000, 1);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().err, ENOENT);
    EXPECT_NE(bad.error().message().find("VM_QUERY_RANGE"), std::string::npos)
        << bad.error().message();
    (void)vm.release();
}

TEST_F(Objects, VmMadvisePacking)
{
    Vm vm(device, 6, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    ASSERT_TRUE(vm.madvise(0x7f0000200000ULL, 0x400000, DRM_SIMGPU_MADV_ATOMIC,
                           DRM_SIMGPU_MADV_ATOMIC_GLOBAL)
                    .ok());
    ASSERT_TRUE(vm.madvise(0x5000, 0x3000, DRM_SIMGPU_MADV_PREFERRED_LOC,
                           DRM_SIMGPU_MADV_LOC_DEVICE, -1)
                    .ok());
    ASSERT_TRUE(vm.madvise(0x10000, 0x1000, DRM_SIMGPU_MADV_PREFERRED_LOC,
                           DRM_SIMGPU_MADV_LOC_DEVICE, 42)
                    .ok());
    ASSERT_TRUE(vm.madvise(0x20000, 0x2000, DRM_SIMGPU_MADV_READ_MOSTLY, 1).ok());
    ASSERT_EQ(recorder->calls.size(), 4u);
    const auto check = [&](const Call& call, uint64_t start, uint64_t range, uint32_t attr,
                           uint32_t value, int32_t fd) {
        EXPECT_EQ(call.request, DRM_IOCTL_SIMGPU_VM_MADVISE);
        const auto args = call.as<drm_simgpu_vm_madvise>();
        EXPECT_EQ(args.vm_id, 6u);
        EXPECT_EQ(args.start, start);
        EXPECT_EQ(args.range, range);
        EXPECT_EQ(args.attr, attr);
        EXPECT_EQ(args.value, value);
        EXPECT_EQ(args.fd, fd);
        EXPECT_EQ(args.extensions | args.reserved[0] | args.reserved[1], 0u);
    };
    check(recorder->calls[0], 0x7f0000200000ULL, 0x400000, DRM_SIMGPU_MADV_ATOMIC,
          DRM_SIMGPU_MADV_ATOMIC_GLOBAL, 0);
    check(recorder->calls[1], 0x5000, 0x3000, DRM_SIMGPU_MADV_PREFERRED_LOC,
          DRM_SIMGPU_MADV_LOC_DEVICE, -1);
    check(recorder->calls[2], 0x10000, 0x1000, DRM_SIMGPU_MADV_PREFERRED_LOC,
          DRM_SIMGPU_MADV_LOC_DEVICE, 42);
    check(recorder->calls[3], 0x20000, 0x2000, DRM_SIMGPU_MADV_READ_MOSTLY, 1, 0);

    // The builder alone: fd defaults to 0.
    const auto packed = pack_vm_madvise(9, 0x1000, 0x2000, DRM_SIMGPU_MADV_MIGRATION,
                                        DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES);
    EXPECT_EQ(packed.vm_id, 9u);
    EXPECT_EQ(packed.attr, uint32_t{DRM_SIMGPU_MADV_MIGRATION});
    EXPECT_EQ(packed.value, uint32_t{DRM_SIMGPU_MADV_MIGRATE_SYSTEM_PAGES});
    EXPECT_EQ(packed.start, 0x1000u);
    EXPECT_EQ(packed.range, 0x2000u);
    EXPECT_EQ(packed.fd, 0);
    static_assert(sizeof(drm_simgpu_vm_madvise) == 56);

    // Errors carry the errno and name the ioctl.
    recorder->answer = [](unsigned long, void*) { return -ENOLINK; };
    const auto bad = vm.madvise(0x1000, 0x1000, DRM_SIMGPU_MADV_PREFERRED_LOC,
                                DRM_SIMGPU_MADV_LOC_DEVICE, 5);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().err, ENOLINK);
    EXPECT_NE(bad.error().message().find("VM_MADVISE"), std::string::npos) << bad.error().message();
    (void)vm.release();
}

// A fake QUERY_ATTRS: reports spans[call] (one list per call, the last one
// repeated) the way the kernel does: ENOSPC with the count when they do not
// fit; @count_enospc: counting (num_attrs 0) fails with ENOSPC too.
std::function<int(unsigned long, void*)>
fake_query_attrs(std::vector<std::vector<drm_simgpu_vm_attr>> spans, bool count_enospc,
                 std::shared_ptr<int> calls)
{
    return [spans = std::move(spans), count_enospc, calls](unsigned long request, void* arg) {
        if (request != DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS)
            return -ENOTTY;
        const auto& now = spans[std::min<size_t>(static_cast<size_t>((*calls)++), spans.size() - 1)];
        auto* q = static_cast<drm_simgpu_vm_query_attrs*>(arg);
        const auto n = static_cast<uint32_t>(now.size());
        if (q->num_attrs < n) {
            const bool counting = q->num_attrs == 0;
            q->num_attrs = n;
            return counting && !count_enospc ? 0 : -ENOSPC;
        }
        std::copy(now.begin(), now.end(), reinterpret_cast<drm_simgpu_vm_attr*>(q->attrs));
        q->num_attrs = n;
        return 0;
    };
}

drm_simgpu_vm_attr span(uint64_t start, uint64_t end, uint32_t loc = 0, uint32_t atomic = 0)
{
    drm_simgpu_vm_attr a{};
    a.start = start;
    a.end = end;
    a.preferred_loc = loc;
    a.atomic = atomic;
    return a;
}

TEST_F(Objects, VmQueryAttrsCountsThenFetches)
{
    for (const bool count_enospc : {false, true}) {
        SCOPED_TRACE(count_enospc ? "counting fails with ENOSPC" : "counting succeeds");
        recorder->calls.clear();
        auto calls = std::make_shared<int>(0);
        const std::vector<drm_simgpu_vm_attr> three{
            span(0x100000, 0x180000), span(0x180000, 0x200000, DRM_SIMGPU_MADV_LOC_SYSTEM),
            span(0x200000, 0x300000, 0, DRM_SIMGPU_MADV_ATOMIC_CPU)};
        recorder->answer = fake_query_attrs({three}, count_enospc, calls);
        Vm vm(device, 4, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
        auto attrs = vm.query_attrs(0x100000, 0x200000);
        ASSERT_TRUE(attrs.ok()) << attrs.error().message();
        ASSERT_EQ(attrs.value().size(), 3u);
        for (size_t i = 0; i < 3; ++i) {
            EXPECT_EQ(attrs.value()[i].start, three[i].start);
            EXPECT_EQ(attrs.value()[i].end, three[i].end);
            EXPECT_EQ(attrs.value()[i].preferred_loc, three[i].preferred_loc);
            EXPECT_EQ(attrs.value()[i].atomic, three[i].atomic);
        }
        ASSERT_EQ(recorder->calls.size(), 2u);
        const auto count = recorder->calls[0].as<drm_simgpu_vm_query_attrs>();
        EXPECT_EQ(recorder->calls[0].request, DRM_IOCTL_SIMGPU_VM_QUERY_ATTRS);
        EXPECT_EQ(count.vm_id, 4u);
        EXPECT_EQ(count.start, 0x100000u);
        EXPECT_EQ(count.range, 0x200000u);
        EXPECT_EQ(count.num_attrs, 0u);
        EXPECT_EQ(count.attrs, 0u);
        EXPECT_EQ(count.extensions | count.reserved[0] | count.reserved[1], 0u);
        const auto fetch = recorder->calls[1].as<drm_simgpu_vm_query_attrs>();
        EXPECT_EQ(fetch.vm_id, 4u);
        EXPECT_EQ(fetch.start, 0x100000u);
        EXPECT_EQ(fetch.range, 0x200000u);
        EXPECT_EQ(fetch.num_attrs, 3u);
        EXPECT_NE(fetch.attrs, 0u);
        EXPECT_EQ(fetch.extensions | fetch.reserved[0] | fetch.reserved[1], 0u);
        (void)vm.release();
    }
}

TEST_F(Objects, VmQueryAttrsRetriesWhenSpansGrow)
{
    auto calls = std::make_shared<int>(0);
    const std::vector<drm_simgpu_vm_attr> one{span(0x1000, 0x9000)};
    const std::vector<drm_simgpu_vm_attr> two{span(0x1000, 0x5000),
                                              span(0x5000, 0x9000, DRM_SIMGPU_MADV_LOC_SYSTEM)};
    const std::vector<drm_simgpu_vm_attr> three{span(0x1000, 0x2000), span(0x2000, 0x5000, 1),
                                                span(0x5000, 0x9000, 1, 3)};
    // Count 1, fetch finds 2; count 2, fetch finds 3; count 3, fetch 3.
    recorder->answer = fake_query_attrs({one, two, two, three, three, three}, false, calls);
    Vm vm(device, 4, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    auto attrs = vm.query_attrs(0x1000, 0x8000);
    ASSERT_TRUE(attrs.ok()) << attrs.error().message();
    ASSERT_EQ(attrs.value().size(), 3u);
    EXPECT_EQ(attrs.value()[2].atomic, 3u);
    ASSERT_EQ(recorder->calls.size(), 6u);
    EXPECT_EQ(recorder->calls[1].as<drm_simgpu_vm_query_attrs>().num_attrs, 1u);
    EXPECT_EQ(recorder->calls[3].as<drm_simgpu_vm_query_attrs>().num_attrs, 2u);
    EXPECT_EQ(recorder->calls[5].as<drm_simgpu_vm_query_attrs>().num_attrs, 3u);
    for (size_t i = 0; i < 6; i += 2)
        EXPECT_EQ(recorder->calls[i].as<drm_simgpu_vm_query_attrs>().num_attrs, 0u);

    // Spans that shrink between the calls fit: fewer come back.
    recorder->calls.clear();
    *calls = 0;
    recorder->answer = fake_query_attrs({three, one}, false, calls);
    attrs = vm.query_attrs(0x1000, 0x8000);
    ASSERT_TRUE(attrs.ok()) << attrs.error().message();
    ASSERT_EQ(attrs.value().size(), 1u);
    EXPECT_EQ(attrs.value()[0].end, 0x9000u);
    EXPECT_EQ(recorder->calls.size(), 2u);
    (void)vm.release();
}

TEST_F(Objects, VmQueryAttrsGivesUpAndReportsErrors)
{
    Vm vm(device, 4, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    // Always one span more than asked for: bounded attempts, then EAGAIN.
    recorder->answer = [](unsigned long, void* arg) {
        auto* q = static_cast<drm_simgpu_vm_query_attrs*>(arg);
        q->num_attrs += 1;
        return -ENOSPC;
    };
    auto attrs = vm.query_attrs(0x1000, 0x1000);
    ASSERT_FALSE(attrs.ok());
    EXPECT_EQ(attrs.error().err, EAGAIN);
    EXPECT_LE(recorder->calls.size(), 16u);
    EXPECT_NE(attrs.error().message().find("VM_QUERY_ATTRS"), std::string::npos)
        << attrs.error().message();

    // An error of the count is returned as is, without a fetch.
    recorder->calls.clear();
    recorder->answer = [](unsigned long, void*) { return -ENOENT; };
    attrs = vm.query_attrs(0x1000, 0x1000);
    ASSERT_FALSE(attrs.ok());
    EXPECT_EQ(attrs.error().err, ENOENT);
    EXPECT_EQ(recorder->calls.size(), 1u);
    EXPECT_NE(attrs.error().message().find("VM_QUERY_ATTRS"), std::string::npos)
        << attrs.error().message();

    // An error of the fetch too.
    recorder->calls.clear();
    recorder->answer = [](unsigned long, void* arg) {
        auto* q = static_cast<drm_simgpu_vm_query_attrs*>(arg);
        if (q->num_attrs == 0) {
            q->num_attrs = 2;
            return 0;
        }
        return -EFAULT;
    };
    attrs = vm.query_attrs(0x1000, 0x2000);
    ASSERT_FALSE(attrs.ok());
    EXPECT_EQ(attrs.error().err, EFAULT);
    EXPECT_EQ(recorder->calls.size(), 2u);

    // A driver that reports more spans than it had room for after
    // succeeding is broken.
    recorder->answer = [](unsigned long, void* arg) {
        auto* q = static_cast<drm_simgpu_vm_query_attrs*>(arg);
        q->num_attrs = q->num_attrs == 0 ? 1 : 5;
        return 0;
    };
    attrs = vm.query_attrs(0x1000, 0x2000);
    ASSERT_FALSE(attrs.ok());
    EXPECT_EQ(attrs.error().err, EPROTO);

    // No span at all (a driver answering 0) is an empty list, one call.
    recorder->calls.clear();
    recorder->answer = [](unsigned long, void* arg) {
        static_cast<drm_simgpu_vm_query_attrs*>(arg)->num_attrs = 0;
        return 0;
    };
    attrs = vm.query_attrs(0x1000, 0x2000);
    ASSERT_TRUE(attrs.ok());
    EXPECT_TRUE(attrs.value().empty());
    EXPECT_EQ(recorder->calls.size(), 1u);

    drm_simgpu_vm_attr buf[2];
    const auto packed = pack_vm_query_attrs(7, 0x3000, 0x5000, 2, buf);
    EXPECT_EQ(packed.vm_id, 7u);
    EXPECT_EQ(packed.start, 0x3000u);
    EXPECT_EQ(packed.range, 0x5000u);
    EXPECT_EQ(packed.num_attrs, 2u);
    EXPECT_EQ(packed.attrs, reinterpret_cast<uintptr_t>(buf));
    EXPECT_EQ(pack_vm_query_attrs(7, 0x3000, 0x5000, 0, buf).attrs, 0u);
    static_assert(sizeof(drm_simgpu_vm_attr) == 40);
    static_assert(sizeof(drm_simgpu_vm_query_attrs) == 56);
    (void)vm.release();
}

TEST_F(Objects, SyncInIsNotSignal)
{
    const auto in = syncobj_in(11);
    EXPECT_EQ(in.type, uint32_t{DRM_SIMGPU_SYNC_SYNCOBJ});
    EXPECT_EQ(in.flags, 0u);
    EXPECT_EQ(in.handle, 11u);
}

TEST_F(Objects, ExecQueueLifecycle)
{
    {
        const Vm vm(device, 3, 0);
        auto queue = ExecQueue::create(device, vm, DRM_SIMGPU_ENGINE_CLASS_COPY, 1).value();
        EXPECT_EQ(queue.id(), 5u);
        EXPECT_EQ(queue.vm_id(), 3u);
        EXPECT_FALSE(queue.fault_mode());
        const auto create = recorder->calls[0].as<drm_simgpu_exec_queue_create>();
        EXPECT_EQ(create.vm_id, 3u);
        EXPECT_EQ(create.engine_class, uint16_t{DRM_SIMGPU_ENGINE_CLASS_COPY});
        EXPECT_EQ(create.engine_instance, 1u);
        EXPECT_EQ(create.flags, 0u);

        const std::array<drm_simgpu_sync, 1> syncs{syncobj_out(2)};
        ASSERT_TRUE(queue.exec(0x100000004ULL, syncs).ok());
        const auto exec = recorder->calls[1].as<drm_simgpu_exec>();
        EXPECT_EQ(exec.exec_queue_id, 5u);
        EXPECT_EQ(exec.address, 0x100000004ULL);
        EXPECT_EQ(exec.num_syncs, 1u);
        EXPECT_EQ(exec.reserved[0] | exec.reserved[1] | exec.extensions, 0u);
        ASSERT_EQ(recorder->calls[1].syncs.size(), 1u);
        EXPECT_EQ(recorder->calls[1].syncs[0].handle, 2u);

        ASSERT_TRUE(queue.exec(0x200000000ULL).ok());
        EXPECT_EQ(recorder->calls[2].as<drm_simgpu_exec>().num_syncs, 0u);
        EXPECT_EQ(recorder->calls[2].as<drm_simgpu_exec>().syncs, 0u);

        const auto state = queue.state();
        ASSERT_TRUE(state.ok());
        EXPECT_EQ(state.value().error, -EFAULT);
        EXPECT_EQ(state.value().fault_addr, 0x1000u);
        EXPECT_EQ(state.value().jobs_submitted, 4u);
        EXPECT_EQ(state.value().jobs_completed, 3u);
        EXPECT_EQ(state.value().jobs_failed, 1u);
        EXPECT_EQ(recorder->calls[3].as<drm_simgpu_exec_queue_state>().exec_queue_id, 5u);
        EXPECT_EQ(recorder->calls[3].as<drm_simgpu_exec_queue_state>().flags, 0u);
        (void)vm.id();
    }
    ASSERT_EQ(recorder->calls.size(), 6u);
    EXPECT_EQ(recorder->calls[4].request, DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY);
    EXPECT_EQ(recorder->calls[4].as<drm_simgpu_exec_queue_destroy>().exec_queue_id, 5u);
    EXPECT_EQ(recorder->calls[5].request, DRM_IOCTL_SIMGPU_VM_DESTROY);
}

TEST_F(Objects, FaultModeQueueInheritsVmMode)
{
    const Vm vm(device, 3, DRM_SIMGPU_VM_CREATE_FAULT_MODE);
    const auto queue = ExecQueue::create(device, vm, DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0).value();
    EXPECT_TRUE(queue.fault_mode());
}

TEST_F(Objects, WaitUserFencePacking)
{
    uint64_t value = 0;
    ASSERT_TRUE(wait_user_fence(device, &value, 0x1234, DRM_SIMGPU_CMP_GTE, 5000, 5, 0xff00).ok());
    const auto args = recorder->calls[0].as<drm_simgpu_wait_user_fence>();
    EXPECT_EQ(recorder->calls[0].request, DRM_IOCTL_SIMGPU_WAIT_USER_FENCE);
    EXPECT_EQ(args.addr, reinterpret_cast<uintptr_t>(&value));
    EXPECT_EQ(args.op, uint32_t{DRM_SIMGPU_CMP_GTE});
    EXPECT_EQ(args.value, 0x1234u);
    EXPECT_EQ(args.mask, 0xff00u);
    EXPECT_EQ(args.timeout_ns, 5000);
    EXPECT_EQ(args.exec_queue_id, 5u);
    EXPECT_EQ(args.flags | args.pad | args.extensions | args.reserved[0] | args.reserved[1], 0u);

    ASSERT_TRUE(wait_user_fence(device, &value, 1).ok());
    const auto defaults = recorder->calls[1].as<drm_simgpu_wait_user_fence>();
    EXPECT_EQ(defaults.op, uint32_t{DRM_SIMGPU_CMP_EQ});
    EXPECT_EQ(defaults.mask, ~uint64_t{0});
    EXPECT_EQ(defaults.exec_queue_id, 0u);
    EXPECT_GT(defaults.timeout_ns, 0);
}

TEST_F(Objects, WaitUserFenceErrors)
{
    recorder->answer = [](unsigned long, void*) { return -ETIME; };
    uint64_t value = 0;
    const auto r = wait_user_fence(device, &value, 1, DRM_SIMGPU_CMP_EQ, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().err, ETIME);
}

TEST_F(Objects, MappingIsMoveOnlyAndUnmaps)
{
    Mapping empty;
    EXPECT_FALSE(empty.valid());
    void* addr = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(addr, MAP_FAILED);
    Mapping m(addr, 4096);
    m.as<uint32_t>()[0] = 0x12345678;
    Mapping moved = std::move(m);
    EXPECT_FALSE(m.valid()); // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(moved.as<uint32_t>()[0], 0x12345678u);
    EXPECT_EQ(moved.size(), 4096u);
    moved.reset();
    EXPECT_FALSE(moved.valid());
}

} // namespace
