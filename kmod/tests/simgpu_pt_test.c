// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the GPU page table: insert, remove, huge entries and
 * their split.
 */

#include <kunit/test.h>
#include <linux/sizes.h>

#include "simgpu_drv.h"
#include "simgpu_pt.h"

MODULE_IMPORT_NS(SIMGPU_KUNIT_NS);

#define RW	(SIMGPU_PTE_VALID | SIMGPU_PTE_WRITE)

static void pt_exit(struct kunit *test)
{
	simgpu_pt_fini(test->priv);
}

static int pt_setup(struct kunit *test)
{
	struct simgpu_pt *pt = kunit_kzalloc(test, sizeof(*pt), GFP_KERNEL);

	if (!pt || simgpu_pt_init(pt))
		return -ENOMEM;
	test->priv = pt;
	return 0;
}

static void pt_empty(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;

	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, 0, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, 0x7fffffff000ULL, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, 1ULL << 48, NULL), 0ULL);
}

static void pt_small_entries(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 va[] = { 0, SZ_4K, SZ_2M - SZ_4K, SZ_1G, 0xffffffff000ULL,
		     (1ULL << 48) - SZ_4K };
	u64 size;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(va); i++)
		KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va[i],
				(0x100000ULL + i * SZ_4K) | RW), 0);
	for (i = 0; i < ARRAY_SIZE(va); i++) {
		size = 0;
		KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va[i] + 0x123, &size),
				(0x100000ULL + i * SZ_4K) | RW);
		KUNIT_EXPECT_EQ(test, size, (u64)SZ_4K);
	}
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, 2 * SZ_4K, NULL), 0ULL);

	KUNIT_ASSERT_EQ(test, simgpu_pt_clear(pt, SZ_4K, SZ_1G + SZ_4K), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, 0, NULL), 0x100000ULL | RW);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, SZ_4K, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, SZ_2M - SZ_4K, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, SZ_1G, NULL), 0ULL);
	KUNIT_EXPECT_NE(test, simgpu_pt_lookup(pt, 0xffffffff000ULL, NULL), 0ULL);
}

static void pt_bad_args(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;

	KUNIT_EXPECT_EQ(test, simgpu_pt_set(pt, 1ULL << 48, RW), -EINVAL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_set(pt, 0x800, RW), -EINVAL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_set(pt, SZ_4K, RW | SIMGPU_PTE_HUGE),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_clear(pt, SZ_4K, SZ_4K), -EINVAL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_clear(pt, 0, (1ULL << 48) + SZ_4K),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_clear(pt, 0x10, SZ_4K), -EINVAL);
}

static void pt_huge_entry(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 base = 0x40000000ULL, va = 3 * SZ_2M, size = 0;

	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va,
			base | RW | SIMGPU_PTE_HUGE), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va, &size), base | RW);
	KUNIT_EXPECT_EQ(test, size, (u64)SZ_2M);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + 0x12345, NULL),
			(base + 0x12000) | RW);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_2M, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va - SZ_4K, NULL), 0ULL);
}

static void pt_huge_split_by_clear(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 base = 0x80000000ULL, va = SZ_1G, size = 0;
	u64 hole = va + 5 * SZ_4K;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va,
			base | RW | SIMGPU_PTE_HUGE), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_clear(pt, hole, hole + 2 * SZ_4K), 0);

	for (i = 0; i < 512; i++) {
		u64 at = va + (u64)i * SZ_4K;
		u64 want = (at >= hole && at < hole + 2 * SZ_4K) ? 0 :
			   (base + (u64)i * SZ_4K) | RW;

		KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, at, &size), want);
	}
	KUNIT_EXPECT_EQ(test, size, (u64)SZ_4K);
}

static void pt_huge_split_by_set(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 base = 0x80000000ULL, va = SZ_2M;

	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va,
			base | RW | SIMGPU_PTE_HUGE), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_4K,
			0x1000ULL | SIMGPU_PTE_VALID), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va, NULL), base | RW);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_4K, NULL),
			0x1000ULL | SIMGPU_PTE_VALID);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_2M - SZ_4K, NULL),
			(base + SZ_2M - SZ_4K) | RW);
}

