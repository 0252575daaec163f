/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SIMGPU_GPUSVM_H_
#define _SIMGPU_GPUSVM_H_

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mmu_notifier.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "simgpu_compat.h"

struct dev_pagemap_ops;
struct page;
struct simgpu_gpusvm;
struct simgpu_gpusvm_devmem;
struct simgpu_gpusvm_range;
struct vm_area_struct;
struct workqueue_struct;

#define SIMGPU_GPUSVM_MAX_CHUNKS	4

/**
 * struct simgpu_gpusvm_ctx - the driver's policy for one call into the core
 * @timeslice: jiffies that device memory a migration fills, or a page an
 *	exclusive grab holds, stays the device's before a CPU fault or
 *	another device takes it back (0: no wait)
 * @write: simgpu_gpusvm_range_get_pages(): fault the pages in for writing
 *	(when the CPU mapping allows it)
 * @device_folios: simgpu_gpusvm_migrate_to_devmem(): migrate an aligned
 *	2 MiB range that the CPU maps with one PMD, or not at all, as one
 *	compound device folio
 * @device_pages: simgpu_gpusvm_migrate_to_devmem(): move the mirror
 *	owner's device pages that are not in the new memory's pagemap too
 *	(device to device, between devices sharing the owner)
 * @force: simgpu_gpusvm_migrate_to_devmem(): passed to the driver's
 *	devmem_alloc: the caller insists (an explicit request rather than a
 *	fault)
 *
 * Like &struct drm_gpusvm_ctx: the core keeps no policy of its own; each
 * call that needs one gets it here, so the driver may change it between
 * calls (a module parameter, an attribute of the address).
 */
struct simgpu_gpusvm_ctx {
	unsigned long timeslice;
	unsigned int write :1;
	unsigned int device_folios :1;
	unsigned int device_pages :1;
	unsigned int force :1;
};

/**
 * enum simgpu_gpusvm_migration_kind - what a migration did
 * @SIMGPU_GPUSVM_MIGRATED_TO_DEVMEM: a range moved into device memory
 * @SIMGPU_GPUSVM_MIGRATED_TO_RAM: device pages came back to system memory
 *	(a CPU fault, simgpu_gpusvm_migrate_to_ram(), a collection)
 * @SIMGPU_GPUSVM_EVICTED: simgpu_gpusvm_devmem_evict() ran
 */
enum simgpu_gpusvm_migration_kind {
	SIMGPU_GPUSVM_MIGRATED_TO_DEVMEM,
	SIMGPU_GPUSVM_MIGRATED_TO_RAM,
	SIMGPU_GPUSVM_EVICTED,
};

/**
 * struct simgpu_gpusvm_migration - one migration, reported to the driver
 * @kind: what it did
 * @pages: 4 KiB pages moved (may be 0 for %SIMGPU_GPUSVM_MIGRATED_TO_DEVMEM,
 *	when every page was taken meanwhile, and for an eviction)
 * @folios: 2 MiB compound device folios among them that moved whole
 */
struct simgpu_gpusvm_migration {
	enum simgpu_gpusvm_migration_kind kind;
	unsigned long pages;
	unsigned long folios;
};

/**
 * struct simgpu_gpusvm_ops - what the driver supplies
 * @invalidate: remove the device's mappings of [@start, @end) of @range
 *	and flush its TLBs before returning. Called with the notifier lock
 *	held for write, possibly from reclaim: must not allocate with
 *	reclaim, sleep on memory or take the driver lock.
 * @invalidated: optional; an MMU notifier invalidation overlapped ranges
 *	of the mirror (after @invalidate ran for the mapped ones, the
 *	notifier lock dropped). For the driver's counters; same context as
 *	@invalidate otherwise.
 * @schedule_gc: ranges were unmapped by the CPU; arrange for
 *	simgpu_gpusvm_garbage_collect() to run soon, from a worker holding
 *	the driver lock. Called from the notifier.
 * @range_created: optional; @range was just created, with the driver
 *	lock held. For the driver's counters.
 * @range_removed: optional; @range is about to be freed, with the driver
 *	lock held. For the driver's counters.
 * @devmem_alloc: optional; device memory of @size bytes (the size of
 *	@range) to migrate @range into, from the device @target names (the
 *	caller's choice, passed through simgpu_gpusvm_migrate_to_devmem()),
 *	its pages initialised with simgpu_gpusvm_devmem_init(). Called with
 *	the driver lock and the mmap_lock (read) held, while the range's
 *	pages are isolated for migration; may evict other device memory,
 *	any of it when @ctx->force. Return ERR_PTR(-ENOSPC) when none can be
 *	had.
 */
