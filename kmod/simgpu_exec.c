// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: exec queues, jobs, EXEC, user fences and GPU page faults.
 */

#include <linux/dma-fence.h>
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
#include "simgpu_inject.h"
#include "simgpu_isa.h"
#include "simgpu_trace.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * An exec queue feeds one engine with jobs from one VM. There are two
 * kinds, chosen by the VM:
 *
 * - dma-fence queues (VM without fault mode) use drm_sched, one scheduler
 *   and entity per queue (the engine runs queues concurrently, so jobs of
 *   different queues must not be ordered by one scheduler: drm_sched
 *   treats a dependency on a fence of the same scheduler as satisfied
 *   once that job is merely scheduled). Schedulers are pooled per device
 *   (&struct simgpu_sched) because their fences outlive the queue. EXEC
 *   arms a scheduler job whose in-fences are
 *   dependencies and whose finished fence replaces the out-syncobjs'
 *   fences; when the dependencies signalled, run_job() hands the job to the
 *   engine and returns its hardware fence, which the engine signals when
 *   the job ended, after copying the job's error onto the finished fence.
 *   The hardware fence is allocated by EXEC, so nothing on the signalling
 *   path allocates.
 * - long-running queues (fault-mode VM) publish no dma-fence, because a
 *   job that can fault may wait for memory allocation: EXEC waits for the
 *   in-fences itself, then hands the job to the engine; completion is seen
 *   through user fences (written by the engine when the batch ended) and
 *   DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE.
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
 * GPU page faults: a job of a fault-mode VM whose access faults stalls its
 * queue; the engine queues the fault on the device and runs other queues.
 * simgpu_fault_work() resolves it: if the VM now maps the address for the
 * access, or the address lies in a CPU address mirror and the SVM code
 * could map it (simgpu_svm.c), the job retries; otherwise the fault is
 * cancelled and the job ends with -EFAULT (-ENOMEM when the kernel could
 * not allocate what mapping it took).
 */

/**
 * DOC: Locking
 *
 * &simgpu_exec_queue.submit_lock (mutex) serialises EXEC on a queue (arm
 * and push must be in order) against destroy; under it the engine lock
 * is taken. The engine lock protects a queue's job list and run state.
 * The device's fault_lock (spinlock) protects the fault list; it nests
 * inside nothing and nothing nests inside it. The per-file xarrays have
 * their own lock. The fault handler runs from a workqueue and may sleep;
 * it takes the engine lock to post its reply.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static int job_timeout_set(const char *val, const struct kernel_param *kp)
{
	return simgpu_param_set_uint(val, kp, simgpu_param_check_job_timeout);
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

static const char *hw_fence_driver_name(struct dma_fence *fence)
{
	return SIMGPU_DRIVER_NAME;
}

static const char *hw_fence_timeline_name(struct dma_fence *fence)
{
	return "simgpu-engine";
}

static const struct dma_fence_ops hw_fence_ops = {
	.get_driver_name = hw_fence_driver_name,
	.get_timeline_name = hw_fence_timeline_name,
};

static struct simgpu_job *to_job(struct drm_sched_job *sj)
{
	return container_of(sj, struct simgpu_job, base);
}

static void queue_release(struct kref *ref)
{
	struct simgpu_exec_queue *q = container_of(ref, typeof(*q), ref);

	atomic64_dec(&q->vm->sdev->stats.exec_queues);
	simgpu_vm_put(q->vm);
	mutex_destroy(&q->submit_lock);
	kfree(q);
}

/**
 * simgpu_exec_queue_put() - drop an exec queue reference
 * @q: the queue
 */
void simgpu_exec_queue_put(struct simgpu_exec_queue *q)
{
	kref_put(&q->ref, queue_release);
}

static struct simgpu_exec_queue *queue_lookup(struct drm_file *file, u32 id)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct simgpu_exec_queue *q;

	xa_lock(&sfile->queues);
	q = xa_load(&sfile->queues, id);
	if (q)
		kref_get(&q->ref);
	xa_unlock(&sfile->queues);
	return q;
}

/**
 * simgpu_exec_queue_account_end() - count a job that ended
 * @q: its queue
 * @err: how it ended
 *
 * Also wakes user-fence waiters, who may be watching the queue's failures.
 */
void simgpu_exec_queue_account_end(struct simgpu_exec_queue *q, int err)
{
	struct simgpu_device *sdev = q->vm->sdev;

	atomic64_inc(&q->completed);
	if (err) {
		atomic64_inc(&q->failed);
		atomic64_inc(&sdev->stats.jobs_failed);
	} else {
		atomic64_inc(&sdev->stats.jobs_completed);
	}
	wake_up_all(&sdev->ufence_wq);
}

