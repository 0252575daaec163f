// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: buffer objects in system memory or VRAM.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_vma_manager.h>

#include "simgpu_bo.h"
#include "simgpu_dmem.h"
#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_inject.h"
#include "simgpu_vm.h"
#include "simgpu_vram.h"

/**
 * DOC: Overview
 *
 * A buffer object is a GEM object whose storage is allocated and zeroed
 * when it is created: order-0 system pages, or VRAM blocks from the
 * device's buddy allocator, the pool SVM migrates into too. The CPU maps
 * it through the object's fault handler, one 4 KiB page per fault, as a
 * PFN mapping with normal caching (the "VRAM" is system memory in this
 * simulation); the GPU reaches it through VM mappings (simgpu_vm.c).
 *
 * Eviction. VRAM objects sit on a per-device LRU in the order they went
 * into VRAM. When an allocation of VRAM fails — another object, or an SVM
 * migration — SVM chunks and idle objects move to system memory in one
 * least-recently-placed order until it fits (simgpu_dmem_vram_alloc()). An object is idle when it is mapped only in
 * fault-mode VMs (or not at all): a fault-mode VM's PTEs may be zapped at
 * any time, its engines fault and the fault path maps the object where it
 * is now; a VM without fault mode must have every mapping valid whenever a
 * job runs, so its objects stay in VRAM. The move zaps the CPU mappings
 * and the GPU mappings of every VM, copies the pages through the copy
 * engine and frees the VRAM. An evicted object returns to VRAM on its
 * next GPU fault if VRAM is free then, without evicting anything (no
 * ping-pong between the two kinds of eviction).
 */

/**
 * DOC: Locking
 *
 * The object's reservation (the &dma_resv lock of the GEM object)
 * protects the placement, the storage and the object's &drm_gpuvm_bo
 * list (its VM mappings). Order: &simgpu_vm.lock -> mmap_lock ->
 * reservation: the GPU fault path takes it under the faulting VM's lock
 * (and, for SVM migrations that evict, the mmap_lock), the CPU fault
 * handler under the mmap_lock, a bind with drm_exec under the VM's lock;
 * no code here holds two reservations. A move from a fault path takes the
 * locks of the other VMs that map the object with mutex_trylock() under
 * the reservation, and gives up when one is busy; an evictor that holds
 * no VM lock (an allocation) waits for them all before it takes the
 * reservation (simgpu_vm_bo_lock_all()). A move
 * then takes the engines' TLB locks, the mapping's i_mmap_rwsem (zapping
 * CPU mappings) and the VRAM allocator's lock. &simgpu_device.bo_lru_lock
 * (spinlock) protects the LRU; an evictor takes an object reference under
 * it, and the release takes the object off the LRU first. Nothing here
 * runs in reclaim or in an MMU notifier.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

/**
 * simgpu_bo_page_locked() - the page holding 4 KiB page @idx of an object
 * @bo: the object
 * @idx: page index, below the object's size in pages
 *
 * Return: the storage page.
 */
struct page *simgpu_bo_page_locked(struct simgpu_bo *bo, pgoff_t idx)
{
	struct simgpu_device *sdev = to_simgpu_device(bo->base.dev);

	dma_resv_assert_held(bo->base.resv);

	if (bo->placement == DRM_SIMGPU_MEM_VRAM)
		return simgpu_vram_page(&sdev->vram, bo->vram_offsets[idx]);
	return bo->pages[idx];
}

/* Storage of one placement, detached from an object while it moves. */
struct bo_storage {
	u32 placement;
	struct page **pages;
	u64 *vram_offsets;
	struct list_head blocks;
};

static void bo_storage_free(struct simgpu_device *sdev, struct bo_storage *s,
			    pgoff_t n)
{
	pgoff_t i;

	if (s->placement == DRM_SIMGPU_MEM_VRAM) {
		if (!list_empty(&s->blocks))
			simgpu_vram_free(&sdev->vram, &s->blocks);
		kvfree(s->vram_offsets);
	} else if (s->pages) {
		for (i = 0; i < n && s->pages[i]; i++)
			__free_page(s->pages[i]);
		kvfree(s->pages);
	}
}

/*
 * Allocate the storage of @n pages in @s->placement. VRAM comes from
 * simgpu_dmem_vram_alloc() (evicting SVM chunks and idle objects) when
 * @evict, else only from free VRAM.
 */
