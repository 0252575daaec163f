/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_DPAGEMAP_H_
#define _SIMGPU_DPAGEMAP_H_

#include <linux/types.h>

#include <drm/drm_pagemap.h>

struct dev_pagemap;
struct drm_pagemap_peer;
struct mm_struct;
struct simgpu_device;
struct simgpu_vm;

/*
 * The protocol of a drm_pagemap address in the VRAM of device @id: the
 * address is the offset in that VRAM.
 */
#define SIMGPU_INTERCONNECT_VRAM(id)	(DRM_INTERCONNECT_DRIVER + (id))

/*
 * Built with CONFIG_DEVICE_PRIVATE: callers test IS_ENABLED() first, so
 * that the calls go away without it.
 */
int simgpu_dpagemap_init(struct simgpu_device *sdev);
void simgpu_dpagemap_unplug(struct simgpu_device *sdev);
struct drm_pagemap *simgpu_dpagemap_get(struct simgpu_device *sdev);
const struct dev_pagemap *
simgpu_dpagemap_dev_pagemap(struct drm_pagemap *dpagemap);
int simgpu_dpagemap_acquire_owner(struct drm_pagemap_peer *peer,
				  struct simgpu_device *sdev);
struct simgpu_device *
simgpu_dpagemap_addr_device(const struct drm_pagemap_addr *addr);
int simgpu_dpagemap_migrate(struct drm_pagemap *dpagemap,
			    struct mm_struct *mm, u64 start, u64 end,
			    unsigned long timeslice, struct simgpu_vm *held,
			    unsigned long min_age);

#endif /* _SIMGPU_DPAGEMAP_H_ */
