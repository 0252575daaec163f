// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the engines: threads that run the exec queues' jobs and the
 * kernel's copies.
 */

#include <linux/atomic.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec_queue.h"
#include "simgpu_isa.h"
#include "simgpu_mem.h"
#include "simgpu_params.h"
#include "simgpu_pt.h"
#include "simgpu_trace.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * Each engine is a kernel thread that executes the jobs of the exec
 * queues created on it. Queues are served round-robin: the engine runs
 * the head job of a queue for a time slice of SIMGPU_SLICE_US and then
 * moves to the next queue that has work, so a queue is preempted at a
 * command boundary (or between workgroups of a LAUNCH) and a queue that
 * waits (a WAIT command, a page fault) never blocks the others.
 *
 * Every memory access of a command goes through the GPU MMU
 * (simgpu_mem.c), with the engine's TLB.
 */

/**
 * DOC: Locking
 *
 * &simgpu_engine.lock (spinlock) protects the queue list, the queues' job
 * lists and their run state; it is a leaf except for the scheduler-fence
 * signalling done outside it. &simgpu_engine.tlb_lock belongs to the GPU
 * MMU (simgpu_mem.c). The engine thread holds no lock while it runs a
 * command; for a dma-fence queue it runs inside a dma-fence signalling
 * section, so lockdep checks that nothing on that path allocates memory
 * or waits for something that could.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

#define SIMGPU_SLICE_US		2000

#define SIMGPU_POLL_US		200

/**
 * simgpu_engine_kick() - tell an engine that work may have arrived
 * @e: the engine
 */
void simgpu_engine_kick(struct simgpu_engine *e)
{
	spin_lock(&e->lock);
	e->kicked = true;
	spin_unlock(&e->lock);
	wake_up(&e->wq);
}

/**
 * struct simgpu_copy_req - a page copy the kernel asks a copy engine for
 * @link: on &simgpu_engine.copies
 * @dst: destination pages
 * @src: source pages; a NULL entry zero-fills its destination
 * @npages: entries in @dst and @src
 * @done: completed by the engine
 */
struct simgpu_copy_req {
	struct list_head link;
	struct page **dst;
	struct page **src;
	unsigned long npages;
	struct completion done;
};

/**
 * simgpu_engine_zero_page() - zero-fill a page of device memory
 * @page: the page (a VRAM storage page or a system page)
 *
 * Stores 64 bits at a time rather than clear_highpage(): under TCG, where
 * simgpu runs, clear_page()'s ``rep stosb`` costs a translated iteration
 * per byte, and zero-filling a 2 MiB chunk (every GPU first touch of
 * never-touched memory that migrates) took 8 times as long as copying
 * one (2.2 ms against 0.28 ms, icount); eight-byte stores bring it to the
 * copy's 0.33 ms.
 */
void simgpu_engine_zero_page(struct page *page)
{
	u64 *p = kmap_local_page(page);

	memset64(p, 0, PAGE_SIZE / sizeof(u64));
	kunmap_local(p);
}

static void engine_run_copy(struct simgpu_copy_req *req)
{
	unsigned long i;

	for (i = 0; i < req->npages; i++) {
		if (req->src[i])
			copy_highpage(req->dst[i], req->src[i]);
		else
			simgpu_engine_zero_page(req->dst[i]);
		if (!(i % 64))
			cond_resched();
	}
}

/**
 * simgpu_engine_copy_pages() - copy pages through a copy engine
 * @sdev: the device
 * @dst: destination pages (system pages, or the VRAM storage pages)
 * @src: source pages; NULL entries zero-fill their destination
 * @npages: entries in @dst and @src
 *
 * The migration path of the device: the request goes ahead of every job
 * on the engine (at most one time slice of a running job delays it), so a
 * migration never waits behind a job that waits for that migration. Takes
 * only the engine's spinlock and sleeps until the copy is done; usable
 * from CPU page faults.
 *
 * Return: 0, or -ENODEV when the device has no copy engine.
 */
