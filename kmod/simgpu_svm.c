// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: shared virtual memory, the driver side of the SVM backends.
 */

#include <linux/bitfield.h>
#include <linux/hmm.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/stringify.h>

#include <drm/drm_drv.h>

#include "simgpu_device.h"
#include "simgpu_drv.h"
#include "simgpu_inject.h"
#include "simgpu_params.h"
#include "simgpu_svm.h"
#include "simgpu_svm_backend.h"
#include "simgpu_vm.h"

/**
 * DOC: Overview
 *
 * A CPU_ADDR_MIRROR MAP makes part of a fault-mode VM mirror the calling
 * process: the VM's drm_gpuvm holds a mirror VA there (no buffer object),
 * and the first one starts the SVM backend the svm_core parameter chose
 * (simgpu_svm_backend.h: the kernel's drm_gpusvm, or simgpu's own core in
 * gpusvm/) on the process's mm. A buffer object mapped inside a mirror splits it like any
 * other mapping, so the mirror pieces are exactly where SVM applies.
 *
 * A GPU fault in a mirror piece (simgpu_svm_fault_locked(), from the device's
 * fault worker) asks the core for the range around the address, bounded by
 * the piece, collects its pages with hmm_range_fault(), prepares the page
 * tables, and then, under the core's notifier lock and only if no
 * invalidation ran since the pages were collected, writes the PTEs: one
 * 2 MiB entry where the CPU maps the 2 MiB range with a PMD (THP), 4 KiB
 * entries otherwise, writable and atomic-capable when the CPU pages are.
 * Pages are faulted in for writing only for a write or atomic access, so a
 * GPU read does not break copy-on-write sharing (zero page, fork, private
 * file mappings); a later write faults again and upgrades the mapping.
 * Before the pages are collected, the fault applies the placement policy
 * and the MADVISE attributes of the address (svm_fault_policy()): with
 * device-private VRAM, anonymous memory migrates there first (see
 * simgpu_dmem.c and docs/design.md, "VRAM migration"), and a GPU atomic
 * may take the page exclusive. The job then retries the access.
 *
 * The backend's core calls back to zap a range's PTEs and flush the TLBs
 * when the CPU mapping changes, and queues the ranges the CPU unmapped
 * for the VM's garbage collector, which runs from a worker under the VM
 * lock. The policy of each call (timeslice, write fault, compound device
 * folios) goes to the backend in a &struct simgpu_svm_ctx built per fault
 * from the module parameters, and the counters of debugfs' simgpu_svm
 * (&struct simgpu_svm_stats) are kept by the driver (here, the backends'
 * callbacks and simgpu_dmem.c).
 */

/**
 * DOC: Locking
 *
 * The VM lock is the driver lock of the backend's core, registered with
 * it so that the core asserts it: fault handling, binds and the garbage
 * collector hold it. PTEs of a range are written under the
 * core's notifier lock (read) after simgpu_pt_prepare() created the
 * tables, so nothing allocates under it; the invalidate callback, under
 * the notifier lock (write), only clears leaves (simgpu_pt_zap()) and takes
 * the engines' TLB locks. Order: vm->lock -> mmap_lock -> notifier_lock
 * -> engine tlb_lock.
 *
 * The order of all the driver's locks: DOC: Locking in simgpu_locking.c.
 */

const u64 simgpu_svm_chunk_sizes[SIMGPU_SVM_NUM_CHUNKS] = SIMGPU_SVM_CHUNKS;

static bool svm_migrate = true;
module_param(svm_migrate, bool, 0644);
MODULE_PARM_DESC(svm_migrate,
		 "Migrate anonymous memory to VRAM on GPU faults (default true; needs CONFIG_DEVICE_PRIVATE)");

static int svm_timeslice_set(const char *val, const struct kernel_param *kp)
{
	return simgpu_params_set_uint(val, kp, simgpu_params_check_timeslice);
}

static const struct kernel_param_ops svm_timeslice_ops = {
	.set = svm_timeslice_set,
	.get = param_get_uint,
};

