// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: each device's VRAM as a drm_pagemap, for the kernel SVM backend.
 */

#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <drm/drm_drv.h>
#include <drm/drm_pagemap.h>
#include <drm/drm_pagemap_util.h>

#include "simgpu_device.h"
#include "simgpu_dmem.h"
#include "simgpu_dpagemap.h"
#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_inject.h"
#include "simgpu_svm.h"

/**
 * DOC: Overview
 *
 * With svm_core=kernel a device's VRAM is a &struct drm_pagemap, made the
 * way Xe makes its own: a per-device drm_pagemap cache and shrinker
 * (drm_pagemap_cache_create_devm(), drm_pagemap_shrinker_create_devm())
 * at probe, and the pagemap itself (a MEMORY_DEVICE_PRIVATE
 * &dev_pagemap with drm_pagemap's &dev_pagemap_ops, device page i at
 * VRAM offset i * 4 KiB) made when a VM or a migration first needs it.
 * A drm_pagemap holds the DRM device and the module while referenced: the
 * VMs of the device and every device page (through drm_pagemap's zone
 * device data) reference it, so while process memory sits in VRAM the
 * module cannot be unloaded (unbinding the device evicts it). Once idle
 * the pagemap waits in the cache, its memory still mapped, and comes back
 * on the next use, unless the shrinker destroyed it meanwhile.
 *
 * Link groups are drm_pagemap owners: every pagemap and every VM of the
 * kernel backend acquires a &struct drm_pagemap_peer on one owner list
 * with simgpu_device_linked() as the interconnect predicate, so devices
 * of a group share an owner, hmm_range_fault() returns a linked device's
 * pages as device pages, and drm_gpusvm maps them through the peer's
 * @device_map: a driver address, the VRAM offset, with the protocol
 * SIMGPU_INTERCONNECT_VRAM(device index) so that the PTE and the copy
 * engine know whose VRAM it is.
 *
 * A migration allocates one SVM chunk (&struct simgpu_dmem_chunk: one
 * buddy block of the range's size, on the LRU shared with buffer
 * objects) wrapped in a &struct drm_pagemap_devmem, and hands it to
 * drm_pagemap_migrate_to_devmem(); the copies run on the device's copy
 * engine, which zero-fills the pages that had no source (VRAM is not
 * cleared on allocation). Eviction is drm_pagemap_evict_to_ram() of the
 * chunk. The chunk's VRAM is freed when drm_pagemap releases the
 * allocation (its last device page freed).
 *
 * The simulated device has no IOMMU: the DMA address of a system page
 * (the device's DMA mask is 64 bits, so nothing bounces) is its physical
 * address, as the engines read it in PTEs.
 */

/**
 * DOC: Locking
 *
 * A pagemap is looked up or made under the cache's lookup mutex, inside
 * drm_dev_enter() of its device (the cache is device-managed), with the
 * VM lock held and never the mmap_lock (memremap_pages() takes the memory
 * hotplug lock). Migrations run under the VM lock and the mmap_lock (read)
 * inside drm_dev_enter(), so an unbind waits for them before it evicts.
 * drm_pagemap calls @devmem_release and @destroy from any context (a folio
 * freed under a page table lock): both only queue work on the device's
 * dmem workqueue. The copy callbacks take the copy engine's spinlock and
 * no driver lock, so they are safe in migrate_to_ram.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

/**
 * struct simgpu_dpagemap - a device's VRAM as a drm_pagemap
 * @dpagemap: the drm_pagemap
 * @pagemap: its device-private pages
 * @peer: the owner (link group) of @pagemap
 * @sdev: the device
 * @res: the physical range reserved for @pagemap
 * @mapped: @pagemap is memremapped
 * @destroy_work: unmaps and frees it outside atomic context
 */
struct simgpu_dpagemap {
	struct drm_pagemap dpagemap;
	struct dev_pagemap pagemap;
	struct drm_pagemap_peer peer;
	struct simgpu_device *sdev;
	struct resource *res;
	bool mapped;
	struct work_struct destroy_work;
};