struct simgpu_gpusvm_ops {
	void (*invalidate)(struct simgpu_gpusvm *svm,
			   struct simgpu_gpusvm_range *range,
			   u64 start, u64 end);
	void (*invalidated)(struct simgpu_gpusvm *svm);
	void (*schedule_gc)(struct simgpu_gpusvm *svm);
	void (*range_created)(struct simgpu_gpusvm *svm,
			      struct simgpu_gpusvm_range *range);
	void (*range_removed)(struct simgpu_gpusvm *svm,
			      struct simgpu_gpusvm_range *range);
	struct simgpu_gpusvm_devmem *
		(*devmem_alloc)(struct simgpu_gpusvm *svm,
				struct simgpu_gpusvm_range *range, u64 size,
				void *target,
				const struct simgpu_gpusvm_ctx *ctx);
};

/**
 * struct simgpu_gpusvm_devmem_ops - how the driver moves device memory
 * @copy_to_devmem: copy @npages pages from @sys (NULL entries: zero-fill;
 *	device pages of the same owner: device to device) to the device
 *	pages @dev. Sleeps; takes no lock the driver holds while migrating.
 * @copy_to_ram: copy @npages device pages @dev to the system pages @sys.
 *	Called from CPU page faults and eviction: must take no driver lock
 *	that is held while waiting for memory or for a migration.
 * @release: every device page of @devmem was freed: give its memory back
 *	and drop the allocation. Called from the devmem's workqueue.
 * @migrated: optional; a migration into @devmem, out of device memory
 *	(@devmem: the allocation of a page that moved; all of the owner's
 *	have the same ops) or an eviction of @devmem ended, as @mig says.
 *	For the driver's counters: may run from a CPU fault, with the
 *	mmap_lock held; must not sleep.
 */
struct simgpu_gpusvm_devmem_ops {
	int (*copy_to_devmem)(struct page **dev, struct page **sys,
			      unsigned long npages);
	int (*copy_to_ram)(struct page **dev, struct page **sys,
			   unsigned long npages);
	void (*release)(struct simgpu_gpusvm_devmem *devmem);
	void (*migrated)(struct simgpu_gpusvm_devmem *devmem,
			 const struct simgpu_gpusvm_migration *mig);
};

/**
 * struct simgpu_gpusvm_devmem - device memory backing one chunk
 * @ops: the driver callbacks
 * @owner: the pgmap owner of the pages
 * @first_pfn: pfn of the first device page; the pages are contiguous
 * @npages: pages of the allocation
 * @pages_alive: device folios in use (a 2 MiB compound folio counts
 *	once until it splits) plus one while a migration into the
 *	allocation runs; @ops->release runs when it drops to zero
 * @wq: where @release_work runs
 * @release_work: calls @ops->release
 * @timeslice_end: jiffies until which a CPU fault waits before it takes
 *	the pages back (the timeslice of the migration's context)
 */
struct simgpu_gpusvm_devmem {
	const struct simgpu_gpusvm_devmem_ops *ops;
	void *owner;
	unsigned long first_pfn;
	unsigned long npages;
	atomic_t pages_alive;
	struct workqueue_struct *wq;
	struct work_struct release_work;
	unsigned long timeslice_end;
};

