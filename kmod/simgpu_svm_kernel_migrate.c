// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the kernel SVM backend's migrations and exclusive holds, on
 * drm_pagemap and make_device_exclusive().
 */

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/rmap.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>

#include "simgpu_dpagemap.h"
#include "simgpu_drv.h"
#include "simgpu_svm.h"
#include "simgpu_svm_kernel.h"
#include "simgpu_svm_kernel_migrate.h"

/**
 * DOC: Overview
 *
 * A migration first asks drm_gpusvm_scan_mm() where the range is (nothing
 * to do when it is all in the target VRAM already), then calls
 * drm_pagemap_migrate_to_devmem() through simgpu_dpagemap_migrate(),
 * which moves all of the range or nothing: a range with pages both in
 * system memory and VRAM is brought back with drm_gpusvm_range_evict()
 * first. A page that cannot move fails the attempt with -EBUSY, after
 * which the migration sleeps out a timeslice before the pages are
 * collected where they are. GPU atomics that need a page held exclusive take it with
 * make_device_exclusive() and record it in the range, whose pages stay
 * valid across the invalidation their own grab raises.
 */

/**
 * DOC: Locking
 *
 * Called with the VM lock held (asserted): migrations take mmap_lock for
 * read around drm_pagemap's migration, and the exclusive grab takes it
 * around make_device_exclusive(), then drm_gpusvm's notifier lock to
 * check the range's pages are still valid. The order is the backend's:
 * DOC: Locking in simgpu_svm_kernel.c.
 */

/* @r holds pages a read collected read-only, still valid. */
static bool ksvm_collected_read_only(struct simgpu_svm_kernel *ks,
				     struct ksvm_range *r)
{
	bool ro;

	drm_gpusvm_notifier_lock(&ks->gpusvm);
	ro = !r->write && drm_gpusvm_pages_valid(&ks->gpusvm, &r->pages);
	drm_gpusvm_notifier_unlock(&ks->gpusvm);
	return ro;
}

/*
 * Move @r to @dpagemap. A page that cannot move (another device's, or one
 * the CPU is moving) fails it all with -EBUSY, and the attempt has already
 * invalidated every mirror of the range. The holder keeps device pages for
 * its timeslice, and whoever wants them meanwhile spins (drm_pagemap's CPU
 * fault, hmm_range_fault() collecting them): two devices and the CPU doing
 * that at once left the holder's engine too little of the machine to use
 * its turn, and contended GPU atomics timed out. Sleep out a timeslice
 * instead, then collect the pages where they are; the next try moves them.
 * The new VRAM is ours for @ctx->hold (drm_pagemap's timeslice).
 */
static int ksvm_migrate(struct simgpu_svm_kernel *ks, struct ksvm_range *r,
			struct drm_pagemap *dpagemap,
			const struct simgpu_svm_ctx *ctx)
{
	struct mm_struct *mm = ks->gpusvm.mm;
	int err;

	mmap_read_lock(mm);
	err = simgpu_dpagemap_migrate(dpagemap, mm,
				      drm_gpusvm_range_start(&r->base),
				      drm_gpusvm_range_end(&r->base),
				      ctx->hold, ks->vm,
				      ctx->force ? 0 : simgpu_svm_evict_age());
	mmap_read_unlock(mm);
	if (err == -EBUSY && ctx->timeslice) {
		atomic64_inc(&ks->vm->sdev->svm_stats.migrate_busy_waits);
		schedule_timeout_idle(ctx->timeslice);
	}
	return err;
}

/**
 * simgpu_svm_kernel_migrate_to_devmem() - the backend's range_migrate_to_devmem
 * @vm: the VM
 * @range: the range
 * @target: the device whose VRAM to move to
 * @ctx: the policy
 *
 * See &simgpu_svm_backend.range_migrate_to_devmem.
 *
 * Return: pages moved, or a negative errno.
 */