int simgpu_engine_copy_pages(struct simgpu_device *sdev, struct page **dst,
			     struct page **src, unsigned long npages)
{
	const struct simgpu_params *p = sdev->params;
	struct simgpu_copy_req req = {
		.dst = dst,
		.src = src,
		.npages = npages,
	};
	struct simgpu_engine *e;

	if (!p->num_copy_engines)
		return -ENODEV;
	e = &sdev->engines[p->num_compute_engines +
			   raw_smp_processor_id() % p->num_copy_engines];
	init_completion(&req.done);
	spin_lock(&e->lock);
	list_add_tail(&req.link, &e->copies);
	e->kicked = true;
	spin_unlock(&e->lock);
	wake_up(&e->wq);
	wait_for_completion(&req.done);
	atomic64_add(npages, &e->copied_pages);
	return 0;
}

/**
 * simgpu_engine_find() - look an engine up by class and instance
 * @sdev: the device
 * @engine_class: DRM_SIMGPU_ENGINE_CLASS_*
 * @instance: index within the class
 *
 * Return: the engine or NULL.
 */
struct simgpu_engine *simgpu_engine_find(struct simgpu_device *sdev,
					 u16 engine_class, u16 instance)
{
	unsigned int i;

	for (i = 0; i < sdev->num_engines; i++)
		if (sdev->engines[i].engine_class == engine_class &&
		    sdev->engines[i].instance == instance)
			return &sdev->engines[i];
	return NULL;
}

/* The next queue with work, round-robin; NULL and the next poll if none. */
static struct simgpu_exec_queue *engine_pick_locked(struct simgpu_engine *e,
						    ktime_t now,
						    ktime_t *next_poll)
{
	struct simgpu_exec_queue *q;

	lockdep_assert_held(&e->lock);

	list_for_each_entry(q, &e->queues, link) {
		if (q->destroying)
			goto found;
		if (list_empty(&q->pending) || (q->stalled && !q->fault_cancel))
			continue;
		if (q->poll_at && ktime_before(now, q->poll_at)) {
			*next_poll = min(*next_poll, q->poll_at);
			continue;
		}
		goto found;
	}
	return NULL;

found:
	list_move_tail(&q->link, &e->queues);
	kref_get(&q->ref);
	return q;
}

static void engine_end_job(struct simgpu_engine *e,
			   struct simgpu_exec_queue *q,
			   struct simgpu_job *job, int err, u64 fault_addr)
{
	spin_lock(&e->lock);
	list_del(&job->link);
	q->poll_at = 0;
	if (err) {
		q->error = err;
		if (err == -EFAULT)
			q->fault_addr = fault_addr;
	}
	spin_unlock(&e->lock);

	job->error = err;
	trace_simgpu_job_end(e->sdev->id, q->id, err);
	simgpu_exec_queue_account_end(q, err);
	simgpu_exec_queue_job_end(job);
}

/*
 * The queue is being destroyed: end its jobs and take it off the list.
 * Returns true once it is off; the caller then drops its references and
 * completes &simgpu_exec_queue.removed, so that the destroyer, who holds
 * the last reference, frees the queue (and maybe its VM) in process
 * context rather than on the engine thread.
 */
static bool engine_drop_queue(struct simgpu_engine *e,
			      struct simgpu_exec_queue *q)
{
	struct simgpu_job *job;

	for (;;) {
		spin_lock(&e->lock);
		job = list_first_entry_or_null(&q->pending, struct simgpu_job,
					       link);
		if (!job) {
			bool listed = !list_empty(&q->link);

			list_del_init(&q->link);
			spin_unlock(&e->lock);
			return listed;
		}
		spin_unlock(&e->lock);
		engine_end_job(e, q, job, -ECANCELED, 0);
	}
}

