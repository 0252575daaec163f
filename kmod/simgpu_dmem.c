// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: VRAM as device-private memory: SVM chunks on one LRU with buffer
 * objects, eviction, and the simgpu core's pagemap and copies.
 */

#include <linux/ioport.h>
#include <linux/kref.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "gpusvm/simgpu_gpusvm.h"
#include "simgpu_bo.h"
#include "simgpu_device.h"
#include "simgpu_dmem.h"
#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_inject.h"
#include "simgpu_svm_backend.h"

/**
 * DOC: Overview
 *
 * On a kernel with CONFIG_DEVICE_PRIVATE (and the device-page API of 6.19,
 * SIMGPU_HAVE_DEVMEM) SVM migrates process memory into VRAM, whose pages
 * the SVM backend exposes as MEMORY_DEVICE_PRIVATE pages: the simgpu core
 * through one pagemap per device made here at probe (device page i is VRAM
 * offset i * 4 KiB, its owner the device or its link group), the kernel
 * core through a drm_pagemap (simgpu_dpagemap.c). Either way the engines
 * reach a device page through the VRAM storage like any VRAM, and a GPU
 * PTE of an SVM page in VRAM is a plain VRAM PTE.
 *
 * VRAM is one pool (gpu_buddy) for buffer objects and SVM. An SVM chunk
 * (&struct simgpu_dmem_chunk, embedded in the backend's own allocation) is
 * one contiguous, naturally aligned buddy block of the range's size
 * (2 MiB, 64 KiB or 4 KiB), so a 2 MiB chunk that migrated whole can be
 * mapped with a 2 MiB GPU entry. Chunks of both backends sit on one LRU in
 * migration order. When an allocation, for SVM or a buffer object, finds
 * VRAM full, it evicts until it fits or nothing evictable is left, least
 * recently placed first across both kinds: SVM chunks to system memory
 * (the backend's evict: simgpu_gpusvm_devmem_evict() or
 * drm_pagemap_evict_to_ram(), wherever their pages are mapped) and idle
 * buffer objects (simgpu_bo_evict_one()). An SVM migration evicts only
 * what went into VRAM more than svm_evict_age_ms ago, so that it does not
 * thrash. The GPU faults evicted pages in again later.
 *
 * A chunk's VRAM is freed when its last device page is freed: by a CPU
 * fault that migrated it back, eviction, munmap or process exit. The
 * device evicts every chunk before its pagemap goes: at unbind for the
 * kernel core (the drm_pagemap's memory is device-managed), when the DRM
 * device is released for the simgpu core.
 *
 * Copies go through the device's copy engines (simgpu_engine_copy_pages()),
 * which serve kernel copies before any job.
 */

/**
 * DOC: Locking
 *
 * &simgpu_dmem.lru_lock (spinlock) protects the LRU; nothing is taken
 * under it. A chunk on the LRU holds no reference; the release of a chunk
 * takes it off the LRU before it drops the chunk's base reference, so an
 * evictor that finds a chunk on the LRU can take a reference under the
 * lock. Eviction runs with no simgpu lock of its own held, from the fault
 * path (under a VM lock and the mmap_lock, which it does not need) or an
 * ioctl; evicting buffer objects after the chunks takes their locks (see
 * simgpu_bo.c), never a VM lock other than by trylock. The copy callbacks
 * take only the copy engine's spinlock and sleep on a completion, so they
 * are safe in migrate_to_ram.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static void chunk_free(struct kref *ref)
{
	struct simgpu_dmem_chunk *c =
		container_of(ref, struct simgpu_dmem_chunk, ref);

	c->ops->free(c);
}

/*
 * Evict the least recently migrated chunk if it was migrated at least
 * @min_age jiffies ago. Returns false when there is none. The chunk's VRAM
 * is free on return unless some of its pages could not be moved.
 */
