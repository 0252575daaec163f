// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the "simgpu" SVM backend, on simgpu's own core (gpusvm/).
 */

#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>

#include "gpusvm/simgpu_gpusvm.h"
#include "simgpu_dmem.h"
#include "simgpu_drv.h"
#include "simgpu_svm.h"
#include "simgpu_svm_backend.h"
#include "simgpu_trace.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * The simgpu backend maps the operations of &struct simgpu_svm_backend
 * onto kmod/gpusvm/, one to one, and supplies the core's callbacks: zap a
 * range's PTEs and flush the TLBs, schedule the VM's garbage collector,
 * allocate VRAM for a migration (simgpu_dmem.c), and count what the core
 * reports in the device's &struct simgpu_svm_stats. It is the backend
 * with VRAM migration: the device's pagemap uses this core's
 * &dev_pagemap_ops.
 */

/**
 * DOC: Locking
 *
 * The VM lock is the core's driver lock (simgpu_gpusvm_driver_set_lock()).
 * The invalidate callback runs under the core's notifier lock (write),
 * possibly from reclaim: it zaps leaves and takes the engines' TLB locks
 * only. The VRAM allocation callback runs under the VM lock and the
 * mmap_lock. Order: vm->lock -> mmap_lock -> notifier lock -> engine
 * tlb_lock.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

static struct simgpu_vm *svm_to_vm(struct simgpu_gpusvm *svm)
{
	return container_of(svm, struct simgpu_vm, svm);
}

static struct simgpu_svm_stats *svm_stats(struct simgpu_gpusvm *svm)
{
	return &svm_to_vm(svm)->sdev->svm_stats;
}

static struct simgpu_gpusvm_range *sr(const struct simgpu_svm_range *r)
{
	return (struct simgpu_gpusvm_range *)r;
}

static void svm_invalidate(struct simgpu_gpusvm *svm,
			   struct simgpu_gpusvm_range *range, u64 start,
			   u64 end)
{
	struct simgpu_vm *vm = svm_to_vm(svm);

	simgpu_gpusvm_assert_in_notifier(svm);
	trace_simgpu_invalidate(start, end);
	simgpu_pt_zap(&vm->pt, start, end);
	simgpu_vm_tlb_invalidate(vm, start, end);
}

static void svm_invalidated(struct simgpu_gpusvm *svm)
{
	atomic64_inc(&svm_stats(svm)->invalidations);
}

static void svm_schedule_gc(struct simgpu_gpusvm *svm)
{
	queue_work(system_dfl_wq, &svm_to_vm(svm)->svm_gc_work);
}

static void svm_range_created(struct simgpu_gpusvm *svm,
			      struct simgpu_gpusvm_range *range)
{
	struct simgpu_svm_stats *s = svm_stats(svm);
	u64 size = simgpu_gpusvm_range_size(range);

	atomic64_inc(&s->ranges_created);
	atomic64_inc(&s->ranges_by_chunk[simgpu_svm_chunk_index(size)]);
}

static void svm_range_removed(struct simgpu_gpusvm *svm,
			      struct simgpu_gpusvm_range *range)
{
	atomic64_inc(&svm_stats(svm)->ranges_removed);
}

static struct simgpu_gpusvm_devmem *
svm_devmem_alloc(struct simgpu_gpusvm *svm, struct simgpu_gpusvm_range *range,
		 u64 size, void *target, const struct simgpu_gpusvm_ctx *ctx)
{
	struct simgpu_gpusvm_devmem *devmem;

	lockdep_assert_held(&svm_to_vm(svm)->lock);
	mmap_assert_locked(simgpu_gpusvm_mm(svm));
	/*
	 * A fault that would evict what the GPU just brought in is
	 * thrashing: the working set exceeds VRAM, and mapping the range in
	 * system memory serves the GPU sooner than another migration.
	 */
	devmem = simgpu_dmem_svm_alloc(target, size, svm_to_vm(svm),
				       ctx->force ? 0 : simgpu_svm_evict_age());
	if (IS_ERR(devmem))
		atomic64_inc(&svm_stats(svm)->migrate_fallbacks);
	return devmem;
}

