// SPDX-License-Identifier: GPL-2.0
/*
 * simgpu: the SVM core, mirroring a process address space for a device.
 */

#include <linux/interval_tree_generic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "simgpu_gpusvm.h"
#include "simgpu_gpusvm_trace.h"

/**
 * DOC: Overview
 *
 * The SVM core knows nothing of the device: it mirrors a part of a
 * process address space, [mm_start, mm_end), and tells the driver when a
 * part of the mirror must go (&simgpu_gpusvm_ops). The driver maps what
 * the core collected.
 *
 * Notifiers: MMU interval notifiers are created on demand over aligned
 * windows of notifier_size bytes, the first time a range is created in a
 * window, and removed when the window's last range goes.
 *
 * Ranges: a GPU fault creates a range around the faulting address with
 * the largest chunk size (from a descending list, e.g. 2 MiB, 64 KiB,
 * 4 KiB) whose aligned block around the address lies inside the CPU VMA,
 * the notifier window, the mirror, the driver's GPU VA bounds for the
 * fault (where no buffer object is bound) and overlaps no existing range
 * (simgpu_gpusvm_chunk_start()). A read-only VMA gives a read-only range.
 *
 * Pages (simgpu_gpusvm_pages.c): simgpu_gpusvm_range_get_pages() runs
 * hmm_range_fault() over the range, faulting pages in (for writing when
 * the VMA allows it), with a fresh mmu_interval_read_begin() on every
 * retry. The driver then takes
 * the notifier lock for read, checks simgpu_gpusvm_range_retry_locked()
 * (mmu_interval_read_retry()) and, if nothing invalidated the range in
 * between, writes its page tables and marks the pages valid; otherwise it
 * collects the pages again.
 *
 * Invalidation: the notifier callback takes the notifier lock for write,
 * bumps the sequence and, for every range of the window that overlaps the
 * invalidated span and is mapped, asks the driver to remove the device
 * mapping of the whole range. When the CPU unmapped the span, the ranges
 * are marked unmapped and handed to a garbage collector that the driver
 * runs from a worker: a partial munmap removes the whole range, and the
 * rest faults in again as new ranges.
 *
 * Exclusive holds: simgpu_gpusvm_range_make_exclusive() holds one page of
 * a range for device atomics; collections leave held pages alone, any
 * invalidation of a page ends its hold, and the page held last belongs to
 * the device for the timeslice the grab's context gave before a CPU access
 * or another device takes it back.
 *
 * Policy: the core keeps none. Each call that needs a decision gets it in a
 * &struct simgpu_gpusvm_ctx (write faults, timeslices, compound device
 * folios, device-to-device moves), and what happened is reported back, for
 * the driver's counters, through return values and the optional callbacks
 * of &struct simgpu_gpusvm_ops and &struct simgpu_gpusvm_devmem_ops.
 */

/**
 * DOC: Locking
 *
 * - The driver lock (any lock the driver registers with
 *   simgpu_gpusvm_driver_set_lock(); the core asserts it is held for
 *   write with simgpu_gpusvm_driver_lock_held()) serialises range
 *   creation, page collection, commit and removal, and protects the
 *   notifier tree; the range trees change only under it too, so it is
 *   enough to count the ranges (simgpu_gpusvm_count_ranges()). It is
 *   never taken by the notifier callback. Under it the core takes
 *   mmap_lock (read) and the notifier lock.
 * - &simgpu_gpusvm.notifier_lock (rw_semaphore) protects each range's
 *   page validity and exclusive holds, and the windows' range trees:
 *   write in the notifier callback and when ranges are added or removed,
 *   read while the driver commits a mapping
 *   (simgpu_gpusvm_notifier_lock()) or the core records a hold. The
 *   driver's invalidate callback runs with it held for write and may
 *   assert so (simgpu_gpusvm_assert_in_notifier()).
 *   The callback can run from reclaim, so nothing may allocate with
 *   reclaim under this lock; lockdep is taught that at init. A
 *   non-blockable invalidation only trylocks it and otherwise asks the
 *   caller to retry. A blockable MMU_NOTIFY_EXCLUSIVE invalidation of a
 *   freshly held page first sleeps out the hold's timeslice, holding no
 *   lock of ours (killable: a fatal signal ends the wait,
 *   simgpu_gpusvm_sleep_until()).
 * - &simgpu_gpusvm.gc_lock (spinlock) protects the garbage list; leaf.
 *
 * Order: driver lock -> mmap_lock -> notifier_lock -> (driver's
 * invalidation locks) ; notifier_lock -> gc_lock.
 */

