// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: shared virtual memory, the driver side of the SVM core.
 */

#include <linux/hmm.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sizes.h>

#include "simgpu_drv.h"
#include "simgpu_trace.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * A CPU_ADDR_MIRROR MAP makes part of a fault-mode VM mirror the calling
 * process: the VM's mapping tree holds a mirror mapping there (no buffer
 * object), and the first one starts the SVM core (gpusvm/) on the
 * process's mm. A buffer object mapped inside a mirror splits it like any
 * other mapping, so the mirror pieces are exactly where SVM applies.
 *
 * A GPU fault in a mirror piece (simgpu_svm_fault_locked(), from the device's
 * fault worker) asks the core for the range around the address, bounded by
 * the piece, collects its pages with hmm_range_fault(), prepares the page
 * tables, and then, under the core's notifier lock and only if no
 * invalidation ran since the pages were collected, writes the PTEs: one
 * 2 MiB entry where the CPU maps the 2 MiB range with a PMD (THP), 4 KiB
 * entries otherwise, writable and atomic-capable when the CPU pages are.
 * Pages are faulted in for writing only for a write or atomic access, so a
 * GPU read does not break copy-on-write sharing (zero page, fork, private
 * file mappings); a later write faults again and upgrades the mapping.
 * The job then retries the access.
 *
 * The core calls back to zap a range's PTEs and flush the TLBs when the
 * CPU mapping changes, and to schedule the removal of ranges the CPU
 * unmapped, which runs from a worker under the VM lock.
 */

/**
 * DOC: Locking
 *
 * The VM lock is the driver lock of the core: fault handling, binds and
 * the garbage collector hold it. PTEs of a range are written under the
 * core's notifier lock (read) after simgpu_pt_prepare() created the
 * tables, so nothing allocates under it; the invalidate callback, under
 * the notifier lock (write), only clears leaves (simgpu_pt_zap()) and takes
 * the engines' TLB locks. Order: vm->lock -> mmap_lock -> notifier_lock
 * -> engine tlb_lock.
 */

static const u64 svm_chunk_sizes[] = { SZ_2M, SZ_64K, SZ_4K };

static unsigned int notifier_size = 512;
module_param(notifier_size, uint, 0444);
MODULE_PARM_DESC(notifier_size,
		 "SVM notifier window in MiB, a power of two (default 512)");

static struct simgpu_vm *svm_to_vm(struct simgpu_gpusvm *svm)
{
	return container_of(svm, struct simgpu_vm, svm);
}

static void svm_invalidate(struct simgpu_gpusvm *svm,
			   struct simgpu_gpusvm_range *range, u64 start,
			   u64 end)
{
	struct simgpu_vm *vm = svm_to_vm(svm);

	trace_simgpu_invalidate(start, end);
	simgpu_pt_zap(&vm->pt, start, end);
	simgpu_vm_tlb_invalidate(vm, start, end);
}

static void svm_schedule_gc(struct simgpu_gpusvm *svm)
{
	queue_work(system_unbound_wq, &svm_to_vm(svm)->svm_gc_work);
}

static const struct simgpu_gpusvm_ops svm_ops = {
	.invalidate = svm_invalidate,
	.schedule_gc = svm_schedule_gc,
};

/**
 * simgpu_svm_gc_work() - remove the SVM ranges the CPU unmapped
 * @work: &simgpu_vm.svm_gc_work
 */
void simgpu_svm_gc_work(struct work_struct *work)
{
	struct simgpu_vm *vm = container_of(work, struct simgpu_vm,
					    svm_gc_work);

	mutex_lock(&vm->lock);
	if (vm->svm_active)
		simgpu_gpusvm_garbage_collect(&vm->svm);
	mutex_unlock(&vm->lock);
}

/**
 * simgpu_svm_activate_locked() - make the VM mirror the calling process
 * @vm: the VM
 *
 * Return: 0, or -EINVAL when the VM already mirrors another process or the
 * notifier_size parameter is unusable.
 */
int simgpu_svm_activate_locked(struct simgpu_vm *vm)
{
	int err;

	lockdep_assert_held(&vm->lock);

	if (vm->svm_active)
		return vm->svm.mm == current->mm ? 0 : -EINVAL;
	if (!current->mm)
		return -EINVAL;

	err = simgpu_gpusvm_init(&vm->svm, current->mm, 0, TASK_SIZE,
				 (u64)notifier_size * SZ_1M, svm_chunk_sizes,
				 ARRAY_SIZE(svm_chunk_sizes), &svm_ops,
				 &vm->lock, &vm->sdev->svm_stats);
	if (err)
		return err;
	vm->svm_active = true;
	return 0;
}

/**
 * simgpu_svm_fini() - stop mirroring; the VM is being freed
 * @vm: the VM
 */