static const struct simgpu_gpusvm_ops svm_ops = {
	.invalidate = svm_invalidate,
	.invalidated = svm_invalidated,
	.schedule_gc = svm_schedule_gc,
	.range_created = svm_range_created,
	.range_removed = svm_range_removed,
	.devmem_alloc = svm_devmem_alloc,
};

static void to_core_ctx(const struct simgpu_svm_ctx *c,
			struct simgpu_gpusvm_ctx *core)
{
	*core = (struct simgpu_gpusvm_ctx) {
		.timeslice = c->timeslice,
		.write = c->write,
		.device_folios = c->device_folios,
		.device_pages = c->device_pages,
		.force = c->force,
	};
}

static int ssvm_init(struct simgpu_vm *vm, struct mm_struct *mm)
{
	int err;

	lockdep_assert_held(&vm->lock);

	/* VRAM pages of the device and its link group are mapped in place. */
	err = simgpu_gpusvm_init(&vm->svm, mm, 0, TASK_SIZE,
				 simgpu_svm_notifier_size(),
				 simgpu_svm_chunk_sizes, SIMGPU_SVM_NUM_CHUNKS,
				 &svm_ops,
				 vm->sdev->dmem.pagemap_mapped ?
				 vm->sdev->dmem.pagemap.owner : NULL);
	if (err)
		return err;
	simgpu_gpusvm_driver_set_lock(&vm->svm, &vm->lock);
	return 0;
}

static void ssvm_fini(struct simgpu_vm *vm)
{
	simgpu_gpusvm_fini(&vm->svm);
}

static void ssvm_garbage_collect(struct simgpu_vm *vm)
{
	simgpu_gpusvm_garbage_collect(&vm->svm);
}

static void ssvm_remove_ranges(struct simgpu_vm *vm, u64 start, u64 end)
{
	simgpu_gpusvm_remove_ranges(&vm->svm, start, end);
}

static void ssvm_count_ranges(struct simgpu_vm *vm, unsigned long *counts)
{
	simgpu_gpusvm_count_ranges(&vm->svm, counts);
}

static struct simgpu_svm_range *
ssvm_range_find_or_insert(struct simgpu_vm *vm, u64 addr, u64 lo, u64 hi)
{
	return (struct simgpu_svm_range *)
		simgpu_gpusvm_range_find_or_insert(&vm->svm, addr, lo, hi);
}

static void ssvm_range_remove(struct simgpu_vm *vm,
			      struct simgpu_svm_range *r)
{
	simgpu_gpusvm_range_remove(&vm->svm, sr(r));
}

static u64 ssvm_range_start(const struct simgpu_svm_range *r)
{
	return simgpu_gpusvm_range_start(sr(r));
}

static u64 ssvm_range_end(const struct simgpu_svm_range *r)
{
	return simgpu_gpusvm_range_end(sr(r));
}

static bool ssvm_range_read_only(const struct simgpu_svm_range *r)
{
	return simgpu_gpusvm_range_read_only(sr(r));
}

static unsigned int ssvm_range_cpu_bounces(const struct simgpu_svm_range *r)
{
	return simgpu_gpusvm_range_cpu_bounces(sr(r));
}

static int ssvm_range_get_pages(struct simgpu_vm *vm,
				struct simgpu_svm_range *r,
				const struct simgpu_svm_ctx *ctx)
{
	struct simgpu_gpusvm_ctx core;

	to_core_ctx(ctx, &core);
	return simgpu_gpusvm_range_get_pages(&vm->svm, sr(r), &core);
}

static long ssvm_range_migrate_to_devmem(struct simgpu_vm *vm,
					 struct simgpu_svm_range *r,
					 struct simgpu_device *target,
					 const struct simgpu_svm_ctx *ctx)
{
	struct simgpu_gpusvm_ctx core;

	/* Mapped in place: a migration would move nothing. */
	if (!ctx->device_pages &&
	    simgpu_gpusvm_range_in_devmem(&vm->svm, sr(r)))
		return 0;
	to_core_ctx(ctx, &core);
	core.timeslice = ctx->hold;
	return simgpu_gpusvm_migrate_to_devmem(&vm->svm, sr(r), target, &core);
}

