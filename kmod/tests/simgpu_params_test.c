// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the device shape: parameter ranges, engine layout and
 * link groups.
 */

#include <kunit/test.h>

#include "simgpu_drv.h"
#include "simgpu_svm_backend.h"

MODULE_IMPORT_NS(SIMGPU_KUNIT_NS);

static const struct simgpu_params defaults = {
	.num_devices = 2,
	.vram_mb = 256,
	.num_compute_engines = 2,
	.num_copy_engines = 1,
};

static void params_defaults_valid(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, simgpu_params_check(&defaults), 0);
}

struct params_case {
	const char *name;
	struct simgpu_params p;
	int expect;
};

static const struct params_case params_cases[] = {
	{ "no devices", { 0, 256, 2, 1 }, -EINVAL },
	{ "one device", { 1, 256, 2, 1 }, 0 },
	{ "max devices", { SIMGPU_MAX_DEVICES, 256, 2, 1 }, 0 },
	{ "too many devices", { SIMGPU_MAX_DEVICES + 1, 256, 2, 1 }, -EINVAL },
	{ "no vram", { 2, 0, 2, 1 }, -EINVAL },
	{ "odd vram", { 2, 1, 2, 1 }, -EINVAL },
	{ "min vram", { 2, 2, 2, 1 }, 0 },
	{ "odd large vram", { 2, 255, 2, 1 }, -EINVAL },
	{ "max vram", { 2, SIMGPU_MAX_VRAM_MB, 2, 1 }, 0 },
	{ "too much vram", { 2, SIMGPU_MAX_VRAM_MB + 2, 2, 1 }, -EINVAL },
	{ "no compute engine", { 2, 256, 0, 1 }, -EINVAL },
	{ "max compute engines", { 2, 256, SIMGPU_MAX_ENGINES, 1 }, 0 },
	{ "too many compute", { 2, 256, SIMGPU_MAX_ENGINES + 1, 1 }, -EINVAL },
	{ "no copy engine", { 2, 256, 2, 0 }, -EINVAL },
	{ "too many copy", { 2, 256, 2, SIMGPU_MAX_ENGINES + 1 }, -EINVAL },
};

static void params_case_desc(const struct params_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(params, params_cases, params_case_desc);

static void params_ranges(struct kunit *test)
{
	const struct params_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, simgpu_params_check(&c->p), c->expect);
}

static void engines_layout(struct kunit *test)
{
	const struct simgpu_params p = { 1, 64, 3, 2 };
	struct drm_simgpu_engine_info info;
	static const struct { u16 cls, inst; } want[] = {
		{ DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 0 },
		{ DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 1 },
		{ DRM_SIMGPU_ENGINE_CLASS_COMPUTE, 2 },
		{ DRM_SIMGPU_ENGINE_CLASS_COPY, 0 },
		{ DRM_SIMGPU_ENGINE_CLASS_COPY, 1 },
	};
	unsigned int i;

	KUNIT_ASSERT_EQ(test, simgpu_num_engines(&p), ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		memset(&info, 0xff, sizeof(info));
		KUNIT_ASSERT_EQ(test, simgpu_engine_info(&p, i, &info), 0);
		KUNIT_EXPECT_EQ(test, info.engine_class, want[i].cls);
		KUNIT_EXPECT_EQ(test, info.instance, want[i].inst);
		KUNIT_EXPECT_EQ(test, info.pad, 0);
		KUNIT_EXPECT_EQ(test, info.reserved, 0);
	}
}

static void engines_out_of_range(struct kunit *test)
{
	struct drm_simgpu_engine_info info = {};

	KUNIT_EXPECT_EQ(test, simgpu_engine_info(&defaults, 3, &info), -EINVAL);
	KUNIT_EXPECT_EQ(test, simgpu_engine_info(&defaults, ~0u, &info),
			-EINVAL);
}

struct link_case {
	const char *s;
	unsigned int num_devices;
	int expect;
	u8 groups[SIMGPU_MAX_DEVICES];
};

