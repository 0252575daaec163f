// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the "kernel" SVM backend, on the kernel's drm_gpusvm.
 */

#include <linux/bitmap.h>
#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>
#include <drm/drm_pagemap_util.h>

#include "simgpu_dpagemap.h"
#include "simgpu_drv.h"
#include "simgpu_svm.h"
#include "simgpu_svm_backend.h"
#include "simgpu_svm_kernel.h"
#include "simgpu_svm_kernel_migrate.h"
#include "simgpu_trace.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * The kernel backend hands ranges, notifiers and page collection to
 * drm_gpusvm, as Xe does: a range is a &struct drm_gpusvm_range with the
 * &struct drm_gpusvm_pages of this device beside it (the 1:1 layout of
 * drm_gpusvm's DOC), found or created around a GPU fault
 * (drm_gpusvm_range_find_or_insert()) and filled with
 * drm_gpusvm_get_pages(), which faults the CPU pages in with
 * hmm_range_fault() and DMA-maps them; the driver writes the PTEs from
 * the DMA addresses after drm_gpusvm_pages_valid() under the notifier
 * lock. The invalidate callback zaps a range's PTEs, flushes the TLBs and
 * DMA-unmaps its pages; on an unmap it marks the range and queues it for
 * the VM's garbage collector, which removes it under the VM lock.
 *
 * What drm_gpusvm leaves to the driver, done around it here:
 *
 * - Read faults collect read-only (drm_gpusvm faults everything writable
 *   unless &drm_gpusvm_ctx.read_only, and would break copy-on-write on a
 *   GPU read); a later write fault DMA-unmaps the range's pages and
 *   collects them again writable.
 * - GPU atomics that need a page held exclusive take it with
 *   make_device_exclusive() and keep the pages valid across the
 *   invalidation their own grab raises (owner: this backend's mirror).
 * - A write collects device pages for writing even where the CPU maps
 *   them read-only (hmm_range_fault() reports device-private entries
 *   without faulting them, and drm_gpusvm_get_pages() does not look at
 *   HMM_PFN_WRITE for them): the backend checks the VMA after collecting
 *   (docs/upstream-findings.md).
 * - A range with a page the CPU no longer maps (drm_gpusvm_get_pages()
 *   fails on it) is reported as -ERANGE so the fault path removes it and
 *   inserts it again, as the simgpu core does for a range no longer in
 *   one VMA.
 *
 * VRAM is each device's drm_pagemap (simgpu_dpagemap.c). A VM joins the
 * drm_pagemap owner of its device's link group and passes it to
 * drm_gpusvm_get_pages() as the device-private owner, with mixed ranges
 * allowed (pages that could not move stay in system memory): pages in
 * this device's or a linked device's VRAM come back as driver addresses,
 * mapped in place. A migration first asks drm_gpusvm_scan_mm() where the
 * range is (nothing to do when it is all in the target VRAM already),
 * then calls drm_pagemap_migrate_to_devmem(), which moves all of the
 * range or nothing: a range with pages both in system memory and VRAM is
 * brought back with drm_gpusvm_range_evict() first, as is one whose
 * pages sit in two devices' VRAM when drm_gpusvm_get_pages() refuses to
 * map it. A CPU fault on a device page is drm_pagemap's: it moves the
 * whole chunk back once the migration's timeslice is over; the driver
 * counts it as a bounce of the range from the MMU_NOTIFY_MIGRATE
 * invalidation that carries the owner.
 */

/**
 * DOC: Locking
 *
 * The VM lock is the driver lock drm_gpusvm is told about
 * (drm_gpusvm_driver_set_lock()): ranges are inserted, collected and
 * removed under it. drm_gpusvm's notifier lock (an rw_semaphore) is held
 * for write around the invalidate callback, which takes only the engines'
 * TLB locks and &simgpu_svm_kernel.gc_lock, and allocates nothing; the
 * commit holds it for read. Order: vm->lock -> mmap_lock -> notifier lock
 * -> engine tlb_lock; gc_lock is a leaf.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static const unsigned long ksvm_chunk_sizes[SIMGPU_SVM_NUM_CHUNKS] =
	SIMGPU_SVM_CHUNKS;

static struct drm_gpusvm_range *ksvm_range_alloc(struct drm_gpusvm *gpusvm)
{
	struct ksvm_range *r = kzalloc_obj(*r, GFP_KERNEL);

	if (!r)
		return NULL;
	drm_gpusvm_init_pages(&r->pages, &to_ksvm(gpusvm)->vm->sdev->drm);
	INIT_LIST_HEAD(&r->gc_link);
	return &r->base;
}

static void ksvm_range_free(struct drm_gpusvm_range *range)
{
	struct ksvm_range *r = to_kr(range);

	drm_gpusvm_free_pages(range->gpusvm, &r->pages, kr_npages(r));
	bitmap_free(r->excl);
	kfree(r);
}

static void ksvm_invalidate(struct drm_gpusvm *gpusvm,
			    struct drm_gpusvm_notifier *notifier,
			    const struct mmu_notifier_range *mmu_range)
{
	struct simgpu_svm_kernel *ks = to_ksvm(gpusvm);
	struct simgpu_vm *vm = ks->vm;
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct drm_gpusvm_range *range = NULL;
	bool hit = false, gc = false;
	u64 start, end;

	lockdep_assert_held_write(&gpusvm->notifier_lock);

	/* Our own exclusive grab: the pages stay where they are. */
	if (mmu_range->event == MMU_NOTIFY_EXCLUSIVE &&
	    mmu_range->owner == ks)
		return;

	drm_gpusvm_for_each_range(range, notifier, mmu_range->start,
				  mmu_range->end) {
		struct ksvm_range *r = to_kr(range);

		/* VRAM pages leaving through drm_pagemap: a CPU fault. */
		if (mmu_range->event == MMU_NOTIFY_MIGRATE &&
		    mmu_range->owner && mmu_range->owner == ks->peer.owner &&
		    r->pages.flags.has_devmem_pages)
			WRITE_ONCE(r->bounces, r->bounces + 1);
		WRITE_ONCE(r->devmem_hint, false);
		start = drm_gpusvm_range_start(range);
		end = drm_gpusvm_range_end(range);
		hit = true;
		trace_simgpu_invalidate(start, end);
		simgpu_pt_zap(&vm->pt, start, end);
		simgpu_vm_tlb_invalidate(vm, start, end);
		drm_gpusvm_unmap_pages(gpusvm, &r->pages, kr_npages(r), &ctx);
		if (r->excl)
			bitmap_zero(r->excl, kr_npages(r));
		if (mmu_range->event != MMU_NOTIFY_UNMAP)
			continue;
		drm_gpusvm_range_set_unmapped(range, &r->pages, 1, mmu_range);
		spin_lock(&ks->gc_lock);
		if (list_empty(&r->gc_link))
			list_add_tail(&r->gc_link, &ks->gc_list);
		spin_unlock(&ks->gc_lock);
		gc = true;
	}
	if (hit)
		atomic64_inc(&vm->sdev->svm_stats.invalidations);
	if (gc)
		queue_work(system_dfl_wq, &vm->svm_gc_work);
}

static const struct drm_gpusvm_ops ksvm_ops = {
	.range_alloc = ksvm_range_alloc,
	.range_free = ksvm_range_free,
	.invalidate = ksvm_invalidate,
};

static int ksvm_init(struct simgpu_vm *vm, struct mm_struct *mm)
{
	struct simgpu_svm_kernel *ks;
	int err;

	lockdep_assert_held(&vm->lock);

	ks = kzalloc_obj(*ks, GFP_KERNEL);
	if (!ks)
		return -ENOMEM;
	ks->vm = vm;
	spin_lock_init(&ks->gc_lock);
	INIT_LIST_HEAD(&ks->gc_list);
	err = drm_gpusvm_init(&ks->gpusvm, "simgpu", mm, 0,
			      TASK_SIZE, simgpu_svm_notifier_size(), &ksvm_ops,
			      ksvm_chunk_sizes, ARRAY_SIZE(ksvm_chunk_sizes));
	if (err) {
		kfree(ks);
		return err;
	}
	drm_gpusvm_driver_set_lock(&ks->gpusvm, &vm->lock);
	if (IS_ENABLED(CONFIG_DEVICE_PRIVATE) && vm->sdev->dmem.enabled) {
		err = simgpu_dpagemap_acquire_owner(&ks->peer, vm->sdev);
		if (err)
			goto err_gpusvm;
		ks->dpagemap = simgpu_dpagemap_get(vm->sdev);
		if (IS_ERR(ks->dpagemap)) {
			err = PTR_ERR(ks->dpagemap);
			goto err_owner;
		}
	}
	vm->svm_kernel = ks;
	return 0;

err_owner:
	drm_pagemap_release_owner(&ks->peer);
err_gpusvm:
	drm_gpusvm_fini(&ks->gpusvm);
	kfree(ks);
	return err;
}

/* Take @r out: zap and flush its PTEs, DMA-unmap its pages, remove it. */
static void ksvm_range_remove_locked(struct simgpu_svm_kernel *ks,
				     struct ksvm_range *r)
{
	struct drm_gpusvm_ctx ctx = {};
	struct simgpu_vm *vm = ks->vm;
	u64 start = drm_gpusvm_range_start(&r->base);
	u64 end = drm_gpusvm_range_end(&r->base);

	lockdep_assert_held(&vm->lock);

	simgpu_pt_zap(&vm->pt, start, end);
	simgpu_vm_tlb_invalidate(vm, start, end);
	drm_gpusvm_unmap_pages(&ks->gpusvm, &r->pages, kr_npages(r), &ctx);
	if (r->counted)
		atomic64_inc(&vm->sdev->svm_stats.ranges_removed);
	trace_simgpu_svm_range_remove(start, end);
	/*
	 * Off the collector's list only once out of the tree: an unmap
	 * until then queues it again. The reference keeps it until then.
	 */
	drm_gpusvm_range_get(&r->base);
	drm_gpusvm_range_remove(&ks->gpusvm, &r->base);
	spin_lock(&ks->gc_lock);
	list_del_init(&r->gc_link);
	spin_unlock(&ks->gc_lock);
	drm_gpusvm_range_put(&r->base);
}

static void ksvm_garbage_collect(struct simgpu_vm *vm)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);
	struct ksvm_range *r;

	lockdep_assert_held(&vm->lock);

	for (;;) {
		spin_lock(&ks->gc_lock);
		r = list_first_entry_or_null(&ks->gc_list, struct ksvm_range,
					     gc_link);
		spin_unlock(&ks->gc_lock);
		if (!r)
			break;
		ksvm_range_remove_locked(ks, r);
	}
}