static int bo_storage_alloc(struct simgpu_device *sdev, struct bo_storage *s,
			    pgoff_t n, gfp_t gfp, bool evict)
{
	struct gpu_buddy_block *block;
	u64 off, end, size = (u64)n << PAGE_SHIFT;
	pgoff_t i = 0;
	int err;

	INIT_LIST_HEAD(&s->blocks);
	if (s->placement == DRM_SIMGPU_MEM_SYSTEM) {
		s->pages = kvcalloc(n, sizeof(*s->pages), GFP_KERNEL);
		if (!s->pages)
			return -ENOMEM;
		/*
		 * An object as large as memory fails with -ENOMEM instead of
		 * sending the OOM killer after other processes; and a caller
		 * the OOM killer picked meanwhile stops here, not draining
		 * the reserves it may now use (it never sees the errno).
		 */
		for (i = 0; i < n; i++) {
			if (i == n / 2 && simgpu_inject(SIMGPU_INJECT_BO_PAGES))
				goto err_free;
			if (fatal_signal_pending(current))
				goto err_free;
			s->pages[i] = alloc_page(gfp | __GFP_RETRY_MAYFAIL |
						 __GFP_NOWARN);
			if (!s->pages[i])
				goto err_free;
			cond_resched();
		}
		return 0;
	}

	s->vram_offsets = kvcalloc(n, sizeof(*s->vram_offsets), GFP_KERNEL);
	if (!s->vram_offsets)
		return -ENOMEM;
	if (evict)
		err = simgpu_dmem_vram_alloc(sdev, size, SZ_4K, &s->blocks);
	else
		err = simgpu_vram_alloc(&sdev->vram, size, SZ_4K, &s->blocks);
	if (err) {
		INIT_LIST_HEAD(&s->blocks);
		kvfree(s->vram_offsets);
		s->vram_offsets = NULL;
		return err;
	}
	list_for_each_entry(block, &s->blocks, link) {
		off = gpu_buddy_block_offset(block);
		end = off + gpu_buddy_block_size(&sdev->vram.mm, block);
		for (; off < end && i < n; off += PAGE_SIZE, i++) {
			s->vram_offsets[i] = off;
			if (gfp & __GFP_ZERO)
				simgpu_engine_zero_page(simgpu_vram_page(&sdev->vram,
									 off));
		}
	}
	return 0;

err_free:
	bo_storage_free(sdev, s, n);
	s->pages = NULL;
	return -ENOMEM;
}

static void bo_lru_add(struct simgpu_device *sdev, struct simgpu_bo *bo)
{
	spin_lock(&sdev->bo_lru_lock);
	bo->lru_at = jiffies;
	list_add_tail(&bo->lru_link, &sdev->bo_lru);
	sdev->bo_lru_len++;
	spin_unlock(&sdev->bo_lru_lock);
}

static void bo_lru_del(struct simgpu_device *sdev, struct simgpu_bo *bo)
{
	spin_lock(&sdev->bo_lru_lock);
	if (!list_empty(&bo->lru_link)) {
		list_del_init(&bo->lru_link);
		sdev->bo_lru_len--;
	}
	spin_unlock(&sdev->bo_lru_lock);
}

/*
 * Move the storage of @bo to @to. With @all_locked the caller holds every
 * VM that maps @bo (simgpu_vm_bo_lock_all()); otherwise @held is a VM
 * whose lock the caller holds, and the others are tried. Returns -EBUSY
 * when a VM that maps the object is busy, -EPERM when the object is
 * pinned (simgpu_vm_bo_lock_vms_locked()), -ENOSPC/-ENOMEM when the new
 * storage cannot be had, or the copy's error; the object is unchanged
 * then.
 */
static int bo_move_locked(struct simgpu_bo *bo, u32 to, struct simgpu_vm *held,
			  bool all_locked)
{
	struct simgpu_device *sdev = to_simgpu_device(bo->base.dev);
	pgoff_t i, n = bo->base.size >> PAGE_SHIFT;
	struct bo_storage new = { .placement = to }, old;
	struct simgpu_vm_set vms = {};
	struct page **src, **dst;
	int err;

	dma_resv_assert_held(bo->base.resv);

	src = kvmalloc_array(n, sizeof(*src), GFP_KERNEL);
	dst = kvmalloc_array(n, sizeof(*dst), GFP_KERNEL);
	if (!src || !dst) {
		err = -ENOMEM;
		goto err_arrays;
	}
	err = bo_storage_alloc(sdev, &new, n, GFP_HIGHUSER, false);
	if (err)
		goto err_arrays;
	if (!all_locked) {
		err = simgpu_vm_bo_lock_vms_locked(bo, held, &vms);
		if (err)
			goto err_storage;
	}

	/* From here on no CPU or GPU access reaches the old storage. */
	drm_vma_node_unmap(&bo->base.vma_node,
			   bo->base.dev->anon_inode->i_mapping);
	simgpu_vm_bo_zap_locked(bo);

	for (i = 0; i < n; i++) {
		src[i] = simgpu_bo_page_locked(bo, i);
		dst[i] = to == DRM_SIMGPU_MEM_VRAM ?
			 simgpu_vram_page(&sdev->vram, new.vram_offsets[i]) :
			 new.pages[i];
	}
	err = simgpu_engine_copy_pages(sdev, dst, src, n);
	if (err)
		goto err_unlock;

	old.placement = bo->placement;
	old.pages = bo->pages;
	old.vram_offsets = bo->vram_offsets;
	INIT_LIST_HEAD(&old.blocks);
	list_splice_init(&bo->blocks, &old.blocks);
	bo->placement = to;
	bo->pages = new.pages;
	bo->vram_offsets = new.vram_offsets;
	list_splice_init(&new.blocks, &bo->blocks);
	simgpu_vm_set_unlock(&vms);

	bo_storage_free(sdev, &old, n);
	kvfree(src);
	kvfree(dst);
	return 0;

err_unlock:
	/* The zapped mappings fault the old storage in again. */
	simgpu_vm_set_unlock(&vms);
err_storage:
	bo_storage_free(sdev, &new, n);
err_arrays:
	kvfree(src);
	kvfree(dst);
	return err;
}

