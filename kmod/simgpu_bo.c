// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: buffer objects in system memory or VRAM.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_vma_manager.h>

#include "simgpu_bo.h"
#include "simgpu_drv.h"
#include "simgpu_vram.h"

/**
 * DOC: Overview
 *
 * A buffer object is a GEM object whose storage is allocated when it is
 * created and stays put until it is freed: order-0 system pages, or VRAM
 * blocks from the device's buddy allocator. Both are mapped to the CPU by
 * the object's fault handler, one 4 KiB page per fault, as a PFN mapping
 * with normal caching (the "VRAM" is system memory in this simulation).
 * The GPU reaches an object through a VM mapping (simgpu_vm.c).
 */

/**
 * DOC: Locking
 *
 * An object's storage is immutable between creation and release, so
 * readers need only a reference. Creation and release take only the VRAM
 * allocator's lock (see simgpu_vram.c).
 */

/**
 * simgpu_bo_page() - the page holding 4 KiB page @idx of an object
 * @bo: the object
 * @idx: page index, below the object's size in pages
 *
 * Return: the storage page.
 */
struct page *simgpu_bo_page(struct simgpu_bo *bo, pgoff_t idx)
{
	struct simgpu_device *sdev = to_simgpu_device(bo->base.dev);

	if (bo->placement == DRM_SIMGPU_MEM_VRAM)
		return simgpu_vram_page(&sdev->vram, bo->vram_offsets[idx]);
	return bo->pages[idx];
}

static void simgpu_bo_free(struct drm_gem_object *obj)
{
	struct simgpu_bo *bo = to_simgpu_bo(obj);
	struct simgpu_device *sdev = to_simgpu_device(obj->dev);
	pgoff_t i, n = obj->size >> PAGE_SHIFT;

	if (bo->placement == DRM_SIMGPU_MEM_VRAM) {
		simgpu_vram_free(&sdev->vram, &bo->blocks);
		kvfree(bo->vram_offsets);
	} else if (bo->pages) {
		for (i = 0; i < n && bo->pages[i]; i++)
			__free_page(bo->pages[i]);
		kvfree(bo->pages);
	}
	drm_gem_free_mmap_offset(obj);
	drm_gem_object_release(obj);
	kfree(bo);
}

static vm_fault_t simgpu_bo_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct simgpu_bo *bo = to_simgpu_bo(vma->vm_private_data);
	pgoff_t idx = vmf->pgoff - drm_vma_node_start(&bo->base.vma_node);

	if (idx >= bo->base.size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vma, vmf->address,
			      page_to_pfn(simgpu_bo_page(bo, idx)));
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
	if (is_cow_mapping(vma->vm_flags))
		return -EINVAL;
	vma->vm_flags |= VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_page_prot = vm_get_page_prot(vma->vm_flags);
	return 0;
}

static const struct drm_gem_object_funcs simgpu_bo_funcs = {
	.free = simgpu_bo_free,
	.mmap = simgpu_bo_mmap,
	.vm_ops = &simgpu_bo_vm_ops,
};

static int simgpu_bo_alloc_system(struct simgpu_bo *bo, pgoff_t n)
{
	pgoff_t i;

	bo->pages = kvcalloc(n, sizeof(*bo->pages), GFP_KERNEL);
	if (!bo->pages)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		bo->pages[i] = alloc_page(GFP_HIGHUSER | __GFP_ZERO |
					  __GFP_NOWARN);
		if (!bo->pages[i])
			return -ENOMEM;	/* the free path releases the rest */
	}
	return 0;
}

static int simgpu_bo_alloc_vram(struct simgpu_device *sdev,
				struct simgpu_bo *bo, pgoff_t n)
{
	struct drm_buddy_block *block;
	pgoff_t i = 0;
	u64 off, end;
	int err;

	bo->vram_offsets = kvcalloc(n, sizeof(*bo->vram_offsets), GFP_KERNEL);
	if (!bo->vram_offsets)
		return -ENOMEM;

	/* SVM pages in VRAM make way for buffer objects. */
	err = simgpu_dmem_vram_alloc(sdev, (u64)n << PAGE_SHIFT, SZ_4K,
				     &bo->blocks);
	if (err)
		return err;

	list_for_each_entry(block, &bo->blocks, link) {
		off = drm_buddy_block_offset(block);
		end = off + drm_buddy_block_size(&sdev->vram.mm, block);
		for (; off < end && i < n; off += PAGE_SIZE, i++) {
			bo->vram_offsets[i] = off;
			clear_highpage(simgpu_vram_page(&sdev->vram, off));
		}
	}
	return 0;
}

/**
 * simgpu_gem_create_ioctl() - DRM_IOCTL_SIMGPU_GEM_CREATE
 * @drm: the device
 * @data: &struct drm_simgpu_gem_create
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_gem_create_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct simgpu_device *sdev = to_simgpu_device(drm);
	struct drm_simgpu_gem_create *args = data;
	struct simgpu_bo *bo;
	pgoff_t n;
	int err;

	if (args->extensions || args->flags || args->pad ||
	    args->reserved[0] || args->reserved[1] ||
	    !args->size || !IS_ALIGNED(args->size, PAGE_SIZE) ||
	    args->placement > DRM_SIMGPU_MEM_VRAM)
		return -EINVAL;

	if (args->placement == DRM_SIMGPU_MEM_VRAM &&
	    args->size > sdev->vram.size)
		return -ENOSPC;
	if (args->size >> PAGE_SHIFT > totalram_pages())
		return -ENOMEM;
	n = args->size >> PAGE_SHIFT;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return -ENOMEM;
	bo->base.funcs = &simgpu_bo_funcs;
	bo->placement = args->placement;
	INIT_LIST_HEAD(&bo->blocks);
	drm_gem_private_object_init(drm, &bo->base, args->size);

	if (bo->placement == DRM_SIMGPU_MEM_VRAM)
		err = simgpu_bo_alloc_vram(sdev, bo, n);
	else
		err = simgpu_bo_alloc_system(bo, n);
	if (err)
		goto err_put;

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
 * simgpu_gem_mmap_offset_ioctl() - DRM_IOCTL_SIMGPU_GEM_MMAP_OFFSET
 * @drm: the device
 * @data: &struct drm_simgpu_gem_mmap_offset
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_gem_mmap_offset_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct drm_simgpu_gem_mmap_offset *args = data;
	struct drm_gem_object *obj;

	if (args->extensions || args->flags ||
	    args->reserved[0] || args->reserved[1])
		return -EINVAL;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	args->offset = drm_vma_node_offset_addr(&obj->vma_node);
	drm_gem_object_put(obj);
	return 0;
}
