// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the checks of the module parameters and what is derived from
 * them (the SVM backend, the link groups, the engines of a device).
 */

#include <linux/ctype.h>
#include <linux/kstrtox.h>
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/string.h>

#include "simgpu_drv.h"
#include "simgpu_params.h"
#include "simgpu_svm_backend.h"

/**
 * DOC: Overview
 *
 * Every parameter is checked before it is used: at load for the
 * read-only ones (simgpu_params_check(), the link groups, the SVM core),
 * and on every write for the writable ones (simgpu_params_set_uint() with
 * the parameter's check). A bad value fails the load or the write with
 * -EINVAL and a message naming the parameter and its range. The KUnit
 * suite in tests/simgpu_params_test.c feeds them every bad value.
 */

/**
 * DOC: Locking
 *
 * Nothing here takes a lock: the read-only parameters are checked once in
 * module init, before any device exists; writes to the writable ones are
 * serialised by the module's parameter lock, and simgpu_params_set_uint()
 * checks a new value before it is stored.
 */

/**
 * simgpu_params_svm_backend() - the SVM backend the svm_core parameter names
 * @name: "simgpu" or "kernel" (a trailing newline allowed, as sysfs gives)
 *
 * Return: the backend's table; NULL, after logging why, for an unknown
 * name or "kernel" on a kernel without drm_gpusvm.
 */
const struct simgpu_svm_backend *simgpu_params_svm_backend(const char *name)
{
	if (sysfs_streq(name, "simgpu"))
		return &simgpu_svm_backend_simgpu;
	if (!sysfs_streq(name, "kernel")) {
		pr_err(SIMGPU_DRIVER_NAME ": svm_core=\"%s\" is neither \"kernel\" nor \"simgpu\"\n",
		       name);
		return NULL;
	}
#if IS_ENABLED(CONFIG_DRM_GPUSVM)
	return &simgpu_svm_backend_kernel;
#else
	pr_err(SIMGPU_DRIVER_NAME ": svm_core=kernel needs a kernel with drm_gpusvm (CONFIG_DRM_GPUSVM, 6.15 and later); use svm_core=simgpu\n");
	return NULL;
#endif
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_svm_backend);

static int check_range(const char *name, unsigned int val,
		       unsigned int min, unsigned int max)
{
	if (val >= min && val <= max)
		return 0;
	pr_err(SIMGPU_DRIVER_NAME ": %s=%u out of range [%u, %u]\n",
	       name, val, min, max);
	return -EINVAL;
}

/**
 * simgpu_params_check() - validate a device shape
 * @p: the parameters
 *
 * Return: 0 when every parameter is within its documented range (VRAM
 * in whole 2 MiB chunks), else
 * -EINVAL after logging which parameter is wrong.
 */
int simgpu_params_check(const struct simgpu_params *p)
{
	if (p->vram_mb % 2) {
		pr_err(SIMGPU_DRIVER_NAME ": vram_size=%u is not a multiple of 2\n",
		       p->vram_mb);
		return -EINVAL;
	}
	return check_range("num_devices", p->num_devices,
			   1, SIMGPU_MAX_DEVICES) ?:
	       check_range("vram_size", p->vram_mb, 2, SIMGPU_MAX_VRAM_MB) ?:
	       check_range("num_compute_engines", p->num_compute_engines,
			   1, SIMGPU_MAX_ENGINES) ?:
	       check_range("num_copy_engines", p->num_copy_engines,
			   1, SIMGPU_MAX_ENGINES);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_check);

/**
 * simgpu_params_check_timeslice() - validate the svm_timeslice_ms parameter
 * @ms: the value
 *
 * A CPU fault on memory a GPU fault just took waits out the timeslice:
 * it must stay short.
 *
 * Return: 0 when @ms is at most %SIMGPU_MAX_TIMESLICE_MS, else -EINVAL
 * after logging the range.
 */
int simgpu_params_check_timeslice(unsigned int ms)
{
	return check_range("svm_timeslice_ms", ms, 0, SIMGPU_MAX_TIMESLICE_MS);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_check_timeslice);

/**
 * simgpu_params_check_job_timeout() - validate the job_timeout_ms parameter
 * @ms: the value
 *
 * Return: 0 when @ms is within [%SIMGPU_MIN_JOB_TIMEOUT_MS,
 * %SIMGPU_MAX_JOB_TIMEOUT_MS] (0 would time out every job), else -EINVAL
 * after logging the range.
 */
int simgpu_params_check_job_timeout(unsigned int ms)
{
	return check_range("job_timeout_ms", ms, SIMGPU_MIN_JOB_TIMEOUT_MS,
			   SIMGPU_MAX_JOB_TIMEOUT_MS);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_check_job_timeout);

