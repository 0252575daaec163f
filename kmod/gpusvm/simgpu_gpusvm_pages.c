// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the SVM core's page collection: a range's pages faulted in and
 * looked up with hmm_range_fault(), for the driver to map.
 */

#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>

#include "simgpu_gpusvm.h"

/**
 * DOC: Overview
 *
 * simgpu_gpusvm_range_get_pages() runs hmm_range_fault() over a range,
 * faulting pages in (for writing when the context asks and the VMA
 * allows it), with a fresh mmu_interval_read_begin() on every retry;
 * pages the device holds exclusive stay held. Device pages of the
 * mirror's owner come back as device-private pfns; a write collection
 * that finds device pages the CPU maps read-only brings them back to
 * system memory first and collects again. The driver then takes the
 * notifier lock for read, checks simgpu_gpusvm_range_retry_locked()
 * (mmu_interval_read_retry()) and, if nothing invalidated the range in
 * between, writes its page tables; otherwise it collects the pages again.
 * simgpu_gpusvm_range_in_devmem() asks where a range is without faulting
 * anything in.
 */

/**
 * DOC: Locking
 *
 * Collection runs with the driver lock held (asserted) and takes
 * mmap_lock for read around hmm_range_fault(); no lock of the core is
 * held across it. The commit check runs under the notifier lock the
 * driver took (simgpu_gpusvm_notifier_lock(), asserted). The order is
 * the core's: DOC: Locking in simgpu_gpusvm.c.
 */

static bool range_has_devmem(struct simgpu_gpusvm_range *range)
{
	unsigned long i, n = simgpu_gpusvm_range_size(range) >> PAGE_SHIFT;

	for (i = 0; i < n; i++)
		if (is_device_private_page(hmm_pfn_to_page(range->pfns[i])))
			return true;
	return false;
}

/*
 * hmm_range_fault() reports device-private pages of our owner as they
 * are, without faulting them for the permission asked: a page that was
 * made read-only (mprotect(), fork()) stays read-only in device memory.
 */
static bool range_has_ro_devmem(struct simgpu_gpusvm_range *range)
{
	unsigned long i, n = simgpu_gpusvm_range_size(range) >> PAGE_SHIFT;

	for (i = 0; i < n; i++)
		if (!(range->pfns[i] & HMM_PFN_WRITE) &&
		    is_device_private_page(hmm_pfn_to_page(range->pfns[i])))
			return true;
	return false;
}

/*
 * Bring such pages to system memory, where the next hmm_range_fault()
 * faults them writable (breaking copy-on-write as needed).
 */
static int range_ro_devmem_to_ram(struct simgpu_gpusvm *svm,
				  struct vm_area_struct *vma,
				  struct simgpu_gpusvm_range *range)
{
	long ret;

	WRITE_ONCE(range->migrating, true);
	ret = simgpu_gpusvm_vma_migrate_to_ram(vma, range->start,
					       simgpu_gpusvm_range_end(range),
					       svm->device_private_owner);
	WRITE_ONCE(range->migrating, false);
	return ret < 0 ? ret : -EBUSY;
}

/* An hmm_range over @range into its pfns, device pages of the owner kept. */
static struct hmm_range range_hmm(struct simgpu_gpusvm *svm,
				  struct simgpu_gpusvm_range *range)
{
	return (struct hmm_range) {
		.notifier = &range->notifier->notifier,
		.start = range->start,
		.end = simgpu_gpusvm_range_end(range),
		.hmm_pfns = range->pfns,
		.dev_private_owner = svm->device_private_owner,
	};
}

/**
 * simgpu_gpusvm_range_in_devmem() - whether a range sits in device memory
 * @svm: the mirror
 * @range: the range; its pfns are overwritten (collect them afterwards)
 *
 * Looks at the CPU page tables without faulting anything in. A migration
 * to device memory of a range whose pages all sit there already moves
 * nothing, but its collection would invalidate every device that maps the
 * range (devices that share the owner map each other's pages in place):
 * callers ask this first.
 *
 * Return: true when every page of @range is a device-private page of the
 * mirror's owner; false otherwise or when that cannot be told now.
 */
bool simgpu_gpusvm_range_in_devmem(struct simgpu_gpusvm *svm,
				   struct simgpu_gpusvm_range *range)
{
	unsigned long i, n = simgpu_gpusvm_range_size(range) >> PAGE_SHIFT;
	struct hmm_range hmm_range = range_hmm(svm, range);
	int err;

	simgpu_gpusvm_driver_lock_held(svm);

	if (!svm->device_private_owner || !mmget_not_zero(svm->mm))
		return false;
	hmm_range.notifier_seq = mmu_interval_read_begin(hmm_range.notifier);
	mmap_read_lock(svm->mm);
	err = hmm_range_fault(&hmm_range);
	mmap_read_unlock(svm->mm);
	mmput_async(svm->mm);
	if (err)
		return false;
	for (i = 0; i < n; i++)
		if (!(range->pfns[i] & HMM_PFN_VALID) ||
		    !is_device_private_page(hmm_pfn_to_page(range->pfns[i])))
			return false;
	return true;
}

