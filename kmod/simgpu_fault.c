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