static const struct link_case link_cases[] = {
	{ "", 2, 0, { 0, 0 } },
	{ "\n", 2, 0, { 0, 0 } },
	{ "0,1", 2, 0, { 1, 1 } },
	{ "0,1\n", 2, 0, { 1, 1 } },
	{ "1,0", 2, 0, { 1, 1 } },
	{ "0,2;1,3", 4, 0, { 1, 2, 1, 2 } },
	{ "1,2,3", 4, 0, { 0, 1, 1, 1 } },
	{ "0,1,2,3,4,5,6,7", 8, 0, { 1, 1, 1, 1, 1, 1, 1, 1 } },
	{ "0", 2, -EINVAL },
	{ "0,1;2", 3, -EINVAL },
	{ "0,2", 2, -EINVAL },
	{ "0,1;1,2", 3, -EINVAL },
	{ "0,0", 2, -EINVAL },
	{ "0,,1", 2, -EINVAL },
	{ "0,1;", 2, -EINVAL },
	{ ",0,1", 2, -EINVAL },
	{ "0 1", 2, -EINVAL },
	{ "a,b", 2, -EINVAL },
	{ "00000000000000000000001,0", 2, 0, { 1, 1 } },
	{ "99999999999999999999,0", 2, -EINVAL },
};

static void link_case_desc(const struct link_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "\"%s\" of %u", c->s,
		 c->num_devices);
}

KUNIT_ARRAY_PARAM(link, link_cases, link_case_desc);

static void link_groups_parse(struct kunit *test)
{
	const struct link_case *c = test->param_value;
	u8 groups[SIMGPU_MAX_DEVICES];
	unsigned int i;

	memset(groups, 0xff, sizeof(groups));
	KUNIT_ASSERT_EQ(test, simgpu_parse_link_groups(c->s, c->num_devices,
						       groups), c->expect);
	if (c->expect)
		return;
	for (i = 0; i < SIMGPU_MAX_DEVICES; i++)
		KUNIT_EXPECT_EQ_MSG(test, groups[i], c->groups[i], "device %u",
				    i);
}

struct svm_core_case {
	const char *s;
	const char *expect;	/* the backend's name, or NULL: refused */
};

static const struct svm_core_case svm_core_cases[] = {
	{ "simgpu", "simgpu" },
	{ "simgpu\n", "simgpu" },
#if IS_ENABLED(CONFIG_DRM_GPUSVM)
	{ "kernel", "kernel" },
	{ "kernel\n", "kernel" },
#else
	{ "kernel", NULL },
#endif
	{ "", NULL },
	{ "\n", NULL },
	{ "Simgpu", NULL },
	{ "KERNEL", NULL },
	{ "simgpu ", NULL },
	{ "drm_gpusvm", NULL },
	{ "kernel,simgpu", NULL },
};

static void svm_core_case_desc(const struct svm_core_case *c, char *desc)
{
	/* Escaped: a newline would cut the case's name in the KTAP output. */
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "svm_core=\"%*pE\"",
		 (int)strlen(c->s), c->s);
}

KUNIT_ARRAY_PARAM(svm_core, svm_core_cases, svm_core_case_desc);

/* svm_core takes the two names and refuses anything else. */
static void svm_core_lookup(struct kunit *test)
{
	const struct svm_core_case *c = test->param_value;
	const struct simgpu_svm_backend *be = simgpu_svm_backend_lookup(c->s);

	if (!c->expect) {
		KUNIT_EXPECT_NULL(test, be);
		return;
	}
	KUNIT_ASSERT_NOT_NULL(test, be);
	KUNIT_EXPECT_STREQ(test, be->name, c->expect);
}

static struct kunit_case simgpu_params_cases[] = {
	KUNIT_CASE(params_defaults_valid),
	KUNIT_CASE_PARAM(params_ranges, params_gen_params),
	KUNIT_CASE(engines_layout),
	KUNIT_CASE(engines_out_of_range),
	KUNIT_CASE_PARAM(link_groups_parse, link_gen_params),
	KUNIT_CASE_PARAM(svm_core_lookup, svm_core_gen_params),
	{}
};

static struct kunit_suite simgpu_params_suite = {
	.name = "simgpu_params",
	.test_cases = simgpu_params_cases,
};

kunit_test_suite(simgpu_params_suite);

MODULE_DESCRIPTION("KUnit tests for simgpu");
MODULE_LICENSE("GPL");