/**
 * simgpu_params_check_notifier_size() - validate the notifier_size parameter
 * @mb: the value, in MiB
 *
 * Both SVM cores align the notifier windows to their size, and a window
 * must hold the largest range, 2 MiB.
 *
 * Return: 0 when @mb is a power of two within [%SIMGPU_MIN_NOTIFIER_MB,
 * %SIMGPU_MAX_NOTIFIER_MB], else -EINVAL after logging why.
 */
int simgpu_params_check_notifier_size(unsigned int mb)
{
	int err = check_range("notifier_size", mb, SIMGPU_MIN_NOTIFIER_MB,
			      SIMGPU_MAX_NOTIFIER_MB);

	if (!err && !is_power_of_2(mb)) {
		pr_err(SIMGPU_DRIVER_NAME ": notifier_size=%u is not a power of two\n",
		       mb);
		err = -EINVAL;
	}
	return err;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_check_notifier_size);

/**
 * simgpu_params_set_uint() - set an unsigned int module parameter, checked
 * @val: the value given at load or written to sysfs; a trailing newline
 *	is allowed
 * @kp: the parameter; @kp->arg points to its unsigned int
 * @check: the parameter's validation, 0 for a value it accepts, else
 *	-EINVAL after logging why
 *
 * For the set callback of a parameter's &struct kernel_param_ops, so a
 * bad value fails the module load or the sysfs write.
 *
 * Return: 0 with the parameter set, or -EINVAL with it unchanged when
 * @val is not a 32-bit unsigned number or @check refuses it.
 */
int simgpu_params_set_uint(const char *val, const struct kernel_param *kp,
			  int (*check)(unsigned int val))
{
	unsigned int v;
	int err;

	if (kstrtouint(val, 0, &v)) {
		pr_err(SIMGPU_DRIVER_NAME ": %s=\"%.*s\" is not a 32-bit unsigned number\n",
		       kp->name, (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	err = check(v);
	if (err)
		return err;
	/* Readers take it with READ_ONCE(), without the parameter lock. */
	WRITE_ONCE(*(unsigned int *)kp->arg, v);
	return 0;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_set_uint);

/**
 * simgpu_params_parse_link_groups() - parse the link_groups parameter
 * @s: groups separated by ';', each two or more device indices separated
 *	by ','; "" for none
 * @num_devices: devices that exist
 * @groups: receives per device its group number (1 ..), 0 for none;
 *	%SIMGPU_MAX_DEVICES entries
 *
 * Return: 0, or -EINVAL for a syntax error, a device index out of range,
 * a device in two groups or a group of one.
 */
int simgpu_params_parse_link_groups(const char *s, unsigned int num_devices,
			     u8 *groups)
{
	unsigned int group = 1, members = 0, dev;

	memset(groups, 0, SIMGPU_MAX_DEVICES);
	if (!*s || !strcmp(s, "\n"))
		return 0;
	for (;;) {
		if (!isdigit(*s))
			return -EINVAL;
		for (dev = 0; isdigit(*s); s++) {
			dev = dev * 10 + (*s - '0');
			if (dev >= num_devices)
				return -EINVAL;
		}
		if (groups[dev])
			return -EINVAL;
		groups[dev] = group;
		members++;
		if (*s == ',') {
			s++;
			continue;
		}
		if (members < 2)
			return -EINVAL;
		if (!*s || !strcmp(s, "\n"))
			return 0;
		if (*s != ';')
			return -EINVAL;
		s++;
		group++;
		members = 0;
	}
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_parse_link_groups);

/**
 * simgpu_params_num_engines() - engines of one device, all classes
 * @p: the parameters
 *
 * Return: the number of engines.
 */
unsigned int simgpu_params_num_engines(const struct simgpu_params *p)
{
	return p->num_compute_engines + p->num_copy_engines;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_num_engines);

/**
 * simgpu_params_engine_info() - describe engine @idx of a device
 * @p: the parameters
 * @idx: engine index: compute engines first, then copy engines
 * @info: filled with class and instance; pad and reserved are zeroed
 *
 * Return: 0, or -EINVAL when @idx is not an engine of the device.
 */
int simgpu_params_engine_info(const struct simgpu_params *p, unsigned int idx,
		       struct drm_simgpu_engine_info *info)
{
	if (idx >= simgpu_params_num_engines(p))
		return -EINVAL;

	memset(info, 0, sizeof(*info));
	if (idx < p->num_compute_engines) {
		info->engine_class = DRM_SIMGPU_ENGINE_CLASS_COMPUTE;
		info->instance = idx;
	} else {
		info->engine_class = DRM_SIMGPU_ENGINE_CLASS_COPY;
		info->instance = idx - p->num_compute_engines;
	}
	return 0;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_params_engine_info);