/*
 * An SVM chunk of the kernel backend: the VRAM, drm_pagemap's view of it,
 * and what it holds: its pagemap and mm (both used by an eviction that may
 * race with the release), released on its last reference. @populated: set
 * when drm_pagemap took its pages for the migration that made it (a flag
 * on simgpu_dpagemap_migrate()'s stack, read only during that call).
 */
struct dpm_chunk {
	struct simgpu_dmem_chunk base;
	struct drm_pagemap_devmem devmem;
	struct work_struct release_work;
	bool *populated;
};

static DRM_PAGEMAP_OWNER_LIST_DEFINE(simgpu_owner_list);

static struct simgpu_dpagemap *to_spm(struct drm_pagemap *dpagemap)
{
	return container_of(dpagemap, struct simgpu_dpagemap, dpagemap);
}

static struct simgpu_dpagemap *page_to_spm(struct page *page)
{
	return container_of(page_pgmap(page), struct simgpu_dpagemap, pagemap);
}

static u64 spm_page_offset(struct simgpu_dpagemap *spm, struct page *page)
{
	return PFN_PHYS(page_to_pfn(page)) - spm->res->start;
}

static bool dpm_has_interconnect(struct drm_pagemap_peer *a,
				 struct drm_pagemap_peer *b)
{
	return simgpu_device_linked(a->private, b->private);
}

/**
 * simgpu_dpagemap_acquire_owner() - join the owner of a device's link group
 * @peer: the peer (of a VM or a pagemap) to register
 * @sdev: the device it is of
 *
 * Release with drm_pagemap_release_owner().
 *
 * Return: 0 or -ENOMEM.
 */
int simgpu_dpagemap_acquire_owner(struct drm_pagemap_peer *peer,
				  struct simgpu_device *sdev)
{
	peer->private = sdev;
	return drm_pagemap_acquire_owner(peer, &simgpu_owner_list,
					 dpm_has_interconnect);
}

/**
 * simgpu_dpagemap_addr_device() - whose VRAM a drm_pagemap address is in
 * @addr: an address from drm_gpusvm's pages or a migration
 *
 * Return: the device, or NULL for a system page's DMA address.
 */
struct simgpu_device *
simgpu_dpagemap_addr_device(const struct drm_pagemap_addr *addr)
{
	if (addr->proto < SIMGPU_INTERCONNECT_VRAM(0))
		return NULL;
	return simgpu_device_lookup(addr->proto - SIMGPU_INTERCONNECT_VRAM(0));
}

/**
 * simgpu_dpagemap_dev_pagemap() - the device-private pages of a pagemap
 * @dpagemap: a pagemap from simgpu_dpagemap_get()
 *
 * Return: its &dev_pagemap.
 */
const struct dev_pagemap *
simgpu_dpagemap_dev_pagemap(struct drm_pagemap *dpagemap)
{
	return &to_spm(dpagemap)->pagemap;
}

static struct drm_pagemap_addr dpm_device_map(struct drm_pagemap *dpagemap,
					      struct device *dev,
					      struct page *page,
					      unsigned int order,
					      enum dma_data_direction dir)
{
	struct simgpu_dpagemap *spm = to_spm(dpagemap);

	return drm_pagemap_addr_encode(spm_page_offset(spm, page),
				       SIMGPU_INTERCONNECT_VRAM(spm->sdev->id),
				       order, dir);
}

/* A VRAM offset is no DMA mapping: nothing to undo. */
static void dpm_device_unmap(struct drm_pagemap *dpagemap, struct device *dev,
			     const struct drm_pagemap_addr *addr)
{
}

/*
 * The pagemap and its region are not device-managed: after an unplug,
 * drm_pagemap destroys an idle pagemap at once, before devres would have
 * unmapped it, and devres then unmapped a pagemap freed here (KASAN, on a
 * device unbind). Every page is back in system memory by then.
 */
static void spm_destroy_work(struct work_struct *work)
{
	struct simgpu_dpagemap *spm =
		container_of(work, struct simgpu_dpagemap, destroy_work);

	if (spm->mapped)
		memunmap_pages(&spm->pagemap);
	if (spm->res)
		release_mem_region(spm->res->start, resource_size(spm->res));
	drm_pagemap_release_owner(&spm->peer);
	kfree(spm);
}