static bool dmem_evict_one(struct simgpu_device *sdev, unsigned long min_age)
{
	struct simgpu_dmem *dmem = &sdev->dmem;
	struct simgpu_dmem_chunk *c;

	spin_lock(&dmem->lru_lock);
	c = list_first_entry_or_null(&dmem->lru, struct simgpu_dmem_chunk,
				     lru_link);
	if (c && min_age && time_before(jiffies, c->migrated_at + min_age))
		c = NULL;
	if (c) {
		/* Others go for the next one meanwhile. */
		list_move_tail(&c->lru_link, &dmem->lru);
		kref_get(&c->ref);
	}
	spin_unlock(&dmem->lru_lock);
	if (!c)
		return false;

	c->ops->evict(c);
	kref_put(&c->ref, chunk_free);
	/* The freed pages released the chunk from the workqueue. */
	flush_workqueue(dmem->wq);
	return true;
}

/* When the least recently migrated chunk was migrated; false: none. */
static bool dmem_lru_oldest(struct simgpu_dmem *dmem, unsigned long *at)
{
	struct simgpu_dmem_chunk *c;

	spin_lock(&dmem->lru_lock);
	c = list_first_entry_or_null(&dmem->lru, struct simgpu_dmem_chunk,
				     lru_link);
	if (c)
		*at = c->migrated_at;
	spin_unlock(&dmem->lru_lock);
	return c;
}

static unsigned int dmem_lru_len(struct simgpu_dmem *dmem)
{
	unsigned int n;

	spin_lock(&dmem->lru_lock);
	n = dmem->lru_len;
	spin_unlock(&dmem->lru_lock);
	return n;
}

/*
 * Allocate VRAM, evicting for it in least-recently-placed order across SVM
 * chunks and idle buffer objects: the older of the two LRU heads goes
 * first. Everything is tried at most once.
 */
static int dmem_vram_alloc(struct simgpu_device *sdev, u64 size,
			   u64 min_block, struct list_head *blocks,
			   struct simgpu_vm *held, unsigned long min_age)
{
	struct simgpu_dmem *dmem = &sdev->dmem;
	unsigned long chunk_at, bo_at;
	bool chunk, bo;
	unsigned int budget;
	int err, ret;

	err = simgpu_vram_alloc(&sdev->vram, size, min_block, blocks);
	if (err != -ENOSPC)
		return err;

	budget = dmem_lru_len(dmem);
	spin_lock(&sdev->bo_lru_lock);
	budget += sdev->bo_lru_len;
	spin_unlock(&sdev->bo_lru_lock);

	atomic_inc(&sdev->vram_evictors);
	while (err == -ENOSPC && budget--) {
		chunk = dmem_lru_oldest(dmem, &chunk_at);
		bo = simgpu_bo_lru_oldest(sdev, &bo_at);
		if (chunk && (!bo || !time_after(chunk_at, bo_at)))
			ret = dmem_evict_one(sdev, min_age) ? 1 : -ENOENT;
		else if (bo)
			ret = simgpu_bo_evict_one(sdev, held, min_age);
		else
			break;
		if (ret < 0)
			break;
		if (ret)
			err = simgpu_vram_alloc(&sdev->vram, size, min_block,
						blocks);
	}
	atomic_dec(&sdev->vram_evictors);
	return err;
}

/**
 * simgpu_dmem_vram_alloc() - allocate VRAM for a buffer object, evicting
 * SVM chunks and idle buffer objects for it
 * @sdev: the device
 * @size: bytes, a multiple of 4 KiB
 * @min_block: smallest block size, a power of two (@size for one block)
 * @blocks: list receiving the buddy blocks
 *
 * The caller holds no VM or buffer object lock. Without device-private
 * memory there are only buffer objects to evict.
 *
 * Return: 0, -ENOSPC when VRAM cannot be had even after evicting every SVM
 * chunk and idle object, or -ENOMEM.
 */
int simgpu_dmem_vram_alloc(struct simgpu_device *sdev, u64 size,
			   u64 min_block, struct list_head *blocks)
{
	return dmem_vram_alloc(sdev, size, min_block, blocks, NULL, 0);
}

/**
 * simgpu_dmem_chunk_init() - VRAM for one SVM chunk
 * @sdev: the device
 * @c: the chunk, embedded in the backend's allocation
 * @ops: how the backend evicts and frees it
 * @size: the chunk size: 4 KiB, 64 KiB or 2 MiB
 * @held: the VM migrating, its lock held by the caller
 * @min_age: evict only chunks migrated, and buffer objects placed, at
 *	least this many jiffies ago
 *
 * The chunk holds its base reference until simgpu_dmem_chunk_release(),
 * and goes on the LRU with simgpu_dmem_chunk_add() once the backend can
 * evict it; on failure nothing is left to undo.
 *
 * Return: 0, -ENOSPC when no VRAM could be had, -ENOMEM.
 */
