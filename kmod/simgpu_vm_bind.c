// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: VM_BIND: MAP, UNMAP and PREFETCH of buffer objects and of the
 * CPU address mirror.
 */

#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_exec.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gpuvm.h>
#include <drm/drm_syncobj.h>

#include "simgpu_bo.h"
#include "simgpu_drv.h"
#include "simgpu_inject.h"
#include "simgpu_svm.h"
#include "simgpu_sync.h"
#include "simgpu_vm.h"
#include "simgpu_vm_bind.h"

/**
 * DOC: Overview
 *
 * VM_BIND applies its operations in order. MAP and UNMAP clear the
 * page-table range first, then let drm_gpuvm split the VAs around it
 * (drm_gpuvm_sm_map(), drm_gpuvm_sm_unmap()): a VA that straddles either
 * end of the range is remapped into the piece(s) that stay, one inside is
 * unmapped, and MAP inserts the new VA. A mirror bound over part of a
 * buffer object, or an object bound into a mirror, splits the other the
 * same way; a mirror MAP takes in the mirror pieces it touches, so the
 * mirror is one piece again where it was cut and mapped again. MAP of an
 * object then writes its PTEs, using a 2 MiB entry wherever a 2 MiB
 * aligned piece of the range is backed by 2 MiB of contiguous, aligned
 * memory. Before the objects of removed VAs can be released, the range is
 * invalidated in every engine's TLB (simgpu_vm_invalidate_locked()).
 * PREFETCH hands its range to the SVM code (simgpu_svm.c).
 */

/**
 * DOC: Locking
 *
 * A bind holds &simgpu_vm.lock across its operations and, for each MAP or
 * UNMAP, locks the VM's own reservation, the object it maps and every
 * object mapped in the range it changes with drm_exec (one ww acquire
 * context): vm->lock -> reservations. No reservation is held while the
 * mmap_lock is taken (the kernel's order is mmap_lock -> reservation): a
 * PREFETCH runs between the locked MAP and UNMAP operations, not inside
 * them. Everything here may allocate with GFP_KERNEL.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

/* One validated operation, with its object looked up. */
struct bind_op {
	u32 op;
	u32 flags;
	u32 region;
	struct simgpu_bo *bo;
	u64 offset;
	u64 start;
	u64 end;
};

static int bind_op_check(struct drm_file *file,
			 const struct drm_simgpu_vm_bind_op *uop,
			 struct bind_op *op)
{
	struct drm_gem_object *obj;

	if (uop->extensions || !simgpu_reserved_clear(uop->reserved) ||
	    (uop->region && uop->op != DRM_SIMGPU_VM_BIND_OP_PREFETCH))
		return -EINVAL;
	if (!IS_ALIGNED(uop->addr | uop->range, PAGE_SIZE) ||
	    !simgpu_va_range_ok(uop->addr, uop->range))
		return -EINVAL;

	op->op = uop->op;
	op->flags = uop->flags;
	op->start = uop->addr;
	op->end = uop->addr + uop->range;
	op->offset = uop->obj_offset;
	op->region = uop->region;