static unsigned int svm_timeslice_ms = 20;
module_param_cb(svm_timeslice_ms, &svm_timeslice_ops, &svm_timeslice_ms,
		0644);
__MODULE_PARM_TYPE(svm_timeslice_ms, "uint");
MODULE_PARM_DESC(svm_timeslice_ms,
		 "A CPU fault on a chunk a GPU fault just migrated to VRAM, or on the page it just took exclusive for an atomic, waits until it is this old, and so does another device taking that page, so the GPU job gets to use it; a fatal signal ends the wait (0-"
		 __stringify(SIMGPU_MAX_TIMESLICE_MS)
		 " ms, default 20; read at each GPU fault; a larger value fails the load or the write with -EINVAL)");

static bool svm_device_thp = true;
module_param(svm_device_thp, bool, 0644);
MODULE_PARM_DESC(svm_device_thp,
		 "Migrate an aligned 2 MiB range that the CPU maps with a huge page, or not at all, as one 2 MiB device folio, and back into a huge page (default true; false: 512 device pages)");

static int notifier_size_set(const char *val, const struct kernel_param *kp)
{
	return simgpu_params_set_uint(val, kp,
				     simgpu_params_check_notifier_size);
}

static const struct kernel_param_ops notifier_size_ops = {
	.set = notifier_size_set,
	.get = param_get_uint,
};

/* A notifier window holds the largest chunk (SIMGPU_SVM_CHUNKS). */
static_assert((u64)SIMGPU_MIN_NOTIFIER_MB * SZ_1M >= SZ_2M);

static unsigned int notifier_size = 512;
module_param_cb(notifier_size, &notifier_size_ops, &notifier_size, 0444);
__MODULE_PARM_TYPE(notifier_size, "uint");
MODULE_PARM_DESC(notifier_size,
		 "SVM notifier window in MiB, a power of two ("
		 __stringify(SIMGPU_MIN_NOTIFIER_MB) "-"
		 __stringify(SIMGPU_MAX_NOTIFIER_MB)
		 ", default 512; anything else fails the load with -EINVAL)");

/**
 * simgpu_svm_chunk_index() - the index of a range size in the chunk list
 * @size: a range size: 2 MiB, 64 KiB or 4 KiB
 *
 * Return: the index of @size in the driver's chunk list, which orders the
 * per-size counters of &struct simgpu_svm_stats.
 */
unsigned int simgpu_svm_chunk_index(u64 size)
{
	unsigned int i;

	for (i = 0; i < SIMGPU_SVM_NUM_CHUNKS - 1; i++)
		if (size == simgpu_svm_chunk_sizes[i])
			break;
	return i;
}

static unsigned int svm_evict_age_ms = 100;
module_param(svm_evict_age_ms, uint, 0644);
MODULE_PARM_DESC(svm_evict_age_ms,
		 "GPU faults evict only SVM chunks in VRAM for at least this long; younger ones make the fault map system memory instead (default 100)");

/**
 * simgpu_svm_evict_age() - how long SVM chunks stay in VRAM before a fault
 * may evict them
 *
 * Return: the svm_evict_age_ms parameter, in jiffies.
 */
unsigned long simgpu_svm_evict_age(void)
{
	return msecs_to_jiffies(READ_ONCE(svm_evict_age_ms));
}

/**
 * simgpu_svm_notifier_size() - the size of the SVM notifier windows
 *
 * Return: the notifier_size parameter, in bytes.
 */
u64 simgpu_svm_notifier_size(void)
{
	return (u64)notifier_size * SZ_1M;
}

static const struct simgpu_svm_backend *svm_be(const struct simgpu_vm *vm)
{
	return vm->sdev->params->svm;
}

/**
 * simgpu_svm_atomic_hold() - whether GPU atomics can hold system pages
 * @sdev: the device
 *
 * Return: true when the device's SVM backend can take a page exclusive
 * for the device (DRM_SIMGPU_CAP_ATOMIC_HOLD): the simgpu core with
 * device memory, the kernel core with CONFIG_DEVICE_PRIVATE.
 */