/**
 * DOC: Examples
 *
 * How a driver uses the core; simgpu_svm.c is the full version. The
 * driver embeds &struct simgpu_gpusvm in its VM and serialises its calls
 * into the core with one lock of its own, here ``vm->lock``.
 *
 * 1) Init, when the VM starts mirroring the calling process:
 *
 * .. code-block:: c
 *
 *	static const u64 chunks[] = { SZ_2M, SZ_64K, SZ_4K };
 *
 *	static const struct simgpu_gpusvm_ops driver_svm_ops = {
 *		.invalidate = driver_invalidate,
 *		.schedule_gc = driver_schedule_gc,
 *		.range_created = driver_count_range,	// optional
 *		.devmem_alloc = driver_devmem_alloc,	// optional
 *	};
 *
 *	err = simgpu_gpusvm_init(&vm->svm, current->mm, 0, TASK_SIZE, SZ_512M,
 *				 chunks, ARRAY_SIZE(chunks), &driver_svm_ops,
 *				 driver_pgmap_owner);
 *	if (err)
 *		return err;
 *	simgpu_gpusvm_driver_set_lock(&vm->svm, &vm->lock);
 *
 * 2) GPU fault handler: find or make the range, optionally migrate it,
 * collect its pages, prepare the page tables (may allocate), then commit
 * under the notifier lock if nothing invalidated the pages meanwhile:
 *
 * .. code-block:: c
 *
 *	int driver_fault(struct driver_vm *vm, u64 addr, u64 lo, u64 hi,
 *			 bool write)
 *	{
 *		struct simgpu_gpusvm_ctx ctx = {
 *			.timeslice = msecs_to_jiffies(20),
 *			.write = write,
 *			.device_folios = true,
 *		};
 *		struct simgpu_gpusvm_range *r;
 *		int err;
 *
 *		lockdep_assert_held(&vm->lock);
 *	retry:
 *		r = simgpu_gpusvm_range_find_or_insert(&vm->svm, addr, lo, hi);
 *		if (IS_ERR(r))
 *			return PTR_ERR(r);
 *		if (driver_wants_devmem(vm, r))	// the driver's policy
 *			simgpu_gpusvm_migrate_to_devmem(&vm->svm, r, vm->dev,
 *							&ctx);
 *		err = simgpu_gpusvm_range_get_pages(&vm->svm, r, &ctx);
 *		if (err == -ERANGE) {		// no longer one VMA
 *			simgpu_gpusvm_range_remove(&vm->svm, r);
 *			goto retry;
 *		}
 *		if (err)
 *			return err;
 *		err = driver_prepare_page_tables(vm,
 *						 simgpu_gpusvm_range_start(r),
 *						 simgpu_gpusvm_range_end(r));
 *		if (err)
 *			return err;
 *
 *		simgpu_gpusvm_notifier_lock(&vm->svm);
 *		if (simgpu_gpusvm_range_unmapped(r) ||
 *		    simgpu_gpusvm_range_retry_locked(&vm->svm, r)) {
 *			simgpu_gpusvm_notifier_unlock(&vm->svm);
 *			goto retry;		// bounded in a real driver
 *		}
 *		driver_write_ptes(vm, r);	// simgpu_gpusvm_range_pfn(r, i)
 *		simgpu_gpusvm_range_set_pages_valid_locked(&vm->svm, r);
 *		simgpu_gpusvm_notifier_unlock(&vm->svm);
 *		return 0;
 *	}
 *
 * 3) Invalidate callback: the core calls it from the MMU notifier (and
 * when it removes a range) for each range whose pages the driver mapped,
 * with the notifier lock held for write. It must not allocate, sleep on
 * memory or take the driver lock:
 *
 * .. code-block:: c
 *
 *	static void driver_invalidate(struct simgpu_gpusvm *svm,
 *				      struct simgpu_gpusvm_range *range,
 *				      u64 start, u64 end)
 *	{
 *		struct driver_vm *vm = container_of(svm, struct driver_vm, svm);
 *
 *		simgpu_gpusvm_assert_in_notifier(svm);
 *		driver_zap_ptes(vm, start, end);	// no allocation
 *		driver_flush_tlbs(vm, start, end);	// before returning
 *	}
 *
 * 4) Garbage collector: ranges the CPU unmapped are queued by the core,
 * which calls schedule_gc; the driver removes them from a worker, under
 * its lock (the notifier cannot take it):
 *
 * .. code-block:: c
 *
 *	static void driver_schedule_gc(struct simgpu_gpusvm *svm)
 *	{
 *		struct driver_vm *vm = container_of(svm, struct driver_vm, svm);
 *
 *		queue_work(system_dfl_wq, &vm->gc_work);
 *	}
 *
 *	static void driver_gc_work(struct work_struct *work)
 *	{
 *		struct driver_vm *vm = container_of(work, struct driver_vm,
 *						    gc_work);
 *
 *		mutex_lock(&vm->lock);
 *		simgpu_gpusvm_garbage_collect(&vm->svm);
 *		mutex_unlock(&vm->lock);
 *	}
 *
 * At the end, simgpu_gpusvm_fini() under the driver lock removes every
 * range (through the invalidate callback) and notifier; then the driver
 * cancels its garbage collector work.
 */

