/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_MADVISE_H_
#define _SIMGPU_MADVISE_H_

#include <linux/types.h>

struct drm_device;
struct drm_file;
struct simgpu_vm;

/**
 * struct simgpu_madvise_attrs - the MADVISE attributes of an address
 * @loc: DRM_SIMGPU_MADV_LOC_*
 * @loc_device: LOC_DEVICE: index of the preferred device
 * @migration: DRM_SIMGPU_MADV_MIGRATE_*
 * @atomic: DRM_SIMGPU_MADV_ATOMIC_*
 * @read_mostly: the read-mostly hint
 */
struct simgpu_madvise_attrs {
	u32 loc;
	u32 loc_device;
	u32 migration;
	u32 atomic;
	u32 read_mostly;
};

/**
 * struct simgpu_madvise_piece - a span of equal attributes
 * @start: first address
 * @end: end of the span
 * @attrs: the attributes
 */
struct simgpu_madvise_piece {
	u64 start;
	u64 end;
	struct simgpu_madvise_attrs attrs;
};

extern const struct simgpu_madvise_attrs simgpu_madvise_defaults;
unsigned int simgpu_madvise_pieces(const struct simgpu_madvise_piece *old,
				   unsigned int n_old, u64 start, u64 end,
				   void (*apply)(struct simgpu_madvise_attrs *a,
						 const void *arg),
				   const void *arg,
				   struct simgpu_madvise_piece *out);

void simgpu_madvise_gc_locked(struct simgpu_vm *vm);
void simgpu_madvise_fini_locked(struct simgpu_vm *vm);
void simgpu_madvise_lookup_locked(struct simgpu_vm *vm, u64 addr,
				  struct simgpu_madvise_attrs *attrs, u64 *lo,
				  u64 *hi);
int simgpu_madvise_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);
int simgpu_madvise_query_attrs_ioctl(struct drm_device *drm, void *data,
				     struct drm_file *file);


#endif /* _SIMGPU_MADVISE_H_ */