bool simgpu_svm_atomic_hold(struct simgpu_device *sdev)
{
	return sdev->params->svm->atomic_hold || sdev->dmem.enabled;
}

/**
 * simgpu_svm_remove_ranges_locked() - drop the SVM ranges over a span
 * @vm: the VM, its lock held
 * @start: first address
 * @end: end of the span
 *
 * Their PTEs are zapped and flushed; the next GPU fault there makes new
 * ranges (a bind changed the mirror, or attributes changed).
 */
void simgpu_svm_remove_ranges_locked(struct simgpu_vm *vm, u64 start, u64 end)
{
	lockdep_assert_held(&vm->lock);

	if (vm->svm_active)
		svm_be(vm)->remove_ranges(vm, start, end);
}

/**
 * simgpu_svm_count_ranges_locked() - count a VM's SVM ranges by size
 * @vm: the VM, its lock held
 * @counts: incremented per range, indexed like simgpu_svm_chunk_sizes
 */
void simgpu_svm_count_ranges_locked(struct simgpu_vm *vm,
				    unsigned long *counts)
{
	lockdep_assert_held(&vm->lock);

	if (vm->svm_active)
		svm_be(vm)->count_ranges(vm, counts);
}

/**
 * simgpu_svm_gc_work() - remove the SVM ranges the CPU unmapped
 * @work: &simgpu_vm.svm_gc_work
 */
void simgpu_svm_gc_work(struct work_struct *work)
{
	struct simgpu_vm *vm = container_of(work, struct simgpu_vm,
					    svm_gc_work);

	mutex_lock(&vm->lock);
	if (vm->svm_active) {
		simgpu_madvise_gc_locked(vm);
		svm_be(vm)->garbage_collect(vm);
	}
	mutex_unlock(&vm->lock);
}

/**
 * simgpu_svm_activate_locked() - make the VM mirror the calling process
 * @vm: the VM
 *
 * Return: 0, or -EINVAL when the VM already mirrors another process.
 */
int simgpu_svm_activate_locked(struct simgpu_vm *vm)
{
	int err;

	lockdep_assert_held(&vm->lock);

	if (vm->svm_active)
		return vm->svm_mm == current->mm ? 0 : -EINVAL;
	if (!current->mm)
		return -EINVAL;

	err = svm_be(vm)->init(vm, current->mm);
	if (err)
		return err;
	vm->svm_mm = current->mm;
	vm->svm_pid = get_task_pid(current, PIDTYPE_TGID);
	vm->svm_active = true;
	return 0;
}

/**
 * simgpu_svm_fini() - stop mirroring; the VM is being freed
 * @vm: the VM
 */
void simgpu_svm_fini(struct simgpu_vm *vm)
{
	/*
	 * Under the VM lock, so a running collector cannot remove the same
	 * ranges; once the notifiers are gone nothing schedules it again,
	 * and a collector still queued finds the mirror inactive.
	 */
	mutex_lock(&vm->lock);
	if (vm->svm_active) {
		simgpu_madvise_fini_locked(vm);
		svm_be(vm)->fini(vm);
		vm->svm_mm = NULL;
		put_pid(vm->svm_pid);
		vm->svm_active = false;
	}
	mutex_unlock(&vm->lock);
	cancel_work_sync(&vm->svm_gc_work);
}

/*
 * How a fault or prefetch treats a range.
 * @place: where its pages go first
 * @target: SVM_PLACE_VRAM: the device whose VRAM (this one or a linked one)
 * @all_pages: SVM_PLACE_VRAM: pages that come to system memory from the
 *	VRAM of a device without a link migrate on in the same fault
 * @peer_pages: SVM_PLACE_VRAM: pages in a linked device's VRAM move too,
 *	device to device (else they are mapped in place)
 * @thrash_limit: leave ranges that bounced too often in system memory
 * @force: evict whatever VRAM allocation takes
 * @exclusive: take the faulting system page exclusive for the device (GPU
 *	atomics); other system pages take no atomics until they are held
 * @sys_atomic: system pages take GPU atomics in place
 * @vram_atomic: VRAM pages take GPU atomics
 */
