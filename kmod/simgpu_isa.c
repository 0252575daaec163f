// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the command ISA, decoded and executed by the engines.
 */

#include <linux/ktime.h>

#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec_queue.h"
#include "simgpu_isa.h"
#include "simgpu_kernels.h"
#include "simgpu_mem.h"

/**
 * DOC: Overview
 *
 * simgpu_isa_job_step() runs a job's batch from its pc: fetch the header
 * dword through the MMU, decode it (simgpu_isa_decode() checks the opcode,
 * the sub-operation and the length), fetch the operands, execute. The ISA
 * is documented in the uAPI header.
 *
 * Every command can stop half-way and be resumed: when an access faults,
 * a WAIT condition is false or the time slice ends, the command returns
 * and the job keeps its pc; the command's progress lives in the job
 * (@progress, @st) and is cleared when the job moves to the next command.
 * A command's visible side effect on memory happens at most once: bulk
 * commands record how many bytes or elements are done, ATOMIC records
 * that its read-modify-write happened before writing the old value out.
 * After BATCH_END the job writes its user fences the same way.
 */

/**
 * DOC: Locking
 *
 * Runs in the engine thread with no lock held; the memory accessors take
 * the engine's TLB lock per page.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

#define BULK_CHUNK	256	/* bytes moved per access by FILL and COPY */

static const u8 cmd_len[] = {
	[DRM_SIMGPU_OP_NOP] = 1,
	[DRM_SIMGPU_OP_STORE_DW] = 4,
	[DRM_SIMGPU_OP_STORE_QW] = 5,
	[DRM_SIMGPU_OP_FILL] = 6,
	[DRM_SIMGPU_OP_COPY] = 7,
	[DRM_SIMGPU_OP_ATOMIC] = 9,
	[DRM_SIMGPU_OP_WAIT] = 8,
	[DRM_SIMGPU_OP_SIGNAL] = 5,
	[DRM_SIMGPU_OP_BATCH_START] = 3,
	[DRM_SIMGPU_OP_BATCH_END] = 1,
	[DRM_SIMGPU_OP_LAUNCH] = 4,
};

/**
 * simgpu_isa_decode() - check a command header
 * @header: the header dword
 * @cmd: receives opcode, sub-operation and length
 *
 * Return: 0, or -EILSEQ for an unknown opcode or sub-operation, or a
 * length that is not the opcode's.
 */
int simgpu_isa_decode(u32 header, struct simgpu_cmd *cmd)
{
	cmd->op = header >> 24;
	cmd->sub = (header >> 16) & 0xff;
	cmd->len = header & 0xffff;

	if (cmd->op >= ARRAY_SIZE(cmd_len) || cmd->len != cmd_len[cmd->op])
		return -EILSEQ;

	switch (cmd->op) {
	case DRM_SIMGPU_OP_ATOMIC:
		if ((cmd->sub & ~DRM_SIMGPU_ATOMIC_32) > DRM_SIMGPU_ATOMIC_XCHG)
			return -EILSEQ;
		return 0;
	case DRM_SIMGPU_OP_WAIT:
		return cmd->sub > DRM_SIMGPU_CMP_LTE ? -EILSEQ : 0;
	case DRM_SIMGPU_OP_LAUNCH:
		return cmd->sub > DRM_SIMGPU_KERNEL_LIST_SUM ? -EILSEQ : 0;
	default:
		return cmd->sub ? -EILSEQ : 0;
	}
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_isa_decode);

static enum simgpu_cmd_status fail(struct simgpu_job *job, int err)
{
	job->error = err;
	return SIMGPU_CMD_ERROR;
}

static enum simgpu_cmd_status fault_or(int err)
{
	return err ? SIMGPU_CMD_FAULT : SIMGPU_CMD_NEXT;
}

static enum simgpu_cmd_status cmd_fill(struct simgpu_job *job,
				       struct simgpu_ctx *ctx,
				       const struct simgpu_cmd *cmd,
				       ktime_t slice_end)
{
	u64 addr = simgpu_cmd_qw(cmd, 1), size = simgpu_cmd_qw(cmd, 3);
	u32 buf[BULK_CHUNK / 4];
	unsigned int i;

	if (!IS_ALIGNED(addr | size, 4))
		return fail(job, -EILSEQ);
	for (i = 0; i < ARRAY_SIZE(buf); i++)
		buf[i] = cmd->dw[5];

	while (job->progress < size) {
		u64 n = min_t(u64, size - job->progress, BULK_CHUNK);

		if (simgpu_mem_write(ctx, addr + job->progress, buf, n))
			return SIMGPU_CMD_FAULT;
		job->progress += n;
		if (ktime_after(ktime_get(), slice_end) && job->progress < size)
			return SIMGPU_CMD_YIELD;
	}
	return SIMGPU_CMD_NEXT;
}

