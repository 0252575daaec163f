// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: DRM_IOCTL_SIMGPU_QUERY, what a device is and what it can do.
 */

#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "simgpu_device.h"
#include "simgpu_drv.h"
#include "simgpu_params.h"
#include "simgpu_query.h"
#include "simgpu_svm.h"

/**
 * DOC: Overview
 *
 * A query copies one answer structure to userspace with the two-call size
 * protocol of the uAPI: a call with size 0 learns the size, a call with a
 * buffer at least that large gets the answer. Answers are built on the
 * stack or in a temporary buffer from the device's read-only parameters.
 */

/**
 * DOC: Locking
 *
 * Queries read only data that does not change after probe; no lock.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static int query_copy_out(struct drm_simgpu_query *q, const void *answer,
			  u32 size)
{
	if (!q->size) {
		q->size = size;
		return 0;
	}
	if (q->size < size)
		return -EINVAL;
	if (copy_to_user(u64_to_user_ptr(q->data), answer, size))
		return -EFAULT;
	q->size = size;
	return 0;
}

static int query_device(struct simgpu_device *sdev,
			struct drm_simgpu_query *q)
{
	const struct simgpu_params *p = sdev->params;
	struct drm_simgpu_query_device ans = {
		.device_id = sdev->id,
		.num_engines = simgpu_params_num_engines(p),
		.vram_size = (u64)p->vram_mb * SZ_1M,
		.caps = DRM_SIMGPU_CAP_FAULT_MODE |
			DRM_SIMGPU_CAP_CPU_ADDR_MIRROR,
		.va_bits = SIMGPU_VA_BITS,
		.link_mask = simgpu_device_link_mask(sdev),
	};

	if (sdev->dmem.enabled)
		ans.caps |= DRM_SIMGPU_CAP_VRAM_MIGRATION;
	if (simgpu_svm_atomic_hold(sdev))
		ans.caps |= DRM_SIMGPU_CAP_ATOMIC_HOLD;
	return query_copy_out(q, &ans, sizeof(ans));
}

static int query_engines(struct simgpu_device *sdev,
			 struct drm_simgpu_query *q)
{
	const struct simgpu_params *p = sdev->params;
	unsigned int i, n = simgpu_params_num_engines(p);
	struct drm_simgpu_query_engines *ans;
	size_t size = struct_size(ans, engines, n);
	int err;

	if (!q->size) {
		q->size = size;
		return 0;
	}

	ans = kzalloc(size, GFP_KERNEL);
	if (!ans)
		return -ENOMEM;

	ans->num_engines = n;
	for (i = 0; i < n; i++)
		simgpu_params_engine_info(p, i, &ans->engines[i]);

	err = query_copy_out(q, ans, size);
	kfree(ans);
	return err;
}

/**
 * simgpu_query_ioctl() - DRM_IOCTL_SIMGPU_QUERY
 * @drm: the device
 * @data: the &struct drm_simgpu_query, copied in and out by the DRM core
 * @file: the caller's file
 *
 * Return: 0, or a negative errno as documented in the uAPI header.
 */
int simgpu_query_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file)
{
	struct simgpu_device *sdev = to_simgpu_device(drm);
	struct drm_simgpu_query *q = data;

	if (q->extensions || q->flags || q->pad ||
	    !simgpu_reserved_clear(q->reserved))
		return -EINVAL;

	switch (q->query) {
	case DRM_SIMGPU_QUERY_DEVICE:
		return query_device(sdev, q);
	case DRM_SIMGPU_QUERY_ENGINES:
		return query_engines(sdev, q);
	default:
		return -EINVAL;
	}
}
