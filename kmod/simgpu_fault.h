/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_FAULT_H_
#define _SIMGPU_FAULT_H_

#include <linux/ktime.h>
#include <linux/types.h>

struct work_struct;

/**
 * enum simgpu_fault_stage - where the service time of a GPU fault goes
 * @SIMGPU_FAULT_QUEUE: from the engine's stall to the fault worker taking
 *	the fault
 * @SIMGPU_FAULT_LOCK: the worker waiting for the VM lock
 * @SIMGPU_FAULT_RANGE: finding or inserting the SVM range (and its
 *	notifier)
 * @SIMGPU_FAULT_MIGRATE: migrating the range, to VRAM or back
 * @SIMGPU_FAULT_PAGES: collecting its pages (hmm_range_fault() or the
 *	backend's equivalent, DMA mapping)
 * @SIMGPU_FAULT_BIND: writing the PTEs and invalidating the TLBs
 * @SIMGPU_FAULT_OTHER: the rest of the resolution: the page-table walk,
 *	attributes and policy, exclusive holds, buffer-object faults
 * @SIMGPU_FAULT_RESUME: from the worker's reply to the engine running the
 *	job again
 * @SIMGPU_FAULT_STAGES: how many there are
 */
enum simgpu_fault_stage {
	SIMGPU_FAULT_QUEUE,
	SIMGPU_FAULT_LOCK,
	SIMGPU_FAULT_RANGE,
	SIMGPU_FAULT_MIGRATE,
	SIMGPU_FAULT_PAGES,
	SIMGPU_FAULT_BIND,
	SIMGPU_FAULT_OTHER,
	SIMGPU_FAULT_RESUME,
	SIMGPU_FAULT_STAGES
};

/**
 * struct simgpu_fault_timing - the stages of one fault, as it is served
 * @ns: nanoseconds per stage
 * @mark: when the stage in progress began (ktime_get_ns())
 */
struct simgpu_fault_timing {
	u64 ns[SIMGPU_FAULT_STAGES];
	u64 mark;
};

/**
 * simgpu_fault_timing_mark() - end a stage of a fault
 * @t: the fault's timing, or NULL for work that is not a fault (a
 *	prefetch)
 * @stage: the stage that ends now
 *
 * Charges the time since the last mark to @stage; the next stage begins.
 */
static inline void simgpu_fault_timing_mark(struct simgpu_fault_timing *t,
					    enum simgpu_fault_stage stage)
{
	u64 now;

	if (!t)
		return;
	now = ktime_get_ns();
	t->ns[stage] += now - t->mark;
	t->mark = now;
}

extern const char *const simgpu_fault_stage_names[SIMGPU_FAULT_STAGES];
void simgpu_fault_work(struct work_struct *work);

#endif /* _SIMGPU_FAULT_H_ */