struct svm_policy {
	enum svm_place {
		SVM_PLACE_STAY,		/* map the pages where they are */
		SVM_PLACE_SYSTEM,	/* bring pages in VRAM back */
		SVM_PLACE_VRAM,		/* migrate anonymous memory to VRAM */
	} place;
	struct simgpu_device *target;
	bool all_pages;
	bool peer_pages;
	bool thrash_limit;
	bool force;
	bool exclusive;
	bool sys_atomic;
	bool vram_atomic;
};

/* The PTE for a collected page @p. */
static u64 svm_page_pte(struct simgpu_vm *vm, const struct simgpu_svm_page *p,
			const struct svm_policy *pol)
{
	u64 pte = p->addr | SIMGPU_PTE_VALID;

	if (p->vram)
		pte |= SIMGPU_PTE_VRAM;
	if (p->vram && p->vram != vm->sdev)
		/* In place, over the link. */
		pte |= SIMGPU_PTE_PEER |
		       FIELD_PREP(SIMGPU_PTE_PEER_ID, p->vram->id);
	if (!p->write)
		return pte;
	pte |= SIMGPU_PTE_WRITE;
	/*
	 * A page held exclusive takes atomics whatever the fault; under an
	 * exclusive policy other system pages fault for their own hold.
	 */
	if (p->exclusive)
		pte |= SIMGPU_PTE_ATOMIC | SIMGPU_PTE_EXCLUSIVE;
	else if (p->vram ? pol->vram_atomic : pol->sys_atomic && !pol->exclusive)
		pte |= SIMGPU_PTE_ATOMIC;
	return pte;
}

/* The PTE for page @i of @r. */
static u64 svm_pte(struct simgpu_vm *vm, struct simgpu_svm_range *r,
		   unsigned long i, const struct svm_policy *pol)
{
	struct simgpu_svm_page p;

	svm_be(vm)->range_page(vm, r, i, &p);
	return svm_page_pte(vm, &p, pol);
}

static u64 svm_range_size(struct simgpu_vm *vm, struct simgpu_svm_range *r)
{
	return svm_be(vm)->range_end(r) - svm_be(vm)->range_start(r);
}

/*
 * Whether a 2 MiB range can take one 2 MiB entry: a THP mapped by a PMD,
 * or 512 pages of one contiguous, aligned VRAM chunk with one permission.
 */
static bool svm_range_huge(struct simgpu_vm *vm, struct simgpu_svm_range *r,
			   const struct svm_policy *pol)
{
	struct simgpu_svm_page p;
	u64 first;
	unsigned long i;

	if (svm_range_size(vm, r) != SIMGPU_HUGE_SIZE)
		return false;
	svm_be(vm)->range_page(vm, r, 0, &p);
	first = svm_page_pte(vm, &p, pol);
	if (!IS_ALIGNED(first & SIMGPU_PTE_ADDR, SIMGPU_HUGE_SIZE))
		return false;
	if (!p.vram)
		return (1UL << p.order) >= SIMGPU_PT_ENTRIES;
	for (i = 1; i < SIMGPU_PT_ENTRIES; i++)
		if (svm_pte(vm, r, i, pol) !=
		    first + (i << PAGE_SHIFT))
			return false;
	return true;
}