#define N_START(n) ((n)->start)
#define N_LAST(n) ((n)->last)
INTERVAL_TREE_DEFINE(struct simgpu_gpusvm_notifier, rb, u64, __subtree_last,
		     N_START, N_LAST, static, notifier_it)

#define R_START(r) ((r)->start)
#define R_LAST(r) ((r)->last)
INTERVAL_TREE_DEFINE(struct simgpu_gpusvm_range, rb, u64, __subtree_last,
		     R_START, R_LAST, static, range_it)

/*
 * A CPU access to a page the device holds exclusive, or another device
 * collecting it, restores the CPU mapping first: an MMU_NOTIFY_EXCLUSIVE
 * invalidation of the page with no owner. The page a device took last is
 * its own for the timeslice of its grab: the job that faulted for it retries
 * its atomic before anyone takes the page back. Without that, the CPU and
 * two devices contending for one counter take it from each other between
 * every grab and the access it was for, and no job gets on.
 */

/* The end of a notifier's window, exclusive. */
static u64 notifier_end(const struct simgpu_gpusvm_notifier *n)
{
	return n->last + 1;
}
static void exclusive_timeslice_wait(struct simgpu_gpusvm *svm,
				     struct simgpu_gpusvm_notifier *n,
				     u64 start, u64 last)
{
	struct simgpu_gpusvm_range *r;
	unsigned long until = jiffies;
	unsigned long i, *excl;
	u64 addr;

	down_read(&svm->notifier_lock);
	for (r = range_it_iter_first(&n->ranges, start, last); r;
	     r = range_it_iter_next(r, start, last)) {
		/* Pairs with the store in make_exclusive: zeroed first. */
		excl = smp_load_acquire(&r->excl);
		if (!excl)
			continue;
		i = READ_ONCE(r->excl_fresh);
		addr = r->start + (i << PAGE_SHIFT);
		if (READ_ONCE(excl[i]) && addr >= start && addr <= last &&
		    time_after(READ_ONCE(r->excl_expires), until))
			until = READ_ONCE(r->excl_expires);
	}
	up_read(&svm->notifier_lock);
	simgpu_gpusvm_sleep_until(until);
}

/* Forget the exclusive holds of @r in [@start, @last]. */
static void range_excl_clear(struct simgpu_gpusvm *svm,
			     struct simgpu_gpusvm_range *r, u64 start,
			     u64 last)
{
	unsigned long i = (max(start, r->start) - r->start) >> PAGE_SHIFT;
	unsigned long end = (min(last, r->last) - r->start) >> PAGE_SHIFT;

	lockdep_assert_held_write(&svm->notifier_lock);
	for (; i <= end; i++)
		WRITE_ONCE(r->excl[i], 0);
}

