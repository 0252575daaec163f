// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: EXEC (job submission) and waits on user fences.
 */

#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/stringify.h>
#include <linux/uaccess.h>

#include <drm/drm_file.h>
#include <drm/drm_syncobj.h>

#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec.h"
#include "simgpu_exec_queue.h"
#include "simgpu_inject.h"
#include "simgpu_isa.h"
#include "simgpu_params.h"

/**
 * DOC: Overview
 *
 * EXEC turns a batch address and its syncs into a job on an exec queue
 * (simgpu_exec_queue.c). On a dma-fence queue it arms a scheduler job
 * whose in-fences are dependencies and whose finished fence replaces the
 * out-syncobjs' fences, and allocates the job's hardware fence so that
 * nothing on the signalling path allocates. On a long-running queue it
 * waits for the in-fences itself, not holding the submit lock, then hands
 * the job to the engine.
 *
 * Job timeouts are enforced by the engine for both kinds (job_timeout_ms,
 * measured from the job's first run), so drm_sched runs without its own
 * timeout handler: a long-running queue has no fence for it to watch, and
 * one mechanism keeps recovery in one place. A failed job (timeout,
 * unresolved fault, bad command) ends with its error, recorded in the
 * queue state; the queue goes on with its next job, and no other queue or
 * VM is affected. A job with status fences (DRM_SIMGPU_SYNC_FLAG_STATUS)
 * first writes them with its error (the engine's job_fail()), with a job
 * timeout of its own, so each job's outcome reaches userspace.
 *
 * WAIT_USER_FENCE sleeps on the device's user-fence wait queue, woken
 * whenever a job ends, until the fence compares true, the queue it
 * watches has a new failure, the timeout passes or a signal arrives.
 */

/**
 * DOC: Locking
 *
 * &simgpu_exec_queue.submit_lock (mutex) serialises EXEC on a queue
 * against destroy; under it the engine lock is taken to hand a
 * long-running job over. The user-fence wait takes no driver lock.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static int job_timeout_set(const char *val, const struct kernel_param *kp)
{
	return simgpu_params_set_uint(val, kp, simgpu_params_check_job_timeout);
}

static const struct kernel_param_ops job_timeout_ops = {
	.set = job_timeout_set,
	.get = param_get_uint,
};

unsigned int simgpu_job_timeout_ms = 5000;
module_param_cb(job_timeout_ms, &job_timeout_ops, &simgpu_job_timeout_ms,
		0644);
__MODULE_PARM_TYPE(job_timeout_ms, "uint");
MODULE_PARM_DESC(job_timeout_ms,
		 "A job running longer than this ends with -ETIMEDOUT ("
		 __stringify(SIMGPU_MIN_JOB_TIMEOUT_MS) "-"
		 __stringify(SIMGPU_MAX_JOB_TIMEOUT_MS)
		 " ms, default 5000; anything else fails the load or the write with -EINVAL)");

static int exec_submit_sched(struct simgpu_exec_queue *q,
			     struct simgpu_job *job,
			     struct simgpu_syncs *syncs, struct drm_file *file)
{
	unsigned int i;
	int err;

	err = drm_sched_job_init(&job->base, &q->entity, 1, file,
				 file->client_id);
	if (err)
		return err;

	/* The scheduler takes over the in-fence references. */
	for (i = 0; i < syncs->num_in; i++) {
		err = drm_sched_job_add_dependency(&job->base, syncs->in[i]);
		syncs->in[i] = NULL;
		if (err) {
			while (++i < syncs->num_in) {
				dma_fence_put(syncs->in[i]);
				syncs->in[i] = NULL;
			}
			drm_sched_job_cleanup(&job->base);
			return err;
		}
	}

	atomic_inc(&q->jobs_live);
	kref_get(&q->ref);	/* the job's, dropped by free_job */
	drm_sched_job_arm(&job->base);
	for (i = 0; i < syncs->num_out; i++)
		drm_syncobj_replace_fence(syncs->out[i],
					  &job->base.s_fence->finished);
	atomic64_inc(&q->submitted);
	drm_sched_entity_push_job(&job->base);
	return 0;
}

static int exec_submit_lr(struct simgpu_exec_queue *q, struct simgpu_job *job)
{
	struct simgpu_engine *e = q->e;

	atomic64_inc(&q->submitted);
	spin_lock(&e->lock);
	list_add_tail(&job->link, &q->pending);
	spin_unlock(&e->lock);
	simgpu_engine_kick(e);
	return 0;
}

