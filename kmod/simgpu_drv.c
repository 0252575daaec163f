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
#include "simgpu_debugfs.h"
#include "simgpu_device.h"
#include "simgpu_drv.h"
#include "simgpu_exec.h"
#include "simgpu_exec_queue.h"
#include "simgpu_inject.h"
#include "simgpu_madvise.h"
#include "simgpu_params.h"
#include "simgpu_query.h"
#include "simgpu_svm_backend.h"
#include "simgpu_vm.h"
#include "simgpu_vm_bind.h"

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
 * READ_ONCE() where they are used; simgpu_params_set_uint() checks a new
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
	simgpu_exec_queue_file_fini(file);
	simgpu_vm_file_fini(file);
	kfree(file->driver_priv);
}

static const struct drm_ioctl_desc simgpu_ioctls[] = {
	DRM_IOCTL_DEF_DRV(SIMGPU_QUERY, simgpu_query_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_GEM_CREATE, simgpu_bo_create_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_GEM_MMAP_OFFSET, simgpu_bo_mmap_offset_ioctl,
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
	DRM_IOCTL_DEF_DRV(SIMGPU_WAIT_USER_FENCE, simgpu_exec_wait_user_fence_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_QUERY_RANGE, simgpu_vm_query_range_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_MADVISE, simgpu_madvise_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SIMGPU_VM_QUERY_ATTRS, simgpu_madvise_query_attrs_ioctl,
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
	err = simgpu_params_parse_link_groups(link_groups, num_devices,
				       simgpu_params.link_group);
	if (err) {
		pr_err(SIMGPU_DRIVER_NAME ": link_groups=\"%s\" is not a list of groups of two or more of the %u devices\n",
		       link_groups, num_devices);
		return err;
	}
	simgpu_params.svm = simgpu_params_svm_backend(svm_core);
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