int simgpu_dmem_chunk_init(struct simgpu_device *sdev,
			   struct simgpu_dmem_chunk *c,
			   const struct simgpu_dmem_chunk_ops *ops, u64 size,
			   struct simgpu_vm *held, unsigned long min_age)
{
	struct simgpu_dmem *dmem = &sdev->dmem;
	struct gpu_buddy_block *block;
	int err;

	INIT_LIST_HEAD(&c->blocks);
	kref_init(&c->ref);
	c->ops = ops;
	c->sdev = sdev;
	c->size = size;
	if (simgpu_inject(SIMGPU_INJECT_VRAM_CHUNK))
		return -ENOSPC;
	err = dmem_vram_alloc(sdev, size, size, &c->blocks, held, min_age);
	if (err)
		return err;
	block = list_first_entry(&c->blocks, struct gpu_buddy_block, link);
	c->offset = gpu_buddy_block_offset(block);
	atomic64_add(size, &dmem->used_svm);
	return 0;
}

/**
 * simgpu_dmem_chunk_add() - put a chunk on the LRU, evictable from now on
 * @c: the chunk, ready for its backend's evict
 */
void simgpu_dmem_chunk_add(struct simgpu_dmem_chunk *c)
{
	struct simgpu_dmem *dmem = &c->sdev->dmem;

	c->migrated_at = jiffies;
	spin_lock(&dmem->lru_lock);
	list_add_tail(&c->lru_link, &dmem->lru);
	dmem->lru_len++;
	spin_unlock(&dmem->lru_lock);
}

/**
 * simgpu_dmem_chunk_release() - free a chunk's VRAM: its last page is gone
 * @c: the chunk
 *
 * Takes the chunk off the LRU and drops its base reference: the backend's
 * free runs when no evictor holds it any more. Sleeps (the VRAM lock).
 */
void simgpu_dmem_chunk_release(struct simgpu_dmem_chunk *c)
{
	struct simgpu_dmem *dmem = &c->sdev->dmem;

	spin_lock(&dmem->lru_lock);
	list_del(&c->lru_link);
	dmem->lru_len--;
	spin_unlock(&dmem->lru_lock);

	simgpu_vram_free(&c->sdev->vram, &c->blocks);
	atomic64_sub(c->size, &dmem->used_svm);
	kref_put(&c->ref, chunk_free);
}

/**
 * simgpu_dmem_evict_all() - move every SVM page out of a device's VRAM
 * @sdev: the device
 *
 * Each chunk is tried a few times; a page that stays pinned all along
 * keeps its chunk (its VRAM stays in use).
 *
 * Return: true when no chunk is left.
 */
bool simgpu_dmem_evict_all(struct simgpu_device *sdev)
{
	struct simgpu_dmem *dmem = &sdev->dmem;
	unsigned int pass, budget;

	if (!dmem->wq)
		return true;
	for (pass = 0; pass < 3; pass++) {
		budget = dmem_lru_len(dmem);
		while (budget-- && dmem_evict_one(sdev, 0))
			;
		if (!dmem_lru_len(dmem))
			return true;
	}
	return false;
}

/**
 * simgpu_dmem_unplug() - unplug a device being unbound
 * @sdev: the device
 *
 * Unplugs the DRM device, so no new migration starts, then moves the
 * kernel core's pages out of VRAM: its pagemap cache is device-managed
 * and goes right after the unbind. The backend first gets to hold what
 * must outlive that (&simgpu_svm_backend.devmem_unplug). The simgpu
 * core's pagemap lives until the DRM device is released and keeps its
 * pages until then.
 */
void simgpu_dmem_unplug(struct simgpu_device *sdev)
{
	const struct simgpu_svm_backend *svm = sdev->params->svm;

	if (sdev->dmem.enabled && svm->devmem_unplug)
		svm->devmem_unplug(sdev);
	drm_dev_unplug(&sdev->drm);
	if (sdev->dmem.dpagemap_cache && !simgpu_dmem_evict_all(sdev))
		drm_warn(&sdev->drm,
			 "SVM pages stay pinned in VRAM across the unbind\n");
}