void simgpu_svm_fini(struct simgpu_vm *vm)
{
	/*
	 * Under the VM lock, so a running collector cannot remove the same
	 * ranges; once the notifiers are gone nothing schedules it again,
	 * and a collector still queued finds the mirror inactive.
	 */
	mutex_lock(&vm->lock);
	if (vm->svm_active) {
		simgpu_gpusvm_fini(&vm->svm);
		vm->svm_active = false;
	}
	mutex_unlock(&vm->lock);
	cancel_work_sync(&vm->svm_gc_work);
}

static u64 svm_pte(const struct simgpu_gpusvm_range *r, unsigned long pfn)
{
	u64 pte = page_to_phys(hmm_pfn_to_page(pfn)) | SIMGPU_PTE_VALID;

	if (pfn & HMM_PFN_WRITE && !r->read_only)
		pte |= SIMGPU_PTE_WRITE | SIMGPU_PTE_ATOMIC;
	return pte;
}

/* Map a range whose pages were collected; -EAGAIN if they went stale. */
static int svm_commit_locked(struct simgpu_vm *vm,
			     struct simgpu_gpusvm_range *r)
{
	struct simgpu_gpusvm *svm = &vm->svm;
	u64 size = simgpu_gpusvm_range_size(r);
	unsigned long i, n = size >> PAGE_SHIFT;
	bool huge;
	int err;

	lockdep_assert_held(&vm->lock);

	huge = size == SIMGPU_HUGE_SIZE &&
	       hmm_pfn_to_map_order(r->pfns[0]) >= 9 &&
	       IS_ALIGNED(page_to_phys(hmm_pfn_to_page(r->pfns[0])),
			  SIMGPU_HUGE_SIZE);
	err = simgpu_pt_prepare(&vm->pt, r->start, r->last + 1, huge);
	if (err == -EBUSY) {
		huge = false;
		err = simgpu_pt_prepare(&vm->pt, r->start, r->last + 1, false);
	}
	if (err)
		return err;
	/* A table of small leaves made way for a 2 MiB one: flush, free. */
	if (!list_empty(&vm->pt.stale))
		simgpu_vm_invalidate_locked(vm, r->start, r->last + 1);

	down_read(&svm->notifier_lock);
	if (READ_ONCE(r->unmapped) ||
	    simgpu_gpusvm_range_retry_locked(svm, r)) {
		up_read(&svm->notifier_lock);
		return -EAGAIN;
	}
	if (huge) {
		err = simgpu_pt_set_prepared(&vm->pt, r->start,
					     svm_pte(r, r->pfns[0]) |
					     SIMGPU_PTE_HUGE);
	} else {
		for (i = 0; i < n && !err; i++)
			err = simgpu_pt_set_prepared(&vm->pt,
						     r->start + (i << PAGE_SHIFT),
						     svm_pte(r, r->pfns[i]));
	}
	if (err) {
		simgpu_pt_zap(&vm->pt, r->start, r->last + 1);
		simgpu_vm_tlb_invalidate(vm, r->start, r->last + 1);
	} else {
		WRITE_ONCE(r->pages_valid, true);
	}
	up_read(&svm->notifier_lock);
	return err;
}

#define SVM_FAULT_TRIES	8

/**
 * simgpu_svm_fault_locked() - resolve a GPU fault in a CPU address mirror
 * @vm: the VM, its lock held
 * @addr: the faulting address
 * @access: the kind of access
 *
 * Return: 0 when the address is now mapped for @access; -EAGAIN when the
 * range kept being invalidated (let the job fault again); -EFAULT when the
 * address is not mirrored, not mapped by the process, or the access is not
 * allowed by the CPU mapping; -ENOMEM.
 */
int simgpu_svm_fault_locked(struct simgpu_vm *vm, u64 addr,
			    enum simgpu_access access)
{
	struct simgpu_gpusvm_range *r;
	unsigned int tries;
	u64 lo, hi;
	int err = -EAGAIN;

	lockdep_assert_held(&vm->lock);

	if (!vm->svm_active ||
	    !simgpu_vm_mirror_bounds_locked(vm, addr, &lo, &hi))
		return -EFAULT;

	for (tries = 0; tries < SVM_FAULT_TRIES && err == -EAGAIN; tries++) {
		r = simgpu_gpusvm_range_find_or_insert(&vm->svm, addr, lo, hi);
		if (IS_ERR(r)) {
			err = PTR_ERR(r);
			break;
		}
		err = simgpu_gpusvm_range_get_pages(&vm->svm, r,
						    access != SIMGPU_ACCESS_READ);
		if (err == -ERANGE) {
			/* The VMA changed under the range: make a new one. */
			simgpu_gpusvm_range_remove(&vm->svm, r);
			err = -EAGAIN;
			continue;
		}
		if (err == -EPERM)
			err = -EFAULT;
		/* Kept being invalidated: not the job's fault, try again. */
		if (err == -ETIME)
			err = -EAGAIN;
		if (!err && access != SIMGPU_ACCESS_READ && r->read_only)
			err = -EFAULT;
		if (!err)
			err = svm_commit_locked(vm, r);
	}
	return err;
}