/**
 * struct simgpu_gpusvm - the mirror of one process address space
 * @mm: the address space, one mmgrab() reference
 * @mm_start: first mirrored address
 * @mm_end: end of the mirrored addresses
 * @notifier_size: size and alignment of the notifier windows
 * @chunk_sizes: range sizes to try, largest first
 * @num_chunks: entries in @chunk_sizes
 * @ops: the driver callbacks
 * @device_private_owner: pgmap owner of the device pages the driver maps
 *	in place (NULL: none)
 * @lock_dep_map: the driver lock that serialises range creation, page
 *	collection and removal, for lockdep assertions
 *	(simgpu_gpusvm_driver_set_lock(); lockdep kernels only)
 * @notifier_lock: protects the validity of every range's pages: held for
 *	write by invalidations, for read by a driver committing a mapping
 * @notifiers: interval tree of &struct simgpu_gpusvm_notifier
 * @gc_lock: protects @gc_list
 * @gc_list: ranges the CPU unmapped, to be removed
 */
struct simgpu_gpusvm {
	struct mm_struct *mm;
	u64 mm_start;
	u64 mm_end;
	u64 notifier_size;
	const u64 *chunk_sizes;
	unsigned int num_chunks;
	const struct simgpu_gpusvm_ops *ops;
	void *device_private_owner;
#ifdef CONFIG_LOCKDEP
	struct lockdep_map *lock_dep_map;
#endif
	struct rw_semaphore notifier_lock;
	struct rb_root_cached notifiers;
	spinlock_t gc_lock;
	struct list_head gc_list;
};

/**
 * struct simgpu_gpusvm_notifier - one notifier window
 * @svm: the mirror
 * @notifier: the MMU interval notifier over the window
 * @rb: node in &simgpu_gpusvm.notifiers
 * @start: first address of the window
 * @last: last address of the window
 * @__subtree_last: interval tree bookkeeping
 * @ranges: interval tree of the window's ranges
 */
struct simgpu_gpusvm_notifier {
	struct simgpu_gpusvm *svm;
	struct mmu_interval_notifier notifier;
	struct rb_node rb;
	u64 start;
	u64 last;
	u64 __subtree_last;
	struct rb_root_cached ranges;
};

/**
 * struct simgpu_gpusvm_range - a chunk of the mirror the device maps
 * @notifier: the window holding the range
 * @rb: node in the window's range tree
 * @start: first address
 * @last: last address
 * @__subtree_last: interval tree bookkeeping
 * @chunk: index of the range's size in the chunk list
 * @read_only: the CPU mapping did not allow writes when the pages were
 *	last collected: map read-only
 * @pages_valid: @pfns hold pages of the current CPU mapping (notifier
 *	lock); cleared by invalidation
 * @unmapped: the CPU unmapped part of the range (notifier lock)
 * @devmem_pages: some of @pfns are device-private pages; cleared when
 *	they are seen leaving
 * @migrating: the core is migrating the range itself (driver lock)
 * @cpu_bounces: times the CPU, or another device, took pages of the range
 *	back from device memory after the range collected them (seen as
 *	MMU_NOTIFY_MIGRATE invalidations of our owner that the core did not
 *	start; notifier lock)
 * @gc_link: on &simgpu_gpusvm.gc_list
 * @notifier_seq: the notifier sequence @pfns were collected under
 * @excl: NULL until the range holds a page exclusive; then one hmm pfn per
 *	4 KiB page, non-zero for the pages the device holds exclusive
 *	(written under the notifier lock, cleared by any invalidation of the
 *	page other than one of our own exclusive grabs)
 * @excl_fresh: index in @excl of the page held last
 * @excl_expires: jiffies until which the page held last is the device's
 *	(the timeslice of the grab's context): a CPU access or another
 *	device's grab of it waits until then
 * @pfns: one hmm pfn per 4 KiB page
 */
struct simgpu_gpusvm_range {
	struct simgpu_gpusvm_notifier *notifier;
	struct rb_node rb;
	u64 start;
	u64 last;
	u64 __subtree_last;
	unsigned int chunk;
	bool read_only;
	bool pages_valid;
	bool unmapped;
	bool devmem_pages;
	bool migrating;
	unsigned int cpu_bounces;
	struct list_head gc_link;
	unsigned long notifier_seq;
	unsigned long *excl;
	unsigned long excl_fresh;
	unsigned long excl_expires;
	unsigned long pfns[];
};

