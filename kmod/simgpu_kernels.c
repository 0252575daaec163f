// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the built-in compute kernels run by LAUNCH.
 */

#include <linux/ktime.h>
#include <linux/mm.h>
#include <asm/fpu/api.h>

#include "simgpu_drv.h"
#include "simgpu_engine.h"
#include "simgpu_exec_queue.h"
#include "simgpu_fp.h"
#include "simgpu_isa.h"
#include "simgpu_kernels.h"
#include "simgpu_mem.h"

/**
 * DOC: Overview
 *
 * LAUNCH runs one of the kernels described in the uAPI header over its
 * argument block in GPU memory. Elements are processed in blocks of at
 * most KBLOCK whose writes stay within one page, and the engine may switch
 * to another queue after every workgroup (the LAUNCH operand, default 64,
 * at most 4096 elements; list-sum checks every 32 nodes): the job's
 * @progress counts the elements done, so a kernel stalled by a page fault
 * or preempted resumes exactly where it stopped, and every element's
 * write or atomic happens once. Every access, the argument block's
 * included, goes through the engine's MMU.
 *
 * saxpy computes in IEEE binary32 on the CPU's SSE unit
 * (simgpu_fp.c) inside kernel_fpu_begin()/kernel_fpu_end(), one block at
 * a time, with no memory access in between.
 */

/**
 * DOC: Locking
 *
 * Runs in the engine thread with no lock held.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

#define KBLOCK		32
#define DEFAULT_WG	64
#define MAX_WG		4096

struct launch {
	struct simgpu_job *job;
	struct simgpu_ctx *ctx;
	u64 count;
	u32 wg;
	ktime_t slice_end;
};

/*
 * Account @n more elements done; tell the caller whether to stop for the
 * slice at a workgroup boundary.
 */
static bool launch_advance(struct launch *l, u64 n)
{
	u64 before = l->job->progress;

	l->job->progress += n;
	return l->job->progress < l->count &&
	       before / l->wg != l->job->progress / l->wg &&
	       ktime_after(ktime_get(), l->slice_end);
}

static enum simgpu_cmd_status kfail(struct simgpu_job *job, int err)
{
	job->error = err;
	return SIMGPU_CMD_ERROR;
}

/* Element-wise kernels over contiguous 32-bit arrays. */
static enum simgpu_cmd_status k_elementwise(struct launch *l, u8 kernel,
					    const u64 *arg)
{
	struct simgpu_ctx *ctx = l->ctx;
	u32 a[KBLOCK], b[KBLOCK], c[KBLOCK];
	unsigned int i;

	while (l->job->progress < l->count) {
		u64 idx = l->job->progress;
		unsigned int n = min_t(u64, KBLOCK, l->count - idx);
		u64 off = idx * 4, dst;

		/*
		 * A block's write must not cross a page: a write that faults
		 * on its second page would leave the first written while the
		 * block is redone, and saxpy or an in-place add would apply
		 * twice.
		 */
		dst = kernel == DRM_SIMGPU_KERNEL_SAXPY ? arg[1] :
		      kernel == DRM_SIMGPU_KERNEL_ADD ? arg[2] : arg[0];
		n = min_t(u64, n, (PAGE_SIZE - offset_in_page(dst + off)) / 4);

		switch (kernel) {
		case DRM_SIMGPU_KERNEL_MEMSET:	/* dst, count, value */
			for (i = 0; i < n; i++)
				c[i] = (u32)arg[2];
			break;
		case DRM_SIMGPU_KERNEL_COPY:	/* dst, src, count */
			if (simgpu_mem_read(ctx, arg[1] + off, c, n * 4))
				return SIMGPU_CMD_FAULT;
			break;
		case DRM_SIMGPU_KERNEL_ADD:	/* a, b, c, count */
			if (simgpu_mem_read(ctx, arg[0] + off, a, n * 4) ||
			    simgpu_mem_read(ctx, arg[1] + off, b, n * 4))
				return SIMGPU_CMD_FAULT;
			for (i = 0; i < n; i++)
				c[i] = a[i] + b[i];
			break;
		default:			/* saxpy: x, y, count, a */
			if (simgpu_mem_read(ctx, arg[0] + off, a, n * 4) ||
			    simgpu_mem_read(ctx, arg[1] + off, b, n * 4))
				return SIMGPU_CMD_FAULT;
			kernel_fpu_begin();
			simgpu_fp_saxpy((u32)arg[3], a, b, n);
			kernel_fpu_end();
			memcpy(c, b, n * 4);
			break;
		}
		if (simgpu_mem_write(ctx, dst + off, c, n * 4))
			return SIMGPU_CMD_FAULT;
		if (launch_advance(l, n))
			return SIMGPU_CMD_YIELD;
	}
	return SIMGPU_CMD_NEXT;
}

