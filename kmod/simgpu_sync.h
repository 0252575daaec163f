/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_SYNC_H_
#define _SIMGPU_SYNC_H_

#include <linux/types.h>

struct dma_fence;
struct drm_file;
struct drm_syncobj;

#define SIMGPU_MAX_SYNCS	64

/**
 * struct simgpu_ufence - a user fence to write on completion
 * @addr: where: GPU VA (EXEC) or CPU address (VM_BIND)
 * @value: what
 */
struct simgpu_ufence {
	u64 addr;
	u64 value;
};

/**
 * struct simgpu_syncs - the syncs of one VM_BIND or EXEC, looked up
 * @num_in: entries in @in
 * @num_out: entries in @out
 * @num_ufences: entries in @ufences
 * @in: in-fences, one reference each
 * @out: syncobjs to signal, one reference each
 * @ufences: user fences to write
 */
struct simgpu_syncs {
	unsigned int num_in;
	unsigned int num_out;
	unsigned int num_ufences;
	struct dma_fence *in[SIMGPU_MAX_SYNCS];
	struct drm_syncobj *out[SIMGPU_MAX_SYNCS];
	struct simgpu_ufence ufences[SIMGPU_MAX_SYNCS];
};

int simgpu_syncs_get(struct drm_file *file, u64 user_syncs, u32 num,
		     struct simgpu_syncs *syncs);
void simgpu_syncs_put(struct simgpu_syncs *syncs);
int simgpu_syncs_wait_in(struct simgpu_syncs *syncs);

#endif /* _SIMGPU_SYNC_H_ */
