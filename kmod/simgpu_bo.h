/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_BO_H_
#define _SIMGPU_BO_H_

#include <linux/list.h>
#include <drm/drm_gem.h>

struct simgpu_device;
struct simgpu_vm;

/**
 * struct simgpu_bo - a buffer object
 * @base: the GEM object
 * @preferred: the placement asked for at creation: DRM_SIMGPU_MEM_SYSTEM
 *	or DRM_SIMGPU_MEM_VRAM
 * @placement: where the storage is now (the object's reservation
 *	protects it, the storage and the VM mappings: simgpu_bo.c); a VRAM object evicted to system
 *	memory returns to VRAM on its next GPU fault when VRAM is free
 * @pages: storage in system memory: one page per 4 KiB
 * @vram_offsets: storage in VRAM: the VRAM offset of each 4 KiB page
 * @blocks: storage in VRAM: the buddy blocks backing the object
 * @lru_link: on &simgpu_device.bo_lru while the object sits in VRAM
 * @lru_at: jiffies when the object last went into VRAM
 */
struct simgpu_bo {
	struct drm_gem_object base;
	u32 preferred;
	u32 placement;
	struct page **pages;
	u64 *vram_offsets;
	struct list_head blocks;
	struct list_head lru_link;
	unsigned long lru_at;
};

static inline struct simgpu_bo *to_simgpu_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct simgpu_bo, base);
}

struct page *simgpu_bo_page_locked(struct simgpu_bo *bo, pgoff_t idx);
void simgpu_bo_restore_locked(struct simgpu_bo *bo, struct simgpu_vm *held);
bool simgpu_bo_lru_oldest(struct simgpu_device *sdev, unsigned long *at);
int simgpu_bo_evict_one(struct simgpu_device *sdev, struct simgpu_vm *held,
			unsigned long min_age);

int simgpu_bo_create_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
int simgpu_bo_mmap_offset_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file);

#endif /* _SIMGPU_BO_H_ */
