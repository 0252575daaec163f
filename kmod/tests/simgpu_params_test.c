// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the device shape: parameter ranges and engine layout.
 */

#include <kunit/test.h>

#include "simgpu_drv.h"

MODULE_IMPORT_NS(SIMGPU_KUNIT);

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

static struct kunit_case simgpu_params_cases[] = {
	KUNIT_CASE(params_defaults_valid),
	KUNIT_CASE_PARAM(params_ranges, params_gen_params),
	KUNIT_CASE(engines_layout),
	KUNIT_CASE(engines_out_of_range),
	{}
};

static struct kunit_suite simgpu_params_suite = {
	.name = "simgpu_params",
	.test_cases = simgpu_params_cases,
};

kunit_test_suite(simgpu_params_suite);

MODULE_DESCRIPTION("KUnit tests for simgpu");
MODULE_LICENSE("GPL");