static long ssvm_range_migrate_to_ram(struct simgpu_vm *vm,
				      struct simgpu_svm_range *r)
{
	return simgpu_gpusvm_migrate_to_ram(&vm->svm, sr(r));
}

static int ssvm_range_make_exclusive(struct simgpu_vm *vm,
				     struct simgpu_svm_range *r, u64 addr,
				     const struct simgpu_svm_ctx *ctx)
{
	struct simgpu_gpusvm_ctx core;

	to_core_ctx(ctx, &core);
	return simgpu_gpusvm_range_make_exclusive(&vm->svm, sr(r), addr, &core);
}

static void ssvm_range_page(struct simgpu_vm *vm, struct simgpu_svm_range *r,
			    unsigned long i, struct simgpu_svm_page *p)
{
	unsigned long pfn = simgpu_gpusvm_range_pfn(sr(r), i);
	struct page *page = hmm_pfn_to_page(pfn);

	if (simgpu_dmem_page_is_local(vm->sdev, page))
		p->vram = vm->sdev;
	else
		/* In place, over the link; NULL for system memory. */
		p->vram = simgpu_dmem_page_peer(vm->sdev, page);
	p->addr = p->vram ? simgpu_dmem_page_offset(p->vram, page) :
			    page_to_phys(page);
	p->write = pfn & HMM_PFN_WRITE && !simgpu_gpusvm_range_read_only(sr(r));
	p->exclusive = !p->vram && simgpu_gpusvm_range_page_held(sr(r), i);
	p->order = hmm_pfn_to_map_order(pfn);
}

static void ssvm_notifier_lock(struct simgpu_vm *vm)
{
	simgpu_gpusvm_notifier_lock(&vm->svm);
}

static void ssvm_notifier_unlock(struct simgpu_vm *vm)
{
	simgpu_gpusvm_notifier_unlock(&vm->svm);
}

static bool ssvm_range_pages_valid_locked(struct simgpu_vm *vm,
					  struct simgpu_svm_range *r)
{
	return !simgpu_gpusvm_range_unmapped(sr(r)) &&
	       !simgpu_gpusvm_range_retry_locked(&vm->svm, sr(r));
}

static void ssvm_range_set_mapped_locked(struct simgpu_vm *vm,
					 struct simgpu_svm_range *r)
{
	simgpu_gpusvm_range_set_pages_valid_locked(&vm->svm, sr(r));
}

/* The SVM backend on simgpu's own core: the table svm_core selects. */
const struct simgpu_svm_backend simgpu_svm_backend_simgpu = {
	.name = "simgpu",
#if SIMGPU_HAVE_DEVMEM
	.devmem_init = simgpu_dmem_pagemap_init,
#endif
	/* Its holds need the device's pagemap owner: device memory. */
	.atomic_hold = false,
	.init = ssvm_init,
	.fini = ssvm_fini,
	.garbage_collect = ssvm_garbage_collect,
	.remove_ranges = ssvm_remove_ranges,
	.count_ranges = ssvm_count_ranges,
	.range_find_or_insert = ssvm_range_find_or_insert,
	.range_remove = ssvm_range_remove,
	.range_start = ssvm_range_start,
	.range_end = ssvm_range_end,
	.range_read_only = ssvm_range_read_only,
	.range_cpu_bounces = ssvm_range_cpu_bounces,
	.range_get_pages = ssvm_range_get_pages,
	.range_migrate_to_devmem = ssvm_range_migrate_to_devmem,
	.range_migrate_to_ram = ssvm_range_migrate_to_ram,
	.range_make_exclusive = ssvm_range_make_exclusive,
	.range_page = ssvm_range_page,
	.notifier_lock = ssvm_notifier_lock,
	.notifier_unlock = ssvm_notifier_unlock,
	.range_pages_valid_locked = ssvm_range_pages_valid_locked,
	.range_set_mapped_locked = ssvm_range_set_mapped_locked,
};
