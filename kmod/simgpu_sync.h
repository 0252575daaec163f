/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_SYNC_H_
#define _SIMGPU_SYNC_H_

#include <linux/types.h>

struct dma_fence;
struct drm_file;
struct drm_syncobj;
struct eventfd_ctx;

#define SIMGPU_MAX_SYNCS	64

/**
 * struct simgpu_ufence - a user fence to write on completion
 * @addr: where: GPU VA (EXEC) or CPU address (VM_BIND)
 * @value: what
 * @eventfd: signalled right after @value was written, or NULL; one
 *	reference, held by whoever owns the user fence (the syncs, then the
 *	job) and dropped with simgpu_sync_ufences_put()
 * @status: DRM_SIMGPU_SYNC_FLAG_STATUS: the job's status goes at
 *	@addr + 8, and the fence is written when the job failed too
 */
struct simgpu_ufence {
	u64 addr;
	u64 value;
	struct eventfd_ctx *eventfd;
	bool status;
};

/**
 * struct simgpu_syncs - the syncs of one VM_BIND or EXEC, looked up
 * @num_in: entries in @in
 * @num_out: entries in @out
 * @num_ufences: entries in @ufences
 * @in: in-fences, one reference each
 * @out: syncobjs to signal, one reference each
 * @ufences: user fences to write, with their eventfd references until
 *	simgpu_syncs_move_ufences() hands them on
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
		     bool exec, struct simgpu_syncs *syncs);
void simgpu_syncs_put(struct simgpu_syncs *syncs);
int simgpu_syncs_wait_in(struct simgpu_syncs *syncs);
unsigned int simgpu_syncs_move_ufences(struct simgpu_syncs *syncs,
				       struct simgpu_ufence *dst);
int simgpu_syncs_write_ufences_user(struct simgpu_syncs *syncs);

void simgpu_sync_ufence_written(const struct simgpu_ufence *uf);
void simgpu_sync_ufences_put(struct simgpu_ufence *ufences, unsigned int num);

#endif /* _SIMGPU_SYNC_H_ */
