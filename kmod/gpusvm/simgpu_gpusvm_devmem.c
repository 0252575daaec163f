// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the SVM core's device memory: migration of ranges to device
 * memory and back, CPU faults on device pages, eviction.
 */

#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "simgpu_gpusvm.h"
#include "simgpu_gpusvm_trace.h"

#if SIMGPU_HAVE_DEVMEM

/**
 * DOC: Overview
 *
 * Device memory is exposed to the core mm as MEMORY_DEVICE_PRIVATE pages
 * of a pagemap the driver creates with simgpu_gpusvm_pagemap_ops(). The
 * driver allocates device memory per chunk (&struct simgpu_gpusvm_devmem,
 * contiguous pages); each device folio in use points to its allocation
 * through its zone_device_data, and the allocation counts its live folios
 * so that the driver's release callback runs, from a worker, once the last
 * one is freed (folio_free runs in any context, e.g. under a page table
 * lock, so it must not sleep).
 *
 * Compound device folios: with &simgpu_gpusvm_ctx.device_folios set, an
 * aligned 2 MiB range that the CPU maps with one PMD (a transparent huge
 * page) or not at all moves as one 2 MiB device folio
 * (MIGRATE_VMA_SELECT_COMPOUND): one migration entry, one device-private
 * PMD, one folio_free, instead of 512 of each. It comes back the same way
 * into a huge page, or, when none can be had on a CPU fault, split into
 * 4 KiB pages (the core splits the device folio and calls folio_split for
 * each new folio). An eviction, which has no VMA, needs a huge page.
 *
 * To device memory (simgpu_gpusvm_migrate_to_devmem()): migrate_vma_setup()
 * selects the system pages of a range (and the never-populated ones, which
 * are zero-filled); only then is device memory allocated, so a range that
 * is already in device memory costs no allocation. Pages are copied by the
 * driver and the CPU page table then holds device-private entries, which
 * hmm_range_fault() returns as device pages when the mirror's
 * device_private_owner matches the pagemap owner. Only anonymous private
 * memory can move: device-private pages cannot back a file or shared
 * mapping.
 *
 * Back to system memory: a CPU fault on a device page migrates the whole
 * aligned chunk around it (the size of the page's allocation, clamped to
 * the VMA), with migrate_vma_setup(SELECT_DEVICE_PRIVATE, fault_page);
 * simgpu_gpusvm_migrate_to_ram() does the same for a range (prefetch to
 * system memory), and simgpu_gpusvm_devmem_evict() migrates every page of
 * an allocation by pfn, wherever it is mapped, with migrate_device_range()
 * (eviction, device removal).
 *
 * The MMU_NOTIFY_MIGRATE invalidations that these migrations cause are not
 * filtered: a mapping of the old pages is invalid once they move, and a
 * range being migrated by a fault is not mapped anyway.
 */

/**
 * DOC: Locking
 *
 * No lock of the core is held while migrating; the caller of
 * simgpu_gpusvm_migrate_to_devmem() and simgpu_gpusvm_migrate_to_ram()
 * holds the driver lock, and they take the mmap_lock (read). The CPU fault
 * path (migrate_to_ram) holds only the mmap_lock that the fault holds and
 * calls the driver's copy_to_ram, which must take no driver lock: many CPU
 * threads may fault on the same page, and a thread holding a driver lock
 * could be waiting on one of them. Concurrent migrations of a page are
 * resolved by the page lock taken with trylock in migrate_vma_setup(): the
 * loser leaves the page where it is and the fault is retried.
 * @pages_alive is atomic: folio_free only drops it and queues the release
 * work, folio_split (called by the core under the folio lock while a
 * compound device folio splits) only raises it; neither takes a lock.
 */

static void devmem_release_work(struct work_struct *work)
{
	struct simgpu_gpusvm_devmem *devmem =
		container_of(work, struct simgpu_gpusvm_devmem, release_work);

	devmem->ops->release(devmem);
}