/* Frees a job and drops the eventfds of its user fences. */
static void job_free(struct simgpu_job *job)
{
	simgpu_ufences_put(job->ufences, job->num_ufences);
	kfree(job);
}

/**
 * simgpu_job_end() - a job ended; called by its engine
 * @job: the job, with @job->error set
 *
 * Signals the hardware fence of a dma-fence queue's job (the scheduler
 * frees it later), or frees a long-running queue's job.
 */
void simgpu_job_end(struct simgpu_job *job)
{
	if (job->q->lr) {
		job_free(job);
		return;
	}
	if (job->error) {
		dma_fence_set_error(&job->base.s_fence->finished, job->error);
		dma_fence_set_error(job->hw_fence, job->error);
	}
	dma_fence_signal(job->hw_fence);
}

static struct dma_fence *queue_run_job(struct drm_sched_job *sj)
{
	struct simgpu_job *job = to_job(sj);
	struct simgpu_exec_queue *q = job->q;
	struct simgpu_engine *e = q->e;

	dma_fence_init(job->hw_fence, &hw_fence_ops, &q->fence_lock,
		       q->fence_ctx, ++q->fence_seqno);
	job->hw_fence_live = true;
	dma_fence_get(job->hw_fence);	/* the scheduler's */

	spin_lock(&e->lock);
	if (q->destroying) {
		spin_unlock(&e->lock);
		job->error = -ECANCELED;
		simgpu_exec_queue_account_end(q, job->error);
		simgpu_job_end(job);
		return job->hw_fence;
	}
	list_add_tail(&job->link, &q->pending);
	spin_unlock(&e->lock);

	simgpu_engine_kick(e);
	return job->hw_fence;
}

static void queue_free_job(struct drm_sched_job *sj)
{
	struct simgpu_job *job = to_job(sj);
	struct simgpu_exec_queue *q = job->q;

	drm_sched_job_cleanup(sj);
	if (job->hw_fence_live)
		dma_fence_put(job->hw_fence);
	else
		kfree(job->hw_fence);
	job_free(job);
	if (atomic_dec_and_test(&q->jobs_live))
		wake_up_all(&q->idle_wq);
	simgpu_exec_queue_put(q);	/* the job's */
}

static const struct drm_sched_backend_ops queue_sched_ops = {
	.run_job = queue_run_job,
	.free_job = queue_free_job,
};

#define SIMGPU_HW_CREDITS	64

/* A running scheduler for a new queue, from the pool or new. */
static struct simgpu_sched *sched_get(struct simgpu_device *sdev)
{
	const struct drm_sched_init_args args = {
		.ops = &queue_sched_ops,
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
		.credit_limit = SIMGPU_HW_CREDITS,
		.timeout = MAX_SCHEDULE_TIMEOUT,
		.name = "simgpu-queue",
		.dev = sdev->drm.dev,
	};
	struct simgpu_sched *s;
	int err;

	mutex_lock(&sdev->sched_pool_lock);
	s = list_first_entry_or_null(&sdev->sched_pool, struct simgpu_sched,
				     link);
	if (s)
		list_del(&s->link);
	mutex_unlock(&sdev->sched_pool_lock);

	if (!s) {
		s = kzalloc_obj(*s, GFP_KERNEL);
		if (!s)
			return ERR_PTR(-ENOMEM);
	}
	err = drm_sched_init(&s->base, &args);
	if (err) {
		kfree(s);
		return ERR_PTR(err);
	}
	return s;
}

/* Stop a scheduler whose jobs are all freed and return it to the pool. */
static void sched_put(struct simgpu_device *sdev, struct simgpu_sched *s)
{
	drm_sched_fini(&s->base);
	mutex_lock(&sdev->sched_pool_lock);
	list_add(&s->link, &sdev->sched_pool);
	mutex_unlock(&sdev->sched_pool_lock);
}

/**
 * simgpu_sched_pool_fini() - free the pooled schedulers of a device
 * @sdev: the device, being released: no queue is left
 */
void simgpu_sched_pool_fini(struct simgpu_device *sdev)
{
	struct simgpu_sched *s, *next;

	list_for_each_entry_safe(s, next, &sdev->sched_pool, link)
		kfree(s);
	INIT_LIST_HEAD(&sdev->sched_pool);
}

