/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_EXEC_QUEUE_H_
#define _SIMGPU_EXEC_QUEUE_H_

#include <linux/completion.h>
#include <linux/dma-fence.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <drm/gpu_scheduler.h>

#include "simgpu_engine.h"
#include "simgpu_mem.h"
#include "simgpu_sync.h"

struct drm_device;
struct drm_file;
struct simgpu_device;
struct simgpu_vm;

/**
 * struct simgpu_job - one EXEC
 * @base: the scheduler job (queues of VMs without fault mode)
 * @q: the queue
 * @link: on the queue's @pending list, under the engine lock
 * @hw_fence: signals when the engine finished the job (dma-fence queues);
 *	allocated at submission, initialised when the job reaches the engine
 * @hw_fence_live: @hw_fence was initialised
 * @pc: address of the next command
 * @progress: how far the current command got (resumable commands)
 * @st: scratch state of the current command
 * @deadline: end of the current WAIT command's own timeout, or 0
 * @started: when the engine first ran the job, or 0
 * @batch_done: BATCH_END was reached, or the job failed and has status
 *	fences; the user fences are being written
 * @ufence_next: user fences already written
 * @status_error: the job failed with this errno and writes its status
 *	fences before it ends with it, or 0
 * @status_fault_addr: with @status_error -EFAULT, the address that
 *	faulted
 * @error: 0 or why the job ended
 * @cancel: error to end the job with at its next step (timeout, destroy)
 * @ended: the job has completed
 * @num_ufences: entries in @ufences
 * @ufences: user fences to write when the batch ends, with their eventfd
 *	references
 */
struct simgpu_job {
	struct drm_sched_job base;
	struct simgpu_exec_queue *q;
	struct list_head link;
	struct dma_fence *hw_fence;
	bool hw_fence_live;
	u64 pc;
	u64 progress;
	u64 st[3];
	ktime_t deadline;
	ktime_t started;
	bool batch_done;
	unsigned int ufence_next;
	int status_error;
	u64 status_fault_addr;
	int error;
	int cancel;
	bool ended;
	unsigned int num_ufences;
	struct simgpu_ufence ufences[];
};

/**
 * struct simgpu_exec_queue - an exec queue
 * @ref: references: the file's id, the engine while the queue is listed
 *	and the fault handler while a fault is outstanding
 * @id: the per-file id
 * @e: the engine
 * @vm: the VM, one reference
 * @lr: the VM is in fault mode: long-running, no dma-fences
 * @link: on the engine's queue list (engine lock)
 * @pending: jobs handed to the engine, oldest first (engine lock)
 * @fault_link: on the device fault list (device fault lock)
 * @fault_addr_pending: the address of the outstanding fault
 * @fault_access: its kind
 * @fault_time: when it was raised
 * @fault_replied: when the fault worker replied, until the engine runs
 *	the queue again (engine lock; 0: none)
 * @stalled: the head job waits for a fault reply (engine lock)
 * @fault_cancel: the reply was cancel: end the head job with this errno
 *	(engine lock)
 * @poll_at: with a WAIT pending, when to look again (engine lock)
 * @destroying: the queue is being destroyed (engine lock)
 * @removed: completed once the engine dropped the queue
 * @submit_lock: serialises submissions with each other and with destroy
 * @error: error of the last failed job (engine lock)
 * @fault_addr: the faulting address of the last -EFAULT job
 * @submitted: jobs accepted
 * @completed: jobs ended
 * @failed: jobs ended with an error
 * @sched: the queue's scheduler (dma-fence queues), from the device pool
 * @entity: the queue's entity on @sched
 * @fence_ctx: dma-fence context of the hardware fences
 * @fence_seqno: last hardware fence sequence number
 * @fence_lock: lock of the hardware fences
 * @jobs_live: scheduler jobs not yet freed
 * @idle_wq: woken when @jobs_live drops to zero
 */
struct simgpu_exec_queue {
	struct kref ref;
	u32 id;
	struct simgpu_engine *e;
	struct simgpu_vm *vm;
	bool lr;
	struct list_head link;
	struct list_head pending;
	struct list_head fault_link;
	u64 fault_addr_pending;
	enum simgpu_access fault_access;
	ktime_t fault_time;
	ktime_t fault_replied;
	bool stalled;
	int fault_cancel;
	ktime_t poll_at;
	bool destroying;
	struct completion removed;
	struct mutex submit_lock;
	int error;
	u64 fault_addr;
	atomic64_t submitted;
	atomic64_t completed;
	atomic64_t failed;
	struct simgpu_sched *sched;
	struct drm_sched_entity entity;
	u64 fence_ctx;
	u64 fence_seqno;
	spinlock_t fence_lock;
	atomic_t jobs_live;
	wait_queue_head_t idle_wq;
};

/**
 * struct simgpu_sched - a scheduler of a dma-fence queue
 * @base: the scheduler
 * @link: on the device's pool while unused
 *
 * Scheduler fences point at their scheduler for as long as anyone holds
 * them (a syncobj can, indefinitely), so a scheduler's memory is never
 * freed with its queue: it returns to a per-device pool, stopped, and is
 * freed when the device is released.
 */
struct simgpu_sched {
	struct drm_gpu_scheduler base;
	struct list_head link;
};

struct simgpu_exec_queue *simgpu_exec_queue_lookup(struct drm_file *file,
						   u32 id);
void simgpu_exec_queue_put(struct simgpu_exec_queue *q);
void simgpu_exec_queue_account_end(struct simgpu_exec_queue *q, int err);
void simgpu_exec_queue_job_end(struct simgpu_job *job);
void simgpu_exec_queue_job_free(struct simgpu_job *job);
void simgpu_exec_queue_file_fini(struct drm_file *file);
void simgpu_exec_queue_sched_pool_fini(struct simgpu_device *sdev);

int simgpu_exec_queue_create_ioctl(struct drm_device *drm, void *data,
				   struct drm_file *file);
int simgpu_exec_queue_destroy_ioctl(struct drm_device *drm, void *data,
				    struct drm_file *file);
int simgpu_exec_queue_state_ioctl(struct drm_device *drm, void *data,
				  struct drm_file *file);

#endif /* _SIMGPU_EXEC_QUEUE_H_ */