long simgpu_svm_kernel_migrate_to_devmem(struct simgpu_vm *vm,
					 struct simgpu_svm_range *range,
					 struct simgpu_device *target,
					 const struct simgpu_svm_ctx *ctx)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);
	struct ksvm_range *r = kr(range);
	struct mm_struct *mm = ks->gpusvm.mm;
	struct drm_pagemap *dpagemap;
	long err;

	lockdep_assert_held(&vm->lock);

	if (!IS_ENABLED(CONFIG_DEVICE_PRIVATE) || !ks->dpagemap)
		return 0;
	/*
	 * The write fault right after a read that collected read-only (the
	 * simgpu core maps it writable at once): the read's placement
	 * stands. A prefetch moves it all the same.
	 */
	if (ctx->write && !ctx->force && ksvm_collected_read_only(ks, r))
		return 0;
	dpagemap = simgpu_dpagemap_get(target);
	if (IS_ERR(dpagemap))
		return PTR_ERR(dpagemap);
	switch (drm_gpusvm_scan_mm(&r->base, ks->peer.owner,
				   simgpu_dpagemap_dev_pagemap(dpagemap))) {
	case DRM_GPUSVM_SCAN_EQUAL:
		WRITE_ONCE(r->devmem_hint, true);
		err = 0;
		goto out;
	case DRM_GPUSVM_SCAN_OTHER:
	case DRM_GPUSVM_SCAN_MIXED_DEVICE:
		/* In linked VRAM: mapped in place unless asked to move. */
		if (!ctx->device_pages) {
			WRITE_ONCE(r->devmem_hint, true);
			err = 0;
			goto out;
		}
		break;
	case DRM_GPUSVM_SCAN_MIXED:
		/* drm_pagemap moves all pages or none: VRAM ones back first. */
		drm_gpusvm_range_evict(&ks->gpusvm, &r->base);
		break;
	default:
		break;
	}

	if (!mmget_not_zero(mm)) {
		err = -EFAULT;
		goto out;
	}
	err = ksvm_migrate(ks, r, dpagemap, ctx);
	mmput(mm);
	if (!err) {
		WRITE_ONCE(r->devmem_hint, true);
		err = kr_npages(r);
	} else if (err == -ENOSPC) {
		atomic64_inc(&vm->sdev->svm_stats.migrate_fallbacks);
	} else if (err == -EINVAL || err == -ENOENT) {
		/* The range is no longer in one VMA. */
		err = -ERANGE;
	} else if (err == -EBUSY) {
		/* A page could not move: none did (ksvm_migrate()). */
		err = 0;
	}
out:
	drm_pagemap_put(dpagemap);
	return err;
}

/**
 * simgpu_svm_kernel_migrate_to_ram() - the backend's range_migrate_to_ram
 * @vm: the VM
 * @range: the range
 *
 * See &simgpu_svm_backend.range_migrate_to_ram.
 *
 * Return: 0 or a negative errno.
 */
long simgpu_svm_kernel_migrate_to_ram(struct simgpu_vm *vm,
				      struct simgpu_svm_range *range)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);

	lockdep_assert_held(&vm->lock);

	if (!ks->dpagemap)
		return 0;
	WRITE_ONCE(kr(range)->devmem_hint, false);
	return drm_gpusvm_range_evict(&ks->gpusvm, &kr(range)->base);
}

/**
 * simgpu_svm_kernel_make_exclusive() - the backend's range_make_exclusive
 * @vm: the VM
 * @range: the range
 * @addr: an address in the page to hold
 * @sctx: the policy
 *
 * See &simgpu_svm_backend.range_make_exclusive.
 *
 * Return: 1 when the page was taken now, 0 when held already, or a
 * negative errno.
 */
int simgpu_svm_kernel_make_exclusive(struct simgpu_vm *vm,
				     struct simgpu_svm_range *range, u64 addr,
				     const struct simgpu_svm_ctx *sctx)
{
	struct simgpu_svm_kernel *ks = vm_ksvm(vm);
	struct ksvm_range *r = kr(range);
	unsigned long i = (addr - drm_gpusvm_range_start(&r->base)) >>
			  PAGE_SHIFT;
	struct mm_struct *mm = ks->gpusvm.mm;
	struct vm_area_struct *vma;
	struct folio *folio = NULL;
	struct page *page;
	unsigned long *excl;
	int err = 0;

	lockdep_assert_held(&vm->lock);

	/* make_device_exclusive() is there with device-private memory. */
	if (!IS_ENABLED(CONFIG_DEVICE_PRIVATE))
		return -EOPNOTSUPP;
	if (r->excl && test_bit(i, r->excl))
		return 0;
	excl = r->excl ?: bitmap_zalloc(kr_npages(r), GFP_KERNEL);
	if (!excl)
		return -ENOMEM;
	if (!mmget_not_zero(mm)) {
		err = -EFAULT;
		goto err_free;
	}
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma || !(vma->vm_flags & VM_WRITE))
		err = -EFAULT;
	else if (!vma_is_anonymous(vma) || vma->vm_flags & VM_SHARED)
		err = -EOPNOTSUPP;
	if (!err) {
		page = make_device_exclusive(mm, addr & PAGE_MASK, ks, &folio);
		if (IS_ERR(page))
			err = PTR_ERR(page);
	}
	mmap_read_unlock(mm);
	mmput(mm);
	if (err)
		goto err_free;

	/* Held only if no invalidation took the range's pages meanwhile. */
	drm_gpusvm_notifier_lock(&ks->gpusvm);
	if (!drm_gpusvm_pages_valid(&ks->gpusvm, &r->pages)) {
		err = -EBUSY;
	} else {
		r->excl = excl;
		set_bit(i, excl);
	}
	drm_gpusvm_notifier_unlock(&ks->gpusvm);
	folio_unlock(folio);
	folio_put(folio);
	if (err)
		goto err_free;
	return 1;

err_free:
	if (excl != r->excl)
		bitmap_free(excl);
	return err;
}