static bool notifier_invalidate(struct mmu_interval_notifier *mni,
				const struct mmu_notifier_range *mmu_range,
				unsigned long cur_seq)
{
	struct simgpu_gpusvm_notifier *n =
		container_of(mni, struct simgpu_gpusvm_notifier, notifier);
	struct simgpu_gpusvm *svm = n->svm;
	u64 start = max_t(u64, mmu_range->start, n->start);
	u64 last = min_t(u64, mmu_range->end, notifier_end(n)) - 1;
	struct simgpu_gpusvm_range *r;
	bool hit = false, gc = false;

	/*
	 * Our own make_device_exclusive_range() replaces the CPU mapping of
	 * pages by exclusive entries for the same pages: the device's view
	 * does not change, and the caller commits under the sequence it took
	 * before, which this must not bump.
	 */
	if (mmu_range->event == MMU_NOTIFY_EXCLUSIVE &&
	    svm->device_private_owner &&
	    mmu_range->owner == svm->device_private_owner)
		return true;

	if (mmu_range->event == MMU_NOTIFY_EXCLUSIVE &&
	    mmu_notifier_range_blockable(mmu_range))
		exclusive_timeslice_wait(svm, n, start, last);

	if (mmu_notifier_range_blockable(mmu_range))
		down_write(&svm->notifier_lock);
	else if (!down_write_trylock(&svm->notifier_lock))
		return false;

	mmu_interval_set_seq(mni, cur_seq);
	for (r = range_it_iter_first(&n->ranges, start, last); r;
	     r = range_it_iter_next(r, start, last)) {
		hit = true;
		/*
		 * Held pages the CPU took back, or whose exclusive entries
		 * may have changed: the next collection faults them.
		 */
		if (r->excl)
			range_excl_clear(svm, r, start, last);
		/*
		 * Device pages of ours the range collected, leaving on a CPU
		 * fault, or on another device's collection that faults them
		 * back (its own migration invalidated the range first): once
		 * per trip, however many threads fault at once.
		 */
		if (mmu_range->event == MMU_NOTIFY_MIGRATE &&
		    svm->device_private_owner &&
		    mmu_range->owner == svm->device_private_owner &&
		    r->devmem_pages && !READ_ONCE(r->migrating)) {
			r->cpu_bounces++;
			WRITE_ONCE(r->devmem_pages, false);
		}
		/* The device maps whole ranges: the whole range goes. */
		if (r->pages_valid) {
			svm->ops->invalidate(svm, r, r->start, simgpu_gpusvm_range_end(r));
			WRITE_ONCE(r->pages_valid, false);
		}
		if (mmu_range->event == MMU_NOTIFY_UNMAP && !r->unmapped) {
			WRITE_ONCE(r->unmapped, true);
			spin_lock(&svm->gc_lock);
			list_add_tail(&r->gc_link, &svm->gc_list);
			spin_unlock(&svm->gc_lock);
			gc = true;
		}
	}
	up_write(&svm->notifier_lock);

	if (hit && svm->ops->invalidated)
		svm->ops->invalidated(svm);
	if (gc)
		svm->ops->schedule_gc(svm);
	return true;
}

static const struct mmu_interval_notifier_ops notifier_ops = {
	.invalidate = notifier_invalidate,
};

/**
 * simgpu_gpusvm_init() - set up the mirror of an address space
 * @svm: the mirror
 * @mm: the address space; a reference is taken
 * @mm_start: first address to mirror
 * @mm_end: end of the mirror
 * @notifier_size: notifier window size, a power of two
 * @chunk_sizes: range sizes, descending powers of two, the last 4 KiB
 * @num_chunks: entries in @chunk_sizes, at most 4
 * @ops: driver callbacks
 * @device_private_owner: pgmap owner of the device-private pages that
 *	hmm_range_fault() may return in place (the driver maps them); NULL
 *	when the driver has no device memory
 *
 * The driver then registers its lock with simgpu_gpusvm_driver_set_lock().
 *
 * Return: 0, or -EINVAL for inconsistent sizes.
 */
int simgpu_gpusvm_init(struct simgpu_gpusvm *svm, struct mm_struct *mm,
		       u64 mm_start, u64 mm_end, u64 notifier_size,
		       const u64 *chunk_sizes, unsigned int num_chunks,
		       const struct simgpu_gpusvm_ops *ops,
		       void *device_private_owner)
{
	if (!num_chunks || num_chunks > SIMGPU_GPUSVM_MAX_CHUNKS ||
	    chunk_sizes[num_chunks - 1] != PAGE_SIZE ||
	    !is_power_of_2(notifier_size) || notifier_size < chunk_sizes[0])
		return -EINVAL;

	memset(svm, 0, sizeof(*svm));
	svm->mm = mm;
	mmgrab(mm);
	svm->mm_start = mm_start;
	svm->mm_end = mm_end;
	svm->notifier_size = notifier_size;
	svm->chunk_sizes = chunk_sizes;
	svm->num_chunks = num_chunks;
	svm->ops = ops;
	svm->device_private_owner = device_private_owner;
	init_rwsem(&svm->notifier_lock);
	svm->notifiers = RB_ROOT_CACHED;
	spin_lock_init(&svm->gc_lock);
	INIT_LIST_HEAD(&svm->gc_list);

	/* The notifier runs from reclaim: no reclaim under its lock. */
	fs_reclaim_acquire(GFP_KERNEL);
	might_lock(&svm->notifier_lock);
	fs_reclaim_release(GFP_KERNEL);
	return 0;
}

