// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: exec queues: their lifetime, their schedulers and their jobs'
 * hand-over to the engine.
 */

#include <linux/dma-fence.h>
#include <linux/slab.h>

#include <drm/drm_file.h>

#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec_queue.h"
#include "simgpu_inject.h"
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
 *   (&struct simgpu_sched) because their fences outlive the queue. When a
 *   job's dependencies signalled, run_job() hands the job to the engine
 *   and returns its hardware fence, which the engine signals when the job
 *   ended, after copying the job's error onto the finished fence. The
 *   hardware fence is allocated by EXEC (simgpu_exec.c), so nothing on the
 *   signalling path allocates.
 * - long-running queues (fault-mode VM) publish no dma-fence, because a
 *   job that can fault may wait for memory allocation: EXEC hands their
 *   jobs to the engine itself; completion is seen through user fences
 *   (written by the engine when the batch ended) and
 *   DRM_IOCTL_SIMGPU_EXEC_QUEUE_STATE.
 *
 * Destroying a queue cancels its jobs (-ECANCELED), takes it off its
 * engine and waits for the scheduler's jobs to be freed before the
 * scheduler returns to the pool.
 */

/**
 * DOC: Locking
 *
 * &simgpu_exec_queue.submit_lock (mutex) serialises EXEC on a queue (arm
 * and push must be in order) against destroy; under it the engine lock
 * is taken. The engine lock protects a queue's job list and run state.
 * &simgpu_device.sched_pool_lock (mutex) protects the scheduler pool and
 * nests inside nothing. The per-file xarray has its own lock.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

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

/**
 * simgpu_exec_queue_lookup() - find an exec queue of a file
 * @file: the file
 * @id: the queue's id
 *
 * Return: the queue with a reference the caller drops with
 * simgpu_exec_queue_put(), or NULL.
 */
struct simgpu_exec_queue *simgpu_exec_queue_lookup(struct drm_file *file,
						   u32 id)
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

/**
 * simgpu_exec_queue_job_free() - free a job
 * @job: the job, not or no longer on an engine
 *
 * Drops the eventfds of its user fences too.
 */
void simgpu_exec_queue_job_free(struct simgpu_job *job)
{
	simgpu_sync_ufences_put(job->ufences, job->num_ufences);
	kfree(job);
}

/**
 * simgpu_exec_queue_job_end() - a job ended; called by its engine
 * @job: the job, with @job->error set
 *
 * Signals the hardware fence of a dma-fence queue's job (the scheduler
 * frees it later), or frees a long-running queue's job.
 */
void simgpu_exec_queue_job_end(struct simgpu_job *job)
{
	if (job->q->lr) {
		simgpu_exec_queue_job_free(job);
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
		simgpu_exec_queue_job_end(job);
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
	simgpu_exec_queue_job_free(job);
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
 * simgpu_exec_queue_sched_pool_fini() - free the pooled schedulers of a device
 * @sdev: the device, being released: no queue is left
 */
void simgpu_exec_queue_sched_pool_fini(struct simgpu_device *sdev)
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
 * simgpu_exec_queue_file_fini() - destroy every exec queue of a closing file
 * @file: the file
 */
void simgpu_exec_queue_file_fini(struct drm_file *file)
{
	struct simgpu_file *sfile = file->driver_priv;
	struct simgpu_exec_queue *q;
	unsigned long id;

	xa_for_each(&sfile->queues, id, q)
		queue_kill(q);
	xa_destroy(&sfile->queues);
}

/*
 * A new queue of @vm on @e, with its scheduler entity for a dma-fence
 * queue; it takes over the caller's reference to @vm only on success.
 */
static struct simgpu_exec_queue *queue_alloc(struct simgpu_device *sdev,
					     struct simgpu_engine *e,
					     struct simgpu_vm *vm)
{
	struct drm_gpu_scheduler *sched;
	struct simgpu_exec_queue *q;
	int err;

	q = simgpu_inject(SIMGPU_INJECT_QUEUE) ? NULL :
					       kzalloc_obj(*q, GFP_KERNEL);
	if (!q)
		return ERR_PTR(-ENOMEM);
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
	if (q->lr)
		return q;

	q->sched = sched_get(sdev);
	if (IS_ERR(q->sched)) {
		err = PTR_ERR(q->sched);
		goto err_free;
	}
	sched = &q->sched->base;
	err = drm_sched_entity_init(&q->entity, DRM_SCHED_PRIORITY_NORMAL,
				    &sched, 1, NULL);
	if (err)
		goto err_sched;
	return q;

err_sched:
	sched_put(sdev, q->sched);
err_free:
	mutex_destroy(&q->submit_lock);
	kfree(q);
	return ERR_PTR(err);
}

/* Undo queue_alloc() for a queue never published; @vm stays referenced. */
static void queue_free(struct simgpu_device *sdev, struct simgpu_exec_queue *q)
{
	if (!q->lr) {
		drm_sched_entity_destroy(&q->entity);
		sched_put(sdev, q->sched);
	}
	mutex_destroy(&q->submit_lock);
	kfree(q);
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

	if (args->extensions || args->flags ||
	    !simgpu_reserved_clear(args->reserved))
		return -EINVAL;
	e = simgpu_engine_find(sdev, args->engine_class, args->engine_instance);
	if (!e)
		return -EINVAL;
	vm = simgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;

	q = queue_alloc(sdev, e, vm);
	if (IS_ERR(q)) {
		err = PTR_ERR(q);
		goto err_vm;
	}

	/* Reserve the id; the queue is published only once complete. */
	err = xa_alloc(&sfile->queues, &id, NULL, xa_limit_32b, GFP_KERNEL);
	if (err)
		goto err_queue;
	q->id = id;

	kref_get(&q->ref);	/* the engine list's */
	spin_lock(&e->lock);
	list_add_tail(&q->link, &e->queues);
	spin_unlock(&e->lock);

	atomic64_inc(&sdev->stats.exec_queues);
	xa_store(&sfile->queues, id, q, GFP_KERNEL);
	args->exec_queue_id = id;
	return 0;

err_queue:
	queue_free(sdev, q);
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

	if (args->extensions || args->pad ||
	    !simgpu_reserved_clear(args->reserved))
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
	    !simgpu_reserved_clear(args->reserved))
		return -EINVAL;

	q = simgpu_exec_queue_lookup(file, args->exec_queue_id);
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