#if SIMGPU_HAVE_DEVMEM

/**
 * struct dmem_core_chunk - an SVM chunk of the simgpu core
 * @base: the VRAM and its place on the LRU
 * @devmem: the core's view
 */
struct dmem_core_chunk {
	struct simgpu_dmem_chunk base;
	struct simgpu_gpusvm_devmem devmem;
};

static struct simgpu_device *page_to_sdev(struct page *page)
{
	return container_of(page_pgmap(page), struct simgpu_device, dmem.pagemap);
}

/**
 * simgpu_dmem_page_offset() - the VRAM offset of a device page
 * @sdev: the device owning @page
 * @page: a device-private page of @sdev's simgpu-core pagemap
 *
 * Return: the byte offset in @sdev's VRAM.
 */
u64 simgpu_dmem_page_offset(struct simgpu_device *sdev, struct page *page)
{
	return (u64)(page_to_pfn(page) - sdev->dmem.first_pfn) << PAGE_SHIFT;
}

/**
 * simgpu_dmem_page_is_local() - whether a page is VRAM of a device
 * @sdev: the device
 * @page: any page
 *
 * Return: true when @page is one of @sdev's device-private pages.
 */
bool simgpu_dmem_page_is_local(struct simgpu_device *sdev, struct page *page)
{
	return sdev->dmem.pagemap_mapped && is_device_private_page(page) &&
	       page_pgmap(page) == &sdev->dmem.pagemap;
}

/**
 * simgpu_dmem_page_peer() - the linked device whose VRAM a page is
 * @sdev: a device
 * @page: any page
 *
 * Return: the other device of @sdev's link group that @page is a
 * device-private page of, or NULL.
 */
struct simgpu_device *simgpu_dmem_page_peer(struct simgpu_device *sdev,
					    struct page *page)
{
	if (!sdev->dmem.pagemap_mapped || !is_device_private_page(page) ||
	    page_pgmap(page) == &sdev->dmem.pagemap ||
	    page_pgmap(page)->owner != sdev->dmem.pagemap.owner)
		return NULL;
	return page_to_sdev(page);
}

/* A device page of any simgpu device: its VRAM storage. */
static struct page *dev_storage(struct page *page)
{
	struct simgpu_device *sdev;

	if (!page || !is_device_private_page(page))
		return page;
	sdev = page_to_sdev(page);
	return simgpu_vram_page(&sdev->vram,
				simgpu_dmem_page_offset(sdev, page));
}

/*
 * The copy engine of the device owning @dev[0] reaches device pages
 * through their VRAM storage, a linked peer's too (device to device).
 */
static int dmem_copy(struct page **dev, struct page **sys,
		     unsigned long npages, bool to_vram)
{
	struct simgpu_device *sdev;
	unsigned long i;

	if (!npages)
		return 0;
	sdev = page_to_sdev(dev[0]);
	for (i = 0; i < npages; i++) {
		dev[i] = dev_storage(dev[i]);
		sys[i] = dev_storage(sys[i]);
	}
	return to_vram ? simgpu_engine_copy_pages(sdev, dev, sys, npages) :
			 simgpu_engine_copy_pages(sdev, sys, dev, npages);
}

static int dmem_copy_to_devmem(struct page **dev, struct page **sys,
			       unsigned long npages)
{
	if (simgpu_inject(SIMGPU_INJECT_MIGRATE_COPY))
		return -EIO;
	return dmem_copy(dev, sys, npages, true);
}

static int dmem_copy_to_ram(struct page **dev, struct page **sys,
			    unsigned long npages)
{
	return dmem_copy(dev, sys, npages, false);
}

static void dmem_chunk_release(struct simgpu_gpusvm_devmem *devmem)
{
	simgpu_dmem_chunk_release(&container_of(devmem, struct dmem_core_chunk,
						devmem)->base);
}