/**
 * simgpu_bo_restore_locked() - bring an evicted object back to VRAM
 * @bo: the object
 * @held: the VM whose GPU fault is being served, its lock held
 *
 * Called by the fault path of a fault-mode VM before it maps @bo. Moves
 * the object back to VRAM when it was evicted and free VRAM can hold it;
 * never evicts, so VRAM pressure leaves the object where it is, and
 * leaves alone VRAM that an allocation is evicting for.
 */
void simgpu_bo_restore_locked(struct simgpu_bo *bo, struct simgpu_vm *held)
{
	struct simgpu_device *sdev = to_simgpu_device(bo->base.dev);

	dma_resv_assert_held(bo->base.resv);

	/* VRAM an evictor just freed is the evictor's to allocate. */
	if (bo->placement == bo->preferred ||
	    atomic_read(&sdev->vram_evictors) ||
	    bo_move_locked(bo, DRM_SIMGPU_MEM_VRAM, held, false))
		return;
	bo_lru_add(sdev, bo);
	atomic64_inc(&sdev->stats.bo_restores);
}

/**
 * simgpu_bo_lru_oldest() - when the least recently placed object went
 * into VRAM
 * @sdev: the device
 * @at: receives that time in jiffies
 *
 * Return: false when no object is in VRAM.
 */
bool simgpu_bo_lru_oldest(struct simgpu_device *sdev, unsigned long *at)
{
	struct simgpu_bo *bo;

	spin_lock(&sdev->bo_lru_lock);
	bo = list_first_entry_or_null(&sdev->bo_lru, struct simgpu_bo,
				      lru_link);
	if (bo)
		*at = bo->lru_at;
	spin_unlock(&sdev->bo_lru_lock);
	return bo;
}

/**
 * simgpu_bo_evict_one() - evict the least recently placed idle object
 * @sdev: the device
 * @held: a VM whose lock the caller holds, or NULL
 * @min_age: only an object that went into VRAM at least this many jiffies
 *	ago
 *
 * The caller holds no buffer object lock. An object that cannot move goes
 * to the end of the LRU.
 *
 * Return: 1 when an object moved to system memory, 0 when the one tried
 * could not move, -ENOENT when no object is left to try.
 */
int simgpu_bo_evict_one(struct simgpu_device *sdev, struct simgpu_vm *held,
			unsigned long min_age)
{
	struct simgpu_vm_set vms = {};
	struct simgpu_bo *bo = NULL, *it;
	int ret = 0;

	spin_lock(&sdev->bo_lru_lock);
	list_for_each_entry(it, &sdev->bo_lru, lru_link) {
		if (min_age && time_before(jiffies, it->lru_at + min_age))
			continue;
		if (kref_get_unless_zero(&it->base.refcount)) {
			bo = it;
			/* Others go for the next one meanwhile. */
			list_move_tail(&bo->lru_link, &sdev->bo_lru);
			break;
		}
	}
	spin_unlock(&sdev->bo_lru_lock);
	if (!bo)
		return -ENOENT;

	/* Holding no VM, wait for the VMs that map it; else only try them. */
	if (held)
		dma_resv_lock(bo->base.resv, NULL);
	else if (simgpu_vm_bo_lock_all(bo, &vms))
		goto out;
	if (bo->placement == DRM_SIMGPU_MEM_VRAM &&
	    !bo_move_locked(bo, DRM_SIMGPU_MEM_SYSTEM, held, !held)) {
		bo_lru_del(sdev, bo);
		atomic64_inc(&sdev->stats.bo_evictions);
		atomic64_add(bo->base.size, &sdev->stats.bo_evicted_bytes);
		ret = 1;
	}
	dma_resv_unlock(bo->base.resv);
	simgpu_vm_set_unlock(&vms);
out:
	drm_gem_object_put(&bo->base);
	return ret;
}