/**
 * simgpu_exec_ioctl() - DRM_IOCTL_SIMGPU_EXEC
 * @drm: the device
 * @data: &struct drm_simgpu_exec
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_exec_ioctl(struct drm_device *drm, void *data,
		      struct drm_file *file)
{
	struct drm_simgpu_exec *args = data;
	struct simgpu_exec_queue *q;
	struct simgpu_syncs *syncs;
	struct simgpu_job *job = NULL;
	int err;

	if (args->extensions || !simgpu_reserved_clear(args->reserved) ||
	    !IS_ALIGNED(args->address, 4) ||
	    args->num_syncs > SIMGPU_MAX_SYNCS)
		return -EINVAL;

	syncs = kmalloc_obj(*syncs, GFP_KERNEL);
	if (!syncs)
		return -ENOMEM;
	err = simgpu_syncs_get(file, args->syncs, args->num_syncs,
			       true, syncs);
	if (err)
		goto err_free_syncs;

	q = simgpu_exec_queue_lookup(file, args->exec_queue_id);
	if (!q) {
		err = -ENOENT;
		goto err_syncs;
	}
	if (q->lr && syncs->num_out) {
		err = -EINVAL;
		goto err_queue;
	}

	job = simgpu_inject(SIMGPU_INJECT_JOB) ? NULL :
		kzalloc(struct_size(job, ufences, syncs->num_ufences),
			GFP_KERNEL);
	if (!job) {
		err = -ENOMEM;
		goto err_queue;
	}
	if (!q->lr) {
		job->hw_fence = kzalloc_obj(*job->hw_fence, GFP_KERNEL);
		if (!job->hw_fence) {
			err = -ENOMEM;
			goto err_job;
		}
	}
	job->q = q;
	job->pc = args->address;
	job->num_ufences = simgpu_syncs_move_ufences(syncs, job->ufences);

	/* Long-running queues wait here, not holding the submit lock. */
	if (q->lr) {
		err = simgpu_syncs_wait_in(syncs);
		if (err)
			goto err_job;
	}

	mutex_lock(&q->submit_lock);
	if (READ_ONCE(q->destroying))
		err = -ENOENT;
	else if (q->lr)
		err = exec_submit_lr(q, job);
	else
		err = exec_submit_sched(q, job, syncs, file);
	mutex_unlock(&q->submit_lock);
	if (!err)
		job = NULL;	/* owned by the engine or the scheduler now */

err_job:
	if (job) {
		kfree(job->hw_fence);
		simgpu_exec_queue_job_free(job);
	}
err_queue:
	simgpu_exec_queue_put(q);
err_syncs:
	simgpu_syncs_put(syncs);
err_free_syncs:
	kfree(syncs);
	return err;
}

/**
 * simgpu_exec_wait_user_fence_ioctl() - DRM_IOCTL_SIMGPU_WAIT_USER_FENCE
 * @drm: the device
 * @data: &struct drm_simgpu_wait_user_fence
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_exec_wait_user_fence_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct simgpu_device *sdev = to_simgpu_device(drm);
	struct drm_simgpu_wait_user_fence *args = data;
	u64 __user *uaddr = u64_to_user_ptr(args->addr);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct simgpu_exec_queue *q = NULL;
	u64 failed = 0, val;
	ktime_t deadline = 0;
	long timeout;
	int err;

	if (args->extensions || args->flags || args->pad ||
	    !simgpu_reserved_clear(args->reserved) ||
	    args->op > DRM_SIMGPU_CMP_LTE || !args->addr ||
	    !IS_ALIGNED(args->addr, 8))
		return -EINVAL;

	if (args->exec_queue_id) {
		q = simgpu_exec_queue_lookup(file, args->exec_queue_id);
		if (!q)
			return -ENOENT;
		failed = atomic64_read(&q->failed);
	}
	if (args->timeout_ns >= 0)
		deadline = ktime_add_ns(ktime_get(), args->timeout_ns);

	add_wait_queue(&sdev->ufence_wq, &wait);
	for (;;) {
		if (get_user(val, uaddr)) {
			err = -EFAULT;
			break;
		}
		if (simgpu_isa_compare(args->op, val & args->mask,
				   args->value & args->mask)) {
			err = 0;
			break;
		}
		if (q && atomic64_read(&q->failed) != failed) {
			err = -EIO;
			break;
		}
		if (signal_pending(current)) {
			err = -ERESTARTSYS;
			break;
		}
		/*
		 * Against the clock, not in jiffies: a sleep of n jiffies can
		 * end up to one jiffy early.
		 */
		if (args->timeout_ns < 0) {
			timeout = MAX_SCHEDULE_TIMEOUT;
		} else {
			s64 left = ktime_to_ns(ktime_sub(deadline, ktime_get()));

			if (left <= 0) {
				err = -ETIME;
				break;
			}
			timeout = nsecs_to_jiffies(left) + 1;
		}
		wait_woken(&wait, TASK_INTERRUPTIBLE, timeout);
	}
	remove_wait_queue(&sdev->ufence_wq, &wait);

	if (q)
		simgpu_exec_queue_put(q);
	return err;
}