static void engine_raise_fault(struct simgpu_engine *e,
			       struct simgpu_exec_queue *q,
			       const struct simgpu_ctx *ctx)
{
	struct simgpu_device *sdev = e->sdev;

	spin_lock(&e->lock);
	q->stalled = true;
	spin_unlock(&e->lock);

	q->fault_addr_pending = ctx->fault_addr;
	q->fault_access = ctx->fault_access;
	q->fault_time = ktime_get();
	trace_simgpu_fault(sdev->id, q->id, ctx->fault_addr, ctx->fault_access);
	kref_get(&q->ref);	/* the fault handler's */
	spin_lock(&sdev->fault_lock);
	list_add_tail(&q->fault_link, &sdev->faults);
	spin_unlock(&sdev->fault_lock);
	atomic64_inc(&sdev->stats.faults);
	queue_work(system_dfl_wq, &sdev->fault_work);
}

/*
 * The job failed with @err (at @fault_addr for -EFAULT). A job with status
 * fences left to write writes them first: it keeps @err, goes on to the
 * fence writing, whose accesses may fault as any, with a job timeout of
 * its own, and is ended later with @err; true otherwise, with @err and
 * @fault_addr replaced by the first failure when the fence writing itself
 * failed. A job being cancelled with its queue ends at once.
 */
static bool job_fail(struct simgpu_job *job, int *err, u64 *fault_addr)
{
	unsigned int i;

	if (job->status_error) {
		*err = job->status_error;
		*fault_addr = job->status_fault_addr;
		return true;
	}
	if (*err == -ECANCELED)
		return true;
	for (i = job->ufence_next; i < job->num_ufences; i++)
		if (job->ufences[i].status)
			break;
	if (i == job->num_ufences)
		return true;

	job->status_error = *err;
	job->status_fault_addr = *fault_addr;
	job->batch_done = true;
	job->started = ktime_get();
	return false;
}

/* Run a queue for a slice; true when it was dropped for destruction. */
static bool engine_run_queue(struct simgpu_engine *e,
			     struct simgpu_exec_queue *q)
{
	struct simgpu_ctx ctx = { .e = e, .vm = q->vm };
	enum simgpu_step step;
	struct simgpu_job *job;
	ktime_t now = ktime_get();
	u64 fault_addr;
	bool cookie;
	int cancel;

	if (READ_ONCE(q->destroying)) {
		if (engine_drop_queue(e, q)) {
			simgpu_exec_queue_put(q);	/* the list's */
			return true;
		}
		return false;
	}

	spin_lock(&e->lock);
	job = list_first_entry_or_null(&q->pending, struct simgpu_job, link);
	if (!job) {
		spin_unlock(&e->lock);
		return false;
	}
	cancel = job->cancel;
	if (q->fault_cancel) {
		cancel = q->fault_cancel;
		q->fault_cancel = 0;
		q->stalled = false;
	}
	if (q->fault_replied) {
		atomic64_add(ktime_to_ns(ktime_sub(now, q->fault_replied)),
			     &e->sdev->stats.fault_ns[SIMGPU_FAULT_RESUME]);
		q->fault_replied = 0;
	}
	spin_unlock(&e->lock);

	if (!job->started)
		job->started = now;
	else if (!cancel &&
		 ktime_ms_delta(now, job->started) >
		 READ_ONCE(simgpu_job_timeout_ms))
		cancel = -ETIMEDOUT;
	if (cancel) {
		fault_addr = q->fault_addr_pending;
		if (job_fail(job, &cancel, &fault_addr))
			engine_end_job(e, q, job, cancel, fault_addr);
		return false;
	}

	cookie = q->lr ? false : dma_fence_begin_signalling();
	step = simgpu_isa_job_step(job, &ctx, ktime_add_us(now, SIMGPU_SLICE_US));
	if (!q->lr)
		dma_fence_end_signalling(cookie);