/* Remove a range; returns true when its notifier went with it. */
static bool range_remove(struct simgpu_gpusvm *svm,
			 struct simgpu_gpusvm_range *r)
{
	struct simgpu_gpusvm_notifier *n = r->notifier;
	u64 start = r->start, end = simgpu_gpusvm_range_end(r);

	simgpu_gpusvm_driver_lock_held(svm);
	down_write(&svm->notifier_lock);
	if (r->pages_valid)
		svm->ops->invalidate(svm, r, r->start, simgpu_gpusvm_range_end(r));
	range_it_remove(r, &n->ranges);
	up_write(&svm->notifier_lock);

	spin_lock(&svm->gc_lock);
	list_del_init(&r->gc_link);
	spin_unlock(&svm->gc_lock);
	if (svm->ops->range_removed)
		svm->ops->range_removed(svm, r);
	kvfree(r->excl);
	kvfree(r);
	trace_simgpu_range_remove(start, end);

	if (!RB_EMPTY_ROOT(&n->ranges.rb_root))
		return false;
	notifier_it_remove(n, &svm->notifiers);
	mmu_interval_notifier_remove(&n->notifier);
	kfree(n);
	return true;
}

/**
 * simgpu_gpusvm_fini() - remove every range and notifier, drop the mm
 * @svm: the mirror, no longer used by anyone else
 *
 * Call with the driver lock held, so that no garbage collector runs.
 */
void simgpu_gpusvm_fini(struct simgpu_gpusvm *svm)
{
	simgpu_gpusvm_driver_lock_held(svm);
	simgpu_gpusvm_remove_ranges(svm, 0, U64_MAX);
	mmdrop(svm->mm);
}

/**
 * simgpu_gpusvm_chunk_start() - pick the chunk for a new range
 * @chunk_sizes: candidate sizes, largest first
 * @num_chunks: entries in @chunk_sizes
 * @addr: the faulting address
 * @lo: lowest address the range may cover
 * @hi: end of what the range may cover
 *
 * @chunk: receives the index of the chosen size
 *
 * Return: the start of the largest chunk-aligned block around @addr inside
 * [@lo, @hi), or U64_MAX when not even the smallest fits.
 */
u64 simgpu_gpusvm_chunk_start(const u64 *chunk_sizes, unsigned int num_chunks,
			      u64 addr, u64 lo, u64 hi, unsigned int *chunk)
{
	unsigned int i;

	for (i = 0; i < num_chunks; i++) {
		u64 start = ALIGN_DOWN(addr, chunk_sizes[i]);

		if (start >= lo && start + chunk_sizes[i] <= hi &&
		    start + chunk_sizes[i] > start) {
			*chunk = i;
			return start;
		}
	}
	return U64_MAX;
}
EXPORT_SYMBOL_NS_GPL(simgpu_gpusvm_chunk_start, SIMGPU_KUNIT_NS);

static struct simgpu_gpusvm_notifier *notifier_get(struct simgpu_gpusvm *svm,
						   u64 addr)
{
	struct simgpu_gpusvm_notifier *n;
	int err;

	n = notifier_it_iter_first(&svm->notifiers, addr, addr);
	if (n)
		return n;

	n = kzalloc_obj(*n, GFP_KERNEL);
	if (!n)
		return ERR_PTR(-ENOMEM);
	n->svm = svm;
	n->start = ALIGN_DOWN(addr, svm->notifier_size);
	n->last = n->start + svm->notifier_size - 1;
	n->ranges = RB_ROOT_CACHED;

	err = mmu_interval_notifier_insert(&n->notifier, svm->mm, n->start,
					   svm->notifier_size, &notifier_ops);
	if (err) {
		kfree(n);
		return ERR_PTR(err);
	}
	notifier_it_insert(n, &svm->notifiers);
	return n;
}