/* Map a range whose pages were collected; -EAGAIN if they went stale. */
static int svm_commit_locked(struct simgpu_vm *vm, struct simgpu_svm_range *r,
			     const struct svm_policy *pol)
{
	const struct simgpu_svm_backend *be = svm_be(vm);
	u64 start = be->range_start(r);
	u64 end = be->range_end(r);
	unsigned long i, n = (end - start) >> PAGE_SHIFT;
	bool huge;
	int err;

	lockdep_assert_held(&vm->lock);

	huge = svm_range_huge(vm, r, pol);
	err = simgpu_pt_prepare(&vm->pt, start, end, huge);
	if (err == -EBUSY) {
		huge = false;
		err = simgpu_pt_prepare(&vm->pt, start, end, false);
	}
	if (err)
		return err;
	/* A table of small leaves made way for a 2 MiB one: flush, free. */
	if (!list_empty(&vm->pt.stale))
		simgpu_vm_invalidate_locked(vm, start, end);

	be->notifier_lock(vm);
	if (!be->range_pages_valid_locked(vm, r)) {
		be->notifier_unlock(vm);
		return -EAGAIN;
	}
	if (huge) {
		err = simgpu_pt_set_prepared(&vm->pt, start,
					     svm_pte(vm, r, 0, pol) |
					     SIMGPU_PTE_HUGE);
	} else {
		for (i = 0; i < n && !err; i++)
			err = simgpu_pt_set_prepared(&vm->pt,
						     start + (i << PAGE_SHIFT),
						     svm_pte(vm, r, i, pol));
	}
	if (err) {
		simgpu_pt_zap(&vm->pt, start, end);
		simgpu_vm_tlb_invalidate(vm, start, end);
	} else {
		be->range_set_mapped_locked(vm, r);
	}
	be->notifier_unlock(vm);
	return err;
}

#define SVM_FAULT_TRIES	8

/*
 * A range the CPU took back from VRAM this many times is shared closely by
 * the CPU and the GPU (a flag, a queue, a fence): moving it costs more than
 * accessing it remotely. Default-policy GPU faults map it in system memory
 * from then on. Evictions do not count.
 */
#define SVM_THRASH_BOUNCES	3

/* Page @i of @r is in system memory, not in any device's VRAM. */
static bool svm_page_is_system(struct simgpu_vm *vm,
			       struct simgpu_svm_range *r, unsigned long i)
{
	struct simgpu_svm_page p;

	svm_be(vm)->range_page(vm, r, i, &p);
	return !p.vram;
}

static bool range_has_system_pages(struct simgpu_vm *vm,
				   struct simgpu_svm_range *r)
{
	unsigned long i, n = svm_range_size(vm, r) >> PAGE_SHIFT;

	for (i = 0; i < n; i++)
		if (svm_page_is_system(vm, r, i))
			return true;
	return false;
}

/*
 * Migrate @r to VRAM as @pol says, if it may; the pages moved or 0.
 *
 * The new VRAM is the device's for a while (@ctx->hold) only when the
 * range is thrashing: the CPU has taken it back from VRAM before, so a
 * CPU hammering it (a shared counter) would take it back again before the
 * job that faulted got its access, again and again. The hold doubles with
 * each bounce, up to 8 timeslices. A first migration holds nothing: the
 * CPU's next touch brings the pages back at once, as with no GPU policy
 * (UVM throttles only the pages it sees thrashing, the same way).
 */
static long svm_migrate_range(struct simgpu_vm *vm, struct simgpu_svm_range *r,
			      const struct svm_policy *pol,
			      const struct simgpu_svm_ctx *fault_ctx)
{
	const struct simgpu_svm_backend *be = svm_be(vm);
	unsigned int bounces = be->range_cpu_bounces(r);
	struct simgpu_svm_ctx ctx = *fault_ctx;
	long moved;
	int idx;

	/* Other VRAM pages only move device to device, over a link. */
	ctx.device_pages = pol->peer_pages && simgpu_device_link_mask(vm->sdev);
	ctx.hold = bounces ? ctx.timeslice << min(bounces - 1, 3U) : 0;

	if (pol->place != SVM_PLACE_VRAM || !pol->target->dmem.enabled ||
	    (pol->thrash_limit && bounces >= SVM_THRASH_BOUNCES))
		return 0;
	/*
	 * No migration into the VRAM of a device that left the driver (a
	 * peer chosen by PREFERRED_LOC can have); the unbind waits for one
	 * in progress before it evicts.
	 */
	if (!drm_dev_enter(&pol->target->drm, &idx))
		return 0;
	moved = be->range_migrate_to_devmem(vm, r, pol->target, &ctx);
	drm_dev_exit(idx);
	if (moved > 0 && ctx.hold)
		atomic64_inc(&vm->sdev->svm_stats.thrash_holds);
	return moved;
}