static void devmem_put_pages(struct simgpu_gpusvm_devmem *devmem)
{
	if (atomic_dec_and_test(&devmem->pages_alive))
		queue_work(devmem->wq, &devmem->release_work);
}

/**
 * simgpu_gpusvm_devmem_init() - set up a device allocation for migration
 * @devmem: the allocation, embedded in the driver's
 * @ops: the driver callbacks
 * @owner: pgmap owner of the pages
 * @first_pfn: pfn of the first device page
 * @npages: pages, contiguous from @first_pfn
 * @wq: workqueue for @ops->release; the driver flushes it before it
 *	frees what the callback uses
 *
 * The allocation starts with a bias of one on its live pages, dropped when
 * the migration it was allocated for ends: if no page moved into it, it is
 * released right away.
 */
void simgpu_gpusvm_devmem_init(struct simgpu_gpusvm_devmem *devmem,
			       const struct simgpu_gpusvm_devmem_ops *ops,
			       void *owner, unsigned long first_pfn,
			       unsigned long npages,
			       struct workqueue_struct *wq)
{
	devmem->ops = ops;
	devmem->owner = owner;
	devmem->first_pfn = first_pfn;
	devmem->npages = npages;
	atomic_set(&devmem->pages_alive, 1);
	devmem->wq = wq;
	INIT_WORK(&devmem->release_work, devmem_release_work);
}

/* Tell the driver what a migration did, for its counters. */
static void devmem_report(struct simgpu_gpusvm_devmem *devmem,
			  enum simgpu_gpusvm_migration_kind kind,
			  unsigned long pages, unsigned long folios)
{
	const struct simgpu_gpusvm_migration mig = {
		.kind = kind,
		.pages = pages,
		.folios = folios,
	};

	if (devmem->ops->migrated)
		devmem->ops->migrated(devmem, &mig);
}

/* The allocation a device page belongs to (the data of its folio). */
static struct simgpu_gpusvm_devmem *page_devmem(struct page *page)
{
	return folio_zone_device_data(page_folio(page));
}

static void gpusvm_folio_free(struct folio *folio)
{
	devmem_put_pages(folio_zone_device_data(folio));
}

/*
 * A compound device folio is being split: each new folio (@tail) belongs
 * to the same allocation and is freed on its own, so it counts as a live
 * folio of it. The last call (@tail NULL) has nothing to do.
 */
static void gpusvm_folio_split(struct folio *head, struct folio *tail)
{
	struct simgpu_gpusvm_devmem *devmem = folio_zone_device_data(head);

	if (!tail)
		return;
	tail->pgmap = head->pgmap;
	tail->page.mapping = head->page.mapping;
	folio_set_zone_device_data(tail, devmem);
	atomic_inc(&devmem->pages_alive);
}

/* The arrays of a migration of @npages pages. */
struct migrate_bufs {
	unsigned long *src;
	unsigned long *dst;
	struct page **dpages;
	struct page **spages;
};

static int migrate_bufs_alloc(struct migrate_bufs *b, unsigned long npages)
{
	b->src = kvcalloc(npages, 2 * sizeof(unsigned long) +
			  2 * sizeof(struct page *), GFP_KERNEL);
	if (!b->src)
		return -ENOMEM;
	b->dst = b->src + npages;
	b->dpages = (struct page **)(b->dst + npages);
	b->spages = b->dpages + npages;
	return 0;
}

/* System memory for one device folio of @order moving back. */
static struct folio *ram_folio_alloc(struct vm_area_struct *vma, u64 addr,
				     unsigned int order)
{
	gfp_t gfp = order ? GFP_TRANSHUGE : GFP_HIGHUSER_MOVABLE;

	return vma ? vma_alloc_folio(gfp, order, vma, addr) :
		     folio_alloc(gfp, order);
}

/*
 * Allocate system memory for the device folios that migrate, copy into it
 * and fill @dst. A compound device folio gets a huge page, or, with a VMA
 * (the core then splits the device folio), 4 KiB pages. Folios that cannot
 * be given memory stay in device memory. Returns the number of pages that
 * will move, or a negative errno from the copy. Kept in one piece: a
 * single pass over the source entries decides each folio's destination
 * and queues its copy, and both share the entry and destination indices.
 */
