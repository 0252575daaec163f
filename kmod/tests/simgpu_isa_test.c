// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the command decoder and of the comparisons used by WAIT
 * and WAIT_USER_FENCE.
 */

#include <kunit/test.h>

#include "simgpu_drv.h"
#include "simgpu_isa.h"

MODULE_IMPORT_NS(SIMGPU_KUNIT_NS);

struct decode_case {
	const char *name;
	u32 header;
	int expect;
};

#define CMD(op, sub, len) DRM_SIMGPU_CMD(DRM_SIMGPU_OP_##op, sub, len)

static const struct decode_case decode_cases[] = {
	{ "nop", CMD(NOP, 0, 1), 0 },
	{ "store-dw", CMD(STORE_DW, 0, 4), 0 },
	{ "store-qw", CMD(STORE_QW, 0, 5), 0 },
	{ "fill", CMD(FILL, 0, 6), 0 },
	{ "copy", CMD(COPY, 0, 7), 0 },
	{ "atomic-add", CMD(ATOMIC, DRM_SIMGPU_ATOMIC_ADD, 9), 0 },
	{ "atomic-xchg-32", CMD(ATOMIC, DRM_SIMGPU_ATOMIC_XCHG |
				DRM_SIMGPU_ATOMIC_32, 9), 0 },
	{ "atomic-bad-op", CMD(ATOMIC, DRM_SIMGPU_ATOMIC_XCHG + 1, 9), -EILSEQ },
	{ "wait-lte", CMD(WAIT, DRM_SIMGPU_CMP_LTE, 8), 0 },
	{ "wait-bad-cmp", CMD(WAIT, DRM_SIMGPU_CMP_LTE + 1, 8), -EILSEQ },
	{ "signal", CMD(SIGNAL, 0, 5), 0 },
	{ "batch-start", CMD(BATCH_START, 0, 3), 0 },
	{ "batch-end", CMD(BATCH_END, 0, 1), 0 },
	{ "launch-list-sum", CMD(LAUNCH, DRM_SIMGPU_KERNEL_LIST_SUM, 4), 0 },
	{ "launch-bad-kernel", CMD(LAUNCH, DRM_SIMGPU_KERNEL_LIST_SUM + 1, 4),
	  -EILSEQ },
	{ "short", CMD(STORE_DW, 0, 3), -EILSEQ },
	{ "long", CMD(STORE_DW, 0, 5), -EILSEQ },
	{ "zero-length", CMD(NOP, 0, 0), -EILSEQ },
	{ "sub-on-nop", CMD(NOP, 1, 1), -EILSEQ },
	{ "unknown-op", DRM_SIMGPU_CMD(0x0b, 0, 1), -EILSEQ },
	{ "high-op", DRM_SIMGPU_CMD(0xff, 0, 1), -EILSEQ },
};

static void decode_case_desc(const struct decode_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(decode, decode_cases, decode_case_desc);

static void isa_decode(struct kunit *test)
{
	const struct decode_case *c = test->param_value;
	struct simgpu_cmd cmd;

	KUNIT_EXPECT_EQ(test, simgpu_isa_decode(c->header, &cmd), c->expect);
	if (!c->expect) {
		KUNIT_EXPECT_EQ(test, cmd.op, c->header >> 24);
		KUNIT_EXPECT_EQ(test, cmd.sub, (c->header >> 16) & 0xff);
		KUNIT_EXPECT_EQ(test, cmd.len, c->header & 0xffff);
	}
}

static void isa_compare(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_EQ, 5, 5));
	KUNIT_EXPECT_FALSE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_EQ, 5, 6));
	KUNIT_EXPECT_TRUE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_NEQ, 5, 6));
	KUNIT_EXPECT_TRUE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_GT, ~0ULL, 1));
	KUNIT_EXPECT_FALSE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_GT, 1, 1));
	KUNIT_EXPECT_TRUE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_GTE, 1, 1));
	KUNIT_EXPECT_TRUE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_LT, 1, ~0ULL));
	KUNIT_EXPECT_FALSE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_LT, 2, 1));
	KUNIT_EXPECT_TRUE(test, simgpu_isa_compare(DRM_SIMGPU_CMP_LTE, 2, 2));
}

static struct kunit_case simgpu_isa_cases[] = {
	KUNIT_CASE_PARAM(isa_decode, decode_gen_params),
	KUNIT_CASE(isa_compare),
	{}
};

static struct kunit_suite simgpu_isa_suite = {
	.name = "simgpu_isa",
	.test_cases = simgpu_isa_cases,
};

kunit_test_suite(simgpu_isa_suite);