	switch (uop->op) {
	case DRM_SIMGPU_VM_BIND_OP_MAP:
		if (uop->flags == DRM_SIMGPU_VM_BIND_FLAG_CPU_ADDR_MIRROR)
			return uop->handle || uop->obj_offset ? -EINVAL : 0;
		if (uop->flags & ~DRM_SIMGPU_VM_BIND_FLAG_READONLY ||
		    !IS_ALIGNED(uop->obj_offset, PAGE_SIZE))
			return -EINVAL;
		obj = drm_gem_object_lookup(file, uop->handle);
		if (!obj)
			return -ENOENT;
		if (uop->obj_offset > obj->size ||
		    uop->range > obj->size - uop->obj_offset) {
			drm_gem_object_put(obj);
			return -EINVAL;
		}
		op->bo = to_simgpu_bo(obj);
		return 0;
	case DRM_SIMGPU_VM_BIND_OP_UNMAP:
		if (uop->flags || uop->handle || uop->obj_offset)
			return -EINVAL;
		return 0;
	case DRM_SIMGPU_VM_BIND_OP_PREFETCH:
		if (uop->flags || uop->handle || uop->obj_offset ||
		    (uop->region != DRM_SIMGPU_MEM_SYSTEM &&
		     uop->region != DRM_SIMGPU_MEM_VRAM))
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The PTE for page @idx of @bo, without permission bits. */
static u64 bo_pte_addr(struct simgpu_bo *bo, pgoff_t idx)
{
	if (bo->placement == DRM_SIMGPU_MEM_VRAM)
		return bo->vram_offsets[idx] | SIMGPU_PTE_VRAM;
	return page_to_phys(bo->pages[idx]);
}

/* Whether 2 MiB of @bo from page @idx are contiguous and aligned. */
static bool bo_range_huge(struct simgpu_bo *bo, pgoff_t idx)
{
	u64 first = bo_pte_addr(bo, idx);
	unsigned int i;

	if (!IS_ALIGNED(first & SIMGPU_PTE_ADDR, SIMGPU_HUGE_SIZE))
		return false;
	for (i = 1; i < SIMGPU_PT_ENTRIES; i++)
		if (bo_pte_addr(bo, idx + i) != first + ((u64)i << PAGE_SHIFT))
			return false;
	return true;
}

/**
 * simgpu_vm_bind_write_ptes_locked() - write the PTEs of an object's VA
 * @vm: the VM
 * @va: a VA of a buffer object, linked to it
 *
 * Uses a 2 MiB entry wherever a 2 MiB aligned piece of the VA is backed by
 * 2 MiB of contiguous, aligned memory. The caller holds the object's
 * reservation or knows its VA list cannot change.
 *
 * Return: 0 or -ENOMEM.
 */
int simgpu_vm_bind_write_ptes_locked(struct simgpu_vm *vm,
				     const struct drm_gpuva *va)
{
	struct simgpu_bo *bo = to_simgpu_bo(va->gem.obj);
	u64 perm = SIMGPU_PTE_VALID;
	u64 addr = va->va.addr, end = simgpu_vm_gpuva_end(va);
	int err;

	lockdep_assert_held(&vm->lock);
	dma_resv_assert_held(bo->base.resv);

	if (!(va->flags & SIMGPU_VA_READONLY))
		perm |= SIMGPU_PTE_WRITE | SIMGPU_PTE_ATOMIC;

	while (addr < end) {
		pgoff_t idx = (va->gem.offset + (addr - va->va.addr)) >>
			      PAGE_SHIFT;

		if (IS_ALIGNED(addr, SIMGPU_HUGE_SIZE) &&
		    end - addr >= SIMGPU_HUGE_SIZE && bo_range_huge(bo, idx)) {
			err = simgpu_pt_set(&vm->pt, addr, bo_pte_addr(bo, idx) |
					    perm | SIMGPU_PTE_HUGE);
			addr += SIMGPU_HUGE_SIZE;
		} else {
			err = simgpu_pt_set(&vm->pt, addr,
					    bo_pte_addr(bo, idx) | perm);
			addr += PAGE_SIZE;
		}
		if (err)
			return err;
	}
	return 0;
}

/*
 * One MAP or UNMAP while drm_gpuvm splits the VAs: the VAs it may need,
 * allocated before the tree changes (the pieces of the VAs straddling the
 * two ends of the range, and the new VA), and the object's VM link.
 */
struct vm_bind_ctx {
	struct simgpu_vm *vm;
	const struct bind_op *op;
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gpuva *spare[3];
};

static struct drm_gpuva *bind_ctx_va(struct vm_bind_ctx *ctx)
{
	struct drm_gpuva *va = NULL;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ctx->spare) && !va; i++)
		swap(va, ctx->spare[i]);
	return va;
}