static void ksvm_remove_ranges(struct simgpu_vm *vm, u64 start, u64 end)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);
	struct drm_gpusvm_notifier *notifier, *next_notifier;
	struct drm_gpusvm_range *range, *next;

	lockdep_assert_held(&vm->lock);

	drm_gpusvm_for_each_notifier_safe(notifier, next_notifier,
					  &ks->gpusvm, start, end)
		drm_gpusvm_for_each_range_safe(range, next, notifier, start,
					       end)
			ksvm_range_remove_locked(ks, to_kr(range));
}

static void ksvm_fini(struct simgpu_vm *vm)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);

	lockdep_assert_held(&vm->lock);

	ksvm_remove_ranges(vm, 0, ULONG_MAX);
	drm_gpusvm_fini(&ks->gpusvm);
	drm_pagemap_put(ks->dpagemap);
	drm_pagemap_release_owner(&ks->peer);
	vm->svm_kernel = NULL;
	kfree(ks);
}

static void ksvm_count_ranges(struct simgpu_vm *vm, unsigned long *counts)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);
	struct drm_gpusvm_notifier *notifier;
	struct drm_gpusvm_range *range;

	lockdep_assert_held(&vm->lock);

	drm_gpusvm_for_each_notifier(notifier, &ks->gpusvm, 0, ULONG_MAX) {
		range = NULL;
		drm_gpusvm_for_each_range(range, notifier, 0, ULONG_MAX)
			counts[simgpu_svm_chunk_index(drm_gpusvm_range_size(range))]++;
	}
}