/* Narrow [*lo, *hi) around @addr to the gap between existing ranges. */
static void range_gap(struct simgpu_gpusvm_notifier *n, u64 addr,
		      u64 *lo, u64 *hi)
{
	struct simgpu_gpusvm_range *r;

	for (r = range_it_iter_first(&n->ranges, *lo, *hi - 1); r;
	     r = range_it_iter_next(r, *lo, *hi - 1)) {
		if (r->last < addr)
			*lo = max(*lo, simgpu_gpusvm_range_end(r));
		else
			*hi = min(*hi, r->start);
	}
}

/*
 * Where a new range around @addr may lie: inside its VMA, the notifier @n,
 * the GPU VA and the mirror. -EFAULT for an address with no VMA or one
 * the device cannot mirror (PROT_NONE, I/O or PFN mappings).
 */
static int range_bounds(struct simgpu_gpusvm *svm,
			const struct simgpu_gpusvm_notifier *n, u64 addr,
			u64 gpuva_start, u64 gpuva_end, u64 *lo, u64 *hi)
{
	struct vm_area_struct *vma;
	int err = 0;

	mmap_read_lock(svm->mm);
	vma = vma_lookup(svm->mm, addr);
	if (!vma || !(vma->vm_flags & VM_READ) ||
	    vma->vm_flags & (VM_IO | VM_PFNMAP)) {
		err = -EFAULT;
	} else {
		*lo = max3((u64)vma->vm_start, n->start, gpuva_start);
		*lo = max(*lo, svm->mm_start);
		*hi = min3((u64)vma->vm_end, notifier_end(n), gpuva_end);
		*hi = min(*hi, svm->mm_end);
	}
	mmap_read_unlock(svm->mm);
	return err;
}

/**
 * simgpu_gpusvm_range_find_or_insert() - the range serving a GPU fault
 * @svm: the mirror
 * @addr: the faulting address
 * @gpuva_start: first address of the GPU VA the fault lies in that the
 *	driver mirrors (no buffer object bound there)
 * @gpuva_end: end of that GPU VA
 *
 * Finds the range holding @addr, or creates one (see DOC: Overview). A
 * range the CPU unmapped that the garbage collector has not removed yet is
 * removed first.
 *
 * Return: the range, or ERR_PTR(-EFAULT) when @addr is outside the mirror,
 * the process is gone, or @addr has no VMA or one the device cannot mirror
 * (PROT_NONE, I/O or PFN mappings); -ENOMEM.
 */
struct simgpu_gpusvm_range *
simgpu_gpusvm_range_find_or_insert(struct simgpu_gpusvm *svm, u64 addr,
				   u64 gpuva_start, u64 gpuva_end)
{
	struct simgpu_gpusvm_notifier *n;
	struct simgpu_gpusvm_range *r;
	u64 lo = 0, hi = 0, start, size;
	unsigned int chunk;
	int err = 0;

	simgpu_gpusvm_driver_lock_held(svm);

	if (addr < svm->mm_start || addr >= svm->mm_end ||
	    addr < gpuva_start || addr >= gpuva_end)
		return ERR_PTR(-EFAULT);
	/* Notifiers may only be added to a live address space. */
	if (!mmget_not_zero(svm->mm))
		return ERR_PTR(-EFAULT);

	n = notifier_get(svm, addr);
	if (IS_ERR(n)) {
		r = ERR_CAST(n);
		goto out;
	}

	r = range_it_iter_first(&n->ranges, addr, addr);
	if (r && !READ_ONCE(r->unmapped))
		goto out;
	if (r) {
		range_remove(svm, r);
		n = notifier_get(svm, addr);
		if (IS_ERR(n)) {
			r = ERR_CAST(n);
			goto out;
		}
	}

	err = range_bounds(svm, n, addr, gpuva_start, gpuva_end, &lo, &hi);
	if (err)
		goto err_notifier;

	range_gap(n, addr, &lo, &hi);
	start = simgpu_gpusvm_chunk_start(svm->chunk_sizes, svm->num_chunks,
					  addr, lo, hi, &chunk);
	if (start == U64_MAX) {
		err = -EFAULT;
		goto err_notifier;
	}
	size = svm->chunk_sizes[chunk];

	r = kvzalloc(struct_size(r, pfns, size >> PAGE_SHIFT), GFP_KERNEL);
	if (!r) {
		err = -ENOMEM;
		goto err_notifier;
	}
	r->notifier = n;
	r->start = start;
	r->last = start + size - 1;
	r->chunk = chunk;
	INIT_LIST_HEAD(&r->gc_link);

	down_write(&svm->notifier_lock);
	range_it_insert(r, &n->ranges);
	up_write(&svm->notifier_lock);

	if (svm->ops->range_created)
		svm->ops->range_created(svm, r);
	trace_simgpu_range_create(r->start, simgpu_gpusvm_range_end(r));
	goto out;

err_notifier:
	if (RB_EMPTY_ROOT(&n->ranges.rb_root)) {
		notifier_it_remove(n, &svm->notifiers);
		mmu_interval_notifier_remove(&n->notifier);
		kfree(n);
	}
	r = ERR_PTR(err);
out:
	/* Under the driver lock: never run exit_mmap() here. */
	mmput_async(svm->mm);
	return r;
}