/*
 * A VA leaves the tree and its object: the range's PTEs are already
 * cleared, and the object outlives the TLB invalidation that follows, as
 * the bind's drm_exec holds a reference to it.
 */
static void bind_va_drop(struct drm_gpuva *va)
{
	drm_gpuva_unlink(va);
	kfree(va);
}

/**
 * simgpu_vm_bind_sm_step_map() - insert a bind's new VA, write its PTEs
 * @op: the operation
 * @priv: the bind's &struct vm_bind_ctx
 *
 * Return: 0 or -ENOMEM.
 */
int simgpu_vm_bind_sm_step_map(struct drm_gpuva_op *op, void *priv)
{
	struct vm_bind_ctx *ctx = priv;
	struct drm_gpuva *va = bind_ctx_va(ctx);

	if (!va)
		return -ENOMEM;
	drm_gpuva_map(&ctx->vm->gpuvm, va, &op->map);
	if (!ctx->vm_bo) {
		va->flags = SIMGPU_VA_MIRROR;
		return 0;
	}
	if (ctx->op->flags & DRM_SIMGPU_VM_BIND_FLAG_READONLY)
		va->flags = SIMGPU_VA_READONLY;
	drm_gpuva_link(va, ctx->vm_bo);
	/* On the object's list, it cannot move while vm->lock is held. */
	return simgpu_vm_bind_write_ptes_locked(ctx->vm, va);
}

/**
 * simgpu_vm_bind_sm_step_remap() - replace a VA a bind cuts by its pieces
 * @op: the operation
 * @priv: the bind's &struct vm_bind_ctx
 *
 * Return: 0 or -ENOMEM.
 */
int simgpu_vm_bind_sm_step_remap(struct drm_gpuva_op *op, void *priv)
{
	struct vm_bind_ctx *ctx = priv;
	struct drm_gpuva *old = op->remap.unmap->va;
	struct drm_gpuva *piece[2] = {};
	unsigned int i;

	if (op->remap.prev)
		piece[0] = bind_ctx_va(ctx);
	if (op->remap.next)
		piece[1] = bind_ctx_va(ctx);
	if (!piece[0] != !op->remap.prev || !piece[1] != !op->remap.next) {
		kfree(piece[0]);
		kfree(piece[1]);
		return -ENOMEM;
	}
	drm_gpuva_remap(piece[0], piece[1], &op->remap);
	for (i = 0; i < ARRAY_SIZE(piece); i++) {
		if (!piece[i])
			continue;
		piece[i]->flags = old->flags;
		if (old->vm_bo)
			drm_gpuva_link(piece[i], old->vm_bo);
	}
	bind_va_drop(old);
	return 0;
}

/**
 * simgpu_vm_bind_sm_step_unmap() - drop a VA inside a bind's range
 * @op: the operation
 * @priv: the bind's &struct vm_bind_ctx
 *
 * Return: 0 or -ENOMEM.
 */
int simgpu_vm_bind_sm_step_unmap(struct drm_gpuva_op *op, void *priv)
{
	drm_gpuva_unmap(&op->unmap);
	bind_va_drop(op->unmap.va);
	return 0;
}