	fault_addr = ctx.fault_addr;
	switch (step) {
	case SIMGPU_STEP_DONE:
		cancel = job->error;
		if (!cancel || job_fail(job, &cancel, &fault_addr))
			engine_end_job(e, q, job, cancel, fault_addr);
		break;
	case SIMGPU_STEP_YIELD:
		atomic64_inc(&e->preemptions);
		break;
	case SIMGPU_STEP_WAIT:
		spin_lock(&e->lock);
		q->poll_at = ktime_add_us(ktime_get(), SIMGPU_POLL_US);
		spin_unlock(&e->lock);
		break;
	case SIMGPU_STEP_FAULT:
		if (q->lr) {
			engine_raise_fault(e, q, &ctx);
		} else {
			atomic64_inc(&e->sdev->stats.fatal_misses);
			cancel = -EFAULT;
			if (job_fail(job, &cancel, &fault_addr))
				engine_end_job(e, q, job, cancel, fault_addr);
		}
		break;
	}
	return false;
}

static int engine_thread(void *arg)
{
	struct simgpu_engine *e = arg;

	while (!kthread_should_stop()) {
		ktime_t now = ktime_get(), next = KTIME_MAX;
		struct simgpu_exec_queue *q = NULL;
		struct simgpu_copy_req *req;
		long timeout;

		spin_lock(&e->lock);
		e->kicked = false;
		req = list_first_entry_or_null(&e->copies,
					       struct simgpu_copy_req, link);
		if (req)
			list_del(&req->link);
		else
			q = engine_pick_locked(e, now, &next);
		spin_unlock(&e->lock);

		if (req) {
			engine_run_copy(req);
			complete(&req->done);
			continue;
		}

		if (q) {
			bool dropped = engine_run_queue(e, q);

			simgpu_exec_queue_put(q);
			if (dropped)
				complete(&q->removed);
			cond_resched();
			continue;
		}

		timeout = next == KTIME_MAX ? MAX_SCHEDULE_TIMEOUT :
			  usecs_to_jiffies(ktime_us_delta(next, now)) + 1;
		wait_event_interruptible_timeout(e->wq, READ_ONCE(e->kicked) ||
						 kthread_should_stop(),
						 timeout);
	}
	return 0;
}

static void engines_fini(struct drm_device *drm, void *arg)
{
	struct simgpu_device *sdev = arg;
	unsigned int i;

	/* Every file is closed; a fault reply may still be on its way. */
	flush_work(&sdev->fault_work);
	for (i = 0; i < sdev->num_engines; i++) {
		struct simgpu_engine *e = &sdev->engines[i];

		if (e->thread)
			kthread_stop(e->thread);
	}
	simgpu_exec_queue_sched_pool_fini(sdev);
}

/**
 * simgpu_engines_init() - create a device's engines and start them
 * @sdev: the device
 *
 * The engines stop when the DRM device is released, after the last file
 * closed.
 *
 * Return: 0 or a negative errno.
 */
int simgpu_engines_init(struct simgpu_device *sdev)
{
	const struct simgpu_params *p = sdev->params;
	struct drm_simgpu_engine_info info;
	struct simgpu_engine *e;
	unsigned int i;
	int err;

	sdev->num_engines = simgpu_params_num_engines(p);
	sdev->engines = drmm_kcalloc(&sdev->drm, sdev->num_engines,
				     sizeof(*sdev->engines), GFP_KERNEL);
	if (!sdev->engines)
		return -ENOMEM;

	err = drmm_add_action(&sdev->drm, engines_fini, sdev);
	if (err)
		return err;

	for (i = 0; i < sdev->num_engines; i++) {
		e = &sdev->engines[i];
		simgpu_params_engine_info(p, i, &info);
		e->sdev = sdev;
		e->engine_class = info.engine_class;
		e->instance = info.instance;
		spin_lock_init(&e->lock);
		spin_lock_init(&e->tlb_lock);
		INIT_LIST_HEAD(&e->queues);
		INIT_LIST_HEAD(&e->copies);
		init_waitqueue_head(&e->wq);
		e->thread = kthread_run(engine_thread, e, "simgpu%u-%s%u",
					sdev->id,
					e->engine_class ? "bcs" : "ccs",
					e->instance);
		if (IS_ERR(e->thread)) {
			err = PTR_ERR(e->thread);
			e->thread = NULL;
			return err;
		}

	}
	return 0;
}
