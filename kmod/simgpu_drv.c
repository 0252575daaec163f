// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: module entry, parameters and the DRM driver description.
 */

#include <linux/ctype.h>
#include <linux/kstrtox.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>

#include "simgpu_bo.h"
#include "simgpu_drv.h"
#include "simgpu_exec.h"
#include "simgpu_inject.h"
#include "simgpu_svm_backend.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * simgpu.ko creates @num_devices simulated GPUs. Each is a platform device
 * bound to the simgpu platform driver, and each becomes a DRM device with a
 * render node. The shape of every device (VRAM size, engines) comes from
 * the module parameters, read once at load into a &struct simgpu_params
 * and never changed after. link_groups puts devices behind one simulated
 * interconnect: they share one pgmap owner, so each maps the others' VRAM
 * pages in place (see simgpu_dmem.c).
 */

/**
 * DOC: Locking
 *
 * Nothing in this file takes a lock: the parameters are written once in
 * module init, before any device exists, and are read-only afterwards.
 * The few writable ones (job_timeout_ms, the svm_* policy knobs) are
 * written under the module's parameter lock by sysfs and read with
 * READ_ONCE() where they are used; simgpu_param_set_uint() checks a new
 * value before it is stored.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static unsigned int num_devices = 2;
module_param(num_devices, uint, 0444);
MODULE_PARM_DESC(num_devices, "Number of simulated GPUs (1-8, default 2)");

static unsigned int vram_size = 256;
module_param(vram_size, uint, 0444);
MODULE_PARM_DESC(vram_size,
		 "VRAM per device in MiB, even (2-4096, default 256)");

static unsigned int num_compute_engines = 2;
module_param(num_compute_engines, uint, 0444);
MODULE_PARM_DESC(num_compute_engines,
		 "Compute engines per device (1-8, default 2)");

static unsigned int num_copy_engines = 1;
module_param(num_copy_engines, uint, 0444);
MODULE_PARM_DESC(num_copy_engines, "Copy engines per device (1-8, default 1)");

static char *link_groups = "";
module_param(link_groups, charp, 0444);
MODULE_PARM_DESC(link_groups,
		 "Devices that share an interconnect, e.g. \"0,1\" or \"0,1;2,3\": each one maps the others' VRAM in place (default none)");

#if IS_ENABLED(CONFIG_DRM_GPUSVM)
#define SVM_CORES "\"kernel\" (the kernel's drm_gpusvm and drm_pagemap; the default) or \"simgpu\" (kmod/gpusvm)"
#define SVM_CORE_DEFAULT "kernel"
#else
#define SVM_CORES "\"simgpu\" (kmod/gpusvm; the default: \"kernel\" needs CONFIG_DRM_GPUSVM)"
#define SVM_CORE_DEFAULT "simgpu"
#endif

static char *svm_core = SVM_CORE_DEFAULT;
module_param(svm_core, charp, 0444);
MODULE_PARM_DESC(svm_core, "SVM core: " SVM_CORES);

static struct simgpu_params simgpu_params;

/**
 * simgpu_svm_backend_lookup() - the SVM backend the svm_core parameter names
 * @name: "simgpu" or "kernel" (a trailing newline allowed, as sysfs gives)
 *
 * Return: the backend's table; NULL, after logging why, for an unknown
 * name or "kernel" on a kernel without drm_gpusvm.
 */
const struct simgpu_svm_backend *simgpu_svm_backend_lookup(const char *name)
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
SIMGPU_EXPORT_FOR_KUNIT(simgpu_svm_backend_lookup);

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
 * simgpu_param_check_timeslice() - validate the svm_timeslice_ms parameter
 * @ms: the value
 *
 * A CPU fault on memory a GPU fault just took waits out the timeslice:
 * it must stay short.
 *
 * Return: 0 when @ms is at most %SIMGPU_MAX_TIMESLICE_MS, else -EINVAL
 * after logging the range.
 */
int simgpu_param_check_timeslice(unsigned int ms)
{
	return check_range("svm_timeslice_ms", ms, 0, SIMGPU_MAX_TIMESLICE_MS);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_param_check_timeslice);

/**
 * simgpu_param_check_job_timeout() - validate the job_timeout_ms parameter
 * @ms: the value
 *
 * Return: 0 when @ms is within [%SIMGPU_MIN_JOB_TIMEOUT_MS,
 * %SIMGPU_MAX_JOB_TIMEOUT_MS] (0 would time out every job), else -EINVAL
 * after logging the range.
 */
int simgpu_param_check_job_timeout(unsigned int ms)
{
	return check_range("job_timeout_ms", ms, SIMGPU_MIN_JOB_TIMEOUT_MS,
			   SIMGPU_MAX_JOB_TIMEOUT_MS);
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_param_check_job_timeout);

/**
 * simgpu_param_check_notifier_size() - validate the notifier_size parameter
 * @mb: the value, in MiB
 *
 * Both SVM cores align the notifier windows to their size, and a window
 * must hold the largest range, 2 MiB.
 *
 * Return: 0 when @mb is a power of two within [%SIMGPU_MIN_NOTIFIER_MB,
 * %SIMGPU_MAX_NOTIFIER_MB], else -EINVAL after logging why.
 */
int simgpu_param_check_notifier_size(unsigned int mb)
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
SIMGPU_EXPORT_FOR_KUNIT(simgpu_param_check_notifier_size);