/* Lock the VM's reservation, @op's object and every object in its range. */
static int bind_op_lock(struct simgpu_vm *vm, struct drm_exec *exec,
			const struct bind_op *op)
{
	int err;

	drm_exec_until_all_locked(exec) {
		err = drm_gpuvm_prepare_vm(&vm->gpuvm, exec, 0);
		drm_exec_retry_on_contention(exec);
		if (err)
			return err;
		err = drm_gpuvm_prepare_range(&vm->gpuvm, exec, op->start,
					      op->end - op->start, 0);
		drm_exec_retry_on_contention(exec);
		if (err)
			return err;
		if (op->bo) {
			err = drm_exec_lock_obj(exec, &op->bo->base);
			drm_exec_retry_on_contention(exec);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * A mirror MAP takes in the mirror pieces it touches or falls inside, so
 * that mapping the mirror again where it was cut makes one piece of it, as
 * before the cut (SVM ranges, and 2 MiB GPU entries, never cross pieces).
 */
static void mirror_join_locked(struct simgpu_vm *vm, struct bind_op *op)
{
	struct drm_gpuva *va;

	lockdep_assert_held(&vm->lock);

	va = op->start ? drm_gpuva_find_first(&vm->gpuvm, op->start - 1, 1) :
			 NULL;
	if (va && va->flags & SIMGPU_VA_MIRROR)
		op->start = va->va.addr;
	va = drm_gpuva_find_first(&vm->gpuvm, op->end, 1);
	if (va && va->flags & SIMGPU_VA_MIRROR)
		op->end = va->va.addr + va->va.range;
}

/*
 * Apply a MAP or UNMAP: clear the range's PTEs, split the VAs around it,
 * map the new one, and flush the range from the TLBs before the objects
 * of the removed VAs can go.
 */
static int vm_bind_op_locked(struct simgpu_vm *vm, const struct bind_op *op)
{
	struct vm_bind_ctx ctx = { .vm = vm, .op = op };
	u64 range = op->end - op->start;
	struct drm_exec exec;
	unsigned int i;
	int err = -ENOMEM;

	lockdep_assert_held(&vm->lock);

	for (i = 0; i < ARRAY_SIZE(ctx.spare); i++) {
		if (!simgpu_inject(SIMGPU_INJECT_PT_ALLOC))
			ctx.spare[i] = kzalloc_obj(*ctx.spare[i], GFP_KERNEL);
		if (!ctx.spare[i])
			goto out_free;
	}

	simgpu_svm_remove_ranges_locked(vm, op->start, op->end);
	err = simgpu_pt_clear(&vm->pt, op->start, op->end);
	if (err)
		goto out_free;

	drm_exec_init(&exec, DRM_EXEC_IGNORE_DUPLICATES, 0);
	err = bind_op_lock(vm, &exec, op);
	if (err)
		goto out_invalidate;
	if (op->op == DRM_SIMGPU_VM_BIND_OP_UNMAP) {
		err = drm_gpuvm_sm_unmap(&vm->gpuvm, &ctx, op->start, range);
		goto out_invalidate;
	}
	if (op->bo) {
		ctx.vm_bo = simgpu_gpuvm_bo_obtain(&vm->gpuvm, &op->bo->base);
		if (IS_ERR(ctx.vm_bo)) {
			err = PTR_ERR(ctx.vm_bo);
			goto out_invalidate;
		}
	}
	err = simgpu_gpuvm_sm_map(&vm->gpuvm, &ctx, op->start, range,
				  op->bo ? &op->bo->base : NULL, op->offset);
	if (ctx.vm_bo)
		drm_gpuvm_bo_put(ctx.vm_bo);
out_invalidate:
	simgpu_vm_invalidate_locked(vm, op->start, op->end);
	drm_exec_fini(&exec);
out_free:
	for (i = 0; i < ARRAY_SIZE(ctx.spare); i++)
		kfree(ctx.spare[i]);
	return err;
}

static void bind_ops_put(struct bind_op *ops, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (ops[i].bo)
			drm_gem_object_put(&ops[i].bo->base);
}

static int vm_bind_apply(struct simgpu_vm *vm, struct bind_op *ops, u32 n)
{
	int err = 0;
	u32 i;

	mutex_lock(&vm->lock);
	for (i = 0; i < n && !err; i++) {
		switch (ops[i].op) {
		case DRM_SIMGPU_VM_BIND_OP_PREFETCH:
			/* Maps pages itself, under the SVM notifier lock. */
			err = simgpu_svm_prefetch_locked(vm, ops[i].start,
							 ops[i].end,
							 ops[i].region);
			break;
		case DRM_SIMGPU_VM_BIND_OP_MAP:
			if (!ops[i].bo) {
				err = simgpu_svm_activate_locked(vm);
				if (err)
					break;
				mirror_join_locked(vm, &ops[i]);
			}
			fallthrough;
		default:
			err = vm_bind_op_locked(vm, &ops[i]);
		}
	}
	mutex_unlock(&vm->lock);
	return err;
}

/* Copy and check the operations of @args into @ops (zeroed by the caller). */
static int bind_ops_copy(struct drm_file *file,
			 const struct drm_simgpu_vm_bind *args,
			 struct bind_op *ops)
{
	struct drm_simgpu_vm_bind_op __user *uops = u64_to_user_ptr(args->binds);
	struct drm_simgpu_vm_bind_op uop;
	u32 i;
	int err;

	for (i = 0; i < args->num_binds; i++) {
		if (copy_from_user(&uop, &uops[i], sizeof(uop)))
			return -EFAULT;
		err = bind_op_check(file, &uop, &ops[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Binds complete before the ioctl returns: signal the out-fences now. */
static int bind_syncs_signal(struct simgpu_vm *vm, struct simgpu_syncs *syncs)
{
	int err;
	u32 i;

	for (i = 0; i < syncs->num_out; i++) {
		struct dma_fence *stub = dma_fence_get_stub();

		drm_syncobj_replace_fence(syncs->out[i], stub);
		dma_fence_put(stub);
	}
	err = simgpu_syncs_write_ufences_user(syncs);
	if (syncs->num_ufences)
		wake_up_all(&vm->sdev->ufence_wq);
	return err;
}

#define SIMGPU_MAX_BIND_OPS	512

/**
 * simgpu_vm_bind_ioctl() - DRM_IOCTL_SIMGPU_VM_BIND
 * @drm: the device
 * @data: &struct drm_simgpu_vm_bind
 * @file: the caller
 *
 * Return: 0 or a negative errno as documented in the uAPI header.
 */
int simgpu_vm_bind_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file)
{
	struct drm_simgpu_vm_bind *args = data;
	struct simgpu_syncs *syncs = NULL;
	struct bind_op *ops = NULL;
	struct simgpu_vm *vm;
	u32 i;
	int err;

	if (args->extensions || args->pad ||
	    !simgpu_reserved_clear(args->reserved) || !args->num_binds ||
	    args->num_binds > SIMGPU_MAX_BIND_OPS)
		return -EINVAL;

	if (!simgpu_inject(SIMGPU_INJECT_VM_BIND)) {
		ops = kvcalloc(args->num_binds, sizeof(*ops), GFP_KERNEL);
		syncs = kmalloc_obj(*syncs, GFP_KERNEL);
	}
	if (!ops || !syncs) {
		err = -ENOMEM;
		goto err_free;
	}

	err = bind_ops_copy(file, args, ops);
	if (err)
		goto err_ops;

	err = simgpu_syncs_get(file, args->syncs, args->num_syncs,
			       false, syncs);
	if (err)
		goto err_ops;

	vm = simgpu_vm_lookup(file, args->vm_id);
	if (!vm) {
		err = -ENOENT;
		goto err_syncs;
	}
	for (i = 0; i < args->num_binds; i++) {
		if (ops[i].op == DRM_SIMGPU_VM_BIND_OP_MAP && !ops[i].bo &&
		    !simgpu_vm_fault_mode(vm)) {
			err = -EINVAL;
			goto err_vm;
		}
	}

	err = simgpu_syncs_wait_in(syncs);
	if (err)
		goto err_vm;

	err = vm_bind_apply(vm, ops, args->num_binds);
	if (err)
		goto err_vm;

	err = bind_syncs_signal(vm, syncs);

err_vm:
	simgpu_vm_put(vm);
err_syncs:
	simgpu_syncs_put(syncs);
err_ops:
	bind_ops_put(ops, args->num_binds);
err_free:
	kfree(syncs);
	kvfree(ops);
	return err;
}