/* Collect the pages of @r, counting them for the device and the VM. */
static int svm_get_pages(struct simgpu_vm *vm, struct simgpu_svm_range *r,
			 const struct simgpu_svm_ctx *ctx)
{
	u64 npages = svm_range_size(vm, r) >> PAGE_SHIFT;
	int err;

	err = simgpu_inject(SIMGPU_INJECT_SVM_PAGES) ? -ENOMEM :
		svm_be(vm)->range_get_pages(vm, r, ctx);
	if (err)
		return err;
	atomic64_add(npages, &vm->sdev->svm_stats.pages_faulted);
	atomic64_add(npages, &vm->svm_pages_faulted);
	return 0;
}

/*
 * Hold the page at @addr of @r exclusive for a GPU atomic. Memory that
 * cannot be held (file-backed, shared) is mapped as collected when @pol
 * allows system-memory atomics (@pol->exclusive then goes), else the
 * access faults (-EFAULT); a page busy elsewhere is -EAGAIN.
 */
static int svm_hold_exclusive(struct simgpu_vm *vm, struct simgpu_svm_range *r,
			      u64 addr, struct svm_policy *pol,
			      const struct simgpu_svm_ctx *ctx)
{
	int err = svm_be(vm)->range_make_exclusive(vm, r, addr, ctx);

	if (err > 0) {
		atomic64_inc(&vm->sdev->svm_stats.exclusive_pages);
		return 0;
	}
	if (err == -EOPNOTSUPP && pol->sys_atomic) {
		pol->exclusive = false;
		return 0;
	}
	if (err == -EOPNOTSUPP)
		return -EFAULT;
	return err == -EBUSY ? -EAGAIN : err;
}

/*
 * Make the range around @addr, inside [@lo, @hi), valid on the GPU the way
 * @pol says. @write: fault the pages in writable; @strict: and fail with
 * -EFAULT when the CPU mapping does not allow writes. *@next receives the
 * end of the range. @t: the stages of a GPU fault, marked as they end (NULL:
 * not a fault).
 */
static int svm_map_range_locked(struct simgpu_vm *vm, u64 addr, u64 lo,
				u64 hi, bool write, bool strict,
				const struct svm_policy *policy, u64 *next,
				struct simgpu_fault_timing *t)
{
	const struct simgpu_svm_ctx ctx = {
		.timeslice = msecs_to_jiffies(READ_ONCE(svm_timeslice_ms)),
		.write = write,
		.device_folios = READ_ONCE(svm_device_thp),
		.force = policy->force,
	};
	const struct simgpu_svm_backend *be = svm_be(vm);
	struct simgpu_svm_range *r;
	struct svm_policy pol;
	unsigned int tries;
	long moved;
	int err = -EAGAIN;

	lockdep_assert_held(&vm->lock);