/* The device whose VRAM the pages went into or came out of counts them. */
static void dmem_chunk_migrated(struct simgpu_gpusvm_devmem *devmem,
				const struct simgpu_gpusvm_migration *mig)
{
	struct simgpu_dmem_chunk *c =
		&container_of(devmem, struct dmem_core_chunk, devmem)->base;
	struct simgpu_svm_stats *s = &c->sdev->svm_stats;
	unsigned int chunk = simgpu_svm_chunk_index(c->size);

	switch (mig->kind) {
	case SIMGPU_GPUSVM_MIGRATED_TO_DEVMEM:
		atomic64_add(mig->pages, &s->to_devmem_pages);
		atomic64_inc(&s->to_devmem_by_chunk[chunk]);
		atomic64_add(mig->folios, &s->to_devmem_folios);
		break;
	case SIMGPU_GPUSVM_MIGRATED_TO_RAM:
		atomic64_add(mig->pages, &s->to_ram_pages);
		atomic64_add(mig->folios, &s->to_ram_folios);
		atomic64_inc(&s->to_ram_chunks);
		break;
	case SIMGPU_GPUSVM_EVICTED:
		atomic64_inc(&s->evictions);
		atomic64_add(mig->pages, &s->evicted_pages);
		break;
	}
}

static const struct simgpu_gpusvm_devmem_ops dmem_devmem_ops = {
	.copy_to_devmem = dmem_copy_to_devmem,
	.copy_to_ram = dmem_copy_to_ram,
	.release = dmem_chunk_release,
	.migrated = dmem_chunk_migrated,
};

static void core_chunk_evict(struct simgpu_dmem_chunk *c)
{
	simgpu_gpusvm_devmem_evict(&container_of(c, struct dmem_core_chunk,
						 base)->devmem);
}

static void core_chunk_free(struct simgpu_dmem_chunk *c)
{
	kfree(container_of(c, struct dmem_core_chunk, base));
}

static const struct simgpu_dmem_chunk_ops core_chunk_ops = {
	.evict = core_chunk_evict,
	.free = core_chunk_free,
};

/**
 * simgpu_dmem_svm_alloc() - VRAM for one SVM chunk of the simgpu core
 * @sdev: the device
 * @size: the chunk size: 4 KiB, 64 KiB or 2 MiB
 * @held: the VM migrating, its lock held by the caller
 * @min_age: evict only chunks migrated, and buffer objects placed, at
 *	least this many jiffies ago
 *
 * Return: the chunk's device memory, its pages ready for migration, or
 * ERR_PTR(-ENOSPC), ERR_PTR(-ENOMEM), ERR_PTR(-EOPNOTSUPP) without the
 * simgpu core's pagemap.
 */
struct simgpu_gpusvm_devmem *simgpu_dmem_svm_alloc(struct simgpu_device *sdev,
						   u64 size,
						   struct simgpu_vm *held,
						   unsigned long min_age)
{
	struct simgpu_dmem *dmem = &sdev->dmem;
	struct dmem_core_chunk *cc;
	int err;

	if (!dmem->pagemap_mapped)
		return ERR_PTR(-EOPNOTSUPP);

	cc = kzalloc_obj(*cc, GFP_KERNEL);
	if (!cc)
		return ERR_PTR(-ENOMEM);
	err = simgpu_dmem_chunk_init(sdev, &cc->base, &core_chunk_ops, size,
				     held, min_age);
	if (err) {
		kfree(cc);
		return ERR_PTR(err);
	}
	simgpu_gpusvm_devmem_init(&cc->devmem, &dmem_devmem_ops,
				  dmem->pagemap.owner,
				  dmem->first_pfn + (cc->base.offset >> PAGE_SHIFT),
				  size >> PAGE_SHIFT, dmem->wq);
	simgpu_dmem_chunk_add(&cc->base);
	return &cc->devmem;
}

/**
 * simgpu_dmem_pagemap_init() - the simgpu core's pagemap of a device
 * @sdev: the device, its VRAM, engines and &simgpu_dmem set up
 *
 * Registers the whole VRAM as one MEMORY_DEVICE_PRIVATE pagemap with the
 * simgpu core's &dev_pagemap_ops, owned by the device's link group; it
 * goes when the DRM device is released, after every chunk was evicted.
 *
 * Return: 0 or a negative errno.
 */
