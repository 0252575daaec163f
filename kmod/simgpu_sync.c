// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: in- and out-fences of VM_BIND and EXEC.
 */

#include <linux/dma-fence.h>
#include <linux/err.h>
#include <linux/eventfd.h>
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
 *
 * A user fence with DRM_SIMGPU_SYNC_FLAG_EVENTFD also carries a reference
 * to the eventfd its handle names, taken here, in the caller's context:
 * whoever writes the value signals the eventfd right after
 * (simgpu_sync_ufence_written()), and the reference goes with the user fence,
 * from the syncs to the EXEC job (simgpu_syncs_move_ufences()), until the
 * owner is freed (simgpu_sync_ufences_put()). Signalling an eventfd neither
 * allocates nor sleeps, so engines do it on the dma-fence signalling path.
 */

/**
 * DOC: Locking
 *
 * No lock of the driver: lookups take references through the DRM core
 * and the eventfd code.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static int sync_get_one(struct drm_file *file, const struct drm_simgpu_sync *s,
			bool exec, struct simgpu_syncs *syncs)
{
	const u32 ufence_only = DRM_SIMGPU_SYNC_FLAG_EVENTFD |
				DRM_SIMGPU_SYNC_FLAG_STATUS;
	struct simgpu_ufence *uf;
	struct dma_fence *fence;
	struct drm_syncobj *obj;
	int err;

	if (s->extensions || s->pad || !simgpu_reserved_clear(s->reserved) ||
	    s->flags & ~(DRM_SIMGPU_SYNC_FLAG_SIGNAL | ufence_only))
		return -EINVAL;

	switch (s->type) {
	case DRM_SIMGPU_SYNC_SYNCOBJ:
		if (s->addr || s->value || s->flags & ufence_only)
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
		if (!s->addr || !IS_ALIGNED(s->addr, 8) ||
		    !(s->flags & DRM_SIMGPU_SYNC_FLAG_SIGNAL))
			return -EINVAL;
		/* A status fence is 16 bytes, and only a job has a status. */
		if (s->flags & DRM_SIMGPU_SYNC_FLAG_STATUS &&
		    (!exec || s->addr > U64_MAX - 15))
			return -EINVAL;
		uf = &syncs->ufences[syncs->num_ufences];
		if (s->flags & DRM_SIMGPU_SYNC_FLAG_EVENTFD) {
			/* -EBADF: no such fd; -EINVAL: not an eventfd. */
			uf->eventfd = eventfd_ctx_fdget(s->handle);
			if (IS_ERR(uf->eventfd)) {
				err = PTR_ERR(uf->eventfd);
				uf->eventfd = NULL;
				return err;
			}
		} else if (s->handle) {
			return -EINVAL;
		}
		uf->addr = s->addr;
		uf->value = s->value;
		uf->status = s->flags & DRM_SIMGPU_SYNC_FLAG_STATUS;
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
 * @exec: the ioctl is EXEC, whose user fences may be status fences
 * @syncs: receives the references; zeroed here
 *
 * Return: 0, -EINVAL for a bad sync (a status fence outside EXEC
 * included) or a user fence's handle that is not an eventfd, -EBADF for a user fence's handle that is not an open file
 * descriptor, -ENOENT for an unknown syncobj, -EFAULT. On error nothing
 * is held.
 */
int simgpu_syncs_get(struct drm_file *file, u64 user_syncs, u32 num,
		     bool exec, struct simgpu_syncs *syncs)
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
		err = sync_get_one(file, &s, exec, syncs);
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
 *
 * User fences already handed on with simgpu_syncs_move_ufences() are not
 * the syncs' any more and are left alone.
 */
void simgpu_syncs_put(struct simgpu_syncs *syncs)
{
	unsigned int i;

	for (i = 0; i < syncs->num_in; i++)
		dma_fence_put(syncs->in[i]);
	for (i = 0; i < syncs->num_out; i++)
		drm_syncobj_put(syncs->out[i]);
	simgpu_sync_ufences_put(syncs->ufences, syncs->num_ufences);
	syncs->num_in = 0;
	syncs->num_out = 0;
	syncs->num_ufences = 0;
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

/**
 * simgpu_syncs_move_ufences() - hand the user fences to their writer
 * @syncs: the syncs; left without user fences
 * @dst: room for every user fence of @syncs; receives them with their
 *	eventfd references, to drop with simgpu_sync_ufences_put()
 *
 * Return: the number of user fences moved.
 */
unsigned int simgpu_syncs_move_ufences(struct simgpu_syncs *syncs,
				       struct simgpu_ufence *dst)
{
	unsigned int num = syncs->num_ufences;

	memcpy(dst, syncs->ufences, num * sizeof(*dst));
	syncs->num_ufences = 0;
	return num;
}

/**
 * simgpu_syncs_write_ufences_user() - write the user fences at their CPU
 *	addresses (VM_BIND), in order, signalling each one's eventfd
 * @syncs: the syncs
 *
 * Return: 0, or -EFAULT when a fence could not be written: the ones
 * before it are written and signalled, it and the ones after are not.
 */
int simgpu_syncs_write_ufences_user(struct simgpu_syncs *syncs)
{
	const struct simgpu_ufence *uf;
	unsigned int i;

	for (i = 0; i < syncs->num_ufences; i++) {
		uf = &syncs->ufences[i];
		if (put_user(uf->value, (u64 __user *)u64_to_user_ptr(uf->addr)))
			return -EFAULT;
		simgpu_sync_ufence_written(uf);
	}
	return 0;
}

/**
 * simgpu_sync_ufence_written() - a user fence's value was written: signal its
 *	eventfd, if it has one
 * @uf: the user fence
 *
 * Context: any. Neither allocates nor sleeps, so engines call it on the
 * dma-fence signalling path.
 */
void simgpu_sync_ufence_written(const struct simgpu_ufence *uf)
{
	if (uf->eventfd)
		eventfd_signal(uf->eventfd);
}

/**
 * simgpu_sync_ufences_put() - drop the eventfd references of user fences
 * @ufences: the user fences
 * @num: entries in @ufences
 *
 * Context: any; does not sleep.
 */
void simgpu_sync_ufences_put(struct simgpu_ufence *ufences, unsigned int num)
{
	unsigned int i;

	for (i = 0; i < num; i++) {
		if (ufences[i].eventfd)
			eventfd_ctx_put(ufences[i].eventfd);
		ufences[i].eventfd = NULL;
	}
}