static struct simgpu_svm_range *
ksvm_range_find_or_insert(struct simgpu_vm *vm, u64 addr, u64 lo, u64 hi)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);
	/*
	 * Read-only here: drm_gpusvm refuses a writable range of a read-only
	 * VMA, and a read or a prefetch may map it read-only; writes are
	 * checked when the pages are collected. Chunks are chosen as the
	 * simgpu core does, by the VMA and the mirror piece only (no
	 * check_pages_threshold: a 64 KiB range of untouched pages is made
	 * whole), so the two backends' ranges compare.
	 */
	struct drm_gpusvm_ctx ctx = { .read_only = true };
	struct drm_gpusvm_range *range;
	struct ksvm_range *r;

	lockdep_assert_held(&vm->lock);

	range = drm_gpusvm_range_find_or_insert(&ks->gpusvm, addr, lo, hi,
						&ctx);
	if (IS_ERR(range))
		/* No VMA there, an I/O mapping, or no chunk fits it. */
		return ERR_PTR(PTR_ERR(range) == -ENOMEM ? -ENOMEM : -EFAULT);
	r = to_kr(range);
	if (!r->counted) {
		r->counted = true;
		atomic64_inc(&vm->sdev->svm_stats.ranges_created);
		atomic64_inc(&vm->sdev->svm_stats.ranges_by_chunk
			     [simgpu_svm_chunk_index(drm_gpusvm_range_size(range))]);
		trace_simgpu_svm_range_create(drm_gpusvm_range_start(range),
					      drm_gpusvm_range_end(range));
	}
	return to_svm_range(r);
}