static long ram_pages_prepare(struct vm_area_struct *vma, u64 start,
			      struct migrate_bufs *b, unsigned long npages,
			      const struct simgpu_gpusvm_devmem_ops *ops,
			      unsigned long *folios)
{
	unsigned long *src = b->src, *dst = b->dst;
	struct page **dpages = b->dpages, **spages = b->spages;
	unsigned long i, j, nr, n = 0;
	int err;

	*folios = 0;
	memset(dst, 0, npages * sizeof(*dst));
	for (i = 0; i < npages; i += nr) {
		struct page *dpage = migrate_pfn_to_page(src[i]);
		unsigned int order = 0;
		struct folio *dfolio;
		struct folio *folio;

		nr = 1;
		if (!dpage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dfolio = page_folio(dpage);
		if (src[i] & MIGRATE_PFN_COMPOUND)
			order = folio_order(dfolio);
		nr = min(1UL << order, npages - i);
		if (nr != 1UL << order)
			continue;

		folio = ram_folio_alloc(vma, start + (i << PAGE_SHIFT), order);
		if (folio) {
			folio_lock(folio);
			dst[i] = migrate_pfn(folio_pfn(folio)) |
				 (order ? MIGRATE_PFN_COMPOUND : 0);
			for (j = 0; j < nr; j++, n++) {
				dpages[n] = folio_page(dfolio, j);
				spages[n] = folio_page(folio, j);
			}
			*folios += !!order;
			continue;
		}
		if (!order || !vma)
			continue;
		/* No huge page: 4 KiB pages, all of them or none. */
		for (j = 0; j < nr; j++) {
			struct page *spage;

			spage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma,
					       start + ((i + j) << PAGE_SHIFT));
			if (!spage)
				break;
			lock_page(spage);
			dst[i + j] = migrate_pfn(page_to_pfn(spage));
			dpages[n + j] = folio_page(dfolio, j);
			spages[n + j] = spage;
		}
		if (j == nr) {
			n += nr;
			continue;
		}
		while (j--) {
			unlock_page(spages[n + j]);
			put_page(spages[n + j]);
			dst[i + j] = 0;
		}
	}
	if (!n)
		return 0;

	err = ops->copy_to_ram(dpages, spages, n);
	if (err) {
		for (i = 0; i < npages; i++) {
			struct page *spage = migrate_pfn_to_page(dst[i]);

			if (!spage)
				continue;
			dst[i] = 0;
			unlock_page(spage);
			put_page(spage);
		}
		return err;
	}
	return n;
}

static long migrate_vma_to_ram(struct vm_area_struct *vma, u64 start,
			       u64 end, void *owner, struct page *fault_page)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;
	struct migrate_vma mig = {
		.vma = vma,
		.start = start,
		.end = end,
		.pgmap_owner = owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = fault_page,
	};
	struct simgpu_gpusvm_devmem *devmem = NULL;
	ktime_t t0 = ktime_get();
	unsigned long i, folios;
	struct migrate_bufs b;
	long moved;
	int err;

	mmap_assert_locked(vma->vm_mm);
	if (migrate_bufs_alloc(&b, npages))
		return -ENOMEM;
	mig.src = b.src;
	mig.dst = b.dst;
	/* A compound device folio in an aligned 2 MiB span comes back whole. */
	if (IS_ALIGNED(start, HPAGE_PMD_SIZE) && end - start == HPAGE_PMD_SIZE)
		mig.flags |= MIGRATE_VMA_SELECT_COMPOUND;

	err = migrate_vma_setup(&mig);
	if (err)
		goto out;
	if (!mig.cpages) {
		moved = 0;
		goto out;
	}

	/* Every device page of @owner is ours: any one has the ops. */
	for (i = 0; i < npages && !devmem; i++) {
		struct page *page = migrate_pfn_to_page(mig.src[i]);

		if (page)
			devmem = page_devmem(page);
	}
	moved = devmem ? ram_pages_prepare(vma, start, &b, npages,
					   devmem->ops, &folios) : 0;
	migrate_vma_pages(&mig);
	/* Before finalize: until it frees them, the pages hold @devmem. */
	if (moved > 0)
		devmem_report(devmem, SIMGPU_GPUSVM_MIGRATED_TO_RAM, moved,
			      folios);
	migrate_vma_finalize(&mig);
	if (moved > 0)
		trace_simgpu_migrate(start, moved, false,
				     ktime_us_delta(ktime_get(), t0));
	kvfree(b.src);
	return moved;