/**
 * simgpu_gpusvm_range_remove() - remove one range
 * @svm: the mirror
 * @range: the range; freed
 *
 * For a range that no longer fits the CPU mapping (see
 * simgpu_gpusvm_range_get_pages()); a fault then creates a new one.
 */
void simgpu_gpusvm_range_remove(struct simgpu_gpusvm *svm,
				struct simgpu_gpusvm_range *range)
{
	simgpu_gpusvm_driver_lock_held(svm);
	range_remove(svm, range);
}

/**
 * simgpu_gpusvm_remove_ranges() - remove every range overlapping a span
 * @svm: the mirror
 * @start: first address
 * @end: end address
 *
 * The device mappings of the ranges are removed through the driver's
 * invalidate callback; windows left empty lose their notifier. Call with
 * the driver lock held.
 */
void simgpu_gpusvm_remove_ranges(struct simgpu_gpusvm *svm, u64 start,
				 u64 end)
{
	struct simgpu_gpusvm_notifier *n, *next;
	struct simgpu_gpusvm_range *r;

	simgpu_gpusvm_driver_lock_held(svm);

	for (n = notifier_it_iter_first(&svm->notifiers, start, end - 1); n;
	     n = next) {
		next = notifier_it_iter_next(n, start, end - 1);
		while ((r = range_it_iter_first(&n->ranges, start, end - 1)))
			if (range_remove(svm, r))
				break;
	}
}

/**
 * simgpu_gpusvm_garbage_collect() - remove the ranges the CPU unmapped
 * @svm: the mirror
 *
 * Called by the driver from a worker, holding the driver lock.
 */
void simgpu_gpusvm_garbage_collect(struct simgpu_gpusvm *svm)
{
	struct simgpu_gpusvm_range *r;

	simgpu_gpusvm_driver_lock_held(svm);

	for (;;) {
		spin_lock(&svm->gc_lock);
		r = list_first_entry_or_null(&svm->gc_list,
					     struct simgpu_gpusvm_range,
					     gc_link);
		spin_unlock(&svm->gc_lock);
		if (!r)
			return;
		range_remove(svm, r);
	}
}

/**
 * simgpu_gpusvm_count_ranges() - count the mirror's ranges by size
 * @svm: the mirror
 * @counts: receives, per index of the chunk size list, the number of
 *	ranges of that size, unmapped ones not yet collected included
 *
 * Call with the driver lock held: ranges come and go only under it.
 */
void simgpu_gpusvm_count_ranges(struct simgpu_gpusvm *svm,
				unsigned long counts[SIMGPU_GPUSVM_MAX_CHUNKS])
{
	struct simgpu_gpusvm_notifier *n;
	struct simgpu_gpusvm_range *r;

	simgpu_gpusvm_driver_lock_held(svm);

	memset(counts, 0, SIMGPU_GPUSVM_MAX_CHUNKS * sizeof(*counts));
	for (n = notifier_it_iter_first(&svm->notifiers, 0, U64_MAX); n;
	     n = notifier_it_iter_next(n, 0, U64_MAX))
		for (r = range_it_iter_first(&n->ranges, 0, U64_MAX); r;
		     r = range_it_iter_next(r, 0, U64_MAX))
			counts[r->chunk]++;
}