/**
 * simgpu_gpusvm_sleep_until() - sleep out a timeslice
 * @until: jiffies to sleep until; nothing happens if that time has passed
 *
 * The sleep is killable: a task with a fatal signal pending stops waiting
 * and goes on at once (the timeslice only orders the CPU after the
 * device, nothing depends on it), so a CPU fault that waits for the
 * device does not keep a killed process in D state. Other wakeups sleep
 * again for what is left. jiffies is read once per round: a second read
 * could be past @until and make the timeout negative.
 */
static inline void simgpu_gpusvm_sleep_until(unsigned long until)
{
	long left;

	for (;;) {
		left = (long)(until - jiffies);
		if (left <= 0 || fatal_signal_pending(current))
			return;
		schedule_timeout_killable(left);
	}
}

#ifdef CONFIG_LOCKDEP
/**
 * simgpu_gpusvm_driver_set_lock() - register the driver lock
 * @svm__: the mirror, just initialised
 * @lock__: the lock serialising the driver's calls into the core (any
 *	lock with a dep_map: mutex, rw_semaphore, ...)
 *
 * The core asserts it is held, for write, where it relies on it
 * (simgpu_gpusvm_driver_lock_held()). Set once, before the first fault.
 */
#define simgpu_gpusvm_driver_set_lock(svm__, lock__)			\
	do {								\
		if (!WARN((svm__)->lock_dep_map,			\
			  "simgpu_gpusvm driver lock set twice"))	\
			(svm__)->lock_dep_map = &(lock__)->dep_map;	\
	} while (0)

/**
 * simgpu_gpusvm_driver_lock_held() - assert that the driver lock is held
 * @svm: the mirror
 *
 * Nothing is checked before simgpu_gpusvm_driver_set_lock().
 */
static inline void simgpu_gpusvm_driver_lock_held(struct simgpu_gpusvm *svm)
{
	if (svm->lock_dep_map)
		lockdep_assert(lock_is_held_type(svm->lock_dep_map, 0));
}
#else
#define simgpu_gpusvm_driver_set_lock(svm__, lock__)			\
	do {								\
		(void)(svm__);						\
		(void)(lock__);						\
	} while (0)

static inline void simgpu_gpusvm_driver_lock_held(struct simgpu_gpusvm *svm)
{
}
#endif

/**
 * simgpu_gpusvm_mm() - the address space a mirror mirrors
 * @svm: the mirror
 *
 * Return: the mm, which the mirror keeps (mmgrab()) until
 * simgpu_gpusvm_fini().
 */
static inline struct mm_struct *
simgpu_gpusvm_mm(const struct simgpu_gpusvm *svm)
{
	return svm->mm;
}

/**
 * simgpu_gpusvm_notifier_lock() - take the notifier lock for read
 * @svm: the mirror
 *
 * Held while the driver checks simgpu_gpusvm_range_retry_locked() and
 * commits a mapping: no invalidation of the mirror runs meanwhile.
 * Nothing may allocate under it (see DOC: Locking).
 */
static inline void simgpu_gpusvm_notifier_lock(struct simgpu_gpusvm *svm)
{
	down_read(&svm->notifier_lock);
}

/**
 * simgpu_gpusvm_notifier_unlock() - drop the notifier lock
 * @svm: the mirror
 */
static inline void simgpu_gpusvm_notifier_unlock(struct simgpu_gpusvm *svm)
{
	up_read(&svm->notifier_lock);
}

/**
 * simgpu_gpusvm_assert_in_notifier() - assert the invalidation context
 * @svm: the mirror
 *
 * For the driver's invalidate callback: the core calls it with the
 * notifier lock held for write (from the MMU notifier, or removing a
 * range), which is what keeps a commit from racing with it.
 */
static inline void simgpu_gpusvm_assert_in_notifier(struct simgpu_gpusvm *svm)
{
	lockdep_assert_held_write(&svm->notifier_lock);
}

/**
 * simgpu_gpusvm_range_start() - the first address of a range
 * @r: the range
 *
 * Return: the start, fixed for the range's life.
 */
static inline u64 simgpu_gpusvm_range_start(const struct simgpu_gpusvm_range *r)
{
	return r->start;
}