/* Stop a queue: cancel its jobs, take it off the engine, drop the id. */
static void queue_kill(struct simgpu_exec_queue *q)
{
	struct simgpu_device *sdev = q->vm->sdev;
	struct simgpu_engine *e = q->e;
	bool fault_ref = false;

	mutex_lock(&q->submit_lock);
	spin_lock(&e->lock);
	q->destroying = true;
	spin_unlock(&e->lock);
	mutex_unlock(&q->submit_lock);

	/* A fault not yet picked up is answered by ending the queue. */
	spin_lock(&sdev->fault_lock);
	if (!list_empty(&q->fault_link)) {
		list_del_init(&q->fault_link);
		fault_ref = true;
	}
	spin_unlock(&sdev->fault_lock);
	if (fault_ref)
		simgpu_exec_queue_put(q);

	simgpu_engine_kick(e);
	wait_for_completion(&q->removed);

	if (!q->lr) {
		drm_sched_entity_destroy(&q->entity);
		wait_event(q->idle_wq, !atomic_read(&q->jobs_live));
		sched_put(sdev, q->sched);
	}
	simgpu_exec_queue_put(q);
}

/**
 * simgpu_file_queues_fini() - destroy every exec queue of a closing file
 * @file: the file
 */
void simgpu_file_queues_fini(struct drm_file *file)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct simgpu_exec_queue *q;
	unsigned long id;

	xa_for_each(&sfile->queues, id, q)
		queue_kill(q);
	xa_destroy(&sfile->queues);
}

/**
 * simgpu_exec_queue_create_ioctl() - DRM_IOCTL_SIMGPU_EXEC_QUEUE_CREATE
 * @drm: the device
 * @data: &struct drm_simgpu_exec_queue_create
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_exec_queue_create_ioctl(struct drm_device *drm, void *data,
				   struct drm_file *file)
{
	struct simgpu_device *sdev = to_simgpu_device(drm);
	struct simgpu_file *sfile = file->driver_priv;
	struct drm_simgpu_exec_queue_create *args = data;
	struct simgpu_exec_queue *q;
	struct simgpu_engine *e;
	struct simgpu_vm *vm;
	u32 id;
	int err;

	if (args->extensions || args->flags || args->reserved[0] ||
	    args->reserved[1])
		return -EINVAL;
	e = simgpu_engine_find(sdev, args->engine_class, args->engine_instance);
	if (!e)
		return -EINVAL;
	vm = simgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;

	q = simgpu_inject(SIMGPU_INJECT_QUEUE) ? NULL :
					       kzalloc_obj(*q, GFP_KERNEL);
	if (!q) {
		err = -ENOMEM;
		goto err_vm;
	}
	kref_init(&q->ref);
	q->e = e;
	q->vm = vm;
	q->lr = simgpu_vm_fault_mode(vm);
	INIT_LIST_HEAD(&q->link);
	INIT_LIST_HEAD(&q->pending);
	INIT_LIST_HEAD(&q->fault_link);
	init_completion(&q->removed);
	mutex_init(&q->submit_lock);
	spin_lock_init(&q->fence_lock);
	init_waitqueue_head(&q->idle_wq);
	q->fence_ctx = dma_fence_context_alloc(1);

	if (!q->lr) {
		struct drm_gpu_scheduler *sched;

		q->sched = sched_get(sdev);
		if (IS_ERR(q->sched)) {
			err = PTR_ERR(q->sched);
			goto err_free;
		}
		sched = &q->sched->base;
		err = drm_sched_entity_init(&q->entity,
					    DRM_SCHED_PRIORITY_NORMAL,
					    &sched, 1, NULL);
		if (err) {
			sched_put(sdev, q->sched);
			goto err_free;
		}
	}

	/* Reserve the id; the queue is published only once complete. */
	err = xa_alloc(&sfile->queues, &id, NULL, xa_limit_32b, GFP_KERNEL);
	if (err)
		goto err_entity;
	q->id = id;

	kref_get(&q->ref);	/* the engine list's */
	spin_lock(&e->lock);
	list_add_tail(&q->link, &e->queues);
	spin_unlock(&e->lock);

	atomic64_inc(&sdev->stats.exec_queues);
	xa_store(&sfile->queues, id, q, GFP_KERNEL);
	args->exec_queue_id = id;
	return 0;

err_entity:
	if (!q->lr) {
		drm_sched_entity_destroy(&q->entity);
		sched_put(sdev, q->sched);
	}
err_free:
	mutex_destroy(&q->submit_lock);
	kfree(q);
err_vm:
	simgpu_vm_put(vm);
	return err;
}