int simgpu_dmem_pagemap_init(struct simgpu_device *sdev)
{
	struct simgpu_dmem *dmem = &sdev->dmem;
	void *addr;
	int err;

	dmem->res = request_free_mem_region(&iomem_resource, sdev->vram.size,
					    "simgpu-vram");
	if (IS_ERR(dmem->res))
		return PTR_ERR(dmem->res);

	dmem->pagemap.type = MEMORY_DEVICE_PRIVATE;
	dmem->pagemap.range.start = dmem->res->start;
	dmem->pagemap.range.end = dmem->res->end;
	dmem->pagemap.nr_range = 1;
	dmem->pagemap.ops = simgpu_gpusvm_pagemap_ops();
	/* Linked devices share an owner: each maps the others' pages. */
	dmem->pagemap.owner = simgpu_device_pgmap_owner(sdev);
	addr = memremap_pages(&dmem->pagemap, NUMA_NO_NODE);
	if (IS_ERR(addr)) {
		err = PTR_ERR(addr);
		goto err_region;
	}
	dmem->first_pfn = dmem->res->start >> PAGE_SHIFT;
	dmem->pagemap_mapped = true;
	dmem->enabled = true;
	return 0;

err_region:
	release_mem_region(dmem->res->start, resource_size(dmem->res));
	return err;
}

static void dmem_fini(struct drm_device *drm, void *arg)
{
	struct simgpu_device *sdev = arg;
	struct simgpu_dmem *dmem = &sdev->dmem;

	/* Every page goes back to system memory before the pagemap goes. */
	simgpu_dmem_evict_all(sdev);
	if (dmem->pagemap_mapped) {
		memunmap_pages(&dmem->pagemap);
		release_mem_region(dmem->res->start, resource_size(dmem->res));
		dmem->pagemap_mapped = false;
	}
	flush_workqueue(dmem->wq);
	destroy_workqueue(dmem->wq);
	dmem->wq = NULL;
	dmem->enabled = false;
}

/**
 * simgpu_dmem_init() - expose a device's VRAM as device-private memory
 * @sdev: the device, its VRAM and engines set up
 *
 * The SVM backend makes the pagemap (&simgpu_svm_backend.devmem_init);
 * this sets up what both share: the chunk LRU and the workqueue chunks
 * are released from. Torn down when the DRM device is released.
 *
 * Return: 0 or a negative errno.
 */
int simgpu_dmem_init(struct simgpu_device *sdev)
{
	const struct simgpu_svm_backend *svm = sdev->params->svm;
	struct simgpu_dmem *dmem = &sdev->dmem;
	int err;

	spin_lock_init(&dmem->lru_lock);
	INIT_LIST_HEAD(&dmem->lru);

	if (!svm->devmem_init) {
		drm_info(&sdev->drm,
			 "no VRAM migration: svm_core=%s does not migrate to VRAM on this kernel\n",
			 svm->name);
		return 0;
	}
	dmem->wq = alloc_workqueue("simgpu%u-dmem", WQ_UNBOUND, 0, sdev->id);
	if (!dmem->wq)
		return -ENOMEM;
	err = drmm_add_action_or_reset(&sdev->drm, dmem_fini, sdev);
	if (err)
		return err;
	return svm->devmem_init(sdev);
}

#else /* !SIMGPU_HAVE_DEVMEM */

/**
 * simgpu_dmem_init() - nothing to do without device-private memory
 * @sdev: the device
 *
 * SVM stays in system memory on a kernel without CONFIG_DEVICE_PRIVATE, or
 * one older than the device-page API simgpu uses (SIMGPU_HAVE_DEVMEM); the
 * log says which, once per device.
 *
 * Return: 0.
 */
int simgpu_dmem_init(struct simgpu_device *sdev)
{
	struct simgpu_dmem *dmem = &sdev->dmem;

	spin_lock_init(&dmem->lru_lock);
	INIT_LIST_HEAD(&dmem->lru);
	drm_info(&sdev->drm, "no VRAM migration: %s\n",
		 IS_ENABLED(CONFIG_DEVICE_PRIVATE) ?
		 "the kernel predates the folio-based device-page API of 6.19" :
		 "kernel without CONFIG_DEVICE_PRIVATE");
	return 0;
}

#endif