out:
	kvfree(b.src);
	return err ?: moved;
}

/**
 * simgpu_gpusvm_vma_migrate_to_ram() - bring device pages of a span back
 * @vma: the VMA holding the span
 * @start: first address
 * @end: end of the span, inside @vma
 * @owner: pgmap owner whose device pages move
 *
 * Call with the mmap_lock held.
 *
 * Return: pages migrated, or a negative errno.
 */
long simgpu_gpusvm_vma_migrate_to_ram(struct vm_area_struct *vma, u64 start,
				      u64 end, void *owner)
{
	mmap_assert_locked(vma->vm_mm);
	return migrate_vma_to_ram(vma, start, end, owner, NULL);
}

static vm_fault_t gpusvm_migrate_to_ram(struct vm_fault *vmf)
{
	struct simgpu_gpusvm_devmem *devmem = page_devmem(vmf->page);
	unsigned long until = READ_ONCE(devmem->timeslice_end);
	struct vm_area_struct *vma = vmf->vma;
	u64 size = (u64)devmem->npages << PAGE_SHIFT;
	u64 start, end;
	long ret;

	/*
	 * The device that just migrated the chunk uses it first: without
	 * this a CPU hammering the same page (a shared counter) takes it
	 * back before the GPU job retries its access, again and again.
	 */
	simgpu_gpusvm_sleep_until(until);

	/*
	 * The whole chunk comes back, not one page: the GPU mapped it as a
	 * unit and the CPU is likely to touch its neighbours next.
	 */
	start = max_t(u64, ALIGN_DOWN(vmf->address, size), vma->vm_start);
	end = min_t(u64, ALIGN_DOWN(vmf->address, size) + size, vma->vm_end);

	ret = migrate_vma_to_ram(vma, start, end, devmem->owner, vmf->page);
	if (ret == -ENOMEM)
		return VM_FAULT_OOM;
	/*
	 * Zero pages moved means another thread is migrating the page: the
	 * CPU faults again and finds it in system memory.
	 */
	return ret < 0 ? VM_FAULT_SIGBUS : 0;
}

static const struct dev_pagemap_ops gpusvm_pagemap_ops = {
	.folio_free = gpusvm_folio_free,
	.folio_split = gpusvm_folio_split,
	.migrate_to_ram = gpusvm_migrate_to_ram,
};

/**
 * simgpu_gpusvm_pagemap_ops() - the ops of a device-private pagemap
 *
 * Return: pagemap ops for the driver's MEMORY_DEVICE_PRIVATE pagemap, whose
 * pages must all belong to &struct simgpu_gpusvm_devmem allocations.
 */
const struct dev_pagemap_ops *simgpu_gpusvm_pagemap_ops(void)
{
	return &gpusvm_pagemap_ops;
}

/* The range's VMA, if it still covers the whole range and may migrate. */
/**
 * simgpu_gpusvm_range_vma() - the VMA a range lies in, for the core's use
 * @svm: the mirror, its mmap_lock held
 * @range: the range
 * @anon_only: fail for memory that is not anonymous private
 * @err: receives 0 or why there is no VMA to use: -EFAULT (none, or not
 *	readable), -ERANGE (the range no longer lies in one VMA),
 *	-EOPNOTSUPP (not anonymous private, with @anon_only)
 *
 * Return: the VMA, or NULL with @err set.
 */
