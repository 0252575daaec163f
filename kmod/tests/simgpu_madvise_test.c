// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of how MADVISE attribute spans split and merge.
 */

#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/sizes.h>

#include "simgpu_drv.h"
#include "simgpu_madvise.h"
#include "simgpu_vm.h"

MODULE_IMPORT_NS(SIMGPU_KUNIT_NS);

#define K(x) ((u64)(x) * SZ_4K)

/* A span with only the atomic attribute changed, the others default. */
#define SPAN(s, e, at) \
	{ K(s), K(e), { .atomic = (at) } }

struct set_arg {
	u32 atomic;
};

static void set_atomic(struct simgpu_madvise_attrs *a, const void *arg)
{
	a->atomic = ((const struct set_arg *)arg)->atomic;
}

struct pieces_case {
	const char *name;
	struct simgpu_madvise_piece old[3];
	unsigned int n_old;
	u64 start;
	u64 end;
	u32 atomic;
	struct simgpu_madvise_piece want[5];
	unsigned int n_want;
};

static const struct pieces_case pieces_cases[] = {
	{ "into an empty tree", {}, 0, K(10), K(20), 1,
	  { SPAN(10, 20, 1) }, 1 },
	{ "default into an empty tree stores nothing", {}, 0, K(10), K(20), 0,
	  {}, 0 },
	{ "split in the middle", { SPAN(10, 30, 1) }, 1, K(15), K(20), 2,
	  { SPAN(10, 15, 1), SPAN(15, 20, 2), SPAN(20, 30, 1) }, 3 },
	{ "reset the middle", { SPAN(10, 30, 1) }, 1, K(15), K(20), 0,
	  { SPAN(10, 15, 1), SPAN(20, 30, 1) }, 2 },
	{ "merge with both neighbours",
	  { SPAN(10, 15, 1), SPAN(20, 30, 1) }, 2, K(15), K(20), 1,
	  { SPAN(10, 30, 1) }, 1 },
	{ "merge with a touching left span", { SPAN(5, 10, 3) }, 1,
	  K(10), K(12), 3, { SPAN(5, 12, 3) }, 1 },
	{ "keep a touching span that differs", { SPAN(5, 10, 3) }, 1,
	  K(10), K(12), 2, { SPAN(5, 10, 3), SPAN(10, 12, 2) }, 2 },
	{ "cover several spans and gaps",
	  { SPAN(10, 12, 1), SPAN(14, 16, 2), SPAN(18, 20, 3) }, 3,
	  K(11), K(19), 2,
	  { SPAN(10, 11, 1), SPAN(11, 19, 2), SPAN(19, 20, 3) }, 3 },
	{ "reset everything", { SPAN(10, 12, 1), SPAN(14, 16, 2) }, 2,
	  K(0), K(100), 0, {}, 0 },
	{ "change outside all spans", { SPAN(10, 12, 1) }, 1, K(40), K(41), 1,
	  { SPAN(10, 12, 1), SPAN(40, 41, 1) }, 2 },
};

static void pieces_desc(const struct pieces_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pieces, pieces_cases, pieces_desc);

static void madv_pieces(struct kunit *test)
{
	const struct pieces_case *c = test->param_value;
	struct simgpu_madvise_piece out[2 * ARRAY_SIZE(c->old) + 3];
	struct set_arg arg = { .atomic = c->atomic };
	unsigned int n, i;

	n = simgpu_madvise_pieces(c->old, c->n_old, c->start, c->end, set_atomic,
			       &arg, out);
	KUNIT_ASSERT_EQ(test, n, c->n_want);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, out[i].start, c->want[i].start);
		KUNIT_EXPECT_EQ(test, out[i].end, c->want[i].end);
		KUNIT_EXPECT_EQ(test, out[i].attrs.atomic,
				c->want[i].attrs.atomic);
		KUNIT_EXPECT_EQ(test, out[i].attrs.loc, simgpu_madvise_defaults.loc);
	}
	/* The answer is minimal: no empty piece, no equal neighbours. */
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_LT(test, out[i].start, out[i].end);
		if (i)
			KUNIT_EXPECT_TRUE(test, out[i - 1].end < out[i].start ||
					  out[i - 1].attrs.atomic !=
					  out[i].attrs.atomic);
	}
}

static struct kunit_case simgpu_madvise_cases[] = {
	KUNIT_CASE_PARAM(madv_pieces, pieces_gen_params),
	{}
};

static struct kunit_suite simgpu_madvise_suite = {
	.name = "simgpu_madvise",
	.test_cases = simgpu_madvise_cases,
};

kunit_test_suite(simgpu_madvise_suite);
