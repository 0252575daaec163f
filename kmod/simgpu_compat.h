/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_COMPAT_H_
#define _SIMGPU_COMPAT_H_

#include <linux/version.h>

/**
 * DOC: Kernel compatibility
 *
 * simgpu builds against Debian's 6.12 LTS (the stock lane) and Linux 7.3
 * (the svm-dev lane). Every API difference between the kernels it
 * supports is answered here, one entry each, saying which kernel changed
 * what; no other file tests a kernel version. Debian's 6.12 carries the
 * DRM core of newer kernels (gpu_buddy, &struct drm_sched_init_args, the
 * five-argument drm_sched_job_init()), so those need no entry; a vanilla
 * 6.12.y does not have them and is not supported.
 *
 * To add a kernel: build against it, and for each API that differs add an
 * entry below (a feature test where the kernel offers one, such as a macro
 * the change introduced, otherwise LINUX_VERSION_CODE) and use the entry's
 * name in the driver.
 */

/*
 * SIMGPU_HAVE_DEVMEM: VRAM as device-private memory that SVM migrates to.
 * Needs CONFIG_DEVICE_PRIVATE and the folio-based device-page API of Linux
 * 6.19: &dev_pagemap_ops.folio_free (page_free before),
 * zone_device_page_init(page, pgmap, order) (one argument before),
 * compound device folios (MIGRATE_PFN_COMPOUND) and make_device_exclusive()
 * (one page, returning the folio locked; 6.15, make_device_exclusive_range()
 * before). Checked against 7.3. On older kernels, or without
 * CONFIG_DEVICE_PRIVATE (Debian's 6.12), VRAM holds buffer objects only and
 * SVM stays in system memory.
 */
#if IS_ENABLED(CONFIG_DEVICE_PRIVATE) && \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define SIMGPU_HAVE_DEVMEM 1
#else
#define SIMGPU_HAVE_DEVMEM 0
#endif

/*
 * SIMGPU_KUNIT_NS: the symbol namespace of what only the KUnit suite
 * needs. 6.13 made namespaces string literals (MODULE_IMPORT_NS("NS"));
 * before, they were bare words that the macros stringified.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define SIMGPU_KUNIT_NS "SIMGPU_KUNIT"
#else
#define SIMGPU_KUNIT_NS SIMGPU_KUNIT
#endif

/*
 * kmalloc_obj(), kzalloc_obj(): typed allocation of one object, from 7.0
 * (macros, so their presence is the test); before, kmalloc(sizeof(...)).
 */
#include <linux/slab.h>
#ifndef kzalloc_obj
#define kmalloc_obj(P, GFP) kmalloc(sizeof(P), GFP)
#define kzalloc_obj(P, GFP) kzalloc(sizeof(P), GFP)
#endif

/*
 * simgpu_gpuvm_sm_map(): drm_gpuvm_sm_map() takes its request as a
 * &struct drm_gpuvm_map_req since 6.18; before, as four arguments.
 */
#include <drm/drm_gpuvm.h>
static inline int simgpu_gpuvm_sm_map(struct drm_gpuvm *gpuvm, void *priv,
				      u64 addr, u64 range,
				      struct drm_gem_object *obj, u64 offset)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
	struct drm_gpuvm_map_req req = {
		.map.va.addr = addr,
		.map.va.range = range,
		.map.gem.obj = obj,
		.map.gem.offset = offset,
	};

	return drm_gpuvm_sm_map(gpuvm, priv, &req);
#else
	return drm_gpuvm_sm_map(gpuvm, priv, addr, range, obj, offset);
#endif
}

/*
 * simgpu_gpuvm_bo_obtain(): find or create the &drm_gpuvm_bo of a VM and
 * an object whose reservation the caller holds. 7.0 renamed
 * drm_gpuvm_bo_obtain() to drm_gpuvm_bo_obtain_locked() when it added
 * immediate mode.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define simgpu_gpuvm_bo_obtain drm_gpuvm_bo_obtain_locked
#else
#define simgpu_gpuvm_bo_obtain drm_gpuvm_bo_obtain
#endif

#endif /* _SIMGPU_COMPAT_H_ */