static void spm_destroy(struct drm_pagemap *dpagemap, bool atomic_or_reclaim)
{
	struct simgpu_dpagemap *spm = to_spm(dpagemap);

	if (atomic_or_reclaim)
		queue_work(spm->sdev->dmem.wq, &spm->destroy_work);
	else
		spm_destroy_work(&spm->destroy_work);
}

static const struct drm_pagemap_ops dpm_ops = {
	.device_map = dpm_device_map,
	.device_unmap = dpm_device_unmap,
	.destroy = spm_destroy,
};

/* A new pagemap of all of @sdev's VRAM; drm_pagemap_put() undoes it. */
static struct simgpu_dpagemap *spm_create(struct simgpu_device *sdev)
{
	struct device *dev = sdev->drm.dev;
	struct simgpu_dpagemap *spm;
	struct resource *res;
	void *addr;
	int err;

	spm = kzalloc_obj(*spm, GFP_KERNEL);
	if (!spm)
		return ERR_PTR(-ENOMEM);
	spm->sdev = sdev;
	INIT_WORK(&spm->destroy_work, spm_destroy_work);
	err = drm_pagemap_init(&spm->dpagemap, &spm->pagemap, &sdev->drm,
			       &dpm_ops);
	if (err) {
		kfree(spm);
		return ERR_PTR(err);
	}

	/* From here on the put's destroy undoes what was done. */
	res = request_free_mem_region(&iomem_resource, sdev->vram.size,
				      "simgpu-vram");
	if (IS_ERR(res)) {
		err = PTR_ERR(res);
		goto err_put;
	}
	spm->res = res;
	err = simgpu_dpagemap_acquire_owner(&spm->peer, sdev);
	if (err)
		goto err_put;

	spm->pagemap.type = MEMORY_DEVICE_PRIVATE;
	spm->pagemap.range.start = res->start;
	spm->pagemap.range.end = res->end;
	spm->pagemap.nr_range = 1;
	spm->pagemap.owner = spm->peer.owner;
	spm->pagemap.ops = drm_pagemap_pagemap_ops_get();
	addr = memremap_pages(&spm->pagemap, dev_to_node(dev));
	if (IS_ERR(addr)) {
		err = PTR_ERR(addr);
		goto err_put;
	}
	spm->mapped = true;
	return spm;

err_put:
	drm_pagemap_put(&spm->dpagemap);
	return ERR_PTR(err);
}

/**
 * simgpu_dpagemap_get() - a reference to a device's VRAM pagemap
 * @sdev: the device, with the kernel backend's VRAM
 *
 * The active pagemap, the idle one from the cache, or a new one. Call
 * with no mmap_lock held. Drop with drm_pagemap_put().
 *
 * Return: the pagemap, or an ERR_PTR (-ENODEV for an unplugged device,
 * -ENOMEM, -EINTR, or an error of memremap_pages()).
 */
struct drm_pagemap *simgpu_dpagemap_get(struct simgpu_device *sdev)
{
	struct drm_pagemap_cache *cache = sdev->dmem.dpagemap_cache;
	struct simgpu_dpagemap *spm;
	struct drm_pagemap *dpagemap;
	int err, idx;

	/*
	 * The cache is device-managed: once the device is unplugged (a peer
	 * chosen as a migration target can be), devres may have freed it.
	 * Inside drm_dev_enter() the unbind waits for us.
	 */
	if (!drm_dev_enter(&sdev->drm, &idx))
		return ERR_PTR(-ENODEV);
	dpagemap = drm_pagemap_get_from_cache_if_active(cache);
	if (dpagemap)
		goto out;

	err = drm_pagemap_cache_lock_lookup(cache);
	if (err) {
		dpagemap = ERR_PTR(err);
		goto out;
	}
	dpagemap = drm_pagemap_get_from_cache(cache);
	if (!dpagemap) {
		spm = spm_create(sdev);
		if (IS_ERR(spm)) {
			dpagemap = ERR_CAST(spm);
		} else {
			dpagemap = &spm->dpagemap;
			drm_pagemap_cache_set_pagemap(cache, dpagemap);
		}
	}
	drm_pagemap_cache_unlock_lookup(cache);
out:
	drm_dev_exit(idx);
	return dpagemap;
}