static void simgpu_bo_free(struct drm_gem_object *obj)
{
	struct simgpu_bo *bo = to_simgpu_bo(obj);
	struct simgpu_device *sdev = to_simgpu_device(obj->dev);
	struct bo_storage s = {
		.placement = bo->placement,
		.pages = bo->pages,
		.vram_offsets = bo->vram_offsets,
	};

	bo_lru_del(sdev, bo);
	INIT_LIST_HEAD(&s.blocks);
	list_splice_init(&bo->blocks, &s.blocks);
	bo_storage_free(sdev, &s, obj->size >> PAGE_SHIFT);
	drm_gem_free_mmap_offset(obj);
	drm_gem_object_release(obj);
	kfree(bo);
}

static vm_fault_t simgpu_bo_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct simgpu_bo *bo = to_simgpu_bo(vma->vm_private_data);
	pgoff_t idx = vmf->pgoff - drm_vma_node_start(&bo->base.vma_node);
	vm_fault_t ret;

	if (idx >= bo->base.size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	/* A move zaps the mapping under the lock before the storage goes. */
	dma_resv_lock(bo->base.resv, NULL);
	ret = vmf_insert_pfn(vma, vmf->address,
			     page_to_pfn(simgpu_bo_page_locked(bo, idx)));
	dma_resv_unlock(bo->base.resv);
	return ret;
}

static const struct vm_operations_struct simgpu_bo_vm_ops = {
	.fault = simgpu_bo_fault,
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

static int simgpu_bo_mmap(struct drm_gem_object *obj,
			  struct vm_area_struct *vma)
{
	/* A PFN mapping cannot be copy-on-write: MAP_SHARED only. */
	if ((vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE)
		return -EINVAL;
	vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = vm_get_page_prot(vma->vm_flags);
	return 0;
}

static const struct drm_gem_object_funcs simgpu_bo_funcs = {
	.free = simgpu_bo_free,
	.mmap = simgpu_bo_mmap,
	.vm_ops = &simgpu_bo_vm_ops,
};

/**
 * simgpu_bo_create_ioctl() - DRM_IOCTL_SIMGPU_GEM_CREATE
 * @drm: the device
 * @data: &struct drm_simgpu_gem_create
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_bo_create_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct simgpu_device *sdev = to_simgpu_device(drm);
	struct drm_simgpu_gem_create *args = data;
	struct bo_storage storage;
	struct simgpu_bo *bo;
	pgoff_t n;
	int err;

	if (args->extensions || args->flags || args->pad ||
	    !simgpu_reserved_clear(args->reserved) ||
	    !args->size || !IS_ALIGNED(args->size, PAGE_SIZE) ||
	    args->placement > DRM_SIMGPU_MEM_VRAM)
		return -EINVAL;

	if (args->placement == DRM_SIMGPU_MEM_VRAM &&
	    args->size > sdev->vram.size)
		return -ENOSPC;
	if (args->size >> PAGE_SHIFT > totalram_pages())
		return -ENOMEM;
	n = args->size >> PAGE_SHIFT;

	bo = kzalloc_obj(*bo, GFP_KERNEL);
	if (!bo)
		return -ENOMEM;
	bo->base.funcs = &simgpu_bo_funcs;
	bo->preferred = args->placement;
	bo->placement = args->placement;
	INIT_LIST_HEAD(&bo->blocks);
	INIT_LIST_HEAD(&bo->lru_link);
	drm_gem_private_object_init(drm, &bo->base, args->size);
	drm_gem_gpuva_init(&bo->base);

	storage.placement = args->placement;
	/* Charged to the creator's memory cgroup, as shmem-backed GEM is. */
	err = bo_storage_alloc(sdev, &storage, n,
			       GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT, true);
	if (err)
		goto err_put;
	bo->pages = storage.pages;
	bo->vram_offsets = storage.vram_offsets;
	list_splice_init(&storage.blocks, &bo->blocks);
	if (bo->placement == DRM_SIMGPU_MEM_VRAM)
		bo_lru_add(sdev, bo);

	err = drm_gem_create_mmap_offset(&bo->base);
	if (err)
		goto err_put;

	err = drm_gem_handle_create(file, &bo->base, &args->handle);

err_put:
	/* On success the handle holds the object; else this frees it. */
	drm_gem_object_put(&bo->base);
	return err;
}

/**
 * simgpu_bo_mmap_offset_ioctl() - DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET
 * @drm: the device
 * @data: &struct drm_simgpu_gem_mmap_offset
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_bo_mmap_offset_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct drm_simgpu_gem_mmap_offset *args = data;
	struct drm_gem_object *obj;

	if (args->extensions || args->flags ||
	    !simgpu_reserved_clear(args->reserved))
		return -EINVAL;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	args->offset = drm_vma_node_offset_addr(&obj->vma_node);
	drm_gem_object_put(obj);
	return 0;
}