/**
 * simgpu_exec_queue_destroy_ioctl() - DRM_IOCTL_SIMGPU_EXEC_QUEUE_DESTROY
 * @drm: the device
 * @data: &struct drm_simgpu_exec_queue_destroy
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_exec_queue_destroy_ioctl(struct drm_device *drm, void *data,
				    struct drm_file *file)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct drm_simgpu_exec_queue_destroy *args = data;
	struct simgpu_exec_queue *q;

	if (args->extensions || args->pad || args->reserved[0] ||
	    args->reserved[1])
		return -EINVAL;

	/* xa_erase() of index 0 would make 0 allocatable. */
	q = args->exec_queue_id ?
	    xa_erase(&sfile->queues, args->exec_queue_id) : NULL;
	if (!q)
		return -ENOENT;
	queue_kill(q);
	return 0;
}

/**
 * simgpu_exec_queue_state_ioctl() - DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE
 * @drm: the device
 * @data: &struct drm_simgpu_exec_queue_state
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_exec_queue_state_ioctl(struct drm_device *drm, void *data,
				  struct drm_file *file)
{
	struct drm_simgpu_exec_queue_state *args = data;
	struct simgpu_exec_queue *q;

	if (args->extensions || args->flags || args->pad ||
	    args->reserved[0] || args->reserved[1])
		return -EINVAL;

	q = queue_lookup(file, args->exec_queue_id);
	if (!q)
		return -ENOENT;

	spin_lock(&q->e->lock);
	args->error = q->error;
	args->fault_addr = q->fault_addr;
	spin_unlock(&q->e->lock);
	args->jobs_submitted = atomic64_read(&q->submitted);
	args->jobs_completed = atomic64_read(&q->completed);
	args->jobs_failed = atomic64_read(&q->failed);

	simgpu_exec_queue_put(q);
	return 0;
}

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

	if (args->extensions || args->reserved[0] || args->reserved[1] ||
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

	q = queue_lookup(file, args->exec_queue_id);
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
		job_free(job);
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
 * simgpu_wait_user_fence_ioctl() - DRM_IOCTL_SIMGPU_WAIT_USER_FENCE
 * @drm: the device
 * @data: &struct drm_simgpu_wait_user_fence
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_wait_user_fence_ioctl(struct drm_device *drm, void *data,
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
	    args->reserved[0] || args->reserved[1] ||
	    args->op > DRM_SIMGPU_CMP_LTE || !args->addr ||
	    !IS_ALIGNED(args->addr, 8))
		return -EINVAL;

	if (args->exec_queue_id) {
		q = queue_lookup(file, args->exec_queue_id);
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
		if (simgpu_compare(args->op, val & args->mask,
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

/*
 * 0 when the fault of @q can be retried: the VM maps the address now (a
 * bind raced with the fault), or the SVM mirror mapped it. Else the job's
 * error: -ENOMEM when memory to map it could not be had, -EFAULT for an
 * address the job may not access.
 */
static int fault_resolve(struct simgpu_exec_queue *q)
{
	int err = simgpu_vm_resolve_fault(q->vm, q->fault_addr_pending,
					  q->fault_access);

	if (!err || err == -EAGAIN)
		return 0;
	return err == -ENOMEM ? -ENOMEM : -EFAULT;
}

/**
 * simgpu_fault_work() - service the GPU page faults of a device
 * @work: &simgpu_device.fault_work
 *
 * Replies to each stalled queue: retry when the fault is resolved, else
 * cancel, which ends the job with -EFAULT (or -ENOMEM).
 */
void simgpu_fault_work(struct work_struct *work)
{
	struct simgpu_device *sdev = container_of(work, struct simgpu_device,
						  fault_work);
	struct simgpu_exec_queue *q;
	bool retry;
	int err;

	for (;;) {
		spin_lock(&sdev->fault_lock);
		q = list_first_entry_or_null(&sdev->faults,
					     struct simgpu_exec_queue,
					     fault_link);
		if (q)
			list_del_init(&q->fault_link);
		spin_unlock(&sdev->fault_lock);
		if (!q)
			return;

		err = fault_resolve(q);
		retry = !err;
		/* Counted before the job can go on, for whoever waits on it. */
		atomic64_inc(retry ? &sdev->stats.faults_retried :
				     &sdev->stats.faults_cancelled);
		atomic64_inc(retry ? &q->vm->faults_retried :
				     &q->vm->faults_cancelled);

		spin_lock(&q->e->lock);
		if (retry)
			q->stalled = false;
		else
			q->fault_cancel = err;
		spin_unlock(&q->e->lock);

		trace_simgpu_fault_done(sdev->id, q->id, q->fault_addr_pending,
					retry, ktime_us_delta(ktime_get(),
							      q->fault_time));
		simgpu_engine_kick(q->e);
		simgpu_exec_queue_put(q);
	}
}