static void ksvm_range_remove(struct simgpu_vm *vm,
			      struct simgpu_svm_range *range)
{
	ksvm_range_remove_locked(vm_ksvm(vm), kr(range));
}

static u64 ksvm_range_start(const struct simgpu_svm_range *range)
{
	return drm_gpusvm_range_start(&kr(range)->base);
}

static u64 ksvm_range_end(const struct simgpu_svm_range *range)
{
	return drm_gpusvm_range_end(&kr(range)->base);
}

static bool ksvm_range_read_only(const struct simgpu_svm_range *range)
{
	return READ_ONCE(kr(range)->read_only);
}

static unsigned int ksvm_range_cpu_bounces(const struct simgpu_svm_range *r)
{
	return READ_ONCE(kr(r)->bounces);
}

static int ksvm_get_pages(struct simgpu_svm_kernel *ks, struct ksvm_range *r,
			  bool read_only)
{
	struct drm_gpusvm_ctx ctx = {
		.read_only = read_only,
		.device_private_page_owner = ks->peer.owner,
		.allow_mixed = true,
	};
	int err;

	err = drm_gpusvm_get_pages(&ks->gpusvm, &r->pages, ks->gpusvm.mm,
				   &r->base.notifier->notifier,
				   drm_gpusvm_range_start(&r->base),
				   drm_gpusvm_range_end(&r->base), &ctx);
	/* Pages in two devices' VRAM: one pagemap per range, so back first. */
	if (err == -EOPNOTSUPP && ks->peer.owner &&
	    !drm_gpusvm_range_evict(&ks->gpusvm, &r->base))
		err = drm_gpusvm_get_pages(&ks->gpusvm, &r->pages,
					   ks->gpusvm.mm,
					   &r->base.notifier->notifier,
					   drm_gpusvm_range_start(&r->base),
					   drm_gpusvm_range_end(&r->base),
					   &ctx);
	return err;
}

/*
 * hmm_range_fault() reports device pages of the owner as they are,
 * without faulting them for the access asked, and drm_gpusvm_get_pages()
 * keeps no HMM_PFN_WRITE: a device page the CPU made read-only since it
 * moved (mprotect(), or fork() sharing it copy-on-write) would be mapped
 * for writing. Look at the CPU page table again after the collection: a
 * change after this look invalidates the collected pages, which the
 * commit sees.
 */