/*
 * The page backing page @k of a run: @base is the last entry at or before
 * @k that is set, its pages contiguous for @span pages. NULL outside.
 */
static struct page *run_page(struct page *base, unsigned long base_idx,
			     unsigned long span, unsigned long k)
{
	if (!base || k - base_idx >= span)
		return NULL;
	return pfn_to_page(page_to_pfn(base) + (k - base_idx));
}

/* The page a drm_pagemap address points to: system memory or VRAM. */
static struct page *addr_page(const struct drm_pagemap_addr *addr)
{
	struct simgpu_device *sdev = simgpu_dpagemap_addr_device(addr);

	if (sdev)
		return simgpu_vram_page(&sdev->vram, addr->addr);
	return pfn_to_page(PHYS_PFN(addr->addr));
}

/*
 * Copy between device pages (@pages, the destination when @to_vram) and
 * the pages @addr points to. Both arrays are sparse: an entry of order n
 * covers 1 << n pages and the entries it covers are empty. A device page
 * with no source is zero-filled.
 */
static int dpm_copy(struct page **pages, struct drm_pagemap_addr *addr,
		    unsigned long npages, bool to_vram)
{
	struct page **vram, **other, *dev_base = NULL, *addr_base = NULL;
	unsigned long k, n = 0, dev_idx = 0, addr_idx = 0;
	unsigned long dev_span = 0, addr_span = 0, folios = 0;
	struct simgpu_device *sdev = NULL, *dst;
	struct simgpu_svm_stats *s;
	int err;

	vram = kvmalloc_array(2 * npages, sizeof(*vram), GFP_KERNEL);
	if (!vram)
		return -ENOMEM;
	other = vram + npages;

	for (k = 0; k < npages; k++) {
		struct page *dpage, *opage;

		if (pages[k]) {
			dev_base = pages[k];
			dev_idx = k;
			dev_span = folio_nr_pages(page_folio(dev_base)) -
				   folio_page_idx(page_folio(dev_base),
						  dev_base);
			if (!sdev)
				sdev = page_to_spm(dev_base)->sdev;
			folios += to_vram && dev_span > 1;
		}
		if (addr[k].addr) {
			addr_base = addr_page(&addr[k]);
			addr_idx = k;
			addr_span = 1UL << addr[k].order;
			folios += !to_vram && addr_span > 1;
		}
		dpage = run_page(dev_base, dev_idx, dev_span, k);
		opage = run_page(addr_base, addr_idx, addr_span, k);
		/* To RAM: only pages with a destination move. */
		if (!dpage || (!to_vram && !opage))
			continue;
		vram[n] = simgpu_vram_page(&sdev->vram,
					   spm_page_offset(page_to_spm(dpage),
							   dpage));
		other[n++] = opage;
	}

	err = 0;
	if (n && to_vram) {
		err = simgpu_engine_copy_pages(sdev, vram, other, n);
		s = &sdev->svm_stats;
		atomic64_add(n, &s->to_devmem_pages);
		atomic64_add(folios, &s->to_devmem_folios);
	} else if (n) {
		err = simgpu_engine_copy_pages(sdev, other, vram, n);
		/* Device to device, over a link: the destination counts. */
		dst = simgpu_dpagemap_addr_device(&addr[addr_idx]);
		s = &(dst ?: sdev)->svm_stats;
		atomic64_add(n, dst ? &s->to_devmem_pages : &s->to_ram_pages);
		atomic64_add(folios, dst ? &s->to_devmem_folios :
					   &s->to_ram_folios);
		if (!dst)
			atomic64_inc(&s->to_ram_chunks);
	}
	kvfree(vram);
	return err;
}

static int dpm_copy_to_devmem(struct page **pages,
			      struct drm_pagemap_addr *pagemap_addr,
			      unsigned long npages,
			      struct dma_fence *pre_migrate_fence)
{
	if (simgpu_inject(SIMGPU_INJECT_MIGRATE_COPY))
		return -EIO;
	return dpm_copy(pages, pagemap_addr, npages, true);
}

