// SPDX-License-Identifier: MIT
//
// The command encoder against the ISA of simgpu_drm.h: exact dwords.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "simgpu/batch.hpp"

namespace {

using simgpu::BatchBuilder;
using Dwords = std::vector<uint32_t>;

constexpr uint64_t addr = 0x0000123456789abcULL; // low 0x56789abc, high 0x1234
constexpr uint32_t lo = 0x56789abc;
constexpr uint32_t hi = 0x00001234;

TEST(BatchBuilder, HeaderLayout)
{
    EXPECT_EQ(BatchBuilder::header(0x0a, 0x05, 4), 0x0a050004u);
    EXPECT_EQ(BatchBuilder::header(0xff, 0xff, 0xffff), 0xffffffffu);
    EXPECT_EQ(BatchBuilder::header(DRM_SIMGPU_OP_ATOMIC, 0x83, 9), 0x05830009u);
}

TEST(BatchBuilder, Nop)
{
    EXPECT_EQ(BatchBuilder().nop().dwords(), Dwords({0x00000001}));
}

TEST(BatchBuilder, StoreDw)
{
    EXPECT_EQ(BatchBuilder().store_dw(addr, 0xdeadbeef).dwords(),
              Dwords({0x01000004, lo, hi, 0xdeadbeef}));
}

TEST(BatchBuilder, StoreQw)
{
    EXPECT_EQ(BatchBuilder().store_qw(addr, 0x0123456789abcdefULL).dwords(),
              Dwords({0x02000005, lo, hi, 0x89abcdef, 0x01234567}));
}

TEST(BatchBuilder, Fill)
{
    EXPECT_EQ(BatchBuilder().fill(addr, 0x100000000ULL + 16, 0xa5a5a5a5).dwords(),
              Dwords({0x03000006, lo, hi, 16, 1, 0xa5a5a5a5}));
}

TEST(BatchBuilder, Copy)
{
    EXPECT_EQ(BatchBuilder().copy(addr, 0x200000000ULL, 0x1000).dwords(),
              Dwords({0x04000007, lo, hi, 0, 2, 0x1000, 0}));
}

TEST(BatchBuilder, AtomicQword)
{
    EXPECT_EQ(BatchBuilder()
                  .atomic(DRM_SIMGPU_ATOMIC_CMPXCHG, addr, 0x1111111122222222ULL,
                          0x3333333344444444ULL, 0x500000008ULL)
                  .dwords(),
              Dwords({0x05020009, lo, hi, 0x22222222, 0x11111111, 0x44444444, 0x33333333, 8, 5}));
}

TEST(BatchBuilder, AtomicDword)
{
    EXPECT_EQ(BatchBuilder().atomic(DRM_SIMGPU_ATOMIC_INC, addr, 0, 0, 0, true).dwords(),
              Dwords({0x05810009, lo, hi, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(BatchBuilder().atomic(DRM_SIMGPU_ATOMIC_XCHG, addr, 7, 0, 0, true).dwords()[0],
              0x05830009u);
    EXPECT_EQ(BatchBuilder().atomic(DRM_SIMGPU_ATOMIC_ADD, addr, 7).dwords()[0], 0x05000009u);
}

TEST(BatchBuilder, Wait)
{
    EXPECT_EQ(BatchBuilder()
                  .wait(DRM_SIMGPU_CMP_GTE, addr, 0x100000002ULL, 0xffffffff00000000ULL, 1000)
                  .dwords(),
              Dwords({0x06030008, lo, hi, 2, 1, 0, 0xffffffff, 1000}));
    // Defaults: full mask, no timeout of its own.
    EXPECT_EQ(BatchBuilder().wait(DRM_SIMGPU_CMP_EQ, addr, 1).dwords(),
              Dwords({0x06000008, lo, hi, 1, 0, 0xffffffff, 0xffffffff, 0}));
}

TEST(BatchBuilder, Signal)
{
    EXPECT_EQ(BatchBuilder().signal(addr, 0xfedcba9876543210ULL).dwords(),
              Dwords({0x07000005, lo, hi, 0x76543210, 0xfedcba98}));
}

TEST(BatchBuilder, BatchStartAndEnd)
{
    EXPECT_EQ(BatchBuilder().batch_start(addr).batch_end().dwords(),
              Dwords({0x08000003, lo, hi, 0x09000001}));
}

TEST(BatchBuilder, Launch)
{
    EXPECT_EQ(BatchBuilder().launch(DRM_SIMGPU_KERNEL_LIST_SUM, addr, 256).dwords(),
              Dwords({0x0a070004, lo, hi, 256}));
    EXPECT_EQ(BatchBuilder().launch(DRM_SIMGPU_KERNEL_MEMSET, addr).dwords(),
              Dwords({0x0a000004, lo, hi, 0}));
}

TEST(BatchBuilder, LengthsMatchTheHeader)
{
    // Every command's header length equals the dwords it emitted.
    const auto check = [](BatchBuilder& b) {
        const auto& d = b.dwords();
        ASSERT_FALSE(d.empty());
        EXPECT_EQ(d[0] & 0xffff, d.size());
    };
    BatchBuilder b[11];
    b[0].nop();
    b[1].store_dw(addr, 1);
    b[2].store_qw(addr, 1);
    b[3].fill(addr, 4, 1);
    b[4].copy(addr, addr, 4);
    b[5].atomic(DRM_SIMGPU_ATOMIC_ADD, addr, 1);
    b[6].wait(DRM_SIMGPU_CMP_EQ, addr, 1);
    b[7].signal(addr, 1);
    b[8].batch_start(addr);
    b[9].batch_end();
    b[10].launch(DRM_SIMGPU_KERNEL_ADD, addr);
    for (auto& one : b)
        check(one);
}

TEST(BatchBuilder, SequenceAndSize)
{
    BatchBuilder b;
    EXPECT_EQ(b.size_bytes(), 0u);
    b.store_dw(addr, 1).nop().batch_end();
    EXPECT_EQ(b.dwords().size(), 6u);
    EXPECT_EQ(b.size_bytes(), 24u);
    EXPECT_EQ(b.offset(), 24u);
    EXPECT_EQ(b.dwords()[4], 0x00000001u);
    EXPECT_EQ(b.dwords()[5], 0x09000001u);
}

TEST(BatchBuilder, RawDwords)
{
    EXPECT_EQ(BatchBuilder().dword(0x7f000001).qword(0x100000002ULL).dwords(),
              Dwords({0x7f000001, 2, 1}));
}

} // namespace