static enum simgpu_cmd_status cmd_copy(struct simgpu_job *job,
				       struct simgpu_ctx *ctx,
				       const struct simgpu_cmd *cmd,
				       ktime_t slice_end)
{
	u64 dst = simgpu_cmd_qw(cmd, 1), src = simgpu_cmd_qw(cmd, 3);
	u64 size = simgpu_cmd_qw(cmd, 5);
	u8 buf[BULK_CHUNK];

	while (job->progress < size) {
		u64 n = min_t(u64, size - job->progress, BULK_CHUNK);

		if (simgpu_mem_read(ctx, src + job->progress, buf, n) ||
		    simgpu_mem_write(ctx, dst + job->progress, buf, n))
			return SIMGPU_CMD_FAULT;
		job->progress += n;
		if (ktime_after(ktime_get(), slice_end) && job->progress < size)
			return SIMGPU_CMD_YIELD;
	}
	return SIMGPU_CMD_NEXT;
}

static enum simgpu_cmd_status cmd_atomic(struct simgpu_job *job,
					 struct simgpu_ctx *ctx,
					 const struct simgpu_cmd *cmd)
{
	bool dword = cmd->sub & DRM_SIMGPU_ATOMIC_32;
	unsigned int op = cmd->sub & ~DRM_SIMGPU_ATOMIC_32;
	u64 addr = simgpu_cmd_qw(cmd, 1), ret = simgpu_cmd_qw(cmd, 7);
	u32 old32;

	if (!IS_ALIGNED(addr, dword ? 4 : 8) ||
	    !IS_ALIGNED(ret, dword ? 4 : 8))
		return fail(job, -EILSEQ);

	/* st[0]: the old value, once progress says the update happened. */
	if (!job->progress) {
		if (simgpu_mem_atomic(ctx, addr, op, dword,
				      simgpu_cmd_qw(cmd, 3),
				      simgpu_cmd_qw(cmd, 5), &job->st[0]))
			return SIMGPU_CMD_FAULT;
		job->progress = 1;
	}
	if (!ret)
		return SIMGPU_CMD_NEXT;
	if (dword) {
		old32 = job->st[0];
		return fault_or(simgpu_mem_write(ctx, ret, &old32, 4));
	}
	return fault_or(simgpu_mem_write(ctx, ret, &job->st[0], 8));
}

/**
 * simgpu_isa_compare() - evaluate a DRM_SIMGPU_CMP_* comparison
 * @op: the comparison, DRM_SIMGPU_CMP_EQ .. DRM_SIMGPU_CMP_LTE
 * @a: left operand
 * @b: right operand
 *
 * Return: whether @a @op @b holds, unsigned.
 */
bool simgpu_isa_compare(unsigned int op, u64 a, u64 b)
{
	switch (op) {
	case DRM_SIMGPU_CMP_EQ:
		return a == b;
	case DRM_SIMGPU_CMP_NEQ:
		return a != b;
	case DRM_SIMGPU_CMP_GT:
		return a > b;
	case DRM_SIMGPU_CMP_GTE:
		return a >= b;
	case DRM_SIMGPU_CMP_LT:
		return a < b;
	default:
		return a <= b;
	}
}
SIMGPU_EXPORT_FOR_KUNIT(simgpu_isa_compare);

static enum simgpu_cmd_status cmd_wait(struct simgpu_job *job,
				       struct simgpu_ctx *ctx,
				       const struct simgpu_cmd *cmd)
{
	u64 addr = simgpu_cmd_qw(cmd, 1), mask = simgpu_cmd_qw(cmd, 5);
	u32 timeout_us = cmd->dw[7];
	ktime_t now;
	u64 val;

	if (!IS_ALIGNED(addr, 8))
		return fail(job, -EILSEQ);
	if (simgpu_mem_read(ctx, addr, &val, 8))
		return SIMGPU_CMD_FAULT;
	if (simgpu_isa_compare(cmd->sub, val & mask, simgpu_cmd_qw(cmd, 3) & mask))
		return SIMGPU_CMD_NEXT;

	if (!timeout_us)
		return SIMGPU_CMD_WAIT;
	now = ktime_get();
	if (!job->deadline)
		job->deadline = ktime_add_us(now, timeout_us);
	else if (ktime_after(now, job->deadline))
		return fail(job, -ETIMEDOUT);
	return SIMGPU_CMD_WAIT;
}

