/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_ISA_H_
#define _SIMGPU_ISA_H_

#include <linux/ktime.h>
#include <linux/types.h>

#define SIMGPU_CMD_MAX_DWORDS	9

/**
 * struct simgpu_cmd - a decoded command
 * @op: DRM_SIMGPU_OP_*
 * @sub: bits 23..16 of the header
 * @len: length in dwords, header included
 * @dw: the command's dwords, header first
 */
struct simgpu_cmd {
	u8 op;
	u8 sub;
	u16 len;
	u32 dw[SIMGPU_CMD_MAX_DWORDS];
};

/* How executing one command went. */
enum simgpu_cmd_status {
	SIMGPU_CMD_NEXT,	/* done: continue after it */
	SIMGPU_CMD_JUMP,	/* done: continue at the job's new pc */
	SIMGPU_CMD_END,		/* BATCH_END */
	SIMGPU_CMD_FAULT,	/* an access faulted; resume the command later */
	SIMGPU_CMD_WAIT,	/* a WAIT condition is false */
	SIMGPU_CMD_YIELD,	/* partly done, time slice over */
	SIMGPU_CMD_ERROR,	/* the job fails with job->error */
};

struct simgpu_ctx;
struct simgpu_job;

int simgpu_isa_decode(u32 header, struct simgpu_cmd *cmd);
bool simgpu_compare(unsigned int op, u64 a, u64 b);
void simgpu_fp_saxpy(u32 a, const u32 *x, u32 *y, unsigned int n);
enum simgpu_cmd_status simgpu_kernel_launch(struct simgpu_job *job,
					    struct simgpu_ctx *ctx,
					    const struct simgpu_cmd *cmd,
					    ktime_t slice_end);

static inline u64 simgpu_cmd_qw(const struct simgpu_cmd *cmd, unsigned int i)
{
	return cmd->dw[i] | (u64)cmd->dw[i + 1] << 32;
}

#endif /* _SIMGPU_ISA_H_ */