	for (tries = 0; tries < SVM_FAULT_TRIES && err == -EAGAIN; tries++) {
		pol = *policy;
		simgpu_fault_timing_mark(t, SIMGPU_FAULT_OTHER);
		r = simgpu_inject(SIMGPU_INJECT_SVM_RANGE) ? ERR_PTR(-ENOMEM) :
			be->range_find_or_insert(vm, addr, lo, hi);
		simgpu_fault_timing_mark(t, SIMGPU_FAULT_RANGE);
		if (IS_ERR(r))
			return PTR_ERR(r);
		*next = be->range_end(r);

		if (pol.place == SVM_PLACE_SYSTEM)
			moved = be->range_migrate_to_ram(vm, r);
		else
			moved = svm_migrate_range(vm, r, &pol, &ctx);
		simgpu_fault_timing_mark(t, SIMGPU_FAULT_MIGRATE);
		/*
		 * Memory that cannot move, or no VRAM: map it where it is.
		 * A range no longer in one VMA is made anew.
		 */
		err = moved == -ERANGE ? -ERANGE : svm_get_pages(vm, r, &ctx);
		simgpu_fault_timing_mark(t, SIMGPU_FAULT_PAGES);
		/*
		 * Pages in the VRAM of a device without a link came to system
		 * memory as they were collected: with all pages wanted here,
		 * they migrate on (once; what still cannot move stays).
		 */
		if (!err && moved >= 0 && pol.place == SVM_PLACE_VRAM &&
		    pol.all_pages && range_has_system_pages(vm, r) &&
		    svm_migrate_range(vm, r, &pol, &ctx) > 0) {
			simgpu_fault_timing_mark(t, SIMGPU_FAULT_MIGRATE);
			err = svm_get_pages(vm, r, &ctx);
			simgpu_fault_timing_mark(t, SIMGPU_FAULT_PAGES);
		}
		if (!err && pol.exclusive &&
		    svm_page_is_system(vm, r, (addr - be->range_start(r)) >>
					      PAGE_SHIFT))
			err = svm_hold_exclusive(vm, r, addr, &pol, &ctx);
		simgpu_fault_timing_mark(t, SIMGPU_FAULT_OTHER);
		if (err == -ERANGE) {
			be->range_remove(vm, r);
			err = -EAGAIN;
			continue;
		}
		if (err == -EPERM)
			err = -EFAULT;
		/* Kept being invalidated: not the job's fault, try again. */
		if (err == -ETIME)
			err = -EAGAIN;
		if (!err && strict && write && be->range_read_only(r))
			err = -EFAULT;
		if (!err) {
			err = svm_commit_locked(vm, r, &pol);
			simgpu_fault_timing_mark(t, SIMGPU_FAULT_BIND);
		}
	}
	return err;
}

/* The policy of a GPU fault of @access on memory with attributes @a. */
static int svm_fault_policy(struct simgpu_vm *vm,
			    const struct simgpu_madvise_attrs *a,
			    enum simgpu_access access, struct svm_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->sys_atomic = a->atomic == DRM_SIMGPU_MADV_ATOMIC_DEFAULT;
	pol->vram_atomic = a->atomic != DRM_SIMGPU_MADV_ATOMIC_CPU;
	pol->target = vm->sdev;
	pol->all_pages = a->migration == DRM_SIMGPU_MADV_MIGRATE_ALL_PAGES;

	switch (a->loc) {
	case DRM_SIMGPU_MADV_LOC_SYSTEM:
		pol->place = SVM_PLACE_SYSTEM;
		break;
	case DRM_SIMGPU_MADV_LOC_DEVICE:
		/* MADVISE checked the link; the device outlives the VM. */
		pol->place = SVM_PLACE_VRAM;
		pol->target = simgpu_device_lookup(a->loc_device) ?: vm->sdev;
		pol->peer_pages = pol->all_pages;
		break;
	default:
		pol->place = READ_ONCE(svm_migrate) ? SVM_PLACE_VRAM :
						      SVM_PLACE_STAY;
		pol->thrash_limit = true;
		break;
	}
	if (a->read_mostly && access == SIMGPU_ACCESS_READ)
		pol->place = SVM_PLACE_STAY;
	if (access != SIMGPU_ACCESS_ATOMIC)
		return 0;

	switch (a->atomic) {
	case DRM_SIMGPU_MADV_ATOMIC_CPU:
		return -EFAULT;
	case DRM_SIMGPU_MADV_ATOMIC_DEVICE:
		/* In VRAM if it can go there, else held exclusive. */
		pol->place = SVM_PLACE_VRAM;
		pol->thrash_limit = false;
		pol->exclusive = true;
		break;
	case DRM_SIMGPU_MADV_ATOMIC_GLOBAL:
		/* Held exclusive in system memory; file memory in place. */
		pol->place = SVM_PLACE_STAY;
		pol->exclusive = true;
		pol->sys_atomic = true;
		break;
	}
	return 0;
}