static bool ksvm_devmem_read_only(struct simgpu_svm_kernel *ks,
				  struct ksvm_range *r)
{
	struct mm_struct *mm = ks->gpusvm.mm;
	unsigned long i, npages = kr_npages(r);
	struct hmm_range hr = {
		.notifier = &r->base.notifier->notifier,
		.start = drm_gpusvm_range_start(&r->base),
		.end = drm_gpusvm_range_end(&r->base),
		.dev_private_owner = ks->peer.owner,
	};
	bool ro = true;
	int err;

	hr.hmm_pfns = kvmalloc_array(npages, sizeof(*hr.hmm_pfns), GFP_KERNEL);
	if (!hr.hmm_pfns)
		return true;
	if (!mmget_not_zero(mm))
		goto out;
	do {
		hr.notifier_seq = mmu_interval_read_begin(hr.notifier);
		mmap_read_lock(mm);
		err = hmm_range_fault(&hr);
		mmap_read_unlock(mm);
	} while (err == -EBUSY);
	mmput(mm);
	if (err)
		goto out;
	ro = false;
	for (i = 0; i < npages && !ro; i++)
		ro = hr.hmm_pfns[i] & HMM_PFN_VALID &&
		     !(hr.hmm_pfns[i] & HMM_PFN_WRITE) &&
		     is_device_private_page(hmm_pfn_to_page(hr.hmm_pfns[i]));
out:
	kvfree(hr.hmm_pfns);
	return ro;
}

/*
 * Collect @r's pages for writing where @write, else read-only. Device
 * pages the CPU maps read-only: for a write, bring them to system memory,
 * where the collection faults them writable (breaking copy-on-write) or
 * finds the mapping read-only (-EPERM); for a read, collect read-only.
 */
static int ksvm_collect(struct simgpu_svm_kernel *ks, struct ksvm_range *r,
			bool *write, bool fault_write)
{
	struct drm_gpusvm_ctx unmap = {};
	int err;

	/* Collected read-only before: drop them to collect them writable. */
	if (*write && !r->write)
		drm_gpusvm_unmap_pages(&ks->gpusvm, &r->pages, kr_npages(r),
				       &unmap);
	err = ksvm_get_pages(ks, r, !*write);
	if (err || !*write || !r->pages.flags.has_devmem_pages ||
	    !ksvm_devmem_read_only(ks, r))
		return err;
	if (!fault_write) {
		*write = false;
		return 0;
	}
	err = drm_gpusvm_range_evict(&ks->gpusvm, &r->base);
	if (!err)
		err = ksvm_get_pages(ks, r, false);
	if (!err && r->pages.flags.has_devmem_pages &&
	    ksvm_devmem_read_only(ks, r))
		err = -ETIME;
	return err;
}

static int ksvm_range_get_pages(struct simgpu_vm *vm,
				struct simgpu_svm_range *range,
				const struct simgpu_svm_ctx *sctx)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);
	struct ksvm_range *r = kr(range);
	struct drm_gpusvm_range_flags rflags;
	struct drm_gpusvm_pages_flags pflags;
	/*
	 * A range in VRAM is collected writable for a read too: device
	 * pages share nothing copy-on-write unless the CPU says so.
	 */
	bool write = sctx->write || READ_ONCE(r->devmem_hint);
	bool tried_write = write;
	int err;

	lockdep_assert_held(&vm->lock);

	err = ksvm_collect(ks, r, &write, sctx->write);
	if (err == -EPERM && tried_write) {
		/* The CPU mapping is read-only: map it so. */
		WRITE_ONCE(r->read_only, true);
		write = false;
		err = ksvm_get_pages(ks, r, true);
	}
	if (!err) {
		/* A write collection: the CPU mapping allows writes now. */
		if (write)
			WRITE_ONCE(r->read_only, false);
		r->write = write;
		r->walk_page = 0;
		r->walk_entry = 0;
		return 0;
	}
	/* A page the CPU unmapped, or a range now over two VMAs. */
	rflags.__flags = READ_ONCE(r->base.flags.__flags);
	pflags.__flags = READ_ONCE(r->pages.flags.__flags);
	if (err == -EFAULT && (rflags.unmapped || pflags.unmapped))
		return -ERANGE;
	if (err == -EOPNOTSUPP)
		return -ERANGE;
	/* drm_gpusvm's HMM timeout: invalidated all along. */
	if (err == -EBUSY)
		return -ETIME;
	return err;
}