struct vm_area_struct *simgpu_gpusvm_range_vma(struct simgpu_gpusvm *svm,
					       struct simgpu_gpusvm_range *range,
					       bool anon_only, int *err)
{
	struct vm_area_struct *vma;

	mmap_assert_locked(svm->mm);
	vma = vma_lookup(svm->mm, range->start);
	*err = 0;
	if (!vma || !(vma->vm_flags & VM_READ))
		*err = -EFAULT;
	else if (vma->vm_end <= range->last)
		*err = -ERANGE;
	else if (anon_only &&
		 (!vma_is_anonymous(vma) || vma->vm_flags & VM_SHARED))
		*err = -EOPNOTSUPP;
	return *err ? NULL : vma;
}

/*
 * Give each page of @mig that moves a page of @devmem as its destination,
 * and list the copies in @b. A compound source (a huge page, or a hole the
 * core collected whole) spanning all of @devmem becomes one compound device
 * folio; one that cannot (an unaligned allocation) gets 4 KiB device pages
 * and the core splits it. Pages already in @devmem's pagemap stay. Returns
 * the number of pages to copy; *@folio tells whether they are one folio.
 */
static unsigned long devmem_pages_prepare(struct simgpu_gpusvm_devmem *devmem,
					  struct migrate_vma *mig,
					  struct migrate_bufs *b,
					  unsigned long npages, bool *folio)
{
	struct dev_pagemap *pgmap = page_pgmap(pfn_to_page(devmem->first_pfn));
	unsigned long i, j, nr, n = 0;

	*folio = false;
	for (i = 0; i < npages; i += nr) {
		struct page *spage = migrate_pfn_to_page(mig->src[i]);
		struct page *dpage = pfn_to_page(devmem->first_pfn + i);

		nr = 1;
		if (!(mig->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		/* Already where it goes: it stays (no destination). */
		if (spage && is_device_private_page(spage) &&
		    page_pgmap(spage) == pgmap)
			continue;
		if (mig->src[i] & MIGRATE_PFN_COMPOUND)
			nr = min_t(unsigned long, HPAGE_PMD_NR, npages - i);
		if (nr == HPAGE_PMD_NR && nr == npages &&
		    IS_ALIGNED(devmem->first_pfn, HPAGE_PMD_NR)) {
			zone_device_folio_init(page_folio(dpage), pgmap,
					       HPAGE_PMD_ORDER);
			folio_set_zone_device_data(page_folio(dpage), devmem);
			atomic_inc(&devmem->pages_alive);
			mig->dst[i] = migrate_pfn(devmem->first_pfn) |
				      MIGRATE_PFN_COMPOUND;
			*folio = true;
		} else {
			for (j = 0; j < nr; j++) {
				zone_device_page_init(dpage + j, pgmap, 0);
				dpage[j].zone_device_data = devmem;
				atomic_inc(&devmem->pages_alive);
				mig->dst[i + j] =
					migrate_pfn(devmem->first_pfn + i + j);
			}
		}
		/* A compound source's pages follow its head. */
		for (j = 0; j < nr; j++, n++) {
			b->dpages[n] = dpage + j;
			b->spages[n] = spage ? spage + j : NULL;
		}
	}
	return n;
}

/**
 * simgpu_gpusvm_migrate_to_devmem() - move a range to device memory
 * @svm: the mirror
 * @range: the range
 * @target: passed to the driver's devmem_alloc: whose memory
 * @ctx: the policy: @ctx->device_pages, @ctx->device_folios, the
 *	@ctx->timeslice the new memory is the device's for, and @ctx->force
 *	for the driver's devmem_alloc
 *
 * Migrates the pages of @range that sit in system memory, or were never
 * populated (zero-filled), and with @ctx->device_pages those in other device
 * memory of the owner, into device memory from the driver's devmem_alloc
 * callback. Pages that cannot move (mapped by another process, pinned,
 * locked by a concurrent migration) stay where they are.
 * The caller collects the pages afterwards with
 * simgpu_gpusvm_range_get_pages().
 *
 * One function of about 100 lines on purpose: it is the sequence
 * migrate_vma_setup(), allocation, copy, migrate_vma_pages(),
 * migrate_vma_finalize(), each step unwinding the ones before it through
 * the same &struct migrate_vma and buffers (drm_pagemap's
 * drm_pagemap_migrate_to_devmem() keeps it whole for the same reason).
 *
 * Return: pages migrated (0 when none needed or could move); -EOPNOTSUPP
 * for memory that is not anonymous private; -ENOSPC when no device memory
 * could be had; -EFAULT, -ERANGE as simgpu_gpusvm_range_get_pages();
 * -ENOMEM; or an error of the copy.
 */
long simgpu_gpusvm_migrate_to_devmem(struct simgpu_gpusvm *svm,
				     struct simgpu_gpusvm_range *range,
				     void *target,
				     const struct simgpu_gpusvm_ctx *ctx)
{
	u64 size = simgpu_gpusvm_range_size(range);
	unsigned long i, n, npages = size >> PAGE_SHIFT;
	struct migrate_vma mig = {
		.start = range->start,
		.end = simgpu_gpusvm_range_end(range),
		.pgmap_owner = svm->device_private_owner,
		.flags = MIGRATE_VMA_SELECT_SYSTEM |
			 (ctx->device_pages ?
			  MIGRATE_VMA_SELECT_DEVICE_PRIVATE : 0),
	};
	struct simgpu_gpusvm_devmem *devmem = NULL;
	ktime_t t0 = ktime_get();
	struct migrate_bufs b;
	bool folio;
	long err;
	int verr;

	simgpu_gpusvm_driver_lock_held(svm);

	if (!svm->ops->devmem_alloc)
		return -EOPNOTSUPP;
	if (migrate_bufs_alloc(&b, npages))
		return -ENOMEM;
	mig.src = b.src;
	mig.dst = b.dst;
	if (ctx->device_folios && size == HPAGE_PMD_SIZE &&
	    IS_ALIGNED(range->start, HPAGE_PMD_SIZE))
		mig.flags |= MIGRATE_VMA_SELECT_COMPOUND;

	if (!mmget_not_zero(svm->mm)) {
		err = -EFAULT;
		goto err_bufs;
	}
	mmap_read_lock(svm->mm);
	mig.vma = simgpu_gpusvm_range_vma(svm, range, true, &verr);
	if (!mig.vma) {
		err = verr;
		goto err_unlock;
	}
	WRITE_ONCE(range->migrating, true);
	err = migrate_vma_setup(&mig);
	if (err)
		goto err_unlock;
	if (!mig.cpages)
		goto err_unlock;

	devmem = svm->ops->devmem_alloc(svm, range, size, target, ctx);
	if (IS_ERR(devmem)) {
		err = PTR_ERR(devmem);
		devmem = NULL;
		goto err_finalize;
	}

	n = devmem_pages_prepare(devmem, &mig, &b, npages, &folio);
	err = devmem->ops->copy_to_devmem(b.dpages, b.spages, n);
	if (err) {
		/* Nothing moves: the device pages are freed by finalize. */
		for (i = 0; i < npages; i++)
			if (mig.dst[i]) {
				mig.dst[i] = 0;
				b.dpages[0] = pfn_to_page(devmem->first_pfn + i);
				unlock_page(b.dpages[0]);
				put_page(b.dpages[0]);
			}
		goto err_finalize;
	}
	/* Set before a CPU fault can find the pages and read it. */
	WRITE_ONCE(devmem->timeslice_end, jiffies + ctx->timeslice);
	migrate_vma_pages(&mig);
	for (i = 0, n = 0; i < npages; i++)
		if (mig.dst[i] && mig.src[i] & MIGRATE_PFN_MIGRATE)
			n += mig.dst[i] & MIGRATE_PFN_COMPOUND ? HPAGE_PMD_NR : 1;
	folio = folio && n;
	migrate_vma_finalize(&mig);
	WRITE_ONCE(range->migrating, false);
	mmap_read_unlock(svm->mm);
	mmput_async(svm->mm);
	/* Before the bias goes, which may release @devmem. */
	devmem_report(devmem, SIMGPU_GPUSVM_MIGRATED_TO_DEVMEM, n, folio);
	devmem_put_pages(devmem);
	kvfree(b.src);
	trace_simgpu_migrate(range->start, n, true,
			     ktime_us_delta(ktime_get(), t0));
	return n;

err_finalize:
	migrate_vma_pages(&mig);
	migrate_vma_finalize(&mig);
err_unlock:
	WRITE_ONCE(range->migrating, false);
	mmap_read_unlock(svm->mm);
	mmput_async(svm->mm);
	if (devmem)
		devmem_put_pages(devmem);
err_bufs:
	kvfree(b.src);
	return err;
}

/**
 * simgpu_gpusvm_migrate_to_ram() - bring a range back to system memory
 * @svm: the mirror
 * @range: the range
 *
 * Migrates the pages of @range that sit in device memory of the mirror's
 * owner to system memory.
 *
 * Return: pages migrated; -EFAULT, -ERANGE as
 * simgpu_gpusvm_range_get_pages(); -ENOMEM; or an error of the copy.
 */
long simgpu_gpusvm_migrate_to_ram(struct simgpu_gpusvm *svm,
				  struct simgpu_gpusvm_range *range)
{
	struct vm_area_struct *vma;
	long ret;
	int err;

	simgpu_gpusvm_driver_lock_held(svm);

	if (!svm->device_private_owner)
		return 0;
	if (!mmget_not_zero(svm->mm))
		return -EFAULT;
	mmap_read_lock(svm->mm);
	vma = simgpu_gpusvm_range_vma(svm, range, false, &err);
	WRITE_ONCE(range->migrating, true);
	ret = vma ? migrate_vma_to_ram(vma, range->start, simgpu_gpusvm_range_end(range),
				       svm->device_private_owner, NULL) : err;
	WRITE_ONCE(range->migrating, false);
	mmap_read_unlock(svm->mm);
	mmput_async(svm->mm);
	return ret;
}

#define EVICT_TRIES	16

/**
 * simgpu_gpusvm_devmem_evict() - move an allocation's pages to system memory
 * @devmem: the allocation
 *
 * Migrates every live page of @devmem to system memory wherever it is
 * mapped. A page locked by a concurrent migration is retried a few times.
 * The allocation is released (from its workqueue) once its last page is
 * freed; the caller holds what keeps @devmem alive meanwhile.
 *
 * Return: 0 when no page of @devmem is left in use by the mm; -EBUSY when
 * some could not be moved; -ENOMEM.
 */
int simgpu_gpusvm_devmem_evict(struct simgpu_gpusvm_devmem *devmem)
{
	unsigned long i, folios, npages = devmem->npages;
	unsigned int tries;
	ktime_t t0 = ktime_get();
	long moved, total = 0;
	struct migrate_bufs b;
	int err = 0;

	if (migrate_bufs_alloc(&b, npages))
		return -ENOMEM;

	for (tries = 0; tries < EVICT_TRIES; tries++) {
		bool busy = false;

		migrate_device_range(b.src, devmem->first_pfn, npages);
		moved = ram_pages_prepare(NULL, 0, &b, npages, devmem->ops,
					  &folios);
		migrate_device_pages(b.src, b.dst, npages);
		for (i = 0; i < npages; i++)
			if (b.src[i] & MIGRATE_PFN_MIGRATE && !b.dst[i])
				busy = true;
		migrate_device_finalize(b.src, b.dst, npages);
		if (moved < 0) {
			err = moved;
			break;
		}
		total += moved;
		/* Pages left in use were locked by someone: look again. */
		busy = busy || atomic_read(&devmem->pages_alive);
		err = busy ? -EBUSY : 0;
		if (!busy)
			break;
		cond_resched();
	}
	kvfree(b.src);

	devmem_report(devmem, SIMGPU_GPUSVM_EVICTED, total, 0);
	trace_simgpu_evict(devmem->first_pfn, total,
			   ktime_us_delta(ktime_get(), t0));
	return err;
}

#endif /* SIMGPU_HAVE_DEVMEM */