/* reduce-sum: st[0] accumulates; the total is written at the end. */
static enum simgpu_cmd_status k_reduce(struct launch *l, const u64 *arg)
{
	struct simgpu_ctx *ctx = l->ctx;
	u32 v[KBLOCK];
	unsigned int i;

	while (l->job->progress < l->count) {
		unsigned int n = min_t(u64, KBLOCK, l->count - l->job->progress);

		if (simgpu_mem_read(ctx, arg[0] + l->job->progress * 4, v, n * 4))
			return SIMGPU_CMD_FAULT;
		for (i = 0; i < n; i++)
			l->job->st[0] += v[i];
		if (launch_advance(l, n))
			return SIMGPU_CMD_YIELD;
	}
	if (simgpu_mem_write(ctx, arg[1], &l->job->st[0], 8))
		return SIMGPU_CMD_FAULT;
	return SIMGPU_CMD_NEXT;
}

/* gather and histogram: one element at a time (random accesses). */
static enum simgpu_cmd_status k_indexed(struct launch *l, u8 kernel,
					const u64 *arg)
{
	struct simgpu_ctx *ctx = l->ctx;
	u32 v, out;
	u64 old;

	if (kernel == DRM_SIMGPU_KERNEL_HISTOGRAM && !(u32)arg[3])
		return kfail(l->job, -EILSEQ);

	while (l->job->progress < l->count) {
		u64 i = l->job->progress;

		if (kernel == DRM_SIMGPU_KERNEL_GATHER) {	/* dst, src, idx */
			if (simgpu_mem_read(ctx, arg[2] + i * 4, &v, 4) ||
			    simgpu_mem_read(ctx, arg[1] + (u64)v * 4, &out, 4) ||
			    simgpu_mem_write(ctx, arg[0] + i * 4, &out, 4))
				return SIMGPU_CMD_FAULT;
		} else {				/* src, bins, count, n */
			if (simgpu_mem_read(ctx, arg[0] + i * 4, &v, 4) ||
			    simgpu_mem_atomic(ctx, arg[1] + (u64)(v % (u32)arg[3]) * 4,
					      DRM_SIMGPU_ATOMIC_INC, true, 1, 0,
					      &old))
				return SIMGPU_CMD_FAULT;
		}
		if (launch_advance(l, 1))
			return SIMGPU_CMD_YIELD;
	}
	return SIMGPU_CMD_NEXT;
}

/*
 * list-sum: st[0] the sum, st[1] the nodes seen, st[2] the next node;
 * progress 0 until the head was read, then 1, then 2 once the results
 * are being written.
 */
static enum simgpu_cmd_status k_list_sum(struct launch *l, const u64 *arg)
{
	struct simgpu_job *job = l->job;
	struct drm_simgpu_list_node node;
	unsigned int n = 0;

	if (!job->progress) {
		job->st[2] = arg[0];
		job->progress = 1;
	}
	while (job->progress == 1 && job->st[2]) {
		if (job->st[1] >= arg[3])
			return kfail(job, -EILSEQ);
		if (!IS_ALIGNED(job->st[2], 8))
			return kfail(job, -EILSEQ);
		if (simgpu_mem_read(l->ctx, job->st[2], &node, sizeof(node)))
			return SIMGPU_CMD_FAULT;
		job->st[0] += node.value;
		job->st[1]++;
		job->st[2] = node.next;
		if (++n % min_t(u32, l->wg, KBLOCK) == 0 &&
		    ktime_after(ktime_get(), l->slice_end))
			return SIMGPU_CMD_YIELD;
	}
	job->progress = 2;
	if (simgpu_mem_write(l->ctx, arg[1], &job->st[0], 8) ||
	    simgpu_mem_write(l->ctx, arg[2], &job->st[1], 8))
		return SIMGPU_CMD_FAULT;
	return SIMGPU_CMD_NEXT;
}