/**
 * simgpu_gpusvm_range_end() - the end of a range
 * @r: the range
 *
 * Return: the first address after the range, fixed for its life.
 */
static inline u64 simgpu_gpusvm_range_end(const struct simgpu_gpusvm_range *r)
{
	return r->last + 1;
}

/**
 * simgpu_gpusvm_range_size() - the size of a range
 * @r: the range
 *
 * Return: its size in bytes, one of the mirror's chunk sizes.
 */
static inline u64 simgpu_gpusvm_range_size(const struct simgpu_gpusvm_range *r)
{
	return simgpu_gpusvm_range_end(r) - simgpu_gpusvm_range_start(r);
}

/**
 * simgpu_gpusvm_range_pfn() - the collected page at an index of a range
 * @r: the range, pages collected (simgpu_gpusvm_range_get_pages())
 * @i: the index of the 4 KiB page in the range
 *
 * Return: the hmm pfn (HMM_PFN_* flags) of the page, valid for a commit
 * that simgpu_gpusvm_range_retry_locked() allows.
 */
static inline unsigned long
simgpu_gpusvm_range_pfn(const struct simgpu_gpusvm_range *r, unsigned long i)
{
	return r->pfns[i];
}

/**
 * simgpu_gpusvm_range_read_only() - whether a range must be mapped read-only
 * @r: the range, pages collected
 *
 * Return: true when the CPU mapping did not allow writes when the pages
 * were last collected.
 */
static inline bool
simgpu_gpusvm_range_read_only(const struct simgpu_gpusvm_range *r)
{
	return r->read_only;
}

/**
 * simgpu_gpusvm_range_page_held() - whether the device holds a page exclusive
 * @r: the range
 * @i: the index of the 4 KiB page in the range
 *
 * Exact under the notifier lock, which every hold's end takes for write.
 *
 * Return: true while the page is held (simgpu_gpusvm_range_make_exclusive()).
 */
static inline bool
simgpu_gpusvm_range_page_held(const struct simgpu_gpusvm_range *r,
			      unsigned long i)
{
	const unsigned long *excl = READ_ONCE(r->excl);

	return excl && READ_ONCE(excl[i]);
}

/**
 * simgpu_gpusvm_range_unmapped() - whether the CPU unmapped part of a range
 * @r: the range
 *
 * Exact under the notifier lock. An unmapped range is not to be mapped:
 * the garbage collector removes it, and a fault makes a new one.
 *
 * Return: true once an MMU_NOTIFY_UNMAP hit the range.
 */
static inline bool
simgpu_gpusvm_range_unmapped(const struct simgpu_gpusvm_range *r)
{
	return READ_ONCE(r->unmapped);
}

/**
 * simgpu_gpusvm_range_cpu_bounces() - how often device pages of a range left
 * @r: the range
 *
 * Return: the times the CPU, or another device, took pages of @r back from
 * device memory after @r collected them, not counting the core's own
 * migrations (evictions do not count either). What it means for placement
 * is the driver's policy.
 */
static inline unsigned int
simgpu_gpusvm_range_cpu_bounces(const struct simgpu_gpusvm_range *r)
{
	return READ_ONCE(r->cpu_bounces);
}

/**
 * simgpu_gpusvm_range_set_pages_valid_locked() - record a committed mapping
 * @svm: the mirror
 * @r: the range whose pages the driver just mapped
 *
 * Call with the notifier lock held, after simgpu_gpusvm_range_retry_locked()
 * said the pages are current: the next invalidation overlapping @r calls
 * the driver's invalidate callback for it.
 */
static inline void
simgpu_gpusvm_range_set_pages_valid_locked(struct simgpu_gpusvm *svm,
					   struct simgpu_gpusvm_range *r)
{
	lockdep_assert_held(&svm->notifier_lock);
	WRITE_ONCE(r->pages_valid, true);
}

int simgpu_gpusvm_init(struct simgpu_gpusvm *svm, struct mm_struct *mm,
		       u64 mm_start, u64 mm_end, u64 notifier_size,
		       const u64 *chunk_sizes, unsigned int num_chunks,
		       const struct simgpu_gpusvm_ops *ops,
		       void *device_private_owner);
