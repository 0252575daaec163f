// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the SVM core's range-size selection.
 */

#include <kunit/test.h>
#include <linux/sizes.h>

#include "gpusvm/simgpu_gpusvm.h"

MODULE_IMPORT_NS(SIMGPU_KUNIT_NS);

static const u64 chunks[] = { SZ_2M, SZ_64K, SZ_4K };

struct chunk_case {
	const char *name;
	u64 addr;
	u64 lo;
	u64 hi;
	u64 start;	/* U64_MAX: nothing fits */
	unsigned int chunk;
};

#define G ((u64)SZ_1G)

static const struct chunk_case chunk_cases[] = {
	{ "2M inside a big VMA", G + 0x123456, G, 2 * G, G, 0 },
	{ "2M at the end", 2 * G - 1, G, 2 * G, 2 * G - SZ_2M, 0 },
	{ "VMA starts mid 2M", G + SZ_1M + 5, G + SZ_1M, 2 * G,
	  G + SZ_1M, 1 },
	{ "VMA of 64K", G + SZ_64K + 10, G + SZ_64K, G + 2 * SZ_64K,
	  G + SZ_64K, 1 },
	{ "VMA of 8K", G + SZ_4K * 17, G + SZ_4K * 16, G + SZ_4K * 18,
	  G + SZ_4K * 17, 2 },
	{ "unaligned 64K window", G + SZ_64K - SZ_4K, G + SZ_4K,
	  G + SZ_64K + SZ_4K, G + SZ_64K - SZ_4K, 2 },
	{ "gap below a range", G + SZ_2M - SZ_64K - 1, G, G + SZ_2M - SZ_64K,
	  G + SZ_2M - 2 * SZ_64K, 1 },
	{ "exact 2M", 4 * G, 4 * G, 4 * G + SZ_2M, 4 * G, 0 },
	{ "page 0 of the VA", 0, 0, SZ_4K, 0, 2 },
	{ "top of 47-bit VA", (1ULL << 47) - 1, (1ULL << 47) - SZ_2M,
	  1ULL << 47, (1ULL << 47) - SZ_2M, 0 },
	{ "no room", G + 10, G + SZ_4K, G + 2 * SZ_4K, U64_MAX, 0 },
	{ "top of u64", U64_MAX - 10, U64_MAX - SZ_4K * 2 + 1, U64_MAX,
	  U64_MAX, 0 },
};

static void chunk_case_desc(const struct chunk_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(chunk, chunk_cases, chunk_case_desc);

static void gpusvm_chunk_start(struct kunit *test)
{
	const struct chunk_case *c = test->param_value;
	unsigned int chunk = ~0u;
	u64 start;

	start = simgpu_gpusvm_chunk_start(chunks, ARRAY_SIZE(chunks), c->addr,
					  c->lo, c->hi, &chunk);
	KUNIT_EXPECT_EQ(test, start, c->start);
	if (c->start != U64_MAX) {
		KUNIT_EXPECT_EQ(test, chunk, c->chunk);
		KUNIT_EXPECT_LE(test, c->lo, start);
		KUNIT_EXPECT_LE(test, start + chunks[chunk], c->hi);
		KUNIT_EXPECT_LE(test, start, c->addr);
		KUNIT_EXPECT_GT(test, start + chunks[chunk], c->addr);
	}
}

static struct kunit_case simgpu_gpusvm_cases[] = {
	KUNIT_CASE_PARAM(gpusvm_chunk_start, chunk_gen_params),
	{}
};

static struct kunit_suite simgpu_gpusvm_suite = {
	.name = "simgpu_gpusvm",
	.test_cases = simgpu_gpusvm_cases,
};

kunit_test_suite(simgpu_gpusvm_suite);