static int dpm_copy_to_ram(struct page **pages,
			   struct drm_pagemap_addr *pagemap_addr,
			   unsigned long npages,
			   struct dma_fence *pre_migrate_fence)
{
	return dpm_copy(pages, pagemap_addr, npages, false);
}

static struct dpm_chunk *to_chunk(struct drm_pagemap_devmem *devmem)
{
	return container_of(devmem, struct dpm_chunk, devmem);
}

static int dpm_populate_devmem_pfn(struct drm_pagemap_devmem *devmem,
				   unsigned long npages, unsigned long *pfn)
{
	struct dpm_chunk *c = to_chunk(devmem);
	struct simgpu_dpagemap *spm = to_spm(devmem->dpagemap);
	unsigned long first = PHYS_PFN(spm->res->start + c->base.offset);
	unsigned long i;

	for (i = 0; i < npages; i++)
		pfn[i] = first + i;
	*c->populated = true;
	return 0;
}

static void dpm_chunk_release_work(struct work_struct *work)
{
	simgpu_dmem_chunk_release(&container_of(work, struct dpm_chunk,
						release_work)->base);
}

/* The last device page of the allocation is gone: free its VRAM. */
static void dpm_devmem_release(struct drm_pagemap_devmem *devmem)
{
	struct dpm_chunk *c = to_chunk(devmem);

	queue_work(c->base.sdev->dmem.wq, &c->release_work);
}

static const struct drm_pagemap_devmem_ops dpm_devmem_ops = {
	.devmem_release = dpm_devmem_release,
	.populate_devmem_pfn = dpm_populate_devmem_pfn,
	.copy_to_devmem = dpm_copy_to_devmem,
	.copy_to_ram = dpm_copy_to_ram,
};

static void dpm_chunk_evict(struct simgpu_dmem_chunk *base)
{
	struct dpm_chunk *c = container_of(base, struct dpm_chunk, base);
	struct simgpu_svm_stats *s = &base->sdev->svm_stats;

	if (completion_done(&c->devmem.detached))
		return;
	if (!drm_pagemap_evict_to_ram(&c->devmem)) {
		atomic64_inc(&s->evictions);
		atomic64_add(base->size >> PAGE_SHIFT, &s->evicted_pages);
	}
}

static void dpm_chunk_free(struct simgpu_dmem_chunk *base)
{
	struct dpm_chunk *c = container_of(base, struct dpm_chunk, base);

	drm_pagemap_put(c->devmem.dpagemap);
	mmdrop(c->devmem.mm);
	kfree(c);
}

static const struct simgpu_dmem_chunk_ops dpm_chunk_ops = {
	.evict = dpm_chunk_evict,
	.free = dpm_chunk_free,
};

/**
 * simgpu_dpagemap_migrate() - move a span of a process into VRAM
 * @dpagemap: the VRAM's pagemap, from simgpu_dpagemap_get()
 * @mm: the process, its mmap_lock held (read)
 * @start: first address
 * @end: end of the span, one chunk size (4 KiB, 64 KiB or 2 MiB), inside
 *	one anonymous VMA
 * @timeslice: jiffies the pages stay in VRAM before a CPU fault takes
 *	them back
 * @held: the VM migrating, its lock held
 * @min_age: evict only what went into VRAM at least this long ago
 *
 * All pages move, from system memory or a linked device's VRAM, or none
 * (but for the pages that race the end of a migration: those stay where
 * they are).
 *
 * Return: 0; -ENODEV after an unbind; -ENOSPC when no VRAM could be had;
 * -EBUSY when a page could not move; -EINVAL, -ENOENT when the span is
 * not in one VMA; -ENOMEM.
 */