void simgpu_gpusvm_fini(struct simgpu_gpusvm *svm);

u64 simgpu_gpusvm_chunk_start(const u64 *chunk_sizes, unsigned int num_chunks,
			      u64 addr, u64 lo, u64 hi, unsigned int *chunk);

struct simgpu_gpusvm_range *
simgpu_gpusvm_range_find_or_insert(struct simgpu_gpusvm *svm, u64 addr,
				   u64 gpuva_start, u64 gpuva_end);
void simgpu_gpusvm_range_remove(struct simgpu_gpusvm *svm,
				struct simgpu_gpusvm_range *range);
bool simgpu_gpusvm_range_in_devmem(struct simgpu_gpusvm *svm,
				   struct simgpu_gpusvm_range *range);
int simgpu_gpusvm_range_get_pages(struct simgpu_gpusvm *svm,
				  struct simgpu_gpusvm_range *range,
				  const struct simgpu_gpusvm_ctx *ctx);
bool simgpu_gpusvm_range_retry_locked(struct simgpu_gpusvm *svm,
				      struct simgpu_gpusvm_range *range);
void simgpu_gpusvm_remove_ranges(struct simgpu_gpusvm *svm, u64 start,
				 u64 end);
void simgpu_gpusvm_garbage_collect(struct simgpu_gpusvm *svm);
void simgpu_gpusvm_count_ranges(struct simgpu_gpusvm *svm,
				unsigned long counts[SIMGPU_GPUSVM_MAX_CHUNKS]);

#if SIMGPU_HAVE_DEVMEM
void simgpu_gpusvm_devmem_init(struct simgpu_gpusvm_devmem *devmem,
			       const struct simgpu_gpusvm_devmem_ops *ops,
			       void *owner, unsigned long first_pfn,
			       unsigned long npages,
			       struct workqueue_struct *wq);
const struct dev_pagemap_ops *simgpu_gpusvm_pagemap_ops(void);
long simgpu_gpusvm_migrate_to_devmem(struct simgpu_gpusvm *svm,
				     struct simgpu_gpusvm_range *range,
				     void *target,
				     const struct simgpu_gpusvm_ctx *ctx);
long simgpu_gpusvm_migrate_to_ram(struct simgpu_gpusvm *svm,
				  struct simgpu_gpusvm_range *range);
int simgpu_gpusvm_devmem_evict(struct simgpu_gpusvm_devmem *devmem);
long simgpu_gpusvm_vma_migrate_to_ram(struct vm_area_struct *vma, u64 start,
				      u64 end, void *owner);
int simgpu_gpusvm_range_make_exclusive(struct simgpu_gpusvm *svm,
				       struct simgpu_gpusvm_range *range,
				       u64 addr,
				       const struct simgpu_gpusvm_ctx *ctx);
struct vm_area_struct *simgpu_gpusvm_range_vma(struct simgpu_gpusvm *svm,
					       struct simgpu_gpusvm_range *range,
					       bool anon_only, int *err);
#else
static inline long
simgpu_gpusvm_migrate_to_devmem(struct simgpu_gpusvm *svm,
				struct simgpu_gpusvm_range *range, void *target,
				const struct simgpu_gpusvm_ctx *ctx)
{
	return -EOPNOTSUPP;
}

static inline long
simgpu_gpusvm_migrate_to_ram(struct simgpu_gpusvm *svm,
			     struct simgpu_gpusvm_range *range)
{
	return 0;
}

static inline long
simgpu_gpusvm_vma_migrate_to_ram(struct vm_area_struct *vma, u64 start,
				 u64 end, void *owner)
{
	return 0;
}

static inline int
simgpu_gpusvm_range_make_exclusive(struct simgpu_gpusvm *svm,
				   struct simgpu_gpusvm_range *range, u64 addr,
				   const struct simgpu_gpusvm_ctx *ctx)
{
	return -EOPNOTSUPP;
}
#endif

#endif /* _SIMGPU_GPUSVM_H_ */