static void ksvm_range_page(struct simgpu_vm *vm,
			    struct simgpu_svm_range *range, unsigned long i,
			    struct simgpu_svm_page *page)
{
	struct ksvm_range *r = kr(range);
	struct drm_pagemap_addr *a;
	unsigned long pos = 0, j = 0;

	/* Entries cover 1 << order pages each; the walk goes in order. */
	if (i >= r->walk_page) {
		pos = r->walk_page;
		j = r->walk_entry;
	}
	for (;;) {
		a = &r->pages.dma_addr[j];
		if (i < pos + (1UL << a->order))
			break;
		pos += 1UL << a->order;
		j++;
	}
	r->walk_page = pos;
	r->walk_entry = j;

	page->addr = a->addr + ((u64)(i - pos) << PAGE_SHIFT);
	page->vram = IS_ENABLED(CONFIG_DEVICE_PRIVATE) ?
		     simgpu_dpagemap_addr_device(a) : NULL;
	page->order = a->order;
	page->write = r->write && a->dir == DMA_BIDIRECTIONAL;
	page->exclusive = r->excl && test_bit(i, r->excl);
}

static void ksvm_notifier_lock(struct simgpu_vm *vm)
{
	drm_gpusvm_notifier_lock(&vm_ksvm(vm)->gpusvm);
}

static void ksvm_notifier_unlock(struct simgpu_vm *vm)
{
	drm_gpusvm_notifier_unlock(&vm_ksvm(vm)->gpusvm);
}

static bool ksvm_range_pages_valid_locked(struct simgpu_vm *vm,
					  struct simgpu_svm_range *range)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);
	struct ksvm_range *r = kr(range);

	lockdep_assert_held(&ks->gpusvm.notifier_lock);

	return !r->base.flags.unmapped &&
	       drm_gpusvm_pages_valid(&ks->gpusvm, &r->pages);
}

static void ksvm_range_set_mapped_locked(struct simgpu_vm *vm,
					 struct simgpu_svm_range *range)
{
	lockdep_assert_held(&vm_ksvm(vm)->gpusvm.notifier_lock);
}

/* The SVM backend on the kernel's drm_gpusvm: the table svm_core selects. */
const struct simgpu_svm_backend simgpu_svm_backend_kernel = {
	.name = "kernel",
	.atomic_hold = IS_ENABLED(CONFIG_DEVICE_PRIVATE),
#if IS_ENABLED(CONFIG_DEVICE_PRIVATE)
	.devmem_init = simgpu_dpagemap_init,
	.devmem_unplug = simgpu_dpagemap_unplug,
#endif
	.init = ksvm_init,
	.fini = ksvm_fini,
	.garbage_collect = ksvm_garbage_collect,
	.remove_ranges = ksvm_remove_ranges,
	.count_ranges = ksvm_count_ranges,
	.range_find_or_insert = ksvm_range_find_or_insert,
	.range_remove = ksvm_range_remove,
	.range_start = ksvm_range_start,
	.range_end = ksvm_range_end,
	.range_read_only = ksvm_range_read_only,
	.range_cpu_bounces = ksvm_range_cpu_bounces,
	.range_get_pages = ksvm_range_get_pages,
	.range_migrate_to_devmem = simgpu_svm_kernel_migrate_to_devmem,
	.range_migrate_to_ram = simgpu_svm_kernel_migrate_to_ram,
	.range_make_exclusive = simgpu_svm_kernel_make_exclusive,
	.range_page = ksvm_range_page,
	.notifier_lock = ksvm_notifier_lock,
	.notifier_unlock = ksvm_notifier_unlock,
	.range_pages_valid_locked = ksvm_range_pages_valid_locked,
	.range_set_mapped_locked = ksvm_range_set_mapped_locked,
};