int simgpu_dpagemap_migrate(struct drm_pagemap *dpagemap,
			    struct mm_struct *mm, u64 start, u64 end,
			    unsigned long timeslice, struct simgpu_vm *held,
			    unsigned long min_age)
{
	const struct drm_pagemap_migrate_details details = {
		.timeslice_ms = jiffies_to_msecs(timeslice),
	};
	struct simgpu_device *sdev = to_spm(dpagemap)->sdev;
	bool populated = false;
	struct dpm_chunk *c;
	int idx, err;

	mmap_assert_locked(mm);

	if (!drm_dev_enter(&sdev->drm, &idx))
		return -ENODEV;
	c = kzalloc_obj(*c, GFP_KERNEL);
	if (!c) {
		err = -ENOMEM;
		goto out;
	}
	err = simgpu_dmem_chunk_init(sdev, &c->base, &dpm_chunk_ops,
				     end - start, held, min_age);
	if (err) {
		kfree(c);
		goto out;
	}
	INIT_WORK(&c->release_work, dpm_chunk_release_work);
	c->populated = &populated;
	mmgrab(mm);
	drm_pagemap_devmem_init(&c->devmem, sdev->drm.dev, mm,
				&dpm_devmem_ops, drm_pagemap_get(dpagemap),
				end - start, NULL);
	simgpu_dmem_chunk_add(&c->base);
	/* Consumes the allocation: released once no page of it is left. */
	err = drm_pagemap_migrate_to_devmem(&c->devmem, mm, start, end,
					    &details);
	/*
	 * -EBUSY once the pages were populated is the end of a migration
	 * that ran: pages that raced it stay where they are. It is also
	 * what drm_pagemap says of every never-touched 2 MiB it has just
	 * migrated as one folio (it counts the compound hole as one page;
	 * docs/upstream-findings.md), which the caller would otherwise take
	 * for another holder's pages and wait a timeslice for.
	 */
	if (err == -EBUSY && populated)
		err = 0;
	if (!err)
		atomic64_inc(&sdev->svm_stats.to_devmem_by_chunk
			     [simgpu_svm_chunk_index(end - start)]);
out:
	drm_dev_exit(idx);
	return err;
}

/*
 * After an unplug, drm_pagemap destroys a pagemap whose last reference
 * goes at once instead of handing it to the cache's shrinker, and the
 * cache, which still points at it, reads it when devres frees the cache
 * (a use-after-free KASAN saw on unbind). So the unbind holds the active
 * pagemap from before the unplug (simgpu_dpagemap_unplug()) until here:
 * registered before the cache, this devres action runs after the cache is
 * gone, and the last put then destroys the pagemap from the device's
 * workqueue, which lives until the DRM device is released.
 */
static void dpagemap_unplug_release(void *arg)
{
	struct simgpu_device *sdev = arg;

	if (sdev->dmem.unplug_hold)
		drm_pagemap_put(sdev->dmem.unplug_hold);
	sdev->dmem.unplug_hold = NULL;
}

/**
 * simgpu_dpagemap_unplug() - hold the device's pagemap across an unplug
 * @sdev: the device, about to be unplugged and evicted
 *
 * Takes a reference to the pagemap if it is in use, dropped once devres
 * has freed the pagemap cache (see dpagemap_unplug_release()).
 */
void simgpu_dpagemap_unplug(struct simgpu_device *sdev)
{
	sdev->dmem.unplug_hold =
		drm_pagemap_get_from_cache_if_active(sdev->dmem.dpagemap_cache);
}

/**
 * simgpu_dpagemap_init() - the kernel backend's VRAM of a device
 * @sdev: the device, its VRAM, engines and &simgpu_dmem set up
 *
 * Makes the device's drm_pagemap shrinker and cache (device-managed); the
 * pagemap itself comes with its first user (simgpu_dpagemap_get()).
 *
 * Return: 0 or a negative errno.
 */
int simgpu_dpagemap_init(struct simgpu_device *sdev)
{
	struct drm_pagemap_shrinker *shrinker;
	struct drm_pagemap_cache *cache;
	int err;

	err = devm_add_action_or_reset(sdev->drm.dev, dpagemap_unplug_release,
				       sdev);
	if (err)
		return err;
	shrinker = drm_pagemap_shrinker_create_devm(&sdev->drm);
	if (IS_ERR(shrinker))
		return PTR_ERR(shrinker);
	cache = drm_pagemap_cache_create_devm(shrinker);
	if (IS_ERR(cache))
		return PTR_ERR(cache);
	sdev->dmem.dpagemap_cache = cache;
	sdev->dmem.enabled = true;
	return 0;
}
