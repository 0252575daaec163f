// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the device shape: parameter ranges, engine layout and
 * link groups; and of the checks of the parameters read at run time.
 */

#include <kunit/test.h>
#include <linux/moduleparam.h>

#include "simgpu_drv.h"
#include "simgpu_params.h"
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

	KUNIT_ASSERT_EQ(test, simgpu_params_num_engines(&p), ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		memset(&info, 0xff, sizeof(info));
		KUNIT_ASSERT_EQ(test, simgpu_params_engine_info(&p, i, &info), 0);
		KUNIT_EXPECT_EQ(test, info.engine_class, want[i].cls);
		KUNIT_EXPECT_EQ(test, info.instance, want[i].inst);
		KUNIT_EXPECT_EQ(test, info.pad, 0);
		KUNIT_EXPECT_EQ(test, info.reserved, 0);
	}
}

static void engines_out_of_range(struct kunit *test)
{
	struct drm_simgpu_engine_info info = {};

	KUNIT_EXPECT_EQ(test, simgpu_params_engine_info(&defaults, 3, &info), -EINVAL);
	KUNIT_EXPECT_EQ(test, simgpu_params_engine_info(&defaults, ~0u, &info),
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
	KUNIT_ASSERT_EQ(test, simgpu_params_parse_link_groups(c->s, c->num_devices,
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
	const struct simgpu_svm_backend *be = simgpu_params_svm_backend(c->s);

	if (!c->expect) {
		KUNIT_EXPECT_NULL(test, be);
		return;
	}
	KUNIT_ASSERT_NOT_NULL(test, be);
	KUNIT_EXPECT_STREQ(test, be->name, c->expect);
}

struct uint_check_case {
	const char *param;
	int (*check)(unsigned int val);
	unsigned int val;
	int expect;
};

#define TIMESLICE(v, e) { "svm_timeslice_ms", simgpu_params_check_timeslice, v, e }
#define JOB_TIMEOUT(v, e) \
	{ "job_timeout_ms", simgpu_params_check_job_timeout, v, e }
#define NOTIFIER(v, e) \
	{ "notifier_size", simgpu_params_check_notifier_size, v, e }

/* Issue #15: each one's bounds, and the values that got through before. */
static const struct uint_check_case uint_check_cases[] = {
	TIMESLICE(0, 0),
	TIMESLICE(20, 0),
	TIMESLICE(SIMGPU_MAX_TIMESLICE_MS, 0),
	TIMESLICE(SIMGPU_MAX_TIMESLICE_MS + 1, -EINVAL),
	TIMESLICE(U32_MAX, -EINVAL),
	JOB_TIMEOUT(0, -EINVAL),
	JOB_TIMEOUT(SIMGPU_MIN_JOB_TIMEOUT_MS, 0),
	JOB_TIMEOUT(5000, 0),
	JOB_TIMEOUT(SIMGPU_MAX_JOB_TIMEOUT_MS, 0),
	JOB_TIMEOUT(SIMGPU_MAX_JOB_TIMEOUT_MS + 1, -EINVAL),
	JOB_TIMEOUT(U32_MAX, -EINVAL),
	NOTIFIER(0, -EINVAL),
	NOTIFIER(1, -EINVAL),
	NOTIFIER(SIMGPU_MIN_NOTIFIER_MB, 0),
	NOTIFIER(3, -EINVAL),
	NOTIFIER(4, 0),
	NOTIFIER(512, 0),
	NOTIFIER(768, -EINVAL),
	NOTIFIER(SIMGPU_MAX_NOTIFIER_MB, 0),
	NOTIFIER(SIMGPU_MAX_NOTIFIER_MB - 1, -EINVAL),
	NOTIFIER(SIMGPU_MAX_NOTIFIER_MB * 2, -EINVAL),
	NOTIFIER(0x80000000u, -EINVAL),
	NOTIFIER(U32_MAX, -EINVAL),
};

static void uint_check_case_desc(const struct uint_check_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s=%u", c->param, c->val);
}

KUNIT_ARRAY_PARAM(uint_check, uint_check_cases, uint_check_case_desc);

static void param_uint_check(struct kunit *test)
{
	const struct uint_check_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, c->check(c->val), c->expect);
}

struct uint_set_case {
	const char *param;
	int (*check)(unsigned int val);
	const char *s;
	int expect;
	unsigned int val;	/* the parameter after the set */
};

#define SET_TIMESLICE(s, e, v) \
	{ "svm_timeslice_ms", simgpu_params_check_timeslice, s, e, v }
#define SET_JOB_TIMEOUT(s, e, v) \
	{ "job_timeout_ms", simgpu_params_check_job_timeout, s, e, v }
#define SET_NOTIFIER(s, e, v) \
	{ "notifier_size", simgpu_params_check_notifier_size, s, e, v }

/* Each parameter starts at UINT_SET_OLD: a refused value leaves it so. */
#define UINT_SET_OLD 64

static const struct uint_set_case uint_set_cases[] = {
	SET_TIMESLICE("1000", 0, 1000),
	SET_TIMESLICE("0\n", 0, 0),
	SET_TIMESLICE("0x10", 0, 16),
	SET_TIMESLICE("1001", -EINVAL, UINT_SET_OLD),
	SET_TIMESLICE("4294967295", -EINVAL, UINT_SET_OLD),
	SET_TIMESLICE("4294967295\n", -EINVAL, UINT_SET_OLD),
	SET_TIMESLICE("4294967296", -EINVAL, UINT_SET_OLD),
	SET_TIMESLICE("-1", -EINVAL, UINT_SET_OLD),
	SET_TIMESLICE("", -EINVAL, UINT_SET_OLD),
	SET_TIMESLICE("\n", -EINVAL, UINT_SET_OLD),
	SET_TIMESLICE("20 ms", -EINVAL, UINT_SET_OLD),
	SET_JOB_TIMEOUT("0", -EINVAL, UINT_SET_OLD),
	SET_JOB_TIMEOUT("0\n", -EINVAL, UINT_SET_OLD),
	SET_JOB_TIMEOUT("600000\n", 0, 600000),
	SET_JOB_TIMEOUT("600001", -EINVAL, UINT_SET_OLD),
	SET_NOTIFIER("3", -EINVAL, UINT_SET_OLD),
	SET_NOTIFIER("0", -EINVAL, UINT_SET_OLD),
	SET_NOTIFIER("4294967295", -EINVAL, UINT_SET_OLD),
	SET_NOTIFIER("2", 0, 2),
	SET_NOTIFIER("4096", 0, 4096),
};

static void uint_set_case_desc(const struct uint_set_case *c, char *desc)
{
	/* Escaped: a newline would cut the case's name in the KTAP output. */
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s=\"%*pE\"", c->param,
		 (int)strlen(c->s), c->s);
}

KUNIT_ARRAY_PARAM(uint_set, uint_set_cases, uint_set_case_desc);

/* What a module load or a sysfs write runs: parse, check, store. */
static void param_uint_set(struct kunit *test)
{
	const struct uint_set_case *c = test->param_value;
	unsigned int val = UINT_SET_OLD;
	const struct kernel_param kp = { .name = c->param, .arg = &val };

	KUNIT_EXPECT_EQ(test, simgpu_params_set_uint(c->s, &kp, c->check),
			c->expect);
	KUNIT_EXPECT_EQ(test, val, c->val);
}

static struct kunit_case simgpu_params_cases[] = {
	KUNIT_CASE(params_defaults_valid),
	KUNIT_CASE_PARAM(params_ranges, params_gen_params),
	KUNIT_CASE(engines_layout),
	KUNIT_CASE(engines_out_of_range),
	KUNIT_CASE_PARAM(link_groups_parse, link_gen_params),
	KUNIT_CASE_PARAM(svm_core_lookup, svm_core_gen_params),
	KUNIT_CASE_PARAM(param_uint_check, uint_check_gen_params),
	KUNIT_CASE_PARAM(param_uint_set, uint_set_gen_params),
	{}
};

static struct kunit_suite simgpu_params_suite = {
	.name = "simgpu_params",
	.test_cases = simgpu_params_cases,
};

kunit_test_suite(simgpu_params_suite);

MODULE_DESCRIPTION("KUnit tests for simgpu");
MODULE_LICENSE("GPL");