/*
 * Ask hmm_range_fault() for @flags on every page of @range but those it
 * holds exclusive: faulting those would take them back from the device.
 */
static void range_request(struct simgpu_gpusvm_range *range,
			  struct hmm_range *hmm_range, unsigned long flags)
{
	unsigned long i, n = simgpu_gpusvm_range_size(range) >> PAGE_SHIFT;

	hmm_range->default_flags = 0;
	hmm_range->pfn_flags_mask = 0;
	if (!range->excl) {
		hmm_range->default_flags = flags;
		return;
	}
	hmm_range->pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
	for (i = 0; i < n; i++)
		range->pfns[i] = READ_ONCE(range->excl[i]) ? 0 : flags;
}

/*
 * hmm_range_fault() reported the held pages as absent (an exclusive entry
 * it was not asked to fault): put the held pages in. A hold that went
 * meanwhile means an invalidation ran: -EBUSY, collect again.
 */
static int range_fill_held(struct simgpu_gpusvm_range *range)
{
	unsigned long i, n = simgpu_gpusvm_range_size(range) >> PAGE_SHIFT;
	unsigned long pfn;

	if (!range->excl)
		return 0;
	for (i = 0; i < n; i++) {
		if (range->pfns[i] & HMM_PFN_VALID)
			continue;
		pfn = READ_ONCE(range->excl[i]);
		if (!pfn)
			return -EBUSY;
		range->pfns[i] = pfn;
	}
	return 0;
}

/**
 * simgpu_gpusvm_range_get_pages() - collect the CPU pages of a range
 * @svm: the mirror
 * @range: the range
 * @ctx: the policy: @ctx->write faults the pages in for writing (when the
 *	mapping allows it)
 *
 * Takes the range's permission from the CPU mapping as it is now (so a
 * later mprotect() is followed), then faults the pages in and records
 * them with the notifier sequence they are valid for. Device-private
 * pages of the mirror's owner are returned as they are; those of another
 * owner are migrated to system memory by the fault.
 *
 * Return: 0; -ERANGE when the range no longer lies in one VMA (remove it
 * and fault again); -EFAULT when the CPU mapping is gone, PROT_NONE or
 * cannot be faulted in; -ETIME when the range kept being invalidated for
 * HMM_RANGE_DEFAULT_TIMEOUT; -ENOMEM.
 */
int simgpu_gpusvm_range_get_pages(struct simgpu_gpusvm *svm,
				  struct simgpu_gpusvm_range *range,
				  const struct simgpu_gpusvm_ctx *ctx)
{
	unsigned long timeout = jiffies +
				msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct hmm_range hmm_range = range_hmm(svm, range);
	struct vm_area_struct *vma;
	unsigned long flags;
	int err;

	simgpu_gpusvm_driver_lock_held(svm);

	if (!mmget_not_zero(svm->mm))
		return -EFAULT;
	for (;;) {
		/* A fresh sequence on every try, or -EBUSY repeats forever. */
		hmm_range.notifier_seq =
			mmu_interval_read_begin(hmm_range.notifier);
		mmap_read_lock(svm->mm);
		vma = vma_lookup(svm->mm, range->start);
		if (!vma || !(vma->vm_flags & VM_READ)) {
			err = -EFAULT;
		} else if (vma->vm_end <= range->last) {
			err = -ERANGE;
		} else {
			range->read_only = !(vma->vm_flags & VM_WRITE);
			flags = HMM_PFN_REQ_FAULT |
				(ctx->write && !range->read_only ?
				 HMM_PFN_REQ_WRITE : 0);
			range_request(range, &hmm_range, flags);
			err = hmm_range_fault(&hmm_range);
			if (!err)
				err = range_fill_held(range);
			if (!err && flags & HMM_PFN_REQ_WRITE &&
			    range_has_ro_devmem(range))
				err = range_ro_devmem_to_ram(svm, vma, range);
		}
		mmap_read_unlock(svm->mm);
		if (err != -EBUSY)
			break;
		if (time_after(jiffies, timeout)) {
			err = -ETIME;
			break;
		}
		cond_resched();
	}
	mmput_async(svm->mm);
	if (err)
		return err;

	range->notifier_seq = hmm_range.notifier_seq;
	WRITE_ONCE(range->devmem_pages, range_has_devmem(range));
	return 0;
}

/**
 * simgpu_gpusvm_range_retry_locked() - did the pages go stale?
 * @svm: the mirror
 * @range: the range, pages collected
 *
 * Call with the notifier lock held, before committing a mapping.
 *
 * Return: true when an invalidation ran since the pages were collected:
 * collect them again.
 */
bool simgpu_gpusvm_range_retry_locked(struct simgpu_gpusvm *svm,
				      struct simgpu_gpusvm_range *range)
{
	lockdep_assert_held(&svm->notifier_lock);
	return mmu_interval_read_retry(&range->notifier->notifier,
				       range->notifier_seq);
}
