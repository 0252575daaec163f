// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the SVM core's exclusive holds: a page of a range held for
 * device atomics with make_device_exclusive().
 */

#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "simgpu_gpusvm.h"

/**
 * DOC: Overview
 *
 * A device atomic on a page in system memory needs the page to itself:
 * simgpu_gpusvm_range_make_exclusive() replaces the CPU's mapping of one
 * page by a device-exclusive entry and records the hold in the range, so
 * that later collections keep it. The hold ends with any invalidation of
 * the page; the page held last is the device's for the grab's timeslice
 * first (the notifier callback sleeps it out, simgpu_gpusvm.c), so that
 * the job that faulted for it gets to do its atomic.
 */

/**
 * DOC: Locking
 *
 * Called with the driver lock held (asserted); takes mmap_lock for read
 * around make_device_exclusive(), whose own invalidation runs the core's
 * notifier callback, then the notifier lock for read to record the hold
 * if nothing invalidated the range meanwhile (mmu_interval_read_retry()).
 * The order is the core's: DOC: Locking in simgpu_gpusvm.c.
 */

#if SIMGPU_HAVE_DEVMEM

/**
 * simgpu_gpusvm_range_make_exclusive() - hold a page of a range for the device
 * @svm: the mirror
 * @range: the range, writable, its pages collected
 * @addr: an address in the page to hold
 * @ctx: the policy: the @ctx->timeslice the page is the device's for
 *
 * Replaces the CPU mapping of the page by a device-exclusive entry
 * (make_device_exclusive()), bringing it back if it sits in device
 * memory and breaking copy-on-write, and records it in the range as held:
 * later collections leave it held, and the page held last is the device's
 * for @ctx->timeslice. A CPU access to the page takes it back
 * through an invalidation (after that timeslice), which ends the hold.
 * One page, not the range: a hold is taken back a page at a time, and
 * holding more only gives the CPU and other devices more to take back
 * from under a job that waits for one page. A PMD-mapped THP is
 * remapped by PTEs by make_device_exclusive() itself.
 *
 * Return: 1 when the page was taken now, 0 when the range held it already;
 * either way the range's pfns then hold the page (commit them like
 * collected pages); -EOPNOTSUPP for memory that is not anonymous private;
 * -EBUSY when the page could not be held, or the range was invalidated
 * meanwhile (collect again); -EFAULT, -ERANGE as
 * simgpu_gpusvm_range_get_pages(); -ENOMEM.
 */
int simgpu_gpusvm_range_make_exclusive(struct simgpu_gpusvm *svm,
				       struct simgpu_gpusvm_range *range,
				       u64 addr,
				       const struct simgpu_gpusvm_ctx *ctx)
{
	unsigned long i = (addr - range->start) >> PAGE_SHIFT;
	unsigned long npages = simgpu_gpusvm_range_size(range) >> PAGE_SHIFT;
	u64 start = range->start + ((u64)i << PAGE_SHIFT);
	struct mmu_interval_notifier *mni = &range->notifier->notifier;
	struct folio *folio = NULL;
	struct vm_area_struct *vma;
	struct page *page = NULL;
	unsigned long *excl;
	unsigned long seq;
	int err;

	simgpu_gpusvm_driver_lock_held(svm);

	if (range->excl && READ_ONCE(range->excl[i]))
		return 0;
	excl = range->excl ?: kvcalloc(npages, sizeof(*excl), GFP_KERNEL);
	if (!excl)
		return -ENOMEM;
	if (!mmget_not_zero(svm->mm)) {
		err = -EFAULT;
		goto err_free;
	}

	mmap_read_lock(svm->mm);
	vma = simgpu_gpusvm_range_vma(svm, range, true, &err);
	if (vma && !(vma->vm_flags & VM_WRITE))
		err = -EFAULT;
	/* Our own exclusive grab does not bump the sequence. */
	seq = mmu_interval_read_begin(mni);
	if (!err) {
		page = make_device_exclusive(svm->mm, start,
					     svm->device_private_owner, &folio);
		if (IS_ERR(page))
			err = PTR_ERR(page);
	}
	mmap_read_unlock(svm->mm);
	mmput_async(svm->mm);
	if (err)
		goto err_free;

	/* Recorded only if nothing took it back meanwhile. */
	down_read(&svm->notifier_lock);
	if (mmu_interval_read_retry(mni, seq)) {
		err = -EBUSY;
	} else {
		/* Zeroed before the notifier's timeslice check sees it. */
		smp_store_release(&range->excl, excl);
		WRITE_ONCE(excl[i], page_to_pfn(page) | HMM_PFN_VALID |
				    HMM_PFN_WRITE);
		range->pfns[i] = excl[i];
		WRITE_ONCE(range->excl_fresh, i);
		WRITE_ONCE(range->excl_expires, jiffies + ctx->timeslice);
	}
	up_read(&svm->notifier_lock);
	folio_unlock(folio);
	folio_put(folio);
	if (err)
		goto err_free;
	return 1;

err_free:
	if (excl != range->excl)
		kvfree(excl);
	return err;
}

#endif /* SIMGPU_HAVE_DEVMEM */
