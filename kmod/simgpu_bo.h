/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_BO_H_
#define _SIMGPU_BO_H_

#include <linux/list.h>
#include <drm/drm_gem.h>

struct simgpu_device;

/**
 * struct simgpu_bo - a buffer object
 * @base: the GEM object
 * @placement: DRM_SIMGPU_MEM_SYSTEM or DRM_SIMGPU_MEM_VRAM
 * @pages: system objects: one page per 4 KiB
 * @vram_offsets: VRAM objects: the VRAM offset of each 4 KiB page
 * @blocks: VRAM objects: the buddy blocks backing the object
 *
 * The backing store is allocated at creation and never moves.
 */
struct simgpu_bo {
	struct drm_gem_object base;
	u32 placement;
	struct page **pages;
	u64 *vram_offsets;
	struct list_head blocks;
};

static inline struct simgpu_bo *to_simgpu_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct simgpu_bo, base);
}

struct page *simgpu_bo_page(struct simgpu_bo *bo, pgoff_t idx);

int simgpu_gem_create_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
int simgpu_gem_mmap_offset_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file);

#endif /* _SIMGPU_BO_H_ */
