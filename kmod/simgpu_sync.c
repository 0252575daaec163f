// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: in- and out-fences of VM_BIND and EXEC.
 */

#include <linux/dma-fence.h>
#include <linux/uaccess.h>

#include <drm/drm_syncobj.h>

#include "simgpu_drv.h"
#include "simgpu_sync.h"

/**
 * DOC: Overview
 *
 * Both VM_BIND and EXEC take an array of &struct drm_simgpu_sync. They are
 * validated and looked up together before the operation starts, so a bad
 * sync fails the ioctl with nothing done: syncobj in-fences become fence
 * references, syncobj out-fences syncobj references, user fences an
 * (address, value) pair for whoever completes the operation to write.
 */

/**
 * DOC: Locking
 *
 * No lock of the driver: lookups take references through the DRM core.
 */

static int sync_get_one(struct drm_file *file, const struct drm_simgpu_sync *s,
			struct simgpu_syncs *syncs)
{
	struct dma_fence *fence;
	struct drm_syncobj *obj;
	int err;

	if (s->extensions || s->pad || s->reserved[0] || s->reserved[1] ||
	    s->flags & ~DRM_SIMGPU_SYNC_FLAG_SIGNAL)
		return -EINVAL;

	switch (s->type) {
	case DRM_SIMGPU_SYNC_SYNCOBJ:
		if (s->addr || s->value)
			return -EINVAL;
		if (s->flags & DRM_SIMGPU_SYNC_FLAG_SIGNAL) {
			obj = drm_syncobj_find(file, s->handle);
			if (!obj)
				return -ENOENT;
			syncs->out[syncs->num_out++] = obj;
			return 0;
		}
		err = drm_syncobj_find_fence(file, s->handle, 0, 0, &fence);
		if (err)
			return err;
		syncs->in[syncs->num_in++] = fence;
		return 0;
	case DRM_SIMGPU_SYNC_USER_FENCE:
		if (s->handle || !s->addr || !IS_ALIGNED(s->addr, 8) ||
		    !(s->flags & DRM_SIMGPU_SYNC_FLAG_SIGNAL))
			return -EINVAL;
		syncs->ufences[syncs->num_ufences].addr = s->addr;
		syncs->ufences[syncs->num_ufences].value = s->value;
		syncs->num_ufences++;
		return 0;
	default:
		return -EINVAL;
	}
}

/**
 * simgpu_syncs_get() - validate and look up an ioctl's syncs
 * @file: the caller
 * @user_syncs: user pointer to @num &struct drm_simgpu_sync
 * @num: entries, at most SIMGPU_MAX_SYNCS
 * @syncs: receives the references; zeroed here
 *
 * Return: 0, -EINVAL for a bad sync, -ENOENT for an unknown syncobj,
 * -EFAULT. On error nothing is held.
 */
int simgpu_syncs_get(struct drm_file *file, u64 user_syncs, u32 num,
		     struct simgpu_syncs *syncs)
{
	struct drm_simgpu_sync __user *usyncs = u64_to_user_ptr(user_syncs);
	struct drm_simgpu_sync s;
	u32 i;
	int err;

	memset(syncs, 0, sizeof(*syncs));
	if (num > SIMGPU_MAX_SYNCS)
		return -EINVAL;

	for (i = 0; i < num; i++) {
		if (copy_from_user(&s, &usyncs[i], sizeof(s))) {
			err = -EFAULT;
			goto err_put;
		}
		err = sync_get_one(file, &s, syncs);
		if (err)
			goto err_put;
	}
	return 0;

err_put:
	simgpu_syncs_put(syncs);
	return err;
}

/**
 * simgpu_syncs_put() - drop the references simgpu_syncs_get() took
 * @syncs: the syncs
 */
void simgpu_syncs_put(struct simgpu_syncs *syncs)
{
	unsigned int i;

	for (i = 0; i < syncs->num_in; i++)
		dma_fence_put(syncs->in[i]);
	for (i = 0; i < syncs->num_out; i++)
		drm_syncobj_put(syncs->out[i]);
	syncs->num_in = 0;
	syncs->num_out = 0;
}

/**
 * simgpu_syncs_wait_in() - wait for every in-fence, interruptibly
 * @syncs: the syncs
 *
 * Return: 0, or -ERESTARTSYS when a signal arrived.
 */
int simgpu_syncs_wait_in(struct simgpu_syncs *syncs)
{
	unsigned int i;
	long ret;

	for (i = 0; i < syncs->num_in; i++) {
		ret = dma_fence_wait(syncs->in[i], true);
		if (ret < 0)
			return ret;
	}
	return 0;
}
