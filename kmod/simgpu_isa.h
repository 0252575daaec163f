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

/* What a job step ended with. */
enum simgpu_step {
	SIMGPU_STEP_DONE,	/* the job ended; its error is set */
	SIMGPU_STEP_YIELD,	/* time slice used up, work left */
	SIMGPU_STEP_FAULT,	/* stalled on a translation fault */
	SIMGPU_STEP_WAIT,	/* a WAIT condition is false */
};

struct simgpu_ctx;
struct simgpu_job;

int simgpu_isa_decode(u32 header, struct simgpu_cmd *cmd);
bool simgpu_isa_compare(unsigned int op, u64 a, u64 b);
enum simgpu_step simgpu_isa_job_step(struct simgpu_job *job,
				     struct simgpu_ctx *ctx, ktime_t slice_end);

static inline u64 simgpu_cmd_qw(const struct simgpu_cmd *cmd, unsigned int i)
{
	return cmd->dw[i] | (u64)cmd->dw[i + 1] << 32;
}

#endif /* _SIMGPU_ISA_H_ */
