// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the GPU page-fault handler.
 */

#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/workqueue.h>

#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec_queue.h"
#include "simgpu_fault.h"
#include "simgpu_trace.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * A job of a fault-mode VM whose access faults stalls its queue; the
 * engine queues the fault on the device and runs other queues.
 * simgpu_fault_work() resolves it: if the VM now maps the address for the
 * access, or the address lies in a CPU address mirror and the SVM code
 * could map it (simgpu_svm.c), the job retries; otherwise the fault is
 * cancelled and the job ends with -EFAULT (-ENOMEM when the kernel could
 * not allocate what mapping it took).
 *
 * Each fault is timed through its stages (&enum simgpu_fault_stage): the
 * worker marks the end of each one (simgpu_fault_timing_mark(), down into
 * the SVM code, for both backends alike) and adds the fault's times to
 * the device's counters (&simgpu_stats.fault_ns, fault_<stage>_ns in
 * debugfs simgpu_stats) before it replies; the engine adds the resume
 * stage when it runs the job again. simgpu-bench divides them by the
 * faults of a workload.
 */

/**
 * DOC: Locking
 *
 * &simgpu_device.fault_lock (spinlock) protects the fault list; it nests
 * inside nothing and nothing nests inside it. The handler runs from a
 * workqueue and may sleep and allocate (it is not on a dma-fence
 * signalling path: only long-running queues fault); it takes the engine
 * lock to post its reply.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

/*
 * 0 when the fault of @q can be retried: the VM maps the address now (a
 * bind raced with the fault), or the SVM mirror mapped it. Else the job's
 * error: -ENOMEM when memory to map it could not be had, -EFAULT for an
 * address the job may not access.
 */
/* The stages as debugfs names them. */
const char *const simgpu_fault_stage_names[SIMGPU_FAULT_STAGES] = {
	[SIMGPU_FAULT_QUEUE] = "queue",
	[SIMGPU_FAULT_LOCK] = "lock",
	[SIMGPU_FAULT_RANGE] = "range",
	[SIMGPU_FAULT_MIGRATE] = "migrate",
	[SIMGPU_FAULT_PAGES] = "pages",
	[SIMGPU_FAULT_BIND] = "bind",
	[SIMGPU_FAULT_OTHER] = "other",
	[SIMGPU_FAULT_RESUME] = "resume",
};

static int fault_resolve(struct simgpu_exec_queue *q,
			 struct simgpu_fault_timing *t)
{
	int err = simgpu_vm_resolve_fault(q->vm, q->fault_addr_pending,
					  q->fault_access, t);

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
	struct simgpu_fault_timing t;
	struct simgpu_exec_queue *q;
	unsigned int i;
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

		memset(&t, 0, sizeof(t));
		t.mark = ktime_get_ns();
		t.ns[SIMGPU_FAULT_QUEUE] = t.mark - ktime_to_ns(q->fault_time);
		err = fault_resolve(q, &t);
		simgpu_fault_timing_mark(&t, SIMGPU_FAULT_OTHER);
		for (i = 0; i < SIMGPU_FAULT_RESUME; i++)
			atomic64_add(t.ns[i], &sdev->stats.fault_ns[i]);
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
		q->fault_replied = ktime_get();
		spin_unlock(&q->e->lock);

		trace_simgpu_fault_done(sdev->id, q->id, q->fault_addr_pending,
					retry, ktime_us_delta(ktime_get(),
							      q->fault_time));
		simgpu_engine_kick(q->e);
		simgpu_exec_queue_put(q);
	}
}