/**
 * simgpu_svm_fault_locked() - resolve a GPU fault in a CPU address mirror
 * @vm: the VM, its lock held
 * @addr: the faulting address
 * @access: the kind of access
 * @t: the fault's timing (simgpu_fault_timing_mark())
 *
 * Applies the memory attributes at @addr (MADVISE) and the placement
 * policy: by default anonymous private memory migrates to VRAM first when
 * the device can (see the svm_migrate parameter); other memory is mapped
 * where it is.
 *
 * Return: 0 when the address is now mapped for @access; -EAGAIN when the
 * range kept being invalidated (let the job fault again); -EFAULT when the
 * address is not mirrored, not mapped by the process, the access is not
 * allowed by the CPU mapping or by the atomic attribute; -ENOMEM.
 */
int simgpu_svm_fault_locked(struct simgpu_vm *vm, u64 addr,
			    enum simgpu_access access,
			    struct simgpu_fault_timing *t)
{
	struct simgpu_madvise_attrs attrs;
	struct svm_policy pol;
	u64 lo, hi, next;
	int err;

	lockdep_assert_held(&vm->lock);

	if (!vm->svm_active ||
	    !simgpu_vm_mirror_bounds_locked(vm, addr, &lo, &hi))
		return -EFAULT;
	simgpu_madvise_lookup_locked(vm, addr, &attrs, &lo, &hi);
	err = svm_fault_policy(vm, &attrs, access, &pol);
	if (err)
		return err;
	return svm_map_range_locked(vm, addr, lo, hi,
				    access != SIMGPU_ACCESS_READ, true, &pol,
				    &next, t);
}

/**
 * simgpu_svm_prefetch_locked() - move a mirrored span and map it
 * @vm: the VM, its lock held
 * @start: first address
 * @end: end of the span
 * @region: DRM_SIMGPU_MEM_SYSTEM or DRM_SIMGPU_MEM_VRAM
 *
 * Migrates each range of the span to @region (VRAM only for anonymous
 * private memory; pages that cannot move stay) and maps it, writable
 * where the CPU mapping is, so that GPU accesses take no fault.
 *
 * Return: 0; -EINVAL when the span is not all mirrored or the caller is
 * not the mirrored process; -EOPNOTSUPP for VRAM without device-private
 * memory; -EFAULT when the process has not mapped a page of the span;
 * -EAGAIN when a range kept being invalidated; -ENOMEM.
 */
int simgpu_svm_prefetch_locked(struct simgpu_vm *vm, u64 start, u64 end,
			       u32 region)
{
	struct simgpu_madvise_attrs attrs;
	struct svm_policy pol;
	u64 addr, lo, hi, next;
	int err;

	lockdep_assert_held(&vm->lock);

	if (!vm->svm_active || vm->svm_mm != current->mm)
		return -EINVAL;
	for (addr = start; addr < end; addr = hi)
		if (!simgpu_vm_mirror_bounds_locked(vm, addr, &lo, &hi))
			return -EINVAL;
	if (region == DRM_SIMGPU_MEM_VRAM && !vm->sdev->dmem.enabled)
		return -EOPNOTSUPP;

	for (addr = start; addr < end; addr = next) {
		simgpu_vm_mirror_bounds_locked(vm, addr, &lo, &hi);
		simgpu_madvise_lookup_locked(vm, addr, &attrs, &lo, &hi);
		svm_fault_policy(vm, &attrs, SIMGPU_ACCESS_WRITE, &pol);
		pol.place = region == DRM_SIMGPU_MEM_VRAM ? SVM_PLACE_VRAM :
							    SVM_PLACE_SYSTEM;
		/* This device's VRAM, every page. */
		pol.target = vm->sdev;
		pol.all_pages = true;
		pol.peer_pages = true;
		pol.thrash_limit = false;
		pol.force = true;
		err = svm_map_range_locked(vm, addr, lo, hi, true, false,
					   &pol, &next, NULL);
		if (err)
			return err;
	}
	return 0;
}