/**
 * simgpu_param_set_uint() - set an unsigned int module parameter, checked
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
int simgpu_param_set_uint(const char *val, const struct kernel_param *kp,
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
SIMGPU_EXPORT_FOR_KUNIT(simgpu_param_set_uint);

/**
 * simgpu_parse_link_groups() - parse the link_groups parameter
 * @s: groups separated by ';', each two or more device indices separated
 *	by ','; "" for none
 * @num_devices: devices that exist
 * @groups: receives per device its group number (1 ..), 0 for none;
 *	%SIMGPU_MAX_DEVICES entries
 *
 * Return: 0, or -EINVAL for a syntax error, a device index out of range,
 * a device in two groups or a group of one.
 */
int simgpu_parse_link_groups(const char *s, unsigned int num_devices,
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
SIMGPU_EXPORT_FOR_KUNIT(simgpu_parse_link_groups);

/**
 * simgpu_num_engines() - engines of one device, all classes
 * @p: the parameters
 *
 * Return: the number of engines.
 */
unsigned int simgpu_num_engines(const struct simgpu_params *p)
{
	return p->num_compute_engines + p->num_copy_engines;
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_num_engines);

/**
 * simgpu_engine_info() - describe engine @idx of a device
 * @p: the parameters
 * @idx: engine index: compute engines first, then copy engines
 * @info: filled with class and instance; pad and reserved are zeroed
 *
 * Return: 0, or -EINVAL when @idx is not an engine of the device.
 */
int simgpu_engine_info(const struct simgpu_params *p, unsigned int idx,
		       struct drm_simgpu_engine_info *info)
{
	if (idx >= simgpu_num_engines(p))
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
SIMGPU_EXPORT_FOR_KUNIT(simgpu_engine_info);

static int simgpu_open(struct drm_device *drm, struct drm_file *file)
{
	struct simgpu_file *sfile = kzalloc(sizeof(*sfile), GFP_KERNEL);

	if (!sfile)
		return -ENOMEM;
	sfile->client = atomic_inc_return(&to_simgpu_device(drm)->clients);
	xa_init_flags(&sfile->vms, XA_FLAGS_ALLOC1);
	xa_init_flags(&sfile->queues, XA_FLAGS_ALLOC1);
	file->driver_priv = sfile;
	return 0;
}

static void simgpu_postclose(struct drm_device *drm, struct drm_file *file)
{
	/* Queues first: they hold references to VMs. */
	simgpu_file_queues_fini(file);
	simgpu_file_vms_fini(file);
	kfree(file->driver_priv);
}

static const struct drm_ioctl_desc simgpu_ioctls[] = {
	DRM_IOCTL_DEF_DRV(SIMGPU_QUERY, simgpu_query_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_GEM_CREATE, simgpu_gem_create_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_GEM_MMAP_OFFSET, simgpu_gem_mmap_offset_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_CREATE, simgpu_vm_create_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_DESTROY, simgpu_vm_destroy_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_BIND, simgpu_vm_bind_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_EXEC_QUEUE_CREATE,
			  simgpu_exec_queue_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_EXEC_QUEUE_DESTROY,
			  simgpu_exec_queue_destroy_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_EXEC_QUEUE_STATE,
			  simgpu_exec_queue_state_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_EXEC, simgpu_exec_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_WAIT_USER_FENCE, simgpu_wait_user_fence_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_QUERY_RANGE, simgpu_vm_query_range_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_MADVISE, simgpu_vm_madvise_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_QUERY_ATTRS, simgpu_vm_query_attrs_ioctl,
			  DRM_RENDER_ALLOW),
};

DEFINE_DRM_GEM_FOPS(simgpu_fops);

const struct drm_driver simgpu_drm_driver = {
	.driver_features = DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ,
	.open = simgpu_open,
	.postclose = simgpu_postclose,
	.debugfs_init = simgpu_debugfs_init,
	.ioctls = simgpu_ioctls,
	.num_ioctls = ARRAY_SIZE(simgpu_ioctls),
	.fops = &simgpu_fops,
	.name = SIMGPU_DRIVER_NAME,
	.desc = "Simulated GPU with shared virtual memory",
	.major = 1,
	.minor = 0,
};

static int __init simgpu_init(void)
{
	int err;

	simgpu_params = (struct simgpu_params) {
		.num_devices = num_devices,
		.vram_mb = vram_size,
		.num_compute_engines = num_compute_engines,
		.num_copy_engines = num_copy_engines,
	};

	err = simgpu_params_check(&simgpu_params);
	if (err)
		return err;
	err = simgpu_parse_link_groups(link_groups, num_devices,
				       simgpu_params.link_group);
	if (err) {
		pr_err(SIMGPU_DRIVER_NAME ": link_groups=\"%s\" is not a list of groups of two or more of the %u devices\n",
		       link_groups, num_devices);
		return err;
	}
	simgpu_params.svm = simgpu_svm_backend_lookup(svm_core);
	if (!simgpu_params.svm)
		return -EINVAL;
	pr_info(SIMGPU_DRIVER_NAME ": SVM core: %s\n", simgpu_params.svm->name);

	simgpu_inject_init();
	err = simgpu_device_driver_register(&simgpu_params);
	if (err)
		simgpu_inject_fini();
	return err;
}

static void __exit simgpu_exit(void)
{
	simgpu_device_driver_unregister();
	simgpu_inject_fini();
}

module_init(simgpu_init);
module_exit(simgpu_exit);

MODULE_DESCRIPTION("Simulated GPU with shared virtual memory");
MODULE_LICENSE("GPL");