static enum simgpu_cmd_status cmd_exec(struct simgpu_job *job,
				       struct simgpu_ctx *ctx,
				       const struct simgpu_cmd *cmd,
				       ktime_t slice_end)
{
	u64 addr = cmd->len > 2 ? simgpu_cmd_qw(cmd, 1) : 0;
	int err;

	switch (cmd->op) {
	case DRM_SIMGPU_OP_NOP:
		return SIMGPU_CMD_NEXT;
	case DRM_SIMGPU_OP_STORE_DW:
		if (!IS_ALIGNED(addr, 4))
			return fail(job, -EILSEQ);
		return fault_or(simgpu_mem_write(ctx, addr, &cmd->dw[3], 4));
	case DRM_SIMGPU_OP_STORE_QW:
	case DRM_SIMGPU_OP_SIGNAL:
		if (!IS_ALIGNED(addr, 8))
			return fail(job, -EILSEQ);
		err = simgpu_mem_write(ctx, addr, &cmd->dw[3], 8);
		if (!err && cmd->op == DRM_SIMGPU_OP_SIGNAL)
			wake_up_all(&ctx->e->sdev->ufence_wq);
		return fault_or(err);
	case DRM_SIMGPU_OP_FILL:
		return cmd_fill(job, ctx, cmd, slice_end);
	case DRM_SIMGPU_OP_COPY:
		return cmd_copy(job, ctx, cmd, slice_end);
	case DRM_SIMGPU_OP_ATOMIC:
		return cmd_atomic(job, ctx, cmd);
	case DRM_SIMGPU_OP_WAIT:
		return cmd_wait(job, ctx, cmd);
	case DRM_SIMGPU_OP_BATCH_START:
		if (!IS_ALIGNED(addr, 4))
			return fail(job, -EILSEQ);
		job->pc = addr;
		return SIMGPU_CMD_JUMP;
	case DRM_SIMGPU_OP_BATCH_END:
		return SIMGPU_CMD_END;
	default:
		return simgpu_kernels_launch(job, ctx, cmd, slice_end);
	}
}

static void job_next_cmd(struct simgpu_job *job, u64 pc)
{
	job->pc = pc;
	job->progress = 0;
	memset(job->st, 0, sizeof(job->st));
	job->deadline = 0;
}

/*
 * After BATCH_END, or after a failure with status fences to write: write
 * the user fences (a failed job only its status fences), a status fence's
 * status before its value, each value followed by its eventfd; then the
 * job is done, with the error it failed with if it did.
 */
static enum simgpu_step job_write_ufences(struct simgpu_job *job,
					  struct simgpu_ctx *ctx)
{
	const s64 status = job->status_error;

	for (; job->ufence_next < job->num_ufences; job->ufence_next++) {
		const struct simgpu_ufence *uf = &job->ufences[job->ufence_next];

		if (status && !uf->status)
			continue;
		if (uf->status &&
		    simgpu_mem_write(ctx, uf->addr + 8, &status, 8))
			return SIMGPU_STEP_FAULT;
		if (simgpu_mem_write(ctx, uf->addr, &uf->value, 8))
			return SIMGPU_STEP_FAULT;
		simgpu_sync_ufence_written(uf);
	}
	job->error = job->status_error;
	return SIMGPU_STEP_DONE;
}

/**
 * simgpu_isa_job_step() - run a job until it ends, stalls or uses its slice
 * @job: the job
 * @ctx: engine and VM; receives the fault when the step returns
 *	SIMGPU_STEP_FAULT
 * @slice_end: when to yield
 *
 * Return: why the step stopped; with SIMGPU_STEP_DONE, @job->error says
 * how the job ended.
 */
enum simgpu_step simgpu_isa_job_step(struct simgpu_job *job,
				 struct simgpu_ctx *ctx, ktime_t slice_end)
{
	struct simgpu_cmd cmd;
	u32 header;

	for (;;) {
		if (job->batch_done)
			return job_write_ufences(job, ctx);

		if (!IS_ALIGNED(job->pc, 4)) {
			job->error = -EILSEQ;
			return SIMGPU_STEP_DONE;
		}
		if (simgpu_mem_read(ctx, job->pc, &header, 4))
			return SIMGPU_STEP_FAULT;
		if (simgpu_isa_decode(header, &cmd)) {
			job->error = -EILSEQ;
			return SIMGPU_STEP_DONE;
		}
		cmd.dw[0] = header;
		if (cmd.len > 1 &&
		    simgpu_mem_read(ctx, job->pc + 4, &cmd.dw[1],
				    (cmd.len - 1) * 4))
			return SIMGPU_STEP_FAULT;

		switch (cmd_exec(job, ctx, &cmd, slice_end)) {
		case SIMGPU_CMD_NEXT:
			job_next_cmd(job, job->pc + cmd.len * 4);
			break;
		case SIMGPU_CMD_JUMP:
			job_next_cmd(job, job->pc);
			break;
		case SIMGPU_CMD_END:
			job->batch_done = true;
			break;
		case SIMGPU_CMD_FAULT:
			return SIMGPU_STEP_FAULT;
		case SIMGPU_CMD_WAIT:
			return SIMGPU_STEP_WAIT;
		case SIMGPU_CMD_YIELD:
			return SIMGPU_STEP_YIELD;
		case SIMGPU_CMD_ERROR:
			return SIMGPU_STEP_DONE;
		}
		atomic64_inc(&ctx->e->cmds);
		if (ktime_after(ktime_get(), slice_end))
			return SIMGPU_STEP_YIELD;
	}
}