static void pt_huge_replaces_table(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 va = 7 * SZ_2M, size = 0;

	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_4K, 0x5000ULL | RW), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va, 0x200000ULL | RW |
			SIMGPU_PTE_HUGE), 0);
	KUNIT_EXPECT_FALSE(test, list_empty(&pt->stale));
	simgpu_pt_free_stale(pt);
	KUNIT_EXPECT_TRUE(test, list_empty(&pt->stale));
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_4K, &size),
			0x201000ULL | RW);
	KUNIT_EXPECT_EQ(test, size, (u64)SZ_2M);
}

static void pt_clear_whole_subtree(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 va;

	for (va = SZ_1G; va < SZ_1G + 4 * SZ_2M; va += SZ_64K)
		KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va, va | RW), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_clear(pt, 0, 2ULL * SZ_1G), 0);
	KUNIT_EXPECT_FALSE(test, list_empty(&pt->stale));
	for (va = SZ_1G; va < SZ_1G + 4 * SZ_2M; va += SZ_64K)
		KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va, NULL), 0ULL);
}

static void pt_prepare_then_set(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 va = 5ULL * SZ_1G + 3 * SZ_2M;

	/* Nothing prepared: the no-allocation variant refuses. */
	KUNIT_EXPECT_EQ(test, simgpu_pt_set_prepared(pt, va, 0x3000ULL | RW),
			-EAGAIN);
	KUNIT_ASSERT_EQ(test, simgpu_pt_prepare(pt, va, va + SZ_64K, false), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_set_prepared(pt, va + SZ_4K,
			0x3000ULL | RW), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_4K, NULL),
			0x3000ULL | RW);
	/* A 2 MiB leaf over a table of small ones is not a prepared set. */
	KUNIT_EXPECT_EQ(test, simgpu_pt_set_prepared(pt, va, 0x200000ULL | RW |
			SIMGPU_PTE_HUGE), -EAGAIN);

	KUNIT_ASSERT_EQ(test, simgpu_pt_prepare(pt, va + SZ_2M, va + 2 * SZ_2M,
			true), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_set_prepared(pt, va + SZ_2M,
			0x400000ULL | RW | SIMGPU_PTE_HUGE), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_2M + SZ_8K, NULL),
			0x402000ULL | RW);
}

/*
 * Small leaves over several 2 MiB blocks: prepare makes every block's
 * table, so each page then maps without allocating.
 */
static void pt_prepare_small_span(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 start = 7ULL * SZ_1G + SZ_2M - SZ_8K, end = start + 3 * SZ_2M;
	u64 va;

	KUNIT_ASSERT_EQ(test, simgpu_pt_prepare(pt, start, end, false), 0);
	for (va = start; va < end; va += SZ_4K)
		KUNIT_ASSERT_EQ(test, simgpu_pt_set_prepared(pt, va,
				(va & 0xfffffff000ULL) | RW), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, end - SZ_4K, NULL),
			((end - SZ_4K) & 0xfffffff000ULL) | RW);
}

static void pt_prepare_huge_over_table(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 va = 11ULL * SZ_1G;

	/* Small leaves once mapped here, since zapped: the table remains. */
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_4K, 0x9000ULL | RW), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_prepare(pt, va, va + SZ_2M, true),
			-EBUSY);
	simgpu_pt_zap(pt, va, va + SZ_2M);
	KUNIT_ASSERT_EQ(test, simgpu_pt_prepare(pt, va, va + SZ_2M, true), 0);
	KUNIT_EXPECT_FALSE(test, list_empty(&pt->stale));
	KUNIT_EXPECT_EQ(test, simgpu_pt_set_prepared(pt, va, 0x800000ULL | RW |
			SIMGPU_PTE_HUGE), 0);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_4K, NULL),
			0x801000ULL | RW);
	simgpu_pt_free_stale(pt);
}