/* Arrays of 32-bit elements 4-byte aligned, 64-bit results 8-byte. */
static bool kargs_aligned(u8 kernel, const u64 *arg)
{
	switch (kernel) {
	case DRM_SIMGPU_KERNEL_MEMSET:
		return IS_ALIGNED(arg[0], 4);
	case DRM_SIMGPU_KERNEL_COPY:
		return IS_ALIGNED(arg[0] | arg[1], 4);
	case DRM_SIMGPU_KERNEL_ADD:
		return IS_ALIGNED(arg[0] | arg[1] | arg[2], 4);
	case DRM_SIMGPU_KERNEL_SAXPY:
		return IS_ALIGNED(arg[0] | arg[1], 4);
	case DRM_SIMGPU_KERNEL_REDUCE_SUM:
		return IS_ALIGNED(arg[0], 4) && IS_ALIGNED(arg[1], 8);
	case DRM_SIMGPU_KERNEL_GATHER:
		return IS_ALIGNED(arg[0] | arg[1] | arg[2], 4);
	case DRM_SIMGPU_KERNEL_HISTOGRAM:
		return IS_ALIGNED(arg[0] | arg[1], 4);
	default:
		return IS_ALIGNED(arg[1] | arg[2], 8);
	}
}

/**
 * simgpu_kernels_launch() - execute (or resume) a LAUNCH command
 * @job: the job
 * @ctx: engine and VM
 * @cmd: the decoded command
 * @slice_end: when to yield
 *
 * Return: how the command went.
 */
enum simgpu_cmd_status simgpu_kernels_launch(struct simgpu_job *job,
					    struct simgpu_ctx *ctx,
					    const struct simgpu_cmd *cmd,
					    ktime_t slice_end)
{
	struct launch l = { .job = job, .ctx = ctx, .slice_end = slice_end };
	u64 args = simgpu_cmd_qw(cmd, 1);
	u64 arg[5] = {};
	size_t size;

	/* Every argument block is a run of u64, some with a u32 + pad. */
	switch (cmd->sub) {
	case DRM_SIMGPU_KERNEL_MEMSET:
		size = sizeof(struct drm_simgpu_kargs_memset);
		break;
	case DRM_SIMGPU_KERNEL_COPY:
		size = sizeof(struct drm_simgpu_kargs_copy);
		break;
	case DRM_SIMGPU_KERNEL_ADD:
		size = sizeof(struct drm_simgpu_kargs_add);
		break;
	case DRM_SIMGPU_KERNEL_SAXPY:
		size = sizeof(struct drm_simgpu_kargs_saxpy);
		break;
	case DRM_SIMGPU_KERNEL_REDUCE_SUM:
		size = sizeof(struct drm_simgpu_kargs_reduce);
		break;
	case DRM_SIMGPU_KERNEL_GATHER:
		size = sizeof(struct drm_simgpu_kargs_gather);
		break;
	case DRM_SIMGPU_KERNEL_HISTOGRAM:
		size = sizeof(struct drm_simgpu_kargs_histogram);
		break;
	default:
		size = sizeof(struct drm_simgpu_kargs_list_sum);
		break;
	}
	BUILD_BUG_ON(sizeof(arg) < sizeof(struct drm_simgpu_kargs_gather));

	l.wg = cmd->dw[3] ?: DEFAULT_WG;
	if (!IS_ALIGNED(args, 8) || l.wg > MAX_WG)
		return kfail(job, -EILSEQ);
	if (simgpu_mem_read(ctx, args, arg, size))
		return SIMGPU_CMD_FAULT;
	if (!kargs_aligned(cmd->sub, arg))
		return kfail(job, -EILSEQ);

	switch (cmd->sub) {
	case DRM_SIMGPU_KERNEL_MEMSET:
		l.count = arg[1];
		return k_elementwise(&l, cmd->sub, arg);
	case DRM_SIMGPU_KERNEL_COPY:
		l.count = arg[2];
		return k_elementwise(&l, cmd->sub, arg);
	case DRM_SIMGPU_KERNEL_ADD:
		l.count = arg[3];
		return k_elementwise(&l, cmd->sub, arg);
	case DRM_SIMGPU_KERNEL_SAXPY:
		l.count = arg[2];
		return k_elementwise(&l, cmd->sub, arg);
	case DRM_SIMGPU_KERNEL_REDUCE_SUM:
		l.count = arg[2];
		return k_reduce(&l, arg);
	case DRM_SIMGPU_KERNEL_GATHER:
		l.count = arg[3];
		return k_indexed(&l, cmd->sub, arg);
	case DRM_SIMGPU_KERNEL_HISTOGRAM:
		l.count = arg[2];
		return k_indexed(&l, cmd->sub, arg);
	default:
		return k_list_sum(&l, arg);
	}
}