static void pt_zap(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 va = 9ULL * SZ_1G;

	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va, 0x600000ULL | RW |
			SIMGPU_PTE_HUGE), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_2M, 0x7000ULL | RW), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_2M + SZ_4K,
			0x8000ULL | RW), 0);

	/* Zap never splits: a partly covered 2 MiB leaf goes whole. */
	simgpu_pt_zap(pt, va + SZ_4K, va + SZ_2M + SZ_4K);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_2M, NULL), 0ULL);
	KUNIT_EXPECT_EQ(test, simgpu_pt_lookup(pt, va + SZ_2M + SZ_4K, NULL),
			0x8000ULL | RW);
	KUNIT_EXPECT_TRUE(test, list_empty(&pt->stale));
}

static void pt_count_mapped(struct kunit *test)
{
	struct simgpu_pt *pt = test->priv;
	u64 va = 13ULL * SZ_1G, peer = SIMGPU_PTE_VRAM | SIMGPU_PTE_PEER;
	struct simgpu_pt_mapped m = {};

	/* A 2 MiB system leaf, then 3 VRAM, 2 peer and 1 system page. */
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va, 0x200000ULL | RW |
			SIMGPU_PTE_HUGE), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_2M, RW |
			SIMGPU_PTE_VRAM), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_2M + SZ_4K, 0x1000ULL |
			RW | SIMGPU_PTE_VRAM), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_2M + SZ_8K, 0x2000ULL |
			SIMGPU_PTE_VALID | SIMGPU_PTE_VRAM), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_2M + SZ_64K, RW | peer),
			0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_2M + SZ_64K + SZ_4K,
			0x1000ULL | RW | peer), 0);
	KUNIT_ASSERT_EQ(test, simgpu_pt_set(pt, va + SZ_1G - SZ_4K,
			0x5000ULL | RW), 0);

	simgpu_pt_count_mapped(pt, 0, 1ULL << SIMGPU_VA_BITS, &m);
	KUNIT_EXPECT_EQ(test, m.system, 513ULL);
	KUNIT_EXPECT_EQ(test, m.vram, 3ULL);
	KUNIT_EXPECT_EQ(test, m.peer, 2ULL);

	/* Counts add up; a 2 MiB leaf counts only its pages in the span. */
	simgpu_pt_count_mapped(pt, va + SZ_1M, va + SZ_2M + SZ_8K, &m);
	KUNIT_EXPECT_EQ(test, m.system, 513ULL + 256);
	KUNIT_EXPECT_EQ(test, m.vram, 3ULL + 2);
	KUNIT_EXPECT_EQ(test, m.peer, 2ULL);

	memset(&m, 0, sizeof(m));
	simgpu_pt_count_mapped(pt, va + SZ_4M, va + SZ_1G - SZ_4K, &m);
	KUNIT_EXPECT_EQ(test, m.system + m.vram + m.peer, 0ULL);
	simgpu_pt_count_mapped(pt, va, va, &m);
	KUNIT_EXPECT_EQ(test, m.system + m.vram + m.peer, 0ULL);
}

static struct kunit_case simgpu_pt_cases[] = {
	KUNIT_CASE(pt_empty),
	KUNIT_CASE(pt_small_entries),
	KUNIT_CASE(pt_bad_args),
	KUNIT_CASE(pt_huge_entry),
	KUNIT_CASE(pt_huge_split_by_clear),
	KUNIT_CASE(pt_huge_split_by_set),
	KUNIT_CASE(pt_huge_replaces_table),
	KUNIT_CASE(pt_clear_whole_subtree),
	KUNIT_CASE(pt_prepare_then_set),
	KUNIT_CASE(pt_prepare_small_span),
	KUNIT_CASE(pt_prepare_huge_over_table),
	KUNIT_CASE(pt_zap),
	KUNIT_CASE(pt_count_mapped),
	{}
};

static struct kunit_suite simgpu_pt_suite = {
	.name = "simgpu_pt",
	.init = pt_setup,
	.exit = pt_exit,
	.test_cases = simgpu_pt_cases,
};

kunit_test_suite(simgpu_pt_suite);
